//! Forward error correction (placeholder).
