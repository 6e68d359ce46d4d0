//! The sender's side of verified transfers (doc/verified-transfers.md §4): it checksums
//! every slice as it is cut from the input, digests the whole stream, and appends the
//! extension trailer to the messages that carry it.

use crate::extension::integrity::StreamDigest;
use crate::extension::{Identity, Record, SliceCheck, StreamCheck, TrailerWriter};

pub(crate) struct Verification {
    pub(crate) identity: Identity,
    stream: StreamDigest,
    /// The whole stream's digest, once its last byte was cut into a slice.
    end: Option<StreamCheck>,
}

impl Verification {
    pub(crate) fn new(identity: Identity) -> Self {
        Verification {
            identity,
            stream: StreamDigest::new(),
            end: None,
        }
    }

    /// A new slice `number` holding `data`: its check, and the stream digest goes on.
    pub(crate) fn cut(&mut self, number: u32, data: &[u8]) -> Option<SliceCheck> {
        if data.is_empty() {
            self.end = Some(self.stream.clone().finalize());
            return None;
        }
        let check = SliceCheck::of(number, data)?;
        self.stream.add(check.crc32c, u64::from(check.bytes));
        Some(check)
    }

    pub(crate) fn stream_check(&self) -> Option<StreamCheck> {
        self.end
    }

    /// Appends the identity (CONNECT_REPLY to a receiver of ours, async HELLO) after the
    /// `len` bytes of the message in `buf`; returns the datagram's new length. A trailer
    /// that does not fit is left out: the message stays a valid udpcast message.
    pub(crate) fn append_identity(&self, buf: &mut [u8], len: usize) -> usize {
        append(buf, len, |w| self.identity.write(w).is_ok())
    }

    /// The record a slice's message carries: its check, or for the end slice the whole
    /// stream's digest (once known).
    fn check_record(&self, check: Option<SliceCheck>) -> Option<Record<'static>> {
        match (check, self.end) {
            (Some(check), _) => Some(Record::SliceCheck(check)),
            (None, Some(end)) => Some(Record::StreamDigest(end)),
            (None, None) => None,
        }
    }

    /// Appends what a streaming hello carries (doc/verified-transfers.md §4): the identity,
    /// for receivers joining there, and the check of the slice it announces (the stream's
    /// digest for the end slice). Streaming senders send no REQACKs of their own: a
    /// receiver still looking for a sender takes a REQACK for another transfer's and gives
    /// up (udpcast's do too), so the checks cannot travel there.
    pub(crate) fn append_streaming_hello(
        &self,
        buf: &mut [u8],
        len: usize,
        check: Option<SliceCheck>,
    ) -> usize {
        let record = self.check_record(check);
        append(buf, len, |w| {
            self.identity.write(w).is_ok()
                && match &record {
                    Some(record) => w.push(record).is_ok(),
                    None => true,
                }
        })
    }

    /// Appends what a REQACK of a slice carries: its check, or at the end of the stream
    /// the whole stream's digest.
    pub(crate) fn append_reqack(
        &self,
        buf: &mut [u8],
        len: usize,
        check: Option<SliceCheck>,
    ) -> usize {
        let Some(record) = self.check_record(check) else {
            return len;
        };
        append(buf, len, |w| {
            w.push(&Record::Session(self.identity.session))
                .and_then(|w| w.push(&record))
                .is_ok()
        })
    }
}

fn append(buf: &mut [u8], len: usize, fill: impl FnOnce(&mut TrailerWriter<'_>) -> bool) -> usize {
    let Some(rest) = buf.get_mut(len..) else {
        return len;
    };
    let Ok(mut writer) = TrailerWriter::new(rest) else {
        return len;
    };
    if !fill(&mut writer) {
        // Whatever was written stays after the message's end, where no reader looks:
        // without its length the datagram ends at `len`.
        return len;
    }
    len + writer.finish()
}
