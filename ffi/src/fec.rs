//! FEC of one stripe (PROTOCOL.md §5), for C tools that keep blocks in their own layout.

use crate::boundary::{guard, put};
use crate::udpc_result;
use udpcast_core::fec::{
    Column, Decoder, Encoder, FecConfig, FecRow, Kernel, MAX_REDUNDANCY, MAX_STRIPE_BLOCKS,
};

/// Encodes one stripe: `data[j]` is column j (`data_len[j]` ≤ `block_size` bytes; a
/// shorter block counts as zero-padded), `k` ≤ 128 columns; FEC row r (r < `redundancy`
/// ≤ 128) is written to `rows[r]`, `block_size` bytes each. Uses the fastest kernel of the
/// CPU.
///
/// # Safety
/// The arrays must hold `k` (resp. `redundancy`) valid pointers to buffers of the stated
/// sizes; output rows must not overlap inputs.
#[no_mangle]
pub unsafe extern "C" fn udpc_fec_encode_stripe(
    block_size: usize,
    data: *const *const u8,
    data_len: *const usize,
    k: usize,
    rows: *const *mut u8,
    redundancy: usize,
) -> udpc_result {
    guard(|| {
        if k > MAX_STRIPE_BLOCKS || redundancy == 0 || redundancy > MAX_REDUNDANCY {
            return udpc_result::UDPC_ERR_INVALID;
        }
        if (k > 0 && (data.is_null() || data_len.is_null())) || rows.is_null() {
            return udpc_result::UDPC_ERR_NULL;
        }
        let Ok(config) = FecConfig::new(1, redundancy, block_size) else {
            return udpc_result::UDPC_ERR_INVALID;
        };
        let mut columns: [&[u8]; MAX_STRIPE_BLOCKS] = [&[]; MAX_STRIPE_BLOCKS];
        for (j, column) in columns.iter_mut().enumerate().take(k) {
            // SAFETY: the caller provides k pointers and lengths.
            let (ptr, len) = unsafe { (*data.add(j), *data_len.add(j)) };
            if ptr.is_null() && len != 0 {
                return udpc_result::UDPC_ERR_NULL;
            }
            if len > block_size {
                return udpc_result::UDPC_ERR_INVALID;
            }
            // SAFETY: the caller guarantees len readable bytes at ptr.
            *column = if len == 0 {
                &[]
            } else {
                unsafe { core::slice::from_raw_parts(ptr, len) }
            };
        }
        let mut outputs: [&mut [u8]; MAX_REDUNDANCY] =
            core::array::from_fn(|_| <&mut [u8]>::default());
        for (r, row) in outputs.iter_mut().enumerate().take(redundancy) {
            // SAFETY: the caller provides `redundancy` row pointers.
            let ptr = unsafe { *rows.add(r) };
            if ptr.is_null() {
                return udpc_result::UDPC_ERR_NULL;
            }
            // SAFETY: each row has block_size writable bytes and does not overlap others.
            *row = unsafe { core::slice::from_raw_parts_mut(ptr, block_size) };
        }
        let encoder = Encoder::new(config, Kernel::detect());
        match encoder.encode_stripe(&columns[..k], &mut outputs[..redundancy]) {
            Ok(()) => udpc_result::UDPC_OK,
            Err(_) => udpc_result::UDPC_ERR_FEC,
        }
    })
}

/// Rebuilds the missing columns of one stripe in place: `columns[j]` (`column_len[j]` ≤
/// `block_size` bytes) arrived if `present[j]` is true, else it is rebuilt into its buffer
/// (a short buffer receives the truncated block). `fec[t]` holds `block_size` bytes of FEC
/// row `fec_row[t]`; used payloads are overwritten. The number of rebuilt columns goes to
/// `*recovered`. `UDPC_ERR_FEC` if there are fewer distinct rows than missing columns;
/// nothing is changed then.
///
/// # Safety
/// The arrays must hold `k` (resp. `fec_count`) valid entries pointing to buffers of the
/// stated sizes, none overlapping another.
#[no_mangle]
pub unsafe extern "C" fn udpc_fec_decode_stripe(
    block_size: usize,
    columns: *const *mut u8,
    column_len: *const usize,
    present: *const bool,
    k: usize,
    fec: *const *mut u8,
    fec_row: *const u8,
    fec_count: usize,
    recovered: *mut usize,
) -> udpc_result {
    guard(|| {
        if k > MAX_STRIPE_BLOCKS || fec_count > MAX_REDUNDANCY {
            return udpc_result::UDPC_ERR_INVALID;
        }
        if (k > 0 && (columns.is_null() || column_len.is_null() || present.is_null()))
            || (fec_count > 0 && (fec.is_null() || fec_row.is_null()))
        {
            return udpc_result::UDPC_ERR_NULL;
        }
        let Ok(mut decoder) = Decoder::new(block_size, Kernel::detect()) else {
            return udpc_result::UDPC_ERR_INVALID;
        };
        let mut cols: [Column<'_>; MAX_STRIPE_BLOCKS] =
            core::array::from_fn(|_| Column::Present(&[]));
        for (j, col) in cols.iter_mut().enumerate().take(k) {
            // SAFETY: the caller provides k entries in each array.
            let (ptr, len, here) =
                unsafe { (*columns.add(j), *column_len.add(j), *present.add(j)) };
            if ptr.is_null() && len != 0 {
                return udpc_result::UDPC_ERR_NULL;
            }
            if len > block_size {
                return udpc_result::UDPC_ERR_INVALID;
            }
            // SAFETY: len bytes at ptr, readable (present) or writable (missing), disjoint.
            *col = unsafe {
                match (here, len) {
                    (true, 0) => Column::Present(&[]),
                    (false, 0) => Column::Missing(&mut []),
                    (true, _) => Column::Present(core::slice::from_raw_parts(ptr, len)),
                    (false, _) => Column::Missing(core::slice::from_raw_parts_mut(ptr, len)),
                }
            };
        }
        let mut rows: [FecRow<'_>; MAX_REDUNDANCY] = core::array::from_fn(|_| FecRow {
            row: 0,
            payload: &mut [],
        });
        for (t, row) in rows.iter_mut().enumerate().take(fec_count) {
            // SAFETY: the caller provides fec_count entries in both arrays.
            let (ptr, number) = unsafe { (*fec.add(t), *fec_row.add(t)) };
            if ptr.is_null() {
                return udpc_result::UDPC_ERR_NULL;
            }
            // SAFETY: block_size writable bytes at ptr, disjoint from everything else.
            *row = FecRow {
                row: usize::from(number),
                payload: unsafe { core::slice::from_raw_parts_mut(ptr, block_size) },
            };
        }
        match decoder.decode_stripe(&mut cols[..k], &mut rows[..fec_count]) {
            Ok(n) => {
                put(recovered, n);
                udpc_result::UDPC_OK
            }
            Err(_) => udpc_result::UDPC_ERR_FEC,
        }
    })
}
