#![forbid(unsafe_code)]
//! linkwell's domain: the words of the system as types. Values are parsed once, at the edge, into types that
//! cannot hold invalid data; the connection state machine lives here so every caller goes through it.
//! Nothing in this crate performs IO.

pub mod company;
pub mod connection;
pub mod ids;
pub mod integration;
pub mod paging;
pub mod query;
pub mod sync;
pub mod time;
