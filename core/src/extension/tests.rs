//! The extension trailer and checksums, one test per rule of doc/verified-transfers.md.

use super::integrity::{
    crc32c_combine, portable_checksum, slice_checksum, stream_checksum, IntegrityError,
    SliceDigest, StreamDigest,
};
use super::*;
use crate::wire::{Bitmap1024, Capabilities, Message, Reqack};

/// A deterministic byte generator (xorshift), so tests need no dependency.
fn pseudo_random(seed: u64, out: &mut [u8]) {
    let mut x = seed | 1;
    for byte in out {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *byte = (x >> 24) as u8;
    }
}

fn identity_trailer(buf: &mut [u8]) -> usize {
    let mut writer = TrailerWriter::new(buf).unwrap();
    writer
        .push(&Record::Session(0x0123_4567_89ab_cdef))
        .unwrap()
        .push(&Record::StreamName("sda1.img"))
        .unwrap()
        .push(&Record::TotalSize(268_435_456))
        .unwrap();
    writer.finish()
}

#[test]
fn the_capability_bit_is_one_udpcast_never_defines() {
    let defined = Capabilities::NEW_GEN
        | Capabilities::MULTICAST
        | Capabilities::FEC
        | Capabilities::BIG_ENDIAN
        | Capabilities::LITTLE_ENDIAN
        | Capabilities::ASYNC;
    assert!(!defined.intersects(VERIFIED));
    assert_eq!(VERIFIED.bits().count_ones(), 1);
    // A C sender ANDs its own word (0x09 or 0x29) with ours: the bit vanishes (§2.12).
    let common = Capabilities::SENDER_ASYNC & (Capabilities::RECEIVER | VERIFIED);
    assert_eq!(common, Capabilities::RECEIVER & Capabilities::SENDER_ASYNC);
}

#[test]
fn an_identity_trailer_round_trips() {
    let mut buf = [0u8; 64];
    let len = identity_trailer(&mut buf);
    assert_eq!(len, HEADER_LEN + (4 + 8) + (4 + 8) + (4 + 8));
    assert_eq!(&buf[..8], b"UCXT\x01\x00\x00\x24");
    let trailer = Trailer::parse(&buf[..len]).unwrap().unwrap();
    assert_eq!(trailer.session(), Some(0x0123_4567_89ab_cdef));
    assert_eq!(trailer.name(), Some("sda1.img"));
    assert_eq!(trailer.total_size(), Some(268_435_456));
    assert_eq!(trailer.slice_check(), None);
    assert_eq!(trailer.stream_check(), None);
    let mut records = trailer.records();
    assert_eq!(records.next(), Some(Record::Session(0x0123_4567_89ab_cdef)));
    assert_eq!(records.next(), Some(Record::StreamName("sda1.img")));
    assert_eq!(records.next(), Some(Record::TotalSize(268_435_456)));
    assert_eq!(records.next(), None);
}

#[test]
fn slice_and_stream_checks_round_trip_with_exact_bytes() {
    let slice = SliceCheck {
        slice: 7,
        bytes: 99_008,
        crc32c: 0xe306_9283,
    };
    let stream = StreamCheck {
        bytes: 100_000,
        crc32c: 0x995d_c9bb,
    };
    let mut buf = [0u8; 64];
    let mut writer = TrailerWriter::new(&mut buf).unwrap();
    writer
        .push(&Record::Session(1))
        .unwrap()
        .push(&Record::SliceCheck(slice))
        .unwrap()
        .push(&Record::StreamDigest(stream))
        .unwrap();
    let len = writer.finish();
    assert_eq!(
        &buf[20..36],
        &[4, 0, 0, 12, 0, 0, 0, 7, 0, 1, 0x82, 0xc0, 0xe3, 0x06, 0x92, 0x83]
    );
    let trailer = Trailer::parse(&buf[..len]).unwrap().unwrap();
    assert_eq!(trailer.slice_check(), Some(slice));
    assert_eq!(trailer.stream_check(), Some(stream));
}

#[test]
fn a_reqack_with_a_trailer_still_parses_as_udpcast_reads_it() {
    // §2.11: udpcast reads the fixed 144 bytes; our trailer follows them.
    let ready = Bitmap1024::default();
    let reqack = Reqack {
        slice: 3,
        bytes: 1456,
        rxmit: 0,
        ready: &ready,
    };
    let mut datagram = [0u8; 256];
    let fixed = reqack.encode(&mut datagram).unwrap();
    let data = [0x5au8; 1456];
    let mut writer = TrailerWriter::new(&mut datagram[fixed..]).unwrap();
    writer
        .push(&Record::Session(42))
        .unwrap()
        .push(&Record::SliceCheck(SliceCheck::of(3, &data).unwrap()))
        .unwrap();
    let len = fixed + writer.finish();
    assert_eq!(
        Message::parse(&datagram[..len]),
        Ok(Message::Reqack(reqack))
    );
    let trailer = Trailer::parse(trailing_bytes(&datagram[..len], Reqack::LEN))
        .unwrap()
        .unwrap();
    assert_eq!(trailer.session(), Some(42));
    assert_eq!(trailer.slice_check().unwrap().verify(&data), Ok(()));
}

