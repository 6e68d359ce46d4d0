//! Verified transfers in the C API (doc/verified-transfers.md): the stream's identity —
//! session id, name, size — that a sender is given and a receiver learns, the name a
//! receiver insists on, and the whole-stream digest. What is checked, and when, is core's
//! business; these functions only carry it across.
//!
//! ```c
//! /* sender: before the transfer starts */
//! udpc_sender_set_identity(tx, random_u64(), "disk.img", true, image_size);
//! /* receiver: before the first datagram */
//! udpc_receiver_expect_name(rx, "disk.img");
//! /* on UDPC_RX_IDENTIFIED */
//! udpc_identity id;
//! if (udpc_receiver_identity(rx, &id) == UDPC_OK) printf("%s\n", id.name);
//! ```

use crate::boundary::{guard, guard_or, non_null, non_null_mut, put};
use crate::receiver::udpc_receiver;
use crate::sender::udpc_sender;
use crate::udpc_result;
use core::ffi::{c_char, CStr};
use udpcast_core::extension::{Identity, StreamName, MAX_NAME_LEN};

/// Bytes of [`udpc_identity`]'s `name`: the longest stream name (255 bytes of UTF-8) and
/// its terminating NUL.
pub const UDPC_NAME_SIZE: usize = 256;

const _: () = assert!(UDPC_NAME_SIZE == MAX_NAME_LEN + 1);

/// A stream's identity, as a sender of udpcast-rs announces it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct udpc_identity {
    /// The sender's random session id, chosen once per run.
    pub session: u64,
    /// The stream's length in bytes, when `has_total_size`.
    pub total_size: u64,
    /// The sender knew the stream's length before sending (a file, not a pipe).
    pub has_total_size: bool,
    /// The stream's name: 1–255 bytes of UTF-8 without control characters, NUL-terminated.
    pub name: [c_char; UDPC_NAME_SIZE],
}

impl udpc_identity {
    fn from_core(identity: &Identity) -> Self {
        let mut name = [0; UDPC_NAME_SIZE];
        // At most MAX_NAME_LEN bytes, so the last one stays the NUL.
        for (to, &from) in name.iter_mut().zip(identity.name.as_str().as_bytes()) {
            *to = from as c_char;
        }
        udpc_identity {
            session: identity.session,
            total_size: identity.total_size.unwrap_or(0),
            has_total_size: identity.total_size.is_some(),
            name,
        }
    }
}

/// A stream name from C: `UDPC_ERR_NULL` for null, `UDPC_ERR_INVALID` for a name the
/// extension refuses (empty, longer than 255 bytes, not UTF-8, control characters).
fn stream_name(name: *const c_char) -> Result<StreamName, udpc_result> {
    if name.is_null() {
        return Err(udpc_result::UDPC_ERR_NULL);
    }
    // SAFETY: non-null, and the API contract says it is a NUL-terminated string.
    let name = unsafe { CStr::from_ptr(name) };
    let name = name.to_str().map_err(|_| udpc_result::UDPC_ERR_INVALID)?;
    StreamName::new(name).map_err(|_| udpc_result::UDPC_ERR_INVALID)
}

/// Refuse any stream not called `name` (a NUL-terminated string): the receiver then fails
/// with `UDPC_RXERR_WRONG_STREAM` before handing out a byte, also when the sender
/// announces no name (udpcast). Call it before the first datagram. `UDPC_ERR_INVALID` for
/// a name no sender can announce (empty, over 255 bytes, not UTF-8, control characters).
#[no_mangle]
pub extern "C" fn udpc_receiver_expect_name(
    rx: *mut udpc_receiver,
    name: *const c_char,
) -> udpc_result {
    guard(|| {
        let rx = non_null_mut!(rx);
        let name = match stream_name(name) {
            Ok(name) => name,
            Err(e) => return e,
        };
        match rx.inner.expect_name(name.as_str()) {
            Ok(()) => udpc_result::UDPC_OK,
            Err(_) => udpc_result::UDPC_ERR_INVALID,
        }
    })
}

/// The stream's identity into `*identity` once a sender of ours announced it (from the
/// `UDPC_RX_IDENTIFIED` event on); `UDPC_NOTHING` before, or with a udpcast sender.
#[no_mangle]
pub extern "C" fn udpc_receiver_identity(
    rx: *const udpc_receiver,
    identity: *mut udpc_identity,
) -> udpc_result {
    guard(|| {
        let rx = non_null!(rx);
        if identity.is_null() {
            return udpc_result::UDPC_ERR_NULL;
        }
        match rx.inner.identity() {
            Some(id) => {
                put(identity, udpc_identity::from_core(id));
                udpc_result::UDPC_OK
            }
            None => udpc_result::UDPC_NOTHING,
        }
    })
}

