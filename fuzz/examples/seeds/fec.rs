//! Seeds of the FEC round trip: slices of capture data, in each mode.

use udpcast_fuzz::input::Script;

use crate::pcap::Datagram;
use crate::Corpus;

/// FEC experiments in the target's format: slices of capture data, each mode.
pub(crate) fn fec_seeds(corpus: &mut Corpus, captures: &[(String, Vec<Datagram>)]) {
    let data: Vec<u8> = captures
        .iter()
        .flat_map(|(_, d)| d.iter())
        .find(|d| d.payload.len() > 1000 && d.payload[..2] == [0, 8])
        .map(|d| d.payload[16..].to_vec())
        .expect("a DATA datagram");
    // mode, stripes-1, redundancy, block size/4-1, bytes (u16), data, erasures, offers...
    let slices: [(u8, u8, u8, u16, u8, u8); 6] = [
        (0, 0, 2, 64, 0b0000_0011, 0b11),
        (7, 4, 15, 1000, 0x55, 0x0f),
        (3, 8, 3, 200, 0xff, 0xff),
        (1, 1, 0, 17, 0x01, 0x01),
        (15, 8, 7, 512, 0xa5, 0xfe),
        (0, 0, 0, 0, 0, 0),
    ];
    for (i, &(stripes, redundancy, bs, bytes, erase, offer)) in slices.iter().enumerate() {
        let mut s = Script::new();
        s.u8(0).u8(stripes).u8(redundancy).u8(bs).u16(bytes);
        let block_size = 4 * (usize::from(bs) + 1);
        let bytes = usize::from(bytes) % (64 * block_size + 1);
        s.bytes(&data[..bytes.min(data.len())]);
        s.bytes(&[erase; 128]);
        for _ in 0..=stripes {
            s.u8(offer);
        }
        s.u8(1).u8(3).u8(1).u8(0);
        corpus.put("fec_roundtrip", &format!("slice-{i}"), &s.into_bytes());
    }
    for (i, (k, redundancy, bs, last)) in [(5u8, 3u8, 24u8, 10u8), (31, 8, 63, 0), (0, 0, 0, 0)]
        .into_iter()
        .enumerate()
    {
        let mut s = Script::new();
        s.u8(2)
            .u8(k)
            .u8(redundancy)
            .u8(bs)
            .u8(last)
            .bytes(&data[..600]);
        corpus.put("fec_roundtrip", &format!("stripe-{i}"), &s.into_bytes());
    }
    for (i, fault) in (0..8u8).enumerate() {
        let mut s = Script::new();
        s.u8(3).u16(257).u16(12).u32(1456).u32(100_000);
        s.u8(10).u8(11).u8(7).u8(9).u8(0x1d);
        s.u8(3)
            .u8(1)
            .u8(2)
            .u16(299)
            .bytes(&data[..300])
            .u8(fault)
            .u8(5)
            .u8(2);
        corpus.put("fec_roundtrip", &format!("refusal-{i}"), &s.into_bytes());
    }
}
