//! The checks of `sender`: every event and every datagram the sender sends, against the
//! input fed and what it sent before.

use super::{client_address, Harness, SliceSeen, BCAST, CLIENTS};
use crate::stream::{content, content_range, Crc32c};
use std::net::SocketAddrV4;
use udpcast_core::extension::{trailing_bytes, Identity, SliceCheck, Trailer, VERIFIED};
use udpcast_core::fec::{Encoder, FecConfig, Kernel};
use udpcast_core::sender::Event;
use udpcast_core::wire::{Bitmap1024, HelloKind, Message, Reqack};

impl Harness<'_> {
    pub(super) fn event(&mut self, event: Event) {
        crate::trace!("  event {event:?}");
        match event {
            Event::Connected {
                client, address, ..
            } => {
                assert!(!self.transferring, "a connection during the transfer");
                assert!(
                    self.connected.insert(client),
                    "client {client} connected twice"
                );
                self.by_ip.insert(*address.ip(), client);
                if let Some(i) = (0..CLIENTS).find(|&i| client_address(i) == address) {
                    self.numbers[i] = Some(client);
                }
            }
            Event::Left {
                client, address, ..
            } => {
                self.by_ip.remove(&address);
                assert!(
                    self.connected.remove(&client),
                    "client {client} left without being in"
                );
            }
            Event::Started {
                destination,
                receivers,
                ..
            } => {
                assert!(!self.transferring, "started twice");
                assert_eq!(usize::from(receivers), self.connected.len());
                self.transferring = true;
                self.destination = Some(destination);
            }
            Event::Finished => {
                self.finished_checks();
                self.closed_event = true;
                self.finished_event = true;
            }
            Event::Failed(_) => {
                assert!(self.tx.is_closed() && !self.tx.is_finished());
                self.closed_event = true;
            }
            Event::SliceSize(size) => {
                assert!(size >= 1 && usize::from(size) <= 1024, "slice size {size}");
            }
            // This harness's sender has no key: nothing can be refused as unauthentic.
            Event::AuthRejected { from, reason } => {
                panic!("{from} refused ({reason:?}) by a sender without a key")
            }
        }
    }

    fn finished_checks(&self) {
        assert!(self.input_ended, "finished before the input ended");
        let end = self.slices.last().expect("finished without a slice");
        assert_eq!(end.bytes, 0, "finished without the end slice");
        assert_eq!(end.offset, self.fed, "finished with input left unsent");
        let bs = usize::from(self.config.block_size);
        for (n, s) in self.slices.iter().enumerate() {
            let blocks = (s.bytes as usize).div_ceil(bs);
            let unsent = (0..blocks).find(|&b| !s.sent.contains(b));
            assert!(
                unsent.is_none(),
                "finished, but block {unsent:?} of slice {n} never went out"
            );
        }
        if !self.config.asynchronous {
            for &client in &self.connected {
                for n in 0..self.slices.len() as u32 {
                    assert!(
                        self.oks.contains(&(client, n)),
                        "finished, but client {client} never acknowledged slice {n}"
                    );
                }
            }
        }
    }

    /// A slice's byte count, as a DATA, FEC or REQACK of it tells it.
    fn slice_seen(&mut self, slice: u32, bytes: u32) -> &mut SliceSeen {
        let n = slice as usize;
        if n < self.slices.len() {
            assert_eq!(
                self.slices[n].bytes, bytes,
                "slice {slice} sent with two byte counts"
            );
            return &mut self.slices[n];
        }
        assert_eq!(
            n,
            self.slices.len(),
            "slice {slice} before slice {}",
            self.slices.len()
        );
        let bs = u32::from(self.config.block_size);
        let offset = self
            .slices
            .last()
            .map_or(0, |s| s.offset + u64::from(s.bytes));
        if let Some(last) = self.slices.last() {
            assert_ne!(last.bytes, 0, "a slice after the end");
            assert!(
                last.bytes % bs == 0 || bytes == 0,
                "slice {slice} after a partial-block slice"
            );
        }
        assert!(
            offset + u64::from(bytes) <= self.fed,
            "slice {slice} reaches byte {} but only {} were fed",
            offset + u64::from(bytes),
            self.fed
        );
        if bytes == 0 {
            assert!(self.input_ended, "the end slice before the input ended");
            assert_eq!(offset, self.fed, "the end slice with input not yet cut");
        }
        assert!(bytes <= 1024 * bs, "slice {slice} of {bytes} bytes");
        self.slices.push(SliceSeen {
            offset,
            bytes,
            sent: Bitmap1024::new(),
            fec: None,
        });
        &mut self.slices[n]
    }

    pub(super) fn inspect(&mut self, destination: SocketAddrV4, datagram: &[u8]) {
        let message = Message::parse(datagram).expect("the sender sends udpcast messages");
        crate::trace!("  -> {destination} {}", crate::trace::brief(&message));
        let bs = usize::from(self.config.block_size);
        let rendezvous = SocketAddrV4::new(BCAST, self.config.portbase);
        match message {
            Message::Hello(hello) => {
                assert_eq!(destination, rendezvous);
                assert_eq!(hello.block_size, self.config.block_size);
                if self.transferring {
                    assert!(self.config.streaming && hello.kind == HelloKind::Streaming);
                }
                let trailer =
                    Trailer::parse(trailing_bytes(datagram, 28)).expect("our trailer parses");
                if let (Some(t), Some(id)) = (trailer, self.identity) {
                    assert_eq!(Identity::from_trailer(&t), Some(id));
                }
            }
            Message::ConnectReply(reply) => {
                assert!(!self.transferring, "CONNECT_REPLY during the transfer");
                let i = (0..CLIENTS).find(|&i| client_address(i) == destination);
                if let (Some(i), Some(client)) = (i, reply.client_number) {
                    assert_eq!(
                        self.numbers[i].unwrap_or(client),
                        client,
                        "CONNECT_REPLY to {destination} with another number than it holds"
                    );
                    self.numbers[i] = Some(client);
                }
                assert_eq!(reply.block_size, u32::from(self.config.block_size));
                let trailer =
                    Trailer::parse(trailing_bytes(datagram, 32)).expect("our trailer parses");
                if reply.capabilities.contains(VERIFIED) {
                    let id = trailer.as_ref().and_then(Identity::from_trailer);
                    assert_eq!(id, self.identity, "VERIFIED without our identity");
                }
            }
            Message::Data(data) => {
                self.assert_slice_destination(destination);
                let (slice, block) = (data.slice, usize::from(data.block));
                let s = self.slice_seen(slice, data.bytes);
                let start = block * bs;
                assert!(
                    start < s.bytes as usize,
                    "block {block} beyond slice {slice}"
                );
                let len = (s.bytes as usize - start).min(bs);
                assert_eq!(
                    data.payload.len(),
                    len,
                    "block {block} of slice {slice}: wrong length"
                );
                let offset = s.offset + start as u64;
                s.sent.insert(block);
                for (i, &b) in data.payload.iter().enumerate() {
                    assert_eq!(
                        b,
                        content(offset + i as u64),
                        "byte {i} of block {block} of slice {slice}"
                    );
                }
            }
            Message::Fec(fec) => {
                self.assert_slice_destination(destination);
                let params = self.config.fec.expect("FEC without --fec");
                assert_eq!(fec.stripes, params.stripes);
                let (stripes, redundancy) =
                    (usize::from(params.stripes), usize::from(params.redundancy));
                assert!(
                    usize::from(fec.block) < stripes * redundancy,
                    "FEC block {}",
                    fec.block
                );
                let s = self.slice_seen(fec.slice, fec.bytes);
                if s.fec.is_none() {
                    let config = FecConfig::new(stripes, redundancy, bs).expect("valid");
                    let data = content_range(s.offset, s.bytes as usize);
                    let mut out = vec![0u8; config.fec_len()];
                    Encoder::new(config, Kernel::scalar())
                        .encode_slice(&data, &mut out)
                        .expect("the sender's slices fit its FEC");
                    s.fec = Some(out);
                }
                let expected =
                    &s.fec.as_ref().expect("just made")[usize::from(fec.block) * bs..][..bs];
                assert!(
                    fec.payload == expected,
                    "FEC block {} of slice {} is wrong",
                    fec.block,
                    fec.slice
                );
            }
            Message::Reqack(reqack) => {
                self.assert_slice_destination(destination);
                self.reqack_seen(&reqack, datagram);
            }
            other => panic!("the sender sent {other:?}"),
        }
    }

    fn reqack_seen(&mut self, reqack: &Reqack<'_>, datagram: &[u8]) {
        let (slice, bytes) = (reqack.slice, reqack.bytes);
        let s = self.slice_seen(slice, bytes).clone();
        self.last_reqack = Some((slice, reqack.rxmit));
        let trailer =
            Trailer::parse(trailing_bytes(datagram, Reqack::LEN)).expect("our trailer parses");
        let Some(trailer) = trailer else {
            return;
        };
        let identity = self.identity.expect("a trailer without an identity");
        assert_eq!(trailer.session(), Some(identity.session));
        let data = content_range(s.offset, s.bytes as usize);
        match (trailer.slice_check(), trailer.stream_check()) {
            (Some(check), None) => {
                assert_eq!(
                    Some(check),
                    SliceCheck::of(slice, &data),
                    "wrong check for slice {slice}"
                );
            }
            (None, Some(end)) => {
                assert_eq!(bytes, 0, "a stream digest before the end");
                let mut crc = Crc32c::default();
                crc.update(&content_range(0, self.fed as usize));
                assert_eq!(end, crc.check(), "wrong stream digest");
            }
            other => panic!("REQACK trailer with {other:?}"),
        }
    }

    fn assert_slice_destination(&self, destination: SocketAddrV4) {
        let expected = self.destination.expect("slice data before the start");
        assert_eq!(
            destination, expected,
            "slice data to another destination than announced"
        );
    }
}
