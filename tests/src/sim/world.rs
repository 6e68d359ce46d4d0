//! The simulated room at work: one [`Sender`] and up to a thousand [`Receiver`]s, the
//! datagrams between them in flight on their links, a fake clock that jumps from one
//! scheduled thing to the next, and the receivers' faults applied when they are due.
//!
//! Everything is ordered by (time, sequence number), never by anything the host decides,
//! so a scenario always runs the same way.

use super::agenda::{Agenda, What};
use super::link::Link;
pub use super::run::{ReceiverEnd, Run};
use super::scenario::{
    receiver_index, receiver_ip, sender_addr, Scenario, Trigger, BROADCAST, PORTBASE,
};
use crate::memnet;
use std::net::SocketAddrV4;
use std::rc::Rc;
use udpcast_core::receiver::{self, Receiver};
use udpcast_core::sender::{self, Sender};
use udpcast_core::time::Instant;
use udpcast_core::transmit::MAX_RECEIVER_DATAGRAM;
use udpcast_core::wire::Message;

const _: () = assert!(MAX_RECEIVER_DATAGRAM <= 256);

/// What a frozen receiver's socket keeps for it, bytes; the rest is dropped.
pub const SOCKET_BUFFER: usize = 212_992;
/// The fake clock at the start of a run, µs (any origin works; not zero, to catch code
/// that mistakes zero for "never").
pub const T0: u64 = 1_000_000;
/// Turns of the loop without the clock moving before the run counts as a livelock.
const MAX_TURNS_AT_ONE_INSTANT: u32 = 100_000;

/// The stream sent in the run of `scenario`.
pub fn input(scenario: &Scenario) -> Vec<u8> {
    memnet::Rng::new(super::scenario::splitmix(scenario.seed ^ 0x1A9E)).bytes(scenario.size)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// A late joiner not started yet: no socket, nothing reaches it.
    Waiting,
    Running,
    Frozen,
    Dead,
}

struct Node<'s> {
    rx: Option<Receiver<'s>>,
    storage: Option<&'s mut [u8]>,
    state: State,
    down: Link,
    up: Link,
    /// The deadline of the receiver's timer currently on the agenda.
    timer: Option<u64>,
    /// A slow writer's wake-up on the agenda.
    wake: Option<u64>,
    /// A slow writer's bytes left in this ms, and when the next ms begins.
    credit: u64,
    next_tick: u64,
    /// When the sender last got a datagram from it, and it one from the sender.
    heard_at: u64,
    heard_sender_at: u64,
    /// Datagrams that arrived while frozen.
    backlog: Vec<Rc<[u8]>>,
    backlog_bytes: usize,
    end: ReceiverEnd,
}

