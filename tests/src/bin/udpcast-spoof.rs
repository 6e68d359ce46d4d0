//! The attacker of the authenticated-transfer lab: a host on the same switch, without the
//! key, that sends udpcast datagrams with a peer's source address and port (through a raw
//! socket, so it needs root in its namespace).
//!
//! ```text
//! udpcast-spoof --from ADDR:PORT --to ADDR:PORT[,ADDR:PORT...] --seconds S --pps N
//!               [--sniff PORT] [--group ADDR]
//! ```
//!
//! It cycles through forgeries of every udpcast message (DATA, REQACK, DISCONNECT,
//! CONNECT_REPLY, HELLO, OK, RETRANSMIT, CONNECT_REQ, GO) with random fields, without and
//! with a made-up authentication trailer. With `--sniff`, it also listens on that port (and
//! `--group`) for the genuine datagrams of `--from`, and sends them back replayed verbatim,
//! with a payload byte flipped, and with the trailer's counter moved on: what someone who
//! can read the wire but not the key can try. At the end it prints `sent N ADDR:PORT` per
//! destination, then `forgeries N`, `replays N`, `tampered N` and `sniffed N`.

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use udpcast_tests::memnet::Rng;
use udpcast_tests::raw_udp::RawUdp;

/// udpcast's opcodes and the length of each message's fixed part after the opcode.
const MESSAGES: [(u16, usize); 9] = [
    (8, 14 + 1404), // DATA: header and a block
    (6, 14 + 128),  // REQACK
    (4, 0),         // DISCONNECT
    (7, 12 + 8),    // CONNECT_REPLY
    (0x0500, 26),   // HELLO
    (0, 6),         // OK
    (1, 10 + 128),  // RETRANSMIT
    (3, 10),        // CONNECT_REQ
    (2, 0),         // GO
];
/// The authenticated trailers: magic, session, (nonce,) counter, tag.
const MAGIC: &[u8; 4] = b"UCA1";
const SENDER_TRAILER: usize = 4 + 8 + 8 + 16;

struct Options {
    from: SocketAddrV4,
    to: Vec<SocketAddrV4>,
    seconds: f64,
    pps: u32,
    sniff: Option<u16>,
    group: Option<Ipv4Addr>,
}

fn parse_options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let (mut from, mut to, mut seconds, mut pps, mut sniff, mut group) =
        (None, Vec::new(), None, 1000, None, None);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let bad = format!("bad value for {flag}: {value}");
        match flag.as_str() {
            "--from" => from = Some(value.parse().map_err(|_| bad.clone())?),
            "--to" => {
                for one in value.split(',') {
                    to.push(one.parse().map_err(|_| format!("bad destination {one}"))?);
                }
            }
            "--seconds" => seconds = Some(value.parse().map_err(|_| bad.clone())?),
            "--pps" => pps = value.parse().map_err(|_| bad.clone())?,
            "--sniff" => sniff = Some(value.parse().map_err(|_| bad.clone())?),
            "--group" => group = Some(value.parse().map_err(|_| bad.clone())?),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(Options {
        from: from.ok_or("--from is required")?,
        to: if to.is_empty() {
            return Err("--to is required".into());
        } else {
            to
        },
        seconds: seconds.ok_or("--seconds is required")?,
        pps: pps.max(1),
        sniff,
        group,
    })
}

/// A forged message of kind `n` (cycling through [`MESSAGES`]), with random fields, and a
/// made-up trailer on every other round.
fn forgery(n: u64, rng: &mut Rng) -> Vec<u8> {
    let (opcode, body) = MESSAGES[(n % MESSAGES.len() as u64) as usize];
    let mut msg = opcode.to_be_bytes().to_vec();
    msg.extend(rng.bytes(body));
    if (n / MESSAGES.len() as u64) % 2 == 1 {
        msg.extend_from_slice(MAGIC);
        msg.extend(rng.bytes(SENDER_TRAILER - MAGIC.len()));
    }
    msg
}

