//! Tests of `sender`'s seeds: whole transfers finish.

use super::*;
use script::Options;

fn small() -> Options {
    Options {
        block_size: 64,
        max_slice: 16,
        ..Options::default()
    }
}

#[test]
fn seed_transfers_finish() {
    let cases = [
        (small(), 1, false),
        (
            Options {
                half_duplex: true,
                max_slice: 64,
                ..small()
            },
            2,
            true,
        ),
        (
            Options {
                fec: Some((2, 2, 8)),
                ..small()
            },
            1,
            false,
        ),
        (
            Options {
                identity: true,
                ..small()
            },
            2,
            true,
        ),
        (
            Options {
                rate: Some(1000),
                ..small()
            },
            1,
            false,
        ),
        (
            Options {
                asynchronous: true,
                fec: Some((4, 2, 4)),
                autostart: Some(1),
                ..small()
            },
            0,
            false,
        ),
        (
            Options {
                asynchronous: true,
                identity: true,
                autostart: Some(1),
                ..small()
            },
            0,
            false,
        ),
    ];
    for (o, clients, lossy) in cases {
        let outcome = run(&seed_transfer(&o, clients, 3000, lossy));
        assert!(outcome.finished, "{o:?}: {outcome:?}");
        assert_eq!(outcome.fed, 3000, "{o:?}");
    }
}
