//! `--stats-json` of our udp-sender and udp-receiver (doc/stats-json.md) in the network
//! lab: the one-line reports parse, and their figures agree with each other and with what
//! happened — the file size, the losses one link suffered, a receiver that was killed, a
//! receiver that found no sender, a receiver ended by SIGTERM.
//!
//! These tests need root (they skip loudly otherwise, and fail under
//! `UDPCAST_REQUIRE_LAB=1`). Every process is bounded by a time limit.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use udpcast_core::addressing;
use udpcast_tests::lab::{self, Lab, Loss, Proc};

/// Per-process limit: far above the seconds a transfer takes, far below "hung".
const LIMIT: Duration = Duration::from_secs(90);

/// Transfers take turns: the machine's few cores are shared by every lab.
static HEAVY: Mutex<()> = Mutex::new(());

fn heavy() -> MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------------------
// A minimal JSON reader: enough to hold the reports to RFC 8259 without a dependency.

#[derive(Clone, Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    /// The number's text, so that u64 figures keep every digit.
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(BTreeMap<String, Json>),
}

impl Json {
    fn parse(text: &str) -> Result<Json, String> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        let value = p.value()?;
        p.blank();
        if p.i != p.s.len() {
            return Err(format!("trailing text at {}", p.i));
        }
        Ok(value)
    }

    #[track_caller]
    fn get(&self, key: &str) -> &Json {
        match self {
            Json::Object(map) => map
                .get(key)
                .unwrap_or_else(|| panic!("no {key:?} in {self:?}")),
            _ => panic!("{self:?} is not an object"),
        }
    }

    fn has(&self, key: &str) -> bool {
        matches!(self, Json::Object(map) if map.contains_key(key))
    }

    #[track_caller]
    fn u64(&self, key: &str) -> u64 {
        match self.get(key) {
            Json::Number(n) => n.parse().unwrap_or_else(|_| panic!("{key}: {n}")),
            other => panic!("{key} is not a number: {other:?}"),
        }
    }

    #[track_caller]
    fn f64(&self, key: &str) -> f64 {
        match self.get(key) {
            Json::Number(n) => n.parse().unwrap(),
            other => panic!("{key} is not a number: {other:?}"),
        }
    }

    #[track_caller]
    fn str(&self, key: &str) -> &str {
        match self.get(key) {
            Json::String(s) => s,
            other => panic!("{key} is not a string: {other:?}"),
        }
    }

    #[track_caller]
    fn array(&self, key: &str) -> &[Json] {
        match self.get(key) {
            Json::Array(a) => a,
            other => panic!("{key} is not an array: {other:?}"),
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn blank(&mut self) {
        while self.s.get(self.i).is_some_and(|c| b" \t\r\n".contains(c)) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Result<(), String> {
        self.blank();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected {:?} at {}", c as char, self.i))
        }
    }

    fn literal(&mut self, word: &str, value: Json) -> Result<Json, String> {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(value)
        } else {
            Err(format!("bad literal at {}", self.i))
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        self.blank();
        match self.s.get(self.i) {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => self.string().map(Json::String),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'n') => self.literal("null", Json::Null),
            Some(c) if *c == b'-' || c.is_ascii_digit() => self.number(),
            _ => Err(format!("unexpected input at {}", self.i)),
        }
    }

    fn number(&mut self) -> Result<Json, String> {
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_ascii_digit() || b"-+.eE".contains(c))
        {
            self.i += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).unwrap();
        text.parse::<f64>()
            .map_err(|_| format!("bad number {text:?}"))?;
        Ok(Json::Number(text.to_string()))
    }

    fn string(&mut self) -> Result<String, String> {
        self.eat(b'"')?;
        let mut out = Vec::new();
        loop {
            let c = *self.s.get(self.i).ok_or("unterminated string")?;
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = *self.s.get(self.i).ok_or("unterminated escape")?;
                    self.i += 1;
                    let decoded = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hex = std::str::from_utf8(&self.s[self.i..self.i + 4]).unwrap();
                            self.i += 4;
                            let code = u32::from_str_radix(hex, 16).map_err(|e| e.to_string())?;
                            char::from_u32(code).ok_or("surrogate escapes are not expected")?
                        }
                        _ => return Err(format!("bad escape at {}", self.i)),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(decoded.encode_utf8(&mut buf).as_bytes());
                }
                c if c < 0x20 => return Err(format!("raw control character at {}", self.i)),
                c => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|e| e.to_string())
    }

    fn array(&mut self) -> Result<Json, String> {
        self.eat(b'[')?;
        let mut items = Vec::new();
        self.blank();
        if self.s.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(Json::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.blank();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Json::Array(items));
                }
                _ => return Err(format!("expected , or ] at {}", self.i)),
            }
        }
    }

    fn object(&mut self) -> Result<Json, String> {
        self.eat(b'{')?;
        let mut map = BTreeMap::new();
        self.blank();
        if self.s.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(Json::Object(map));
        }
        loop {
            self.blank();
            let key = self.string()?;
            self.eat(b':')?;
            let value = self.value()?;
            if map.insert(key.clone(), value).is_some() {
                return Err(format!("duplicate key {key:?}"));
            }
            self.blank();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Json::Object(map));
                }
                _ => return Err(format!("expected , or }} at {}", self.i)),
            }
        }
    }
}

