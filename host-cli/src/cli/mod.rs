//! Command lines.

pub mod getopt;
pub mod receiver_args;
pub mod sender_args;
pub mod value;
