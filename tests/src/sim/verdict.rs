//! The rules every simulated run must keep, checked on how it ended ([`check`]):
//!
//! * the run ends within its time bound, without a livelock or getting stuck, and the
//!   sender ends: finished, or failed because every receiver is gone (and then no
//!   receiver of a synchronous transfer finished);
//! * no receiver ever writes a byte that differs from the input;
//! * a receiver that reports success (`Finished`) wrote the whole input — a streaming
//!   late joiner: the input from a block boundary to its end, and something of it — and
//!   with verification on it says `Verified` with the input's own digest (a late joiner:
//!   that it joined late); `Verified` never comes with another output;
//! * no receiver reports a failure that only corruption could cause: the room corrupts
//!   nothing;
//! * a dead, frozen or late receiver never harms the others: in a synchronous transfer
//!   every healthy receiver the sender admitted finishes, unless the sender dropped it
//!   or it timed out after a silence as long as the timeout (loss explains both: the
//!   silences are checked); in an asynchronous one a healthy receiver fails only for what
//!   loss explains, and a streaming receiver is never refused by the stream it joins;
//! * the endpoints keep their side of the sans-IO contract: a timer is not due again
//!   right after `handle_timeout`, a synchronous sender never goes quiet for seconds
//!   while transferring, an async sender repeats its hello every second, and slices
//!   never exceed `--max-slice-size`.
//!
//! Bugs of core that break these rules and are not fixed yet are listed in
//! [`KNOWN_BUGS`]; [`explained_by`] tells a run they explain from a new failure.

use super::scenario::{Mode, Scenario};
use super::world::{ReceiverEnd, Run};
use std::fmt;
use udpcast_core::extension::integrity::stream_checksum;
use udpcast_core::receiver::{Event, NotVerifiedReason, ReceiverError};
use udpcast_core::sender::{self, SenderError};

/// A rule a run broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The receiver concerned, if one.
    pub receiver: Option<usize>,
    /// The rule, in a few words.
    pub rule: &'static str,
    /// What happened.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.receiver {
            Some(i) => write!(f, "receiver {i}: {}: {}", self.rule, self.detail),
            None => write!(f, "{}: {}", self.rule, self.detail),
        }
    }
}

/// Whether a run is a hang: it ran out of time, or nothing was left to happen while an
/// endpoint still waited.
pub fn is_hang(run: &Run) -> bool {
    run.hit_bound || run.stuck || run.livelock
}

/// Whether a run that ran out of time was still making progress: some receiver wrote
/// output in the last tenth of it. Slow, not stuck — still over its bound.
pub fn is_slow(run: &Run) -> bool {
    run.hit_bound && run.last_output_us + run.elapsed_us / 10 >= run.elapsed_us
}

