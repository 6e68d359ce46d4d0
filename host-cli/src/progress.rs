//! Progress reports on stderr: udpcast's own line when stderr is not a terminal (scripts
//! such as Clonezilla's read it), a live bar with rate when it is.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// `1234567` → `"1 234 567"`: udpcast groups digits by three with spaces.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i != 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// A progress reporter: udpcast's line, or a terminal bar.
pub struct Progress {
    style: Style,
    verb: String,
    period: Duration,
    last: Instant,
    last_bytes: u64,
    /// The stream's size, once known: the line then shows percent and ETA.
    total: Option<u64>,
    /// When the first bytes were reported, and how many: the ETA's rate is measured from
    /// there, not from the program's start (which may be minutes of waiting).
    first: Option<(Instant, u64)>,
}

enum Style {
    Off,
    /// udpcast's line + carriage return.
    Line,
    Bar(ProgressBar),
}

impl Progress {
    /// A reporter printing every `period`, or never if `enabled` is false. On a terminal
    /// it draws a bar with the rate, and with the ETA when the `total` is known (a sender
    /// reading a file); elsewhere it prints udpcast's line, which scripts parse.
    pub fn new(enabled: bool, period: Duration, verb: &str, total: Option<u64>) -> Self {
        let style = if !enabled {
            Style::Off
        } else if std::io::stderr().is_terminal() {
            Style::Bar(bar(verb, total))
        } else {
            Style::Line
        };
        Progress {
            style,
            verb: verb.to_string(),
            period: period.max(Duration::from_millis(10)),
            last: Instant::now(),
            last_bytes: 0,
            total,
            first: None,
        }
    }

    /// The stream's size became known (a verified transfer announces it): from now on
    /// the report shows how far along it is and when it should end.
    pub fn set_total(&mut self, total: u64) {
        self.total = Some(total);
        if let Style::Bar(old) = &self.style {
            let position = old.position();
            old.finish_and_clear();
            let new = bar(&self.verb, Some(total));
            new.set_position(position);
            self.style = Style::Bar(new);
        }
    }

    /// Reports `bytes` so far if a period has passed since the last report; `line` gives
    /// udpcast's text for the non-terminal case.
    pub fn update(&mut self, bytes: u64, line: impl FnOnce(f64) -> String) {
        if self.last.elapsed() >= self.period {
            self.report(bytes, line);
        }
    }

    /// Reports `bytes` now (at the end of the transfer) and ends the line.
    pub fn finish(&mut self, bytes: u64, line: impl FnOnce(f64) -> String) {
        self.report(bytes, line);
        match &self.style {
            Style::Bar(bar) => bar.finish(),
            Style::Line => eprintln!(),
            Style::Off => {}
        }
    }

    fn report(&mut self, bytes: u64, line: impl FnOnce(f64) -> String) {
        let elapsed = self.last.elapsed().as_secs_f64().max(1e-6);
        let mbps = (bytes - self.last_bytes.min(bytes)) as f64 * 8.0 / elapsed / 1e6;
        match &self.style {
            Style::Off => {}
            Style::Line => {
                let mut err = std::io::stderr().lock();
                if bytes > 0 && self.first.is_none() {
                    self.first = Some((Instant::now(), bytes));
                }
                let eta = match (self.total, self.first) {
                    (Some(total), Some((t0, b0))) => {
                        eta_text(bytes, total, bytes - b0.min(bytes), t0.elapsed())
                    }
                    (Some(total), None) => eta_text(bytes, total, 0, Duration::ZERO),
                    _ => String::new(),
                };
                let _ = write!(err, "{}{eta}\r", line(mbps));
                let _ = err.flush();
            }
            Style::Bar(bar) => bar.set_position(bytes),
        }
        self.last = Instant::now();
        self.last_bytes = bytes;
    }
}

/// `  42.1 %  ETA 1:05` after udpcast's line, from the average rate of the `moved` bytes
/// of the last `elapsed`.
fn eta_text(bytes: u64, total: u64, moved: u64, elapsed: Duration) -> String {
    let percent = if total == 0 {
        100.0
    } else {
        (bytes.min(total) as f64 * 100.0 / total as f64).min(100.0)
    };
    let rate = moved as f64 / elapsed.as_secs_f64().max(1e-3);
    let eta = if bytes >= total {
        0
    } else if rate > 0.0 {
        ((total - bytes) as f64 / rate).round() as u64
    } else {
        return format!("  {percent:5.1} %");
    };
    format!("  {percent:5.1} %  ETA {}:{:02}", eta / 60, eta % 60)
}

/// The terminal bar: with total, percent and ETA when the size is known.
fn bar(verb: &str, total: Option<u64>) -> ProgressBar {
    let (bar, template) = match total {
        Some(total) => (
            ProgressBar::new(total),
            format!("{{wide_bar}} {{percent:>3}}% {{bytes:>10}}/{{total_bytes}} {verb}  {{binary_bytes_per_sec:>12}}  ETA {{eta}}"),
        ),
        None => (
            ProgressBar::new_spinner(),
            format!("{{spinner}} {{bytes:>12}} {verb}  {{binary_bytes_per_sec:>12}}  {{elapsed_precise}}"),
        ),
    };
    bar.set_style(
        ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// The receiver's udpcast line: `bytes=     163 072  (359.18 Mbps)`.
pub fn receiver_line(bytes: u64, mbps: f64) -> String {
    format!("bytes={:>12}  ({mbps:6.2} Mbps)", grouped(bytes))
}

#[cfg(test)]
mod tests {
    use super::{eta_text, grouped, receiver_line};
    use std::time::Duration;

    #[test]
    fn percent_and_eta_follow_the_average_rate() {
        let ten_s = Duration::from_secs(10);
        assert_eq!(eta_text(25, 100, 25, ten_s), "   25.0 %  ETA 0:30");
        assert_eq!(eta_text(30, 100, 20, ten_s), "   30.0 %  ETA 0:35");
        assert_eq!(eta_text(100, 100, 0, ten_s), "  100.0 %  ETA 0:00");
        assert_eq!(eta_text(0, 100, 0, ten_s), "    0.0 %");
        assert_eq!(eta_text(0, 0, 0, ten_s), "  100.0 %  ETA 0:00");
        assert_eq!(
            eta_text(1, 7201, 1, Duration::from_secs(1)),
            "    0.0 %  ETA 120:00"
        );
    }

    #[test]
    fn digits_are_grouped_by_three_like_udpcast() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(992), "992");
        assert_eq!(grouped(163_072), "163 072");
        assert_eq!(grouped(1_000_000), "1 000 000");
        assert_eq!(
            receiver_line(163_072, 359.18),
            "bytes=     163 072  (359.18 Mbps)"
        );
    }
}
