//! `--stats-json FILE` (ours; udpcast has none): at the end of a run, one JSON object on
//! one line saying how it ended and what it moved, for scripts that would otherwise parse
//! progress lines. The schema is in doc/stats-json.md; every figure comes from core's
//! counters, this file only names and writes them.

use crate::json::Object;
use crate::outcome::Outcome;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use udpcast_core::receiver::ReceiverStats;
use udpcast_core::sender::{DropReason, ReceiverRecord, ReceiverStatus, SenderStats};

/// The transfer's span: from the start of the data to its end (or to the end of the run
/// when no end was marked); zero when no data moved.
#[derive(Clone, Copy, Debug, Default)]
pub struct Span {
    started: Option<Instant>,
    ended: Option<Instant>,
}

impl Span {
    /// The data starts to flow (the first time only).
    pub fn start(&mut self) {
        self.started.get_or_insert_with(Instant::now);
    }

    /// The transfer is over (the first time only).
    pub fn end(&mut self) {
        if self.started.is_some() {
            self.ended.get_or_insert_with(Instant::now);
        }
    }

    /// The transfer went on until now (each time moves the end).
    pub fn extend(&mut self) {
        if self.started.is_some() {
            self.ended = Some(Instant::now());
        }
    }

    /// Seconds between the two.
    pub fn seconds(&self) -> f64 {
        match self.started {
            Some(start) => self
                .ended
                .unwrap_or_else(Instant::now)
                .duration_since(start)
                .as_secs_f64(),
            None => 0.0,
        }
    }
}

/// What a sender's report needs, gathered when its run ends.
#[derive(Clone, Debug, Default)]
pub struct SenderFigures {
    /// Core's counters.
    pub stats: SenderStats,
    /// Every receiver that connected, by client number.
    pub receivers: Vec<(u16, ReceiverRecord)>,
    /// The transfer's duration.
    pub seconds: f64,
}

/// What a receiver's report needs, gathered when its run ends.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReceiverFigures {
    /// Core's counters.
    pub stats: ReceiverStats,
    /// The transfer's duration.
    pub seconds: f64,
}

/// The sender's report.
pub fn sender_report(outcome: &Outcome, f: &SenderFigures) -> Object {
    let mut o = header("udp-sender", outcome);
    transfer(&mut o, f.stats.bytes_sent, f.seconds);
    o.uint("retransmissions", f.stats.blocks_resent)
        .uint("blocks_sent", f.stats.blocks_sent)
        .uint("pacing_rate_bps", f.stats.pacing_rate)
        .uint("auth_rejected", f.stats.auth_rejected);
    let receivers: Vec<Object> = f.receivers.iter().map(receiver_entry).collect();
    o.objects("receivers", &receivers);
    o
}

/// The receiver's report.
pub fn receiver_report(outcome: &Outcome, f: &ReceiverFigures) -> Object {
    let mut o = header("udp-receiver", outcome);
    transfer(&mut o, f.stats.bytes_output, f.seconds);
    o.uint("retransmissions", f.stats.blocks_requested)
        .uint("retransmit_requests", f.stats.retransmit_requests)
        .uint("fec_repairs", f.stats.fec_blocks_used)
        .uint("lost_blocks", f.stats.lost_blocks)
        .uint("slices_verified", f.stats.slices_verified)
        .uint("slices_failed_check", f.stats.slices_failed)
        .uint("auth_rejected", f.stats.auth_rejected);
    o
}

fn header(program: &str, outcome: &Outcome) -> Object {
    let mut o = Object::new();
    o.string("program", program)
        .string("version", env!("CARGO_PKG_VERSION"))
        .int("exit_status", i64::from(outcome.status()))
        .string("exit_reason", outcome.reason().as_str())
        .string("message", &outcome.message());
    if let Outcome::Signalled(signal) = outcome {
        o.int("signal", i64::from(*signal));
    }
    o
}

fn transfer(o: &mut Object, bytes: u64, seconds: f64) {
    let rate = if seconds > 0.0 {
        (bytes as f64 / seconds).round() as u64
    } else {
        0
    };
    o.uint("bytes", bytes)
        .fixed("seconds", seconds, 6)
        .uint("rate_bytes_per_second", rate);
}

