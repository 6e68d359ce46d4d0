//! `udp-sender`'s command line: every option of udpcast 20120424's sender with its long
//! names, aliases and short letters (PROTOCOL.md §6.1), plus `--help` and `--version`.

use super::getopt::{display_name, names, parse, Arg, Item, Names, Spec, UsageError};
use super::value;
use std::net::Ipv4Addr;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Opt {
    File,
    Pipe,
    Portbase,
    Blocksize,
    Interface,
    McastData,
    McastRdv,
    Ttl,
    Pointopoint,
    NoPointopoint,
    Broadcast,
    FullDuplex,
    HalfDuplex,
    Async,
    Fec,
    MaxBitrate,
    Autorate,
    RateGovernor,
    RexmitHello,
    Autostart,
    MinReceivers,
    MinWait,
    MaxWait,
    StartTimeout,
    Nokbd,
    RetriesUntilDrop,
    DropTimeout,
    MinSliceSize,
    SliceSize,
    MaxSliceSize,
    Streaming,
    RehelloOffset,
    Sendbuf,
    Log,
    NoProgress,
    BwPeriod,
    StatPeriod,
    PrintUncompressed,
    PrintSeed,
    DaemonMode,
    PidFile,
    Kill,
    StatsJson,
    KeyFile,
    Encrypt,
    Name,
    Sha256,
    NoVerify,
    License,
    Help,
    Version,
}

const fn opt(id: Opt, long: &'static [&'static str], short: Option<char>, arg: Arg) -> Spec<Opt> {
    Spec {
        id,
        long,
        short,
        arg,
    }
}

use Arg::{None as Flag, Required as Value};

