//! `udp-receiver`'s command line: every option of udpcast 20120424's receiver, with its
//! long names, aliases and short letters (PROTOCOL.md §6.2), plus `--help` and `--version`.

use super::getopt::{display_name, names, parse, Arg, Item, Names, Spec, UsageError};
use super::value;
use std::net::Ipv4Addr;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Opt {
    File,
    Pipe,
    Portbase,
    Interface,
    Ttl,
    McastRdv,
    Passive,
    Nosync,
    Sync,
    Rcvbuf,
    Nokbd,
    ExitWait,
    StartTimeout,
    ReceiveTimeout,
    IgnoreLostData,
    Log,
    NoProgress,
    StatPeriod,
    PrintUncompressed,
    StatsJson,
    KeyFile,
    ExpectName,
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

const SPECS: &[Spec<Opt>] = &[
    opt(Opt::File, &["file"], Some('f'), Arg::Required),
    opt(Opt::Pipe, &["pipe"], Some('p'), Arg::Required),
    opt(
        Opt::Portbase,
        &["portbase", "port"],
        Some('P'),
        Arg::Required,
    ),
    opt(Opt::Interface, &["interface"], Some('i'), Arg::Required),
    opt(Opt::Ttl, &["ttl"], Some('t'), Arg::Required),
    opt(
        Opt::McastRdv,
        &[
            "mcast-rdv-address",
            "mcast-all-address",
            "mcast_rdv_address",
            "mcast_all_address",
        ],
        Some('M'),
        Arg::Required,
    ),
    opt(Opt::Passive, &["passive"], Some('d'), Arg::None),
    opt(Opt::Nosync, &["nosync"], Some('n'), Arg::None),
    opt(Opt::Sync, &["sync"], Some('y'), Arg::None),
    opt(Opt::Rcvbuf, &["rcvbuf"], Some('b'), Arg::Required),
    opt(Opt::Nokbd, &["nokbd"], Some('k'), Arg::None),
    opt(
        Opt::ExitWait,
        &["exit-wait", "exitWait"],
        Some('w'),
        Arg::Required,
    ),
    opt(
        Opt::StartTimeout,
        &["start-timeout"],
        Some('s'),
        Arg::Required,
    ),
    opt(
        Opt::ReceiveTimeout,
        &["receive-timeout"],
        None,
        Arg::Required,
    ),
    opt(
        Opt::IgnoreLostData,
        &["ignore-lost-data"],
        Some('Z'),
        Arg::None,
    ),
    opt(Opt::Log, &["log"], Some('l'), Arg::Required),
    opt(Opt::NoProgress, &["no-progress"], None, Arg::None),
    opt(
        Opt::StatPeriod,
        &["stat-period", "statistics-period"],
        Some('z'),
        Arg::Required,
    ),
    opt(
        Opt::PrintUncompressed,
        &["print-uncompressed-position"],
        Some('x'),
        Arg::Required,
    ),
    opt(Opt::StatsJson, &["stats-json"], None, Arg::Required),
    opt(Opt::KeyFile, &["key-file"], None, Arg::Required),
    opt(Opt::ExpectName, &["expect-name"], None, Arg::Required),
    opt(Opt::Sha256, &["sha256"], None, Arg::None),
    opt(Opt::NoVerify, &["no-verify"], None, Arg::None),
    opt(Opt::License, &["license"], Some('L'), Arg::None),
    opt(Opt::Help, &["help"], Some('h'), Arg::None),
    opt(Opt::Version, &["version"], Some('V'), Arg::None),
];

/// What `udp-receiver` was asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReceiverCommand {
    /// Receive.
    Run(Box<ReceiverArgs>),
    /// Print the usage and exit 0.
    Help,
    /// Print the version and exit 0.
    Version,
    /// Print the licence and exit 0.
    License,
}

