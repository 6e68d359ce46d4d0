//! The receiver's C API: `udpc_receiver`, living in memory the caller provides.
//!
//! ```c
//! udpc_receiver_config cfg;
//! udpc_receiver_config_default(&cfg);
//! cfg.own_address = my_addr; cfg.rendezvous = bcast_addr;
//! size_t n = udpc_receiver_mem_size(&cfg);
//! void *mem = my_static_buffer;                 /* n bytes, any alignment */
//! udpc_receiver *rx;
//! udpc_receiver_init(mem, n, &cfg, now_us(), &rx);
//! /* loop: feed datagrams, timeouts, key; poll transmits, events, output */
//! udpc_receiver_deinit(rx);
//! ```

use crate::authentication::authentication;
use crate::boundary::{bytes, from_net, guard, guard_or, non_null, non_null_mut, put, to_net};
use crate::placement;
use crate::udpc_result;
use core::net::SocketAddrV4;
use udpcast_core::receiver::{Receiver, ReceiverConfig, FULL_STORAGE};
use udpcast_core::time::{Duration, Instant};

mod event;

use event::convert_event;
pub use event::{
    udpc_not_verified_reason, udpc_not_verified_reason_str, udpc_receiver_error,
    udpc_receiver_error_str, udpc_receiver_event, udpc_receiver_event_kind,
};

/// A receiver. Opaque: it lives inside the memory given to [`udpc_receiver_init`], which
/// the caller keeps alive, untouched, until [`udpc_receiver_deinit`].
pub struct udpc_receiver {
    pub(crate) inner: Receiver<'static>,
}

/// A receiver's settings (see `udp-receiver`'s options). Fill with
/// [`udpc_receiver_config_default`] first, then change what you need.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct udpc_receiver_config {
    /// Own unicast address (network byte order).
    pub own_address: u32,
    /// Rendezvous: the interface's broadcast address, a multicast group, or the sender's
    /// address (network byte order).
    pub rendezvous: u32,
    /// Port base P (the receiver listens on P).
    pub portbase: u16,
    /// Never ask to connect (`--passive`).
    pub passive: bool,
    /// A key press (see [`udpc_receiver_handle_key`]) sends GO (not `--nokbd`).
    pub keyboard: bool,
    /// Write zeros for lost blocks and go on (`--ignore-lost-data`).
    pub ignore_lost_data: bool,
    /// Socket receive buffer reported in CONNECT_REQ.
    pub receive_buffer: u32,
    /// `--start-timeout` in milliseconds; 0 = none.
    pub start_timeout_ms: u64,
    /// `--receive-timeout` in milliseconds; 0 = none.
    pub receive_timeout_ms: u64,
    /// `--exit-wait` in milliseconds.
    pub exit_wait_ms: u64,
    /// CONNECT_REQ repetition interval in milliseconds.
    pub connect_retry_ms: u64,
    /// Bytes of slice storage (four slots); 0 = enough for 1024 blocks of 1456 bytes.
    pub slice_storage: usize,
    /// Announce verified transfers (doc/verified-transfers.md) and, with a sender of
    /// udpcast-rs, check every slice and the whole stream (default); udpcast senders ignore
    /// the announcement. False: plain udpcast (`--no-verify`).
    pub verify: bool,
    /// Authenticated transfers (`--key-file`): the key file's `key_material_len` bytes (at
    /// least 16), read only during [`udpc_receiver_init`]; null for an ordinary receiver.
    pub key_material: *const u8,
    /// Bytes at `key_material`.
    pub key_material_len: usize,
    /// With a key: a random non-zero value that this run alone uses (from the system's
    /// random source), which the sender's answer must cover.
    pub auth_nonce: u64,
}

