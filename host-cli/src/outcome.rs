//! How a run of either program ends, and the exit status each ending maps to.

use crate::cli::getopt::UsageError;
use crate::exit_reason::ExitReason;
use crate::signals;
use std::process::ExitCode;

/// How a run ended.
pub enum Outcome {
    /// Everything was sent or received.
    Success,
    /// A failure: why, its message and exit status.
    Failed(ExitReason, String, u8),
    /// A termination signal arrived (the peer was told); die of it.
    Signalled(i32),
}

/// A failure with the usual exit status, 1.
pub fn failed(reason: ExitReason, message: impl Into<String>) -> Outcome {
    Outcome::Failed(reason, message.into(), 1)
}

impl Outcome {
    /// The status the parent sees: for death by a signal, the shell's 128 + signal.
    pub fn status(&self) -> i32 {
        match self {
            Outcome::Success => 0,
            Outcome::Failed(_, _, code) => i32::from(*code),
            Outcome::Signalled(signal) => 128 + signal,
        }
    }

    /// Why it ended.
    pub fn reason(&self) -> ExitReason {
        match self {
            Outcome::Success => ExitReason::Complete,
            Outcome::Failed(reason, _, _) => *reason,
            Outcome::Signalled(_) => ExitReason::Interrupted,
        }
    }

    /// The human account of how it ended.
    pub fn message(&self) -> String {
        match self {
            Outcome::Success => "Transfer complete.".to_string(),
            Outcome::Failed(_, message, _) => message.clone(),
            Outcome::Signalled(signal) => format!("interrupted by signal {signal}"),
        }
    }
}

/// Ends `program` with `outcome`: status 0, the message on stderr and its status, or death
/// by the signal that ended it.
pub fn exit(program: &str, outcome: Outcome) -> ExitCode {
    match outcome {
        Outcome::Success => ExitCode::SUCCESS,
        Outcome::Failed(_, message, code) => {
            eprintln!("{program}: {message}");
            ExitCode::from(code)
        }
        Outcome::Signalled(signal) => signals::die_of(signal),
    }
}

/// A command line that does not parse: the error and the usage on stderr, status 1.
pub fn usage_error(program: &str, error: &UsageError, usage: &str) -> ExitCode {
    eprintln!("{program}: {error}");
    eprintln!("{usage}");
    ExitCode::from(1)
}

/// `--help`, `--version`, `--license`: the text on stdout, status 0.
pub fn print(text: &str) -> ExitCode {
    println!("{text}");
    ExitCode::SUCCESS
}
