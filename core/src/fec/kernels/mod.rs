//! The byte-slice kernels everything in the FEC codec reduces to: `dst ^= c · src`
//! (multiply-accumulate), `dst = c · src`, and their many-rows form, the dot product
//! `dst_t (^)= Σ_j c_tj · src_j` that the encoder and decoder use.
//!
//! A [`Kernel`] names one implementation. The portable scalar one is the reference; on
//! x86-64 there are SSSE3 and AVX2 ones, chosen at run time. A `Kernel` value can only be
//! obtained for an implementation the running CPU supports, so holding one is the proof
//! that calling it is sound; a `no_std` host picks one with [`Kernel::new`] or lets
//! [`Kernel::detect`] take the best (CPUID needs no operating system).

mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86;

#[cfg(test)]
mod tests;

use core::fmt;

use super::error::FecError;

/// The implementations a [`Kernel`] can be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum KernelKind {
    /// Portable Rust, one byte at a time through a product table; every target.
    Scalar,
    /// x86-64 SSSE3 byte shuffles, 16 bytes at a time.
    Ssse3,
    /// x86-64 AVX2 byte shuffles, 32 bytes at a time.
    Avx2,
}

impl KernelKind {
    /// Every kind, slowest first.
    pub const ALL: [KernelKind; 3] = [KernelKind::Scalar, KernelKind::Ssse3, KernelKind::Avx2];

    /// A short lower-case name (`"scalar"`, `"ssse3"`, `"avx2"`).
    pub const fn name(self) -> &'static str {
        match self {
            KernelKind::Scalar => "scalar",
            KernelKind::Ssse3 => "ssse3",
            KernelKind::Avx2 => "avx2",
        }
    }
}

