//! Writes the seed corpora under `fuzz/corpus/<target>/` from the reference captures in
//! `tests/fixtures/captures/` (Debian's udpcast 20120424) and from scripts of our own.
//!
//!     cargo run --manifest-path fuzz/Cargo.toml --example seeds
//!
//! (`scripts/fuzz.sh --seeds` runs it.) It replaces the files it writes and leaves the
//! others; every seed is named after what it holds, so a rerun is a no-op in git.

use std::collections::BTreeMap;
use std::fs;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};
use udpcast_core::extension::{
    Identity, Record, SliceCheck, StreamCheck, StreamName, TrailerWriter,
};
use udpcast_core::wire::{
    Bitmap1024, Capabilities, ConnectReply, Hello, HelloKind, Message, Reqack,
};
use udpcast_fuzz::authenticated::seed::{self as auth_seed, Action, To};
use udpcast_fuzz::input::Script;
use udpcast_fuzz::{receiver, sender, session};

/// One UDP datagram of a capture: time (µs), source, destination, payload.
struct Datagram {
    time_us: u64,
    src: SocketAddrV4,
    dst: SocketAddrV4,
    payload: Vec<u8>,
}

/// The IPv4/UDP datagrams of a classic little-endian pcap file of Ethernet frames.
fn read_pcap(path: &Path) -> Vec<Datagram> {
    let file = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        file[..4],
        [0xd4, 0xc3, 0xb2, 0xa1],
        "{}: not a little-endian pcap",
        path.display()
    );
    let le32 = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let be16 = |b: &[u8]| u16::from_be_bytes([b[0], b[1]]);
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= file.len() {
        let (secs, usecs, caplen) = (
            le32(&file[at..]),
            le32(&file[at + 4..]),
            le32(&file[at + 8..]) as usize,
        );
        let frame = &file[at + 16..(at + 16 + caplen).min(file.len())];
        at += 16 + caplen;
        // Ethernet, IPv4, UDP, unfragmented.
        if frame.len() < 14 + 20 + 8 || be16(&frame[12..]) != 0x0800 || frame[14 + 9] != 17 {
            continue;
        }
        let ip = &frame[14..];
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        if be16(&ip[6..]) & 0x3fff != 0 || ip.len() < ihl + 8 {
            continue;
        }
        let udp = &ip[ihl..];
        let len = usize::from(be16(&udp[4..])).min(udp.len());
        let addr = |ip: &[u8], port: u16| {
            SocketAddrV4::new(Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]), port)
        };
        out.push(Datagram {
            time_us: u64::from(secs) * 1_000_000 + u64::from(usecs),
            src: addr(&ip[12..16], be16(udp)),
            dst: addr(&ip[16..20], be16(&udp[2..])),
            payload: udp[8..len].to_vec(),
        });
    }
    out
}

struct Corpus {
    root: PathBuf,
    written: BTreeMap<&'static str, (usize, usize)>,
}

impl Corpus {
    fn put(&mut self, target: &'static str, name: &str, bytes: &[u8]) {
        let dir = self.root.join(target);
        fs::create_dir_all(&dir).expect("corpus directory");
        fs::write(dir.join(name), bytes).expect("seed written");
        let entry = self.written.entry(target).or_default();
        entry.0 += 1;
        entry.1 += bytes.len();
    }
}

fn main() {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let captures_dir = fuzz.join("../tests/fixtures/captures");
    let mut corpus = Corpus {
        root: fuzz.join("corpus"),
        written: BTreeMap::new(),
    };
    let mut captures: Vec<(String, Vec<Datagram>)> = fs::read_dir(&captures_dir)
        .expect("the captures")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .map(|p| {
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                read_pcap(&p),
            )
        })
        .collect();
    captures.sort_by(|a, b| a.0.cmp(&b.0));

    wire_seeds(&mut corpus, &captures);
    trailer_seeds(&mut corpus);
    fec_seeds(&mut corpus, &captures);
    receiver_seeds(&mut corpus, &captures);
    sender_seeds(&mut corpus, &captures);
    session_seeds(&mut corpus);
    authenticated_seeds(&mut corpus);
    regressions(&fuzz.join("regressions"));
    for (target, (files, bytes)) in &corpus.written {
        println!("{target:18} {files:4} seeds {bytes:8} bytes");
    }
}

