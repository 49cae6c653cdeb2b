//! `x-msrv status`: the Nagios/Icinga plugin's one line and its exit code (0-3); the
//! evaluation itself is [`crate::monitor::status`].

use crate::commands::cli::StatusArgs;
use crate::config::Location;
use crate::monitor::status::Thresholds;

/// `x-msrv status`: the plugin's one line on stdout and its exit code (0-3). Its own
/// small runtime: the plugin runs without the signal handling of a run.
pub fn status(location: &Location, args: &StatusArgs) -> std::process::ExitCode {
    let report = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(crate::monitor::status::check(
            location,
            &Thresholds {
                warning: args.warning,
                critical: args.critical,
            },
        )),
        Err(e) => crate::monitor::status::Report::unknown(
            location.instance.as_ref(),
            format!("cannot start the async runtime: {e}"),
        ),
    };
    println!("{}", report.line);
    std::process::ExitCode::from(report.state.code())
}
