//! The sender's C API: `udpc_sender`, living in memory the caller provides. The caller
//! reads its input straight into the sender's slice storage
//! ([`udpc_sender_input_buffer`]).

use crate::authentication::{authentication, convert_auth_failure, udpc_auth_failure};
use crate::boundary::{
    bytes, bytes_mut, from_net, guard, guard_or, non_null, non_null_mut, put, to_net,
};
use crate::placement;
use crate::udpc_result;
use core::net::SocketAddrV4;
use udpcast_core::sender::{
    Duplex, Event, FecParams, LeaveReason, PointToPoint, Sender, SenderConfig, SenderError,
};
use udpcast_core::time::{Duration, Instant};

/// A sender. Opaque: it lives inside the memory given to [`udpc_sender_init`], which the
/// caller keeps alive, untouched, until [`udpc_sender_deinit`].
pub struct udpc_sender {
    pub(crate) inner: Sender<'static>,
}

/// `--pointopoint` choice.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum udpc_pointopoint {
    /// Unicast when exactly one receiver is connected.
    UDPC_P2P_AUTO = 0,
    /// `--pointopoint`.
    UDPC_P2P_ALWAYS = 1,
    /// `--nopointopoint`.
    UDPC_P2P_NEVER = 2,
}

/// A sender's settings (see `udp-sender`'s options). Fill with
/// [`udpc_sender_config_default`] first.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct udpc_sender_config {
    /// Own unicast address (network byte order).
    pub own_address: u32,
    /// Rendezvous address (network byte order).
    pub rendezvous: u32,
    /// Data group (network byte order).
    pub data_group: u32,
    /// Port base P (the sender uses P + 1).
    pub portbase: u16,
    /// Bytes per block.
    pub block_size: u16,
    /// Point-to-point rule: a `udpc_pointopoint` value.
    pub pointopoint: u32,
    /// `--broadcast`.
    pub broadcast: bool,
    /// `--half-duplex` (else full duplex).
    pub half_duplex: bool,
    /// `--async`.
    pub asynchronous: bool,
    /// `--fec` stripes; 0 = no FEC.
    pub fec_stripes: u16,
    /// `--fec` redundancy.
    pub fec_redundancy: u16,
    /// `--fec` stripe size.
    pub fec_stripe_size: u16,
    /// `--max-bitrate` in bits per second; 0 = unlimited.
    pub max_bitrate: u64,
    /// `--autorate`: the rate is learned from the receivers' answers, never above
    /// `max_bitrate` (synchronous transfers only).
    pub autorate: bool,
    /// `--rexmit-hello-interval` in ms; 0 = default.
    pub hello_interval_ms: u64,
    /// `--autostart`.
    pub autostart: u32,
    /// `--min-receivers`.
    pub min_receivers: u32,
    /// `--min-wait` in ms; 0 = none.
    pub min_wait_ms: u64,
    /// `--max-wait` in ms; 0 = none.
    pub max_wait_ms: u64,
    /// `--start-timeout` in ms; 0 = none.
    pub start_timeout_ms: u64,
    /// `--retries-until-drop`.
    pub retries_until_drop: u32,
    /// Drop receivers silent this long, in ms.
    pub drop_timeout_ms: u64,
    /// `--min-slice-size`.
    pub min_slice_size: u16,
    /// `--slice-size`; 0 = automatic.
    pub slice_size: u16,
    /// `--max-slice-size`.
    pub max_slice_size: u16,
    /// `--streaming`.
    pub streaming: bool,
    /// `--rehello-offset`.
    pub rehello_offset: u16,
    /// Authenticated transfers (`--key-file`): the key file's `key_material_len` bytes (at
    /// least 16), read only by [`udpc_sender_init`] and [`udpc_sender_mem_size`]; null for
    /// an ordinary sender. Blocks are then at most 1420 bytes.
    pub key_material: *const u8,
    /// Bytes at `key_material`.
    pub key_material_len: usize,
    /// With a key: the session id, random and non-zero, that this run alone uses.
    pub auth_nonce: u64,
    /// With a key: also encipher every block (`--encrypt`); receivers with the key
    /// decipher them. Without a key, `UDPC_ERR_INVALID`.
    pub encrypt: bool,
}

