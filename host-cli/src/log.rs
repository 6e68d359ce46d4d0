//! Informational messages: on stderr, or with `--log FILE` into that file with a
//! `HH:MM:SS.uuuuuu` time prefix, as udpcast writes them. Errors always go to stderr.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

/// Where informational lines go.
pub struct Log {
    file: Option<Mutex<File>>,
}

impl Log {
    /// Messages to stderr, or appended to `path`.
    pub fn open(path: Option<&Path>) -> std::io::Result<Log> {
        let file = match path {
            Some(p) => Some(Mutex::new(
                OpenOptions::new().create(true).append(true).open(p)?,
            )),
            None => None,
        };
        Ok(Log { file })
    }

    /// An informational line.
    pub fn info(&self, message: &str) {
        match &self.file {
            Some(file) => {
                if let Ok(mut f) = file.lock() {
                    let _ = writeln!(f, "{} {message}", timestamp());
                }
            }
            None => eprintln!("{message}"),
        }
    }
}

fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as _;
    // SAFETY: tm is plain data; localtime_r fills it from secs and keeps no pointer.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    unsafe { libc::localtime_r(&secs, &mut tm) };
    format!(
        "{:02}:{:02}:{:02}.{:06}",
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        now.subsec_micros()
    )
}
