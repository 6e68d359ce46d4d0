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

/// The receiver's progress reporter.
pub struct Progress {
    style: Style,
    period: Duration,
    last: Instant,
    last_bytes: u64,
}

enum Style {
    Off,
    /// `bytes=     163 072  (359.18 Mbps)` + carriage return, as udpcast prints it.
    Line,
    Bar(ProgressBar),
}

impl Progress {
    /// A reporter printing every `period`, or never if `enabled` is false.
    pub fn new(enabled: bool, period: Duration) -> Self {
        let style = if !enabled {
            Style::Off
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {bytes:>12} received  {binary_bytes_per_sec:>12}  {elapsed_precise}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            Style::Bar(bar)
        } else {
            Style::Line
        };
        Progress {
            style,
            period: period.max(Duration::from_millis(10)),
            last: Instant::now(),
            last_bytes: 0,
        }
    }

    /// Reports `bytes` so far if a period has passed since the last report.
    pub fn update(&mut self, bytes: u64) {
        if self.last.elapsed() >= self.period {
            self.report(bytes);
        }
    }

    /// Reports `bytes` now (at the end of the transfer) and ends the line.
    pub fn finish(&mut self, bytes: u64) {
        self.report(bytes);
        match &self.style {
            Style::Bar(bar) => bar.finish(),
            Style::Line => eprintln!(),
            Style::Off => {}
        }
    }

    fn report(&mut self, bytes: u64) {
        let elapsed = self.last.elapsed().as_secs_f64().max(1e-6);
        let mbps = (bytes - self.last_bytes.min(bytes)) as f64 * 8.0 / elapsed / 1e6;
        match &self.style {
            Style::Off => {}
            Style::Line => {
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "bytes={:>12}  ({mbps:6.2} Mbps)\r", grouped(bytes));
                let _ = err.flush();
            }
            Style::Bar(bar) => bar.set_position(bytes),
        }
        self.last = Instant::now();
        self.last_bytes = bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::grouped;

    #[test]
    fn digits_are_grouped_by_three_like_udpcast() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(992), "992");
        assert_eq!(grouped(163_072), "163 072");
        assert_eq!(grouped(1_000_000), "1 000 000");
        assert_eq!(
            format!("bytes={:>12}", grouped(163_072)),
            "bytes=     163 072"
        );
    }
}
