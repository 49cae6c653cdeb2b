//! Secrets: written in the config (`aerospike.password`, `nsq.auth-secret`) or read once,
//! at start-up, from a file named by the matching `-file` key, never both. Under systemd
//! the file is a credential the unit loads (`LoadCredential=`), and a missing one gets a
//! hint saying where its source goes.

use std::path::{Path, PathBuf};

use crate::config::env;
use crate::config::error::ConfigError;

/// The two keys of one secret: written in the config (`inline`), or read from a file
/// (`file`), at most one of them. `aerospike.password` / `aerospike.password-file`, and
/// the same shape for `nsq.auth-secret` / `nsq.auth-secret-file`.
pub(super) struct SecretKeys {
    pub(super) inline: &'static str,
    pub(super) file: &'static str,
}

impl SecretKeys {
    /// Which of the two keys is set (`None`: neither); both is an error naming both.
    pub(super) fn given<T, U>(
        &self,
        inline: &Option<T>,
        file: &Option<U>,
    ) -> Result<Option<&'static str>, ConfigError> {
        match (inline.is_some(), file.is_some()) {
            (true, true) => Err(ConfigError::invalid(
                self.file,
                format!("give {} or {}, not both", self.inline, self.file),
            )),
            (true, false) => Ok(Some(self.inline)),
            (false, true) => Ok(Some(self.file)),
            (false, false) => Ok(None),
        }
    }

    /// The secret: the inline value, or the file's content (a relative path resolved
    /// against `base_dir`, like `message.schema`), read once here at start-up.
    pub(super) fn read(
        &self,
        inline: Option<String>,
        file: Option<PathBuf>,
        base_dir: &Path,
    ) -> Result<Option<String>, ConfigError> {
        self.given(&inline, &file)?;
        match file {
            None => Ok(inline),
            Some(path) if path.as_os_str().is_empty() => {
                Err(ConfigError::invalid(self.file, "must not be empty"))
            }
            Some(path) => read_secret_file(self.file, &base_dir.join(path)).map(Some),
        }
    }
}

/// Reads a secret from a file for the key `key`: the whole file, less its trailing
/// newlines (`\n` or `\r\n`, as `echo`, an editor or `systemd-creds` leave them); other
/// whitespace is kept, it may belong to the secret. Errors name the key and the path: a
/// file that cannot be read, is not UTF-8, or holds nothing but newlines.
pub(super) fn read_secret_file(key: &str, path: &Path) -> Result<String, ConfigError> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| {
        let in_service = std::env::var_os("CREDENTIALS_DIRECTORY").is_some();
        let hint = match e.kind() {
            std::io::ErrorKind::NotFound => credential_hint(key, path, in_service),
            _ => None,
        };
        let hint = hint.map(|h| format!(" ({h})")).unwrap_or_default();
        ConfigError::invalid(key, format!("cannot read {shown}: {e}{hint}"))
    })?;
    let text = String::from_utf8(bytes)
        .map_err(|_| ConfigError::invalid(key, format!("{shown}: not UTF-8 text")))?;
    let secret = text.trim_end_matches(['\n', '\r']);
    if secret.is_empty() {
        return Err(ConfigError::invalid(
            key,
            format!("{shown}: the file is empty"),
        ));
    }
    Ok(secret.to_owned())
}

/// Where systemd puts a system service's credentials (`LoadCredential=` in the unit):
/// `/run/credentials/UNIT/NAME`, while the service runs.
const CREDENTIALS_ROOT: &str = "/run/credentials/";
/// Where `LoadCredential=NAME` (no path) finds a credential's source first.
const CREDSTORE: &str = "/etc/credstore";

