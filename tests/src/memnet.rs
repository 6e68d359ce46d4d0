//! An in-memory network for deterministic end-to-end tests of core: one of our senders
//! and several of our receivers exchange datagrams through a lossy "switch", with a fake
//! clock that jumps to the next deadline when nothing else is happening.
//!
//! For verified transfers (issue #11) the sender can be given an identity
//! ([`Options::identity`]), a receiver can expect a stream name ([`Peer::expect_name`]),
//! and a per-receiver [`Hook`] can alter, drop or add datagrams on their way to it (see
//! [`corrupt_data_payloads`]).

use std::cell::Cell;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::rc::Rc;
use udpcast_core::addressing;
use udpcast_core::extension::{Identity, StreamCheck, StreamName};
use udpcast_core::receiver::{self, Receiver, ReceiverConfig, ReceiverStats};
use udpcast_core::sender::{self, Sender, SenderConfig};
use udpcast_core::time::Instant;
use udpcast_core::wire::{Opcode, BLOCK_HEADER_LEN};

/// What happens to one datagram of the sender on its way to one receiver (after the
/// link's loss): the datagrams that arrive instead. None: lost; one: as sent or altered;
/// more: extra ones injected before or after it.
pub type Hook = Box<dyn FnMut(&[u8]) -> Vec<Vec<u8>>>;

/// The sender's address on the fake LAN.
pub const SENDER_IP: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 1);
/// The LAN's broadcast address.
pub const BROADCAST: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 255);
const PORTBASE: u16 = 9000;

/// A small deterministic PRNG (xorshift64*), so that losses repeat run after run.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// Seeded generator (a zero seed is replaced).
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// True with probability `permille`/1000.
    pub fn chance(&mut self, permille: u32) -> bool {
        (self.next_u64() % 1000) < u64::from(permille)
    }
    /// `n` pseudo-random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// One of our receivers on the fake LAN.
pub struct Peer {
    /// Its address.
    pub ip: Ipv4Addr,
    /// Loss toward it, per mille of the sender's datagrams.
    pub loss_permille: u32,
    /// Whether it has been cut off (a dead receiver): it gets nothing and says nothing.
    pub dead: bool,
    /// Its config.
    pub config: ReceiverConfig,
    /// What it wrote.
    pub output: Vec<u8>,
    /// Its events.
    pub events: Vec<receiver::Event>,
    /// The only stream name it accepts (`--expect-name`), if any.
    pub expect_name: Option<String>,
    /// Alters the sender's datagrams on their way to it.
    pub hook: Option<Hook>,
    /// Alters its datagrams on their way to the sender.
    pub reply_hook: Option<Hook>,
    /// What it sent, as (destination, bytes).
    pub sent: Vec<(SocketAddrV4, Vec<u8>)>,
}

/// The result of a run.
pub struct Run {
    /// The sender's events.
    pub sender_events: Vec<sender::Event>,
    /// The sender finished successfully.
    pub sender_finished: bool,
    /// Per receiver: output, events, finished.
    pub receivers: Vec<(Vec<u8>, Vec<receiver::Event>, bool)>,
    /// Datagrams the sender sent, as (destination, bytes).
    pub sent: Vec<(SocketAddrV4, Vec<u8>)>,
    /// When each of them was sent, in µs of fake time since the start.
    pub sent_at_us: Vec<u64>,
    /// Fake time at the end, µs.
    pub elapsed_us: u64,
    /// The sender's whole-stream digest, if it had an identity and the input ended.
    pub sender_stream_check: Option<StreamCheck>,
    /// Whether the sender sent slice checks.
    pub sender_verifies: bool,
    /// Per receiver: its counters at the end.
    pub receiver_stats: Vec<ReceiverStats>,
    /// The sender's counters at the end.
    pub sender_stats: sender::SenderStats,
    /// Per receiver: the identity a sender of ours announced to it.
    pub receiver_identities: Vec<Option<Identity>>,
    /// The run stopped at [`Options::max_steps`]: the endpoints kept busy without the fake
    /// clock moving (a livelock).
    pub step_limit_hit: bool,
}

/// How a run goes, beyond the sender's config and the receivers.
#[derive(Clone, Debug)]
pub struct Options {
    /// Seeds the losses.
    pub seed: u64,
    /// The most fake time the run may take, µs.
    pub limit_us: u64,
    /// Cuts receiver `i` off after `n` data bytes.
    pub kill: Option<(usize, usize)>,
    /// Gives the sender this identity ([`Sender::set_identity`]): it offers verified
    /// transfers.
    pub identity: Option<Identity>,
    /// The most turns of the loop (each a round of datagrams both ways): a run that
    /// never lets the clock move ends there instead of spinning forever.
    pub max_steps: u64,
}

