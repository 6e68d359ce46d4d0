//! The wire codec for C tools: parse a datagram into a flat `udpc_message`, or build one.

use crate::boundary::{bytes, bytes_mut, from_net, guard, non_null, put, to_net};
use crate::udpc_result;
use udpcast_core::wire::{
    Bitmap1024, Capabilities, ConnectReply, ConnectReq, Data, Fec, Hello, HelloKind, Message,
    Opcode, Reqack, Retransmit, SliceOk,
};

/// Opcodes (PROTOCOL.md §2.1), as found in [`udpc_message`]'s `opcode`.
#[repr(u16)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum udpc_opcode {
    /// OK.
    UDPC_OP_OK = 0,
    /// RETRANSMIT.
    UDPC_OP_RETRANSMIT = 1,
    /// GO.
    UDPC_OP_GO = 2,
    /// CONNECT_REQ.
    UDPC_OP_CONNECT_REQ = 3,
    /// DISCONNECT.
    UDPC_OP_DISCONNECT = 4,
    /// REQACK.
    UDPC_OP_REQACK = 6,
    /// CONNECT_REPLY.
    UDPC_OP_CONNECT_REPLY = 7,
    /// DATA.
    UDPC_OP_DATA = 8,
    /// FEC.
    UDPC_OP_FEC = 9,
    /// HELLO_NEW (accepted, never sent).
    UDPC_OP_HELLO_NEW = 10,
    /// HELLO_STREAMING.
    UDPC_OP_HELLO_STREAMING = 11,
    /// HELLO (bytes `05 00`).
    UDPC_OP_HELLO = 0x0500,
}

/// Any udpcast message, flattened. Only the fields of its opcode are meaningful; the
/// others are zero. Pointers point into the parsed datagram (or, to encode, the caller's
/// data).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct udpc_message {
    /// Which message: a `udpc_opcode` value.
    pub opcode: u16,
    /// HELLO, CONNECT_REQ, CONNECT_REPLY: capability bits.
    pub capabilities: u32,
    /// HELLO, CONNECT_REPLY: data address (network byte order).
    pub address: u32,
    /// HELLO, CONNECT_REPLY: block size.
    pub block_size: u32,
    /// CONNECT_REPLY: client number, or −1 for a refusal.
    pub client_number: i32,
    /// CONNECT_REQ: receive buffer.
    pub receive_buffer: u32,
    /// OK, RETRANSMIT, REQACK, DATA, FEC: slice number.
    pub slice: u32,
    /// REQACK, DATA, FEC: slice byte count.
    pub bytes: u32,
    /// REQACK, RETRANSMIT: round.
    pub rxmit: u32,
    /// DATA: block number; FEC: FEC block number.
    pub block: u16,
    /// FEC: stripes.
    pub stripes: u16,
    /// DATA, FEC: payload.
    pub payload: *const u8,
    /// DATA, FEC: payload length.
    pub payload_len: usize,
    /// REQACK (ready set), RETRANSMIT (received blocks): 128 bytes, bit n in byte n/8 under
    /// mask 1 << (n % 8).
    pub bitmap: *const u8,
}

/// Parses the datagram `data`/`len` into `*out` (pointers into `data`). `UDPC_ERR_PARSE`
/// for anything that is not a well-formed udpcast message.
#[no_mangle]
pub extern "C" fn udpc_message_parse(
    data: *const u8,
    len: usize,
    out: *mut udpc_message,
) -> udpc_result {
    guard(|| {
        let data = bytes!(data, len);
        if out.is_null() {
            return udpc_result::UDPC_ERR_NULL;
        }
        let Ok(message) = Message::parse(data) else {
            return udpc_result::UDPC_ERR_PARSE;
        };
        let mut m = empty(match message.opcode() {
            Opcode::Ok => udpc_opcode::UDPC_OP_OK,
            Opcode::Retransmit => udpc_opcode::UDPC_OP_RETRANSMIT,
            Opcode::Go => udpc_opcode::UDPC_OP_GO,
            Opcode::ConnectReq => udpc_opcode::UDPC_OP_CONNECT_REQ,
            Opcode::Disconnect => udpc_opcode::UDPC_OP_DISCONNECT,
            Opcode::Reqack => udpc_opcode::UDPC_OP_REQACK,
            Opcode::ConnectReply => udpc_opcode::UDPC_OP_CONNECT_REPLY,
            Opcode::Data => udpc_opcode::UDPC_OP_DATA,
            Opcode::Fec => udpc_opcode::UDPC_OP_FEC,
            Opcode::HelloNew => udpc_opcode::UDPC_OP_HELLO_NEW,
            Opcode::HelloStreaming => udpc_opcode::UDPC_OP_HELLO_STREAMING,
            Opcode::Hello => udpc_opcode::UDPC_OP_HELLO,
        } as u16);
        match message {
            Message::Hello(h) => {
                m.capabilities = h.capabilities.bits();
                m.address = to_net(h.data_address);
                m.block_size = u32::from(h.block_size);
            }
            Message::ConnectReq(r) => {
                m.capabilities = r.capabilities.bits();
                m.receive_buffer = r.receive_buffer;
            }
            Message::ConnectReply(r) => {
                m.capabilities = r.capabilities.bits();
                m.address = to_net(r.data_address);
                m.block_size = r.block_size;
                m.client_number = r.client_number.map_or(-1, i32::from);
            }
            Message::Go | Message::Disconnect => {}
            Message::Ok(ok) => m.slice = ok.slice,
            Message::Retransmit(r) => {
                m.slice = r.slice;
                m.rxmit = r.rxmit;
                m.bitmap = r.received.as_bytes().as_ptr();
            }
            Message::Reqack(r) => {
                m.slice = r.slice;
                m.bytes = r.bytes;
                m.rxmit = r.rxmit;
                m.bitmap = r.ready.as_bytes().as_ptr();
            }
            Message::Data(d) => {
                m.slice = d.slice;
                m.block = d.block;
                m.bytes = d.bytes;
                m.payload = d.payload.as_ptr();
                m.payload_len = d.payload.len();
            }
            Message::Fec(f) => {
                m.stripes = f.stripes;
                m.slice = f.slice;
                m.block = f.block;
                m.bytes = f.bytes;
                m.payload = f.payload.as_ptr();
                m.payload_len = f.payload.len();
            }
        }
        put(out, m);
        udpc_result::UDPC_OK
    })
}