#[test]
fn the_json_reader_reads_what_rfc_8259_allows() {
    let v = Json::parse(r#" {"a": [1, -2.5e3, true, null], "s": "x\"\\\u00e9\n"} "#).unwrap();
    assert_eq!(v.str("s"), "x\"\\é\n");
    assert_eq!(v.array("a").len(), 4);
    assert!(Json::parse(r#"{"a":1,"a":2}"#).is_err());
    assert!(Json::parse(r#"{"a":1} x"#).is_err());
}

// ---------------------------------------------------------------------------------------
// The lab.

struct Setup {
    lab: Lab,
    sender: PathBuf,
    receiver: PathBuf,
}

fn setup(hosts: usize) -> Option<Setup> {
    let sender = lab::our_program("udp-sender");
    let receiver = lab::our_program("udp-receiver");
    let lab = Lab::new_or_skip(hosts)?;
    Some(Setup {
        lab,
        sender,
        receiver,
    })
}

impl Setup {
    fn input(&self, len: u64, seed: u64) -> PathBuf {
        let path = self.lab.path(format!("input-{seed}.bin"));
        lab::write_random_file(&path, len, seed).unwrap();
        path
    }

    fn output(&self, host: usize) -> PathBuf {
        self.lab.path(format!("out-h{host}.bin"))
    }

    fn report_path(&self, host: usize) -> PathBuf {
        self.lab.path(format!("stats-h{host}.json"))
    }

    /// Our receiver on `host` with `args`, writing `out-h<host>.bin` and its report to
    /// `stats-h<host>.json`, once it is listening.
    fn receiver(&self, host: usize, args: &[&str]) -> Proc<'_> {
        let mut p = self
            .lab
            .host(host)
            .command(&self.receiver)
            .args(args)
            .arg("--file")
            .arg(self.output(host))
            .arg("--stats-json")
            .arg(self.report_path(host))
            .timeout(LIMIT)
            .label(&format!("h{host}-rx"))
            .spawn()
            .unwrap();
        let ready = p
            .wait_for_stderr("UDP receiver for", Duration::from_secs(10))
            .unwrap();
        assert!(ready, "[{}] did not start:\n{}", p.label(), p.stderr());
        p
    }

    /// Our sender on host 0 sending `input` with `args`, its report in `stats-h0.json`.
    fn sender(&self, args: &[&str], input: &Path) -> Proc<'_> {
        let mut p = self
            .lab
            .host(0)
            .command(&self.sender)
            .args(args)
            .arg("--file")
            .arg(input)
            .arg(format!("--stats-json={}", self.report_path(0).display()))
            .timeout(LIMIT)
            .label("h0-tx")
            .spawn()
            .unwrap();
        let ready = p
            .wait_for_stderr("Broadcasting control to", Duration::from_secs(10))
            .unwrap();
        assert!(ready, "our sender did not start:\n{}", p.stderr());
        p
    }

    /// The report of `host`: exactly one line holding one JSON object.
    #[track_caller]
    fn report(&self, host: usize) -> Json {
        let path = self.report_path(host);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("no report {}: {e}", path.display()));
        eprintln!("h{host} report: {}", text.trim_end());
        assert!(
            text.ends_with('\n') && text.matches('\n').count() == 1,
            "not one line: {text:?}"
        );
        let json = Json::parse(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert!(matches!(json, Json::Object(_)), "{text}");
        json
    }

    fn data_group(&self) -> std::net::Ipv4Addr {
        addressing::default_data_group(self.lab.host(0).addr())
    }
}

/// The fields every report has, with the types doc/stats-json.md gives them.
#[track_caller]
fn check_common(r: &Json, program: &str, status: u64, reason: &str) {
    assert_eq!(r.str("program"), program);
    assert_eq!(r.str("version"), env!("CARGO_PKG_VERSION"));
    assert_eq!(r.u64("exit_status"), status, "{r:?}");
    assert_eq!(r.str("exit_reason"), reason, "{r:?}");
    assert!(!r.str("message").is_empty());
    let (bytes, seconds) = (r.u64("bytes"), r.f64("seconds"));
    let rate = r.u64("rate_bytes_per_second");
    if seconds > 0.0 {
        let expected = bytes as f64 / seconds;
        assert!(
            (rate as f64 - expected).abs() <= 1.0 + expected * 1e-3,
            "{r:?}"
        );
    } else {
        assert_eq!(rate, 0, "{r:?}");
    }
    r.u64("retransmissions");
}

// ---------------------------------------------------------------------------------------
// Transfers.

/// What a transfer left: its length, the receivers' addresses and the three reports.
struct Transfer {
    len: u64,
    addresses: [String; 2],
    tx: Json,
    r1: Json,
    r2: Json,
}

/// A transfer to receivers on hosts 1 and 2, with 3 % of the data toward host 2 lost.
fn lossy_transfer(sender_args: &[&str], len: u64, seed: u64) -> Option<Transfer> {
    let s = setup(3)?;
    let _turn = heavy();
    let input = s.input(len, seed);
    let loss = s
        .lab
        .add_loss(&Loss::toward(2, 30).destination(s.data_group()))
        .unwrap();
    let mut r1 = s.receiver(1, &["--nokbd"]);
    let mut r2 = s.receiver(2, &["--nokbd"]);
    let mut args = vec!["--nokbd", "--min-receivers", "2"];
    args.extend_from_slice(sender_args);
    let mut tx = s.sender(&args, &input);
    lab::expect_all_success(&mut [&mut tx, &mut r1, &mut r2], LIMIT);
    assert!(loss.dropped().unwrap() > 0, "the loss rule dropped nothing");
    Some(Transfer {
        len,
        addresses: [1, 2].map(|h| s.lab.host(h).addr().to_string()),
        tx: s.report(0),
        r1: s.report(1),
        r2: s.report(2),
    })
}

/// The figures both kinds of transfer must show.
fn check_transfer(t: &Transfer) {
    let Transfer {
        len, tx, r1, r2, ..
    } = t;
    let len = *len;
    check_common(tx, "udp-sender", 0, "complete");
    assert_eq!(tx.u64("bytes"), len);
    assert!(tx.u64("blocks_sent") >= len / 1456);
    assert!(tx.f64("seconds") > 0.0);
    let receivers = tx.array("receivers");
    assert_eq!(receivers.len(), 2, "{tx:?}");
    for r in receivers {
        assert_eq!(r.str("status"), "complete", "{r:?}");
        assert!(!r.has("drop_reason"), "{r:?}");
        assert_eq!(r.u64("bytes_acknowledged"), len, "{r:?}");
    }
    for (rx, address) in [(r1, &t.addresses[0]), (r2, &t.addresses[1])] {
        check_common(rx, "udp-receiver", 0, "complete");
        assert_eq!(rx.u64("bytes"), len, "{address}");
        assert!(rx.f64("seconds") > 0.0);
        assert_eq!(rx.u64("lost_blocks"), 0);
        // The sender's figure for a receiver is the receiver's own, seen from the other end.
        let seen = receivers
            .iter()
            .find(|r| r.str("address") == address.as_str())
            .unwrap_or_else(|| panic!("{address} missing from {receivers:?}"));
        assert_eq!(
            seen.u64("retransmissions"),
            rx.u64("retransmissions"),
            "{address}"
        );
    }
    assert_eq!(
        r1.u64("retransmissions"),
        0,
        "the clean link asked for nothing"
    );
}

#[test]
fn two_receivers_one_lossy_link_report_consistent_figures() {
    let Some(t) = lossy_transfer(&[], 8 << 20, 1) else {
        return;
    };
    check_transfer(&t);
    let (tx, r2) = (&t.tx, &t.r2);
    assert!(
        r2.u64("retransmissions") > 0,
        "the lossy link asked for nothing"
    );
    assert!(r2.u64("retransmit_requests") > 0);
    assert!(tx.u64("retransmissions") > 0, "the sender resent nothing");
    assert_eq!(r2.u64("fec_repairs"), 0, "no FEC without --fec");
}

#[test]
fn with_fec_the_lossy_receiver_reports_blocks_rebuilt() {
    let Some(t) = lossy_transfer(&["--fec", "8x8/128"], 8 << 20, 2) else {
        return;
    };
    check_transfer(&t);
    let (r1, r2) = (&t.r1, &t.r2);
    assert!(r2.u64("fec_repairs") > 0, "{r2:?}");
    assert_eq!(r1.u64("fec_repairs"), 0, "{r1:?}");
}

#[test]
fn a_killed_receiver_is_listed_as_dropped_with_its_reason() {
    let Some(s) = setup(3) else {
        return;
    };
    let _turn = heavy();
    let len = 100 << 20;
    let input = s.input(len, 3);
    let mut r1 = s.receiver(1, &["--nokbd"]);
    let mut victim = s.receiver(2, &["--nokbd"]);
    let mut tx = s.sender(
        &["--nokbd", "--min-receivers", "2", "--drop-timeout", "3"],
        &input,
    );
    // Kill as soon as data reaches the victim's file: the transfer is then under way and,
    // at an unthrottled rate, far from over.
    let victim_out = s.output(2);
    let flowing = lab::wait_until(Duration::from_secs(20), || {
        std::fs::metadata(&victim_out).is_ok_and(|m| m.len() > 0)
    });
    assert!(flowing, "no data reached receiver 2:\n{}", victim.stderr());
    assert!(victim.is_running(), "receiver 2 ended early");
    victim.kill().unwrap();
    lab::expect_all_success(&mut [&mut tx, &mut r1], LIMIT);
    let report = s.report(0);
    check_common(&report, "udp-sender", 0, "complete");
    assert_eq!(report.u64("bytes"), len);
    let receivers = report.array("receivers");
    assert_eq!(receivers.len(), 2, "{report:?}");
    let by_host = |h: usize| {
        let address = s.lab.host(h).addr().to_string();
        receivers
            .iter()
            .find(|r| r.str("address") == address)
            .unwrap_or_else(|| panic!("{address} missing from {receivers:?}"))
    };
    let (kept, dropped) = (by_host(1), by_host(2));
    assert_eq!(kept.str("status"), "complete");
    assert_eq!(kept.u64("bytes_acknowledged"), len);
    assert_eq!(dropped.str("status"), "dropped", "{dropped:?}");
    let why = dropped.str("drop_reason");
    assert!(
        ["drop_timeout", "retries_exhausted"].contains(&why),
        "{why}"
    );
    assert!(dropped.u64("bytes_acknowledged") < len, "{dropped:?}");
    assert_ne!(kept.u64("number"), dropped.u64("number"));
}

// ---------------------------------------------------------------------------------------
// Failures and signals.

#[test]
fn a_receiver_without_sender_reports_no_sender_and_255_on_stderr() {
    let Some(s) = setup(1) else {
        return;
    };
    let mut rx = s
        .lab
        .host(0)
        .command(&s.receiver)
        .args(["--nokbd", "--start-timeout", "2", "--stats-json=-"])
        .arg("--file")
        .arg(s.output(0))
        .timeout(LIMIT)
        .label("h0-rx")
        .spawn()
        .unwrap();
    let status = rx.wait_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(status.and_then(|s| s.code()), Some(255), "{}", rx.stderr());
    let stderr = rx.stderr();
    let lines: Vec<&str> = stderr
        .split(['\n', '\r'])
        .filter(|l| l.starts_with('{'))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    eprintln!("h0 report: {}", lines[0]);
    let r = Json::parse(lines[0]).unwrap();
    check_common(&r, "udp-receiver", 255, "no_sender");
    assert_eq!((r.u64("bytes"), r.f64("seconds")), (0, 0.0));
    assert_eq!(r.u64("fec_repairs"), 0);
}

#[test]
fn a_receiver_ended_by_sigterm_reports_interrupted_then_dies_of_it() {
    let Some(s) = setup(1) else {
        return;
    };
    let mut rx = s.receiver(0, &["--nokbd"]);
    rx.signal(libc::SIGTERM).unwrap();
    let status = rx.wait_timeout(Duration::from_secs(20)).unwrap().unwrap();
    assert!(
        status.signal() == Some(libc::SIGTERM) || status.code() == Some(128 + libc::SIGTERM),
        "{status:?}"
    );
    let r = s.report(0);
    check_common(
        &r,
        "udp-receiver",
        128 + libc::SIGTERM as u64,
        "interrupted",
    );
    assert_eq!(r.u64("signal"), libc::SIGTERM as u64);
}

#[test]
fn a_sender_ended_by_sigterm_while_waiting_reports_interrupted_and_no_receivers() {
    let Some(s) = setup(1) else {
        return;
    };
    let input = s.input(1000, 4);
    let mut tx = s.sender(&["--nokbd", "--min-receivers", "1"], &input);
    tx.signal(libc::SIGTERM).unwrap();
    let status = tx.wait_timeout(Duration::from_secs(20)).unwrap().unwrap();
    assert!(
        status.signal() == Some(libc::SIGTERM) || status.code() == Some(128 + libc::SIGTERM),
        "{status:?}"
    );
    let r = s.report(0);
    check_common(&r, "udp-sender", 128 + libc::SIGTERM as u64, "interrupted");
    assert_eq!((r.u64("bytes"), r.u64("blocks_sent")), (0, 0));
    assert!(r.array("receivers").is_empty(), "{r:?}");
}
