# Sourced by test/systemd/run (its helpers: inside, mpub, channel, batch_lines, log, die;
# $work is /x-msrv inside): `systemctl reload x-msrv-serve` applies a new N to a running
# serve without a restart (the same main PID, the same invocation), and a config that
# fails its checks is refused while serve goes on with the running one.
#   The reload job of a Type=notify unit with `ExecReload=kill -HUP` ends when kill
# returns (systemd 252), before serve has read anything: the journal line "configuration
# reloaded" is what says the new config is in force, so the test waits for it.

log "systemctl reload x-msrv-serve: a new N without a restart"
reload_n=$((per_run * 2))
inside install -m 0640 -g x-msrv /x-msrv/serve.toml /etc/x-msrv/x-msrv.toml
inside systemctl start x-msrv-serve.service
invocation=$(inside systemctl show -p InvocationID --value x-msrv-serve.service)
main_pid=$(inside systemctl show -p MainPID --value x-msrv-serve.service)
journal_lines() { inside journalctl _SYSTEMD_INVOCATION_ID="$invocation" -o cat | grep -E "$1" || true; }
wait_journal() { # PATTERN COUNT: at least COUNT lines match within 20 s
    local deadline=$((SECONDS + 20))
    until [ "$(journal_lines "$1" | wc -l)" -ge "$2" ]; do
        [ "$SECONDS" -lt "$deadline" ] || die "no '$1' in the journal (want $2)"
        sleep 0.2
    done
}
received_in() { sed -n 's/.* received=\([0-9]*\) .*/\1/p' <<<"$1"; }
# The batch lines after the first line matching PATTERN.
batches_after() { journal_lines "$1|batch finished:" | sed -n "/$1/,\$p" | grep 'batch finished:' || true; }

for i in $(seq 4000 4059); do
    printf '{ "id": %d, "msg": "Some message-%d" }\n' "$i" "$i"
done >"$work/reload.json"
mpub /x-msrv/reload.json
wait_journal "batch finished: received=$per_run " 1

# The new N, by the reload; the batch in progress (if any) ends with the old one.
inside sed -i "s/^max-messages = .*/max-messages = $reload_n/" /etc/x-msrv/x-msrv.toml
inside systemctl reload x-msrv-serve.service
wait_journal 'configuration reloaded' 1
deadline=$((SECONDS + 20))
until [ "$(batches_after 'configuration reloaded' | wc -l)" -ge 2 ]; do
    [ "$SECONDS" -lt "$deadline" ] || die "no two batches after the reload"
    sleep 0.2
done
while read -r line; do
    [ "$(received_in "$line")" -eq "$reload_n" ] || die "a batch after the reload: $line (want received=$reload_n)"
done < <(batches_after 'configuration reloaded' | head -n 2)
show=$(inside systemctl show -p ActiveState,MainPID,NRestarts,StatusText x-msrv-serve.service)
grep -qx 'ActiveState=active' <<<"$show" && grep -qx "MainPID=$main_pid" <<<"$show" \
    && grep -qx 'NRestarts=0' <<<"$show" || { echo "$show"; die "the reload restarted x-msrv serve"; }
log "N $per_run -> $reload_n by systemctl reload, the same process ($main_pid):"
batches_after 'configuration reloaded' | head -n 2 | sed 's/^/    /'

# A config that fails its checks: refused, the key named, the running N kept.
inside sed -i 's/^max-messages = .*/max-messages = 0/' /etc/x-msrv/x-msrv.toml
inside systemctl reload x-msrv-serve.service
wait_journal 'configuration refused' 1
refused=$(journal_lines 'configuration refused')
grep -q 'nsq.max-messages' <<<"$refused" || die "the refusal does not name the key: $refused"
inside systemctl show -p StatusText --value x-msrv-serve.service | grep -q 'reload refused' \
    || die "STATUS= does not say the reload was refused"
deadline=$((SECONDS + 20))
until [ "$(batches_after 'configuration refused' | wc -l)" -ge 1 ]; do
    [ "$SECONDS" -lt "$deadline" ] || die "no batch after the refused reload"
    sleep 0.2
done
line=$(batches_after 'configuration refused' | head -n 1)
r=$(received_in "$line")
[ "$r" -le "$reload_n" ] && [ "$r" -gt 0 ] || die "after the refused reload: $line (want the running N, $reload_n)"
[ "$(inside systemctl is-active x-msrv-serve.service)" = active ] || die "x-msrv serve stopped on a bad config"
log "a bad config refused, serve going on: $refused"

inside install -m 0640 -g x-msrv /x-msrv/serve.toml /etc/x-msrv/x-msrv.toml
inside systemctl stop x-msrv-serve.service
[ "$(inside systemctl show -p Result --value x-msrv-serve.service)" = success ] \
    || die "x-msrv serve did not stop cleanly after the reloads"