/// Counters.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct udpc_receiver_stats {
    /// Bytes of complete slices.
    pub bytes_received: u64,
    /// Bytes handed out.
    pub bytes_output: u64,
    /// DATA blocks stored.
    pub data_blocks: u64,
    /// FEC blocks used for rebuilding.
    pub fec_blocks_used: u64,
    /// RETRANSMIT requests sent.
    pub retransmit_requests: u64,
    /// Blocks written as zeros.
    pub lost_blocks: u64,
    /// Datagrams from others than the sender during the transfer.
    pub rogue_datagrams: u64,
    /// Malformed or inconsistent datagrams.
    pub malformed_datagrams: u64,
    /// Verified transfers: slices that matched their checksum.
    pub slices_verified: u64,
    /// Verified transfers: complete slices that failed their checksum and were asked for
    /// again in full.
    pub slices_failed: u64,
    /// Verified transfers: slices written without a check; the whole-stream digest still
    /// decides.
    pub slices_unchecked: u64,
    /// Messages from the sender's address that belong to another session.
    pub other_session_messages: u64,
    /// Authenticated transfers: datagrams dropped because they were not authentic, of
    /// another session, or replayed.
    pub auth_rejected: u64,
}

/// Fills `cfg` with udpcast's defaults (addresses 0, port base 9000, exit-wait 500 ms,
/// CONNECT_REQ repeated every second, default storage).
#[no_mangle]
pub extern "C" fn udpc_receiver_config_default(cfg: *mut udpc_receiver_config) -> udpc_result {
    guard(|| {
        if cfg.is_null() {
            return udpc_result::UDPC_ERR_NULL;
        }
        let d = ReceiverConfig::new(
            core::net::Ipv4Addr::UNSPECIFIED,
            core::net::Ipv4Addr::UNSPECIFIED,
        );
        put(
            cfg,
            udpc_receiver_config {
                own_address: 0,
                rendezvous: 0,
                portbase: d.portbase,
                passive: d.passive,
                keyboard: d.keyboard,
                ignore_lost_data: d.ignore_lost_data,
                receive_buffer: 0,
                start_timeout_ms: 0,
                receive_timeout_ms: 0,
                exit_wait_ms: d.exit_wait.as_micros() / 1000,
                connect_retry_ms: d.connect_retry.as_micros() / 1000,
                slice_storage: 0,
                verify: d.verify,
                key_material: core::ptr::null(),
                key_material_len: 0,
                auth_nonce: 0,
            },
        );
        udpc_result::UDPC_OK
    })
}

fn storage_len(cfg: &udpc_receiver_config) -> usize {
    if cfg.slice_storage == 0 {
        FULL_STORAGE
    } else {
        cfg.slice_storage
    }
}

/// Bytes of memory [`udpc_receiver_init`] needs for `cfg` (any alignment). 0 if `cfg` is
/// null.
#[no_mangle]
pub extern "C" fn udpc_receiver_mem_size(cfg: *const udpc_receiver_config) -> usize {
    guard_or(0, || {
        if cfg.is_null() {
            return 0;
        }
        // SAFETY: non-null, points to a config per the API contract.
        let cfg = unsafe { &*cfg };
        placement::size::<udpc_receiver>(storage_len(cfg))
    })
}

/// Creates a receiver inside `mem` (`mem_len` ≥ [`udpc_receiver_mem_size`]) that starts
/// looking for a sender at `now_us`, and stores its handle in `*out`.
///
/// # Safety
/// `mem` must be writable for `mem_len` bytes and stay valid and otherwise unused until
/// [`udpc_receiver_deinit`].
#[no_mangle]
pub unsafe extern "C" fn udpc_receiver_init(
    mem: *mut core::ffi::c_void,
    mem_len: usize,
    cfg: *const udpc_receiver_config,
    now_us: u64,
    out: *mut *mut udpc_receiver,
) -> udpc_result {
    guard(|| {
        let cfg = *non_null!(cfg);
        let _ = non_null_mut!(out);
        let auth = match authentication(cfg.key_material, cfg.key_material_len, cfg.auth_nonce) {
            Ok(auth) => auth,
            Err(e) => return e,
        };
        if mem.is_null() {
            return udpc_result::UDPC_ERR_NULL;
        }
        // SAFETY: the caller keeps `mem` valid and unused until udpc_receiver_deinit.
        let Some((object, storage)) =
            (unsafe { placement::place::<udpc_receiver>(mem.cast(), mem_len, storage_len(&cfg)) })
        else {
            return udpc_result::UDPC_ERR_BUFFER_TOO_SMALL;
        };
        let mut config = ReceiverConfig::new(from_net(cfg.own_address), from_net(cfg.rendezvous));
        config.portbase = cfg.portbase;
        config.passive = cfg.passive;
        config.keyboard = cfg.keyboard;
        config.ignore_lost_data = cfg.ignore_lost_data;
        config.receive_buffer = cfg.receive_buffer;
        config.start_timeout =
            (cfg.start_timeout_ms != 0).then(|| Duration::from_millis(cfg.start_timeout_ms));
        config.receive_timeout =
            (cfg.receive_timeout_ms != 0).then(|| Duration::from_millis(cfg.receive_timeout_ms));
        config.exit_wait = Duration::from_millis(cfg.exit_wait_ms);
        config.connect_retry = Duration::from_millis(cfg.connect_retry_ms.max(1));
        config.verify = cfg.verify;
        config.auth = auth;
        let receiver = udpc_receiver {
            inner: Receiver::new(config, storage, Instant(now_us)),
        };
        // SAFETY: object is aligned and inside the caller's writable block.
        unsafe { object.write(receiver) };
        put(out, object);
        udpc_result::UDPC_OK
    })
}