fn empty(opcode: u16) -> udpc_message {
    udpc_message {
        opcode,
        capabilities: 0,
        address: 0,
        block_size: 0,
        client_number: 0,
        receive_buffer: 0,
        slice: 0,
        bytes: 0,
        rxmit: 0,
        block: 0,
        stripes: 0,
        payload: core::ptr::null(),
        payload_len: 0,
        bitmap: core::ptr::null(),
    }
}

/// Writes `*msg` into `buf` (zeros in every reserved and uninitialised area) and its length
/// into `*out_len`. `UDPC_ERR_INVALID` for values the wire cannot carry,
/// `UDPC_ERR_BUFFER_TOO_SMALL` if `buf` is too small.
#[no_mangle]
pub extern "C" fn udpc_message_encode(
    msg: *const udpc_message,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> udpc_result {
    guard(|| {
        let m = non_null!(msg);
        let buf = bytes_mut!(buf, len);
        let caps = Capabilities::from_bits_retain(m.capabilities);
        let payload = bytes!(m.payload, m.payload_len);
        let bitmap = if m.bitmap.is_null() {
            Bitmap1024::new()
        } else {
            // SAFETY: a non-null bitmap points to 128 readable bytes (documented).
            let raw = unsafe { core::slice::from_raw_parts(m.bitmap, Bitmap1024::BYTES) };
            let mut bytes = [0u8; Bitmap1024::BYTES];
            bytes.copy_from_slice(raw);
            Bitmap1024::from_bytes(bytes)
        };
        let hello = |kind| {
            Message::Hello(Hello {
                kind,
                capabilities: caps,
                data_address: from_net(m.address),
                block_size: m.block_size as u16,
            })
        };
        let Some(opcode) = Opcode::from_u16(m.opcode) else {
            return udpc_result::UDPC_ERR_INVALID;
        };
        if matches!(
            opcode,
            Opcode::Hello | Opcode::HelloNew | Opcode::HelloStreaming
        ) && m.block_size > u32::from(u16::MAX)
        {
            return udpc_result::UDPC_ERR_INVALID;
        }
        let message = match opcode {
            Opcode::Hello => hello(HelloKind::Hello),
            Opcode::HelloNew => hello(HelloKind::New),
            Opcode::HelloStreaming => hello(HelloKind::Streaming),
            Opcode::ConnectReq => Message::ConnectReq(ConnectReq {
                capabilities: caps,
                receive_buffer: m.receive_buffer,
            }),
            Opcode::ConnectReply => {
                let client_number = match m.client_number {
                    -1 => None,
                    n @ 0..=1023 => Some(n as u16),
                    _ => return udpc_result::UDPC_ERR_INVALID,
                };
                Message::ConnectReply(ConnectReply {
                    client_number,
                    block_size: m.block_size,
                    capabilities: caps,
                    data_address: from_net(m.address),
                })
            }
            Opcode::Go => Message::Go,
            Opcode::Disconnect => Message::Disconnect,
            Opcode::Ok => Message::Ok(SliceOk { slice: m.slice }),
            Opcode::Retransmit => Message::Retransmit(Retransmit {
                slice: m.slice,
                rxmit: m.rxmit,
                received: &bitmap,
            }),
            Opcode::Reqack => Message::Reqack(Reqack {
                slice: m.slice,
                bytes: m.bytes,
                rxmit: m.rxmit,
                ready: &bitmap,
            }),
            Opcode::Data => Message::Data(Data {
                slice: m.slice,
                block: m.block,
                bytes: m.bytes,
                payload,
            }),
            Opcode::Fec => Message::Fec(Fec {
                stripes: m.stripes,
                slice: m.slice,
                block: m.block,
                bytes: m.bytes,
                payload,
            }),
        };
        match message.encode(buf) {
            Ok(n) => {
                put(out_len, n);
                udpc_result::UDPC_OK
            }
            Err(udpcast_core::wire::EncodeError::BufferTooSmall { .. }) => {
                udpc_result::UDPC_ERR_BUFFER_TOO_SMALL
            }
            Err(_) => udpc_result::UDPC_ERR_INVALID,
        }
    })
}
