//! Support code for udpcast-rs's integration and interoperability tests: the reference
//! captures of Debian's udpcast (`fixtures`), a reader for them (`pcap`), and the network
//! lab of Linux namespaces the interop tests run in (`lab`), and the PXE room in it where
//! emulated machines boot the boot image from the network (`pxe`); raw UDP sockets with a
//! full checksum and any source address (`raw_udp`); an in-memory network of our sender and
//! receivers (`memnet`) and what the tests of verified transfers over it share
//! (`verified_run`).

pub mod corrupt;
pub mod fixtures;
pub mod garbage;
pub mod lab;
pub mod memnet;
pub mod pcap;
pub mod pxe;
pub mod raw_udp;
pub mod room;
pub mod sim;
pub mod verified_run;
