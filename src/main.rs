//! The `x-msrv` binary: parses the command line, installs signal handling and logging,
//! runs the library, and turns the outcome into a documented exit code.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use futures::StreamExt;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook_tokio::Signals;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use x_msrv::commands::cli::{Cli, Command};
use x_msrv::commands::exit::Exit;
use x_msrv::commands::{self, logging};
use x_msrv::config;
use x_msrv::run::serve::Reloads;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version land here too, with exit status 0.
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage.into()
            } else {
                Exit::Ok.into()
            };
        }
    };

    // The generator runs before logging and the journal exist (systemd.generator(7)):
    // it must be quick, quiet on success, and never fail the boot.
    if let Some(Command::SystemdGenerator(args)) = &cli.command {
        return commands::generator::systemd_generator(&cli.location(), args).into();
    }

    // Nothing to log and no configuration to read: the script goes to stdout.
    if let Some(Command::Completions(args)) = &cli.command {
        return commands::completions::completions(args.shell).into();
    }

    logging::init(cli.verbose, cli.instance.as_ref());
    if let Some(Command::Status(args)) = &cli.command {
        // Before the full configuration is loaded: a plugin says UNKNOWN (3) about a
        // configuration it cannot read, never exit 78, and needs neither the schema nor
        // the secrets a monitoring user may not read.
        return commands::status::status(&cli.location(), args);
    }
    if let Some(Command::Check(args)) = &cli.command
        && !args.message.is_empty()
    {
        // Before the runtime and the signal handlers: checking messages opens no
        // connection and needs neither, and Ctrl-C while it reads a terminal should
        // simply end it, as it ends any filter.
        return match load_settings(&cli.location()) {
            Ok(settings) => commands::check::check_messages(&settings, args).into(),
            Err(exit) => exit.into(),
        };
    }
    // One thread: x-msrv shares its host's cores with nsqd and Aerospike, and its work
    // is mostly waiting on them; what it computes (parse, schema, bins: under 1 us a
    // message) needs no second core, while handing tasks between worker threads costs
    // wake-ups, cache misses and a malloc arena per thread. `make bench`, 100k small
    // messages, 2 cores: 195-205k msg/s at 4.9-5.2 us CPU/msg and 20.2-20.5 MB with the
    // multi-thread runtime; 223-236k msg/s at 3.8-3.9 us and 17.2-17.4 MB with this one.
    // Blocking calls (the nsqlookupd and /stats requests) go to tokio's blocking pool.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            error!(error = %e, "cannot start the async runtime");
            return Exit::Internal.into();
        }
    };
    runtime.block_on(async_main(cli)).into()
}

async fn async_main(cli: Cli) -> Exit {
    // Signals first, so SIGTERM is honoured at every moment, even while the config is
    // read or a connection is being made (the original ignored it while connecting).
    let shutdown = CancellationToken::new();
    // SIGHUP: serve reloads; a timer run ignores it (its default action would kill the
    // run mid-batch). The other commands keep the default: they are run from a
    // terminal, and a hangup of that terminal should end them.
    let on_hup = match cli.command {
        Some(Command::Serve) => Some(Hangup::Reload),
        None | Some(Command::Run) => Some(Hangup::Ignore),
        _ => None,
    };
    let handled: &[i32] = if on_hup.is_some() {
        &[SIGTERM, SIGINT, SIGHUP]
    } else {
        &[SIGTERM, SIGINT]
    };
    let signals = match Signals::new(handled) {
        Ok(signals) => signals,
        Err(e) => {
            error!(error = %e, "cannot install signal handlers");
            return Exit::Internal;
        }
    };
    // A SIGHUP before serve listens (while the config is first read) is kept, not lost:
    // the receiver sees it as a change and serve reloads before its first batch.
    let (reload_tx, reload_rx) = watch::channel(());
    let signal_task = tokio::spawn(forward_signals(
        signals,
        shutdown.clone(),
        on_hup.map(|hup| (hup, reload_tx)),
    ));

    let settings = match load_settings(&cli.location()) {
        Ok(settings) => Arc::new(settings),
        Err(exit) => return exit,
    };

    let exit = match cli.command {
        None | Some(Command::Run) => commands::run::run(settings, shutdown, cli.summary_json).await,
        Some(Command::Serve) => {
            // The same place as at the start (`--config`, the instance's file, or the
            // first default that exists now) and the same environment.
            let location = cli.location();
            let reloads = Reloads {
                requests: reload_rx,
                load: move || config::load(&location),
            };
            commands::serve::serve(settings, shutdown, reloads, cli.summary_json).await
        }
        Some(Command::Check(_)) => commands::check::check(&settings).await,
        Some(Command::Records(args)) => commands::records::records(&settings, &args).await,
        Some(Command::Rejected(command)) => {
            commands::rejected::run(&settings, &command, shutdown).await
        }
        Some(Command::SystemdGenerator(_) | Command::Status(_) | Command::Completions(_)) => {
            unreachable!("handled before the runtime starts")
        }
    };
    signal_task.abort();
    exit
}

/// The settings, or the exit status of a configuration that cannot be used (the error
/// logged: it names the key).
fn load_settings(location: &config::Location) -> Result<config::Settings, Exit> {
    config::load(location).map_err(|e| {
        error!("configuration error: {e}");
        Exit::Config
    })
}

/// What SIGHUP does, for the commands that handle it.
#[derive(Clone, Copy)]
enum Hangup {
    /// `serve`: read the configuration again between batches.
    Reload,
    /// A timer run: nothing; the next run reads the configuration anew.
    Ignore,
}

/// Cancels `shutdown` on the first SIGTERM/SIGINT; a second one is only logged, because
/// the first already started a clean stop that hands every message back. SIGHUP, when
/// `hup` handles it, asks for a reload or is logged and ignored.
async fn forward_signals(
    mut signals: Signals,
    shutdown: CancellationToken,
    hup: Option<(Hangup, watch::Sender<()>)>,
) {
    while let Some(signal) = signals.next().await {
        if signal == SIGHUP {
            match &hup {
                Some((Hangup::Reload, reload)) => {
                    // Never fails: send_replace does not need a receiver.
                    reload.send_replace(());
                }
                Some((Hangup::Ignore, _)) | None => info!(
                    signal = "SIGHUP",
                    "ignored: a run reads its configuration when it starts, so the next run takes a changed one"
                ),
            }
            continue;
        }
        let name = if signal == SIGTERM {
            "SIGTERM"
        } else {
            "SIGINT"
        };
        if shutdown.is_cancelled() {
            warn!(signal = name, "already stopping");
        } else {
            info!(signal = name, "stopping");
            shutdown.cancel();
        }
    }
}
