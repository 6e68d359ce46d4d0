//! The result line (its only documented form, every byte written counted) and, with no
//! sender, exit 255 and the INCOMPLETE warning instead.

use std::path::PathBuf;

use udpcast_tests::lab::{self, Lab};

use crate::{
    assert_same, heavy, program, run_sender, start_tiny, tiny_receiver, DEBIAN_SENDER, LIMIT,
};

/// The byte count of the tiny receiver's result line, which must be its only
/// `Transfer complete` line and have the form
/// `Transfer complete: <bytes> bytes in <s.d> s (<r.d> MB/s)`.
pub(crate) fn result_line_bytes(stderr: &str) -> u64 {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("Transfer complete"))
        .collect();
    assert_eq!(lines.len(), 1, "not exactly one result line:\n{stderr}");
    assert!(
        !stderr.contains("INCOMPLETE"),
        "success that says INCOMPLETE:\n{stderr}"
    );
    parse_result_line(lines[0]).unwrap_or_else(|| panic!("malformed result line {:?}", lines[0]))
}

fn parse_result_line(line: &str) -> Option<u64> {
    let rest = line.strip_prefix("Transfer complete: ")?;
    let (bytes, rest) = rest.split_once(" bytes in ")?;
    let (seconds, rest) = rest.split_once(" s (")?;
    let rate = rest.strip_suffix(" MB/s)")?;
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    for decimal in [seconds, rate] {
        let (whole, tenths) = decimal.split_once('.')?;
        if !(digits(whole) && tenths.len() == 1 && digits(tenths)) {
            return None;
        }
    }
    if !digits(bytes) {
        return None;
    }
    bytes.parse().ok()
}

#[test]
fn result_line_parser_takes_only_the_documented_form() {
    assert_eq!(
        parse_result_line("Transfer complete: 1000 bytes in 0.1 s (0.0 MB/s)"),
        Some(1000)
    );
    for bad in [
        "Transfer complete.",
        "Transfer complete: 1000 bytes in 0.12 s (0.0 MB/s)",
        "Transfer complete: 1000 bytes in 1 s (1.0 MB/s)",
        "Transfer complete: +1000 bytes in 0.1 s (1.0 MB/s)",
        "Transfer complete: 1000 bytes in 0.1 s (1.0 MB/s) ",
    ] {
        assert_eq!(parse_result_line(bad), None, "{bad:?}");
    }
}

/// The result line counts every byte written: a size that is no multiple of the block
/// size, so that a dropped or doubled short last block shows.
#[test]
fn result_line_counts_the_bytes_written() {
    let Some(tiny) = tiny_receiver() else { return };
    let Some(sender) = program(PathBuf::from(DEBIAN_SENDER), "apt-get install udpcast") else {
        return;
    };
    let _turn = heavy();
    let Some(lab) = Lab::new_or_skip(2) else {
        return;
    };
    let size = 3_000_017;
    let input = lab.path("in.bin");
    let out = lab.path("out.bin");
    lab::write_random_file(&input, size, 204).unwrap();
    let mut rx = start_tiny(&lab, &tiny, &out);
    run_sender(
        &lab,
        &sender,
        &["--nokbd", "--min-receivers", "1"],
        &input,
        &mut rx,
    );
    assert_same(&input, &out);
    assert_eq!(std::fs::metadata(&out).unwrap().len(), size);
    assert_eq!(result_line_bytes(&rx.stderr()), size);
}

/// No sender: exit 255 after the start timeout, the reason, and the warning a boot image
/// looks for instead of the result line.
#[test]
fn no_sender_exits_255_and_says_the_output_is_incomplete() {
    let Some(tiny) = tiny_receiver() else { return };
    let Some(lab) = Lab::new_or_skip(2) else {
        return;
    };
    let out = lab.path("out.bin");
    let done = lab
        .host(1)
        .command(&tiny)
        .args(["--nokbd", "-s", "1", "--file"])
        .arg(&out)
        .timeout(LIMIT)
        .label("tiny-receiver")
        .run()
        .unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(255), "{stderr}");
    assert!(
        stderr.contains("tiny-receiver: 0 bytes written; the output is INCOMPLETE\n"),
        "{stderr}"
    );
    assert!(!stderr.contains("Transfer complete"), "{stderr}");
}
