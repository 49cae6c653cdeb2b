//! `x-msrv completions bash|zsh|fish`: the shell completion scripts, generated from the
//! one clap definition ([`Cli`]) so that a new subcommand or flag completes without a
//! second list to keep. The packages run it at build time and install the output at each
//! shell's vendor path (deb-build/build, rpm-spec/x-msrv.spec).

use std::io::Write;

use clap::CommandFactory;

use crate::commands::cli::{Cli, CompletionShell};
use crate::commands::exit::Exit;

impl From<CompletionShell> for clap_complete::Shell {
    fn from(shell: CompletionShell) -> Self {
        match shell {
            CompletionShell::Bash => clap_complete::Shell::Bash,
            CompletionShell::Zsh => clap_complete::Shell::Zsh,
            CompletionShell::Fish => clap_complete::Shell::Fish,
        }
    }
}

/// The name the scripts complete.
const BIN_NAME: &str = "x-msrv";

/// The completion script for `shell`.
pub fn script(shell: CompletionShell) -> Vec<u8> {
    let mut command = completed_command();
    let mut script = Vec::new();
    clap_complete::generate(
        clap_complete::Shell::from(shell),
        &mut command,
        BIN_NAME,
        &mut script,
    );
    if shell == CompletionShell::Bash {
        script = fix_bash_states(&script);
    }
    script
}

/// Works around clap_complete's bash generator (4.6.12) with a bin name holding a hyphen
/// (clap-rs/clap#6421, #6529, still open): its loop over the words sets the state
/// `x__msrv__subcmd__rejected`, but the `case` arms that list each subcommand's words
/// are spelled `x__subcmd__msrv__subcmd__rejected`, so past the first word nothing
/// completes (`x-msrv rejected re<Tab>` offered nothing). The arms are renamed to the
/// loop's spelling; once clap_complete spells them alike this replaces nothing.
fn fix_bash_states(script: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(script);
    text.replace("x__subcmd__msrv__subcmd__", "x__msrv__subcmd__")
        .into_bytes()
}

/// The command line as a shell should complete it: [`Cli`] without its hidden
/// subcommands. clap_complete's scripts offer hidden subcommands too (only hidden
/// arguments and values are left out), and `x-msrv sy<Tab>` completing to
/// `systemd-generator`, a command only systemd runs, would be noise. clap has no way to
/// remove a subcommand, so the top level is built again from its visible parts; the
/// arguments keep their `global` setting, which generation propagates.
fn completed_command() -> clap::Command {
    let full = Cli::command();
    clap::Command::new(BIN_NAME)
        .args(full.get_arguments().cloned())
        .subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned())
}

/// Writes the script for `shell` on stdout.
pub fn completions(shell: CompletionShell) -> Exit {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(&script(shell))
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Exit::Ok,
        Err(e) => {
            eprintln!("x-msrv: cannot write the completion script: {e}");
            Exit::Internal
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    fn text(shell: CompletionShell) -> String {
        String::from_utf8(script(shell)).expect("a script is text")
    }

    #[test]
    fn every_shell_names_the_nested_subcommands_and_their_flags() {
        for shell in CompletionShell::value_variants() {
            let script = text(*shell);
            for word in ["serve", "rejected", "redrive", "purge", "since", "to-topic"] {
                assert!(script.contains(word), "{shell:?} script lacks {word}");
            }
        }
    }

    #[test]
    fn hidden_subcommands_are_not_offered() {
        for shell in CompletionShell::value_variants() {
            let script = text(*shell);
            assert!(!script.contains("systemd-generator"), "{shell:?}");
            assert!(!script.contains("completions"), "{shell:?}");
        }
    }

    #[test]
    fn bash_arms_match_the_states_the_loop_sets() {
        let bash = text(CompletionShell::Bash);
        assert!(
            !bash.contains("x__subcmd__msrv"),
            "clap-rs/clap#6421 not worked around"
        );
        // The loop's state for `x-msrv rejected list`, and the arm listing its words,
        // with --config (global) among them.
        assert!(bash.contains("cmd=\"x__msrv__subcmd__rejected__subcmd__list\""));
        let list = bash
            .split("\n        x__msrv__subcmd__rejected__subcmd__list)")
            .nth(1)
            .expect("an arm for rejected list");
        let opts = list.lines().find(|l| l.contains("opts=")).unwrap();
        assert!(
            opts.contains("--since") && opts.contains("--config"),
            "{opts}"
        );
    }
}
