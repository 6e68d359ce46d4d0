//! The model sender of `receiver`: HELLO, CONNECT_REPLY, DATA, FEC and REQACK built from
//! its stream with the wire encoders, as the input steers them.

use super::{Harness, Planned, GROUP, NAME, SENDER, SESSION};
use crate::input::Input;
use crate::stream::{content, content_range};
use std::net::Ipv4Addr;
use udpcast_core::extension::integrity::StreamDigest;
use udpcast_core::extension::{Identity, Record, SliceCheck, StreamName, TrailerWriter, MAGIC};
use udpcast_core::fec::{Encoder, FecConfig, Kernel};
use udpcast_core::wire::{
    Bitmap1024, Capabilities, ConnectReply, Data, Fec, Hello, HelloKind, Reqack,
};

impl Harness<'_> {
    /// A slice number near the receiver's progress (or any, rarely).
    fn pick_slice(&mut self, input: &mut Input<'_>) -> u32 {
        let v = input.u8();
        if v >= 248 {
            return input.u32();
        }
        let base = (self.rx.stats().bytes_output / u64::from(self.full.max(1))) as u32;
        (base + u32::from(v % 8)).saturating_sub(2)
    }

    /// The slice's byte count: planned at its first message, kept after (or, rarely,
    /// contradicted, which the model cannot account for).
    fn planned_bytes(&mut self, input: &mut Input<'_>, slice: u32) -> u32 {
        let sel = input.u8();
        if let Some(p) = self.plan.get(&slice) {
            if sel < 244 {
                return p.bytes;
            }
            self.clean = false;
            return input.u32() % (2 * self.full + 2);
        }
        let bytes = match sel {
            0..=175 => self.full,
            176..=215 => 1 + input.below16(self.full as usize) as u32,
            216..=243 => 0,
            _ => {
                self.clean = false;
                return input.u32() % (2 * self.full + 2);
            }
        };
        self.plan.insert(slice, Planned { bytes });
        bytes
    }

    fn slice_data(&self, slice: u32, bytes: u32) -> Vec<u8> {
        content_range(u64::from(slice) * u64::from(self.full), bytes as usize)
    }

    fn identity(&self, total_size: Option<u64>, name: &str) -> Identity {
        Identity {
            session: SESSION,
            name: StreamName::new(name).expect("a valid name"),
            total_size,
        }
    }

    /// Appends the trailer the input chooses after the `len` bytes of a HELLO or
    /// CONNECT_REPLY in `buf`.
    fn identity_trailer(&self, input: &mut Input<'_>, buf: &mut Vec<u8>, len: usize) {
        buf.truncate(len);
        let sel = input.u8() % 6;
        if sel == 3 {
            // Magic, then anything.
            buf.extend_from_slice(&MAGIC);
            buf.extend_from_slice(input.short_bytes());
            return;
        }
        let total_size = (sel == 1).then(|| u64::from(input.u32()));
        buf.resize(len + 512, 0);
        let mut writer = TrailerWriter::new(&mut buf[len..]).expect("room");
        let written = match sel {
            0 | 1 => self.identity(total_size, NAME).write(&mut writer).is_ok(),
            2 => false,
            4 => self.identity(None, "other.img").write(&mut writer).is_ok(),
            _ => writer.push(&Record::Session(SESSION)).is_ok(),
        };
        let total = if written { len + writer.finish() } else { len };
        buf.truncate(total);
    }

    fn capabilities(&self, input: &mut Input<'_>) -> Capabilities {
        match input.u8() % 6 {
            0 | 1 => Capabilities::SENDER,
            2 => Capabilities::SENDER | udpcast_core::extension::VERIFIED,
            3 => Capabilities::SENDER_ASYNC,
            4 => Capabilities::SENDER_ASYNC | udpcast_core::extension::VERIFIED,
            _ => Capabilities::from_bits_retain(input.u32()),
        }
    }

    fn address(input: &mut Input<'_>) -> Ipv4Addr {
        match input.u8() % 4 {
            0 | 1 => GROUP,
            2 => Ipv4Addr::UNSPECIFIED,
            _ => Ipv4Addr::from(input.u32()),
        }
    }

    pub(super) fn hello(&mut self, input: &mut Input<'_>) -> Vec<u8> {
        let kind = match input.u8() % 4 {
            0 | 1 => HelloKind::Hello,
            2 => HelloKind::New,
            _ => HelloKind::Streaming,
        };
        let capabilities = self.capabilities(input);
        let data_address = Self::address(input);
        let block_size = match input.u8() {
            0..=239 => self.block_size as u16,
            _ => input.u16(),
        };
        let mut buf = vec![0u8; Hello::LEN];
        let hello = Hello {
            kind,
            capabilities,
            data_address,
            block_size,
        };
        let len = hello.encode(&mut buf).expect("fits");
        self.identity_trailer(input, &mut buf, len);
        buf
    }

    pub(super) fn connect_reply(&mut self, input: &mut Input<'_>) -> Vec<u8> {
        let client_number = match input.u8() {
            0..=199 => Some(3),
            200..=229 => Some(input.below16(1024) as u16),
            _ => None,
        };
        let block_size = match input.u8() {
            0..=239 => self.block_size as u32,
            _ => input.u32(),
        };
        let capabilities = self.capabilities(input);
        let data_address = Self::address(input);
        let reply = ConnectReply {
            client_number,
            block_size,
            capabilities,
            data_address,
        };
        let mut buf = vec![0u8; ConnectReply::LEN];
        let len = reply.encode(&mut buf).expect("fits");
        self.identity_trailer(input, &mut buf, len);
        buf
    }

    /// The length of a block's payload, changed as the input says.
    fn payload_len(input: &mut Input<'_>, len: usize) -> usize {
        match input.u8() {
            0..=229 => len,
            230..=242 => len.saturating_sub(1 + input.below(8)),
            _ => len + 1 + input.below(8),
        }
    }

    /// Offset of slice `slice` in the model's stream.
    fn offset(&self, slice: u32) -> u64 {
        u64::from(slice) * u64::from(self.full)
    }

    pub(super) fn data(
        &mut self,
        input: &mut Input<'_>,
        slice: Option<u32>,
        block: Option<usize>,
    ) -> Vec<u8> {
        let slice = slice.unwrap_or_else(|| self.pick_slice(input));
        let bytes = self.planned_bytes(input, slice);
        let bs = self.block_size;
        let blocks = (bytes as usize).div_ceil(bs);
        let block = block.unwrap_or_else(|| match input.u8() {
            0..=239 if blocks > 0 => input.below16(blocks.min(1024)),
            _ => input.below16(1024),
        });
        let start = block * bs;
        let len = Self::payload_len(input, (bytes as usize).saturating_sub(start).min(bs));
        let offset = self.offset(slice) + start as u64;
        let payload: Vec<u8> = (0..len)
            .map(|i| {
                if start + i < bytes as usize {
                    content(offset + i as u64)
                } else {
                    0xa5
                }
            })
            .collect();
        let message = Data {
            slice,
            block: block as u16,
            bytes,
            payload: &payload,
        };
        let mut buf = vec![0u8; message.len()];
        message.encode(&mut buf).expect("block below 1024");
        buf
    }

    /// FEC row `row` of stripe `stripe` of a slice, encoded for `stripes` stripes (zeros
    /// where the code cannot serve the slice).
    fn fec_payload(&self, data: &[u8], stripes: usize, stripe: usize, row: usize) -> Vec<u8> {
        let bs = self.block_size;
        let columns: Vec<&[u8]> = data.chunks(bs).skip(stripe).step_by(stripes).collect();
        let Ok(config) = FecConfig::new(1, row + 1, bs) else {
            return vec![0; bs];
        };
        let mut rows = vec![vec![0u8; bs]; row + 1];
        let mut views: Vec<&mut [u8]> = rows.iter_mut().map(Vec::as_mut_slice).collect();
        match Encoder::new(config, Kernel::detect()).encode_stripe(&columns, &mut views) {
            Ok(()) => rows.pop().unwrap_or_default(),
            Err(_) => vec![0; bs],
        }
    }

    pub(super) fn fec(
        &mut self,
        input: &mut Input<'_>,
        slice: Option<u32>,
        number: Option<(usize, usize)>,
    ) -> Vec<u8> {
        let slice = slice.unwrap_or_else(|| self.pick_slice(input));
        let bytes = self.planned_bytes(input, slice);
        let stripes = match input.u8() {
            0..=223 => self.fec_stripes,
            _ => 1 + usize::from(input.u8()),
        };
        let (stripe, row) = number.unwrap_or_else(|| (input.below(stripes), input.below(16)));
        let data = self.slice_data(slice, bytes);
        let mut payload = self.fec_payload(&data, stripes, stripe, row);
        payload.resize(Self::payload_len(input, self.block_size), 0xa5);
        let message = Fec {
            stripes: stripes as u16,
            slice,
            block: (row * stripes + stripe) as u16,
            bytes,
            payload: &payload,
        };
        let mut buf = vec![0u8; message.len()];
        message.encode(&mut buf).expect("stripes above 0");
        buf
    }

    /// The stream's digest up to slice `end`, as the model's sender would announce it.
    fn stream_digest(&self, end: u32) -> udpcast_core::extension::StreamCheck {
        let mut digest = StreamDigest::new();
        // Beyond a few MB the model does not bother: a wrong digest is as good a test.
        if self.offset(end) > 4 << 20 {
            return digest.finalize();
        }
        for slice in 0..end {
            let bytes = self.plan.get(&slice).map_or(self.full, |p| p.bytes);
            digest.update(&self.slice_data(slice, bytes));
        }
        digest.finalize()
    }

    pub(super) fn reqack(&mut self, input: &mut Input<'_>, slice: Option<u32>) -> Vec<u8> {
        let slice = slice.unwrap_or_else(|| self.pick_slice(input));
        let bytes = self.planned_bytes(input, slice);
        let rxmit = u32::from(input.u8());
        let client = usize::from(self.client.unwrap_or(3));
        let ready = match input.u8() % 6 {
            0..=2 => Bitmap1024::new(),
            3 => {
                let mut r = Bitmap1024::new();
                r.insert(client);
                r
            }
            4 => {
                let mut r = Bitmap1024::new();
                r.insert((client + 1) % 1024);
                r
            }
            _ => Bitmap1024::first_n(input.below16(1025)),
        };
        let message = Reqack {
            slice,
            bytes,
            rxmit,
            ready: &ready,
        };
        let mut buf = vec![0u8; Reqack::LEN + 64];
        let len = message.encode(&mut buf).expect("fits");
        let data = self.slice_data(slice, bytes);
        let check = SliceCheck::of(slice, &data).expect("small");
        let session = Record::Session(SESSION);
        let sel = input.u8() % 8;
        let end = Record::StreamDigest(if matches!(sel, 0..=2 | 7) && bytes == 0 || sel == 7 {
            self.stream_digest(slice)
        } else {
            udpcast_core::extension::StreamCheck {
                bytes: 0,
                crc32c: 0,
            }
        });
        let mut writer = TrailerWriter::new(&mut buf[len..]).expect("room");
        let ok = match sel {
            0..=2 if bytes != 0 => writer
                .push(&session)
                .and_then(|w| w.push(&Record::SliceCheck(check)))
                .is_ok(),
            0..=2 => writer.push(&session).and_then(|w| w.push(&end)).is_ok(),
            3 => false,
            4 => {
                let wrong = SliceCheck {
                    crc32c: check.crc32c ^ 1,
                    ..check
                };
                writer
                    .push(&session)
                    .and_then(|w| w.push(&Record::SliceCheck(wrong)))
                    .is_ok()
            }
            5 => writer
                .push(&Record::Session(SESSION ^ 1))
                .and_then(|w| w.push(&Record::SliceCheck(check)))
                .is_ok(),
            6 => writer.push(&Record::SliceCheck(check)).is_ok(),
            _ => writer.push(&session).and_then(|w| w.push(&end)).is_ok(),
        };
        let total = if ok { len + writer.finish() } else { len };
        buf.truncate(total);
        buf
    }

    /// Every DATA block of a slice but those the mask erases, then FEC rows for each
    /// stripe, then a REQACK: the way a slice arrives over a lossy link.
    pub(super) fn whole_slice(&mut self, input: &mut Input<'_>) {
        let slice = self.pick_slice(input);
        let mask = input.u64();
        let fec_rows = input.below(4);
        let with_reqack = input.bool();
        let from = SENDER;
        let bytes = match self.plan.get(&slice) {
            Some(p) => p.bytes,
            None => {
                let mut script = Input::new(&[0]);
                self.planned_bytes(&mut script, slice)
            }
        };
        let blocks = (bytes as usize).div_ceil(self.block_size);
        let exact = &mut Input::new(&[]);
        for block in 0..blocks {
            if mask & (1 << (block % 64)) != 0 {
                continue;
            }
            let datagram = self.data(exact, Some(slice), Some(block));
            self.deliver(from, &datagram);
        }
        for row in 0..fec_rows {
            for stripe in 0..self.fec_stripes {
                let datagram = self.fec(exact, Some(slice), Some((stripe, row)));
                self.deliver(from, &datagram);
            }
        }
        if with_reqack {
            let datagram = self.reqack(exact, Some(slice));
            self.deliver(from, &datagram);
        }
    }
}
