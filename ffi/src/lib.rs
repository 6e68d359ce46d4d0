//! libudpcast: the C ABI over `udpcast-core`.
//!
//! The same sans-IO shape as core: the caller owns all memory, sockets and clocks, feeds
//! datagrams and the time in, and polls what to send, what to write and when to wake.
//! Nothing here allocates.
//!
//! Conventions of every function:
//! * the result is a [`udpc_result`] with fixed numbers (never reused);
//! * a null pointer where one is required gives `UDPC_ERR_NULL`, never a crash;
//! * a panic (a bug: core never panics on input) is caught at the boundary and reported
//!   as `UDPC_ERR_PANIC` (with `panic = "abort"` builds, such as the tiny receiver's, the
//!   process aborts instead);
//! * IPv4 addresses are `uint32_t` in network byte order (a `struct in_addr`'s `s_addr`),
//!   ports are in host byte order, times are microseconds of a monotonic clock;
//! * objects (`udpc_receiver`, `udpc_sender`) live in memory the caller provides and are
//!   not thread-safe: use each from one thread at a time.
#![cfg_attr(feature = "no-std", no_std)]
#![allow(non_camel_case_types)]
// Every exported function takes raw pointers from C, whose validity is the documented API
// contract; marking them `unsafe fn` would change nothing for C callers.
#![allow(clippy::not_unsafe_ptr_arg_deref)]
#![deny(missing_docs)]

pub mod authentication;
mod boundary;
pub mod fec;
mod placement;
pub mod receiver;
pub mod result;
pub mod sender;
pub mod verification;
pub mod version;
pub mod wire;

pub use result::udpc_result;

/// Without std there is no unwinding to catch: a panic (a bug) ends the program.
#[cfg(feature = "no-std")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    extern "C" {
        fn abort() -> !;
    }
    // SAFETY: C's abort() takes nothing, never returns and may be called at any time.
    unsafe { abort() }
}
