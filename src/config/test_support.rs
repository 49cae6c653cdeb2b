//! What the configuration's unit tests share: a schema in a temporary directory, a
//! minimal configuration, and parsing it with a line added (from strings; no files but
//! the schema).

use super::{ConfigError, Format, Settings, from_str};

/// A schema file in a temporary directory, so the tests do not depend on /etc.
pub(super) fn schema_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(
        dir.path().join("schema.json"),
        r#"{"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}"#,
    )
    .expect("write the schema");
    dir
}

pub(super) const MINIMAL: &str = r#"
    [nsq]
    nsqd = ["127.0.0.1:4150"]
    topic = "t"
    [message]
    schema = "schema.json"
"#;

pub(super) fn parse(text: &str) -> Result<Settings, ConfigError> {
    let dir = schema_dir();
    from_str(text, Format::Toml, dir.path())
}

pub(super) fn error(text: &str) -> String {
    parse(text)
        .expect_err("the configuration is invalid")
        .to_string()
}

/// MINIMAL with `line` added to the section `[section]`.
pub(super) fn with(section: &str, line: &str) -> String {
    let header = format!("[{section}]");
    if MINIMAL.contains(&header) {
        MINIMAL.replace(&header, &format!("{header}\n{line}"))
    } else {
        format!("{MINIMAL}\n{header}\n{line}\n")
    }
}