/// One datagram per (capture kind, opcode, length) from the captures, and our own
/// messages with trailers.
fn wire_seeds(corpus: &mut Corpus, captures: &[(String, Vec<Datagram>)]) {
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

fn identity() -> Identity {
    Identity {
        session: 0x1122_3344_5566_7788,
        name: StreamName::new("disk.img").expect("valid"),
        total_size: Some(100_000),
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

fn trailer_seeds(corpus: &mut Corpus) {
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

/// FEC experiments in the target's format: slices of capture data, each mode.
fn fec_seeds(corpus: &mut Corpus, captures: &[(String, Vec<Datagram>)]) {
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

/// A capture replayed to our receiver: the sender's datagrams to it as raw datagrams,
/// with the capture's timing, output consumed as it comes.
fn replay_for_receiver(datagrams: &[Datagram], flags: u8, me: Ipv4Addr, limit: usize) -> Vec<u8> {
    // 1 MiB of storage: slots of 256 KiB hold udpcast's slices of up to 180 blocks.
    let mut s = receiver::script::header(flags, 1456, 2, 1024, 8);
    let mut last = None;
    let mut n = 0;
    for d in datagrams {
        let to_me = *d.dst.ip() == me || d.dst.ip().is_multicast() || d.dst.ip().octets()[3] == 255;
        if d.src.port() != 9001 || !to_me {
            continue;
        }
        if let Some(t) = last {
            let ms = (d.time_us.saturating_sub(t) / 1000).min(255) as u8;
            if ms > 0 {
                receiver::script::wait(&mut s, ms);
            }
        }
        last = Some(d.time_us);
        receiver::script::raw(&mut s, &d.payload);
        if d.payload[..2] == [0, 7] && flags & 2 != 0 {
            receiver::script::key(&mut s);
        }
        receiver::script::consume_all(&mut s);
        n += 1;
        if n == limit {
            break;
        }
    }
    for _ in 0..4 {
        receiver::script::jump(&mut s);
        receiver::script::consume_all(&mut s);
    }
    s.into_bytes()
}

fn receiver_seeds(corpus: &mut Corpus, captures: &[(String, Vec<Datagram>)]) {
    let me = Ipv4Addr::new(10, 66, 0, 11);
    for (name, flags, limit) in [
        ("01_default_1rx_autoptp", 8, usize::MAX),
        ("03_async_fec_8x8", 9, usize::MAX),
        ("07_go_signal", 10, usize::MAX),
        ("11_ttl2_mcast_data_addr", 8, usize::MAX),
        ("10_async_fec_loss2_rxside", 9, 120),
    ] {
        let (_, datagrams) = captures.iter().find(|(n, _)| n == name).expect("capture");
        let script = replay_for_receiver(datagrams, flags, me, limit);
        let outcome = receiver::run(&script);
        println!("receiver replay of {name}: {outcome:?}");
        corpus.put("receiver", &format!("replay-{name}"), &script);
    }
    for flags in [0u8, 8, 1, 9, 4, 12, 16, 24] {
        for (m, (mask, rows)) in [(0u64, 0u8), (0b1001_0110, 1), (u64::MAX, 0), (0x0f0f, 3)]
            .into_iter()
            .enumerate()
        {
            let script = receiver::seed_transfer(flags, 3, mask, rows);
            corpus.put(
                "receiver",
                &format!("model-flags{flags:02}-loss{m}"),
                &script,
            );
        }
    }
}

/// The receivers' answers of a capture replayed to our sender, clients by address, with
/// the input fed as the sender asks for it.
fn replay_for_sender(datagrams: &[Datagram], o: &sender::script::Options, total: u32) -> Vec<u8> {
    let mut s = sender::script::header(o);
    let clients = [Ipv4Addr::new(10, 66, 0, 11), Ipv4Addr::new(10, 66, 0, 12)];
    let mut last = None;
    for d in datagrams {
        let Some(i) = clients.iter().position(|c| c == d.src.ip()) else {
            continue;
        };
        if d.src.port() != 9000 || d.dst.port() != 9001 {
            continue;
        }
        if let Some(t) = last {
            let ms = (d.time_us.saturating_sub(t) / 1000).min(255) as u8;
            if ms > 0 {
                sender::script::wait(&mut s, ms);
            }
        }
        last = Some(d.time_us);
        sender::script::raw(&mut s, i as u8, &d.payload);
        sender::script::input_until(&mut s, total);
        sender::script::jump(&mut s);
    }
    for _ in 0..8 {
        sender::script::input_until(&mut s, total);
        sender::script::answer_all(&mut s, 0, 0);
        sender::script::jump(&mut s);
    }
    s.into_bytes()
}

fn sender_seeds(corpus: &mut Corpus, captures: &[(String, Vec<Datagram>)]) {
    use sender::script::Options;
    let udpcast = Options {
        big: Some((1456, 1024)),
        min_receivers: 1,
        ..Options::default()
    };
    for (name, o, total) in [
        ("01_default_1rx_autoptp", udpcast, 100_000),
        (
            "07_go_signal",
            Options {
                min_receivers: 0,
                ..udpcast
            },
            100_000,
        ),
        (
            "08_halfduplex_2rx_loss5",
            Options {
                half_duplex: true,
                min_receivers: 2,
                ..udpcast
            },
            100_000,
        ),
        (
            "09_fullduplex_2rx_loss5",
            Options {
                min_receivers: 2,
                ..udpcast
            },
            100_000,
        ),
        (
            "12_sync_fec_4x2_loss5",
            Options {
                fec: Some((4, 2, 32)),
                min_receivers: 2,
                ..udpcast
            },
            100_000,
        ),
    ] {
        let (_, datagrams) = captures.iter().find(|(n, _)| n == name).expect("capture");
        let script = replay_for_sender(datagrams, &o, total);
        println!("sender replay of {name}: {:?}", sender::run(&script));
        corpus.put("sender", &format!("replay-{name}"), &script);
    }
    let small = Options {
        block_size: 64,
        max_slice: 16,
        ..Options::default()
    };
    let cases = [
        ("full-duplex-1rx", small, 1, false),
        ("full-duplex-3rx-lossy", small, 3, true),
        (
            "half-duplex-2rx-lossy",
            Options {
                half_duplex: true,
                max_slice: 64,
                ..small
            },
            2,
            true,
        ),
        (
            "fec-2x2",
            Options {
                fec: Some((2, 2, 8)),
                ..small
            },
            1,
            true,
        ),
        (
            "verified-2rx",
            Options {
                identity: true,
                ..small
            },
            2,
            true,
        ),
        (
            "paced",
            Options {
                rate: Some(1000),
                ..small
            },
            1,
            false,
        ),
        (
            "async-fec",
            Options {
                asynchronous: true,
                fec: Some((4, 2, 4)),
                autostart: Some(1),
                ..small
            },
            0,
            false,
        ),
        (
            "async-verified",
            Options {
                asynchronous: true,
                identity: true,
                autostart: Some(1),
                ..small
            },
            0,
            false,
        ),
        (
            "streaming-async",
            Options {
                asynchronous: true,
                streaming: true,
                autostart: Some(1),
                ..small
            },
            0,
            false,
        ),
        (
            "tiny-blocks",
            Options {
                block_size: 4,
                max_slice: 3,
                ..small
            },
            2,
            true,
        ),
    ];
    for (name, o, clients, lossy) in cases {
        let script = sender::seed_transfer(&o, clients, 3000, lossy);
        println!("sender {name}: {:?}", sender::run(&script));
        corpus.put("sender", &format!("model-{name}"), &script);
    }
}

fn session_seeds(corpus: &mut Corpus) {
    let faults: [(&str, &[session::FaultSpec<'_>]); 3] = [
        ("clean", &[]),
        (
            "flip-drop-repeat",
            &[(3, 0, 40, &[0x10]), (5, 2, 0, &[]), (9, 3, 0, &[])],
        ),
        (
            "burst-in-header",
            &[(0, 0, 6, &[1, 2, 3, 4]), (7, 0, 2, &[0x80])],
        ),
    ];
    for mode in 0..5u8 {
        for (name, f) in faults {
            let script = session::seed(mode, 64, 16, 3000, f);
            corpus.put("verified_session", &format!("mode{mode}-{name}"), &script);
        }
    }
    corpus.put(
        "verified_session",
        "mode0-tiny-blocks",
        &session::seed(0, 4, 1, 100, &[(2, 0, 17, &[0x41])]),
    );
}

/// Decoder inputs around the trailers' edges, and keyed sessions with every kind of
/// forgery, replay and loss.
fn authenticated_seeds(corpus: &mut Corpus) {
    let reply = [0u8, 7, 0, 0, 0, 0, 0, 1, 0, 0, 0, 64];
    let mut forged = b"\x00\x08junk".to_vec();
    forged.extend_from_slice(b"UCA1");
    forged.extend_from_slice(&[0; 8 + 8 + 16]);
    // Edits: count, then xor (at, n, bytes), truncate (length), extend (bytes), remove.
    let flip = [1, 0, 0, 3, 0, 0x01];
    let all = [
        4, 0, 0, 40, 1, 0x80, 0x01, 1, 0, 30, 2, 2, 0xaa, 0xbb, 3, 0, 1, 2,
    ];
    let none = [2, 2, 1, 0x5a, 1, 0, 48];
    for (name, raw, flags, message, room, edits) in [
        ("empty", &b""[..], 0, &b""[..], 36, &flip[..]),
        ("sender-trailer", &forged[..], 0, &reply[..], 40, &all[..]),
        ("reply-bound", &forged[..], 2, &reply[..], 36, &flip[..]),
        (
            "reply-bound-identity",
            &forged[..],
            2,
            &reply[..],
            36,
            &none[..],
        ),
        (
            "receiver-trailer",
            &forged[..],
            1,
            &b"\x00\x03\x00\x00"[..],
            44,
            &all[..],
        ),
        ("no-room", &b"UCA1"[..], 1, &b"\x00\x04"[..], 43, &flip[..]),
    ] {
        let input = auth_seed::decoders(raw, flags, message, room, edits);
        corpus.put("authenticated", &format!("decoders-{name}"), &input);
    }
    let lossy = [
        Action::drop(9),
        Action::drop(20),
        Action::replayed(12, To::Receiver, 3),
        Action::replayed(13, To::Sender, 0),
        Action::replayed(30, To::Receiver, 20),
        Action::replayed(31, To::Receiver, 10),
    ];
    let caps = udpcast_core::wire::Capabilities::SENDER;
    let hello = auth_seed::hello(caps);
    let earlier_run = [
        Action::sealed(0, To::Receiver, false, Err(&hello), 77, 1),
        Action::sealed(
            1,
            To::Receiver,
            false,
            Err(&[0, 8, 0, 0, 0, 0, 0, 9]),
            77,
            2,
        ),
        Action::sealed(1, To::Sender, false, Ok(0), 0, 9),
        Action::sealed(2, To::Sender, false, Ok(0), 77, 3),
    ];
    let forgeries = auth_seed::refused_forgeries();
    for mode in 0..5u8 {
        for (name, actions) in [
            ("clean", &[][..]),
            ("forgeries", &forgeries[..]),
            ("lossy-replays", &lossy[..]),
            ("earlier-run", &earlier_run[..]),
        ] {
            let input = auth_seed::session(mode, 64, 16, 3000, actions);
            corpus.put("authenticated", &format!("mode{mode}-{name}"), &input);
        }
    }
    let tiny = auth_seed::session(0, 4, 2, 200, &forgeries[..12]);
    corpus.put("authenticated", "mode0-tiny-blocks", &tiny);
}

/// Reproducers of core bugs that are scripts of our own (the others are minimised fuzzer
/// finds, kept as found).
fn regressions(dir: &Path) {
    use sender::script::Options;
    // Half duplex, 64-byte blocks, at most 16 blocks per slice, two receivers of which one
    // loses blocks near the end of a slice: the sender shrinks the slice size to 32 > 16.
    let o = Options {
        half_duplex: true,
        block_size: 64,
        max_slice: 16,
        ..Options::default()
    };
    let script = sender::seed_transfer(&o, 2, 3000, true);
    fs::create_dir_all(dir.join("sender")).expect("regressions directory");
    fs::write(dir.join("sender/shrink-above-max-slice-size"), script).expect("written");
    // A sync sender and a receiver that is not --passive: a HELLO with the async
    // capability from an earlier run under the same key (session 77, as recorded) arrives
    // first, and the receiver joins that run, though no reply covered its nonce.
    let caps = udpcast_core::wire::Capabilities::SENDER | udpcast_core::wire::Capabilities::ASYNC;
    let hello = auth_seed::hello(caps);
    let replay = [Action::sealed(0, To::Receiver, false, Err(&hello), 77, 1)];
    let script = auth_seed::session(0, 64, 16, 3000, &replay);
    fs::create_dir_all(dir.join("authenticated")).expect("regressions directory");
    fs::write(
        dir.join("authenticated/earlier-async-hello-joins-active-receiver"),
        script,
    )
    .expect("written");
    // The same with a plain HELLO sealed with counter 0, which the receiver's fresh window
    // for that session refuses, after it already took the session's keys: its next
    // CONNECT_REQ is sealed under session 77 and the sender refuses it.
    let hello = auth_seed::hello(udpcast_core::wire::Capabilities::SENDER);
    let replay = [Action::sealed(0, To::Receiver, false, Err(&hello), 77, 0)];
    let script = auth_seed::session(0, 64, 16, 3000, &replay);
    fs::write(
        dir.join("authenticated/refused-hello-switches-session"),
        script,
    )
    .expect("written");
}
