//! Paths of the test fixtures committed under `tests/fixtures/`.

use std::path::PathBuf;

/// The `tests/fixtures` folder of this workspace.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A capture of the real udpcast programs, by file name (e.g. `"02_multicast_2rx.pcap"`).
pub fn capture(name: &str) -> PathBuf {
    dir().join("captures").join(name)
}

/// The names of every reference capture, in the order of the captures' README.
pub const CAPTURES: [&str; 13] = [
    "01_default_1rx_autoptp.pcap",
    "02_multicast_2rx.pcap",
    "03_async_fec_8x8.pcap",
    "04_broadcast.pcap",
    "05_pointopoint.pcap",
    "06_streaming_async_join.pcap",
    "07_go_signal.pcap",
    "08_halfduplex_2rx_loss5.pcap",
    "09_fullduplex_2rx_loss5.pcap",
    "10_async_fec_loss2.pcap",
    "10_async_fec_loss2_rxside.pcap",
    "11_ttl2_mcast_data_addr.pcap",
    "12_sync_fec_4x2_loss5.pcap",
];

/// The input file a capture transferred (`in100k.bin` or `in500k.bin`), read whole.
pub fn input(name: &str) -> Vec<u8> {
    let path = dir().join("captures").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}
