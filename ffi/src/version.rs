//! Library version.

/// Major version of libudpcast.
pub const UDPC_VERSION_MAJOR: u32 = 0;
/// Minor version of libudpcast.
pub const UDPC_VERSION_MINOR: u32 = 1;
/// Patch version of libudpcast.
pub const UDPC_VERSION_PATCH: u32 = 0;

/// The library's version as a static NUL-terminated string, e.g. `"0.1.0"`; compare with
/// the `UDPC_VERSION_*` macros of the header the program was built with.
#[no_mangle]
pub extern "C" fn udpc_version() -> *const core::ffi::c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_version_string_matches_the_version_constants() {
        let expected = format!(
            "{}.{}.{}\0",
            super::UDPC_VERSION_MAJOR,
            super::UDPC_VERSION_MINOR,
            super::UDPC_VERSION_PATCH
        );
        assert_eq!(concat!(env!("CARGO_PKG_VERSION"), "\0"), expected);
    }
}
