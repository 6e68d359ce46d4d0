//! The capability word of HELLO, CONNECT_REQ and CONNECT_REPLY (PROTOCOL.md §2.12).

bitflags::bitflags! {
    /// What a peer supports or which mode the sender runs in.
    ///
    /// Unknown bits are kept (`from_bits_retain`) so that a parsed message re-encodes to
    /// the same bytes.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Capabilities: u32 {
        /// The protocol generation every current peer speaks; set by senders and receivers.
        const NEW_GEN = 0x0001;
        /// Obsolete multicast flag; nobody sets it.
        const MULTICAST = 0x0002;
        /// Defined but never set: FEC is announced by the FEC opcode alone.
        const FEC = 0x0004;
        /// Peer uses network byte order; always set, and a sender refuses a transfer whose
        /// common capabilities lack it.
        const BIG_ENDIAN = 0x0008;
        /// Obsolete little-endian flag; nobody sets it.
        const LITTLE_ENDIAN = 0x0010;
        /// The sender runs asynchronously: receivers go passive and never answer.
        const ASYNC = 0x0020;
        // Bits no version defines are carried through untouched.
        const _ = !0;
    }
}

impl Capabilities {
    /// What a receiver announces in CONNECT_REQ: `0x00000009`.
    pub const RECEIVER: Capabilities = Capabilities::NEW_GEN.union(Capabilities::BIG_ENDIAN);
    /// What a synchronous sender announces: `0x00000009`.
    pub const SENDER: Capabilities = Capabilities::NEW_GEN.union(Capabilities::BIG_ENDIAN);
    /// What an `--async` sender announces: `0x00000029`.
    pub const SENDER_ASYNC: Capabilities = Capabilities::SENDER.union(Capabilities::ASYNC);
}

#[cfg(feature = "defmt")]
impl defmt::Format for Capabilities {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "Capabilities({=u32:#010x})", self.bits())
    }
}
