//! Peers that cannot join: Debian's receiver and sender, our receiver without the key, a
//! wrong key; and key files too short or missing.

use std::path::Path;

use udpcast_tests::room::Impl;

use crate::{heavy, key_file, refused_receiver, room, LIMIT};

/// Debian's receiver next to one of ours, both toward a keyed sender: ours gets the image,
/// Debian's is refused (the sender says so, with the reason) and writes nothing.
#[test]
fn a_debian_receiver_cannot_join_a_keyed_sender() {
    let Some(r) = room(3) else { return };
    let _turn = heavy();
    let key = key_file(&r.lab, "room.key", 32, 51);
    let input = r.input("in.img", 3_000_000, 52);
    let mut debian = r.receiver(1, Impl::Debian, &["--nokbd", "--start-timeout", "6"]);
    let mut ours = r.receiver(2, Impl::Ours, &["--nokbd", "--key-file", &key]);
    let mut tx = r.sender(
        Impl::Ours,
        &["--nokbd", "--key-file", &key, "--min-receivers", "1"],
        &input,
    );
    ours.expect_success(LIMIT);
    tx.expect_success(LIMIT);
    r.assert_intact(&input, &[2]);
    let status = debian.wait_timeout(LIMIT).unwrap();
    assert!(
        status.is_some_and(|s| !s.success()),
        "Debian's receiver did not fail: {status:?}\n{}",
        debian.stderr()
    );
    let written = std::fs::metadata(r.output(1)).map_or(0, |m| m.len());
    assert_eq!(written, 0, "Debian's receiver wrote {written} bytes");
    let h1 = r.lab.host(1).addr();
    let said = tx.stderr();
    assert!(
        said.contains(&format!(
            "refused datagrams from {h1}:9000: unauthenticated (udpcast, or udpcast-rs without --key-file)"
        )),
        "{said}"
    );
}

/// A keyed receiver toward Debian's sender: it never connects and ends at its start
/// timeout, saying that no sender was authentic and why.
#[test]
fn a_keyed_receiver_refuses_a_debian_sender() {
    let Some(r) = room(2) else { return };
    let _turn = heavy();
    let key = key_file(&r.lab, "room.key", 32, 61);
    let input = r.input("in.img", 1_000_000, 62);
    let mut rx = r.receiver(
        1,
        Impl::Ours,
        &["--nokbd", "--key-file", &key, "--start-timeout", "3"],
    );
    let mut tx = r.sender(Impl::Debian, &["--nokbd", "--min-receivers", "1"], &input);
    let (code, said) = refused_receiver(&mut rx, &mut tx);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains(
            "no authenticated sender before the start timeout: the sender's datagrams were \
             unauthenticated"
        ),
        "{said}"
    );
    assert!(!said.contains("Connected"), "{said}");
    let written = std::fs::metadata(r.output(1)).map_or(0, |m| m.len());
    assert_eq!(written, 0);
}

/// Our receiver without a key toward a keyed sender: the first sealed HELLO tells it that
/// it would never be admitted, and it says so at once (not at a start timeout).
#[test]
fn an_unkeyed_receiver_of_ours_says_it_needs_the_key() {
    let Some(r) = room(2) else { return };
    let _turn = heavy();
    let key = key_file(&r.lab, "room.key", 32, 91);
    let input = r.input("in.img", 1_000_000, 92);
    let report = r.lab.path("rx.json");
    let report_arg = report.to_str().unwrap().to_string();
    let mut rx = r.receiver(1, Impl::Ours, &["--nokbd", "--stats-json", &report_arg]);
    let mut tx = r.sender(
        Impl::Ours,
        &["--nokbd", "--key-file", &key, "--min-receivers", "1"],
        &input,
    );
    let (code, said) = refused_receiver(&mut rx, &mut tx);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains(
            "the sender authenticates its datagrams (--key-file): this receiver needs the key"
        ),
        "{said}"
    );
    let report = std::fs::read_to_string(&report).unwrap();
    assert!(
        report.contains("\"exit_reason\":\"key_required\""),
        "{report}"
    );
}

/// Two keys: each side refuses the other, and says it was another key (or a forgery).
#[test]
fn a_wrong_key_is_refused_on_both_sides_with_the_reason() {
    let Some(r) = room(2) else { return };
    let _turn = heavy();
    let ours = key_file(&r.lab, "a.key", 32, 71);
    let theirs = key_file(&r.lab, "b.key", 32, 72);
    let input = r.input("in.img", 1_000_000, 73);
    let mut rx = r.receiver(
        1,
        Impl::Ours,
        &["--nokbd", "--key-file", &theirs, "--start-timeout", "3"],
    );
    let mut tx = r.sender(
        Impl::Ours,
        &["--nokbd", "--key-file", &ours, "--min-receivers", "1"],
        &input,
    );
    let (code, said) = refused_receiver(&mut rx, &mut tx);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("the sender's datagrams were forged, or sealed with another key"),
        "{said}"
    );
    let h1 = r.lab.host(1).addr();
    let told = tx.stderr();
    assert!(
        told.contains(&format!(
            "refused datagrams from {h1}:9000: forged, or sealed with another key"
        )),
        "{told}"
    );
}

#[test]
fn key_files_too_short_or_missing_are_usage_errors() {
    let dir = std::env::temp_dir().join(format!("udpcast-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let short = dir.join("short.key");
    std::fs::write(&short, b"fifteen bytes!!").unwrap();
    let missing = dir.join("missing.key");
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let mut programs = vec![bin.join("udp-sender"), bin.join("udp-receiver")];
    let tiny = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tiny/tiny-receiver");
    if tiny.is_file() {
        programs.push(tiny);
    }
    for program in &programs {
        for (key, message) in [
            (&short, "15 bytes, at least 16"),
            (&missing, "cannot read key file"),
        ] {
            let out = std::process::Command::new(program)
                .args(["--key-file", key.to_str().unwrap(), "--nokbd"])
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap();
            let said = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{}: {said}", program.display());
            let tiny_short = program.ends_with("tiny-receiver") && key == &short;
            let expected = if tiny_short {
                "key material shorter than 16 bytes"
            } else {
                message
            };
            assert!(said.contains(expected), "{}: {said}", program.display());
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
