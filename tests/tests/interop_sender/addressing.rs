//! Our sender reaches Debian's receivers by unicast, multicast and broadcast.

use std::net::Ipv4Addr;

use udpcast_core::wire::Message;

use crate::capture_checks::{capture_stop, check_sender_traffic};
use crate::{setup, BLOCK, DATA_GROUP};

#[test]
fn one_debian_receiver_gets_unicast_point_to_point_data() {
    let Some(mut s) = setup(2, &["tcpdump"]) else {
        return;
    };
    let input = s.input(1_000_000, 11);
    s.no_gso = true;
    let cap = s.lab.host(0).capture("udp").unwrap();
    s.transfer(&["--nokbd", "--min-receivers", "1"], &[1], &[], &input);
    let datagrams = capture_stop(cap);
    let ours = check_sender_traffic(&datagrams, s.lab.host(0).addr(), false);
    let rx = s.lab.host(1).addr();
    let mut data = 0;
    for d in &ours {
        if let Ok(Message::Data(_) | Message::Reqack(_)) = Message::parse(&d.payload) {
            data += 1;
            assert_eq!(*d.dst.ip(), rx, "#{}: data not unicast to {rx}", d.number);
        }
    }
    assert!(data >= 1_000_000 / BLOCK, "only {data} DATA/REQACK packets");
}

#[test]
fn three_debian_receivers_over_multicast_with_conformant_traffic() {
    let Some(mut s) = setup(4, &["tcpdump"]) else {
        return;
    };
    let input = s.input(3_000_000, 12);
    s.no_gso = true;
    let cap = s.lab.host(0).capture("udp").unwrap();
    s.transfer(
        &["--nokbd", "--min-receivers", "3"],
        &[1, 2, 3],
        &[],
        &input,
    );
    let datagrams = capture_stop(cap);
    let ours = check_sender_traffic(&datagrams, s.lab.host(0).addr(), false);
    for d in &ours {
        if let Ok(Message::Data(_)) = Message::parse(&d.payload) {
            assert_eq!(*d.dst.ip(), DATA_GROUP, "#{}: DATA destination", d.number);
        }
    }
}

#[test]
fn broadcast_mode_reaches_two_debian_receivers() {
    let Some(mut s) = setup(3, &["tcpdump"]) else {
        return;
    };
    let input = s.input(2_000_000, 13);
    s.no_gso = true;
    let cap = s.lab.host(0).capture("udp").unwrap();
    s.transfer(
        &["--nokbd", "--broadcast", "--min-receivers", "2"],
        &[1, 2],
        &[],
        &input,
    );
    let datagrams = capture_stop(cap);
    let ours = check_sender_traffic(&datagrams, s.lab.host(0).addr(), false);
    let bcast = s.lab.host(0).broadcast();
    assert!(ours.iter().any(
        |d| matches!(Message::parse(&d.payload), Ok(Message::Data(_))) && *d.dst.ip() == bcast
    ));
}

#[test]
fn explicit_pointopoint_to_one_debian_receiver() {
    let Some(s) = setup(2, &[]) else {
        return;
    };
    let input = s.input(2_000_000, 14);
    s.transfer(
        &["--nokbd", "--pointopoint", "--min-receivers", "1"],
        &[1],
        &[],
        &input,
    );
}

#[test]
fn ttl_2_with_explicit_data_group_to_two_debian_receivers() {
    let Some(mut s) = setup(3, &["tcpdump"]) else {
        return;
    };
    let input = s.input(2_000_000, 15);
    let group = Ipv4Addr::new(239, 1, 2, 3);
    s.no_gso = true;
    let cap = s.lab.host(0).capture("udp").unwrap();
    s.transfer(
        &[
            "--nokbd",
            "--ttl",
            "2",
            "--mcast-data-address",
            "239.1.2.3",
            "--min-receivers",
            "2",
        ],
        &[1, 2],
        &["--ttl", "2"],
        &input,
    );
    let datagrams = capture_stop(cap);
    let ours = check_sender_traffic(&datagrams, s.lab.host(0).addr(), false);
    for d in &ours {
        if let Ok(Message::Data(_)) = Message::parse(&d.payload) {
            assert_eq!(*d.dst.ip(), group, "#{}: DATA destination", d.number);
            assert_eq!(d.ttl, 2, "#{}: DATA TTL", d.number);
        }
    }
}
