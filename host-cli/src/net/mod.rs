//! Network interfaces and sockets.

pub mod interface;
pub mod udp;
