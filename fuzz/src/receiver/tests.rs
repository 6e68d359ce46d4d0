//! Tests of `receiver`'s seeds: whole transfers finish with the model's output.

use super::*;

#[test]
fn seed_transfers_finish_with_the_model_output() {
    for flags in [0, 8, 1, 9, 4, 16] {
        for (mask, rows) in [(0, 0), (0b101, 1), (u64::MAX, 0)] {
            let outcome = run(&seed_transfer(flags, 3, mask, rows));
            let verified = flags & 8 != 0;
            assert_eq!(
                outcome,
                Outcome {
                    finished: true,
                    verified,
                    clean: true,
                    bytes: 3 * 16 * 8
                },
                "flags {flags} mask {mask:#x}"
            );
        }
    }
}