/// The receiver's settings, as given on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiverArgs {
    /// `--file`: where the image goes; stdout if absent.
    pub file: Option<PathBuf>,
    /// `--pipe`: a shell command the received stream is fed through before it is written.
    pub pipe: Option<String>,
    /// `--portbase`.
    pub portbase: u16,
    /// `--interface` (or `$IFNAME`): name, name prefix or address.
    pub interface: Option<String>,
    /// `--ttl`.
    pub ttl: u8,
    /// `--mcast-rdv-address`.
    pub mcast_rdv: Option<Ipv4Addr>,
    /// `--passive`.
    pub passive: bool,
    /// `--sync`: open the output with O_SYNC (`--nosync` is the default).
    pub sync: bool,
    /// `--rcvbuf`: socket receive buffer in bytes.
    pub rcvbuf: Option<usize>,
    /// `--nokbd`: do not wait for a key press to start.
    pub nokbd: bool,
    /// `--exit-wait` in milliseconds.
    pub exit_wait_ms: u64,
    /// `--start-timeout` in seconds.
    pub start_timeout_s: Option<u64>,
    /// `--receive-timeout` in seconds.
    pub receive_timeout_s: Option<u64>,
    /// `--ignore-lost-data`.
    pub ignore_lost_data: bool,
    /// `--log`: informational messages go to this file.
    pub log: Option<PathBuf>,
    /// `--no-progress`.
    pub no_progress: bool,
    /// `--stat-period` in milliseconds.
    pub stat_period_ms: u64,
    /// `--print-uncompressed-position` (accepted for compatibility; we print the position
    /// of the received stream).
    pub print_uncompressed: Option<bool>,
    /// `--stats-json` (ours): where the end-of-run report goes; `-` is stderr.
    pub stats_json: Option<PathBuf>,
    /// `--expect-name` (ours): refuse a stream announced under another name, or none.
    pub expect_name: Option<String>,
    /// `--sha256` (ours): print the SHA-256 of the stream written.
    pub sha256: bool,
    /// `--no-verify` (ours): do not announce verified transfers; plain udpcast.
    pub no_verify: bool,
    /// `--key-file` (ours): authenticated transfers with the key in this file.
    pub key_file: Option<PathBuf>,
}

impl Default for ReceiverArgs {
    fn default() -> Self {
        ReceiverArgs {
            file: None,
            pipe: None,
            portbase: 9000,
            interface: None,
            ttl: 1,
            mcast_rdv: None,
            passive: false,
            sync: false,
            rcvbuf: None,
            nokbd: false,
            exit_wait_ms: 500,
            start_timeout_s: None,
            receive_timeout_s: None,
            ignore_lost_data: false,
            log: None,
            no_progress: false,
            stat_period_ms: 500,
            print_uncompressed: None,
            stats_json: None,
            expect_name: None,
            sha256: false,
            no_verify: false,
            key_file: None,
        }
    }
}

/// The usage line, in udpcast's words.
pub const USAGE: &str = "udp-receiver [--file file] [--pipe pipe] [--portbase portbase] \
[--interface net-interface] [--log file] [--no-progress] [--ttl time-to-live] \
[--mcast-rdv-address mcast-rdv-address] [--rcvbuf buf] [--nokbd] [--exit-wait milliseconds] \
[--nosync] [--sync] [--start-timeout sto] [--receive-timeout rct] [--passive] \
[--ignore-lost-data] [--stat-period millis] [--print-uncompressed-position flag] \
[--stats-json file] [--expect-name name] [--sha256] [--no-verify] [--key-file file] [--license] [--help] \
[--version]";

/// Every option `udp-receiver` knows, as its manual page and shell completions must list it.
pub fn option_names() -> Vec<Names> {
    names(SPECS)
}

/// Parses the arguments after the program name.
pub fn parse_receiver_args(
    args: impl IntoIterator<Item = String>,
) -> Result<ReceiverCommand, UsageError> {
    let mut a = ReceiverArgs::default();
    for item in parse(SPECS, args)? {
        let (id, value) = match item {
            Item::Positional(file) => {
                a.file = Some(file.into());
                continue;
            }
            Item::Opt(id, value) => (id, value.unwrap_or_default()),
        };
        let name = &display_name(SPECS, id);
        let v = value.as_str();
        match id {
            Opt::File => a.file = Some(value.into()),
            Opt::Pipe => a.pipe = Some(value),
            Opt::Portbase => a.portbase = value::number(name, v)?,
            Opt::Interface => a.interface = Some(value),
            Opt::Ttl => a.ttl = value::number(name, v)?,
            Opt::McastRdv => a.mcast_rdv = Some(value::ipv4(name, v)?),
            Opt::Passive => a.passive = true,
            Opt::Nosync => a.sync = false,
            Opt::Sync => a.sync = true,
            Opt::Rcvbuf => a.rcvbuf = Some(value::size(name, v)?),
            Opt::Nokbd => a.nokbd = true,
            Opt::ExitWait => a.exit_wait_ms = value::number(name, v)?,
            Opt::StartTimeout => a.start_timeout_s = nonzero(value::number(name, v)?),
            Opt::ReceiveTimeout => a.receive_timeout_s = nonzero(value::number(name, v)?),
            Opt::IgnoreLostData => a.ignore_lost_data = true,
            Opt::Log => a.log = Some(value.into()),
            Opt::NoProgress => a.no_progress = true,
            Opt::StatPeriod => a.stat_period_ms = value::number(name, v)?,
            Opt::PrintUncompressed => {
                a.print_uncompressed = Some(value::number::<u8>(name, v)? != 0)
            }
            Opt::StatsJson => a.stats_json = Some(value.into()),
            Opt::KeyFile => a.key_file = Some(value.into()),
            Opt::ExpectName => a.expect_name = Some(value),
            Opt::Sha256 => a.sha256 = true,
            Opt::NoVerify => a.no_verify = true,
            Opt::License => return Ok(ReceiverCommand::License),
            Opt::Help => return Ok(ReceiverCommand::Help),
            Opt::Version => return Ok(ReceiverCommand::Version),
        }
    }
    if a.portbase == 0 || a.portbase == u16::MAX {
        return Err(UsageError::BadValue(
            "--portbase".into(),
            a.portbase.to_string(),
        ));
    }
    if a.ttl == 0 {
        return Err(UsageError::BadValue("--ttl".into(), "0".into()));
    }
    if let Some(name) = &a.expect_name {
        if udpcast_core::extension::StreamName::new(name).is_err() {
            return Err(UsageError::BadValue("--expect-name".into(), name.clone()));
        }
    }
    Ok(ReceiverCommand::Run(Box::new(a)))
}