/// What happened (the `kind` of a [`udpc_sender_event`]).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum udpc_sender_event_kind {
    /// A receiver connected.
    UDPC_TX_CONNECTED = 1,
    /// A receiver disconnected (`dropped` false) or was dropped (true).
    UDPC_TX_LEFT = 2,
    /// The transfer started: feed the input from now on.
    UDPC_TX_STARTED = 3,
    /// The slice size changed.
    UDPC_TX_SLICE_SIZE = 4,
    /// Everything was sent and acknowledged.
    UDPC_TX_FINISHED = 5,
    /// The sender gave up: see `error`.
    UDPC_TX_FAILED = 6,
    /// Authenticated transfers: datagrams from `address`:`port` were dropped for
    /// `auth_failure` (at most once per 10 s per address; `auth_rejected` counts them all).
    UDPC_TX_AUTH_REJECTED = 7,
}

/// Why a sender gave up. Fixed numbers.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum udpc_sender_error {
    /// No error.
    UDPC_TXERR_NONE = 0,
    /// The configuration cannot work.
    UDPC_TXERR_INVALID_CONFIG = 1,
    /// The memory is too small.
    UDPC_TXERR_STORAGE_TOO_SMALL = 2,
    /// Started with no receiver.
    UDPC_TXERR_NO_PARTICIPANTS = 3,
    /// Nothing happened before the start timeout.
    UDPC_TXERR_START_TIMEOUT = 4,
    /// A receiver is not big-endian capable.
    UDPC_TXERR_INCOMPATIBLE_PEER = 5,
    /// Every receiver left before the end.
    UDPC_TXERR_ALL_RECEIVERS_GONE = 6,
}

/// An event polled with [`udpc_sender_poll_event`]. Fields not concerned are zero.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct udpc_sender_event {
    /// What happened.
    pub kind: udpc_sender_event_kind,
    /// The client concerned (connected, left).
    pub client: u16,
    /// Its address (network byte order) (connected, left).
    pub address: u32,
    /// Its port (connected).
    pub port: u16,
    /// Capabilities: the receiver's (connected) or the common ones (started).
    pub capabilities: u32,
    /// Dropped for silence rather than disconnected (left).
    pub dropped: bool,
    /// Data destination (started).
    pub destination: u32,
    /// Receivers taking part (started).
    pub receivers: u16,
    /// New slice size (slice size).
    pub slice_size: u16,
    /// Why it failed (failed).
    pub error: udpc_sender_error,
    /// Why datagrams were refused (auth rejected).
    pub auth_failure: udpc_auth_failure,
}

/// Counters.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct udpc_sender_stats {
    /// Input bytes sent.
    pub bytes_sent: u64,
    /// Blocks sent, retransmissions included.
    pub blocks_sent: u64,
    /// Blocks sent again.
    pub blocks_resent: u64,
    /// Current slice size.
    pub slice_size: u16,
    /// Receivers connected.
    pub receivers: u16,
    /// Authenticated transfers: datagrams dropped because they were not authentic, of
    /// another session, or replayed.
    pub auth_rejected: u64,
}

/// Fills `cfg` with udpcast's defaults.
#[no_mangle]
pub extern "C" fn udpc_sender_config_default(cfg: *mut udpc_sender_config) -> udpc_result {
    guard(|| {
        if cfg.is_null() {
            return udpc_result::UDPC_ERR_NULL;
        }
        let any = core::net::Ipv4Addr::UNSPECIFIED;
        let d = SenderConfig::new(any, any, any);
        put(
            cfg,
            udpc_sender_config {
                own_address: 0,
                rendezvous: 0,
                data_group: 0,
                portbase: d.portbase,
                block_size: d.block_size,
                pointopoint: udpc_pointopoint::UDPC_P2P_AUTO as u32,
                broadcast: false,
                half_duplex: false,
                asynchronous: false,
                fec_stripes: 0,
                fec_redundancy: 0,
                fec_stripe_size: 0,
                max_bitrate: 0,
                autorate: false,
                hello_interval_ms: 0,
                autostart: 0,
                min_receivers: 0,
                min_wait_ms: 0,
                max_wait_ms: 0,
                start_timeout_ms: 0,
                retries_until_drop: d.retries_until_drop,
                drop_timeout_ms: d.drop_timeout.as_micros() / 1000,
                min_slice_size: d.min_slice_size,
                slice_size: 0,
                max_slice_size: d.max_slice_size,
                streaming: false,
                rehello_offset: d.rehello_offset,
                key_material: core::ptr::null(),
                key_material_len: 0,
                auth_nonce: 0,
                encrypt: false,
            },
        );
        udpc_result::UDPC_OK
    })
}

