//! Decoding that cannot succeed or is called wrongly fails with an error and changes nothing.

use super::*;

#[test]
fn too_few_distinct_rows_is_an_error_that_changes_nothing() {
    let mut decoder = Decoder::new(4, Kernel::detect()).unwrap();
    let d0 = [1u8; 4];
    let (mut d1, mut d2) = ([9u8; 4], [9u8; 4]);
    let (mut f0, mut f0_again) = ([5u8; 4], [5u8; 4]);
    let result = decoder.decode_stripe(
        &mut [
            Column::Present(&d0),
            Column::Missing(&mut d1),
            Column::Missing(&mut d2),
        ],
        &mut [
            FecRow {
                row: 0,
                payload: &mut f0,
            },
            FecRow {
                row: 0,
                payload: &mut f0_again,
            },
        ],
    );
    assert_eq!(
        result,
        Err(FecError::NotEnoughFec {
            stripe: 0,
            missing: 2,
            available: 1
        })
    );
    assert_eq!((d1, d2, f0, f0_again), ([9; 4], [9; 4], [5; 4], [5; 4]));
}

#[test]
fn stripe_arguments_are_checked() {
    let mut decoder = Decoder::new(4, Kernel::scalar()).unwrap();
    let long = [0u8; 5];
    let mut f = [0u8; 4];
    assert_eq!(
        decoder.decode_stripe(&mut [Column::Present(&long)], &mut []),
        Err(FecError::BlockTooLong { index: 0, len: 5 })
    );
    assert_eq!(
        decoder.decode_stripe(
            &mut [],
            &mut [FecRow {
                row: 128,
                payload: &mut f
            }]
        ),
        Err(FecError::FecRow { row: 128 })
    );
    let mut short = [0u8; 3];
    assert_eq!(
        decoder.decode_stripe(
            &mut [],
            &mut [FecRow {
                row: 0,
                payload: &mut short
            }]
        ),
        Err(FecError::FecPayloadLength { index: 0, len: 3 })
    );
    let mut columns: [Column<'_>; 129] = core::array::from_fn(|_| Column::Present(&[]));
    assert_eq!(
        decoder.decode_stripe(&mut columns, &mut []),
        Err(FecError::StripeTooLong { blocks: 129 })
    );
    assert_eq!(
        Decoder::new(0, Kernel::scalar()).map(|_| ()),
        Err(FecError::BlockSize { block_size: 0 })
    );
}

#[test]
fn slice_arguments_are_checked() {
    let mut decoder = Decoder::new(4, Kernel::scalar()).unwrap();
    let geometry = SliceGeometry::new(20, 4, 2).unwrap(); // 5 blocks
    let mut slice = [0u8; 20];
    let mut f = [0u8; 4];
    assert_eq!(
        decoder.decode_slice(&geometry, &mut slice[..19], &[0xff], &mut []),
        Err(FecError::SliceTooShort {
            bytes: 20,
            actual: 19
        })
    );
    assert_eq!(
        decoder.decode_slice(&geometry, &mut slice, &[], &mut []),
        Err(FecError::BitmapTooShort {
            expected: 1,
            actual: 0
        })
    );
    assert_eq!(
        decoder.decode_slice(
            &geometry,
            &mut slice,
            &[0xff],
            &mut [FecBlock {
                number: 256,
                payload: &mut f
            }]
        ),
        Err(FecError::FecRow { row: 128 })
    );
    // Block 3 (stripe 1) missing, only a FEC block of stripe 0 at hand.
    assert_eq!(
        decoder.decode_slice(
            &geometry,
            &mut slice,
            &[0b1_0111],
            &mut [FecBlock {
                number: 0,
                payload: &mut f
            }]
        ),
        Err(FecError::NotEnoughFec {
            stripe: 1,
            missing: 1,
            available: 0
        })
    );
    let other = SliceGeometry::new(20, 5, 2).unwrap();
    assert_eq!(
        decoder.decode_slice(&other, &mut slice, &[0xff], &mut []),
        Err(FecError::BlockSizeMismatch {
            decoder: 4,
            geometry: 5
        })
    );
    // Nothing missing: nothing to do, whatever FEC is offered.
    assert_eq!(
        decoder.decode_slice(
            &geometry,
            &mut slice,
            &[0b1_1111],
            &mut [FecBlock {
                number: 3,
                payload: &mut f
            }]
        ),
        Ok(0)
    );
}
