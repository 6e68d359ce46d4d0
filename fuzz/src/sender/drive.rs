//! Driving `sender`'s [`Sender`](udpcast_core::sender::Sender): datagrams in, input fed,
//! the clock moved, and after each call everything polled out of it for the checks.

use super::{Harness, MAX_BURST, MAX_INPUT, MAX_INPUT_BLOCKS};
use crate::stream::content;
use crate::trace::brief;
use std::net::SocketAddrV4;
use udpcast_core::time::Duration;
use udpcast_core::wire::Message;

impl Harness<'_> {
    /// A datagram from `from`; an OK is remembered for the Finished check.
    pub(super) fn deliver(&mut self, from: SocketAddrV4, datagram: &[u8]) {
        crate::trace!(
            "  <- {from} {:?}",
            Message::parse(datagram).map(|m| brief(&m))
        );
        if let Ok(Message::Ok(ok)) = Message::parse(datagram) {
            if let Some(&client) = self.by_ip.get(from.ip()) {
                // Counted even for a slice not sent yet: the sender takes an OK for a
                // slice it has formed but not yet sent (harmless with real receivers).
                self.oks.insert((client, ok.slice));
            }
        }
        self.tx.handle_datagram(self.now, from, datagram);
        self.drain();
    }

    pub(super) fn feed(&mut self, n: u64) {
        let cap = MAX_INPUT.min(MAX_INPUT_BLOCKS * u64::from(self.config.block_size));
        let mut n = n.min(cap.saturating_sub(self.fed));
        while n > 0 {
            let room = self.tx.input_buffer();
            if room.is_empty() {
                break;
            }
            let k = room.len().min(n as usize);
            for (i, b) in room[..k].iter_mut().enumerate() {
                *b = content(self.fed + i as u64);
            }
            self.tx.input_written(k);
            self.fed += k as u64;
            n -= k as u64;
            self.drain();
        }
        self.drain();
    }

    pub(super) fn advance(&mut self, by: Duration) {
        self.now = self.now + by;
        self.tx.handle_timeout(self.now);
        self.drain();
        if let Some(deadline) = self.tx.poll_timeout(self.now) {
            assert!(
                deadline > self.now,
                "handle_timeout({:?}) and polling left the deadline at {deadline:?}: a caller would spin",
                self.now
            );
        }
    }

    /// Polls everything, events before each datagram, so that every datagram is checked
    /// against the state the events so far describe (`Started` before the first slice).
    pub(super) fn drain(&mut self) {
        let mut buf = vec![0u8; 16 + usize::from(self.config.block_size) + 1024];
        let mut sent = 0;
        loop {
            while let Some(event) = self.tx.poll_event() {
                assert!(!self.closed_event, "{event:?} after the sender closed");
                self.event(event);
            }
            let Some(t) = self.tx.poll_transmit(self.now, &mut buf) else {
                break;
            };
            sent += 1;
            assert!(
                sent <= MAX_BURST,
                "the sender sends without end at {:?}",
                self.now
            );
            let datagram = buf[..t.len].to_vec();
            self.inspect(t.destination, &datagram);
        }
        while let Some(event) = self.tx.poll_event() {
            assert!(!self.closed_event, "{event:?} after the sender closed");
            self.event(event);
        }
        assert_eq!(self.tx.is_finished(), self.finished_event);
    }
}