/// Runs `scenario` with `input` as the stream.
pub fn simulate(scenario: &Scenario, input: &[u8]) -> Run {
    let config = scenario.sender_config();
    let mut sender_storage = vec![0u8; Sender::storage_size(&config)];
    let mut tx = Sender::new(config, &mut sender_storage, Instant(T0)).expect("a valid config");
    if scenario.identity {
        let name = format!("sim-{}.img", scenario.seed);
        let size = Some(input.len() as u64);
        tx.set_identity(memnet::identity(scenario.seed, &name, size));
    }
    let slot = scenario.receiver_storage();
    let mut storage = vec![0u8; slot * scenario.receivers.len()];
    let mut world = World {
        scenario,
        input,
        agenda: Agenda::default(),
        nodes: Vec::with_capacity(scenario.receivers.len()),
        dirty: Vec::new(),
        open: 0,
        waiting: 0,
        run: Run::default(),
        rbuf: [0u8; 256],
        trace: std::env::var("SIM_TRACE").ok().and_then(|v| v.parse().ok()),
    };
    for (i, (spec, chunk)) in scenario
        .receivers
        .iter()
        .zip(storage.chunks_mut(slot.max(1)))
        .enumerate()
    {
        let link_seed = super::scenario::splitmix(scenario.seed.wrapping_add(i as u64 + 1));
        world.nodes.push(Node {
            rx: None,
            storage: Some(chunk),
            state: State::Waiting,
            down: Link::new(spec.down, link_seed),
            up: Link::new(spec.up, !link_seed),
            timer: None,
            wake: None,
            credit: 0,
            next_tick: 0,
            heard_at: T0,
            heard_sender_at: T0,
            backlog: Vec::new(),
            backlog_bytes: 0,
            end: ReceiverEnd::default(),
        });
        world.open += 1;
        world.waiting += 1;
        let i = i as u32;
        match spec.faults.joins_at {
            Some(at) => world.agenda.push(T0 + at, What::Join(i)),
            None => world.join(i, T0),
        }
        if let Some(Trigger::At(at)) = spec.faults.dies {
            world.agenda.push(T0 + at, What::Die(i));
        }
        if let Some((Trigger::At(at), _)) = spec.faults.freezes {
            world.agenda.push(T0 + at, What::Freeze(i));
        }
    }
    world.run(&mut tx);
    let mut run = world.run;
    run.sender_finished = tx.is_finished();
    run.sender_closed = tx.is_closed();
    run.receivers = world
        .nodes
        .into_iter()
        .map(|n| {
            let mut end = n.end;
            let waiting = n.rx.as_ref().is_some_and(|rx| rx.poll_timeout().is_none());
            end.open_without_deadline = n.state == State::Running && !end.closed && waiting;
            end
        })
        .collect();
    super::run::mark_sender_view(&mut run);
    run
}

struct World<'a, 's> {
    scenario: &'a Scenario,
    input: &'a [u8],
    agenda: Agenda,
    nodes: Vec<Node<'s>>,
    dirty: Vec<u32>,
    /// Receivers neither dead nor closed, and of those, the ones not started yet.
    open: usize,
    waiting: usize,
    run: Run,
    rbuf: [u8; 256],
    /// `SIM_TRACE=i`: every datagram to and from receiver `i`, on stderr.
    trace: Option<u32>,
}

