//! `[metrics]`: `metrics.textfile`, the Prometheus text file written after every run.

use std::path::{Path, PathBuf};

use crate::config::error::ConfigError;

/// `metrics.textfile`: empty is off (so `X_MSRV_METRICS__TEXTFILE=` turns it off); the
/// name must end in `.prom`, the only files node_exporter's textfile collector reads.
pub(super) fn check_metrics_textfile(
    file: Option<PathBuf>,
    base_dir: &Path,
) -> Result<Option<PathBuf>, ConfigError> {
    const KEY: &str = "metrics.textfile";
    let Some(file) = file.filter(|f| !f.as_os_str().is_empty()) else {
        return Ok(None);
    };
    if file.extension().and_then(|e| e.to_str()) != Some("prom") {
        return Err(ConfigError::invalid(
            KEY,
            format!(
                "{}: node_exporter's textfile collector reads only *.prom files",
                file.display()
            ),
        ));
    }
    Ok(Some(base_dir.join(file)))
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::{MINIMAL, error, parse};

    #[test]
    fn the_metrics_textfile_is_off_by_default_and_a_prom_file() {
        assert_eq!(parse(MINIMAL).unwrap().metrics_textfile, None);
        let s = parse(&format!(
            "{MINIMAL}\n[metrics]\ntextfile = \"/var/lib/prometheus/node-exporter/x-msrv.prom\"\n"
        ))
        .unwrap();
        assert_eq!(
            s.metrics_textfile,
            Some(std::path::PathBuf::from(
                "/var/lib/prometheus/node-exporter/x-msrv.prom"
            ))
        );
        let off = parse(&format!("{MINIMAL}\n[metrics]\ntextfile = \"\"\n")).unwrap();
        assert_eq!(off.metrics_textfile, None);
        let err = error(&format!(
            "{MINIMAL}\n[metrics]\ntextfile = \"/srv/x-msrv.txt\"\n"
        ));
        assert!(
            err.starts_with("metrics.textfile: ") && err.contains("*.prom"),
            "{err}"
        );
        let err = error(&format!("{MINIMAL}\n[metrics]\nfile = \"a.prom\"\n"));
        assert!(err.contains("file"), "{err}");
    }
}