/// The core configuration, or the result code for values C may send that mean nothing.
fn config(c: &udpc_sender_config) -> Result<SenderConfig, udpc_result> {
    let ms = |v: u64| (v != 0).then(|| Duration::from_millis(v));
    let mut s = SenderConfig::new(
        from_net(c.own_address),
        from_net(c.rendezvous),
        from_net(c.data_group),
    );
    s.portbase = c.portbase;
    s.block_size = c.block_size;
    s.pointopoint = match c.pointopoint {
        0 => PointToPoint::Auto,
        1 => PointToPoint::Always,
        2 => PointToPoint::Never,
        _ => return Err(udpc_result::UDPC_ERR_INVALID),
    };
    s.broadcast = c.broadcast;
    s.duplex = if c.half_duplex {
        Duplex::Half
    } else {
        Duplex::Full
    };
    s.asynchronous = c.asynchronous;
    s.fec = (c.fec_stripes != 0).then_some(FecParams {
        stripes: c.fec_stripes,
        redundancy: c.fec_redundancy,
        stripe_size: c.fec_stripe_size,
    });
    s.max_bitrate = (c.max_bitrate != 0).then_some(c.max_bitrate);
    s.autorate = c.autorate;
    s.hello_interval = ms(c.hello_interval_ms);
    s.autostart = c.autostart;
    s.min_receivers = c.min_receivers;
    s.min_wait = ms(c.min_wait_ms);
    s.max_wait = ms(c.max_wait_ms);
    s.start_timeout = ms(c.start_timeout_ms);
    s.retries_until_drop = c.retries_until_drop;
    s.drop_timeout = Duration::from_millis(c.drop_timeout_ms);
    s.min_slice_size = c.min_slice_size;
    s.slice_size = (c.slice_size != 0).then_some(c.slice_size);
    s.max_slice_size = c.max_slice_size;
    s.streaming = c.streaming;
    s.rehello_offset = c.rehello_offset;
    s.auth = authentication(c.key_material, c.key_material_len, c.auth_nonce)?;
    s.encrypt = c.encrypt;
    Ok(s)
}

/// Bytes of memory [`udpc_sender_init`] needs for `cfg` (any alignment); 0 for null.
#[no_mangle]
pub extern "C" fn udpc_sender_mem_size(cfg: *const udpc_sender_config) -> usize {
    guard_or(0, || {
        if cfg.is_null() {
            return 0;
        }
        // SAFETY: non-null, points to a config per the API contract.
        let Ok(c) = config(unsafe { &*cfg }) else {
            return 0;
        };
        placement::size::<udpc_sender>(Sender::storage_size(&c))
    })
}

/// Creates a sender inside `mem` that announces itself at `now_us`; its handle goes to
/// `*out`. `UDPC_ERR_INVALID` for a configuration that cannot work.
///
/// # Safety
/// `mem` must be writable for `mem_len` bytes and stay valid and otherwise unused until
/// [`udpc_sender_deinit`].
#[no_mangle]
pub unsafe extern "C" fn udpc_sender_init(
    mem: *mut core::ffi::c_void,
    mem_len: usize,
    cfg: *const udpc_sender_config,
    now_us: u64,
    out: *mut *mut udpc_sender,
) -> udpc_result {
    guard(|| {
        let c = match config(non_null!(cfg)) {
            Ok(c) => c,
            Err(e) => return e,
        };
        let _ = non_null_mut!(out);
        if mem.is_null() {
            return udpc_result::UDPC_ERR_NULL;
        }
        // SAFETY: the caller keeps `mem` valid and unused until udpc_sender_deinit.
        let Some((object, storage)) = (unsafe {
            placement::place::<udpc_sender>(mem.cast(), mem_len, Sender::storage_size(&c))
        }) else {
            return udpc_result::UDPC_ERR_BUFFER_TOO_SMALL;
        };
        match Sender::new(c, storage, Instant(now_us)) {
            Ok(inner) => {
                // SAFETY: object is aligned and inside the caller's writable block.
                unsafe { object.write(udpc_sender { inner }) };
                put(out, object);
                udpc_result::UDPC_OK
            }
            Err(_) => udpc_result::UDPC_ERR_INVALID,
        }
    })
}

/// Destroys a sender; its memory is the caller's again. Null is ignored.
///
/// # Safety
/// `tx` must come from [`udpc_sender_init`] and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn udpc_sender_deinit(tx: *mut udpc_sender) {
    if !tx.is_null() {
        let _ = guard(|| {
            // SAFETY: initialised by udpc_sender_init, dropped exactly once.
            unsafe { tx.drop_in_place() };
            udpc_result::UDPC_OK
        });
    }
}