const SPECS: &[Spec<Opt>] = &[
    opt(Opt::File, &["file"], Some('f'), Value),
    opt(Opt::Pipe, &["pipe"], Some('p'), Value),
    opt(Opt::Portbase, &["portbase", "port"], Some('P'), Value),
    opt(Opt::Blocksize, &["blocksize"], Some('b'), Value),
    opt(Opt::Interface, &["interface"], Some('i'), Value),
    opt(
        Opt::McastData,
        &[
            "mcast-data-address",
            "mcast_data_address",
            "mcast-address",
            "mcast_address",
        ],
        Some('m'),
        Value,
    ),
    opt(
        Opt::McastRdv,
        &[
            "mcast-rdv-address",
            "mcast-all-address",
            "mcast_rdv_address",
            "mcast_all_address",
        ],
        Some('M'),
        Value,
    ),
    opt(Opt::Ttl, &["ttl"], Some('t'), Value),
    opt(
        Opt::Pointopoint,
        &["pointopoint", "point-to-point", "point_to_point"],
        Some('1'),
        Flag,
    ),
    opt(
        Opt::NoPointopoint,
        &["nopointopoint", "nopoint-to-point", "nopoint_to_point"],
        Some('2'),
        Flag,
    ),
    opt(Opt::Broadcast, &["broadcast"], Some('B'), Flag),
    opt(Opt::FullDuplex, &["full-duplex"], Some('d'), Flag),
    opt(Opt::HalfDuplex, &["half-duplex"], Some('c'), Flag),
    opt(Opt::Async, &["async"], Some('a'), Flag),
    opt(Opt::Fec, &["fec"], Some('F'), Value),
    opt(
        Opt::MaxBitrate,
        &["max-bitrate", "max_bitrate"],
        Some('r'),
        Value,
    ),
    opt(Opt::Autorate, &["autorate"], Some('A'), Flag),
    opt(Opt::RateGovernor, &["rate-governor"], Some('g'), Value),
    opt(
        Opt::RexmitHello,
        &["rexmit-hello-interval"],
        Some('H'),
        Value,
    ),
    opt(Opt::Autostart, &["autostart"], Some('S'), Value),
    opt(
        Opt::MinReceivers,
        &["min-receivers", "min-clients"],
        Some('C'),
        Value,
    ),
    opt(Opt::MinWait, &["min-wait"], Some('w'), Value),
    opt(Opt::MaxWait, &["max-wait"], Some('W'), Value),
    opt(Opt::StartTimeout, &["start-timeout"], Some('T'), Value),
    opt(Opt::Nokbd, &["nokbd"], Some('k'), Flag),
    opt(
        Opt::RetriesUntilDrop,
        &["retries-until-drop", "retriesUntilDrop"],
        Some('R'),
        Value,
    ),
    opt(Opt::DropTimeout, &["drop-timeout"], None, Value),
    opt(Opt::MinSliceSize, &["min-slice-size"], None, Value),
    opt(
        Opt::SliceSize,
        &["default-slice-size", "slice-size"],
        None,
        Value,
    ),
    opt(Opt::MaxSliceSize, &["max-slice-size"], None, Value),
    opt(Opt::Streaming, &["streaming"], Some('Z'), Flag),
    opt(Opt::RehelloOffset, &["rehello-offset"], Some('Y'), Value),
    opt(Opt::Sendbuf, &["sendbuf"], Some('s'), Value),
    opt(Opt::Log, &["log"], Some('l'), Value),
    opt(Opt::NoProgress, &["no-progress"], None, Flag),
    opt(Opt::BwPeriod, &["bw-period"], Some('I'), Value),
    opt(
        Opt::StatPeriod,
        &["stat-period", "statistics-period"],
        Some('z'),
        Value,
    ),
    opt(
        Opt::PrintUncompressed,
        &["print-uncompressed-position"],
        Some('x'),
        Value,
    ),
    opt(Opt::PrintSeed, &["print-seed"], None, Flag),
    opt(Opt::DaemonMode, &["daemon-mode"], Some('D'), Flag),
    opt(Opt::PidFile, &["pid-file"], None, Value),
    opt(Opt::Kill, &["kill"], Some('K'), Flag),
    opt(Opt::StatsJson, &["stats-json"], None, Value),
    opt(Opt::KeyFile, &["key-file"], None, Value),
    opt(Opt::Encrypt, &["encrypt"], None, Flag),
    opt(Opt::Name, &["name"], None, Value),
    opt(Opt::Sha256, &["sha256"], None, Flag),
    opt(Opt::NoVerify, &["no-verify"], None, Flag),
    opt(Opt::License, &["license"], Some('L'), Flag),
    opt(Opt::Help, &["help"], Some('h'), Flag),
    opt(Opt::Version, &["version"], Some('V'), Flag),
];

/// `--fec SxR/C`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FecArg {
    /// Stripes (interleave); 8 when omitted.
    pub stripes: u16,
    /// FEC blocks per stripe.
    pub redundancy: u16,
    /// Most data blocks per stripe; 128 when omitted.
    pub stripe_size: u16,
}

/// What `udp-sender` was asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SenderCommand {
    /// Send.
    Run(Box<SenderArgs>),
    /// Print the usage.
    Help,
    /// Print the version.
    Version,
    /// Print the licence.
    License,
    /// `--kill`: stop the daemon whose pid is in `--pid-file`.
    Kill(Option<PathBuf>),
}

