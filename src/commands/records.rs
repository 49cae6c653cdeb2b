//! `x-msrv records`: what a run stored, for operators without `aql` and for the demo.

use tracing::error;

use crate::commands::cli::RecordsArgs;
use crate::commands::exit::Exit;
use crate::config::Settings;
use crate::pipeline::store::AerospikeSink;

/// `x-msrv records`: what a run stored, for operators without `aql` and for the demo.
pub async fn records(settings: &Settings, args: &RecordsArgs) -> Exit {
    let sink = match AerospikeSink::connect(&settings.aerospike).await {
        Ok(sink) => sink,
        Err(e) => {
            error!("cannot connect to Aerospike: {e}");
            return Exit::Unavailable;
        }
    };
    let set = if let Some(set) = &args.set {
        set
    } else if args.rejected {
        &settings.aerospike.rejected_set
    } else {
        &settings.aerospike.set
    };
    if let Some(key) = &args.key {
        let exit = record_by_key(&sink, set, key, args).await;
        sink.close().await;
        return exit;
    }
    let listed = sink.list(set, args.limit).await;
    sink.close().await;
    match listed {
        Ok(records) => {
            if !args.json {
                println!(
                    "{} record(s) in {}.{}{}",
                    records.len(),
                    settings.aerospike.namespace,
                    set,
                    if records.len() >= args.limit {
                        " (limit reached)"
                    } else {
                        ""
                    }
                );
            }
            for record in records {
                if args.json {
                    println!("{}", serde_json::to_string(&record).unwrap_or_default());
                } else {
                    println!("{record}");
                }
            }
            Exit::Ok
        }
        Err(e) => {
            error!("cannot list {set}: {e}");
            Exit::Unavailable
        }
    }
}

/// `x-msrv records --key K`: one record. K is an integer key when it parses as an i64
/// (the keys `message.key = "/id"` makes of integer ids), else a string key; with
/// `--string-key` always a string.
async fn record_by_key(sink: &AerospikeSink, set: &str, key: &str, args: &RecordsArgs) -> Exit {
    let (value, kind) = match key.parse::<i64>() {
        Ok(i) if !args.string_key => (aerospike::Value::Int(i), "integer"),
        _ => (aerospike::Value::String(key.to_owned()), "string"),
    };
    let namespace = &sink.settings().namespace;
    match sink.get_record(set, value).await {
        Ok(Some(record)) => {
            if args.json {
                println!("{}", serde_json::to_string(&record).unwrap_or_default());
            } else {
                println!("{record}");
            }
            Exit::Ok
        }
        Ok(None) => {
            let hint = if kind == "integer" {
                " (read as an integer key; --string-key reads it as a string)"
            } else {
                ""
            };
            error!("no record with the {kind} key {key:?} in {namespace}.{set}{hint}");
            Exit::NotFound
        }
        Err(e) => {
            error!("cannot read the key {key:?} in {namespace}.{set}: {e}");
            Exit::Unavailable
        }
    }
}