/// Destroys a receiver; its memory is the caller's again. Null is ignored.
///
/// # Safety
/// `rx` must come from [`udpc_receiver_init`] and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn udpc_receiver_deinit(rx: *mut udpc_receiver) {
    if !rx.is_null() {
        // SAFETY: rx was initialised by udpc_receiver_init and is dropped exactly once.
        let _ = guard(|| {
            unsafe { rx.drop_in_place() };
            udpc_result::UDPC_OK
        });
    }
}

/// A datagram arrived from `from_address:from_port` on any of the receiver's sockets.
#[no_mangle]
pub extern "C" fn udpc_receiver_handle_datagram(
    rx: *mut udpc_receiver,
    now_us: u64,
    from_address: u32,
    from_port: u16,
    data: *const u8,
    len: usize,
) -> udpc_result {
    guard(|| {
        let rx = non_null_mut!(rx);
        let data = bytes!(data, len);
        let from = SocketAddrV4::new(from_net(from_address), from_port);
        rx.inner.handle_datagram(Instant(now_us), from, data);
        udpc_result::UDPC_OK
    })
}

/// A key was pressed (or the keyboard input ended): sends GO if waiting for it.
#[no_mangle]
pub extern "C" fn udpc_receiver_handle_key(rx: *mut udpc_receiver, now_us: u64) -> udpc_result {
    guard(|| {
        non_null_mut!(rx).inner.handle_key(Instant(now_us));
        udpc_result::UDPC_OK
    })
}

/// Time passed: call when the deadline of [`udpc_receiver_poll_timeout`] is reached.
#[no_mangle]
pub extern "C" fn udpc_receiver_handle_timeout(rx: *mut udpc_receiver, now_us: u64) -> udpc_result {
    guard(|| {
        non_null_mut!(rx).inner.handle_timeout(Instant(now_us));
        udpc_result::UDPC_OK
    })
}

/// The operator cancelled: DISCONNECT is queued (if connected) and the receiver stops.
#[no_mangle]
pub extern "C" fn udpc_receiver_abort(rx: *mut udpc_receiver) -> udpc_result {
    guard(|| {
        non_null_mut!(rx).inner.abort();
        udpc_result::UDPC_OK
    })
}

/// The next deadline in `*deadline_us`: `UDPC_OK`, or `UDPC_NOTHING` if there is none.
#[no_mangle]
pub extern "C" fn udpc_receiver_poll_timeout(
    rx: *const udpc_receiver,
    deadline_us: *mut u64,
) -> udpc_result {
    guard(|| {
        let rx = non_null!(rx);
        match rx.inner.poll_timeout() {
            Some(t) => {
                put(deadline_us, t.0);
                udpc_result::UDPC_OK
            }
            None => udpc_result::UDPC_NOTHING,
        }
    })
}