/// The sender's settings as given on the command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SenderArgs {
    /// Input file (or the first non-option argument); stdin if absent.
    pub file: Option<PathBuf>,
    /// `--pipe`: a shell command the input is fed through before sending.
    pub pipe: Option<String>,
    /// `--portbase`.
    pub portbase: Option<u16>,
    /// `--blocksize`.
    pub blocksize: Option<u32>,
    /// `--interface` (or `$IFNAME`).
    pub interface: Option<String>,
    /// `--mcast-data-address`.
    pub mcast_data: Option<Ipv4Addr>,
    /// `--mcast-rdv-address`.
    pub mcast_rdv: Option<Ipv4Addr>,
    /// `--ttl`.
    pub ttl: Option<u8>,
    /// `--pointopoint`.
    pub pointopoint: bool,
    /// `--nopointopoint`.
    pub nopointopoint: bool,
    /// `--broadcast`.
    pub broadcast: bool,
    /// `--full-duplex`.
    pub full_duplex: bool,
    /// `--half-duplex`.
    pub half_duplex: bool,
    /// `--async`.
    pub asynchronous: bool,
    /// `--fec`.
    pub fec: Option<FecArg>,
    /// `--max-bitrate` in bits per second.
    pub max_bitrate: Option<u64>,
    /// `--autorate`: the rate is learned from the receivers' answers, under `--max-bitrate`.
    pub autorate: bool,
    /// `--rate-governor` (not supported: refused with a message).
    pub rate_governor: Option<String>,
    /// `--rexmit-hello-interval` in milliseconds.
    pub rexmit_hello_ms: Option<u64>,
    /// `--autostart`.
    pub autostart: Option<u32>,
    /// `--min-receivers`.
    pub min_receivers: Option<u32>,
    /// `--min-wait` in seconds.
    pub min_wait_s: Option<u64>,
    /// `--max-wait` in seconds.
    pub max_wait_s: Option<u64>,
    /// `--start-timeout` in seconds.
    pub start_timeout_s: Option<u64>,
    /// `--nokbd`.
    pub nokbd: bool,
    /// `--retries-until-drop`.
    pub retries_until_drop: Option<u32>,
    /// `--drop-timeout` in seconds (ours: drop silent receivers after this long).
    pub drop_timeout_s: Option<u64>,
    /// `--min-slice-size`.
    pub min_slice_size: Option<u16>,
    /// `--default-slice-size` / `--slice-size`.
    pub slice_size: Option<u16>,
    /// `--max-slice-size`.
    pub max_slice_size: Option<u16>,
    /// `--streaming`.
    pub streaming: bool,
    /// `--rehello-offset` / `-Y`.
    pub rehello_offset: Option<u16>,
    /// `--sendbuf` in bytes.
    pub sendbuf: Option<usize>,
    /// `--log`.
    pub log: Option<PathBuf>,
    /// `--no-progress`.
    pub no_progress: bool,
    /// `--bw-period` in seconds (accepted).
    pub bw_period_s: Option<u64>,
    /// `--stat-period` in milliseconds.
    pub stat_period_ms: Option<u64>,
    /// `--print-uncompressed-position` (accepted).
    pub print_uncompressed: Option<bool>,
    /// `--daemon-mode` given once (serve forever) or twice (also go to the background).
    pub daemon_mode: u8,
    /// `--pid-file`.
    pub pid_file: Option<PathBuf>,
    /// `--stats-json` (ours): where the end-of-run report goes; `-` is stderr.
    pub stats_json: Option<PathBuf>,
    /// `--name` (ours): the stream's name announced to our receivers.
    pub name: Option<String>,
    /// `--sha256` (ours): print the SHA-256 of the stream sent.
    pub sha256: bool,
    /// `--no-verify` (ours): offer no verified transfers; plain udpcast for everyone.
    pub no_verify: bool,
    /// `--key-file` (ours): authenticated transfers with the key in this file.
    pub key_file: Option<PathBuf>,
    /// `--encrypt` (ours): with `--key-file`, encipher the blocks too.
    pub encrypt: bool,
}

/// The usage line.
pub const USAGE: &str = "udp-sender [--file file] [--full-duplex] [--half-duplex] [--pipe pipe] \
[--portbase portbase] [--blocksize size] [--interface net-interface] \
[--mcast-data-address data-mcast-address] [--mcast-rdv-address mcast-rdv-address] \
[--max-bitrate bitrate] [--pointopoint] [--nopointopoint] [--broadcast] [--async] [--log file] \
[--no-progress] [--min-slice-size min] [--max-slice-size max] [--slice-size size] \
[--ttl time-to-live] [--fec <stripes>x<redundancy>/<stripesize>] [--rexmit-hello-interval ms] \
[--autostart n] [--min-receivers n] [--min-wait sec] [--max-wait sec] [--start-timeout sec] \
[--retries-until-drop n] [--drop-timeout sec] [--nokbd] [--streaming] [--rehello-offset n] \
[--sendbuf size] [--stat-period ms] [--daemon-mode] [--pid-file file] [--kill] \
[--stats-json file] [--name name] [--sha256] [--no-verify] [--key-file file] [--encrypt] [--license] \
[--help] [--version]";