impl Options {
    /// A run seeded with `seed` of at most `limit_us`, nobody killed, no identity.
    pub fn new(seed: u64, limit_us: u64) -> Self {
        Options {
            seed,
            limit_us,
            kill: None,
            identity: None,
            max_steps: u64::MAX,
        }
    }

    /// The same with the sender given `identity`.
    pub fn with_identity(mut self, identity: Identity) -> Self {
        self.identity = Some(identity);
        self
    }
}

/// An identity for a stream called `name` of `total_size` bytes (if known).
pub fn identity(session: u64, name: &str, total_size: Option<u64>) -> Identity {
    Identity {
        session,
        name: StreamName::new(name).expect("a valid stream name"),
        total_size,
    }
}

/// A sender config for the fake LAN.
pub fn sender_config() -> SenderConfig {
    let rendezvous = addressing::rendezvous(1, None, BROADCAST);
    SenderConfig::new(
        SENDER_IP,
        rendezvous,
        addressing::default_data_group(SENDER_IP),
    )
}

/// A receiver config for host `i` (1-based) of the fake LAN.
pub fn receiver_config(i: u8) -> ReceiverConfig {
    let mut c = ReceiverConfig::new(Ipv4Addr::new(10, 9, 0, 10 + i), BROADCAST);
    c.receive_buffer = 212_992;
    c
}

/// Runs a transfer of `input` from a sender with `config` to `peers`, for at most
/// `limit_us` of fake time. `kill_at` cuts receiver `i` off after `n` data bytes.
pub fn run(
    config: SenderConfig,
    input: &[u8],
    peers: &mut [Peer],
    seed: u64,
    limit_us: u64,
    kill: Option<(usize, usize)>,
) -> Run {
    let options = Options {
        kill,
        ..Options::new(seed, limit_us)
    };
    run_with(config, input, peers, &options)
}

/// Runs a transfer of `input` from a sender with `config` to `peers` as `options` say.
pub fn run_with(config: SenderConfig, input: &[u8], peers: &mut [Peer], options: &Options) -> Run {
    let (seed, limit_us, kill) = (options.seed, options.limit_us, options.kill);
    let mut rng = Rng::new(seed);
    let mut sender_storage = vec![0u8; Sender::storage_size(&config)];
    let mut now = Instant(1_000_000);
    let mut tx = Sender::new(config, &mut sender_storage, now).expect("valid config");
    if let Some(identity) = options.identity {
        tx.set_identity(identity);
    }
    let mut storages: Vec<Vec<u8>> = peers
        .iter()
        .map(|_| vec![0u8; receiver::FULL_STORAGE])
        .collect();
    let mut rxs: Vec<Receiver> = peers
        .iter()
        .zip(storages.iter_mut())
        .map(|(p, s)| {
            let mut rx = Receiver::new(p.config, s, now);
            if let Some(name) = &p.expect_name {
                rx.expect_name(name).expect("a valid stream name");
            }
            rx
        })
        .collect();
    let mut cursor = 0usize;
    let mut sent = Vec::new();
    let mut sent_at_us = Vec::new();
    let mut sender_events = Vec::new();
    let mut buf = vec![0u8; 70_000];
    let mut rbuf = [0u8; 256];
    let end = Instant(now.0 + limit_us);
    let sender_addr = SocketAddrV4::new(SENDER_IP, PORTBASE + 1);
    let mut steps = 0u64;
    let mut step_limit_hit = false;
    while now < end {
        steps += 1;
        if steps > options.max_steps {
            step_limit_hit = true;
            break;
        }
        let mut busy = false;
        // Input, as fast as the sender takes it.
        if tx.is_transferring() {
            let room = tx.input_buffer();
            if !room.is_empty() && cursor < input.len() {
                let n = room.len().min(input.len() - cursor);
                room[..n].copy_from_slice(&input[cursor..cursor + n]);
                tx.input_written(n);
                cursor += n;
                busy = true;
            }
            if cursor == input.len() {
                tx.input_end();
            }
        }
        // Sender → receivers.
        for _ in 0..64 {
            let Some(t) = tx.poll_transmit(now, &mut buf) else {
                break;
            };
            busy = true;
            let datagram = buf[..t.len].to_vec();
            let dest = *t.destination.ip();
            for (i, (peer, rx)) in peers.iter_mut().zip(rxs.iter_mut()).enumerate() {
                let reaches = dest == peer.ip || dest.is_multicast() || dest == BROADCAST;
                if let Some((k, after)) = kill {
                    if k == i && peer.output.len() >= after {
                        peer.dead = true;
                    }
                }
                if reaches && !peer.dead && !rng.chance(peer.loss_permille) {
                    match peer.hook.as_mut() {
                        Some(hook) => {
                            for altered in hook(&datagram) {
                                rx.handle_datagram(now, sender_addr, &altered);
                            }
                        }
                        None => rx.handle_datagram(now, sender_addr, &datagram),
                    }
                }
            }
            sent.push((t.destination, datagram));
            sent_at_us.push(now.0 - 1_000_000);
        }
        // Receivers → sender.
        for (peer, rx) in peers.iter_mut().zip(rxs.iter_mut()) {
            while let Some(t) = rx.poll_transmit(&mut rbuf) {
                busy = true;
                if peer.dead {
                    continue;
                }
                let from = SocketAddrV4::new(peer.ip, PORTBASE);
                peer.sent.push((t.destination, rbuf[..t.len].to_vec()));
                let to = *t.destination.ip();
                // The rendezvous (broadcast) and the sender's own address both reach it.
                if to == SENDER_IP || to == BROADCAST {
                    match peer.reply_hook.as_mut() {
                        Some(hook) => {
                            for altered in hook(&rbuf[..t.len]) {
                                tx.handle_datagram(now, from, &altered);
                            }
                        }
                        None => tx.handle_datagram(now, from, &rbuf[..t.len]),
                    }
                }
            }
            while let Some(e) = rx.poll_event() {
                peer.events.push(e);
            }
            loop {
                let out = rx.output();
                if out.is_empty() {
                    break;
                }
                peer.output.extend_from_slice(out);
                let n = out.len();
                rx.consume_output(n);
                busy = true;
            }
        }
        while let Some(e) = tx.poll_event() {
            sender_events.push(e);
            busy = true;
        }
        let all_closed = tx.is_closed()
            && rxs
                .iter()
                .zip(peers.iter())
                .all(|(r, p)| r.is_closed() || p.dead);
        if all_closed {
            break;
        }
        if busy {
            continue;
        }
        // Nothing to do now: jump to the next deadline, and expire what is due.
        let mut next = end;
        if let Some(t) = tx.poll_timeout(now) {
            next = next.min(t);
        }
        for rx in &rxs {
            if let Some(t) = rx.poll_timeout() {
                next = next.min(t);
            }
        }
        now = next.max(Instant(now.0 + 1));
        tx.handle_timeout(now);
        for rx in rxs.iter_mut() {
            rx.handle_timeout(now);
        }
    }
    let receivers = peers
        .iter()
        .zip(rxs.iter())
        .map(|(p, r)| (p.output.clone(), p.events.clone(), r.is_finished()))
        .collect();
    Run {
        sender_events,
        sender_finished: tx.is_finished(),
        receivers,
        sent,
        sent_at_us,
        elapsed_us: now.0 - 1_000_000,
        sender_stream_check: tx.stream_check(),
        sender_verifies: tx.verifies(),
        receiver_stats: rxs.iter().map(Receiver::stats).collect(),
        sender_stats: tx.stats(),
        receiver_identities: rxs.iter().map(|r| r.identity().copied()).collect(),
        step_limit_hit,
    }
}

