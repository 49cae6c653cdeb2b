# Sourced by test/systemd/run (needs its inside, log, die, $work, $deb, $version and the
# stand-ins at 127.0.0.1): upgrades in place, from the same tree's package at a lower
# version ($version~prev, built by upgrade_prepare before the container boots).
#   1. The timer: the lower package installed, the conffile edited, x-msrv.timer enabled;
#      `dpkg -i` of the current package while a run is in the middle of its batch: the
#      run ends its batch on the old binary (received=N, stop_reason=done, not signal),
#      the edited conffile is kept (no prompt, no .dpkg-dist), the timer stays enabled
#      and active, and its next runs execute the new binary.
#   2. serve: the lower package again, x-msrv-serve.service and x-msrv-serve@events
#      running; `dpkg -i` of the current package restarts both (SIGTERM: the batch in
#      progress stops cleanly, exit 0) onto the new binary; every message stored once.
# Ends with the package purged.

upgrade_prepare() {
    prev_version="$version~prev"
    local x
    x=$(mktemp -d)
    dpkg-deb -x "$deb" "$x"
    X_MSRV_VERSION="$prev_version" X_MSRV_BIN="$x/usr/bin/x-msrv" deb-build/build >/dev/null
    mv dist/x-msrv_"$prev_version"_*.deb "$work/x-msrv-prev.deb"
    rm -rf "$x"
    # The .rpm's upgrade scriptlets, when `make rpm` built one: the container has no rpm,
    # so they are run by hand as rpm -U runs the old package's (%preun 1, %postun 1).
    rm -f "$work/rpm-preun.sh" "$work/rpm-postun.sh"
    local rpm_file
    rpm_file=$(ls dist/x-msrv-"$version"-1.*.rpm 2>/dev/null | head -n 1 || true)
    if [ -n "$rpm_file" ] && command -v rpm >/dev/null; then
        rpm -qp --queryformat '%{PREUN}' "$rpm_file" >"$work/rpm-preun.sh"
        rpm -qp --queryformat '%{POSTUN}' "$rpm_file" >"$work/rpm-postun.sh"
    fi
}