/// Every option `udp-sender` knows, as its manual page and shell completions must list it.
pub fn option_names() -> Vec<Names> {
    names(SPECS)
}

/// Parses the arguments after the program name.
pub fn parse_sender_args(
    args: impl IntoIterator<Item = String>,
) -> Result<SenderCommand, UsageError> {
    let mut a = SenderArgs::default();
    let mut kill = false;
    for item in parse(SPECS, args)? {
        let (id, value) = match item {
            Item::Positional(file) if a.file.is_none() => {
                a.file = Some(file.into());
                continue;
            }
            Item::Positional(extra) => return Err(UsageError::Unknown(extra)),
            Item::Opt(id, value) => (id, value.unwrap_or_default()),
        };
        let name = &display_name(SPECS, id);
        let v = value.as_str();
        match id {
            Opt::File => a.file = Some(value.into()),
            Opt::Pipe => a.pipe = Some(value),
            Opt::Portbase => a.portbase = Some(value::number(name, v)?),
            Opt::Blocksize => a.blocksize = Some(value::number(name, v)?),
            Opt::Interface => a.interface = Some(value),
            Opt::McastData => a.mcast_data = Some(value::ipv4(name, v)?),
            Opt::McastRdv => a.mcast_rdv = Some(value::ipv4(name, v)?),
            Opt::Ttl => a.ttl = Some(value::number(name, v)?),
            Opt::Pointopoint => a.pointopoint = true,
            Opt::NoPointopoint => a.nopointopoint = true,
            Opt::Broadcast => a.broadcast = true,
            Opt::FullDuplex => a.full_duplex = true,
            Opt::HalfDuplex => a.half_duplex = true,
            Opt::Async => a.asynchronous = true,
            Opt::Fec => a.fec = Some(fec(name, v)?),
            Opt::MaxBitrate => a.max_bitrate = Some(bitrate(name, v)?),
            Opt::Autorate => a.autorate = true,
            Opt::RateGovernor => a.rate_governor = Some(value),
            Opt::RexmitHello => a.rexmit_hello_ms = Some(value::number(name, v)?),
            Opt::Autostart => a.autostart = Some(value::number(name, v)?),
            Opt::MinReceivers => a.min_receivers = Some(value::number(name, v)?),
            Opt::MinWait => a.min_wait_s = Some(value::number(name, v)?),
            Opt::MaxWait => a.max_wait_s = Some(value::number(name, v)?),
            Opt::StartTimeout => a.start_timeout_s = Some(value::number(name, v)?),
            Opt::Nokbd => a.nokbd = true,
            Opt::RetriesUntilDrop => a.retries_until_drop = Some(value::number(name, v)?),
            Opt::DropTimeout => a.drop_timeout_s = Some(value::number(name, v)?),
            Opt::MinSliceSize => a.min_slice_size = Some(value::number(name, v)?),
            Opt::SliceSize => a.slice_size = Some(value::number(name, v)?),
            Opt::MaxSliceSize => a.max_slice_size = Some(value::number(name, v)?),
            Opt::Streaming => a.streaming = true,
            Opt::RehelloOffset => a.rehello_offset = Some(value::number(name, v)?),
            Opt::Sendbuf => a.sendbuf = Some(value::size(name, v)?),
            Opt::Log => a.log = Some(value.into()),
            Opt::NoProgress => a.no_progress = true,
            Opt::BwPeriod => a.bw_period_s = Some(value::number(name, v)?),
            Opt::StatPeriod => a.stat_period_ms = Some(value::number(name, v)?),
            Opt::PrintUncompressed => {
                a.print_uncompressed = Some(value::number::<u8>(name, v)? != 0)
            }
            Opt::PrintSeed => {}
            Opt::DaemonMode => a.daemon_mode = a.daemon_mode.saturating_add(1),
            Opt::PidFile => a.pid_file = Some(value.into()),
            Opt::Kill => kill = true,
            Opt::StatsJson => a.stats_json = Some(value.into()),
            Opt::KeyFile => a.key_file = Some(value.into()),
            Opt::Encrypt => a.encrypt = true,
            Opt::Name => {
                if udpcast_core::extension::StreamName::new(v).is_err() {
                    return Err(UsageError::BadValue(name.clone(), value));
                }
                a.name = Some(value)
            }
            Opt::Sha256 => a.sha256 = true,
            Opt::NoVerify => a.no_verify = true,
            Opt::License => return Ok(SenderCommand::License),
            Opt::Help => return Ok(SenderCommand::Help),
            Opt::Version => return Ok(SenderCommand::Version),
        }
    }
    if kill {
        return Ok(SenderCommand::Kill(a.pid_file));
    }
    Ok(SenderCommand::Run(Box::new(a)))
}