/// Every rule `run` of `scenario` with `input` broke.
pub fn check(scenario: &Scenario, input: &[u8], run: &Run) -> Vec<Violation> {
    let mut v = Vec::new();
    let mut add = |receiver, rule, detail: String| {
        v.push(Violation {
            receiver,
            rule,
            detail,
        })
    };
    let slow = is_slow(run);
    if slow {
        add(
            None,
            TOO_SLOW,
            format!(
                "cut off at its bound of {} ms while receivers still wrote ({} ms)",
                run.elapsed_us / 1000,
                run.last_output_us / 1000
            ),
        );
    } else if is_hang(run) {
        let open: Vec<usize> = (0..run.receivers.len())
            .filter(|&i| {
                let r = &run.receivers[i];
                r.started && !r.dead && !r.closed
            })
            .collect();
        let what = if run.livelock {
            "livelock: the loop kept turning without the clock moving"
        } else if run.stuck {
            "stuck: nothing scheduled, yet not everyone is done"
        } else {
            "hang: the run exceeded its time bound"
        };
        add(
            None,
            HANG,
            format!(
                "{what} at {} ms (bound {} ms); sender {}; receivers still open: {}",
                run.elapsed_us / 1000,
                scenario.time_bound_us() / 1000,
                if run.sender_closed {
                    "ended"
                } else {
                    "still running"
                },
                list(&open)
            ),
        );
    }
    let max_slice = scenario.max_slice;
    if let Some(size) = run.sender_events.iter().find_map(|e| match e {
        sender::Event::SliceSize(n) if *n > max_slice => Some(*n),
        _ => None,
    }) {
        add(
            None,
            SLICE_ABOVE_MAX,
            format!(
                "the sender announced slices of {size} blocks, its --max-slice-size is {max_slice}"
            ),
        );
    }
    if run.spinning_timers + run.spinning_receiver_timers > 0 {
        add(
            None,
            TIMER_STILL_DUE,
            format!(
                "sender {} times, receivers {} times",
                run.spinning_timers, run.spinning_receiver_timers
            ),
        );
    }
    let (silence, at) = run.longest_sender_silence_us;
    if silence > MAX_SENDER_SILENCE_US {
        add(
            None,
            "sender silent while transferring",
            format!(
                "nothing sent for {} ms until {} ms (REQACKs repeat at least every second)",
                silence / 1000,
                at / 1000
            ),
        );
    }
    let (silence, at) = run.longest_negotiation_silence_us;
    if !scenario.mode.synchronous() && silence > MAX_HELLO_GAP_US {
        add(
            None,
            HELLOS_STOPPED,
            format!(
                "no hello for {} ms until {} ms (it repeats every second)",
                silence / 1000,
                at / 1000
            ),
        );
    }
    // Receivers that finished and that the sender did not drop: it had no reason to
    // think them gone (one it dropped may well finish afterwards from its backlog).
    let successes: Vec<usize> = (0..run.receivers.len())
        .filter(|&i| finished(&run.receivers[i]) && !run.receivers[i].dropped)
        .collect();
    if let Some(error) = sender_failure(run) {
        let gone = matches!(
            error,
            SenderError::AllReceiversGone | SenderError::NoParticipants
        );
        if !gone {
            add(None, "sender failed", format!("{error:?}"));
        } else if !successes.is_empty() && scenario.mode.synchronous() {
            add(
                None,
                SENDER_FAILED_DESPITE_SUCCESS,
                format!("{error:?}; finished: {}", list(&successes)),
            );
        }
    }
    let digest = stream_checksum(input);
    let len = input.len() as u64;
    for (i, r) in run.receivers.iter().enumerate() {
        let spec = &scenario.receivers[i];
        let expects_verification = scenario.identity && spec.verify;
        let base = r.base.unwrap_or(0);
        let whole = base == 0 && r.written == len && r.mismatch.is_none();
        let mut add = |rule, detail| add(Some(i), rule, detail);
        if let Some(at) = r.mismatch {
            add(
                "wrote wrong bytes",
                format!("output byte {at} (input offset {}) differs", base + at),
            );
        }
        if let Some(check) = verified(r) {
            if check != digest || !whole {
                add(
                    "Verified a wrong output",
                    format!(
                        "{check:?} for {} bytes from offset {base}; input {digest:?}",
                        r.written
                    ),
                );
            }
        }
        let failure = failure(r);
        if finished(r) && r.written == 0 && len > 0 && scenario.mode == Mode::Streaming {
            add(
                EMPTY_SUCCESS,
                format!("it joined at the end marker: {:?}", r.events),
            );
        } else if finished(r) {
            if failure.is_some() {
                add("both Finished and Failed", format!("{:?}", r.events));
            }
            let tail = scenario.mode == Mode::Streaming && base + r.written == len;
            if !(whole || tail && r.mismatch.is_none()) {
                add(
                    "Finished with a short or wrong output",
                    format!("{} bytes from offset {base} of {len}", r.written),
                );
            }
            if expects_verification && base == 0 && verified(r).is_none() {
                add("Finished without Verified", format!("{:?}", r.events));
            }
            let said_late = r
                .events
                .contains(&Event::NotVerified(NotVerifiedReason::JoinedLate));
            if expects_verification && base > 0 && !said_late {
                add(
                    "joined late without saying so",
                    format!("output from offset {base}"),
                );
            }
        }
        if let Some(error) = failure.filter(needs_corruption) {
            add("failure only corruption explains", format!("{error:?}"));
        }
        if let Some(e @ ReceiverError::OtherTransferInProgress(_)) = failure {
            if scenario.mode == Mode::Streaming {
                add(
                    STREAMING_REFUSED,
                    format!("{e:?}: it heard the stream before its streaming hello"),
                );
            }
        }
        if r.open_without_deadline {
            add(
                OPEN_WITHOUT_DEADLINE,
                format!("{} of {len} bytes written, {:?}", r.written, r.events),
            );
        }
        let drop_timeout_us = scenario.drop_timeout_ms * 1000;
        if let Some(silence) = r.dropped_after_silence_us.filter(|&s| s < drop_timeout_us) {
            add(
                "dropped while answering",
                format!(
                    "the sender had heard from it {} ms before (drop timeout {} ms)",
                    silence / 1000,
                    scenario.drop_timeout_ms
                ),
            );
        }
        let receive_timeout_us = scenario.receive_timeout_ms * 1000;
        let timed_out_silent = r.timed_out_after_silence_us;
        if let Some(silence) = timed_out_silent.filter(|&s| s < receive_timeout_us) {
            add(
                "receive timeout while hearing the sender",
                format!("last datagram {} ms before", silence / 1000),
            );
        }
        // Cut off at the bound: the rule above tells why.
        let cut = run.hit_bound && r.started && !r.closed;
        if r.dead || !spec.faults.healthy() || finished(r) || cut {
            continue;
        }
        // Dropped, or timed out, after a silence as long as the timeout: loss explains it
        // (the rules above check the silences).
        if r.dropped || timed_out_silent.is_some() {
            continue;
        }
        let reason = failure.map_or_else(|| "no outcome".to_string(), |e| format!("{e:?}"));
        if scenario.mode.synchronous() {
            if r.admitted {
                add(
                    "healthy receiver did not finish",
                    format!("{reason}; {} of {len} bytes", r.written),
                );
            }
        } else if !failure.is_some_and(|e| loss_explains(&e)) {
            add(
                "healthy receiver failed for no loss-related reason",
                format!("{reason}; {} of {len} bytes", r.written),
            );
        }
    }
    v
}