fn receiver_entry((client, r): &(u16, ReceiverRecord)) -> Object {
    let (status, drop_reason) = match r.status {
        ReceiverStatus::Connected => ("incomplete", None),
        ReceiverStatus::Complete => ("complete", None),
        ReceiverStatus::Disconnected => ("disconnected", None),
        ReceiverStatus::Dropped(DropReason::Silent) => ("dropped", Some("drop_timeout")),
        ReceiverStatus::Dropped(DropReason::RetriesExhausted) => {
            ("dropped", Some("retries_exhausted"))
        }
    };
    let mut o = Object::new();
    o.uint("number", u64::from(*client))
        .string("address", &r.address.ip().to_string())
        .string("status", status);
    if let Some(why) = drop_reason {
        o.string("drop_reason", why);
    }
    o.uint("bytes_acknowledged", r.bytes_acknowledged)
        .uint("retransmissions", r.blocks_requested);
    o
}

/// Where reports go: `-` is stderr, anything else a file, truncated by the first report
/// of the run and appended to by the next ones (one line per transfer in daemon mode).
pub struct StatsFile {
    path: PathBuf,
    file: Option<File>,
}

impl StatsFile {
    /// Reports to `path`; nothing is opened yet.
    pub fn new(path: &Path) -> Self {
        StatsFile {
            path: path.to_path_buf(),
            file: None,
        }
    }

    /// Writes `report` as one line. A failure is only told on stderr: the run's own exit
    /// status, which the report states, stays what it is.
    pub fn write(&mut self, program: &str, report: &Object) {
        let line = format!("{}\n", report.to_json());
        if self.path.as_os_str() == "-" {
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
            return;
        }
        let written = match self.file.as_mut() {
            Some(file) => file.write_all(line.as_bytes()),
            None => OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&self.path)
                .and_then(|mut file| {
                    file.write_all(line.as_bytes())?;
                    self.file = Some(file);
                    Ok(())
                }),
        };
        if let Err(e) = written {
            eprintln!(
                "{program}: cannot write --stats-json {}: {e}",
                self.path.display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit_reason::ExitReason;
    use std::net::{Ipv4Addr, SocketAddrV4};

    fn record(status: ReceiverStatus) -> ReceiverRecord {
        ReceiverRecord {
            address: SocketAddrV4::new(Ipv4Addr::new(10, 66, 0, 2), 9000),
            bytes_acknowledged: 4096,
            blocks_requested: 3,
            status,
        }
    }

    #[test]
    fn a_sender_report_lists_each_receiver_with_its_ending() {
        let f = SenderFigures {
            stats: SenderStats {
                bytes_sent: 4096,
                blocks_sent: 10,
                blocks_resent: 3,
                ..SenderStats::default()
            },
            receivers: vec![
                (0, record(ReceiverStatus::Complete)),
                (1, record(ReceiverStatus::Dropped(DropReason::Silent))),
            ],
            seconds: 2.0,
        };
        assert_eq!(
            sender_report(&Outcome::Success, &f).to_json(),
            format!(
                "{{\"program\":\"udp-sender\",\"version\":\"{}\",\"exit_status\":0,\
                 \"exit_reason\":\"complete\",\"message\":\"Transfer complete.\",\
                 \"bytes\":4096,\"seconds\":2.000000,\"rate_bytes_per_second\":2048,\
                 \"retransmissions\":3,\"blocks_sent\":10,\"pacing_rate_bps\":0,\
                 \"auth_rejected\":0,\"receivers\":[\
                 {{\"number\":0,\"address\":\"10.66.0.2\",\"status\":\"complete\",\
                 \"bytes_acknowledged\":4096,\"retransmissions\":3}},\
                 {{\"number\":1,\"address\":\"10.66.0.2\",\"status\":\"dropped\",\
                 \"drop_reason\":\"drop_timeout\",\"bytes_acknowledged\":4096,\
                 \"retransmissions\":3}}]}}",
                env!("CARGO_PKG_VERSION")
            )
        );
    }

    #[test]
    fn a_failed_receiver_report_carries_the_status_reason_and_message() {
        let outcome = Outcome::Failed(ExitReason::NoSender, "no \"sender\"".into(), 255);
        let text = receiver_report(&outcome, &ReceiverFigures::default()).to_json();
        assert!(
            text.contains(
                r#""exit_status":255,"exit_reason":"no_sender","message":"no \"sender\"""#
            ),
            "{text}"
        );
        assert!(text.contains(r#""bytes":0,"seconds":0.000000,"rate_bytes_per_second":0"#));
        assert!(text.contains(r#""fec_repairs":0"#));
    }

    #[test]
    fn death_by_a_signal_reports_128_plus_the_signal() {
        let text = receiver_report(&Outcome::Signalled(15), &ReceiverFigures::default()).to_json();
        assert!(
            text.contains(r#""exit_status":143,"exit_reason":"interrupted","message":"interrupted by signal 15","signal":15"#),
            "{text}"
        );
    }
}