#[test]
fn no_magic_means_no_trailer() {
    assert_eq!(Trailer::parse(&[]), Ok(None));
    assert_eq!(Trailer::parse(b"UCX"), Ok(None));
    assert_eq!(Trailer::parse(&[0u8; 40]), Ok(None));
    assert_eq!(Trailer::parse(b"UCXt\x01\x00\x00\x00"), Ok(None));
    assert_eq!(trailing_bytes(&[1, 2, 3], 144), &[] as &[u8]);
    assert_eq!(trailing_bytes(&[1, 2, 3], 2), &[3]);
}

#[test]
fn every_truncation_of_a_trailer_is_refused_with_its_error() {
    let mut buf = [0u8; 64];
    let len = identity_trailer(&mut buf);
    for cut in MAGIC.len()..len {
        let mut bytes = [0u8; 64];
        bytes[..cut].copy_from_slice(&buf[..cut]);
        let err = Trailer::parse(&bytes[..cut]).unwrap_err();
        if cut < HEADER_LEN {
            assert_eq!(
                err,
                TrailerError::Truncated {
                    part: TrailerPart::Header,
                    len: cut,
                    needed: HEADER_LEN
                }
            );
        } else {
            assert_eq!(
                err,
                TrailerError::RecordsBeyondDatagram {
                    declared: len - HEADER_LEN,
                    available: cut - HEADER_LEN
                },
                "cut at {cut}"
            );
        }
    }
}

