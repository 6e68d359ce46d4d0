//! How a sender is set up: the options of `udp-sender` that shape the protocol
//! (PROTOCOL.md §3.1, §6.1).

use crate::time::Duration;
use core::net::Ipv4Addr;

/// `--pointopoint` / `--nopointopoint` (PROTOCOL.md §1.4 rules 3 and 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PointToPoint {
    /// Unicast the data when exactly one receiver is connected at the start (default).
    Auto,
    /// `--pointopoint`: one receiver only, always unicast.
    Always,
    /// `--nopointopoint`: always the data address.
    Never,
}

/// `--full-duplex` / `--half-duplex`: whether a slice may be sent while the previous one
/// is still being acknowledged (PROTOCOL.md §3.1, §3.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Duplex {
    /// Overlap slices; fixed slice size.
    Full,
    /// One slice at a time; the slice size adapts to losses (§3.5).
    Half,
}

/// `--fec SxR/C`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FecParams {
    /// Stripes S (interleave), 1..=256.
    pub stripes: u16,
    /// FEC blocks per stripe R, 1..=128.
    pub redundancy: u16,
    /// Most data blocks per stripe C, 1..=128.
    pub stripe_size: u16,
}

/// A sender's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SenderConfig {
    /// The sender's own unicast address.
    pub own_address: Ipv4Addr,
    /// Where HELLOs go: see [`crate::addressing::rendezvous`].
    pub rendezvous: Ipv4Addr,
    /// The data group announced and used for multicast data (§1.4 rules 1–2).
    pub data_group: Ipv4Addr,
    /// Port base P: receivers listen on P, the sender on P + 1.
    pub portbase: u16,
    /// Bytes per block.
    pub block_size: u16,
    /// Point-to-point rule.
    pub pointopoint: PointToPoint,
    /// `--broadcast`: data to the rendezvous (broadcast) address.
    pub broadcast: bool,
    /// Duplex mode (async forces full).
    pub duplex: Duplex,
    /// `--async`: no return channel; receivers are passive.
    pub asynchronous: bool,
    /// `--fec`.
    pub fec: Option<FecParams>,
    /// `--max-bitrate` in bits per second.
    pub max_bitrate: Option<u64>,
    /// `--autorate`: learn the rate from the receivers' answers (`crate::autorate`),
    /// never above `max_bitrate`. Synchronous transfers only: async ones hear nothing.
    pub autorate: bool,
    /// `--key-file`: authenticated transfers (`crate::auth`), with `nonce` as the session
    /// id. Receivers without the key (udpcast's among them) are refused, and blocks shrink
    /// to [`AUTH_MAX_BLOCK_SIZE`](super::AUTH_MAX_BLOCK_SIZE) so datagrams still fit.
    pub auth: Option<crate::auth::Authentication>,
    /// `--encrypt`: with `auth`, the blocks of DATA and FEC datagrams are enciphered
    /// (`crate::auth::encryption`); receivers with the key decipher them.
    pub encrypt: bool,
    /// `--rexmit-hello-interval`; `None` (or zero) sends one HELLO only, except that
    /// async and autostart repeat it every second (§3.1).
    pub hello_interval: Option<Duration>,
    /// `--autostart N`: start after N hello repetitions (0 = off).
    pub autostart: u32,
    /// `--min-receivers`.
    pub min_receivers: u32,
    /// `--min-wait` (whole seconds in udpcast).
    pub min_wait: Option<Duration>,
    /// `--max-wait`.
    pub max_wait: Option<Duration>,
    /// `--start-timeout`: give up when nothing arrives this long before the start.
    pub start_timeout: Option<Duration>,
    /// Whether a key press starts the transfer (not `--nokbd`); informs the prompt event.
    pub keyboard: bool,
    /// `--retries-until-drop`: REQACK rounds before unresponsive receivers are dropped.
    pub retries_until_drop: u32,
    /// Receivers silent this long while a slice waits for them are dropped even before
    /// `retries_until_drop` rounds: udpcast's 200 rounds take over three minutes.
    pub drop_timeout: Duration,
    /// `--min-slice-size`.
    pub min_slice_size: u16,
    /// `--default-slice-size` / `--slice-size`, if given.
    pub slice_size: Option<u16>,
    /// `--max-slice-size`.
    pub max_slice_size: u16,
    /// `--streaming`: repeat HELLO_STREAMING during the transfer for late joiners.
    pub streaming: bool,
    /// `-Y`: blocks before a slice's end at which the streaming hello goes out.
    pub rehello_offset: u16,
}

impl SenderConfig {
    /// udpcast's defaults for a sender at `own_address` with the given rendezvous and
    /// data group.
    pub const fn new(own_address: Ipv4Addr, rendezvous: Ipv4Addr, data_group: Ipv4Addr) -> Self {
        SenderConfig {
            own_address,
            rendezvous,
            data_group,
            portbase: crate::wire::DEFAULT_PORTBASE,
            block_size: crate::wire::DEFAULT_BLOCK_SIZE,
            pointopoint: PointToPoint::Auto,
            broadcast: false,
            duplex: Duplex::Full,
            asynchronous: false,
            fec: None,
            max_bitrate: None,
            autorate: false,
            auth: None,
            encrypt: false,
            hello_interval: None,
            autostart: 0,
            min_receivers: 0,
            min_wait: None,
            max_wait: None,
            start_timeout: None,
            keyboard: false,
            retries_until_drop: 200,
            drop_timeout: Duration::from_secs(10),
            min_slice_size: 16,
            slice_size: None,
            max_slice_size: 1024,
            streaming: false,
            rehello_offset: 50,
        }
    }
}
