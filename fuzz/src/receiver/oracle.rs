//! The checks of `receiver`: the output against the model's stream, and everything polled
//! out of the receiver after each call.

use super::Harness;
use crate::stream::content;
use udpcast_core::receiver::Event;
use udpcast_core::transmit::MAX_RECEIVER_DATAGRAM;
use udpcast_core::wire::Message;

impl Harness<'_> {
    /// `bytes` were handed out: they extend the digest, and must be the model's next ones.
    pub(super) fn output(&mut self, bytes: &[u8]) {
        self.consumed += bytes.len() as u64;
        self.crc.update(bytes);
        let mut rest = bytes;
        while self.clean && !rest.is_empty() {
            let (slice, pos) = self.cursor;
            let planned = self.plan.get(&slice).map(|p| p.bytes);
            let Some(planned) = planned.filter(|&b| b > pos) else {
                panic!(
                    "output {} bytes past the model's stream at slice {slice} offset {pos} ({planned:?} planned)",
                    rest.len()
                );
            };
            let n = rest.len().min((planned - pos) as usize);
            let base = u64::from(slice) * u64::from(self.full) + u64::from(pos);
            for (i, &b) in rest[..n].iter().enumerate() {
                assert_eq!(
                    b,
                    content(base + i as u64),
                    "output byte {} of slice {slice} is wrong",
                    pos as usize + i
                );
            }
            rest = &rest[n..];
            self.cursor = if pos + n as u32 == planned {
                (slice + 1, 0)
            } else {
                (slice, pos + n as u32)
            };
        }
    }

    /// Polls everything the receiver has, checking each item.
    pub(super) fn drain(&mut self) {
        let mut buf = [0u8; MAX_RECEIVER_DATAGRAM];
        let mut sent = 0;
        while let Some(t) = self.rx.poll_transmit(&mut buf) {
            sent += 1;
            assert!(sent <= 64, "the receiver keeps sending");
            let message =
                Message::parse(&buf[..t.len]).expect("the receiver sends udpcast messages");
            crate::trace!("  -> {} {}", t.destination, crate::trace::brief(&message));
            assert_eq!(
                t.destination.port(),
                9001,
                "{message:?} not to a sender's port"
            );
        }
        while let Some(event) = self.rx.poll_event() {
            crate::trace!("  event {event:?}");
            assert!(!self.closed_event, "{event:?} after the receiver closed");
            match event {
                Event::Connected(c) => {
                    self.client = Some(c.client_number);
                    if c.block_size as usize != self.block_size || c.streaming {
                        self.clean = false;
                    }
                }
                Event::LostData { .. } => self.clean = false,
                Event::Verified(check) => {
                    assert!(self.verify, "verified without --verify");
                    assert!(!self.verified, "verified twice");
                    assert_eq!(
                        check,
                        self.crc.check(),
                        "Verified with a digest of other bytes than were output"
                    );
                    self.verified = true;
                }
                Event::Finished => {
                    assert!(self.rx.is_finished());
                    assert!(self.rx.output().is_empty(), "finished with output left");
                    if self.clean {
                        let (slice, pos) = self.cursor;
                        assert_eq!(
                            (self.plan.get(&slice).map(|p| p.bytes), pos),
                            (Some(0), 0),
                            "finished before the model's end (slice {slice})"
                        );
                    }
                    self.closed_event = true;
                    self.finished_event = true;
                }
                Event::Failed(_) => {
                    assert!(self.rx.is_closed() && !self.rx.is_finished());
                    self.closed_event = true;
                }
                _ => {}
            }
        }
        assert_eq!(
            self.rx.stats().bytes_output,
            self.consumed,
            "bytes_output is not what was consumed"
        );
        assert_eq!(
            self.rx.is_finished(),
            self.finished_event,
            "finished without the event, or the other way"
        );
        let (a, b) = (self.rx.output(), self.rx.output());
        assert!(
            a.as_ptr() == b.as_ptr() && a.len() == b.len(),
            "output() changed between two calls"
        );
    }
}
