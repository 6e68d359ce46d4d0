//! x86-64 kernels: the split-nibble method with byte shuffles (`pshufb`), 16 bytes at a
//! time with SSSE3 and 32 with AVX2.
//!
//! `pshufb` looks up 16 table bytes with the low 4 bits of each index byte, which is
//! exactly the 16-entry nibble table of one coefficient (see `gf256::NIBBLES`): one shuffle
//! for the low nibbles, one for the high nibbles, one XOR, and 16 or 32 bytes are
//! multiplied.
//!
//! Calling a `#[target_feature]` function on a CPU without that feature is undefined
//! behaviour, so each kernel is reachable only through a zero-sized token that can only be
//! made after run-time detection succeeded. Detection uses the `cpufeatures` crate, which
//! runs CPUID (and checks that the OS saves the AVX registers) without `std`, and caches
//! the answer.
#![allow(unsafe_code)]

pub(crate) mod avx2;
pub(crate) mod ssse3;

cpufeatures::new!(cpuid_ssse3, "ssse3");
cpufeatures::new!(cpuid_avx2, "avx2");

/// Proof that the running CPU has SSSE3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Ssse3Token(());

impl Ssse3Token {
    /// The token, if the CPU has SSSE3.
    pub(crate) fn detect() -> Option<Self> {
        cpuid_ssse3::get().then_some(Ssse3Token(()))
    }
}

/// Proof that the running CPU (and OS) support AVX2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Avx2Token(());

impl Avx2Token {
    /// The token, if the CPU has AVX2 and the OS saves the YMM registers.
    pub(crate) fn detect() -> Option<Self> {
        cpuid_avx2::get().then_some(Avx2Token(()))
    }
}

/// Whether every destination and source holds at least `len` bytes and there is one
/// coefficient row per source: what the SIMD `dot` loops rely on for memory safety.
pub(crate) fn dot_args_fit<const R: usize>(
    dsts: &[&mut [u8]; R],
    srcs: &[&[u8]],
    coefs: &[[u8; R]],
    len: usize,
) -> bool {
    srcs.len() == coefs.len()
        && dsts.iter().all(|d| d.len() >= len)
        && srcs.iter().all(|s| s.len() >= len)
}
