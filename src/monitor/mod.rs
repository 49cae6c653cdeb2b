//! Monitoring: what each run leaves for node_exporter and Nagios/Icinga to read.

pub mod metrics;
pub mod status;
