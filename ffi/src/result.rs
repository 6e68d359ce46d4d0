//! Result codes.

/// The outcome of every libudpcast call. The numbers are part of the ABI: they never change
/// and are never reused.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum udpc_result {
    /// Success.
    UDPC_OK = 0,
    /// Success, but there was nothing to return (no datagram, event or deadline).
    UDPC_NOTHING = 1,
    /// A required pointer was null.
    UDPC_ERR_NULL = 2,
    /// A caller's buffer is too small.
    UDPC_ERR_BUFFER_TOO_SMALL = 3,
    /// An argument is out of range or inconsistent.
    UDPC_ERR_INVALID = 4,
    /// A datagram is not a well-formed udpcast message.
    UDPC_ERR_PARSE = 5,
    /// FEC could not be computed (too few blocks, bad geometry).
    UDPC_ERR_FEC = 6,
    /// A bug inside the library was caught at the boundary.
    UDPC_ERR_PANIC = 7,
    /// Key material shorter than 16 bytes (authenticated transfers).
    UDPC_ERR_KEY_TOO_SHORT = 8,
}

/// A static, NUL-terminated description of a result code (any number is accepted).
#[no_mangle]
pub extern "C" fn udpc_result_str(result: u32) -> *const core::ffi::c_char {
    let text: &'static core::ffi::CStr = match result {
        0 => c"ok",
        1 => c"nothing",
        2 => c"null pointer",
        3 => c"buffer too small",
        4 => c"invalid argument",
        5 => c"malformed udpcast message",
        6 => c"FEC failed",
        7 => c"internal error (panic)",
        8 => c"key material shorter than 16 bytes",
        _ => c"unknown result code",
    };
    text.as_ptr()
}
