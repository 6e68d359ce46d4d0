//! `verified_session`: one of our senders with an identity and one of our receivers with
//! verification on, wired together in memory with a fake clock, while the fuzz input
//! corrupts, drops and repeats DATA and FEC datagrams on their way (doc/verified-transfers.md).
//!
//! Invariant: the receiver never reports `Verified` or `Finished` unless what it wrote
//! is exactly the input. (Each corruption is a burst of at most 32 bits, which CRC-32C
//! always detects; the checks are not a MAC, see the document.)

use crate::input::Input;
use crate::stream::{content, Crc32c};
use std::net::{Ipv4Addr, SocketAddrV4};
use udpcast_core::extension::{Identity, StreamName};
use udpcast_core::receiver::{self, Event as RxEvent, Receiver, ReceiverConfig};
use udpcast_core::sender::{Duplex, FecParams, Sender, SenderConfig};
use udpcast_core::time::{Duration, Instant};
use udpcast_core::transmit::MAX_RECEIVER_DATAGRAM;
use udpcast_core::wire::{Opcode, BLOCK_HEADER_LEN};

const SENDER_IP: Ipv4Addr = Ipv4Addr::new(10, 66, 0, 1);
const RECEIVER_IP: Ipv4Addr = Ipv4Addr::new(10, 66, 0, 11);
const BCAST: Ipv4Addr = Ipv4Addr::new(10, 66, 0, 255);
const GROUP: Ipv4Addr = Ipv4Addr::new(234, 66, 0, 1);
const START: Instant = Instant(1_000_000);
/// Bounds on one run: loop turns and fake time.
const MAX_STEPS: usize = 20_000;
const MAX_TIME: Duration = Duration::from_secs(600);

/// What happens to one DATA or FEC datagram (counted from 0 in the order sent).
#[derive(Clone, Debug)]
enum Fault {
    /// XOR these bytes (at most four: one burst) at this offset (modulo the length).
    Xor { at: usize, bytes: Vec<u8> },
    /// Lost.
    Drop,
    /// Arrives twice.
    Repeat,
}

/// How a run ended, for tests of the seeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The receiver verified the stream.
    pub verified: bool,
    /// The receiver finished.
    pub finished: bool,
}