#[test]
fn records_cut_short_inside_the_declared_length_are_truncated() {
    let mut buf = [0u8; 64];
    let len = identity_trailer(&mut buf);
    for cut in HEADER_LEN + 1..len {
        let mut bytes = [0u8; 64];
        bytes[..cut].copy_from_slice(&buf[..cut]);
        // Claim only the bytes that are there, so the records themselves are cut.
        let declared = (cut - HEADER_LEN) as u16;
        bytes[6..8].copy_from_slice(&declared.to_be_bytes());
        match Trailer::parse(&bytes[..cut]) {
            Err(TrailerError::Truncated {
                part: TrailerPart::RecordHeader | TrailerPart::RecordValue(_),
                ..
            }) => {}
            // A cut that falls exactly between records leaves a shorter valid trailer.
            Ok(Some(_)) if [HEADER_LEN + 12, HEADER_LEN + 24].contains(&cut) => {}
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
}

#[test]
fn another_version_is_unsupported() {
    for version in [0u8, 2, 255] {
        let bytes = [b'U', b'C', b'X', b'T', version, 0, 0, 0];
        assert_eq!(
            Trailer::parse(&bytes),
            Err(TrailerError::UnsupportedVersion(version))
        );
    }
}

#[test]
fn a_fixed_size_record_of_another_length_is_refused() {
    for (kind, expected) in [
        (RecordKind::Session, 8),
        (RecordKind::TotalSize, 8),
        (RecordKind::SliceCheck, 12),
        (RecordKind::StreamDigest, 12),
    ] {
        for len in [0usize, expected - 1, expected + 1] {
            let mut bytes = [0u8; 40];
            bytes[..8].copy_from_slice(b"UCXT\x01\x00\x00\x00");
            bytes[6..8].copy_from_slice(&((4 + len) as u16).to_be_bytes());
            bytes[8] = kind.to_u8();
            bytes[10..12].copy_from_slice(&(len as u16).to_be_bytes());
            assert_eq!(
                Trailer::parse(&bytes[..12 + len]),
                Err(TrailerError::BadRecordLength {
                    kind,
                    len,
                    expected
                })
            );
        }
    }
}

fn name_trailer(name: &[u8], buf: &mut [u8]) -> usize {
    buf[..8].copy_from_slice(b"UCXT\x01\x00\x00\x00");
    buf[6..8].copy_from_slice(&((4 + name.len()) as u16).to_be_bytes());
    buf[8] = RecordKind::StreamName.to_u8();
    buf[10..12].copy_from_slice(&(name.len() as u16).to_be_bytes());
    buf[12..12 + name.len()].copy_from_slice(name);
    12 + name.len()
}

#[test]
fn stream_names_are_1_to_255_bytes_of_utf8_without_control_characters() {
    let mut buf = [0u8; 300];
    let cases: [(&[u8], Result<(), TrailerError>); 7] = [
        (b"", Err(TrailerError::EmptyName)),
        (&[b'a'; 256], Err(TrailerError::NameTooLong(256))),
        (b"\xff\xfe", Err(TrailerError::NameNotUtf8)),
        (b"sda\x1b[2J", Err(TrailerError::NameHasControlCharacter)),
        (b"a\x00b", Err(TrailerError::NameHasControlCharacter)),
        (&[b'a'; 255], Ok(())),
        ("disque-été".as_bytes(), Ok(())),
    ];
    for (name, expected) in cases {
        let len = name_trailer(name, &mut buf);
        let parsed = Trailer::parse(&buf[..len]).map(|t| t.unwrap().name().unwrap().len());
        assert_eq!(parsed.map(|_| ()), expected, "{name:?}");
        let mut out = [0u8; 300];
        let mut writer = TrailerWriter::new(&mut out).unwrap();
        if let Ok(text) = core::str::from_utf8(name) {
            let pushed = writer.push(&Record::StreamName(text)).map(|_| ());
            assert_eq!(pushed, expected.map_err(TrailerEncodeError::BadName));
        }
    }
}

#[test]
fn duplicate_known_records_are_refused_unknown_ones_are_kept() {
    let mut bytes = [0u8; 64];
    bytes[..8].copy_from_slice(b"UCXT\x01\x00\x00\x18");
    bytes[8..12].copy_from_slice(&[1, 0, 0, 8]);
    bytes[20..24].copy_from_slice(&[1, 0, 0, 8]);
    assert_eq!(
        Trailer::parse(&bytes[..32]),
        Err(TrailerError::DuplicateRecord(RecordKind::Session))
    );

    let mut buf = [0u8; 64];
    let mut writer = TrailerWriter::new(&mut buf).unwrap();
    writer
        .push(&Record::Unknown {
            kind: 200,
            value: b"later",
        })
        .unwrap()
        .push(&Record::Unknown {
            kind: 200,
            value: b"",
        })
        .unwrap()
        .push(&Record::Session(9))
        .unwrap();
    assert_eq!(
        writer.push(&Record::Session(9)).map(|_| ()),
        Err(TrailerEncodeError::Duplicate(RecordKind::Session))
    );
    assert_eq!(
        writer
            .push(&Record::Unknown {
                kind: 1,
                value: &[0; 8]
            })
            .map(|_| ()),
        Err(TrailerEncodeError::KnownKindAsUnknown(1))
    );
    let len = writer.finish();
    let trailer = Trailer::parse(&buf[..len]).unwrap().unwrap();
    assert_eq!(trailer.session(), Some(9));
    assert_eq!(trailer.records().count(), 3);
    assert_eq!(
        trailer.records().next(),
        Some(Record::Unknown {
            kind: 200,
            value: b"later"
        })
    );
}

#[test]
fn bytes_after_the_declared_records_and_reserved_fields_are_ignored() {
    let mut buf = [0xeeu8; 64];
    let len = identity_trailer(&mut buf);
    buf[5] = 0xff; // flags
    buf[9] = 0xff; // a record's reserved byte
    let trailer = Trailer::parse(&buf).unwrap().unwrap();
    assert_eq!(trailer.session(), Some(0x0123_4567_89ab_cdef));
    assert_eq!(trailer.records().count(), 3);
    assert!(len < buf.len());
}

#[test]
fn writing_into_a_short_buffer_is_refused() {
    assert_eq!(
        TrailerWriter::new(&mut [0u8; 7]).map(|_| ()),
        Err(TrailerEncodeError::BufferTooSmall {
            needed: 8,
            available: 7
        })
    );
    let mut buf = [0u8; 19];
    let mut writer = TrailerWriter::new(&mut buf).unwrap();
    assert_eq!(
        writer.push(&Record::Session(1)).map(|_| ()),
        Err(TrailerEncodeError::BufferTooSmall {
            needed: 20,
            available: 19
        })
    );
    assert_eq!(writer.finish(), HEADER_LEN);
}

#[test]
fn records_longer_than_a_16_bit_length_are_refused() {
    static BIG: [u8; 70_000] = [0; 70_000];
    let mut buf = [0u8; 64];
    let mut writer = TrailerWriter::new(&mut buf).unwrap();
    assert_eq!(
        writer
            .push(&Record::Unknown {
                kind: 99,
                value: &BIG
            })
            .map(|_| ()),
        Err(TrailerEncodeError::TooLong(70_000))
    );
}

#[test]
fn no_input_makes_the_parser_panic() {
    // Every byte of a valid trailer flipped to every value, and every prefix of noise
    // behind the magic: each parses or fails with a typed error, and iteration ends.
    let mut buf = [0u8; 64];
    let len = identity_trailer(&mut buf);
    for at in 0..len {
        for value in 0..=255u8 {
            let mut bytes = buf;
            bytes[at] = value;
            if let Ok(Some(trailer)) = Trailer::parse(&bytes[..len]) {
                assert!(trailer.records().count() <= 3);
            }
        }
    }
    let mut noise = [0u8; 512];
    for seed in 0..2000u64 {
        pseudo_random(seed, &mut noise);
        noise[..5].copy_from_slice(b"UCXT\x01");
        let cut = (seed as usize * 7) % noise.len();
        if let Ok(Some(trailer)) = Trailer::parse(&noise[..cut]) {
            let _ = trailer.records().count();
        }
    }
}

#[test]
fn checksums_match_their_catalogue_check_values() {
    // The "check" value of CRC-32/ISCSI in the CRC catalogue.
    assert_eq!(slice_checksum(b"123456789"), 0xe306_9283);
    assert_eq!(portable_checksum(b"123456789"), 0xe306_9283);
    assert_eq!(
        stream_checksum(b"123456789"),
        StreamCheck {
            bytes: 9,
            crc32c: 0xe306_9283
        }
    );
    assert_eq!(slice_checksum(b""), 0);
    assert_eq!(stream_checksum(b"").crc32c, 0);
}

#[test]
fn the_fast_checksum_equals_the_crc_crate_for_every_length_and_alignment() {
    let mut data = [0u8; 4 * 1456 + 61];
    pseudo_random(3, &mut data);
    for len in (0..200).chain([767, 768, 769, 1456, 3 * 1456, 4 * 1456 + 61]) {
        for start in 0..8.min(data.len() - len + 1) {
            let piece = &data[start..start + len];
            assert_eq!(
                slice_checksum(piece),
                portable_checksum(piece),
                "{start}+{len}"
            );
        }
    }
}

#[test]
fn combining_checksums_equals_the_checksum_of_the_concatenation() {
    let mut data = [0u8; 3000];
    pseudo_random(9, &mut data);
    for cut in [0, 1, 7, 8, 1455, 1456, 2999, 3000] {
        let (a, b) = data.split_at(cut);
        assert_eq!(
            crc32c_combine(portable_checksum(a), portable_checksum(b), b.len() as u64),
            portable_checksum(&data),
            "cut at {cut}"
        );
    }
}

#[test]
fn streaming_digests_equal_one_shot_digests_for_any_split() {
    let mut data = [0u8; 5000];
    pseudo_random(11, &mut data);
    let whole = stream_checksum(&data);
    let whole_slice = slice_checksum(&data);
    for seed in 0..200u64 {
        let mut stream = StreamDigest::new();
        let mut slice = SliceDigest::new();
        let mut rest = &data[..];
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        while !rest.is_empty() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let take = (x as usize % 1500).min(rest.len());
            let (piece, tail) = rest.split_at(take);
            stream.update(piece);
            slice.update(piece);
            rest = tail;
        }
        assert_eq!(stream.bytes(), data.len() as u64);
        assert_eq!(stream.finalize(), whole);
        assert_eq!(slice.finalize(), whole_slice);
    }
}

#[test]
fn a_corrupted_slice_fails_its_check() {
    let mut data = [0u8; 1456 * 3];
    pseudo_random(5, &mut data);
    let check = SliceCheck::of(2, &data).unwrap();
    assert_eq!(check.verify(&data), Ok(()));
    for at in [0, 1455, data.len() - 1] {
        let mut bad = data;
        bad[at] ^= 0x01;
        assert!(matches!(
            check.verify(&bad),
            Err(IntegrityError::SliceChecksum { slice: 2, .. })
        ));
    }
    assert_eq!(
        check.verify(&data[1..]),
        Err(IntegrityError::SliceLength {
            slice: 2,
            expected: check.bytes,
            actual: data.len() - 1
        })
    );
}

#[test]
fn a_stream_of_other_bytes_or_length_fails_the_digest() {
    let expected = stream_checksum(b"the image");
    assert_eq!(expected.verify(stream_checksum(b"the image")), Ok(()));
    let other = stream_checksum(b"the imagE");
    assert_eq!(
        expected.verify(other),
        Err(IntegrityError::Stream {
            expected,
            actual: other
        })
    );
    assert!(expected.verify(stream_checksum(b"the image\0")).is_err());
}