/// A receiver peer for host `i` with `loss_permille` loss toward it.
pub fn peer(i: u8, loss_permille: u32) -> Peer {
    let config = receiver_config(i);
    Peer {
        ip: config.own_address,
        loss_permille,
        dead: false,
        config,
        output: Vec::new(),
        events: Vec::new(),
        expect_name: None,
        hook: None,
        reply_hook: None,
        sent: Vec::new(),
    }
}

/// A hook that flips one payload byte of about `permille`/1000 of the DATA datagrams
/// (chosen with a generator seeded by `seed`), as a faulty link whose UDP checksum still
/// holds would; `count` is incremented for each one altered.
pub fn corrupt_data_payloads(seed: u64, permille: u32, count: Rc<Cell<u64>>) -> Hook {
    corrupt_block_payloads(seed, permille, &[Opcode::Data], count)
}

/// The same for the DATA and FEC datagrams whose opcode is in `opcodes`.
pub fn corrupt_block_payloads(
    seed: u64,
    permille: u32,
    opcodes: &'static [Opcode],
    count: Rc<Cell<u64>>,
) -> Hook {
    let mut rng = Rng::new(seed);
    Box::new(move |datagram: &[u8]| {
        let mut d = datagram.to_vec();
        let opcode = d
            .get(..2)
            .and_then(|o| Opcode::from_u16(u16::from_be_bytes([o[0], o[1]])));
        let is_block = d.len() > BLOCK_HEADER_LEN && opcode.is_some_and(|o| opcodes.contains(&o));
        if is_block && rng.chance(permille) {
            let payload = d.len() - BLOCK_HEADER_LEN;
            let at = BLOCK_HEADER_LEN + (rng.next_u64() as usize % payload);
            // Never 0: the byte always changes.
            d[at] ^= (rng.next_u64() % 255 + 1) as u8;
            count.set(count.get() + 1);
        }
        vec![d]
    })
}
