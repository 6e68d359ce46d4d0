//! Command lines refused (no lab needed): unknown options, bad numbers and bad expected
//! names exit 1 naming the option; --help and --version print to stdout and exit 0.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use udpcast_tests::lab;

use crate::tiny_receiver;

/// Runs the tiny receiver outside any lab, bounded by timeout(1). `args` must make it exit
/// before it opens a socket; should the parser wrongly accept them, the leading options
/// keep it on the loopback interface and end it after one second (exit 255).
fn run_outside_lab(tiny: &Path, args: &[&str]) -> Output {
    let timeout = lab::find_program("timeout").expect("timeout(1)");
    let started = Instant::now();
    let done = Command::new(timeout)
        .arg("10")
        .arg(tiny)
        .args(["--interface", "lo", "--portbase", "19000", "-s", "1", "-k"])
        .args(args)
        .env_remove("IFNAME")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    eprintln!("{args:?}: {:?} after {:?}", done.status, started.elapsed());
    done
}

/// Exit 1, nothing on stdout, a first stderr line naming `option`, then the usage.
fn assert_usage_error(tiny: &Path, args: &[&str], option: &str) {
    let done = run_outside_lab(tiny, args);
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(done.stdout.is_empty(), "{args:?}: stdout not empty");
    let mut lines = stderr.lines();
    let first = lines.next().unwrap_or("");
    assert!(
        first.starts_with("tiny-receiver: ") && first.contains(option),
        "{args:?}: first line {first:?} does not name {option}"
    );
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("usage: tiny-receiver")),
        "{args:?}: no usage after the message:\n{stderr}"
    );
}

#[test]
fn unknown_options_exit_1_naming_the_option() {
    let Some(tiny) = tiny_receiver() else { return };
    // A trailing --help (exit 0) shows an unknown option that was silently accepted.
    assert_usage_error(&tiny, &["--bogus", "--help"], "unknown option --bogus");
    assert_usage_error(&tiny, &["--bogus=3", "--help"], "unknown option --bogus");
    assert_usage_error(&tiny, &["-kq", "--help"], "unknown option -q");
    assert_usage_error(&tiny, &["--nokbd=yes", "--help"], "--nokbd");
    assert_usage_error(
        &tiny,
        &["disk.img", "--help"],
        "unexpected argument disk.img",
    );
    assert_usage_error(&tiny, &["--file"], "missing value for --file");
}

#[test]
fn bad_numbers_exit_1_naming_the_option() {
    let Some(tiny) = tiny_receiver() else { return };
    assert_usage_error(&tiny, &["--portbase", "90x0", "--help"], "--portbase: 90x0");
    assert_usage_error(&tiny, &["--port=65535", "--help"], "--port: 65535");
    assert_usage_error(&tiny, &["-P", "", "--help"], "-P");
    assert_usage_error(&tiny, &["--rcvbuf=12q", "--help"], "--rcvbuf: 12q");
    assert_usage_error(&tiny, &["-b1g", "--help"], "-b: 1g");
    assert_usage_error(&tiny, &["-w", "-5", "--help"], "-w: -5");
    assert_usage_error(&tiny, &["--ttl", "0", "--help"], "--ttl: 0");
    assert_usage_error(
        &tiny,
        &["--start-timeout", "99999999999999999999", "--help"],
        "--start-timeout",
    );
    assert_usage_error(&tiny, &["-M", "232.1.2.300", "--help"], "-M: 232.1.2.300");
}

/// A name no sender can announce: empty (refused by the parser), or one the library
/// refuses (control characters, over 255 bytes), which it judges once it runs.
#[test]
fn bad_expected_names_exit_1_naming_the_option() {
    let Some(tiny) = tiny_receiver() else { return };
    assert_usage_error(&tiny, &["--expect-name=", "--help"], "--expect-name");
    assert_usage_error(&tiny, &["--expect-name"], "missing value for --expect-name");
    assert_usage_error(&tiny, &["--expect-name", "a\tb"], "--expect-name: a\tb");
    let long = "x".repeat(256);
    assert_usage_error(&tiny, &["--expect-name", &long], "--expect-name");
}

#[test]
fn help_and_version_print_to_stdout_and_exit_0() {
    let Some(tiny) = tiny_receiver() else { return };
    let help = run_outside_lab(&tiny, &["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.starts_with("usage: tiny-receiver"), "{text}");
    for option in [
        "--mcast-rdv-address",
        "--exit-wait",
        "--rcvbuf",
        "--ttl",
        "--sync",
        "--expect-name",
    ] {
        assert!(text.contains(option), "usage lacks {option}: {text}");
    }
    assert!(help.stderr.is_empty());
    let version = run_outside_lab(&tiny, &["--version"]);
    assert_eq!(version.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        format!("tiny-receiver (libudpcast {})\n", env!("CARGO_PKG_VERSION"))
    );
}