impl<'s> World<'_, 's> {
    fn run(&mut self, tx: &mut Sender<'_>) {
        let mut now = T0;
        let end = T0 + self.scenario.time_bound_us();
        let mut cursor = 0usize;
        let mut buf = vec![0u8; usize::from(self.scenario.block_size) + 1024];
        let mut turns_here = 0u32;
        let mut last_sent = None;
        let mut last_negotiating = None;
        loop {
            while let Some(what) = self.agenda.pop_due(now) {
                self.dispatch(tx, now, what);
            }
            if tx.poll_timeout(Instant(now)).is_some_and(|t| t.0 <= now) {
                tx.handle_timeout(Instant(now));
            }
            loop {
                feed(tx, self.input, &mut cursor);
                let Some(t) = tx.poll_transmit(Instant(now), &mut buf) else {
                    break;
                };
                self.run.sender_datagrams += 1;
                if !tx.is_transferring() && !tx.is_closed() {
                    let silence = now - last_negotiating.unwrap_or(T0);
                    if silence > self.run.longest_negotiation_silence_us.0 {
                        self.run.longest_negotiation_silence_us = (silence, now - T0);
                    }
                    last_negotiating = Some(now);
                }
                if tx.is_transferring() {
                    let silence = now - last_sent.unwrap_or(now);
                    if silence > self.run.longest_sender_silence_us.0 {
                        self.run.longest_sender_silence_us = (silence, now - T0);
                    }
                    last_sent = Some(now);
                }
                match Message::parse(&buf[..t.len]) {
                    Ok(Message::Reqack(r)) => self.run.reqacks.push((now - T0, r.slice, r.rxmit)),
                    Ok(Message::Hello(_)) => self.run.hellos.push(now - T0),
                    _ => {}
                }
                self.fan_out(now, t.destination, &buf[..t.len]);
            }
            feed(tx, self.input, &mut cursor);
            while let Some(e) = tx.poll_event() {
                if let sender::Event::Left {
                    address,
                    reason: sender::LeaveReason::Dropped,
                    ..
                } = e
                {
                    if let Some(node) = receiver_index(address).and_then(|i| self.nodes.get_mut(i))
                    {
                        node.end.dropped_after_silence_us = Some(now - node.heard_at);
                    }
                }
                if matches!(e, sender::Event::Finished | sender::Event::Failed(_)) {
                    self.run.sender_closed_at_us.get_or_insert(now - T0);
                    // A sender that goes silent and then gives up was silent all along.
                    let silence = now - last_sent.unwrap_or(now);
                    if silence > self.run.longest_sender_silence_us.0 {
                        self.run.longest_sender_silence_us = (silence, now - T0);
                    }
                }
                if self.trace.is_some() {
                    eprintln!("{now} sender event {e:?}");
                }
                self.run.sender_events.push(e);
            }
            while let Some(i) = self.dirty.pop() {
                self.drain(now, i);
            }
            if tx.is_closed() && self.open == self.waiting {
                break;
            }
            if now >= end {
                self.run.hit_bound = true;
                break;
            }
            let mut sender_next = tx.poll_timeout(Instant(now)).map(|t| t.0);
            if sender_next.is_some_and(|t| t <= now) {
                // Due again right after handle_timeout and the transmits it allowed.
                self.run.spinning_timers += 1;
                sender_next = Some(now + 1);
            }
            let next = match (self.agenda.next_at(), sender_next) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => {
                        self.run.stuck = true;
                        break;
                    }
                },
            };
            if next <= now {
                turns_here += 1;
                if turns_here > MAX_TURNS_AT_ONE_INSTANT {
                    self.run.livelock = true;
                    break;
                }
            } else {
                turns_here = 0;
                now = next.min(end);
            }
        }
        self.run.elapsed_us = now - T0;
    }

    fn dispatch(&mut self, tx: &mut Sender<'_>, now: u64, what: What) {
        match what {
            What::ToReceiver(i, datagram) => {
                let node = &mut self.nodes[i as usize];
                match node.state {
                    State::Running => {
                        if self.trace == Some(i) {
                            eprintln!("{now} -> rx {i}: {}", describe(&datagram));
                        }
                        if let Some(rx) = node.rx.as_mut() {
                            rx.handle_datagram(Instant(now), sender_addr(), &datagram);
                            node.heard_sender_at = now;
                            self.run.deliveries += 1;
                            self.mark(i);
                        }
                    }
                    State::Frozen if node.backlog_bytes + datagram.len() <= SOCKET_BUFFER => {
                        node.backlog_bytes += datagram.len();
                        node.backlog.push(datagram);
                    }
                    other => {
                        if self.trace == Some(i) {
                            eprintln!(
                                "{now} -> rx {i} in state {other:?}: {}",
                                describe(&datagram)
                            );
                        }
                    }
                }
            }
            What::ToSender(i, datagram) => {
                self.nodes[i as usize].heard_at = now;
                if self.trace == Some(i) {
                    eprintln!("{now} rx {i} -> sender: {}", describe(&datagram));
                }
                let from = SocketAddrV4::new(receiver_ip(i as usize), PORTBASE);
                tx.handle_datagram(Instant(now), from, &datagram);
            }
            What::Timer(i, at) => {
                let node = &mut self.nodes[i as usize];
                if node.timer != Some(at) || node.state != State::Running {
                    // Stale (rescheduled since), or frozen: the thaw looks again.
                    if node.timer == Some(at) {
                        node.timer = None;
                    }
                    return;
                }
                node.timer = None;
                if let Some(rx) = node.rx.as_mut() {
                    if rx.poll_timeout().is_some_and(|t| t.0 <= now) {
                        rx.handle_timeout(Instant(now));
                    }
                }
                self.mark(i);
            }
            What::Wake(i, at) => {
                let node = &mut self.nodes[i as usize];
                if node.wake == Some(at) {
                    node.wake = None;
                    self.mark(i);
                }
            }
            What::Die(i) => self.die(i),
            What::Freeze(i) => self.freeze(i, now),
            What::Thaw(i) => self.thaw(i, now),
            What::Join(i) => self.join(i, now),
        }
    }

    /// A sender datagram goes to everyone it is addressed to, each copy on its own link.
    fn fan_out(&mut self, now: u64, destination: SocketAddrV4, bytes: &[u8]) {
        let datagram: Rc<[u8]> = Rc::from(bytes);
        if self.trace.is_some() {
            eprintln!("{now} sender -> {destination}: {}", describe(bytes));
        }
        let to = *destination.ip();
        let everyone = to.is_multicast() || to == BROADCAST;
        if destination.port() != PORTBASE {
            return;
        }
        for (i, node) in self.nodes.iter_mut().enumerate() {
            if matches!(node.state, State::Waiting | State::Dead) || node.end.closed {
                continue;
            }
            if !everyone && receiver_ip(i) != to {
                continue;
            }
            let arrivals = node.down.transit(now);
            for &delay in arrivals.delays() {
                self.agenda
                    .push(now + delay, What::ToReceiver(i as u32, datagram.clone()));
            }
        }
    }

    fn mark(&mut self, i: u32) {
        self.dirty.push(i);
    }

    /// Takes everything receiver `i` has to give: datagrams, events, output (as fast as
    /// its writer goes); then applies its byte-triggered faults and sets its timer.
    fn drain(&mut self, now: u64, i: u32) {
        let scenario = self.scenario;
        let faults = scenario.receivers[i as usize].faults;
        let node = &mut self.nodes[i as usize];
        if node.state != State::Running {
            return;
        }
        let Some(rx) = node.rx.as_mut() else { return };
        loop {
            let mut progress = false;
            while let Some(t) = rx.poll_transmit(&mut self.rbuf) {
                progress = true;
                let to = *t.destination.ip();
                let for_sender = to == super::scenario::SENDER_IP || to == BROADCAST;
                if !for_sender || t.destination.port() != PORTBASE + 1 {
                    continue;
                }
                for &delay in node.up.transit(now).delays() {
                    let bytes = self.rbuf[..t.len].to_vec().into_boxed_slice();
                    self.agenda.push(now + delay, What::ToSender(i, bytes));
                }
            }
            while let Some(e) = rx.poll_event() {
                if e == receiver::Event::Failed(receiver::ReceiverError::ReceiveTimeout) {
                    node.end.timed_out_after_silence_us = Some(now - node.heard_sender_at);
                }
                node.end.events.push(e);
            }
            loop {
                let out = rx.output();
                if out.is_empty() {
                    break;
                }
                let mut n = out.len();
                if let Some(rate) = faults.writer_bytes_per_ms {
                    if now >= node.next_tick {
                        node.credit = u64::from(rate);
                        node.next_tick = now + 1_000;
                    }
                    n = n.min(node.credit as usize);
                    if n == 0 {
                        if node.wake.is_none() {
                            node.wake = Some(node.next_tick);
                            self.agenda
                                .push(node.next_tick, What::Wake(i, node.next_tick));
                        }
                        break;
                    }
                    node.credit -= n as u64;
                }
                node.end.wrote(self.input, &out[..n], scenario);
                self.run.last_output_us = now - T0;
                rx.consume_output(n);
                progress = true;
            }
            if !progress {
                break;
            }
        }
        if rx.is_closed() && !node.end.closed {
            node.end.closed = true;
            self.open -= 1;
        }
        let written = node.end.written;
        let due = |t: Option<Trigger>| matches!(t, Some(Trigger::AfterBytes(b)) if written >= b);
        if due(faults.dies) && !node.end.dead {
            self.die(i);
            return;
        }
        if due(faults.freezes.map(|f| f.0)) && !node.end.froze {
            self.freeze(i, now);
            return;
        }
        self.set_timer(i, now);
    }

    fn set_timer(&mut self, i: u32, now: u64) {
        let node = &mut self.nodes[i as usize];
        let Some(rx) = node.rx.as_ref() else { return };
        let deadline = rx.poll_timeout().map(|t| t.0);
        if deadline == node.timer {
            return;
        }
        node.timer = deadline;
        if let Some(mut at) = deadline {
            if at <= now {
                // Still due right after handle_timeout (or a deadline already past).
                self.run.spinning_receiver_timers += 1;
                at = now + 1;
                node.timer = Some(at);
            }
            self.agenda.push(at, What::Timer(i, at));
        }
    }

    fn join(&mut self, i: u32, now: u64) {
        let config = self.scenario.receiver_config(i as usize);
        let node = &mut self.nodes[i as usize];
        if node.state != State::Waiting {
            return;
        }
        let storage = node.storage.take().expect("storage not yet lent");
        node.rx = Some(Receiver::new(config, storage, Instant(now)));
        node.state = State::Running;
        node.end.started = true;
        self.waiting -= 1;
        self.mark(i);
    }

    fn die(&mut self, i: u32) {
        let node = &mut self.nodes[i as usize];
        if node.end.dead {
            return;
        }
        if node.state == State::Waiting {
            self.waiting -= 1;
        }
        node.end.dead = true;
        node.state = State::Dead;
        node.backlog.clear();
        if !node.end.closed {
            self.open -= 1;
        }
    }

    fn freeze(&mut self, i: u32, now: u64) {
        let length = self.scenario.receivers[i as usize]
            .faults
            .freezes
            .map_or(0, |f| f.1);
        let node = &mut self.nodes[i as usize];
        if node.state != State::Running || node.end.froze {
            return;
        }
        node.state = State::Frozen;
        node.end.froze = true;
        self.agenda.push(now + length, What::Thaw(i));
    }

    /// A thawed receiver reads what its socket kept, then notices the time.
    fn thaw(&mut self, i: u32, now: u64) {
        let node = &mut self.nodes[i as usize];
        if node.state != State::Frozen {
            return;
        }
        node.state = State::Running;
        node.backlog_bytes = 0;
        let backlog = std::mem::take(&mut node.backlog);
        if let Some(rx) = node.rx.as_mut() {
            for datagram in backlog {
                rx.handle_datagram(Instant(now), sender_addr(), &datagram);
                self.run.deliveries += 1;
                node.heard_sender_at = now;
            }
            if rx.poll_timeout().is_some_and(|t| t.0 <= now) {
                rx.handle_timeout(Instant(now));
            }
        }
        node.timer = None;
        self.mark(i);
    }
}

