//! Where a receiver's stream goes: a file or block device, stdout, or a shell command that
//! processes it first (`--pipe "gzip -dc"`), written by a thread of its own so the sockets
//! keep draining while the disk works.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

/// Why the output failed.
#[derive(Debug)]
pub enum SinkError {
    /// Opening the file or starting the command failed.
    Open(PathBuf, io::Error),
    /// Writing failed (disk full, pipe command gone, …).
    Write(io::Error),
    /// The `--pipe` command exited with a non-zero status (or was killed).
    PipeFailed(i32),
}

impl std::fmt::Display for SinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SinkError::Open(p, e) => write!(f, "cannot open {}: {e}", p.display()),
            SinkError::Write(e) => write!(f, "write error: {e}"),
            SinkError::PipeFailed(code) => write!(f, "Pipe process died with code {code}"),
        }
    }
}

impl std::error::Error for SinkError {}

/// Chunks in flight between the receive loop and the writer: enough to ride out a slow
/// disk for a few slices without holding unbounded memory.
const QUEUE: usize = 8;

/// The writer thread and its queue.
pub struct Sink {
    queue: Option<SyncSender<Vec<u8>>>,
    recycled: Receiver<Vec<u8>>,
    writer: Option<JoinHandle<Result<(), SinkError>>>,
    child: Option<Child>,
}

impl Sink {
    /// Opens `file` (or stdout), through `pipe` if given; `sync` opens the file O_SYNC.
    pub fn open(file: Option<&Path>, pipe: Option<&str>, sync: bool) -> Result<Sink, SinkError> {
        let (target, child) = match pipe {
            None => match file {
                Some(path) => (Target::File(open_file(path, sync)?), None),
                None => (Target::Stdout(io::stdout()), None),
            },
            Some(command) => {
                let stdout = match file {
                    Some(path) => Stdio::from(open_file(path, sync)?),
                    None => Stdio::inherit(),
                };
                let mut child = Command::new("/bin/sh")
                    .arg("-c")
                    .arg(command)
                    .stdin(Stdio::piped())
                    .stdout(stdout)
                    .spawn()
                    .map_err(|e| SinkError::Open(PathBuf::from(command), e))?;
                let Some(stdin) = child.stdin.take() else {
                    return Err(SinkError::Write(io::ErrorKind::BrokenPipe.into()));
                };
                (Target::Pipe(stdin), Some(child))
            }
        };
        let (queue, incoming) = sync_channel::<Vec<u8>>(QUEUE);
        let (give_back, recycled) = sync_channel::<Vec<u8>>(QUEUE + 2);
        let writer = std::thread::Builder::new()
            .name("writer".into())
            .spawn(move || write_all(target, incoming, give_back))
            .map_err(SinkError::Write)?;
        Ok(Sink {
            queue: Some(queue),
            recycled,
            writer: Some(writer),
            child,
        })
    }

    /// Queues `bytes` for writing (copied, so the caller's storage is free at once).
    /// Blocks while the queue is full. Fails if the writer has stopped on an error.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), SinkError> {
        let mut chunk = self.recycled.try_recv().unwrap_or_default();
        chunk.clear();
        chunk.extend_from_slice(bytes);
        let sent = self.queue.as_ref().map(|q| q.send(chunk));
        match sent {
            Some(Ok(())) => Ok(()),
            _ => Err(self
                .stop()
                .err()
                .unwrap_or(SinkError::Write(io::ErrorKind::BrokenPipe.into()))),
        }
    }

    /// Writes out everything queued, syncs a file to disk, waits for a pipe command, and
    /// reports the first failure.
    pub fn finish(mut self) -> Result<(), SinkError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), SinkError> {
        self.queue = None;
        let written = match self.writer.take() {
            Some(writer) => writer
                .join()
                .unwrap_or(Err(SinkError::Write(io::Error::other("writer panicked")))),
            None => Ok(()),
        };
        let piped = match self.child.take() {
            Some(mut child) => match child.wait() {
                Ok(status) if status.success() => Ok(()),
                Ok(status) => Err(SinkError::PipeFailed(exit_code(status))),
                Err(e) => Err(SinkError::Write(e)),
            },
            None => Ok(()),
        };
        // The command's verdict explains a broken pipe better than the write error does.
        piped.and(written)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn open_file(path: &Path, sync: bool) -> Result<std::fs::File, SinkError> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true).mode(0o644);
    if sync {
        options.custom_flags(libc::O_SYNC);
    }
    options
        .open(path)
        .map_err(|e| SinkError::Open(path.to_path_buf(), e))
}

/// The end of the writer thread's line.
enum Target {
    File(std::fs::File),
    Stdout(io::Stdout),
    Pipe(std::process::ChildStdin),
}

impl Target {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Target::File(f) => f.write_all(bytes),
            Target::Stdout(s) => s.lock().write_all(bytes),
            Target::Pipe(p) => p.write_all(bytes),
        }
    }

    /// Flushes, and for a file waits until the data is on the disk (udpcast fsyncs at the
    /// end as well): an image is not received until it is stored.
    fn finish(self) -> io::Result<()> {
        match self {
            Target::File(f) => match f.sync_all() {
                // Special files such as /dev/null cannot be synchronised: nothing to wait for.
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(()),
                other => other,
            },
            Target::Stdout(s) => s.lock().flush(),
            Target::Pipe(p) => {
                drop(p);
                Ok(())
            }
        }
    }
}

fn write_all(
    mut target: Target,
    incoming: Receiver<Vec<u8>>,
    give_back: SyncSender<Vec<u8>>,
) -> Result<(), SinkError> {
    for chunk in incoming {
        target.write_all(&chunk).map_err(SinkError::Write)?;
        let _ = give_back.try_send(chunk);
    }
    target.finish().map_err(SinkError::Write)
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}
