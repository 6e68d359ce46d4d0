//! `trailer_parse`: the verified-transfers trailer (doc/verified-transfers.md §3) parses or
//! fails with a typed error; a parsed one agrees with its records, writes back to the same
//! records, and yields an identity exactly when it carries a session and a valid name.

use udpcast_core::extension::{Identity, Record, StreamName, Trailer, TrailerWriter, MAGIC};

/// Parses `bytes` as the trailing bytes of a message, and as a stream name.
pub fn run(bytes: &[u8]) {
    match Trailer::parse(bytes) {
        Ok(Some(trailer)) => check(&trailer),
        Ok(None) => assert!(
            !bytes.starts_with(&MAGIC),
            "a trailer with magic was not seen"
        ),
        Err(_) => assert!(bytes.starts_with(&MAGIC), "no magic, yet an error"),
    }
    if let Ok(text) = core::str::from_utf8(bytes) {
        names(text);
    }
}

/// The checks every parsed trailer passes (also run by `wire_parse` on message trailers).
pub fn check(trailer: &Trailer<'_>) {
    let records: Vec<Record<'_>> = trailer.records().collect();
    let mut kinds: Vec<u8> = records
        .iter()
        .filter(|r| !matches!(r, Record::Unknown { .. }))
        .map(|r| r.kind().to_u8())
        .collect();
    let known = kinds.len();
    kinds.sort_unstable();
    kinds.dedup();
    assert_eq!(kinds.len(), known, "a known record twice in {records:?}");
    let find = |f: fn(&Record<'_>) -> Option<u64>| records.iter().find_map(f);
    assert_eq!(
        trailer.session(),
        find(|r| match r {
            Record::Session(s) => Some(*s),
            _ => None,
        })
    );
    assert_eq!(
        trailer.total_size(),
        find(|r| match r {
            Record::TotalSize(s) => Some(*s),
            _ => None,
        })
    );
    assert_eq!(
        trailer.name(),
        records.iter().find_map(|r| match r {
            Record::StreamName(n) => Some(*n),
            _ => None,
        })
    );
    assert_eq!(
        trailer.slice_check(),
        records.iter().find_map(|r| match r {
            Record::SliceCheck(c) => Some(*c),
            _ => None,
        })
    );
    assert_eq!(
        trailer.stream_check(),
        records.iter().find_map(|r| match r {
            Record::StreamDigest(c) => Some(*c),
            _ => None,
        })
    );

    // The records write back to a trailer that parses to the same records.
    let mut buf = vec![0u8; 8 + 65_535];
    let mut writer = TrailerWriter::new(&mut buf).expect("room for a header");
    for record in &records {
        writer.push(record).expect("a parsed record can be written");
    }
    let len = writer.finish();
    let again = Trailer::parse(&buf[..len])
        .expect("a written trailer parses")
        .expect("a written trailer has its magic");
    assert_eq!(again.records().collect::<Vec<_>>(), records);

    let identity = Identity::from_trailer(trailer);
    let valid_name = trailer.name().is_some_and(|n| StreamName::new(n).is_ok());
    assert_eq!(
        identity.is_some(),
        trailer.session().is_some() && valid_name
    );
    if let Some(identity) = identity {
        assert_eq!(Some(identity.session), trailer.session());
        assert_eq!(Some(identity.name.as_str()), trailer.name());
        assert_eq!(identity.total_size, trailer.total_size());
        let mut buf = [0u8; 8 + 3 * 4 + 8 + 255 + 8];
        let mut writer = TrailerWriter::new(&mut buf).expect("room for a header");
        identity
            .write(&mut writer)
            .expect("an identity fits its largest trailer");
        let len = writer.finish();
        let parsed = Trailer::parse(&buf[..len])
            .expect("parses")
            .expect("has magic");
        assert_eq!(Identity::from_trailer(&parsed), Some(identity));
    }
}

/// `StreamName::new` accepts exactly what the parser accepts; `lossy` always gives a
/// name `new` accepts.
fn names(text: &str) {
    if let Ok(name) = StreamName::new(text) {
        assert_eq!(name.as_str(), text);
    }
    let lossy = StreamName::lossy(text);
    let s = lossy.as_str();
    assert!(!s.is_empty() && s.len() <= 255 && !s.chars().any(char::is_control));
    assert_eq!(StreamName::new(s), Ok(lossy));
    let clean = !text.is_empty() && text.len() <= 255 && !text.chars().any(char::is_control);
    assert_eq!(StreamName::new(text).is_ok(), clean);
    if clean {
        assert_eq!(s, text);
    }
}