/// A datagram arrived from `from_address:from_port`.
#[no_mangle]
pub extern "C" fn udpc_sender_handle_datagram(
    tx: *mut udpc_sender,
    now_us: u64,
    from_address: u32,
    from_port: u16,
    data: *const u8,
    len: usize,
) -> udpc_result {
    guard(|| {
        let tx = non_null_mut!(tx);
        let data = bytes!(data, len);
        tx.inner.handle_datagram(
            Instant(now_us),
            SocketAddrV4::new(from_net(from_address), from_port),
            data,
        );
        udpc_result::UDPC_OK
    })
}

/// A key was pressed: start now.
#[no_mangle]
pub extern "C" fn udpc_sender_handle_key(tx: *mut udpc_sender, now_us: u64) -> udpc_result {
    guard(|| {
        non_null_mut!(tx).inner.handle_key(Instant(now_us));
        udpc_result::UDPC_OK
    })
}

/// Time passed: call when the deadline of [`udpc_sender_poll_timeout`] is reached.
#[no_mangle]
pub extern "C" fn udpc_sender_handle_timeout(tx: *mut udpc_sender, now_us: u64) -> udpc_result {
    guard(|| {
        non_null_mut!(tx).inner.handle_timeout(Instant(now_us));
        udpc_result::UDPC_OK
    })
}

/// The next deadline (timers, pacing) in `*deadline_us`, or `UDPC_NOTHING`.
#[no_mangle]
pub extern "C" fn udpc_sender_poll_timeout(
    tx: *mut udpc_sender,
    now_us: u64,
    deadline_us: *mut u64,
) -> udpc_result {
    guard(
        || match non_null_mut!(tx).inner.poll_timeout(Instant(now_us)) {
            Some(t) => {
                put(deadline_us, t.0);
                udpc_result::UDPC_OK
            }
            None => udpc_result::UDPC_NOTHING,
        },
    )
}

/// The room `udpc_sender_poll_transmit` needs for any datagram, into `*len`: 16 + the
/// block size, at least 512 (the longest control message), and 36 more with a key.
#[no_mangle]
pub extern "C" fn udpc_sender_max_datagram_len(
    tx: *const udpc_sender,
    len: *mut usize,
) -> udpc_result {
    guard(|| {
        let tx = non_null!(tx);
        if len.is_null() {
            return udpc_result::UDPC_ERR_NULL;
        }
        put(len, tx.inner.max_datagram_len());
        udpc_result::UDPC_OK
    })
}

/// The next datagram, written into `buf` (at least `udpc_sender_max_datagram_len` bytes,
/// else `UDPC_ERR_BUFFER_TOO_SMALL` and the datagram stays due), with its length and
/// destination; `UDPC_NOTHING` when nothing may be sent now.
#[no_mangle]
pub extern "C" fn udpc_sender_poll_transmit(
    tx: *mut udpc_sender,
    now_us: u64,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
    to_address: *mut u32,
    to_port: *mut u16,
) -> udpc_result {
    guard(|| {
        let tx = non_null_mut!(tx);
        if buf_len < tx.inner.max_datagram_len() {
            return udpc_result::UDPC_ERR_BUFFER_TOO_SMALL;
        }
        let buf = bytes_mut!(buf, buf_len);
        match tx.inner.poll_transmit(Instant(now_us), buf) {
            Some(t) => {
                put(out_len, t.len);
                put(to_address, to_net(*t.destination.ip()));
                put(to_port, t.destination.port());
                udpc_result::UDPC_OK
            }
            None => udpc_result::UDPC_NOTHING,
        }
    })
}