/// 1 when the transfer is verified end to end (the sender announced the extension), else
/// 0; 0 for null.
#[no_mangle]
pub extern "C" fn udpc_receiver_verifies(rx: *const udpc_receiver) -> bool {
    // SAFETY: a non-null handle points to a live receiver (API contract).
    guard_or(false, || !rx.is_null() && unsafe { &*rx }.inner.verifies())
}

/// Offers verified transfers to the receivers of udpcast-rs, announcing this stream:
/// `session` (random, once per run: the caller has the random source), `name` (a
/// NUL-terminated string, e.g. the input file's base name) and, when `has_total_size`, its
/// length. udpcast receivers see plain udpcast. `UDPC_ERR_INVALID` for a name the extension
/// refuses (empty, over 255 bytes, not UTF-8, control characters) and once the transfer
/// has started, when the identity can no longer change.
#[no_mangle]
pub extern "C" fn udpc_sender_set_identity(
    tx: *mut udpc_sender,
    session: u64,
    name: *const c_char,
    has_total_size: bool,
    total_size: u64,
) -> udpc_result {
    guard(|| {
        let tx = non_null_mut!(tx);
        let name = match stream_name(name) {
            Ok(name) => name,
            Err(e) => return e,
        };
        let identity = Identity {
            session,
            name,
            total_size: has_total_size.then_some(total_size),
        };
        tx.inner.set_identity(identity);
        // Core ignores an identity given after negotiation: say so instead.
        if tx.inner.identity() == Some(&identity) {
            udpc_result::UDPC_OK
        } else {
            udpc_result::UDPC_ERR_INVALID
        }
    })
}

/// The identity given to [`udpc_sender_set_identity`] into `*identity`; `UDPC_NOTHING`
/// when there is none.
#[no_mangle]
pub extern "C" fn udpc_sender_identity(
    tx: *const udpc_sender,
    identity: *mut udpc_identity,
) -> udpc_result {
    guard(|| {
        let tx = non_null!(tx);
        if identity.is_null() {
            return udpc_result::UDPC_ERR_NULL;
        }
        match tx.inner.identity() {
            Some(id) => {
                put(identity, udpc_identity::from_core(id));
                udpc_result::UDPC_OK
            }
            None => udpc_result::UDPC_NOTHING,
        }
    })
}

/// 1 when slices go out with their checks: an identity was given and some receiver speaks
/// the extension (always in async mode). Known from `UDPC_TX_STARTED` on; 0 for null.
#[no_mangle]
pub extern "C" fn udpc_sender_verifies(tx: *const udpc_sender) -> bool {
    // SAFETY: a non-null handle points to a live sender (API contract).
    guard_or(false, || !tx.is_null() && unsafe { &*tx }.inner.verifies())
}

/// The whole stream's digest — its length into `*bytes`, its CRC-32C into `*crc32c` —
/// once the input ended and its last slice was formed; `UDPC_NOTHING` before, or without
/// an identity. Either out-pointer may be null.
#[no_mangle]
pub extern "C" fn udpc_sender_stream_check(
    tx: *const udpc_sender,
    bytes: *mut u64,
    crc32c: *mut u32,
) -> udpc_result {
    guard(|| match non_null!(tx).inner.stream_check() {
        Some(check) => {
            put(bytes, check.bytes);
            put(crc32c, check.crc32c);
            udpc_result::UDPC_OK
        }
        None => udpc_result::UDPC_NOTHING,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> std::ffi::CString {
        std::ffi::CString::new(s).unwrap()
    }

    #[test]
    fn names_the_extension_refuses_are_invalid_arguments() {
        assert_eq!(
            stream_name(core::ptr::null()).err(),
            Some(udpc_result::UDPC_ERR_NULL)
        );
        for bad in [
            String::new(),
            "a\tb".into(),
            "x".repeat(256),
            "\u{1b}[2J".into(),
        ] {
            assert_eq!(
                stream_name(c(&bad).as_ptr()).err(),
                Some(udpc_result::UDPC_ERR_INVALID),
                "{bad:?}"
            );
        }
        let not_utf8 = [0xffu8, 0xfe, 0];
        assert_eq!(
            stream_name(not_utf8.as_ptr().cast()).err(),
            Some(udpc_result::UDPC_ERR_INVALID)
        );
        assert_eq!(
            stream_name(c("disk.img").as_ptr()).unwrap().as_str(),
            "disk.img"
        );
    }

    #[test]
    fn the_longest_name_fits_with_its_nul() {
        let long = "é".repeat(127) + "x"; // 255 bytes
        let identity = Identity {
            session: 1,
            name: StreamName::new(&long).unwrap(),
            total_size: None,
        };
        let out = udpc_identity::from_core(&identity);
        assert_eq!(out.name[UDPC_NAME_SIZE - 1], 0);
        // SAFETY: NUL-terminated within the array (checked above).
        let back = unsafe { CStr::from_ptr(out.name.as_ptr()) };
        assert_eq!(back.to_str().unwrap(), long);
        assert!(!out.has_total_size);
        assert_eq!(out.total_size, 0);
    }
}
