//! The command line as scripts and shells meet it: the log on a pipe or in a file is
//! plain text (no colour codes in cron mails, `2>file`, CI logs), and the completion
//! scripts are generated from the one clap definition.

use crate::common::{test_dir, x_msrv};

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