/// The next event into `*event`, or `UDPC_NOTHING`.
#[no_mangle]
pub extern "C" fn udpc_sender_poll_event(
    tx: *mut udpc_sender,
    event: *mut udpc_sender_event,
) -> udpc_result {
    guard(|| {
        let tx = non_null_mut!(tx);
        if event.is_null() {
            return udpc_result::UDPC_ERR_NULL;
        }
        let Some(e) = tx.inner.poll_event() else {
            return udpc_result::UDPC_NOTHING;
        };
        use udpc_sender_event_kind::*;
        let mut ev = udpc_sender_event {
            kind: UDPC_TX_FINISHED,
            client: 0,
            address: 0,
            port: 0,
            capabilities: 0,
            dropped: false,
            destination: 0,
            receivers: 0,
            slice_size: 0,
            error: udpc_sender_error::UDPC_TXERR_NONE,
            auth_failure: udpc_auth_failure::UDPC_AUTH_NONE,
        };
        match e {
            Event::Connected {
                client,
                address,
                capabilities,
            } => {
                ev.kind = UDPC_TX_CONNECTED;
                ev.client = client;
                ev.address = to_net(*address.ip());
                ev.port = address.port();
                ev.capabilities = capabilities.bits();
            }
            Event::Left {
                client,
                address,
                reason,
            } => {
                ev.kind = UDPC_TX_LEFT;
                ev.client = client;
                ev.address = to_net(address);
                ev.dropped = reason == LeaveReason::Dropped;
            }
            Event::Started {
                capabilities,
                destination,
                receivers,
            } => {
                ev.kind = UDPC_TX_STARTED;
                ev.capabilities = capabilities.bits();
                ev.destination = to_net(*destination.ip());
                ev.receivers = receivers;
            }
            Event::SliceSize(n) => {
                ev.kind = UDPC_TX_SLICE_SIZE;
                ev.slice_size = n;
            }
            Event::Finished => ev.kind = UDPC_TX_FINISHED,
            Event::AuthRejected { from, reason } => {
                ev.kind = UDPC_TX_AUTH_REJECTED;
                ev.address = to_net(*from.ip());
                ev.port = from.port();
                ev.auth_failure = convert_auth_failure(reason);
            }
            Event::Failed(error) => {
                ev.kind = UDPC_TX_FAILED;
                ev.error = match error {
                    SenderError::InvalidConfig(_) => udpc_sender_error::UDPC_TXERR_INVALID_CONFIG,
                    SenderError::StorageTooSmall { .. } => {
                        udpc_sender_error::UDPC_TXERR_STORAGE_TOO_SMALL
                    }
                    SenderError::NoParticipants => udpc_sender_error::UDPC_TXERR_NO_PARTICIPANTS,
                    SenderError::StartTimeout => udpc_sender_error::UDPC_TXERR_START_TIMEOUT,
                    SenderError::IncompatiblePeer => {
                        udpc_sender_error::UDPC_TXERR_INCOMPATIBLE_PEER
                    }
                    SenderError::AllReceiversGone => {
                        udpc_sender_error::UDPC_TXERR_ALL_RECEIVERS_GONE
                    }
                };
            }
        }
        put(event, ev);
        udpc_result::UDPC_OK
    })
}

/// Where to read input to: `*data`/`*len` inside the slice storage (len 0 when no input is
/// wanted now). Report what was read with [`udpc_sender_input_written`].
#[no_mangle]
pub extern "C" fn udpc_sender_input_buffer(
    tx: *mut udpc_sender,
    data: *mut *mut u8,
    len: *mut usize,
) -> udpc_result {
    guard(|| {
        let room = non_null_mut!(tx).inner.input_buffer();
        put(data, room.as_mut_ptr());
        put(len, room.len());
        if room.is_empty() {
            udpc_result::UDPC_NOTHING
        } else {
            udpc_result::UDPC_OK
        }
    })
}

/// `n` bytes were read into the input buffer.
#[no_mangle]
pub extern "C" fn udpc_sender_input_written(tx: *mut udpc_sender, n: usize) -> udpc_result {
    guard(|| {
        non_null_mut!(tx).inner.input_written(n);
        udpc_result::UDPC_OK
    })
}

/// The input ended.
#[no_mangle]
pub extern "C" fn udpc_sender_input_end(tx: *mut udpc_sender) -> udpc_result {
    guard(|| {
        non_null_mut!(tx).inner.input_end();
        udpc_result::UDPC_OK
    })
}

/// Counters so far.
#[no_mangle]
pub extern "C" fn udpc_sender_get_stats(
    tx: *const udpc_sender,
    stats: *mut udpc_sender_stats,
) -> udpc_result {
    guard(|| {
        let s = non_null!(tx).inner.stats();
        if stats.is_null() {
            return udpc_result::UDPC_ERR_NULL;
        }
        put(
            stats,
            udpc_sender_stats {
                bytes_sent: s.bytes_sent,
                blocks_sent: s.blocks_sent,
                blocks_resent: s.blocks_resent,
                slice_size: s.slice_size,
                receivers: s.receivers,
                auth_rejected: s.auth_rejected,
            },
        );
        udpc_result::UDPC_OK
    })
}

/// 1 when the sender is done (finished or failed); 0 for null.
#[no_mangle]
pub extern "C" fn udpc_sender_is_closed(tx: *const udpc_sender) -> bool {
    // SAFETY: a non-null handle points to a live sender (API contract).
    guard_or(false, || !tx.is_null() && unsafe { &*tx }.inner.is_closed())
}

/// 1 when everything was sent and acknowledged; 0 for null.
#[no_mangle]
pub extern "C" fn udpc_sender_is_finished(tx: *const udpc_sender) -> bool {
    // SAFETY: a non-null handle points to a live sender (API contract).
    guard_or(false, || {
        !tx.is_null() && unsafe { &*tx }.inner.is_finished()
    })
}