impl fmt::Display for KernelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A GF(2^8) multiply kernel the running CPU supports (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Kernel(Backend);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Backend {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Ssse3(x86::Ssse3Token),
    #[cfg(target_arch = "x86_64")]
    Avx2(x86::Avx2Token),
}

/// Destination rows processed together by [`Kernel::dot`]: their accumulators must fit in
/// the 16 vector registers of x86-64 next to the source and the tables.
pub(crate) const ROW_GROUP: usize = 8;
/// Bytes [`Kernel::scale`] copies at a time for the SIMD kernels.
const SCALE_CHUNK: usize = 512;
/// Sources per pass of [`Kernel::dot`] (the size of the coefficient scratch on the stack);
/// a stripe never has more (§5.1).
const SOURCE_BATCH: usize = 128;

impl Kernel {
    /// The portable kernel, available everywhere.
    pub const fn scalar() -> Self {
        Kernel(Backend::Scalar)
    }

    /// The fastest kernel the running CPU supports.
    pub fn detect() -> Self {
        KernelKind::ALL
            .iter()
            .rev()
            .find_map(|&kind| Kernel::new(kind))
            .unwrap_or(Kernel::scalar())
    }

    /// The kernel of that kind, if this target and the running CPU support it.
    pub fn new(kind: KernelKind) -> Option<Self> {
        match kind {
            KernelKind::Scalar => Some(Kernel::scalar()),
            #[cfg(target_arch = "x86_64")]
            KernelKind::Ssse3 => x86::Ssse3Token::detect().map(|t| Kernel(Backend::Ssse3(t))),
            #[cfg(target_arch = "x86_64")]
            KernelKind::Avx2 => x86::Avx2Token::detect().map(|t| Kernel(Backend::Avx2(t))),
            #[cfg(not(target_arch = "x86_64"))]
            KernelKind::Ssse3 | KernelKind::Avx2 => None,
        }
    }

    /// Which implementation this is.
    pub const fn kind(self) -> KernelKind {
        match self.0 {
            Backend::Scalar => KernelKind::Scalar,
            #[cfg(target_arch = "x86_64")]
            Backend::Ssse3(_) => KernelKind::Ssse3,
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2(_) => KernelKind::Avx2,
        }
    }

    /// `dst ^= c · src`, byte by byte; both slices must have the same length.
    pub fn mul_acc(self, dst: &mut [u8], src: &[u8], c: u8) -> Result<(), FecError> {
        same_len(dst, src)?;
        self.mul_acc_prefix(dst, src, c);
        Ok(())
    }

    /// `dst = c · src`, byte by byte; both slices must have the same length.
    pub fn mul(self, dst: &mut [u8], src: &[u8], c: u8) -> Result<(), FecError> {
        same_len(dst, src)?;
        self.mul_prefix(dst, src, c);
        Ok(())
    }

    /// `dst ^= c · src` over the shorter of the two lengths.
    pub(crate) fn mul_acc_prefix(self, dst: &mut [u8], src: &[u8], c: u8) {
        match self.0 {
            Backend::Scalar => scalar::mul_acc(dst, src, c),
            #[cfg(target_arch = "x86_64")]
            Backend::Ssse3(k) => k.mul_acc(dst, src, c),
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2(k) => k.mul_acc(dst, src, c),
        }
    }

    /// `dst = c · src` over the shorter of the two lengths.
    pub(crate) fn mul_prefix(self, dst: &mut [u8], src: &[u8], c: u8) {
        match self.0 {
            Backend::Scalar => scalar::mul(dst, src, c),
            #[cfg(target_arch = "x86_64")]
            Backend::Ssse3(k) => k.mul(dst, src, c),
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2(k) => k.mul(dst, src, c),
        }
    }

    /// `buf = c · buf` in place. The SIMD kernels read and write different buffers, so
    /// they go through a copy of at most [`SCALE_CHUNK`] bytes on the stack; the scalar one
    /// rewrites each byte where it is.
    pub(crate) fn scale(self, buf: &mut [u8], c: u8) {
        if self.0 == Backend::Scalar {
            return scalar::scale(buf, c);
        }
        let mut copy = [0u8; SCALE_CHUNK];
        for chunk in buf.chunks_mut(SCALE_CHUNK) {
            if let Some(copy) = copy.get_mut(..chunk.len()) {
                copy.copy_from_slice(chunk);
                self.mul_prefix(chunk, copy, c);
            }
        }
    }

    /// The dot product `dsts[t][..len] (^)= Σ_j coef(t, j) · srcs[j][..len]`: overwrites
    /// the destinations, or adds to them if `accumulate`. With no sources the destinations
    /// become zero (or stay as they are).
    ///
    /// Rows are done eight at a time and each pass reads every source once, which is what
    /// makes encoding fast: the products of one source for all rows are formed while it is
    /// in registers. Does nothing if a destination or source is shorter than `len` (an
    /// internal invariant; callers check their arguments first).
    pub(crate) fn dot(
        self,
        dsts: &mut [&mut [u8]],
        srcs: &[&[u8]],
        len: usize,
        accumulate: bool,
        coef: impl Fn(usize, usize) -> u8,
    ) {
        if dsts.iter().any(|d| d.len() < len) || srcs.iter().any(|s| s.len() < len) {
            debug_assert!(false, "dot: a slice is shorter than {len}");
            return;
        }
        if srcs.is_empty() {
            if !accumulate {
                for d in dsts.iter_mut() {
                    if let Some(d) = d.get_mut(..len) {
                        d.fill(0);
                    }
                }
            }
            return;
        }
        for (g, group) in dsts.chunks_mut(ROW_GROUP).enumerate() {
            let row0 = g * ROW_GROUP;
            for (b, batch) in srcs.chunks(SOURCE_BATCH).enumerate() {
                let col0 = b * SOURCE_BATCH;
                let accumulate = accumulate || b > 0;
                let coef = |t: usize, j: usize| coef(row0 + t, col0 + j);
                match group.len() {
                    1 => self.dot_group::<1>(group, batch, len, accumulate, coef),
                    2 => self.dot_group::<2>(group, batch, len, accumulate, coef),
                    3 => self.dot_group::<3>(group, batch, len, accumulate, coef),
                    4 => self.dot_group::<4>(group, batch, len, accumulate, coef),
                    5 => self.dot_group::<5>(group, batch, len, accumulate, coef),
                    6 => self.dot_group::<6>(group, batch, len, accumulate, coef),
                    7 => self.dot_group::<7>(group, batch, len, accumulate, coef),
                    _ => self.dot_group::<8>(group, batch, len, accumulate, coef),
                }
            }
        }
    }

    /// [`dot`](Self::dot) for exactly R destinations and at most [`SOURCE_BATCH`] sources.
    fn dot_group<const R: usize>(
        self,
        dsts: &mut [&mut [u8]],
        srcs: &[&[u8]],
        len: usize,
        accumulate: bool,
        coef: impl Fn(usize, usize) -> u8,
    ) {
        let Ok(dsts) = <&mut [&mut [u8]; R]>::try_from(dsts) else {
            return;
        };
        // Coefficients laid out source-major, so the inner loops walk them in order.
        let mut table = [[0u8; R]; SOURCE_BATCH];
        for (j, row) in table.iter_mut().enumerate().take(srcs.len()) {
            for (t, c) in row.iter_mut().enumerate() {
                *c = coef(t, j);
            }
        }
        let Some(coefs) = table.get(..srcs.len()) else {
            return;
        };
        match self.0 {
            Backend::Scalar => scalar::dot_range(dsts, srcs, coefs, 0..len, accumulate),
            #[cfg(target_arch = "x86_64")]
            Backend::Ssse3(k) => k.dot(dsts, srcs, coefs, len, accumulate),
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2(k) => k.dot(dsts, srcs, coefs, len, accumulate),
        }
    }
}

impl Default for Kernel {
    /// [`Kernel::detect`].
    fn default() -> Self {
        Kernel::detect()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Kernel {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{}", self.kind())
    }
}

fn same_len(dst: &[u8], src: &[u8]) -> Result<(), FecError> {
    if dst.len() == src.len() {
        Ok(())
    } else {
        Err(FecError::LengthMismatch {
            dst: dst.len(),
            src: src.len(),
        })
    }
}
