//! The start key: udpcast starts (sender) or sends GO (receiver) on any key, and treats an
//! end-of-file stdin as a key press, so non-interactive runs do not hang. `q` quits.

use std::os::fd::RawFd;

/// What the operator did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// Start.
    Start,
    /// `q`: give up.
    Quit,
}

/// Stdin as a keyboard: on a terminal, switched to unbuffered single keys until dropped.
pub struct Keyboard {
    fd: RawFd,
    saved: Option<libc::termios>,
    done: bool,
}

impl Keyboard {
    /// The sender's keyboard: stdin when the input is a file, else the terminal
    /// (`/dev/tty`), since stdin then carries the data (PROTOCOL.md §3.2). `None` when
    /// there is no terminal to read.
    pub fn open_for_sender(input_is_file: bool) -> Option<Keyboard> {
        if input_is_file {
            return Some(Keyboard::open());
        }
        let tty = std::fs::File::open("/dev/tty").ok()?;
        // SAFETY: dup makes a private copy of the terminal's descriptor at a fixed number
        // we own for the keyboard's lifetime.
        let fd = unsafe { libc::dup(std::os::fd::AsRawFd::as_raw_fd(&tty)) };
        (fd >= 0).then(|| Keyboard::on(fd))
    }

    /// Starts watching stdin.
    pub fn open() -> Keyboard {
        Keyboard::on(0)
    }

    fn on(fd: RawFd) -> Keyboard {
        let mut saved = None;
        // SAFETY: isatty only inspects the descriptor.
        if unsafe { libc::isatty(fd) } == 1 {
            // SAFETY: termios is plain data, filled by tcgetattr for fd.
            unsafe {
                let mut t: libc::termios = std::mem::zeroed();
                if libc::tcgetattr(fd, &mut t) == 0 {
                    saved = Some(t);
                    t.c_lflag &= !(libc::ICANON | libc::ECHO);
                    t.c_cc[libc::VMIN] = 1;
                    t.c_cc[libc::VTIME] = 0;
                    libc::tcsetattr(fd, libc::TCSANOW, &t);
                }
            }
        }
        Keyboard {
            fd,
            saved,
            done: false,
        }
    }

    /// The descriptor to poll, while a key is still awaited.
    pub fn fd(&self) -> Option<RawFd> {
        (!self.done).then_some(self.fd)
    }

    /// Reads what is waiting on stdin (call when poll says it is readable).
    pub fn read(&mut self) -> Option<Key> {
        let mut buf = [0u8; 64];
        // SAFETY: reads into a local buffer of the given size.
        let n = unsafe { libc::read(self.fd, buf.as_mut_ptr().cast(), buf.len()) };
        let key = match n {
            n if n < 0 => return None,
            0 => Key::Start,
            n if buf[..n as usize].contains(&b'q') => Key::Quit,
            _ => Key::Start,
        };
        self.done = true;
        Some(key)
    }
}

impl Drop for Keyboard {
    fn drop(&mut self) {
        if let Some(t) = self.saved {
            // SAFETY: restores the settings read in open().
            unsafe { libc::tcsetattr(self.fd, libc::TCSANOW, &t) };
        }
        if self.fd != 0 {
            // SAFETY: closes the terminal descriptor this keyboard duplicated.
            unsafe { libc::close(self.fd) };
        }
    }
}