/// `--max-bitrate`: bits per second, with `k`/`K` (×1000), `m`/`M` (×10⁶) or, beyond
/// udpcast, `g`/`G` (×10⁹); decimals allowed (`1.5g`).
pub fn bitrate(option: &str, value: &str) -> Result<u64, UsageError> {
    let bad = || UsageError::BadValue(option.to_string(), value.to_string());
    let v = value.trim();
    let (digits, factor) = match v.chars().last() {
        Some('k' | 'K') => (&v[..v.len() - 1], 1e3),
        Some('m' | 'M') => (&v[..v.len() - 1], 1e6),
        Some('g' | 'G') => (&v[..v.len() - 1], 1e9),
        Some(c) if c.is_ascii_digit() => (v, 1.0),
        _ => return Err(bad()),
    };
    let n: f64 = digits.parse().map_err(|_| bad())?;
    let bits = n * factor;
    if !(1.0..=1.8e19).contains(&bits) {
        return Err(bad());
    }
    Ok(bits.round() as u64)
}

/// `--fec [S x]R[/C]`: stripes default 8, stripe size default 128 (PROTOCOL.md §5.1).
pub fn fec(option: &str, value: &str) -> Result<FecArg, UsageError> {
    let bad = || UsageError::BadValue(option.to_string(), value.to_string());
    let (stripes, rest) = match value.split_once('x') {
        Some((s, rest)) => (s.parse::<u16>().map_err(|_| bad())?, rest),
        None => (8, value),
    };
    let (redundancy, stripe_size) = match rest.split_once('/') {
        Some((r, c)) => (
            r.parse::<u16>().map_err(|_| bad())?,
            c.parse::<u16>().map_err(|_| bad())?,
        ),
        None => (rest.parse::<u16>().map_err(|_| bad())?, 128),
    };
    let ok = (1..=256).contains(&stripes)
        && (1..=128).contains(&redundancy)
        && (1..=128).contains(&stripe_size)
        && u32::from(stripes) * u32::from(redundancy) <= 65_535;
    if !ok {
        return Err(bad());
    }
    Ok(FecArg {
        stripes,
        redundancy,
        stripe_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> SenderArgs {
        match parse_sender_args(args.iter().map(|s| s.to_string())) {
            Ok(SenderCommand::Run(a)) => *a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn clonezilla_style_command_line() {
        let a = run(&[
            "--mcast-all-addr",
            "239.255.1.1",
            "--portbase",
            "2232",
            "--nokbd",
            "--ttl",
            "1",
            "--min-clients",
            "3",
            "--max-wait",
            "300",
            "--full-duplex",
            "-f",
            "/tmp/img",
        ]);
        assert_eq!(a.mcast_rdv, Some(Ipv4Addr::new(239, 255, 1, 1)));
        assert_eq!(a.min_receivers, Some(3));
        assert_eq!(a.max_wait_s, Some(300));
        assert!(a.full_duplex && a.nokbd);
        assert_eq!(a.file, Some("/tmp/img".into()));
    }

    #[test]
    fn fog_style_command_line() {
        let a = run(&[
            "--interface",
            "eth0",
            "--min-receivers",
            "2",
            "--max-wait",
            "600",
            "--portbase",
            "9000",
            "--full-duplex",
            "--ttl",
            "32",
            "--nokbd",
            "--nopointopoint",
            "--mcast-rdv-address",
            "10.0.0.5",
            "--max-bitrate",
            "500m",
            "--file",
            "/images/x/d1p1.img",
        ]);
        assert!(a.nopointopoint);
        assert_eq!(a.max_bitrate, Some(500_000_000));
        assert_eq!(a.ttl, Some(32));
    }

    #[test]
    fn fec_forms() {
        let f = |s: &str| fec("--fec", s);
        assert_eq!(
            f("8x8/128"),
            Ok(FecArg {
                stripes: 8,
                redundancy: 8,
                stripe_size: 128
            })
        );
        assert_eq!(
            f("4x2"),
            Ok(FecArg {
                stripes: 4,
                redundancy: 2,
                stripe_size: 128
            })
        );
        assert_eq!(
            f("4"),
            Ok(FecArg {
                stripes: 8,
                redundancy: 4,
                stripe_size: 128
            })
        );
        assert_eq!(
            f("16x4/64"),
            Ok(FecArg {
                stripes: 16,
                redundancy: 4,
                stripe_size: 64
            })
        );
        for bad in ["8x8/128z", "x8", "8x0", "8x8/0", "0x8", "300x8", "8x200"] {
            assert!(f(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bitrates_take_decimal_suffixes_and_go_beyond_2_gigabits() {
        assert_eq!(bitrate("-r", "100m"), Ok(100_000_000));
        assert_eq!(bitrate("-r", "1k"), Ok(1000));
        assert_eq!(bitrate("-r", "40g"), Ok(40_000_000_000));
        assert_eq!(bitrate("-r", "2.5G"), Ok(2_500_000_000));
        assert!(bitrate("-r", "5x").is_err());
        assert!(bitrate("-r", "").is_err());
    }

    #[test]
    fn short_letters_and_prefixes() {
        let a = run(&[
            "-a", "-F", "8x8", "-r", "10m", "-S", "2", "-k", "-Z", "-Y", "10", "-1", "-B", "in",
        ]);
        assert!(a.asynchronous && a.streaming && a.pointopoint && a.broadcast && a.nokbd);
        assert_eq!((a.autostart, a.rehello_offset), (Some(2), Some(10)));
        assert_eq!(a.file, Some("in".into()));
        let b = run(&[
            "--min-c",
            "2",
            "--rexmit",
            "500",
            "--slice-size",
            "64",
            "--retriesUntilDrop",
            "5",
        ]);
        assert_eq!(
            (
                b.min_receivers,
                b.rexmit_hello_ms,
                b.slice_size,
                b.retries_until_drop
            ),
            (Some(2), Some(500), Some(64), Some(5))
        );
        assert!(
            parse_sender_args(["--min".to_string(), "2".to_string()]).is_err(),
            "ambiguous"
        );
    }

    #[test]
    fn stats_json_takes_a_file_or_a_dash_for_stderr() {
        assert_eq!(run(&["--stats-json=-"]).stats_json, Some("-".into()));
        let a = run(&["--stats-json", "s.json", "in"]);
        assert_eq!(
            (a.stats_json, a.file),
            (Some("s.json".into()), Some("in".into()))
        );
    }

    #[test]
    fn daemon_mode_counts_and_kill() {
        let a = run(&["-D", "-D", "--pid-file", "/run/x.pid"]);
        assert_eq!(a.daemon_mode, 2);
        assert_eq!(
            parse_sender_args(["--kill", "--pid-file", "p"].map(String::from)),
            Ok(SenderCommand::Kill(Some("p".into())))
        );
    }
}
