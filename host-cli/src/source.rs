//! Where a sender's stream comes from: a file, stdin, or a shell command fed with it
//! (`--pipe gzip`), read by a thread of its own so that the send loop never waits on the
//! disk. The thread wakes the loop through a pipe, which `poll` watches with the sockets.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{sync_channel, Receiver, TryRecvError};

/// Bytes read per chunk.
const CHUNK: usize = 256 * 1024;
/// Chunks read ahead.
const AHEAD: usize = 16;

/// Why the input failed.
#[derive(Debug)]
pub enum SourceError {
    /// The file could not be opened or the command not started.
    Open(PathBuf, io::Error),
    /// Reading failed.
    Read(io::Error),
    /// The `--pipe` command exited with a non-zero status.
    PipeFailed(i32),
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceError::Open(p, e) => write!(f, "Could not open file {}: {e}", p.display()),
            SourceError::Read(e) => write!(f, "read error: {e}"),
            SourceError::PipeFailed(code) => write!(f, "Pipe process died with code {code}"),
        }
    }
}

impl std::error::Error for SourceError {}

/// What the reader thread hands over.
pub enum Input {
    /// More bytes.
    Bytes(Vec<u8>),
    /// The end of the stream.
    End,
    /// A read failure.
    Failed(io::Error),
}

/// The reader thread and its queue.
pub struct Source {
    chunks: Receiver<Input>,
    wake: OwnedFd,
    child: Option<Child>,
    pending: Option<(Vec<u8>, usize)>,
}

impl Source {
    /// Starts reading `file` (stdin if `None`), through `pipe` if given.
    pub fn open(file: Option<&Path>, pipe: Option<&str>) -> Result<Source, SourceError> {
        let input: Box<dyn Read + Send> = match file {
            Some(p) => Box::new(File::open(p).map_err(|e| SourceError::Open(p.to_path_buf(), e))?),
            None => Box::new(io::stdin()),
        };
        let (reader, child): (Box<dyn Read + Send>, Option<Child>) = match pipe {
            None => (input, None),
            Some(command) => {
                let stdin = match file {
                    Some(p) => Stdio::from(
                        File::open(p).map_err(|e| SourceError::Open(p.to_path_buf(), e))?,
                    ),
                    None => Stdio::inherit(),
                };
                drop(input);
                let mut child = Command::new("/bin/sh")
                    .arg("-c")
                    .arg(command)
                    .stdin(stdin)
                    .stdout(Stdio::piped())
                    .spawn()
                    .map_err(|e| SourceError::Open(PathBuf::from(command), e))?;
                let Some(out) = child.stdout.take() else {
                    return Err(SourceError::Read(io::ErrorKind::BrokenPipe.into()));
                };
                (Box::new(out), Some(child))
            }
        };
        let (wake_read, wake_write) = wake_pipe().map_err(SourceError::Read)?;
        let (queue, chunks) = sync_channel(AHEAD);
        std::thread::Builder::new()
            .name("reader".into())
            .spawn(move || read_all(reader, queue, wake_write))
            .map_err(SourceError::Read)?;
        Ok(Source {
            chunks,
            wake: wake_read,
            child,
            pending: None,
        })
    }

    /// The descriptor that becomes readable when input arrives.
    pub fn fd(&self) -> RawFd {
        self.wake.as_raw_fd()
    }

    /// Copies available input into `room`; returns how many bytes, and whether the input
    /// has ended (after those bytes).
    pub fn fill(&mut self, room: &mut [u8]) -> Result<(usize, bool), SourceError> {
        let mut wake = [0u8; 64];
        // SAFETY: reads from our own non-blocking pipe into a local buffer.
        unsafe { libc::read(self.wake.as_raw_fd(), wake.as_mut_ptr().cast(), wake.len()) };
        let mut filled = 0;
        while filled < room.len() {
            if self.pending.is_none() {
                match self.chunks.try_recv() {
                    Ok(Input::Bytes(chunk)) => self.pending = Some((chunk, 0)),
                    Ok(Input::End) | Err(TryRecvError::Disconnected) => return Ok((filled, true)),
                    Ok(Input::Failed(e)) => return Err(SourceError::Read(e)),
                    Err(TryRecvError::Empty) => break,
                }
            }
            if let Some((chunk, used)) = self.pending.as_mut() {
                let n = (chunk.len() - *used).min(room.len() - filled);
                room[filled..filled + n].copy_from_slice(&chunk[*used..*used + n]);
                *used += n;
                filled += n;
                if *used == chunk.len() {
                    self.pending = None;
                }
            }
        }
        Ok((filled, false))
    }

    /// Waits for a `--pipe` command and reports its failure.
    pub fn finish(mut self) -> Result<(), SourceError> {
        match self.child.take() {
            Some(mut child) => match child.wait() {
                Ok(status) if status.success() => Ok(()),
                Ok(status) => Err(SourceError::PipeFailed(status.code().unwrap_or(128))),
                Err(e) => Err(SourceError::Read(e)),
            },
            None => Ok(()),
        }
    }
}

fn read_all(
    mut reader: Box<dyn Read + Send>,
    queue: std::sync::mpsc::SyncSender<Input>,
    wake: OwnedFd,
) {
    let poke = || {
        // SAFETY: writes one byte to our own pipe; a full pipe already means "wake up".
        unsafe { libc::write(wake.as_raw_fd(), [1u8].as_ptr().cast(), 1) };
    };
    loop {
        let mut chunk = vec![0u8; CHUNK];
        let mut len = 0;
        // Fill whole chunks where the input allows, but hand over what a slow pipe gives.
        while len < CHUNK {
            match reader.read(&mut chunk[len..]) {
                Ok(0) => break,
                Ok(n) => {
                    len += n;
                    if len >= CHUNK / 4 {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = queue.send(Input::Failed(e));
                    poke();
                    return;
                }
            }
        }
        if len == 0 {
            let _ = queue.send(Input::End);
            poke();
            return;
        }
        chunk.truncate(len);
        if queue.send(Input::Bytes(chunk)).is_err() {
            return;
        }
        poke();
    }
}

fn wake_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}
