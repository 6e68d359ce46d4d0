//! The start key: udpcast starts (sender) or sends GO (receiver) on any key, and treats an
//! end-of-file stdin as a key press, so non-interactive runs do not hang. `q` quits.

use std::io::IsTerminal;
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
    saved: Option<libc::termios>,
    done: bool,
}

impl Keyboard {
    /// Starts watching stdin.
    pub fn open() -> Keyboard {
        let mut saved = None;
        if std::io::stdin().is_terminal() {
            // SAFETY: termios is plain data, filled by tcgetattr for fd 0.
            unsafe {
                let mut t: libc::termios = std::mem::zeroed();
                if libc::tcgetattr(0, &mut t) == 0 {
                    saved = Some(t);
                    t.c_lflag &= !(libc::ICANON | libc::ECHO);
                    t.c_cc[libc::VMIN] = 1;
                    t.c_cc[libc::VTIME] = 0;
                    libc::tcsetattr(0, libc::TCSANOW, &t);
                }
            }
        }
        Keyboard { saved, done: false }
    }

    /// The descriptor to poll, while a key is still awaited.
    pub fn fd(&self) -> Option<RawFd> {
        (!self.done).then_some(0)
    }

    /// Reads what is waiting on stdin (call when poll says it is readable).
    pub fn read(&mut self) -> Option<Key> {
        let mut buf = [0u8; 64];
        // SAFETY: reads into a local buffer of the given size.
        let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
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
            unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) };
        }
    }
}