/// The next datagram to send, written into `buf` (140 bytes always suffice, 184 with a
/// key): its length
/// and destination go to the out-pointers. `UDPC_NOTHING` when none is pending.
#[no_mangle]
pub extern "C" fn udpc_receiver_poll_transmit(
    rx: *mut udpc_receiver,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
    to_address: *mut u32,
    to_port: *mut u16,
) -> udpc_result {
    guard(|| {
        let rx = non_null_mut!(rx);
        if buf_len < rx.inner.max_datagram_len() {
            return udpc_result::UDPC_ERR_BUFFER_TOO_SMALL;
        }
        let buf = crate::boundary::bytes_mut!(buf, buf_len);
        match rx.inner.poll_transmit(buf) {
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

/// The next event into `*event`; `UDPC_NOTHING` when none is pending.
#[no_mangle]
pub extern "C" fn udpc_receiver_poll_event(
    rx: *mut udpc_receiver,
    event: *mut udpc_receiver_event,
) -> udpc_result {
    guard(|| {
        let rx = non_null_mut!(rx);
        if event.is_null() {
            return udpc_result::UDPC_ERR_NULL;
        }
        let Some(e) = rx.inner.poll_event() else {
            return udpc_result::UDPC_NOTHING;
        };
        put(event, convert_event(e));
        udpc_result::UDPC_OK
    })
}

/// The next in-order bytes to write out: `*data`/`*len`, and `UDPC_OK`; or len 0 and
/// `UDPC_NOTHING` when there are none. They stay valid until the next call on this
/// receiver; report what was written with [`udpc_receiver_consume_output`].
#[no_mangle]
pub extern "C" fn udpc_receiver_output(
    rx: *const udpc_receiver,
    data: *mut *const u8,
    len: *mut usize,
) -> udpc_result {
    guard(|| {
        let rx = non_null!(rx);
        let out = rx.inner.output();
        put(data, out.as_ptr());
        put(len, out.len());
        if out.is_empty() {
            udpc_result::UDPC_NOTHING
        } else {
            udpc_result::UDPC_OK
        }
    })
}

/// `written` bytes of [`udpc_receiver_output`] were written out.
#[no_mangle]
pub extern "C" fn udpc_receiver_consume_output(
    rx: *mut udpc_receiver,
    written: usize,
) -> udpc_result {
    guard(|| {
        non_null_mut!(rx).inner.consume_output(written);
        udpc_result::UDPC_OK
    })
}

/// Counters so far into `*stats`.
#[no_mangle]
pub extern "C" fn udpc_receiver_get_stats(
    rx: *const udpc_receiver,
    stats: *mut udpc_receiver_stats,
) -> udpc_result {
    guard(|| {
        let s = non_null!(rx).inner.stats();
        if stats.is_null() {
            return udpc_result::UDPC_ERR_NULL;
        }
        put(
            stats,
            udpc_receiver_stats {
                bytes_received: s.bytes_received,
                bytes_output: s.bytes_output,
                data_blocks: s.data_blocks,
                fec_blocks_used: s.fec_blocks_used,
                retransmit_requests: s.retransmit_requests,
                lost_blocks: s.lost_blocks,
                rogue_datagrams: s.rogue_datagrams,
                malformed_datagrams: s.malformed_datagrams,
                slices_verified: s.slices_verified,
                slices_failed: s.slices_failed,
                slices_unchecked: s.slices_unchecked,
                other_session_messages: s.other_session_messages,
                auth_rejected: s.auth_rejected,
            },
        );
        udpc_result::UDPC_OK
    })
}

/// 1 when the receiver is done (finished or failed), else 0; 0 for null.
#[no_mangle]
pub extern "C" fn udpc_receiver_is_closed(rx: *const udpc_receiver) -> bool {
    // SAFETY: a non-null handle points to a live receiver (API contract).
    guard_or(false, || !rx.is_null() && unsafe { &*rx }.inner.is_closed())
}

/// 1 when the whole stream arrived and was handed out, else 0; 0 for null.
#[no_mangle]
pub extern "C" fn udpc_receiver_is_finished(rx: *const udpc_receiver) -> bool {
    // SAFETY: a non-null handle points to a live receiver (API contract).
    guard_or(false, || {
        !rx.is_null() && unsafe { &*rx }.inner.is_finished()
    })
}
