//! What a simulated run leaves behind for the rules to judge: per receiver what it did and
//! said, and the sender's side of things.

use super::scenario::{receiver_index, Mode, Scenario};
use udpcast_core::receiver;
use udpcast_core::sender;

/// How a receiver's run went.
#[derive(Clone, Debug, Default)]
pub struct ReceiverEnd {
    /// It was started (a late joiner may never be).
    pub started: bool,
    /// It died.
    pub dead: bool,
    /// It froze (and thawed, unless the run ended first).
    pub froze: bool,
    /// It is done: finished or failed.
    pub closed: bool,
    /// Its events, in order.
    pub events: Vec<receiver::Event>,
    /// Bytes it wrote.
    pub written: u64,
    /// Where in the input its output starts (0, or a block boundary for a late joiner);
    /// `None` before the first byte.
    pub base: Option<u64>,
    /// Streaming: the block boundaries where its output so far fits the input.
    pub candidates: Vec<u64>,
    /// The first output byte that differs from the input, if any.
    pub mismatch: Option<u64>,
    /// The sender dropped it (as opposed to its leaving).
    pub dropped: bool,
    /// When it was dropped: how long the sender had heard nothing from it, µs.
    pub dropped_after_silence_us: Option<u64>,
    /// When it gave up with `ReceiveTimeout`: how long it had heard nothing, µs.
    pub timed_out_after_silence_us: Option<u64>,
    /// The sender admitted it before the transfer started.
    pub admitted: bool,
    /// At the end, open (started, neither closed nor dead) with no deadline: it waits
    /// for a datagram that may never come.
    pub open_without_deadline: bool,
}

impl ReceiverEnd {
    /// Checks output bytes against the input as they are written. A receiver's output starts
    /// at the input's start or — streaming, joined late — at a block boundary: every boundary
    /// where its output so far fits is kept, and a short first write (a slow writer's, or the
    /// one-byte tail slice) may fit at several, so the base settles as more is written (at
    /// the end, on the one where the output reaches the input's end, if any).
    pub(super) fn wrote(&mut self, input: &[u8], out: &[u8], scenario: &Scenario) {
        if self.mismatch.is_some() {
            self.written += out.len() as u64;
            return;
        }
        let fits = |at: u64| {
            let from = (at + self.written) as usize;
            input.get(from..from + out.len()) == Some(out)
        };
        if scenario.mode != Mode::Streaming {
            self.base = Some(0);
            if !fits(0) {
                let from = self.written as usize;
                let want = input.get(from..).unwrap_or(&[]);
                let first_bad = want.iter().zip(out).position(|(a, b)| a != b);
                let first_bad = first_bad.unwrap_or(want.len().min(out.len()));
                self.mismatch = Some(self.written + first_bad as u64);
            }
        } else {
            if self.written == 0 {
                let bs = scenario.block_size as usize;
                self.candidates = (0..input.len().div_ceil(bs))
                    .map(|b| (b * bs) as u64)
                    .collect();
            }
            self.candidates.retain(|&at| fits(at));
            if self.candidates.is_empty() {
                self.mismatch = Some(self.written);
            }
        }
        self.written += out.len() as u64;
        if !self.candidates.is_empty() {
            let whole = input.len() as u64;
            let tail = self
                .candidates
                .iter()
                .find(|&&at| at + self.written == whole);
            self.base = tail.or(self.candidates.first()).copied();
        }
    }
}

/// How a run went.
#[derive(Clone, Debug, Default)]
pub struct Run {
    /// The sender's events, in order.
    pub sender_events: Vec<sender::Event>,
    /// The sender finished.
    pub sender_finished: bool,
    /// The sender is done (finished or failed).
    pub sender_closed: bool,
    /// When the sender finished or failed, µs since the start.
    pub sender_closed_at_us: Option<u64>,
    /// Per receiver.
    pub receivers: Vec<ReceiverEnd>,
    /// Simulated time the run took, µs.
    pub elapsed_us: u64,
    /// The run was cut off at the scenario's time bound.
    pub hit_bound: bool,
    /// The last time a receiver wrote output, µs since the start: a run cut off soon
    /// after was slow rather than stuck.
    pub last_output_us: u64,
    /// The loop turned this often without the clock moving: a livelock.
    pub livelock: bool,
    /// Nothing was left to happen but some endpoint was not done.
    pub stuck: bool,
    /// Datagrams the sender sent.
    pub sender_datagrams: u64,
    /// The longest the sender sent nothing while transferring, µs, and when that ended.
    pub longest_sender_silence_us: (u64, u64),
    /// The longest the sender sent nothing while negotiating, µs, and when that ended
    /// (an async sender repeats its hello every second).
    pub longest_negotiation_silence_us: (u64, u64),
    /// When the sender sent each HELLO (of any kind), µs since the start.
    pub hellos: Vec<u64>,
    /// Every REQACK the sender sent: when (µs since the start), slice, round.
    pub reqacks: Vec<(u64, u32, u32)>,
    /// Datagrams handed to receivers.
    pub deliveries: u64,
    /// Times the sender's timer was still due right after its `handle_timeout` and the
    /// transmits that followed (a caller would spin), and the same for receivers'.
    pub spinning_timers: u64,
    pub spinning_receiver_timers: u64,
}

/// Marks, from the sender's events, which receivers it admitted and which it dropped.
pub(super) fn mark_sender_view(run: &mut Run) {
    let mut started = false;
    for e in &run.sender_events {
        match *e {
            sender::Event::Connected { address, .. } if !started => {
                if let Some(r) =
                    receiver_index(*address.ip()).and_then(|i| run.receivers.get_mut(i))
                {
                    r.admitted = true;
                }
            }
            sender::Event::Started { .. } => started = true,
            sender::Event::Left {
                address,
                reason: sender::LeaveReason::Dropped,
                ..
            } => {
                if let Some(r) = receiver_index(address).and_then(|i| run.receivers.get_mut(i)) {
                    r.dropped = true;
                }
            }
            _ => {}
        }
    }
}
