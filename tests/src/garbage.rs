//! The bytes the C programs leave uninitialised (PROTOCOL.md §2.2, §2.4): captured
//! messages carry random values there, and our encoder writes zeros.

use udpcast_core::wire::Opcode;

/// The `(start, end)` byte ranges of a message that hold uninitialised memory in udpcast.
pub fn ranges(opcode: Opcode) -> &'static [(usize, usize)] {
    match opcode {
        Opcode::Hello | Opcode::HelloNew | Opcode::HelloStreaming => &[(12, 24), (26, 28)],
        Opcode::ConnectReply => &[(20, 32)],
        _ => &[],
    }
}

/// `captured` with its uninitialised ranges set to zero: what our encoder writes for the
/// same message.
pub fn zeroed(opcode: Opcode, captured: &[u8]) -> Vec<u8> {
    let mut bytes = captured.to_vec();
    for &(start, end) in ranges(opcode) {
        if let Some(area) = bytes.get_mut(start..end) {
            area.fill(0);
        }
    }
    bytes
}
