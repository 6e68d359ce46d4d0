//! Stream identity: what a sender of ours announces about the stream before any data
//! (doc/verified-transfers.md §3, §5 step 1) so a receiver can refuse the wrong one.

use super::{Record, Trailer, TrailerEncodeError, TrailerError, TrailerWriter, MAX_NAME_LEN};
use core::fmt;

/// The name of a stream: 1–255 bytes of UTF-8 without control characters. Kept inline so
/// an identity needs no allocation and can be copied.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamName {
    bytes: [u8; MAX_NAME_LEN],
    len: u8,
}

impl StreamName {
    /// `name` if the extension accepts it as it is.
    pub fn new(name: &str) -> Result<Self, TrailerError> {
        super::trailer::check_name(name.as_bytes())?;
        let mut bytes = [0; MAX_NAME_LEN];
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        Ok(StreamName {
            bytes,
            len: name.len() as u8,
        })
    }

    /// A name made from anything (a file name, say): control characters become `?`, the
    /// result is cut at a character boundary to 255 bytes, and an empty one becomes `?`.
    pub fn lossy(raw: &str) -> Self {
        let mut bytes = [0; MAX_NAME_LEN];
        let mut len = 0;
        for c in raw.chars() {
            let c = if c.is_control() { '?' } else { c };
            let mut utf8 = [0; 4];
            let encoded = c.encode_utf8(&mut utf8).as_bytes();
            if len + encoded.len() > MAX_NAME_LEN {
                break;
            }
            bytes[len..len + encoded.len()].copy_from_slice(encoded);
            len += encoded.len();
        }
        if len == 0 {
            bytes[0] = b'?';
            len = 1;
        }
        StreamName {
            bytes,
            len: len as u8,
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        // Only ever filled from a `str` cut at character boundaries.
        core::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("?")
    }
}

impl fmt::Debug for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for StreamName {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(f, "{=str}", self.as_str())
    }
}

/// Who a stream is: the sender's random session id, the stream's name, and its size when
/// the sender knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Identity {
    /// Chosen at random by the sender for each run; core has no random source, so the
    /// caller supplies it.
    pub session: u64,
    /// The stream's name.
    pub name: StreamName,
    /// The stream's length in bytes, when known before sending (a file, not a pipe).
    pub total_size: Option<u64>,
}

impl Identity {
    /// The identity a trailer announces; `None` unless it carries both session and name.
    pub fn from_trailer(trailer: &Trailer<'_>) -> Option<Identity> {
        Some(Identity {
            session: trailer.session()?,
            name: StreamName::new(trailer.name()?).ok()?,
            total_size: trailer.total_size(),
        })
    }

    /// Appends this identity's records to a trailer being written.
    pub fn write(&self, writer: &mut TrailerWriter<'_>) -> Result<(), TrailerEncodeError> {
        writer
            .push(&Record::Session(self.session))?
            .push(&Record::StreamName(self.name.as_str()))?;
        if let Some(size) = self.total_size {
            writer.push(&Record::TotalSize(size))?;
        }
        Ok(())
    }
}
