//! placeholder: the network lab (filled by the lab harness work).
