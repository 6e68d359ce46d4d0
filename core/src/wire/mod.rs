//! Wire format (placeholder).