/// A genuine datagram changed so that only the key could make it authentic again: a
/// payload byte flipped, or the trailer's counter moved on (the tag left as it was).
fn tampered(genuine: &[u8], n: u64, rng: &mut Rng) -> Vec<u8> {
    let mut d = genuine.to_vec();
    let trailer = d.len().saturating_sub(SENDER_TRAILER);
    if n % 2 == 0 && d.get(trailer..trailer + 4) == Some(MAGIC) {
        let counter = trailer + 12;
        let moved = u64::from_be_bytes(d[counter..counter + 8].try_into().unwrap())
            .wrapping_add(1 + rng.next_u64() % 1000);
        d[counter..counter + 8].copy_from_slice(&moved.to_be_bytes());
    } else if trailer > 2 {
        let at = 2 + (rng.next_u64() as usize) % (trailer - 2);
        d[at] ^= 1 << (rng.next_u64() % 8);
    } else {
        d.push(0);
    }
    d
}

fn sniffer(port: u16, group: Option<Ipv4Addr>) -> Result<UdpSocket, String> {
    let socket = UdpSocket::bind(("0.0.0.0", port)).map_err(|e| format!("bind {port}: {e}"))?;
    socket.set_broadcast(true).map_err(|e| e.to_string())?;
    if let Some(g) = group {
        socket
            .join_multicast_v4(&g, &Ipv4Addr::UNSPECIFIED)
            .map_err(|e| format!("join {g}: {e}"))?;
    }
    socket.set_nonblocking(true).map_err(|e| e.to_string())?;
    Ok(socket)
}

fn run(o: &Options) -> Result<(), String> {
    let raw = RawUdp::spoofing().map_err(|e| format!("raw socket: {e} (root is needed)"))?;
    let sniff = o.sniff.map(|p| sniffer(p, o.group)).transpose()?;
    let mut genuine: Vec<Vec<u8>> = Vec::new();
    let mut sent = vec![0u64; o.to.len()];
    let (mut forgeries, mut replays, mut tamper, mut sniffed) = (0u64, 0u64, 0u64, 0u64);
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    let gap = Duration::from_secs_f64(1.0 / f64::from(o.pps));
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(o.seconds);
    let mut buf = [0u8; 65536];
    let mut n = 0u64;
    while Instant::now() < end {
        while let Some(s) = &sniff {
            match s.recv_from(&mut buf) {
                Ok((len, std::net::SocketAddr::V4(src))) if src == o.from => {
                    sniffed += 1;
                    // Keep a spread of the session, not only its first datagrams.
                    if genuine.len() < 256 {
                        genuine.push(buf[..len].to_vec());
                    } else {
                        let i = (rng.next_u64() % 256) as usize;
                        genuine[i] = buf[..len].to_vec();
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        let payload = match (n % 3, genuine.is_empty()) {
            (1, false) => {
                replays += 1;
                genuine[(rng.next_u64() as usize) % genuine.len()].clone()
            }
            (2, false) => {
                tamper += 1;
                let g = (rng.next_u64() as usize) % genuine.len();
                tampered(&genuine[g], n / 3, &mut rng)
            }
            _ => {
                forgeries += 1;
                forgery(forgeries - 1, &mut rng)
            }
        };
        for (to, count) in o.to.iter().zip(&mut sent) {
            if raw.send(o.from, *to, &payload).is_ok() {
                *count += 1;
            }
        }
        n += 1;
        let due = start + gap * n as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    for (to, count) in o.to.iter().zip(&sent) {
        println!("sent {count} {to}");
    }
    println!("forgeries {forgeries}");
    println!("replays {replays}");
    println!("tampered {tamper}");
    println!("sniffed {sniffed}");
    Ok(())
}

fn main() -> ExitCode {
    match parse_options().and_then(|o| run(&o)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("udpcast-spoof: {e}");
            ExitCode::from(2)
        }
    }
}
