//! `x-msrv check`: the configuration and the schema load, and NSQ and Aerospike answer.

use crate::commands::exit::Exit;
use crate::config::Settings;
use crate::pipeline::store::AerospikeSink;

/// `x-msrv check`: the settings loaded (so config and schema are fine); now see that
/// every NSQ address and Aerospike answer, without taking a message.
pub async fn check(settings: &Settings) -> Exit {
    let mut ok = true;
    match nsq::probe(&settings.nsq.consumer).await {
        Ok(found) => {
            for line in found {
                println!("nsq: {line}");
            }
        }
        Err(e) => {
            println!("nsq: FAILED: {e}");
            ok = false;
        }
    }
    match AerospikeSink::connect(&settings.aerospike).await {
        Ok(sink) => {
            println!(
                "aerospike: ok ({}, namespace {})",
                settings.aerospike.hosts.join(","),
                settings.aerospike.namespace
            );
            sink.close().await;
        }
        Err(e) => {
            println!("aerospike: FAILED: {e}");
            ok = false;
        }
    }
    if ok {
        println!("configuration, schema and connections OK");
        Exit::Ok
    } else {
        Exit::Unavailable
    }
}
