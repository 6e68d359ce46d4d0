//! What one simulated run is: the transfer mode, the stream, the sender's settings, and
//! per receiver its two links and its faults — all drawn from the run's seed
//! ([`Scenario::from_seed`]), or spelt out by a test ([`Scenario::clean`] and edits).

use super::link::{below, LinkSpec};
use crate::memnet::Rng;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};
use udpcast_core::addressing;
use udpcast_core::receiver::{self, ReceiverConfig};
use udpcast_core::sender::{Duplex, FecParams, SenderConfig};
use udpcast_core::time::Duration;

/// The sender's address in the simulated room (a /16, room for 1000 receivers).
pub const SENDER_IP: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 1);
/// The room's broadcast address: the rendezvous.
pub const BROADCAST: Ipv4Addr = Ipv4Addr::new(10, 9, 255, 255);
/// Port base P: receivers listen on P, the sender on P + 1.
pub const PORTBASE: u16 = 9000;
/// The most receivers a run may have (udpcast's limit is 1024 clients).
pub const MAX_RECEIVERS: usize = 1000;

/// Receiver `i`'s address.
pub fn receiver_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 9, 1 + (i / 250) as u8, 1 + (i % 250) as u8)
}

/// Which receiver has address `ip`.
pub fn receiver_index(ip: Ipv4Addr) -> Option<usize> {
    let [a, b, c, d] = ip.octets();
    let valid = [a, b] == [10, 9] && (1..=4).contains(&c) && (1..=250).contains(&d);
    valid.then(|| usize::from(c - 1) * 250 + usize::from(d - 1))
}

/// The sender's socket as the receivers see it.
pub fn sender_addr() -> SocketAddrV4 {
    SocketAddrV4::new(SENDER_IP, PORTBASE + 1)
}

/// How the sender runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Synchronous, full duplex (the default).
    SyncFull,
    /// Synchronous, `--half-duplex` (adaptive slice size).
    SyncHalf,
    /// Synchronous with `--fec`.
    SyncFec,
    /// `--async` with `--fec`: no return channel.
    AsyncFec,
    /// `--async --fec --streaming`: receivers may join while the transfer runs.
    Streaming,
}

impl Mode {
    /// Whether receivers answer (REQACK rounds, retransmissions, drops).
    pub fn synchronous(self) -> bool {
        matches!(self, Mode::SyncFull | Mode::SyncHalf | Mode::SyncFec)
    }

    fn has_fec(self) -> bool {
        !matches!(self, Mode::SyncFull | Mode::SyncHalf)
    }
}

/// When a fault strikes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// At this many µs after the run began.
    At(u64),
    /// Once the receiver has written this many bytes.
    AfterBytes(u64),
}

/// What goes wrong with one receiver.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// It dies: stops for good, sends nothing more.
    pub dies: Option<Trigger>,
    /// It freezes (SIGSTOP) for this many µs, then goes on; datagrams arriving meanwhile
    /// wait in its socket buffer up to [`SOCKET_BUFFER`](super::world::SOCKET_BUFFER).
    pub freezes: Option<(Trigger, u64)>,
    /// It starts this many µs after the run began (a late joiner, in streaming mode).
    pub joins_at: Option<u64>,
    /// Its writer takes only this many bytes per simulated ms.
    pub writer_bytes_per_ms: Option<u32>,
}

impl Faults {
    /// No death, freeze or late start (a slow writer is healthy: it only slows things).
    pub fn healthy(&self) -> bool {
        self.dies.is_none() && self.freezes.is_none() && self.joins_at.is_none()
    }
}

/// One receiver of the room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiverSpec {
    /// Sender → receiver.
    pub down: LinkSpec,
    /// Receiver → sender.
    pub up: LinkSpec,
    /// Its faults.
    pub faults: Faults,
    /// Whether it asks for verified transfers (our default; off is `--no-verify`).
    pub verify: bool,
}