/// A synchronous sender repeats its REQACK at least every second and a bit.
const MAX_SENDER_SILENCE_US: u64 = 3_000_000;

/// An async sender repeats its hello every second until it starts.
const MAX_HELLO_GAP_US: u64 = 1_500_000;

const HANG: &str = "hang";
const OPEN_WITHOUT_DEADLINE: &str = "receiver waits without a deadline";
const TOO_SLOW: &str = "over its time bound, still progressing";
const HELLOS_STOPPED: &str = "async sender stopped repeating its hello";
const EMPTY_SUCCESS: &str = "streaming receiver finished having written nothing";
const SLICE_ABOVE_MAX: &str = "slice size above --max-slice-size";
const TIMER_STILL_DUE: &str = "timer still due right after handle_timeout";
const STREAMING_REFUSED: &str = "streaming receiver refused by the stream it joins";
const SENDER_FAILED_DESPITE_SUCCESS: &str = "sender failed though receivers succeeded";

/// A bug of core the simulation found and that is not fixed yet. A run whose violations
/// known bugs explain counts as a known-bug run, not a failure, so that the seeds keep
/// running green in CI while each bug has its reproducer (an ignored test) to be fixed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownBug {
    /// Short name.
    pub id: &'static str,
    /// The violation that shows it.
    pub rule: &'static str,
    /// Whether it explains every other violation of a run where it shows (its
    /// consequences are not worth telling apart), or only its own and `also`'s.
    pub explains_all: bool,
    /// Other rules it explains in a run where it shows.
    pub also: &'static [&'static str],
    /// The ignored test that reproduces it.
    pub reproducer: &'static str,
}

/// The known bugs (see doc of [`KnownBug`]).
pub const KNOWN_BUGS: &[KnownBug] = &[
    // None open: the bugs found so far are fixed (tests/tests/simulation_bugs.rs).
];

/// The known bugs that explain `violations`, if they explain them all.
pub fn explained_by(violations: &[Violation]) -> Option<Vec<&'static KnownBug>> {
    let known = |v: &Violation| KNOWN_BUGS.iter().find(|b| b.rule == v.rule);
    let bugs: Vec<&'static KnownBug> = violations.iter().filter_map(known).collect();
    let explained =
        |v: &Violation| known(v).is_some() || bugs.iter().any(|b| b.also.contains(&v.rule));
    let all = bugs.iter().any(|b| b.explains_all) || violations.iter().all(explained);
    (!violations.is_empty() && all).then(|| {
        let mut unique = bugs;
        unique.sort_by_key(|b| b.id);
        unique.dedup_by_key(|b| b.id);
        unique
    })
}

/// The receiver reported success.
pub fn finished(r: &ReceiverEnd) -> bool {
    r.events.contains(&Event::Finished)
}

/// The failure the receiver reported, if any.
pub fn failure(r: &ReceiverEnd) -> Option<ReceiverError> {
    r.events.iter().find_map(|e| match e {
        Event::Failed(error) => Some(*error),
        _ => None,
    })
}

fn verified(r: &ReceiverEnd) -> Option<udpcast_core::extension::StreamCheck> {
    r.events.iter().find_map(|e| match e {
        Event::Verified(check) => Some(*check),
        _ => None,
    })
}

fn sender_failure(run: &Run) -> Option<SenderError> {
    run.sender_events.iter().find_map(|e| match e {
        sender::Event::Failed(error) => Some(*error),
        _ => None,
    })
}

/// Failures a receiver of an asynchronous transfer may report when datagrams are lost:
/// FEC could not make up for them, or it never heard enough of the sender.
fn loss_explains(e: &ReceiverError) -> bool {
    matches!(
        e,
        ReceiverError::DroppedBySender { .. }
            | ReceiverError::NoSender
            | ReceiverError::NotStarted
            | ReceiverError::JoinedAtEnd
            | ReceiverError::ReceiveTimeout
            | ReceiverError::OtherTransferInProgress(_)
            | ReceiverError::MissingStreamDigest
    )
}

/// Failures that mean some datagram lied about the stream: the room never alters one.
fn needs_corruption(e: &ReceiverError) -> bool {
    matches!(
        e,
        ReceiverError::ByteCountMismatch { .. }
            | ReceiverError::BadBase { .. }
            | ReceiverError::SliceSizeUnknown { .. }
            | ReceiverError::UnsupportedBlockSize(_)
            | ReceiverError::SliceTooLarge { .. }
            | ReceiverError::WrongStream
            | ReceiverError::MissingIdentity
            | ReceiverError::BadTrailer(_)
            | ReceiverError::CorruptSlice { .. }
            | ReceiverError::StreamMismatch { .. }
    )
}

fn list(items: &[usize]) -> String {
    if items.is_empty() {
        return "none".into();
    }
    let shown: Vec<String> = items.iter().take(12).map(usize::to_string).collect();
    let more = items.len().saturating_sub(12);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}
