//! Seeds of the decoders: one datagram per kind from the captures, and our own messages
//! with trailers.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use udpcast_core::extension::{Record, SliceCheck, StreamCheck, TrailerWriter};
use udpcast_core::wire::{
    Bitmap1024, Capabilities, ConnectReply, Hello, HelloKind, Message, Reqack,
};

use crate::pcap::Datagram;
use crate::{identity, Corpus};

/// One datagram per (capture kind, opcode, length) from the captures, and our own
/// messages with trailers.
pub(crate) fn wire_seeds(corpus: &mut Corpus, captures: &[(String, Vec<Datagram>)]) {
    let mut seen = BTreeMap::new();
    for (name, datagrams) in captures {
        for d in datagrams {
            let Some(op) = d.payload.get(..2).map(|o| u16::from_be_bytes([o[0], o[1]])) else {
                continue;
            };
            // DATA and FEC: one full and one short block per opcode is enough.
            let len_class = if op == 8 || op == 9 {
                d.payload.len().min(200)
            } else {
                d.payload.len()
            };
            if seen.insert((op, len_class), ()).is_none() {
                corpus.put(
                    "wire_parse",
                    &format!("{name}-op{op:04x}-{}", d.payload.len()),
                    &d.payload,
                );
            }
        }
    }
    for (name, datagram) in our_messages() {
        corpus.put("wire_parse", &format!("ours-{name}"), &datagram);
    }
}

/// Messages of our sender with the verified-transfers trailer.
fn our_messages() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    let with_trailer = |len: usize, buf: &mut Vec<u8>, f: &dyn Fn(&mut TrailerWriter<'_>)| {
        buf.resize(len + 512, 0);
        let mut w = TrailerWriter::new(&mut buf[len..]).expect("room");
        f(&mut w);
        let total = len + w.finish();
        buf.truncate(total);
    };
    let mut buf = vec![0u8; 28];
    let hello = Hello {
        kind: HelloKind::Hello,
        capabilities: Capabilities::SENDER_ASYNC,
        data_address: Ipv4Addr::new(234, 66, 0, 1),
        block_size: 1456,
    };
    let len = hello.encode(&mut buf).expect("fits");
    with_trailer(len, &mut buf, &|w| identity().write(w).expect("fits"));
    out.push(("hello-async-identity", buf));
    let mut buf = vec![0u8; 32];
    let reply = ConnectReply {
        client_number: Some(0),
        block_size: 1456,
        capabilities: Capabilities::SENDER | udpcast_core::extension::VERIFIED,
        data_address: Ipv4Addr::new(234, 66, 0, 1),
    };
    let len = reply.encode(&mut buf).expect("fits");
    with_trailer(len, &mut buf, &|w| identity().write(w).expect("fits"));
    out.push(("connect-reply-verified", buf));
    let ready = Bitmap1024::new();
    for (name, bytes, record) in [
        (
            "reqack-slice-check",
            8192,
            Record::SliceCheck(SliceCheck::of(3, &[7; 8192]).expect("small")),
        ),
        (
            "reqack-stream-digest",
            0,
            Record::StreamDigest(StreamCheck {
                bytes: 100_000,
                crc32c: 0xdead_beef,
            }),
        ),
    ] {
        let mut buf = vec![0u8; Reqack::LEN];
        let len = Message::Reqack(Reqack {
            slice: 3,
            bytes,
            rxmit: 0,
            ready: &ready,
        })
        .encode(&mut buf)
        .expect("fits");
        with_trailer(len, &mut buf, &|w| {
            w.push(&Record::Session(identity().session))
                .and_then(|w| w.push(&record))
                .expect("fits");
        });
        out.push((name, buf));
    }
    out
}

pub(crate) fn trailer_seeds(corpus: &mut Corpus) {
    for (name, datagram) in our_messages() {
        let fixed = match name {
            n if n.starts_with("hello") => 28,
            n if n.starts_with("connect") => 32,
            _ => Reqack::LEN,
        };
        corpus.put("trailer_parse", name, &datagram[fixed..]);
    }
    let mut buf = vec![0u8; 600];
    let mut w = TrailerWriter::new(&mut buf).expect("room");
    w.push(&Record::Unknown {
        kind: 200,
        value: b"later field",
    })
    .and_then(|w| w.push(&Record::StreamName("été ✓ 磁盘.img")))
    .and_then(|w| w.push(&Record::TotalSize(u64::MAX)))
    .expect("fits");
    let len = w.finish();
    corpus.put("trailer_parse", "unknown-and-unicode-name", &buf[..len]);
    corpus.put("trailer_parse", "truncated-header", b"UCXT\x01");
    corpus.put("trailer_parse", "version-2", b"UCXT\x02\x00\x00\x00");
    corpus.put(
        "trailer_parse",
        "records-beyond",
        b"UCXT\x01\x00\x00\x10\x01\x00\x00\x08",
    );
    corpus.put(
        "trailer_parse",
        "name-with-escape",
        b"UCXT\x01\x00\x00\x08\x02\x00\x00\x04a\x1b[m",
    );
    corpus.put("trailer_parse", "no-magic", b"garbage");
}
