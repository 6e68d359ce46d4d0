//! Timeouts (start, receive) and what the storage cannot hold.

use super::*;

#[test]
fn without_a_sender_the_start_timeout_fails_with_no_sender() {
    let mut storage = [0u8; STORAGE];
    let mut cfg = config();
    cfg.start_timeout = Some(Duration::from_millis(2500));
    let mut rx = Receiver::new(cfg, &mut storage, t(0));
    for ms in [1000, 2000] {
        rx.handle_timeout(t(ms));
    }
    assert!(events(&mut rx).is_empty());
    assert_eq!(rx.poll_timeout(), Some(t(2500)));
    rx.handle_timeout(t(2500));
    assert_eq!(
        events(&mut rx)[..],
        [Event::Failed(ReceiverError::NoSender)]
    );
}

#[test]
fn a_start_timeout_after_connecting_fails_and_says_goodbye() {
    let mut storage = [0u8; STORAGE];
    let mut cfg = config();
    cfg.start_timeout = Some(Duration::from_secs(3));
    let mut rx = connected(&mut storage, cfg);
    assert_eq!(rx.poll_timeout(), Some(t(3001)));
    rx.handle_timeout(t(3001));
    assert_eq!(
        events(&mut rx)[..],
        [Event::Failed(ReceiverError::NotStarted)]
    );
    assert_eq!(&sent(&mut rx)[0].1[..], &[0, 4, 0, 0][..]);
}

#[test]
fn a_silent_sender_trips_the_receive_timeout_once_data_flows() {
    let mut storage = [0u8; STORAGE];
    let mut cfg = config();
    cfg.receive_timeout = Some(Duration::from_secs(2));
    let mut rx = connected(&mut storage, cfg);
    assert_eq!(rx.poll_timeout(), None, "only once data flows");
    let a = pattern(3 * BS, 1);
    feed(&mut rx, t(100), data(0, 0, &a));
    feed(&mut rx, t(900), data(0, 1, &a));
    assert_eq!(rx.poll_timeout(), Some(t(2900)));
    rx.handle_timeout(t(2900));
    assert_eq!(
        events(&mut rx).last(),
        Some(&Event::Failed(ReceiverError::ReceiveTimeout))
    );
}

#[test]
fn a_slice_larger_than_a_storage_slot_is_refused_with_a_typed_error() {
    let mut storage = [0u8; SLOTS * 4 * BS];
    let mut rx = connected(&mut storage, config());
    let a = pattern(5 * BS, 1);
    feed(&mut rx, t(10), data(0, 0, &a));
    assert_eq!(
        events(&mut rx).last(),
        Some(&Event::Failed(ReceiverError::SliceTooLarge {
            slice: 0,
            blocks: 5,
            capacity: 4
        }))
    );
}

#[test]
fn a_block_size_the_storage_cannot_hold_fails_at_connect() {
    let mut storage = [0u8; SLOTS * BS - 1];
    let mut rx = Receiver::new(config(), &mut storage, t(0));
    feed(&mut rx, t(1), reply(Some(0)));
    assert_eq!(
        events(&mut rx)[..],
        [Event::Failed(ReceiverError::UnsupportedBlockSize(
            BS as u32
        ))]
    );
}