/// What to do about a missing secret file under [`CREDENTIALS_ROOT`]. Inside the service
/// (`$CREDENTIALS_DIRECTORY` set), systemd found no source for that credential and
/// skipped it; outside (a command run by hand), the directory does not exist at all.
pub(super) fn credential_hint(key: &str, path: &Path, in_service: bool) -> Option<String> {
    let rest = path.to_str()?.strip_prefix(CREDENTIALS_ROOT)?;
    let (_unit, name) = rest.split_once('/')?;
    let source = format!("{CREDSTORE}/{name}");
    Some(if in_service {
        format!("systemd passed no credential {name:?}: install it as {source}")
    } else {
        format!(
            "that directory exists only while the service runs; by hand, as root, read the source: {}={source}",
            env::var_for(key)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    use crate::config::test_support::{error, schema_dir, with};
    use crate::config::{ConfigError, Format, Settings, from_str, from_str_with_env, raw};

    /// MINIMAL with `aerospike.user` and `lines`, parsed in a directory holding the schema
    /// and a file `name` with `content`.
    fn with_secret_file(name: &str, content: &str, lines: &str) -> Result<Settings, ConfigError> {
        let dir = schema_dir();
        std::fs::write(dir.path().join(name), content).unwrap();
        let text = with("aerospike", &format!("user = \"u\"\n{lines}"));
        from_str(&text, Format::Toml, dir.path())
    }

    #[test]
    fn the_password_file_is_read_less_its_trailing_newlines() {
        for (content, want) in [
            ("hunter2\n", "hunter2"),
            ("hunter2", "hunter2"),
            ("hunter2\r\n\n", "hunter2"),
            // Only newlines are trimmed: spaces may belong to the password.
            (" two words \n", " two words "),
        ] {
            let s = with_secret_file("pw", content, r#"password-file = "pw""#)
                .unwrap_or_else(|e| panic!("{content:?}: {e}"));
            assert_eq!(s.aerospike.user.as_deref(), Some("u"));
            assert_eq!(s.aerospike.password.as_deref(), Some(want), "{content:?}");
        }
    }

    #[test]
    fn a_relative_password_file_resolves_against_the_config_directory() {
        let dir = schema_dir();
        std::fs::create_dir(dir.path().join("secrets")).unwrap();
        std::fs::write(dir.path().join("secrets/pw"), "from-file\n").unwrap();
        let text = with("aerospike", "user = \"u\"\npassword-file = \"secrets/pw\"");
        let s = from_str(&text, Format::Toml, dir.path()).unwrap();
        assert_eq!(s.aerospike.password.as_deref(), Some("from-file"));
        // An absolute path is taken as it is, from any base directory.
        let absolute = dir.path().join("secrets/pw");
        let text = with(
            "aerospike",
            &format!("user = \"u\"\npassword-file = \"{}\"", absolute.display()),
        );
        let elsewhere = schema_dir();
        let s = from_str(&text, Format::Toml, elsewhere.path()).unwrap();
        assert_eq!(s.aerospike.password.as_deref(), Some("from-file"));
    }

    #[test]
    fn the_password_and_a_password_file_together_are_an_error_naming_both() {
        let err = with_secret_file("pw", "p\n", "password = \"p\"\npassword-file = \"pw\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("aerospike.password-file: ")
                && err.contains("aerospike.password or aerospike.password-file, not both"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_password_file_is_an_error_naming_the_key_and_the_path() {
        let dir = schema_dir();
        for (lines, says) in [
            (r#"password-file = "nope""#, "cannot read"),
            (r#"password-file = "pw""#, "the file is empty"),
            (r#"password-file = "bin""#, "not UTF-8"),
        ] {
            std::fs::write(dir.path().join("pw"), "\n\n").unwrap();
            std::fs::write(dir.path().join("bin"), b"\xff\xfe\n").unwrap();
            let text = with("aerospike", &format!("user = \"u\"\n{lines}"));
            let err = from_str(&text, Format::Toml, dir.path())
                .unwrap_err()
                .to_string();
            let file = lines.split('"').nth(1).unwrap();
            assert!(
                err.starts_with("aerospike.password-file: ")
                    && err.contains(&dir.path().join(file).display().to_string())
                    && err.contains(says),
                "{lines}: {err}"
            );
        }
        let err = error(&with("aerospike", "user = \"u\"\npassword-file = \"\""));
        assert!(
            err.starts_with("aerospike.password-file: must not be empty"),
            "{err}"
        );
    }

    #[test]
    fn the_password_file_can_come_from_the_environment() {
        let dir = schema_dir();
        std::fs::write(dir.path().join("pw"), "from-env\n").unwrap();
        let s = from_str_with_env(
            &with("aerospike", r#"user = "u""#),
            Format::Toml,
            dir.path(),
            [("X_MSRV_AEROSPIKE__PASSWORD_FILE", "pw")],
        )
        .unwrap();
        assert_eq!(s.aerospike.password.as_deref(), Some("from-env"));
    }

    #[test]
    fn no_debug_print_shows_the_password() {
        let raw = raw::RawAerospike {
            user: Some("u".into()),
            password: Some("inline-secret".into()),
            password_file: Some("/run/credentials/x-msrv.service/aerospike-password".into()),
            ..raw::RawAerospike::default()
        };
        let shown = format!("{raw:?}");
        assert!(!shown.contains("inline-secret"), "{shown}");
        assert!(
            shown.contains("aerospike-password"),
            "the path is no secret: {shown}"
        );
        let s = with_secret_file("pw", "file-secret\n", r#"password-file = "pw""#).unwrap();
        assert_eq!(s.aerospike.password.as_deref(), Some("file-secret"));
        let shown = format!("{s:?}");
        assert!(!shown.contains("file-secret"), "{shown}");
    }

    #[test]
    fn a_missing_credential_says_where_its_source_goes() {
        let path = Path::new("/run/credentials/x-msrv.service/aerospike-password");
        let key = "aerospike.password-file";
        let inside = credential_hint(key, path, true).unwrap();
        assert!(
            inside.contains("install it as /etc/credstore/aerospike-password"),
            "{inside}"
        );
        let outside = credential_hint(key, path, false).unwrap();
        assert!(
            outside.contains("X_MSRV_AEROSPIKE__PASSWORD_FILE=/etc/credstore/aerospike-password"),
            "{outside}"
        );
        assert_eq!(
            credential_hint(key, Path::new("/etc/x-msrv/pw"), false),
            None
        );
    }
}
