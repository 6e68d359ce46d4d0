//! FEC recovery per stripe, streaming joiners, passive ends and block counting.

use super::*;

/// Sends a slice of `n` blocks with FEC `stripes × redundancy`, losing the data blocks in
/// `lost`, in the given order (FEC first or data first), and returns what was written.
fn fec_transfer(
    n: usize,
    stripes: usize,
    redundancy: usize,
    lost: &[usize],
    fec_first: bool,
) -> bool {
    let mut storage = [0u8; STORAGE];
    let mut rx = connected(&mut storage, config());
    let stream = pattern(n * BS - 3, 7);
    let config = FecConfig::new(stripes, redundancy, BS).unwrap();
    let encoder = Encoder::new(config, Kernel::scalar());
    let mut fec = [0u8; 64 * BS];
    let fec = &mut fec[..stripes * redundancy * BS];
    encoder.encode_slice(&stream, fec).unwrap();
    let send_fec = |rx: &mut Receiver| {
        for b in 0..stripes * redundancy {
            let m = Message::Fec(Fec {
                stripes: stripes as u16,
                slice: 0,
                block: b as u16,
                bytes: stream.len() as u32,
                payload: &fec[b * BS..(b + 1) * BS],
            });
            feed(rx, t(20), m);
        }
    };
    if fec_first {
        send_fec(&mut rx);
    }
    for block in (0..n).filter(|b| !lost.contains(b)) {
        feed(&mut rx, t(10), data(0, block as u16, &stream));
    }
    if !fec_first {
        send_fec(&mut rx);
    }
    let mut out = heapless::Vec::new();
    drain_output(&mut rx, &mut out);
    out == stream
}

#[test]
fn fec_rebuilds_up_to_redundancy_lost_blocks_per_stripe_in_any_arrival_order() {
    let mut seed = 0x9e37_79b9u32;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed as usize
    };
    for round in 0..300 {
        let stripes = 1 + next() % 4;
        let redundancy = 1 + next() % 3;
        let n = 1 + next() % 24;
        let mut lost = heapless::Vec::<usize, 64>::new();
        for s in 0..stripes {
            let cells: heapless::Vec<usize, 64> = (s..n).step_by(stripes).collect();
            let k = next() % (redundancy.min(cells.len()) + 1);
            for i in 0..k {
                let cell = cells[(i + next()) % cells.len()];
                if !lost.contains(&cell) {
                    lost.push(cell).unwrap();
                }
            }
        }
        for fec_first in [false, true] {
            assert!(
                fec_transfer(n, stripes, redundancy, &lost, fec_first),
                "round {round}: n={n} {stripes}x{redundancy} lost={lost:?} fec_first={fec_first}"
            );
        }
    }
}

#[test]
fn a_stripe_missing_more_blocks_than_its_redundancy_stays_incomplete() {
    assert!(!fec_transfer(8, 2, 1, &[0, 2], false));
}

#[test]
fn a_streaming_joiner_drops_an_incomplete_slice_when_a_newer_one_starts() {
    let mut storage = [0u8; STORAGE];
    let mut rx = Receiver::new(config(), &mut storage, t(0));
    feed(
        &mut rx,
        t(1),
        hello(Capabilities::SENDER_ASYNC, HelloKind::Streaming),
    );
    let Event::Connected(c) = events(&mut rx)[0] else {
        panic!()
    };
    assert!(c.streaming && c.passive);
    let a = pattern(3 * BS, 1);
    let b = pattern(2 * BS, 2);
    feed(&mut rx, t(10), data(5, 2, &a)); // joined in the middle of slice 5
    feed(&mut rx, t(11), data(6, 0, &b));
    feed(&mut rx, t(11), data(6, 1, &b));
    feed(&mut rx, t(12), reqack(7, 0, 0, &Bitmap1024::new()));
    let mut out = heapless::Vec::new();
    drain_output(&mut rx, &mut out);
    assert_eq!(out, b);
    rx.handle_timeout(t(600));
    assert!(rx.is_finished());
}

#[test]
fn a_passive_receiver_fails_at_the_end_marker_if_a_slice_is_still_incomplete() {
    let mut storage = [0u8; STORAGE];
    let mut rx = Receiver::new(config(), &mut storage, t(0));
    feed(
        &mut rx,
        t(1),
        hello(Capabilities::SENDER_ASYNC, HelloKind::Hello),
    );
    let a = pattern(2 * BS, 1);
    feed(&mut rx, t(10), data(0, 0, &a));
    feed(&mut rx, t(11), reqack(1, 0, 0, &Bitmap1024::new()));
    assert_eq!(
        events(&mut rx).last(),
        Some(&Event::Failed(ReceiverError::DroppedBySender {
            slice: 1,
            incomplete: 0
        }))
    );
}

#[test]
fn stored_data_blocks_are_counted_once() {
    let mut storage = [0u8; STORAGE];
    let mut rx = connected(&mut storage, config());
    let a = pattern(3 * BS, 1);
    feed(&mut rx, t(10), data(0, 0, &a));
    feed(&mut rx, t(10), data(0, 0, &a));
    feed(&mut rx, t(10), data(0, 2, &a));
    assert_eq!(rx.stats().data_blocks, 2);
}