/// udpcast treats a zero timeout as "no timeout".
fn nonzero(n: u64) -> Option<u64> {
    (n != 0).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> ReceiverArgs {
        match parse_receiver_args(args.iter().map(|s| s.to_string())) {
            Ok(ReceiverCommand::Run(a)) => *a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn clonezilla_style_command_line() {
        // ocs-onthefly / ocs-sr pass abbreviations such as --mcast-all-addr.
        let a = run(&[
            "--mcast-all-addr",
            "239.255.1.1",
            "--portbase",
            "2232",
            "--nokbd",
            "--ttl",
            "1",
            "--start-timeout",
            "300",
            "--file",
            "/dev/sda1",
        ]);
        assert_eq!(a.mcast_rdv, Some(Ipv4Addr::new(239, 255, 1, 1)));
        assert_eq!((a.portbase, a.ttl, a.nokbd), (2232, 1, true));
        assert_eq!(a.start_timeout_s, Some(300));
        assert_eq!(a.file, Some("/dev/sda1".into()));
    }

    #[test]
    fn fog_style_command_line_gives_the_sender_as_rendezvous() {
        let a = run(&[
            "-p",
            "gzip -dc",
            "--portbase",
            "9000",
            "--mcast-rdv-address",
            "10.0.0.5",
            "-k",
        ]);
        assert_eq!(a.mcast_rdv, Some(Ipv4Addr::new(10, 0, 0, 5)));
        assert_eq!(a.pipe.as_deref(), Some("gzip -dc"));
        assert!(a.nokbd);
    }

    #[test]
    fn every_short_letter_and_alias_of_the_manual() {
        let a = run(&[
            "-f",
            "o",
            "-P",
            "9100",
            "-i",
            "eth0",
            "-t",
            "2",
            "-M",
            "224.0.0.1",
            "-d",
            "-y",
            "-b",
            "1m",
            "-k",
            "-w",
            "1000",
            "-s",
            "5",
            "-Z",
            "-l",
            "log",
            "-z",
            "250",
            "-x",
            "1",
            "--exitWait",
            "700",
            "--receive-timeout",
            "3",
            "--no-progress",
            "--port",
            "9200",
        ]);
        assert_eq!(a.portbase, 9200);
        assert_eq!(a.interface.as_deref(), Some("eth0"));
        assert_eq!(a.ttl, 2);
        assert!(a.passive && a.sync && a.nokbd && a.ignore_lost_data && a.no_progress);
        assert_eq!(a.rcvbuf, Some(1 << 20));
        assert_eq!(a.exit_wait_ms, 700);
        assert_eq!((a.start_timeout_s, a.receive_timeout_s), (Some(5), Some(3)));
        assert_eq!(a.stat_period_ms, 250);
        assert_eq!(a.print_uncompressed, Some(true));
    }

    #[test]
    fn bad_values_and_unknown_options_are_usage_errors() {
        for args in [
            &["--portbase", "x"][..],
            &["--ttl", "0"],
            &["--bogus"],
            &["--rcvbuf", "9q"],
        ] {
            assert!(
                parse_receiver_args(args.iter().map(|s| s.to_string())).is_err(),
                "{args:?}"
            );
        }
    }

    #[test]
    fn stats_json_takes_a_file_or_a_dash_for_stderr() {
        assert_eq!(
            run(&["--stats-json", "r.json"]).stats_json,
            Some("r.json".into())
        );
        assert_eq!(run(&["--stats-json=-"]).stats_json, Some("-".into()));
        assert_eq!(
            run(&["--stats", "x"]).stats_json,
            Some("x".into()),
            "a prefix"
        );
        assert_eq!(run(&[]).stats_json, None);
    }

    #[test]
    fn help_and_version() {
        let p = |a: &str| parse_receiver_args([a.to_string()]);
        assert_eq!(p("--help"), Ok(ReceiverCommand::Help));
        assert_eq!(p("--vers"), Ok(ReceiverCommand::Version));
        assert_eq!(p("--license"), Ok(ReceiverCommand::License));
    }
}