/// Runs one fuzz input.
pub fn run(data: &[u8]) -> Outcome {
    let mut input = Input::new(data);
    let mode = input.u8() % 5;
    let block_size = 4 * (1 + u16::from(input.u8() % 16));
    let max_slice = 1 + u16::from(input.u8() % 64);
    // Up to 4 KiB: a few slices of the largest blocks, or a thousand of the smallest,
    // keeps a whole transfer within milliseconds.
    let len = input.below16(4097);
    let seed = u64::from(input.u16()) << 20;
    let mut faults: Vec<(usize, Fault)> = Vec::new();
    while !input.is_empty() && faults.len() < 64 {
        let index = usize::from(input.u16() % 256);
        let fault = match input.u8() % 4 {
            0 | 1 => {
                let at = usize::from(input.u16());
                let n = 1 + input.below(4);
                // Never a zero byte: every fault changes the datagram.
                let bytes = input.bytes(n).iter().map(|&b| b | 1).collect();
                Fault::Xor { at, bytes }
            }
            2 => Fault::Drop,
            _ => Fault::Repeat,
        };
        faults.push((index, fault));
    }
    let stream: Vec<u8> = (0..len as u64).map(|i| content(seed + i)).collect();

    let mut config = SenderConfig::new(SENDER_IP, BCAST, GROUP);
    config.block_size = block_size;
    config.max_slice_size = max_slice;
    config.min_slice_size = 1;
    match mode {
        0 => {}
        1 => {
            config.duplex = Duplex::Half;
        }
        2 => {
            config.fec = Some(FecParams {
                stripes: 2,
                redundancy: 2,
                stripe_size: 8,
            })
        }
        3 => {
            config.asynchronous = true;
            config.fec = Some(FecParams {
                stripes: 4,
                redundancy: 2,
                stripe_size: 4,
            });
            config.autostart = 1;
            config.hello_interval = Some(Duration::from_millis(100));
        }
        _ => {
            config.asynchronous = true;
            config.autostart = 1;
            config.hello_interval = Some(Duration::from_millis(100));
        }
    }
    let identity = Identity {
        session: 0x5eed_0000_0000_0003,
        name: StreamName::new("disk.img").expect("valid"),
        total_size: Some(len as u64),
    };
    let mut tx_storage = vec![0u8; Sender::storage_size(&config)];
    let mut tx = Sender::new(config, &mut tx_storage, START).expect("a valid config");
    tx.set_identity(identity);
    let mut rx_config = ReceiverConfig::new(RECEIVER_IP, BCAST);
    rx_config.passive = config.asynchronous;
    rx_config.exit_wait = Duration::from_millis(100);
    rx_config.receive_timeout = Some(Duration::from_secs(30));
    let mut rx_storage = vec![0u8; receiver::SLOTS * 16 * 1024];
    let mut rx = Receiver::new(rx_config, &mut rx_storage, START);

    let sender_addr = SocketAddrV4::new(SENDER_IP, 9001);
    let receiver_addr = SocketAddrV4::new(RECEIVER_IP, 9000);
    let mut now = START;
    let mut fed = 0usize;
    let mut out: Vec<u8> = Vec::new();
    let mut block_datagrams = 0usize;
    let mut verified = false;
    let mut finished = false;
    let mut buf = vec![0u8; 16 + usize::from(block_size) + 1024];
    let mut rbuf = [0u8; MAX_RECEIVER_DATAGRAM];
    for _ in 0..MAX_STEPS {
        let mut busy = false;
        if tx.is_transferring() {
            let room = tx.input_buffer();
            let n = room.len().min(stream.len() - fed);
            if n > 0 {
                room[..n].copy_from_slice(&stream[fed..fed + n]);
                tx.input_written(n);
                fed += n;
                busy = true;
            }
            if fed == stream.len() {
                tx.input_end();
            }
        }
        for _ in 0..256 {
            let Some(t) = tx.poll_transmit(now, &mut buf) else {
                break;
            };
            busy = true;
            let mut datagram = buf[..t.len].to_vec();
            let opcode = datagram
                .get(..2)
                .and_then(|o| Opcode::from_u16(u16::from_be_bytes([o[0], o[1]])));
            let mut copies = 1;
            if matches!(opcode, Some(Opcode::Data | Opcode::Fec))
                && datagram.len() > BLOCK_HEADER_LEN
            {
                for (_, fault) in faults.iter().filter(|(i, _)| *i == block_datagrams) {
                    match fault {
                        Fault::Xor { at, bytes } => {
                            let at = at % datagram.len();
                            for (d, x) in datagram[at..].iter_mut().zip(bytes) {
                                *d ^= x;
                            }
                        }
                        Fault::Drop => copies = 0,
                        Fault::Repeat => copies = 2,
                    }
                }
                block_datagrams += 1;
            }
            for _ in 0..copies {
                rx.handle_datagram(now, sender_addr, &datagram);
            }
        }
        while let Some(t) = rx.poll_transmit(&mut rbuf) {
            busy = true;
            tx.handle_datagram(now, receiver_addr, &rbuf[..t.len]);
        }
        // The operator starts once the receiver is in and its reply went out (a caller
        // polls after every call, so nothing is pending at a key press).
        let negotiating = !tx.is_transferring() && !tx.is_closed();
        if !busy && negotiating && !config.asynchronous && tx.receivers() > 0 {
            tx.handle_key(now);
            busy = true;
        }
        loop {
            let bytes = rx.output();
            if bytes.is_empty() {
                break;
            }
            out.extend_from_slice(bytes);
            let n = bytes.len();
            rx.consume_output(n);
            busy = true;
        }
        while let Some(event) = rx.poll_event() {
            match event {
                RxEvent::Verified(check) => {
                    assert!(
                        out == stream,
                        "Verified, but the output ({} bytes) differs from the input ({} bytes)",
                        out.len(),
                        stream.len()
                    );
                    let mut crc = Crc32c::default();
                    crc.update(&stream);
                    assert_eq!(check, crc.check());
                    verified = true;
                }
                RxEvent::Finished => {
                    assert!(
                        verified,
                        "finished a verified transfer without verifying it"
                    );
                    assert!(
                        out == stream,
                        "Finished, but the output differs from the input"
                    );
                    finished = true;
                }
                _ => {}
            }
        }
        while tx.poll_event().is_some() {}
        if tx.is_closed() && rx.is_closed() {
            break;
        }
        if busy {
            continue;
        }
        if now >= START + MAX_TIME {
            break;
        }
        let next = [tx.poll_timeout(now), rx.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(START + MAX_TIME);
        now = next.max(Instant(now.0 + 1));
        tx.handle_timeout(now);
        rx.handle_timeout(now);
    }
    Outcome { verified, finished }
}

/// A fault of a seed: the DATA/FEC datagram's number, the kind (0 XOR, 2 drop, 3
/// repeat), and for XOR the offset and the bytes.
pub type FaultSpec<'a> = (u16, u8, u16, &'a [u8]);

/// A seed: `mode` (0 full duplex, 1 half, 2 FEC, 3 async FEC, 4 async), block size
/// (4–64), largest slice (1–64 blocks), input length, and faults.
pub fn seed(
    mode: u8,
    block_size: u8,
    max_slice: u8,
    len: u16,
    faults: &[FaultSpec<'_>],
) -> Vec<u8> {
    let mut s = crate::input::Script::new();
    s.u8(mode)
        .u8(block_size / 4 - 1)
        .u8(max_slice - 1)
        .u16(len)
        .u16(7);
    for &(index, kind, at, bytes) in faults {
        s.u16(index).u8(kind);
        if kind < 2 {
            s.u16(at).u8(bytes.len() as u8 - 1).bytes(bytes);
        }
    }
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_sessions_verify() {
        for mode in 0..5 {
            let clean = run(&seed(mode, 64, 16, 3000, &[]));
            assert_eq!(
                clean,
                Outcome {
                    verified: true,
                    finished: true
                },
                "mode {mode}"
            );
            let faulty = run(&seed(
                mode,
                64,
                16,
                3000,
                &[(3, 0, 40, &[0x10]), (5, 2, 0, &[]), (9, 3, 0, &[])],
            ));
            // Async receivers cannot ask for a bad slice again: they fail instead.
            assert_eq!(faulty.verified, faulty.finished, "mode {mode}: {faulty:?}");
        }
    }
}
