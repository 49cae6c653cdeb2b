//! The command line as scripts and shells meet it: the log on a pipe or in a file is
//! plain text (no colour codes in cron mails, `2>file`, CI logs), and the completion
//! scripts are generated from the one clap definition.

use crate::common::{BIN, test_dir, x_msrv};

/// ESC, the first byte of every ANSI colour sequence (`\x1b[32m INFO\x1b[0m`).
const ESC: char = '\x1b';

#[tokio::test]
async fn log_on_a_pipe_has_no_colour_codes() {
    let dir = test_dir();
    // A configuration error: logged at ERROR, the level drawn in red on a terminal.
    let missing = dir.path().join("missing.toml");
    let out = x_msrv(&missing, &["check"])
        .env_remove("NO_COLOR")
        .output()
        .await
        .expect("x-msrv runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    assert!(stderr.contains("ERROR"), "nothing logged: {stderr:?}");
    assert!(!stderr.contains(ESC), "colour codes on a pipe: {stderr:?}");
}

/// `x-msrv completions SHELL` on stdout, checked to have succeeded.
async fn completions(shell: &str) -> String {
    let out = tokio::process::Command::new(BIN)
        .args(["completions", shell])
        .output()
        .await
        .expect("x-msrv runs");
    assert!(out.status.success(), "{shell}: {out:?}");
    assert!(out.stderr.is_empty(), "{shell}: {out:?}");
    String::from_utf8(out.stdout).expect("a script is text")
}

#[tokio::test]
async fn completion_scripts_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish"] {
        let script = completions(shell).await;
        for word in [
            "run", "serve", "check", "records", "rejected", "status", "list", "show", "redrive",
            "purge",
        ] {
            assert!(script.contains(word), "{shell} script lacks {word}");
        }
        assert!(!script.contains("systemd-generator"), "{shell}");
    }
    // Needs no configuration (the package build has none) and writes nothing but stdout.
    let out = tokio::process::Command::new(BIN)
        .args([
            "--config",
            "/nonexistent/x-msrv.toml",
            "completions",
            "bash",
        ])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let usage = tokio::process::Command::new(BIN)
        .args(["completions", "tcsh"])
        .output()
        .await
        .unwrap();
    assert_eq!(usage.status.code(), Some(2), "{usage:?}");
}

/// What bash offers for `words` (the last one being completed), with the
/// script sourced: what a Tab does, without a terminal.
async fn bash_complete(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let program = format!(
        "source {script}; \
         fn=$(complete -p x-msrv | sed -E 's/.*-F ([^ ]+).*/\\1/'); \
         COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
         COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; \
         \"$fn\" x-msrv \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script = script.display(),
        words = words.join(" "),
    );
    let out = tokio::process::Command::new("bash")
        .args(["--norc", "-c", &program])
        .output()
        .await
        .expect("bash runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn bash_completes_nested_subcommands_and_their_flags() {
    let dir = test_dir();
    let script = dir.path().join("x-msrv.bash");
    std::fs::write(&script, completions("bash").await).unwrap();
    assert_eq!(
        bash_complete(&script, &["x-msrv", "rejected", "re"]).await,
        ["redrive"]
    );
    let flags = bash_complete(&script, &["x-msrv", "rejected", "redrive", "--to"]).await;
    assert_eq!(flags, ["--topic", "--to-topic"]);
}
