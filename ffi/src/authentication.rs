//! Authenticated transfers at the C boundary: the key a configuration carries, and why a
//! datagram was refused.

use crate::udpc_result;
use udpcast_core::auth::{AuthError, Authentication, PreSharedKey};

/// Why a datagram was refused in an authenticated transfer (`auth_failure` of the
/// `*_AUTH_REJECTED` events, and of a receiver's `UDPC_RXERR_NOT_AUTHENTICATED`). Fixed
/// numbers.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum udpc_auth_failure {
    /// Not an authentication event.
    UDPC_AUTH_NONE = 0,
    /// No authentication trailer: a udpcast peer, or one of ours without a key.
    UDPC_AUTH_UNAUTHENTICATED = 1,
    /// The tag does not match: another key, or a forgery.
    UDPC_AUTH_BAD_TAG = 2,
    /// Authentic, but of another session (an earlier run replayed, or one not joined).
    UDPC_AUTH_OTHER_SESSION = 3,
    /// Authentic and of this session, but already seen or too old.
    UDPC_AUTH_REPLAYED = 4,
}

pub(crate) fn convert_auth_failure(error: AuthError) -> udpc_auth_failure {
    use udpc_auth_failure::*;
    match error {
        AuthError::Unauthenticated => UDPC_AUTH_UNAUTHENTICATED,
        AuthError::BadTag => UDPC_AUTH_BAD_TAG,
        AuthError::OtherSession => UDPC_AUTH_OTHER_SESSION,
        AuthError::Replayed => UDPC_AUTH_REPLAYED,
    }
}

/// A static NUL-terminated description of an authentication failure (any number is
/// accepted): the texts of core's `AuthError`.
#[no_mangle]
pub extern "C" fn udpc_auth_failure_str(failure: u32) -> *const core::ffi::c_char {
    let text: &'static core::ffi::CStr = match failure {
        0 => c"no failure",
        1 => c"unauthenticated (udpcast, or udpcast-rs without --key-file)",
        2 => c"forged, or sealed with another key",
        3 => c"of another session (an earlier run replayed, or one not joined)",
        4 => c"replays of this session",
        _ => c"unknown authentication failure",
    };
    text.as_ptr()
}

/// The authentication a configuration asks for: none without key material; the key made
/// from `len` bytes at `material` (a key file's contents) and the caller's random `nonce`
/// otherwise. The key is derived here, so the caller's bytes need not outlive the call.
pub(crate) fn authentication(
    material: *const u8,
    len: usize,
    nonce: u64,
) -> Result<Option<Authentication>, udpc_result> {
    if material.is_null() {
        return if len == 0 {
            Ok(None)
        } else {
            Err(udpc_result::UDPC_ERR_NULL)
        };
    }
    // Nonce 0 names the first-contact session: a run must draw another.
    if nonce == 0 {
        return Err(udpc_result::UDPC_ERR_INVALID);
    }
    // SAFETY: non-null, and the caller guarantees `len` readable bytes at `material`.
    let material = unsafe { core::slice::from_raw_parts(material, len) };
    let key = PreSharedKey::from_key_material(material)
        .map_err(|_| udpc_result::UDPC_ERR_KEY_TOO_SHORT)?;
    Ok(Some(Authentication { key, nonce }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ffi::CStr;

    fn text(n: u32) -> &'static str {
        // SAFETY: udpc_auth_failure_str returns a static NUL-terminated string.
        unsafe { CStr::from_ptr(udpc_auth_failure_str(n)) }
            .to_str()
            .unwrap()
    }

    #[test]
    fn failure_texts_are_cores() {
        for error in [
            AuthError::Unauthenticated,
            AuthError::BadTag,
            AuthError::OtherSession,
            AuthError::Replayed,
        ] {
            assert_eq!(text(convert_auth_failure(error) as u32), error.to_string());
        }
        assert_eq!(text(5), "unknown authentication failure");
    }

    #[test]
    fn key_material_is_checked() {
        let key = [7u8; 16];
        assert_eq!(authentication(core::ptr::null(), 0, 0), Ok(None));
        assert_eq!(
            authentication(core::ptr::null(), 16, 1),
            Err(udpc_result::UDPC_ERR_NULL)
        );
        assert_eq!(
            authentication(key.as_ptr(), 15, 1),
            Err(udpc_result::UDPC_ERR_KEY_TOO_SHORT)
        );
        assert_eq!(
            authentication(key.as_ptr(), 16, 0),
            Err(udpc_result::UDPC_ERR_INVALID)
        );
        let auth = authentication(key.as_ptr(), 16, 9).unwrap().unwrap();
        assert_eq!(auth.key, PreSharedKey::from_key_material(&key).unwrap());
        assert_eq!(auth.nonce, 9);
    }
}