/// One run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// The seed it was drawn from; also seeds the links and the input.
    pub seed: u64,
    /// How the sender runs.
    pub mode: Mode,
    /// Bytes of the stream.
    pub size: usize,
    /// `--blocksize`.
    pub block_size: u16,
    /// `--max-slice-size` (blocks); receivers get storage for four slices of it.
    pub max_slice: u16,
    /// `--fec`, in the modes that use it.
    pub fec: Option<FecParams>,
    /// `--max-bitrate`, bits per second.
    pub bitrate: u64,
    /// The sender's drop timeout, ms.
    pub drop_timeout_ms: u64,
    /// Synchronous modes: `--max-wait` after the first receiver connected, ms.
    pub max_wait_ms: u64,
    /// Asynchronous modes: `--autostart`.
    pub autostart: u32,
    /// Whether the sender offers verified transfers (`Sender::set_identity`).
    pub identity: bool,
    /// Every receiver's `--start-timeout` and `--receive-timeout`, ms.
    pub start_timeout_ms: u64,
    /// See `start_timeout_ms`.
    pub receive_timeout_ms: u64,
    /// The receivers.
    pub receivers: Vec<ReceiverSpec>,
}

impl Scenario {
    /// `receivers` receivers on clean links, no faults, a verified stream of `size` bytes:
    /// the base a named test edits.
    pub fn clean(seed: u64, mode: Mode, receivers: usize, size: usize) -> Self {
        let spec = ReceiverSpec {
            down: LinkSpec::clean(200),
            up: LinkSpec::clean(200),
            faults: Faults::default(),
            verify: true,
        };
        Scenario {
            seed,
            mode,
            size,
            block_size: 512,
            max_slice: 32,
            fec: mode.has_fec().then_some(FecParams {
                stripes: 2,
                redundancy: 4,
                stripe_size: 16,
            }),
            bitrate: 100_000_000,
            drop_timeout_ms: 2_000,
            max_wait_ms: 3_000,
            autostart: 2,
            identity: true,
            start_timeout_ms: 20_000,
            receive_timeout_ms: 5_000,
            receivers: vec![spec; receivers],
        }
    }

    /// The run seed `seed` stands for. Every 25th seed (24, 49, …) is a big room of
    /// 200–1000 receivers with a stream of 8–64 KB; the others have 1–50 receivers and
    /// 10 KB–1 MB. About one run in sixteen sends an edge size: empty, one byte, a block ± 1, a
    /// slice or three, a slice + 1.
    pub fn from_seed(seed: u64) -> Self {
        let mut rng = Rng::new(splitmix(seed));
        let mode = [
            Mode::SyncFull,
            Mode::SyncHalf,
            Mode::SyncFec,
            Mode::AsyncFec,
            Mode::Streaming,
        ][below(&mut rng, 5) as usize];
        let big = seed % 25 == 24;
        let n = if big {
            200 + below(&mut rng, 801) as usize
        } else if rng.chance(50) {
            1
        } else {
            2 + below(&mut rng, 49) as usize
        };
        let block_size = 256 + 4 * below(&mut rng, 65) as u16;
        let max_slice = 16 + below(&mut rng, 49) as u16;
        let slice_bytes = usize::from(block_size) * usize::from(max_slice);
        let size = if rng.chance(60) {
            let bs = usize::from(block_size);
            [
                0,
                1,
                bs - 1,
                bs,
                bs + 1,
                slice_bytes,
                slice_bytes + 1,
                3 * slice_bytes,
            ][below(&mut rng, 8) as usize]
        } else if big {
            log_uniform(&mut rng, 8_000, 64_000) as usize
        } else {
            log_uniform(&mut rng, 10_000, 1_000_000) as usize
        };
        let mut sc = Scenario::clean(seed, mode, n, size);
        sc.block_size = block_size;
        sc.max_slice = max_slice;
        if mode.has_fec() {
            let stripes = 1 + below(&mut rng, 4) as u16;
            let per_stripe = (max_slice / stripes).max(1);
            sc.fec = Some(FecParams {
                stripes,
                redundancy: 1 + below(&mut rng, 8) as u16,
                stripe_size: 1 + below(&mut rng, u64::from(per_stripe)) as u16,
            });
        }
        sc.bitrate = log_uniform(&mut rng, 10_000_000, 500_000_000);
        sc.drop_timeout_ms = 3_000 + below(&mut rng, 5_001);
        sc.max_wait_ms = 2_000 + below(&mut rng, 3_001);
        sc.autostart = 1 + below(&mut rng, 3) as u32;
        sc.identity = rng.chance(750);
        sc.receive_timeout_ms = 10_000;
        let max_loss = if rng.chance(100) {
            0
        } else {
            1 + below(&mut rng, 200) as u32
        };
        for r in &mut sc.receivers {
            r.down = LinkSpec::draw(&mut rng, max_loss);
            r.up = LinkSpec::draw(&mut rng, max_loss);
            r.verify = !rng.chance(100);
        }
        sc.draw_faults(&mut rng);
        sc
    }

