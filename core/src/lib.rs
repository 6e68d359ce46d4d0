//! udpcast-core: the udpcast protocol (wire format, FEC, sender and receiver state machines)
//! as a sans-IO, `no_std`, allocation-free library.
//!
//! Nothing here opens a socket, reads a clock or spawns a thread: the caller feeds datagrams
//! and the current time in and polls what to send, what to write and when to wake up.
//! The wire protocol is that of udpcast 20120424 (Debian's `udpcast` package), byte for byte.
#![no_std]
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod addressing;
pub mod auth;
pub mod autorate;
pub mod extension;
pub mod fec;
pub mod rate;
pub mod receiver;
pub mod sender;
pub mod time;
pub mod transmit;
pub mod wire;
