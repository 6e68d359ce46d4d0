//! How a run of either program ends, and the exit status each ending maps to.

use crate::cli::getopt::UsageError;
use crate::signals;
use std::process::ExitCode;

/// How a run ended.
pub enum Outcome {
    /// Everything was sent or received.
    Success,
    /// A failure: its message and exit status.
    Failed(String, u8),
    /// A termination signal arrived (the peer was told); die of it.
    Signalled(i32),
}

/// A failure with the usual exit status, 1.
pub fn failed(message: impl Into<String>) -> Outcome {
    Outcome::Failed(message.into(), 1)
}

/// Ends `program` with `outcome`: status 0, the message on stderr and its status, or death
/// by the signal that ended it.
pub fn exit(program: &str, outcome: Outcome) -> ExitCode {
    match outcome {
        Outcome::Success => ExitCode::SUCCESS,
        Outcome::Failed(message, code) => {
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
