//! `udp-sender --daemon-mode` (given twice: in the background) with its `--pid-file`, and
//! `--kill`, which stops such a daemon through that file.

use crate::cli::sender_args::SenderArgs;
use crate::exit_reason::ExitReason;
use crate::outcome::{failed, Outcome};
use std::path::Path;
use std::process::ExitCode;

/// Goes to the background if `--daemon-mode` was given twice, then writes the pid file.
pub fn detach(args: &SenderArgs) -> Result<(), Outcome> {
    if args.daemon_mode > 1 {
        // SAFETY: daemon() forks and detaches; no threads exist yet.
        if unsafe { libc::daemon(1, 0) } != 0 {
            return Err(failed(
                ExitReason::DaemonError,
                format!(
                    "cannot go to the background: {}",
                    std::io::Error::last_os_error()
                ),
            ));
        }
    }
    if let Some(path) = &args.pid_file {
        if let Err(e) = std::fs::write(path, format!("{}\n", std::process::id())) {
            return Err(failed(
                ExitReason::DaemonError,
                format!("cannot write pid file {}: {e}", path.display()),
            ));
        }
    }
    Ok(())
}

/// `--kill`: SIGTERM to the process whose id `--pid-file` holds.
pub fn kill(pid_file: Option<&Path>) -> ExitCode {
    let Some(path) = pid_file else {
        eprintln!("udp-sender: --kill needs --pid-file");
        return ExitCode::from(1);
    };
    let pid = std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok());
    match pid {
        // SAFETY: sends a signal to a process id read from the pid file.
        Some(pid) if pid > 0 && unsafe { libc::kill(pid, libc::SIGTERM) } == 0 => {
            let _ = std::fs::remove_file(path);
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!(
                "udp-sender: no running daemon found through {}",
                path.display()
            );
            ExitCode::from(1)
        }
    }
}
