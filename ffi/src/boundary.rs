//! The panic boundary and pointer checks every `extern "C"` function goes through.

use crate::udpc_result;

/// Runs `body`, turning a panic into `UDPC_ERR_PANIC`: unwinding into C is undefined
/// behaviour. (Without std, panics abort and there is nothing to catch.)
pub(crate) fn guard(body: impl FnOnce() -> udpc_result) -> udpc_result {
    guard_or(udpc_result::UDPC_ERR_PANIC, body)
}

/// Runs `body` for functions that return a value rather than a result code: a panic
/// gives `fallback`.
#[cfg(not(feature = "no-std"))]
pub(crate) fn guard_or<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// Without std a panic aborts (see the crate's panic handler): just run `body`.
#[cfg(feature = "no-std")]
pub(crate) fn guard_or<T>(_fallback: T, body: impl FnOnce() -> T) -> T {
    body()
}

/// `Ok(&mut T)` for a non-null pointer, else `UDPC_ERR_NULL`.
macro_rules! non_null_mut {
    ($ptr:expr) => {{
        let ptr = $ptr;
        if ptr.is_null() {
            return $crate::udpc_result::UDPC_ERR_NULL;
        }
        // SAFETY: non-null, and the API contract says it points to a live, properly
        // initialised object the caller does not use concurrently.
        unsafe { &mut *ptr }
    }};
}

/// `&T` for a non-null pointer, else return `UDPC_ERR_NULL`.
macro_rules! non_null {
    ($ptr:expr) => {{
        let ptr = $ptr;
        if ptr.is_null() {
            return $crate::udpc_result::UDPC_ERR_NULL;
        }
        // SAFETY: non-null, and the API contract says it points to a live object.
        unsafe { &*ptr }
    }};
}

/// A byte slice from a pointer and length; a null pointer is allowed only with length 0.
macro_rules! bytes {
    ($ptr:expr, $len:expr) => {{
        let (ptr, len): (*const u8, usize) = ($ptr, $len);
        if len == 0 {
            &[][..]
        } else if ptr.is_null() {
            return $crate::udpc_result::UDPC_ERR_NULL;
        } else {
            // SAFETY: the caller guarantees `len` readable bytes at `ptr`.
            unsafe { core::slice::from_raw_parts(ptr, len) }
        }
    }};
}

/// A writable byte slice from a pointer and length (null allowed only with length 0).
macro_rules! bytes_mut {
    ($ptr:expr, $len:expr) => {{
        let (ptr, len): (*mut u8, usize) = ($ptr, $len);
        if len == 0 {
            &mut [][..]
        } else if ptr.is_null() {
            return $crate::udpc_result::UDPC_ERR_NULL;
        } else {
            // SAFETY: the caller guarantees `len` writable bytes at `ptr`, not aliased.
            unsafe { core::slice::from_raw_parts_mut(ptr, len) }
        }
    }};
}

pub(crate) use {bytes, bytes_mut, non_null, non_null_mut};

/// Writes `value` through an optional out-pointer.
pub(crate) fn put<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: non-null out-pointers must point to writable storage for a T.
        unsafe { out.write(value) };
    }
}

/// The address of an IPv4 address in network byte order, as C keeps it in `s_addr`.
pub(crate) fn from_net(addr: u32) -> core::net::Ipv4Addr {
    core::net::Ipv4Addr::from(u32::from_be(addr))
}

/// An address as C's `s_addr` holds it.
pub(crate) fn to_net(addr: core::net::Ipv4Addr) -> u32 {
    u32::from(addr).to_be()
}
