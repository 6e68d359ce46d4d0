//! libudpcast: the C ABI over `udpcast-core`.
//!
//! Empty for now: the C API (receiver, sender, FEC, wire helpers) and its cbindgen header
//! come with the libudpcast issue. The crate exists so the workspace has its final shape.
