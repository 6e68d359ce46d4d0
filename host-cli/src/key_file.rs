//! `--key-file`: the pre-shared key of authenticated transfers, read from a file.

use crate::verification::new_session_id;
use std::path::Path;
use udpcast_core::auth::{Authentication, PreSharedKey};

/// The authentication settings for this run: the file's key and a fresh random value
/// (a sender's session id, a receiver's nonce), or why the file cannot be used.
pub fn authentication(path: &Path) -> Result<Authentication, String> {
    let material =
        std::fs::read(path).map_err(|e| format!("cannot read key file {}: {e}", path.display()))?;
    let key = PreSharedKey::from_key_material(&material)
        .map_err(|e| format!("key file {}: {e}", path.display()))?;
    // 0 means "no session yet" on the wire.
    let nonce = new_session_id().max(1);
    Ok(Authentication { key, nonce })
}
