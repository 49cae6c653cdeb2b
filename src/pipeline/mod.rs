//! The message path: a message body becomes a record ([`record`]), is written
//! ([`store`]), gets its outcome ([`batch`]), and is settled with NSQ (FIN or REQ).

pub mod batch;
pub mod failures;
pub mod outcome;
pub mod record;
pub mod store;
