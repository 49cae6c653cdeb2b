//! The documentation names every configuration key the code accepts: the README's
//! table, the shipped commented config and the man page; and the man page names every
//! long option of the one clap definition (`--instance`, ...). A key or flag added to the
//! code but not documented fails here.

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

#[test]
fn man_page_documents_every_long_option() {
    use clap::CommandFactory;
    let man = read("man/x-msrv.1").replace("\\-", "-");
    fn walk(cmd: &clap::Command, out: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            if let Some(long) = arg.get_long()
                && !arg.is_hide_set()
            {
                out.push(format!("--{long}"));
            }
        }
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, out);
        }
    }
    let mut longs = Vec::new();
    walk(&x_msrv::commands::cli::Cli::command(), &mut longs);
    longs.sort();
    longs.dedup();
    let missing: Vec<_> = longs.iter().filter(|l| !man.contains(l.as_str())).collect();
    assert!(missing.is_empty(), "man/x-msrv.1 lacks {missing:?}");
    assert!(longs.iter().any(|l| l == "--instance"));
}