upgrade_phase() {
    local topic=x-msrv-upgrade n=20
    up_channel() {
        inside curl -fsS "http://127.0.0.1:4151/stats?format=json&topic=$1&channel=x-msrv" \
            | jq -r '.topics[0].channels[0] // {} | "\(.depth // 0) \(.in_flight_count // 0) \(.deferred_count // 0)"'
    }
    up_publish() { # topic first-id count
        local i
        for i in $(seq "$2" $(($2 + $3 - 1))); do
            printf '{ "id": %d, "msg": "Some message-%d" }\n' "$i" "$i"
        done >"$work/up.json"
        inside curl -fsS --data-binary @/x-msrv/up.json "http://127.0.0.1:4151/mpub?topic=$1" >/dev/null
    }
    up_records() { inside x-msrv records --json --limit 100000 2>/dev/null | grep -c . || true; }
    installed() { inside dpkg-query -W -f '${Version}' x-msrv; }

    # Slow writes (2 s each), so that a run or a batch is still in progress when dpkg
    # replaces the binary: a stand-in of this phase's own, fresh.
    inside systemctl stop devstack devstack-serve >/dev/null 2>&1 || true
    inside systemd-run --quiet --unit=devstack-upgrade /x-msrv/x-msrv-devstack --aerospike-delay 2s
    for _ in $(seq 100); do
        inside curl -fsS http://127.0.0.1:4151/ping >/dev/null 2>&1 && break
        sleep 0.1
    done

    log "upgrade: the timer, x-msrv $prev_version -> $version with a run in progress"
    inside dpkg -i /x-msrv/x-msrv-prev.deb >/dev/null
    [ "$(installed)" = "$prev_version" ] || die "x-msrv $prev_version is not installed"
    # The operator's edit of the conffile: this test's servers, N=20, a mark.
    sed -e "s/^topic = .*/topic = \"$topic\"/" -e "s/^max-messages = .*/max-messages = $n/" \
        -e 's/^period = .*/period = "3s"\nidle-timeout = "500ms"/' "$work/x-msrv.toml" >"$work/edited.toml"
    echo "# edited by the operator before the upgrade" >>"$work/edited.toml"
    inside install -m 0640 -g x-msrv /x-msrv/edited.toml /etc/x-msrv/x-msrv.toml
    inside systemctl daemon-reload
    inside systemctl enable --quiet --now x-msrv.timer
    up_publish "$topic" 7000 100
    # A run in the middle of its batch (N=20 at 200 ms a write: seconds long).
    local pid= in_flight=0
    for _ in $(seq 300); do
        read -r _ in_flight _ < <(up_channel "$topic")
        pid=$(inside systemctl show -p ExecMainPID --value x-msrv.service)
        [ "$in_flight" -gt 0 ] && [ "$pid" -gt 0 ] && break
        sleep 0.05
    done
    [ "$in_flight" -gt 0 ] && [ "$pid" -gt 0 ] || die "no run in progress to upgrade under"
    local invocation before
    invocation=$(inside systemctl show -p InvocationID --value x-msrv.service)
    before=$(inside date '+%Y-%m-%d %H:%M:%S')
    inside env DEBIAN_FRONTEND=noninteractive dpkg -i /x-msrv/x-msrv.deb </dev/null >"$work/upgrade.log" 2>&1 \
        || { cat "$work/upgrade.log"; die "dpkg -i (upgrade) failed"; }
    [ "$(installed)" = "$version" ] || die "x-msrv $version is not installed after the upgrade"
    local exe
    exe=$(inside readlink "/proc/$pid/exe" 2>/dev/null || echo "(run ended)")
    log "upgraded to $version during run $pid (its binary now: $exe)"
    # The run in progress ends its batch: all N, stop_reason=done.
    for _ in $(seq 200); do
        grep -q 'run finished:' <<<"$(inside journalctl _SYSTEMD_INVOCATION_ID="$invocation" -o cat)" && break
        sleep 0.1
    done
    local line
    line=$(inside journalctl _SYSTEMD_INVOCATION_ID="$invocation" -o cat | grep 'run finished:' || true)
    echo "    $line"
    grep -q "received=$n .*stop_reason=done" <<<"$line" || die "the run in progress did not end its batch: $line"
    # The conffile the operator edited is kept, silently.
    inside grep -q '^# edited by the operator' /etc/x-msrv/x-msrv.toml || die "the edited conffile was replaced"
    inside test ! -e /etc/x-msrv/x-msrv.toml.dpkg-dist || die "dpkg left x-msrv.toml.dpkg-dist"
    grep -qi 'conffile' "$work/upgrade.log" && { cat "$work/upgrade.log"; die "dpkg asked about the conffile"; }
    # The timer goes on, enabled, with the new binary.
    [ "$(inside systemctl is-enabled x-msrv.timer)" = enabled ] || die "x-msrv.timer is not enabled after the upgrade"
    [ "$(inside systemctl is-active x-msrv.timer)" = active ] || die "x-msrv.timer is not active after the upgrade"
    local runs_after=0 new_pid= new_exe=
    for _ in $(seq 300); do
        runs_after=$(inside journalctl -u x-msrv.service --since "$before" -o cat | grep -c 'run finished:' || true)
        p=$(inside systemctl show -p ExecMainPID --value x-msrv.service)
        if [ "$p" -gt 0 ] && [ "$p" != "$pid" ] && [ -z "$new_exe" ]; then
            new_exe=$(inside readlink "/proc/$p/exe" 2>/dev/null || true) new_pid=$p
            # Caught between systemd's fork and the exec: look again.
            case $new_exe in */x-msrv*) ;; *) new_exe= ;; esac
        fi
        [ "$runs_after" -ge 3 ] && [ -n "$new_exe" ] && break
        sleep 0.1
    done
    [ "$runs_after" -ge 3 ] || die "the timer did not fire after the upgrade ($runs_after runs)"
    [ "$new_exe" = /usr/bin/x-msrv ] || die "a run after the upgrade executes '$new_exe', not the new /usr/bin/x-msrv"
    log "conffile kept; x-msrv.timer enabled and active; $((runs_after - 1)) runs since, run $new_pid executes $new_exe"
    inside systemctl disable --quiet --now x-msrv.timer
    for _ in $(seq 200); do
        [ "$(inside systemctl is-active x-msrv.service || true)" != activating ] && break
        sleep 0.1
    done

    log "upgrade: x-msrv-serve.service and x-msrv-serve@events running, $prev_version -> $version"
    inside env DEBIAN_FRONTEND=noninteractive dpkg -i /x-msrv/x-msrv-prev.deb </dev/null >/dev/null 2>&1 \
        || die "dpkg -i of $prev_version (back down) failed"
    sed -e 's/^topic = .*/topic = "x-msrv-upgrade-events"/' -e 's/^max-messages = .*/max-messages = 5/' \
        -e 's/^period = .*/period = "2s"\nidle-timeout = "500ms"/' "$work/x-msrv.toml" >"$work/events.toml"
    inside install -m 0640 -g x-msrv /x-msrv/events.toml /etc/x-msrv/events.toml
    inside systemctl daemon-reload
    # What the timer's runs left in the topic is serve's to take too.
    local stored_before leftover
    stored_before=$(up_records)
    read -r leftover _ < <(up_channel "$topic")
    inside systemctl start x-msrv-serve.service x-msrv-serve@events.service
    up_publish "$topic" 8000 100
    up_publish x-msrv-upgrade-events 9000 30
    local serve_pid events_pid serve_inv events_inv
    serve_pid=$(inside systemctl show -p MainPID --value x-msrv-serve.service)
    events_pid=$(inside systemctl show -p MainPID --value x-msrv-serve@events.service)
    serve_inv=$(inside systemctl show -p InvocationID --value x-msrv-serve.service)
    events_inv=$(inside systemctl show -p InvocationID --value x-msrv-serve@events.service)
    # Upgrade in the middle of a batch of serve.
    for _ in $(seq 300); do
        read -r _ in_flight _ < <(up_channel "$topic")
        [ "$in_flight" -gt 0 ] && break
        sleep 0.05
    done
    [ "$in_flight" -gt 0 ] || die "serve took no message"
    local upgraded_at
    upgraded_at=$(inside date '+%Y-%m-%d %H:%M:%S')
    inside env DEBIAN_FRONTEND=noninteractive dpkg -i /x-msrv/x-msrv.deb </dev/null >"$work/upgrade.log" 2>&1 \
        || { cat "$work/upgrade.log"; die "dpkg -i (upgrade) failed"; }
    local unit old_pid old_inv show unit_journal
    for unit in x-msrv-serve.service x-msrv-serve@events.service; do
        case $unit in
            x-msrv-serve.service) old_pid=$serve_pid old_inv=$serve_inv ;;
            *) old_pid=$events_pid old_inv=$events_inv ;;
        esac
        show=$(inside systemctl show -p ActiveState,SubState,MainPID,NRestarts "$unit")
        grep -qx 'ActiveState=active' <<<"$show" && grep -qx 'SubState=running' <<<"$show" \
            && grep -qx 'NRestarts=0' <<<"$show" || { echo "$show"; die "$unit is not running after the upgrade"; }
        new_pid=$(sed -n 's/^MainPID=//p' <<<"$show")
        [ "$new_pid" != "$old_pid" ] || die "$unit was not restarted by the upgrade (pid $old_pid)"
        [ "$(inside readlink "/proc/$new_pid/exe")" = /usr/bin/x-msrv ] || die "$unit does not run the new binary"
        # The old process: a clean stop on SIGTERM, exit 0.
        local old_journal
        old_journal=$(inside journalctl _SYSTEMD_INVOCATION_ID="$old_inv" -o cat)
        grep -qx 'stopping' <<<"$old_journal" \
            || { echo "$old_journal" | tail -n 5; die "$unit's old process did not stop on SIGTERM"; }
        # (Captured first: grep -q ending a pipe early would fail it under pipefail.)
        unit_journal=$(inside journalctl -u "$unit" --since "$upgraded_at" -o cat)
        grep -q "Failed with result\|status=1\|code=killed" <<<"$unit_journal" \
            && die "$unit failed or was killed during the upgrade"
        grep -q 'Deactivated successfully' <<<"$unit_journal" \
            || { echo "$unit_journal"; die "$unit's old process did not exit 0"; }
        log "$unit: pid $old_pid (SIGTERM, exit 0) -> pid $new_pid, running /usr/bin/x-msrv $version"
        grep 'batch finished:' <<<"$old_journal" | tail -n 1 | sed 's/^/    /'
    done
    # Nothing lost: every message stored, once, nsqd empty.
    local want=$((stored_before + leftover + 130)) stored depth deferred
    for _ in $(seq 300); do
        stored=$(up_records)
        [ "$stored" -ge "$want" ] && break
        sleep 0.2
    done
    read -r depth in_flight deferred < <(up_channel "$topic")
    log "after the upgrade: $((stored - stored_before)) of $((leftover + 130)) stored; $topic depth $depth, in flight $in_flight, deferred $deferred"
    [ "$stored" -eq "$want" ] || die "stored $((stored - stored_before)) of $((leftover + 130))"
    [ "$((depth + in_flight + deferred))" -eq 0 ] || die "left in nsqd after the upgrade"
    generations=$(inside x-msrv records --json --limit 100000 | jq -r .generation | sort -u)
    [ "$generations" = "1" ] || die "some message was stored twice across the restart (generations: $generations)"

    if [ -s "$work/rpm-postun.sh" ]; then
        log "the .rpm's upgrade scriptlets (%preun 1, %postun 1) with both serve units running"
        local pids_before pids_after
        pids_before=$(inside systemctl show -p MainPID --value x-msrv-serve.service x-msrv-serve@events.service | xargs)
        inside sh /x-msrv/rpm-preun.sh 1
        inside sh /x-msrv/rpm-postun.sh 1
        pids_after=$(inside systemctl show -p MainPID --value x-msrv-serve.service x-msrv-serve@events.service | xargs)
        for unit in x-msrv-serve.service x-msrv-serve@events.service; do
            [ "$(inside systemctl is-active "$unit")" = active ] || die "$unit is not active after the .rpm's scriptlets"
        done
        for pid in $pids_before; do
            grep -qw "$pid" <<<"$pids_after" && die "the .rpm's %postun did not restart the serve with pid $pid"
        done
        grep -q 'Failed with result' <<<"$(inside journalctl -u x-msrv-serve.service -u x-msrv-serve@events.service -o cat)" \
            && die "a serve unit failed on the .rpm's restart"
        log "%postun 1 restarted serve ($pids_before -> $pids_after), exit 0"
    else
        log "no dist/x-msrv-$version-1.*.rpm (make rpm): the .rpm's scriptlets are not run"
    fi

    inside systemctl stop x-msrv-serve.service x-msrv-serve@events.service
    inside dpkg --purge x-msrv >/dev/null 2>&1 || die "dpkg --purge after the upgrade failed"
    log "upgrades kept the conffile and the timer, ended the run in progress, restarted serve cleanly"
}
