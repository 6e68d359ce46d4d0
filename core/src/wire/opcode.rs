//! The opcode that opens every udpcast message (PROTOCOL.md §2.1).

/// The first two bytes of every message, a big-endian `u16`.
///
/// The HELLO value is 0x0500 rather than 5: ancient senders wrote the hello opcode 5 in
/// little-endian host order, putting `05 00` on the wire, and every later version kept
/// those bytes so that old and new receivers both recognise it (PROTOCOL.md §2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u16)]
pub enum Opcode {
    /// OK: a receiver holds a whole slice (receiver → sender).
    Ok = 0,
    /// RETRANSMIT: a receiver lists the data blocks it holds (receiver → sender).
    Retransmit = 1,
    /// GO: a receiver's operator pressed a key to start (receiver → sender).
    Go = 2,
    /// CONNECT_REQ: a receiver asks to take part (receiver → sender).
    ConnectReq = 3,
    /// DISCONNECT: a receiver leaves (receiver → sender).
    Disconnect = 4,
    /// REQACK: the sender asks every receiver about a slice (sender → receivers).
    Reqack = 6,
    /// CONNECT_REPLY: the sender admits (or refuses) one receiver (sender → receiver).
    ConnectReply = 7,
    /// DATA: one block of a slice (sender → receivers).
    Data = 8,
    /// FEC: one forward-error-correction block of a slice (sender → receivers).
    Fec = 9,
    /// HELLO_NEW: a hello that 20120424 accepts but never sends.
    HelloNew = 0x000a,
    /// HELLO_STREAMING: the hello repeated during a streaming transfer.
    HelloStreaming = 0x000b,
    /// HELLO: the sender's normal announcement, bytes `05 00`.
    Hello = 0x0500,
}

impl Opcode {
    /// The opcode with this wire value, or `None` for a value udpcast never uses.
    pub const fn from_u16(value: u16) -> Option<Opcode> {
        Some(match value {
            0 => Opcode::Ok,
            1 => Opcode::Retransmit,
            2 => Opcode::Go,
            3 => Opcode::ConnectReq,
            4 => Opcode::Disconnect,
            6 => Opcode::Reqack,
            7 => Opcode::ConnectReply,
            8 => Opcode::Data,
            9 => Opcode::Fec,
            0x000a => Opcode::HelloNew,
            0x000b => Opcode::HelloStreaming,
            0x0500 => Opcode::Hello,
            _ => return None,
        })
    }

    /// The wire value.
    pub const fn to_u16(self) -> u16 {
        self as u16
    }

    /// udpcast's name for the message, as its diagnostics and PROTOCOL.md spell it.
    pub const fn name(self) -> &'static str {
        match self {
            Opcode::Ok => "OK",
            Opcode::Retransmit => "RETRANSMIT",
            Opcode::Go => "GO",
            Opcode::ConnectReq => "CONNECT_REQ",
            Opcode::Disconnect => "DISCONNECT",
            Opcode::Reqack => "REQACK",
            Opcode::ConnectReply => "CONNECT_REPLY",
            Opcode::Data => "DATA",
            Opcode::Fec => "FEC",
            Opcode::HelloNew => "HELLO_NEW",
            Opcode::HelloStreaming => "HELLO_STREAMING",
            Opcode::Hello => "HELLO",
        }
    }
}

impl core::fmt::Display for Opcode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}
