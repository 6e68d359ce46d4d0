//! `authenticated`: authenticated transfers (`udpcast_core::auth`, an HMAC-SHA-256 tag on every
//! datagram) at two levels, chosen by the first byte of the input.
//!
//! Decoders (mode 0): arbitrary bytes through the trailer parsers and both verify
//! functions: no panic, fields read where the format puts them, and nothing the harness
//! did not seal is ever accepted (forging a 128-bit tag is infeasible, so an accept is a
//! bug). A message of fuzz bytes is sealed, must verify exactly as its opcode and nonce
//! say, and once flipped, cut or extended must be refused unless byte-identical. The
//! replay window is checked against a set of the counters it took.
//!
//! Session (modes 1–5, the sender modes of `session.rs`): a keyed sender and a keyed
//! receiver in memory with a fake clock, and a forger between them that drops genuine
//! datagrams and injects, from the peer's address, arbitrary bytes, genuine datagrams
//! XORed, cut or extended, genuine ones replayed or reflected back, and messages sealed
//! with another key or, under ours, with another session (recordings of an earlier run).
//! Checked at every delivery, so the count of refusals is exact rather than a bound:
//! - a datagram that is not byte-identical to a genuine one the peer has not taken adds
//!   exactly one to the peer's `auth_rejected`, and a refusal changes none of its other
//!   counters, its connection or its output. Two kinds may go either way by design: an
//!   earlier run's HELLO to a receiver that has not joined (it answers that session, and
//!   then takes that run's datagrams too; `crate::auth`), and replays to the sender, which
//!   keeps no replay window. A closed peer counts nothing;
//! - every genuine datagram on time is taken, unless an earlier run's HELLO left the
//!   receiver with that session's keys; the receiver joins only on the sender's datagrams;
//! - the output is always a prefix of the stream, and `Verified`/`Finished` mean all of it;
//! - when nothing but the genuine datagrams on time got through, both sides sent exactly
//!   what they send without the forger: refused datagrams leave no trace.

mod decoders;
mod forger;
pub mod seed;
#[cfg(test)]
mod tests;

use crate::input::Input;
use crate::stream::content;
use forger::{read_actions, Action};
use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddrV4};
use udpcast_core::auth::{Authentication, PreSharedKey, ReceiverTrailer};
use udpcast_core::extension::{Identity, StreamName};
use udpcast_core::receiver::{self, Event as RxEvent, Receiver, ReceiverConfig, ReceiverStats};
use udpcast_core::sender::{Duplex, FecParams, Sender, SenderConfig, SenderStats};
use udpcast_core::time::{Duration, Instant};
use udpcast_core::transmit::MAX_RECEIVER_DATAGRAM;
use udpcast_core::wire::Opcode;

const SENDER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 66, 0, 1), 9001);
const RECEIVER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 66, 0, 11), 9000);
const START: Instant = Instant(1_000_000);
const MAX_STEPS: usize = 20_000;
const MAX_TIME: Duration = Duration::from_secs(600);

fn harness_key() -> PreSharedKey {
    PreSharedKey::from_key_material(b"udpcast-rs fuzz: the harness key").expect("long enough")
}

fn other_key() -> PreSharedKey {
    PreSharedKey::from_key_material(b"udpcast-rs fuzz: some other key!").expect("long enough")
}

/// How a run ended, for the tests of the seeds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub verified: bool,
    pub finished: bool,
    /// `auth_rejected` of the receiver and of the sender at the end.
    pub receiver_rejected: u64,
    pub sender_rejected: u64,
    /// Injections each had to refuse (they were open and the datagram was no genuine one).
    pub receiver_forgeries: u64,
    pub sender_forgeries: u64,
}

/// Runs one fuzz input.
pub fn run(data: &[u8]) -> Outcome {
    let mut input = Input::new(data);
    match input.u8() % 6 {
        0 => {
            decoders::run(&mut input);
            Outcome::default()
        }
        mode => {
            let params = Params::read(mode - 1, &mut input);
            let actions = read_actions(&mut input);
            let (outcome, transcript, untouched) = session(&params, &actions);
            if untouched && !actions.is_empty() {
                let (_, clean, _) = session(&params, &[]);
                assert!(
                    transcript == clean,
                    "refused datagrams changed what was sent"
                );
            }
            outcome
        }
    }
}

fn opcode(d: &[u8]) -> Option<Opcode> {
    d.get(..2)
        .and_then(|o| Opcode::from_u16(u16::from_be_bytes([o[0], o[1]])))
}

