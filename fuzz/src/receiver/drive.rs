//! Driving `receiver`'s [`Receiver`](udpcast_core::receiver::Receiver): datagrams in, the
//! clock moved, output consumed.

use super::{Harness, SENDER};
use std::net::SocketAddrV4;
use udpcast_core::time::Duration;
use udpcast_core::wire::Message;

impl Harness<'_> {
    /// A datagram the model accounts for.
    pub(super) fn deliver(&mut self, from: SocketAddrV4, datagram: &[u8]) {
        crate::trace!(
            "  <- {from} {:?}",
            Message::parse(datagram).map(|m| crate::trace::brief(&m))
        );
        self.rx.handle_datagram(self.now, from, datagram);
        self.drain();
    }

    /// A datagram the model does not account for: if it is slice data from a sender's
    /// port, the output oracle is off from now on.
    pub(super) fn deliver_foreign(&mut self, from: SocketAddrV4, datagram: &[u8]) {
        let slice_message = matches!(
            Message::parse(datagram),
            Ok(Message::Data(_) | Message::Fec(_) | Message::Reqack(_))
        );
        if slice_message && from.port() == SENDER.port() {
            self.clean = false;
        }
        self.deliver(from, datagram);
    }

    pub(super) fn advance(&mut self, by: Duration) {
        self.now = self.now + by;
        self.rx.handle_timeout(self.now);
        self.drain();
        if let Some(deadline) = self.rx.poll_timeout() {
            assert!(
                deadline > self.now,
                "handle_timeout({:?}) left the deadline at {deadline:?}: a caller would spin",
                self.now
            );
        }
    }

    pub(super) fn consume(&mut self, n: usize) {
        let available = self.rx.output().to_vec();
        self.rx.consume_output(n);
        let written = n.min(available.len());
        self.output(&available[..written]);
        if written < available.len() {
            assert_eq!(
                self.rx.output(),
                &available[written..],
                "consuming {written} of {} bytes did not leave the rest",
                available.len()
            );
        }
        self.drain();
    }
}