/// Input for the sender, as fast as it takes it.
fn feed(tx: &mut Sender<'_>, input: &[u8], cursor: &mut usize) {
    if !tx.is_transferring() {
        return;
    }
    let room = tx.input_buffer();
    if !room.is_empty() && *cursor < input.len() {
        let n = room.len().min(input.len() - *cursor);
        room[..n].copy_from_slice(&input[*cursor..*cursor + n]);
        tx.input_written(n);
        *cursor += n;
    }
    if *cursor == input.len() {
        tx.input_end();
    }
}

/// A datagram in a few words, for traces.
fn describe(datagram: &[u8]) -> String {
    match Message::parse(datagram) {
        Ok(Message::Data(d)) => {
            format!("DATA slice {} block {} bytes {}", d.slice, d.block, d.bytes)
        }
        Ok(Message::Fec(d)) => {
            format!("FEC slice {} block {} bytes {}", d.slice, d.block, d.bytes)
        }
        Ok(Message::Reqack(r)) => {
            format!(
                "REQACK slice {} rxmit {} bytes {}",
                r.slice, r.rxmit, r.bytes
            )
        }
        Ok(Message::Retransmit(r)) => {
            format!("RETRANSMIT slice {} rxmit {}", r.slice, r.rxmit)
        }
        Ok(m) => format!("{:?}", m.opcode()),
        Err(e) => format!("unparsable: {e:?}"),
    }
}