/// A HELLO of any kind: what may name a session to a receiver that has not joined one.
fn is_hello(d: &[u8]) -> bool {
    matches!(
        opcode(d),
        Some(Opcode::Hello | Opcode::HelloNew | Opcode::HelloStreaming)
    )
}

/// The transfer: sender mode (as `session.rs`), geometry, stream, and the random values
/// the caller would draw (the session id, the receiver's nonce).
#[derive(Clone, Debug)]
struct Params {
    mode: u8,
    block_size: u16,
    max_slice: u16,
    len: usize,
    seed: u64,
    session: u64,
    nonce: u64,
}

impl Params {
    fn read(mode: u8, input: &mut Input) -> Self {
        Params {
            mode,
            block_size: 4 * (1 + u16::from(input.u8() % 16)),
            max_slice: 1 + u16::from(input.u8() % 64),
            len: input.below16(4097),
            seed: u64::from(input.u16()) << 20,
            // 0 is the first-contact session, which a sender never has.
            session: input.u64().max(1),
            nonce: input.u64(),
        }
    }
}

fn sender_config(p: &Params) -> SenderConfig {
    let mut config = SenderConfig::new(
        *SENDER.ip(),
        Ipv4Addr::new(10, 66, 0, 255),
        Ipv4Addr::new(234, 66, 0, 1),
    );
    config.block_size = p.block_size;
    config.max_slice_size = p.max_slice;
    config.min_slice_size = 1;
    let fec = |stripes, stripe_size| {
        Some(FecParams {
            stripes,
            redundancy: 2,
            stripe_size,
        })
    };
    match p.mode {
        0 => {}
        1 => config.duplex = Duplex::Half,
        2 => config.fec = fec(2, 8),
        m => {
            config.asynchronous = true;
            config.autostart = 1;
            config.hello_interval = Some(Duration::from_millis(100));
            if m == 3 {
                config.fec = fec(4, 4);
            }
        }
    }
    config.auth = Some(Authentication {
        key: harness_key(),
        nonce: p.session,
    });
    // Half the sessions encipher their blocks (--encrypt): the session id's low bit
    // decides, so that the seeds keep their meaning.
    config.encrypt = p.session & 1 == 1;
    config
}

/// A genuine datagram and the window epoch in which the receiver took it, if it did.
struct Sent {
    bytes: Vec<u8>,
    taken: Option<u32>,
}

struct Harness<'a> {
    p: &'a Params,
    actions: &'a [(usize, Action)],
    tx: Sender<'a>,
    rx: Receiver<'a>,
    now: Instant,
    from_sender: Vec<Sent>,
    from_receiver: Vec<Sent>,
    /// Right key, other session: what an earlier run sent to receivers, with its session...
    earlier_run: HashMap<Vec<u8>, u64>,
    /// ...and the first-contact requests of its receivers, valid in every run.
    first_contact: HashSet<Vec<u8>>,
    /// Bumped when a HELLO of another session made the receiver change keys: coming back
    /// to ours starts a new replay window, so what it took before may be taken again.
    epoch: u32,
    /// The receiver last took a datagram of our session (not of another).
    on_session: bool,
    /// The earlier session whose keys the receiver holds, if a HELLO of it made it switch.
    foreign: Option<u64>,
    /// Something other than the genuine datagrams on time got through.
    touched: bool,
    outcome: Outcome,
}

