//! The documentation names every configuration key the code accepts (the README's
//! table, the shipped commented config and the man page) and every command-line option
//! of the one clap definition (the man page and the README). A key or a flag added to
//! the code but not documented fails here.

use x_msrv::config::KEYS;

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn readme_documents_every_key() {
    let readme = read("README.md");
    let missing: Vec<_> = KEYS
        .iter()
        .filter(|k| !readme.contains(&format!("| `{k}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md's config table lacks {missing:?}"
    );
}

#[test]
fn shipped_config_mentions_every_key() {
    let toml = read("etc/x-msrv.toml");
    let missing: Vec<_> = KEYS
        .iter()
        .filter(|k| {
            let (section, key) = k.split_once('.').map_or(("", **k), |(s, k)| (s, k));
            let in_section = if section.is_empty() {
                toml.split("\n[").next().unwrap_or("").to_owned()
            } else {
                toml.split(&format!("\n[{section}]"))
                    .nth(1)
                    .map_or(String::new(), |rest| {
                        rest.split("\n[").next().unwrap_or("").to_owned()
                    })
            };
            !in_section
                .lines()
                .any(|l| l.trim_start_matches('#').starts_with(&format!("{key} =")))
        })
        .collect();
    assert!(missing.is_empty(), "etc/x-msrv.toml lacks {missing:?}");
}
#[test]
fn man_page_documents_every_key() {
    let man = read("man/x-msrv.1");
    // troff escapes hyphens in key names as \- .
    let plain = man.replace("\\-", "-").replace("\\&", "");
    let missing: Vec<_> = KEYS.iter().filter(|k| !plain.contains(*k)).collect();
    assert!(missing.is_empty(), "man/x-msrv.1 lacks {missing:?}");
}

/// Every long option of the one clap definition, with the subcommand it belongs to.
fn long_options() -> Vec<(String, String)> {
    fn walk(cmd: &clap::Command, path: &str, out: &mut Vec<(String, String)>) {
        for arg in cmd.get_arguments() {
            if let Some(long) = arg.get_long()
                && !arg.is_hide_set()
                && !["help", "version"].contains(&long)
            {
                out.push((path.to_owned(), long.to_owned()));
            }
        }
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }
    let mut out = Vec::new();
    walk(
        &<x_msrv::commands::cli::Cli as clap::CommandFactory>::command(),
        "x-msrv",
        &mut out,
    );
    out
}

#[test]
fn man_page_and_readme_document_every_option() {
    let man = read("man/x-msrv.1").replace("\\-", "-").replace("\\&", "");
    let readme = read("README.md");
    let mut missing = Vec::new();
    for (command, long) in long_options() {
        let flag = format!("--{long}");
        for (file, text) in [("man/x-msrv.1", &man), ("README.md", &readme)] {
            if !text.contains(&flag) {
                missing.push(format!("{file}: {command} {flag}"));
            }
        }
    }
    assert!(missing.is_empty(), "undocumented options: {missing:?}");
}
