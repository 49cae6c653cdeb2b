//! Stand-in single-node Aerospike server.
