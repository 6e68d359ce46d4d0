//! Support code for udpcast-rs's integration and interoperability tests: the reference
//! captures of Debian's udpcast (`fixtures`), a reader for them (`pcap`), and the network
//! lab of Linux namespaces the interop tests run in (`lab`).

pub mod fixtures;
pub mod garbage;
pub mod lab;
pub mod memnet;
pub mod pcap;
