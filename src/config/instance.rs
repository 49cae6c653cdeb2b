//! Instances: several consumers on one host, each with its own configuration file, state
//! directory, metrics label and systemd units (`x-msrv@NAME.timer`,
//! `x-msrv-serve@NAME.service`).
//!
//! `--instance NAME` (what the template units pass as `%i`) makes x-msrv read
//! `/etc/x-msrv/NAME.{toml,yaml,yml,json}` instead of `/etc/x-msrv/x-msrv.*`, keep its
//! state in `/var/lib/x-msrv/NAME` when neither `state-directory` nor systemd's
//! `$STATE_DIRECTORY` says otherwise, and label its metrics `consumer="NAME"`. The
//! systemd generator gets no list of instances, so it takes every file in `/etc/x-msrv`
//! whose name is an instance name plus one of those extensions ([`instances`]).
//!
//! Names are restricted to letters, digits, `-` and `_`: no `.`, so the schema next to the
//! configurations (`message.schema.json`) is never taken for one, and a name is the same
//! in a unit name, a path and a Prometheus label value without escaping.

use std::path::{Path, PathBuf};

use super::error::ConfigError;

/// The directory the instance configurations (and the single consumer's) live in.
pub const CONFIG_DIR: &str = "/etc/x-msrv";

/// The extensions an instance configuration may have, in the order they are tried (the
/// order of [`super::DEFAULT_PATHS`]).
pub const EXTENSIONS: &[&str] = &["toml", "yaml", "yml", "json"];

/// The single consumer's file stem (`/etc/x-msrv/x-msrv.toml`): not an instance.
const SINGLE_CONSUMER: &str = "x-msrv";

/// The longest name accepted: a unit name (`x-msrv-serve@NAME.service`) may be at most
/// 255 bytes (systemd's UNIT_NAME_MAX), and a name this long is a mistake anyway.
const MAX_LEN: usize = 64;

/// A checked instance name (`orders` in `x-msrv@orders.timer`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instance(String);

impl Instance {
    /// Checks a name: 1-64 of `A-Z a-z 0-9 - _`, and not `x-msrv` (the single consumer's
    /// file).
    pub fn parse(name: &str) -> Result<Instance, InstanceError> {
        let valid_chars = name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if name.is_empty() || name.len() > MAX_LEN || !valid_chars {
            return Err(InstanceError::Name(name.to_owned()));
        }
        if name == SINGLE_CONSUMER {
            return Err(InstanceError::SingleConsumer);
        }
        Ok(Instance(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The files this instance's configuration is looked for in, in order.
    pub fn config_paths(&self, dir: &Path) -> Vec<PathBuf> {
        EXTENSIONS
            .iter()
            .map(|ext| dir.join(format!("{}.{ext}", self.0)))
            .collect()
    }

    /// The first of [`Instance::config_paths`] that exists.
    pub fn locate(&self, dir: &Path) -> Result<PathBuf, ConfigError> {
        let paths = self.config_paths(dir);
        paths
            .iter()
            .find(|p| p.exists())
            .cloned()
            .ok_or_else(|| ConfigError::NotFound {
                tried: paths.iter().map(|p| p.display().to_string()).collect(),
            })
    }

    /// The state directory when neither `state-directory` nor `$STATE_DIRECTORY` is set:
    /// the one `StateDirectory=x-msrv/%i` makes.
    pub fn default_state_directory(&self) -> PathBuf {
        Path::new(super::DEFAULT_STATE_DIRECTORY).join(&self.0)
    }
}

impl std::fmt::Display for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A bad `--instance`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstanceError {
    #[error("{0:?} is not an instance name (1-64 of A-Z a-z 0-9 - _)")]
    Name(String),
    #[error(
        "\"x-msrv\" is the single consumer's configuration (/etc/x-msrv/x-msrv.*): run without --instance"
    )]
    SingleConsumer,
}

/// The instances configured in `dir`: each file `NAME.EXT` with a valid instance name and
/// one of `EXTENSIONS`, by name; a name with several files is taken once, from the file
/// `--instance NAME` reads. Unreadable directory: none (the generator must not fail).
pub fn instances(dir: &Path) -> Vec<(Instance, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<Instance> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file() || t.is_symlink()))
        .filter_map(|e| {
            let path = e.path();
            let ext = path.extension()?.to_str()?;
            if !EXTENSIONS.contains(&ext) {
                return None;
            }
            Instance::parse(path.file_stem()?.to_str()?).ok()
        })
        .collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|i| {
            let path = i.locate(dir).ok()?;
            Some((i, path))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in ["orders", "events-eu", "a_1", "X"] {
            assert_eq!(Instance::parse(good).unwrap().as_str(), good);
        }
        for bad in ["", "a.b", "a/b", "a b", "ü", &"n".repeat(65), "x@y"] {
            assert_eq!(
                Instance::parse(bad),
                Err(InstanceError::Name(bad.to_owned())),
                "{bad:?}"
            );
        }
        assert_eq!(
            Instance::parse("x-msrv"),
            Err(InstanceError::SingleConsumer)
        );
    }

    #[test]
    fn the_config_is_looked_for_with_each_extension_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let orders = Instance::parse("orders").unwrap();
        let err = orders.locate(dir.path()).unwrap_err().to_string();
        for ext in EXTENSIONS {
            assert!(err.contains(&format!("orders.{ext}")), "{err}");
        }
        std::fs::write(dir.path().join("orders.json"), "{}").unwrap();
        assert_eq!(
            orders.locate(dir.path()).unwrap(),
            dir.path().join("orders.json")
        );
        std::fs::write(dir.path().join("orders.yaml"), "").unwrap();
        assert_eq!(
            orders.locate(dir.path()).unwrap(),
            dir.path().join("orders.yaml")
        );
        assert_eq!(
            orders.default_state_directory(),
            PathBuf::from("/var/lib/x-msrv/orders")
        );
    }

    #[test]
    fn instances_are_the_config_files_but_the_single_consumers_and_the_schema() {
        let dir = tempfile::tempdir().unwrap();
        for file in [
            "x-msrv.toml",
            "message.schema.json",
            "orders.toml",
            "events.yml",
            "events.json",
            "notes.txt",
            "orders.toml.dpkg-old",
            "bad name.toml",
        ] {
            std::fs::write(dir.path().join(file), "").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub.toml")).unwrap();
        let found: Vec<_> = instances(dir.path())
            .into_iter()
            .map(|(i, p)| (i.to_string(), p.file_name().unwrap().to_owned()))
            .collect();
        assert_eq!(
            found,
            [
                ("events".to_owned(), "events.yml".into()),
                ("orders".to_owned(), "orders.toml".into())
            ]
        );
        assert!(instances(&dir.path().join("missing")).is_empty());
    }
}