fn session(p: &Params, actions: &[(usize, Action)]) -> (Outcome, Vec<Vec<u8>>, bool) {
    let config = sender_config(p);
    let mut tx_storage = vec![0u8; Sender::storage_size(&config)];
    let mut tx = Sender::new(config, &mut tx_storage, START).expect("a valid config");
    tx.set_identity(Identity {
        session: p.session,
        name: StreamName::new("disk.img").expect("valid"),
        total_size: Some(p.len as u64),
    });
    let mut rx_config = ReceiverConfig::new(*RECEIVER.ip(), Ipv4Addr::new(10, 66, 0, 255));
    rx_config.passive = config.asynchronous;
    rx_config.exit_wait = Duration::from_millis(100);
    rx_config.receive_timeout = Some(Duration::from_secs(30));
    rx_config.auth = Some(Authentication {
        key: harness_key(),
        nonce: p.nonce,
    });
    let mut rx_storage = vec![0u8; receiver::SLOTS * 16 * 1024];
    let rx = Receiver::new(rx_config, &mut rx_storage, START);
    let stream: Vec<u8> = (0..p.len as u64).map(|i| content(p.seed + i)).collect();
    let mut h = Harness {
        p,
        actions,
        tx,
        rx,
        now: START,
        from_sender: Vec::new(),
        from_receiver: Vec::new(),
        earlier_run: HashMap::new(),
        first_contact: HashSet::new(),
        epoch: 0,
        on_session: false,
        foreign: None,
        touched: false,
        outcome: Outcome::default(),
    };
    let mut fed = 0;
    let mut out = Vec::new();
    let mut buf = vec![0u8; h.tx.max_datagram_len()];
    let mut rbuf = [0u8; MAX_RECEIVER_DATAGRAM];
    for _ in 0..MAX_STEPS {
        let mut busy = false;
        if h.tx.is_transferring() {
            let room = h.tx.input_buffer();
            let n = room.len().min(stream.len() - fed);
            room[..n].copy_from_slice(&stream[fed..fed + n]);
            h.tx.input_written(n);
            fed += n;
            busy |= n > 0;
            if fed == stream.len() {
                h.tx.input_end();
            }
        }
        for _ in 0..256 {
            let Some(t) = h.tx.poll_transmit(h.now, &mut buf) else {
                break;
            };
            busy = true;
            h.genuine(true, &buf[..t.len]);
        }
        while let Some(t) = h.rx.poll_transmit(&mut rbuf) {
            busy = true;
            h.genuine(false, &rbuf[..t.len]);
        }
        let negotiating = !h.tx.is_transferring() && !h.tx.is_closed();
        if !busy && negotiating && !config.asynchronous && h.tx.receivers() > 0 {
            h.tx.handle_key(h.now);
            busy = true;
        }
        while !h.rx.output().is_empty() {
            let bytes = h.rx.output();
            let n = bytes.len();
            out.extend_from_slice(bytes);
            h.rx.consume_output(n);
            assert!(stream.starts_with(&out), "output differs from the stream");
            busy = true;
        }
        while let Some(event) = h.rx.poll_event() {
            if matches!(event, RxEvent::Verified(_) | RxEvent::Finished) {
                assert!(
                    out == stream,
                    "{event:?} with {} of {} bytes",
                    out.len(),
                    stream.len()
                );
                h.outcome.verified |= matches!(event, RxEvent::Verified(_));
                h.outcome.finished |= event == RxEvent::Finished;
            }
        }
        while h.tx.poll_event().is_some() {}
        if h.tx.is_closed() && h.rx.is_closed() {
            break;
        }
        if busy {
            continue;
        }
        if h.now >= START + MAX_TIME {
            break;
        }
        let next = [h.tx.poll_timeout(h.now), h.rx.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(START + MAX_TIME);
        h.now = next.max(Instant(h.now.0 + 1));
        h.tx.handle_timeout(h.now);
        h.rx.handle_timeout(h.now);
    }
    h.outcome.receiver_rejected = h.rx.stats().auth_rejected;
    h.outcome.sender_rejected = h.tx.stats().auth_rejected;
    let transcript = h
        .from_sender
        .into_iter()
        .chain(h.from_receiver)
        .map(|s| s.bytes);
    (h.outcome, transcript.collect(), !h.touched)
}

impl Harness<'_> {
    /// A datagram one side sent: delivered (unless the input drops it), then the forger's
    /// injections planned after it.
    fn genuine(&mut self, from_sender: bool, d: &[u8]) {
        let number = self.from_sender.len() + self.from_receiver.len();
        let list = if from_sender {
            &mut self.from_sender
        } else {
            &mut self.from_receiver
        };
        list.push(Sent {
            bytes: d.to_vec(),
            taken: None,
        });
        let planned = self.actions.iter().filter(|(after, _)| *after == number);
        if planned.clone().any(|(_, a)| matches!(a, Action::Drop)) {
            self.touched = true;
        } else if from_sender {
            self.deliver_to_receiver(d, true);
        } else {
            self.deliver_to_sender(d, true);
        }
        for (_, action) in planned {
            if let Action::Inject { to_receiver, made } = action {
                if let Some(forged) = self.make(*to_receiver, made) {
                    crate::trace!("inject to receiver {to_receiver}: {made:?}");
                    if *to_receiver {
                        self.deliver_to_receiver(&forged, false);
                    } else {
                        self.deliver_to_sender(&forged, false);
                    }
                }
            }
        }
    }

    /// The genuine datagram `d` is, if any: from the sender?, its index.
    fn find(&self, d: &[u8]) -> Option<(bool, usize)> {
        let latest = |list: &[Sent]| list.iter().rposition(|s| s.bytes == d);
        let from_sender = latest(&self.from_sender).map(|i| (true, i));
        from_sender.or_else(|| latest(&self.from_receiver).map(|i| (false, i)))
    }

    fn deliver_to_receiver(&mut self, d: &[u8], on_time: bool) {
        let open = !self.rx.is_closed();
        let (stats, connection) = (self.rx.stats(), self.rx.connection());
        let output = self.rx.output().len();
        self.rx.handle_datagram(self.now, SENDER, d);
        let refused = self.rx.stats().auth_rejected - stats.auth_rejected;
        assert!(
            refused <= u64::from(open),
            "{refused} refusals of one datagram"
        );
        if refused == 1 {
            let rest = ReceiverStats {
                auth_rejected: stats.auth_rejected,
                ..self.rx.stats()
            };
            assert_eq!(
                rest, stats,
                "a refused datagram changed the receiver's counters"
            );
            assert_eq!(self.rx.connection(), connection);
            assert_eq!(self.rx.output().len(), output);
        }
        let taken = open && refused == 0;
        crate::trace!(
            "  to receiver on_time {on_time} open {open} refused {refused} {:?} at {:?}",
            opcode(d),
            self.now
        );
        // What goes on time is the latest of its list.
        let genuine = if on_time {
            Some((true, self.from_sender.len() - 1))
        } else {
            self.find(d)
        };
        match genuine {
            Some((true, i)) => {
                if on_time {
                    // The latest counter of our session: only a receiver that still holds
                    // other keys may refuse it, and not an announcement, which brings it
                    // back to ours.
                    let required =
                        self.on_session || is_hello(d) || opcode(d) == Some(Opcode::ConnectReply);
                    assert!(
                        taken || !open || !required,
                        "a genuine datagram refused: {:?}",
                        opcode(d)
                    );
                } else {
                    self.touched |= taken;
                    let replay = self.from_sender[i].taken == Some(self.epoch);
                    assert!(!(replay && taken), "a replay taken: {:?}", opcode(d));
                }
                if taken {
                    self.from_sender[i].taken = Some(self.epoch);
                    (self.on_session, self.foreign) = (true, None);
                }
            }
            // An earlier run's HELLO is taken as a session to answer by a receiver that
            // has not joined one (see `crate::auth`'s receiver side), and then the rest of
            // that run under the same keys.
            Some((false, _)) | None
                if self.earlier_run.get(d).is_some_and(|&s| {
                    self.foreign == Some(s) || (connection.is_none() && is_hello(d))
                }) =>
            {
                self.touched |= taken;
                if taken && is_hello(d) {
                    self.epoch += 1;
                    self.on_session = false;
                    self.foreign = self.earlier_run.get(d).copied();
                }
            }
            _ => {
                assert_eq!(refused, u64::from(open), "a forgery taken: {:?}", opcode(d));
                self.outcome.receiver_forgeries += refused;
            }
        }
        if connection.is_none() && self.rx.connection().is_some() {
            assert!(
                matches!(genuine, Some((true, _))),
                "joined on a datagram the sender never sent"
            );
        }
    }

    fn deliver_to_sender(&mut self, d: &[u8], on_time: bool) {
        let open = !self.tx.is_closed();
        let stats = self.tx.stats();
        self.tx.handle_datagram(self.now, RECEIVER, d);
        let refused = self.tx.stats().auth_rejected - stats.auth_rejected;
        assert!(
            refused <= u64::from(open),
            "{refused} refusals of one datagram"
        );
        if refused == 1 {
            let rest = SenderStats {
                auth_rejected: stats.auth_rejected,
                ..self.tx.stats()
            };
            assert_eq!(
                rest, stats,
                "a refused datagram changed the sender's counters"
            );
        }
        let taken = open && refused == 0;
        crate::trace!(
            "  to sender on_time {on_time} open {open} refused {refused} {:?} at {:?}",
            opcode(d),
            self.now
        );
        let genuine = if on_time {
            Some((false, self.from_receiver.len() - 1))
        } else {
            self.find(d)
        };
        match genuine {
            Some((false, _)) => {
                // Genuine: sealed under our session, or the first-contact one before the
                // receiver heard us, or (if a HELLO of an earlier run turned it) another.
                let session = ReceiverTrailer::parse(d).expect("genuine").session;
                let valid = session == 0 || session == self.p.session;
                if on_time && open {
                    assert_eq!(taken, valid, "a genuine datagram of session {session:x}");
                } else if !on_time {
                    // The sender keeps no replay window: a replay of a valid one may pass.
                    assert!(valid || !taken, "a datagram of another session taken");
                    self.touched |= taken;
                }
            }
            _ if self.first_contact.contains(d) => {
                assert!(taken || !open, "a first-contact request refused");
                self.touched |= taken;
            }
            _ => {
                assert_eq!(
                    refused,
                    u64::from(open),
                    "a forgery taken by the sender: {:?}",
                    opcode(d)
                );
                self.outcome.sender_forgeries += refused;
            }
        }
    }
}