    fn draw_faults(&mut self, rng: &mut Rng) {
        let n = self.receivers.len() as u64;
        let (negotiation, transfer) = (self.negotiation_us(), self.wire_us() * 2);
        let size = self.size as u64;
        let cap = if n >= 200 { 5 } else { 3 };
        let trigger = |rng: &mut Rng| {
            if rng.chance(500) {
                Trigger::At(below(rng, negotiation + transfer + 1))
            } else {
                Trigger::AfterBytes(below(rng, size + 1))
            }
        };
        if rng.chance(350) {
            for _ in 0..1 + below(rng, cap) {
                let t = trigger(rng);
                self.receivers[below(rng, n) as usize].faults.dies = Some(t);
            }
        }
        if rng.chance(250) {
            for _ in 0..1 + below(rng, 2) {
                let t = trigger(rng);
                let length = self.drop_timeout_ms * 1000 + 200_000 + below(rng, 3_000_000);
                self.receivers[below(rng, n) as usize].faults.freezes = Some((t, length));
            }
        }
        if rng.chance(250) {
            for _ in 0..1 + below(rng, cap) {
                let rate = 1_000 + below(rng, 7_001) as u32;
                self.receivers[below(rng, n) as usize]
                    .faults
                    .writer_bytes_per_ms = Some(rate);
            }
        }
        if self.mode == Mode::Streaming {
            // The async sender starts after its hello number autostart + 1, a second
            // apart; its single pass over the stream takes about `wire_us`.
            let start = (u64::from(self.autostart) + 1) * 1_000_000;
            for _ in 0..1 + below(rng, n.div_ceil(3)) {
                let at = start + below(rng, self.wire_us() + 1);
                self.receivers[below(rng, n) as usize].faults.joins_at = Some(at);
            }
        }
    }

    /// The sender's settings.
    pub fn sender_config(&self) -> SenderConfig {
        let mut c = SenderConfig::new(
            SENDER_IP,
            BROADCAST,
            addressing::default_data_group(SENDER_IP),
        );
        c.portbase = PORTBASE;
        c.block_size = self.block_size;
        c.max_slice_size = self.max_slice;
        c.min_slice_size = c.min_slice_size.min(self.max_slice);
        c.max_bitrate = Some(self.bitrate);
        c.drop_timeout = Duration::from_millis(self.drop_timeout_ms);
        c.fec = self.fec;
        match self.mode {
            Mode::SyncFull | Mode::SyncHalf | Mode::SyncFec => {
                c.min_receivers = self.initial_receivers() as u32;
                c.max_wait = Some(Duration::from_millis(self.max_wait_ms));
                if self.mode == Mode::SyncHalf {
                    c.duplex = Duplex::Half;
                }
            }
            Mode::AsyncFec | Mode::Streaming => {
                c.asynchronous = true;
                c.autostart = self.autostart;
                c.streaming = self.mode == Mode::Streaming;
            }
        }
        c
    }

    /// Receiver `i`'s settings.
    pub fn receiver_config(&self, i: usize) -> ReceiverConfig {
        let mut c = ReceiverConfig::new(receiver_ip(i), BROADCAST);
        c.portbase = PORTBASE;
        c.receive_buffer = SOCKET_BUFFER_REPORTED;
        c.start_timeout = Some(Duration::from_millis(self.start_timeout_ms));
        c.receive_timeout = Some(Duration::from_millis(self.receive_timeout_ms));
        c.verify = self.receivers[i].verify;
        c
    }

    /// Bytes of storage a receiver gets: four slots of the largest slice.
    pub fn receiver_storage(&self) -> usize {
        receiver::SLOTS * usize::from(self.max_slice) * usize::from(self.block_size)
    }

    /// Receivers there from the start.
    pub fn initial_receivers(&self) -> usize {
        self.receivers
            .iter()
            .filter(|r| r.faults.joins_at.is_none())
            .count()
    }

    /// The longest the negotiation should take, µs.
    fn negotiation_us(&self) -> u64 {
        if self.mode.synchronous() {
            // Connect retries once a second; the start rules are looked at after 2 s quiet.
            (self.max_wait_ms + 3_000) * 1000
        } else {
            (u64::from(self.autostart) + 2) * 1_000_000
        }
    }

