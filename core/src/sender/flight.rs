//! A slice on its way: its first transmission, and the REQACK rounds until every receiver
//! holds it (PROTOCOL.md §3.6, §3.7).

use super::pacing::FirstPass;
use crate::extension::SliceCheck;
use crate::time::Instant;
use crate::wire::Bitmap1024;

pub(crate) struct Flight {
    /// Storage slot holding its bytes (and FEC payloads).
    pub(crate) slot: usize,
    pub(crate) number: u32,
    pub(crate) bytes: u32,
    pub(crate) blocks: u16,
    /// FEC packets sent after the data (stripes × redundancy), 0 without FEC.
    pub(crate) fec_blocks: u16,
    /// Next packet of the first transmission: data blocks, then FEC blocks.
    pub(crate) next: u32,
    /// Whether the streaming hello of this slice went out.
    pub(crate) streaming_hello_sent: bool,
    pub(crate) rxmit: u32,
    pub(crate) ready: Bitmap1024,
    pub(crate) nr_ready: u16,
    pub(crate) answered: Bitmap1024,
    pub(crate) nr_answered: u16,
    /// Blocks asked for again in this round, and those already resent in it.
    pub(crate) resend: Bitmap1024,
    pub(crate) resent: Bitmap1024,
    pub(crate) need_rxmit: bool,
    /// Position of the retransmission pass under way.
    pub(crate) pass_cursor: u16,
    /// Highest block a finished pass skipped (half-duplex shrinking, §3.5); 0 if none ran.
    pub(crate) last_skipped: u16,
    /// When its latest REQACK went out; `None` before the first.
    pub(crate) reqack_at: Option<Instant>,
    /// When its first REQACK went out.
    pub(crate) first_reqack_at: Option<Instant>,
    /// Every receiver has answered one of its REQACKs: each has opened the slice.
    pub(crate) seen_by_all: bool,
    /// Its checksum, for the REQACK trailer of a verified transfer.
    pub(crate) check: Option<SliceCheck>,
    /// What its first transmission and first round showed (`--autorate`).
    pub(crate) first_pass: FirstPass,
}

impl Flight {
    pub(crate) fn new(slot: usize, number: u32, bytes: u32, blocks: u16, fec_blocks: u16) -> Self {
        Flight {
            slot,
            number,
            bytes,
            blocks,
            fec_blocks,
            next: 0,
            streaming_hello_sent: false,
            rxmit: 0,
            ready: Bitmap1024::new(),
            nr_ready: 0,
            answered: Bitmap1024::new(),
            nr_answered: 0,
            resend: Bitmap1024::new(),
            resent: Bitmap1024::new(),
            need_rxmit: false,
            pass_cursor: 0,
            last_skipped: 0,
            reqack_at: None,
            first_reqack_at: None,
            seen_by_all: false,
            check: None,
            first_pass: FirstPass::default(),
        }
    }

    pub(crate) fn packets(&self) -> u32 {
        u32::from(self.blocks) + u32::from(self.fec_blocks)
    }

    pub(crate) fn fully_sent(&self) -> bool {
        self.next >= self.packets()
    }

    /// OK from `client` (§3.7); returns whether it is newly ready.
    pub(crate) fn ok(&mut self, client: u16) -> bool {
        let c = usize::from(client);
        let newly = self.ready.insert(c);
        if newly {
            self.nr_ready += 1;
        }
        if self.answered.insert(c) {
            self.nr_answered += 1;
        }
        newly
    }

    /// RETRANSMIT from `client` listing the blocks it holds (§3.7); returns how many data
    /// blocks it lacks (for its record, not for the protocol).
    pub(crate) fn retransmit(&mut self, client: u16, received: &Bitmap1024) -> u64 {
        self.resend.union_with_complement_of(received);
        self.need_rxmit = true;
        if self.answered.insert(usize::from(client)) {
            self.nr_answered += 1;
        }
        let blocks = usize::from(self.blocks);
        (0..blocks).filter(|&b| !received.contains(b)).count() as u64
    }

    /// Whether this is the empty slice that ends the stream (§3.8): a receiver that
    /// acknowledged it holds everything.
    pub(crate) fn is_end(&self) -> bool {
        self.bytes == 0
    }

    /// Forgets a client that left.
    pub(crate) fn forget(&mut self, client: u16) {
        let c = usize::from(client);
        if self.ready.remove(c) {
            self.nr_ready -= 1;
        }
        if self.answered.remove(c) {
            self.nr_answered -= 1;
        }
    }

    /// The next block of the retransmission pass, or `None` when the pass is over.
    /// A pass resends each requested data block once per round; FEC is never resent.
    pub(crate) fn next_resend(&mut self) -> Option<u16> {
        while self.pass_cursor < self.blocks {
            let block = self.pass_cursor;
            self.pass_cursor += 1;
            let b = usize::from(block);
            if self.resend.contains(b) && self.resent.insert(b) {
                return Some(block);
            }
            self.last_skipped = block;
        }
        self.need_rxmit = false;
        self.pass_cursor = 0;
        None
    }

    /// A REQACK goes out: a new round starts from the ready set (§3.6 "sendReqack").
    pub(crate) fn start_round(&mut self, now: Instant) {
        self.answered = self.ready.clone();
        self.nr_answered = self.nr_ready;
        self.need_rxmit = false;
        self.resend.clear();
        self.resent.clear();
        self.pass_cursor = 0;
        self.reqack_at = Some(now);
        self.first_reqack_at.get_or_insert(now);
    }
}