    /// Time on the wire of one pass over the stream and its FEC at the bitrate, µs.
    fn wire_us(&self) -> u64 {
        let bs = u64::from(self.block_size);
        let blocks = (self.size as u64).div_ceil(bs) + 1;
        let fec = self.fec.map_or(0, |f| {
            let per_slice = u64::from(f.stripes) * u64::from(f.redundancy);
            per_slice * blocks.div_ceil(u64::from(self.max_slice.min(f.stripes * f.stripe_size)))
        });
        (blocks + fec) * (bs + 16 + 28) * 8 * 1_000_000 / self.bitrate
    }

    /// The most simulated time the run may take before it counts as a hang, µs: the
    /// negotiation; twenty passes over the stream at the bitrate (retransmissions to a
    /// thousand receivers at 20 % loss take about seven); per slice, a second of REQACK
    /// rounds (after ten rounds udpcast waits a second between them); per dead or frozen
    /// receiver a drop timeout and its freeze; the slowest writer writing it all twice;
    /// and the receivers' own timeouts to notice the end.
    pub fn time_bound_us(&self) -> u64 {
        let bs = usize::from(self.block_size);
        let slices = self.size.div_ceil(bs).div_ceil(16) as u64 + 2;
        let faults: u64 = self
            .receivers
            .iter()
            .map(|r| {
                let dies = r.faults.dies.map_or(0, |_| self.drop_timeout_ms * 1000);
                let freezes = r
                    .faults
                    .freezes
                    .map_or(0, |(_, us)| us + self.drop_timeout_ms * 1000);
                dies + freezes
            })
            .sum();
        let slowest = self
            .receivers
            .iter()
            .filter_map(|r| r.faults.writer_bytes_per_ms)
            .min()
            .map_or(0, |rate| 2 * 1000 * self.size as u64 / u64::from(rate));
        let late = self
            .receivers
            .iter()
            .filter_map(|r| r.faults.joins_at)
            .max()
            .unwrap_or(0);
        let timeouts = (self.start_timeout_ms + self.receive_timeout_ms) * 1000;
        self.negotiation_us()
            + 20 * self.wire_us()
            + slices * 1_000_000
            + faults
            + slowest
            + late
            + timeouts
            + 10_000_000
    }
}

/// What receivers report as their socket buffer in CONNECT_REQ.
const SOCKET_BUFFER_REPORTED: u32 = super::world::SOCKET_BUFFER as u32;

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seed {}: {:?}, {} receivers, {} bytes, blocks of {}, slices ≤ {}",
            self.seed,
            self.mode,
            self.receivers.len(),
            self.size,
            self.block_size,
            self.max_slice
        )?;
        if let Some(fec) = self.fec {
            write!(
                f,
                ", fec {}x{}/{}",
                fec.stripes, fec.redundancy, fec.stripe_size
            )?;
        }
        write!(
            f,
            ", {} Mb/s, drop timeout {} ms, {}",
            self.bitrate / 1_000_000,
            self.drop_timeout_ms,
            if self.identity { "verified" } else { "plain" }
        )?;
        if self.mode.synchronous() {
            write!(f, ", max wait {} ms", self.max_wait_ms)?;
        } else {
            write!(f, ", autostart {}", self.autostart)?;
        }
        let max_loss = self
            .receivers
            .iter()
            .map(|r| r.down.loss_permille.max(r.up.loss_permille))
            .max()
            .unwrap_or(0);
        write!(f, ", links lose ≤ {max_loss}‰")?;
        let count =
            |pick: fn(&Faults) -> bool| self.receivers.iter().filter(|r| pick(&r.faults)).count();
        write!(
            f,
            "; faults: {} die, {} freeze, {} join late, {} slow writers",
            count(|x| x.dies.is_some()),
            count(|x| x.freezes.is_some()),
            count(|x| x.joins_at.is_some()),
            count(|x| x.writer_bytes_per_ms.is_some())
        )
    }
}

/// Mixes a seed so that neighbouring seeds give unrelated streams (splitmix64).
pub fn splitmix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A number between `low` and `high` spread on a log scale: an octave at random, then a
/// number in it at random (integers only: the same on every host).
fn log_uniform(rng: &mut Rng, low: u64, high: u64) -> u64 {
    let octaves = u64::from((high / low.max(1)).ilog2()) + 1;
    loop {
        let from = low << below(rng, octaves);
        let n = from + below(rng, from);
        if n <= high {
            return n;
        }
    }
}
