//! `udp-sender`: sockets, input, keyboard and progress around core's `Sender`.
//! Every protocol decision is core's; this file only carries datagrams, time and bytes.

use crate::cli::sender_args::{parse_sender_args, SenderArgs, SenderCommand, USAGE};
use crate::clock::Clock;
use crate::daemon;
use crate::exit_reason::ExitReason;
use crate::keyboard::{Key, Keyboard};
use crate::log::Log;
use crate::net::interface;
use crate::net::udp::{RecvBatch, Udp};
use crate::outcome::{self, failed, Outcome};
use crate::progress::{grouped, Progress};
use crate::sender_config;
use crate::signals;
use crate::source::{Source, SourceError};
use crate::stats_json::{sender_report, SenderFigures, Span, StatsFile};
use crate::verification::{digest_text, identity_line, new_session_id, StreamSha256};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::RawFd;
use std::process::ExitCode;
use std::time::Duration as StdDuration;
use udpcast_core::extension::{Identity, StreamName};
use udpcast_core::sender::{Event, LeaveReason, Sender, SenderConfig, SenderError};

/// Datagrams polled from core per round of the send loop.
const SEND_BATCH: usize = 64;
/// The most bytes one GSO `sendmsg` may carry (one IP datagram's worth).
const GSO_MAX_BYTES: usize = 65_000;

/// Entry point of the `udp-sender` binary.
pub fn main() -> ExitCode {
    let args = match parse_sender_args(std::env::args().skip(1)) {
        Ok(SenderCommand::Run(args)) => args,
        Ok(SenderCommand::Help) => return outcome::print(USAGE),
        Ok(SenderCommand::Version) => return outcome::print(&crate::version_line("udp-sender")),
        Ok(SenderCommand::License) => return outcome::print(crate::LICENSE),
        Ok(SenderCommand::Kill(pid_file)) => return daemon::kill(pid_file.as_deref()),
        Err(e) => return outcome::usage_error("udp-sender", &e, USAGE),
    };
    let mut stats = args.stats_json.as_deref().map(StatsFile::new);
    let outcome = if args.daemon_mode > 0 {
        serve_forever(&args, &mut stats)
    } else {
        run_reported(&args, &mut stats)
    };
    outcome::exit("udp-sender", outcome)
}

/// `--daemon-mode`: one transfer after the other until killed, each reported.
fn serve_forever(args: &SenderArgs, stats: &mut Option<StatsFile>) -> Outcome {
    if let Err(failure) = daemon::detach(args) {
        report(stats, &failure, &SenderFigures::default());
        return failure;
    }
    loop {
        match run_reported(args, stats) {
            Outcome::Success => continue,
            other => return other,
        }
    }
}

/// One transfer, then its `--stats-json` report.
fn run_reported(args: &SenderArgs, stats: &mut Option<StatsFile>) -> Outcome {
    let mut figures = SenderFigures::default();
    let outcome = run(args, &mut figures);
    report(stats, &outcome, &figures);
    outcome
}

fn report(stats: &mut Option<StatsFile>, outcome: &Outcome, figures: &SenderFigures) {
    if let Some(file) = stats.as_mut() {
        file.write("udp-sender", &sender_report(outcome, figures));
    }
}

/// One transfer; what `--stats-json` reports is left in `figures`.
fn run(args: &SenderArgs, figures: &mut SenderFigures) -> Outcome {
    let log = match Log::open(args.log.as_deref()) {
        Ok(l) => l,
        Err(e) => return failed(ExitReason::LogError, format!("cannot open log: {e}")),
    };
    signals::catch_termination();
    log.info(&crate::version_line("udp-sender"));
    if args.rate_governor.is_some() {
        return failed(
            ExitReason::BadOption,
            "--rate-governor plug-ins are not supported; use --max-bitrate",
        );
    }
    if args.pointopoint && args.nopointopoint {
        return failed(
            ExitReason::BadOption,
            "--pointopoint and --nopointopoint contradict each other",
        );
    }
    if args.asynchronous && args.pointopoint && args.mcast_data.is_none() {
        return Outcome::Failed(
            ExitReason::BadOption,
            "Pointopoint supplied together with async, but no dataMcastAddress (-m)".into(),
            255,
        );
    }
    let requested = args
        .interface
        .clone()
        .or_else(|| std::env::var("IFNAME").ok());
    let chosen = match interface::candidates()
        .map_err(|e| e.to_string())
        .and_then(|c| interface::choose(c, requested.as_deref()).map_err(|e| e.to_string()))
    {
        Ok(c) => c,
        Err(e) => return failed(ExitReason::InterfaceError, e),
    };
    let mut config = match sender_config::from_args(args, &chosen, &log) {
        Ok(c) => c,
        Err(e) => return failed(ExitReason::BadOption, e),
    };
    if let Some(path) = &args.key_file {
        match crate::key_file::authentication(path) {
            Ok(auth) => config.auth = Some(auth),
            Err(e) => return failed(ExitReason::BadOption, e),
        }
    }
    if args.encrypt && config.auth.is_none() {
        return failed(
            ExitReason::BadOption,
            "--encrypt needs --key-file: the blocks are enciphered with the room's key",
        );
    }
    config.encrypt = args.encrypt;
    let sockets = match open_sockets(args, &chosen, &config) {
        Ok(s) => s,
        Err(e) => return failed(ExitReason::SocketError, e),
    };
    let what = args
        .file
        .as_ref()
        .map_or("(stdin)".to_string(), |f| f.display().to_string());
    let compressed = if args.pipe.is_some() {
        "Compressed "
    } else {
        ""
    };
    log.info(&format!(
        "{compressed}UDP sender for {what} at {} on {} ",
        chosen.address, chosen.name
    ));
    log.info(&format!("Broadcasting control to {}", config.rendezvous));

    let clock = Clock::new();
    let mut storage = vec![0u8; Sender::storage_size(&config)];
    let mut sender = match Sender::new(config, &mut storage, clock.now()) {
        Ok(s) => s,
        Err(e) => return sender_failure(e),
    };
    if !args.no_verify {
        let mut identity = stream_identity(args);
        // One session id for both extensions, so that receivers see one run.
        if let Some(auth) = config.auth {
            identity.session = auth.nonce;
        }
        log.info(&identity_line(&identity));
        sender.set_identity(identity);
    }
    let keyboard = (!args.nokbd)
        .then(|| Keyboard::open_for_sender(args.file.is_some()))
        .flatten();
    let mut session = Session {
        args,
        log: &log,
        clock,
        sockets,
        sender,
        source: None,
        sha256: StreamSha256::new(args.sha256),
        keyboard,
        failure: None,
        progress: Progress::new(
            !args.no_progress,
            StdDuration::from_millis(args.stat_period_ms.unwrap_or(500).max(10)),
            "sent",
            input_size(args),
        ),
        period: StdDuration::from_millis(args.stat_period_ms.unwrap_or(500).max(10)),
        prompted: false,
        gso: std::env::var_os("UDPCAST_NO_GSO").is_none(),
        span: Span::default(),
    };
    let outcome = session.run();
    *figures = SenderFigures {
        stats: session.sender.stats(),
        receivers: session.sender.receiver_records().collect(),
        seconds: session.span.seconds(),
    };
    outcome
}

struct Sockets {
    main: Udp,
    others: Vec<Udp>,
}

/// S0 on the own address sends everything; S1 (broadcast) and S2 (multicast rendezvous)
/// hear connection requests (PROTOCOL.md §1.5).
fn open_sockets(
    args: &SenderArgs,
    chosen: &interface::Chosen,
    c: &SenderConfig,
) -> Result<Sockets, String> {
    let port = c.portbase + 1;
    let bind = |a: Ipv4Addr| {
        Udp::bind(SocketAddrV4::new(a, port)).map_err(|e| format!("cannot bind {a}:{port}: {e}"))
    };
    let main = bind(chosen.address)?;
    if c.rendezvous.is_multicast() {
        main.set_multicast_ttl(args.ttl.unwrap_or(1))
            .map_err(|e| e.to_string())?;
    } else {
        main.set_broadcast()
            .map_err(|e| format!("cannot enable broadcast: {e}"))?;
    }
    let group = if c.rendezvous.is_multicast() {
        c.rendezvous
    } else {
        c.data_group
    };
    main.set_multicast_interface(group, chosen.index)
        .map_err(|e| format!("cannot set multicast interface: {e}"))?;
    if let Some(bytes) = args.sendbuf {
        main.set_send_buffer(bytes).map_err(|e| e.to_string())?;
    }
    let mut others = Vec::new();
    if !chosen.broadcast.is_unspecified() && chosen.broadcast != chosen.address {
        others.push(bind(chosen.broadcast)?);
    }
    if c.rendezvous.is_multicast() {
        let s = bind(c.rendezvous)?;
        s.join_multicast(c.rendezvous, chosen.index)
            .map_err(|e| format!("cannot join {}: {e}", c.rendezvous))?;
        others.push(s);
    }
    Ok(Sockets { main, others })
}

struct Session<'a, 's> {
    args: &'a SenderArgs,
    log: &'a Log,
    clock: Clock,
    sockets: Sockets,
    sender: Sender<'s>,
    source: Option<Source>,
    sha256: StreamSha256,
    keyboard: Option<Keyboard>,
    failure: Option<Outcome>,
    progress: Progress,
    period: StdDuration,
    prompted: bool,
    /// Whether UDP GSO is used (until the kernel refuses it; `UDPCAST_NO_GSO` disables it).
    gso: bool,
    /// From the start to the end of the transfer, for `--stats-json`.
    span: Span,
}

impl Session<'_, '_> {
    fn run(&mut self) -> Outcome {
        let mut batch = RecvBatch::new(64, 2048);
        // Datagrams are polled into one area at a fixed stride (the largest datagram), so
        // that a run of full-size ones is contiguous and can go out as one GSO send.
        let stride = self.sender.max_datagram_len();
        let mut area = vec![0u8; SEND_BATCH * stride];
        loop {
            if let Some(signal) = signals::caught() {
                return Outcome::Signalled(signal);
            }
            self.feed_input();
            let sent = self.send(&mut area, stride);
            self.events();
            if self.failure.is_some() || self.sender.is_closed() {
                break;
            }
            self.progress(false);
            // Poll: immediately if we could send more, else until the next deadline.
            let busy = sent == SEND_BATCH;
            // In microseconds: pacing at a gigabit waits fractions of a millisecond, and
            // rounding those up to whole ones would send in coarse bursts.
            let period = self.period.as_micros() as u64;
            let timeout_us = if busy {
                0
            } else {
                let now = self.clock.now();
                self.sender
                    .poll_timeout(now)
                    .map_or(period, |t| t.0.saturating_sub(now.0).min(period))
            };
            let mut fds: Vec<RawFd> = std::iter::once(&self.sockets.main)
                .chain(&self.sockets.others)
                .map(Udp::fd)
                .collect();
            let sockets = fds.len();
            let source_fd = self.source.as_ref().map(Source::fd);
            fds.extend(source_fd);
            let keyboard_fd = self.keyboard.as_ref().and_then(Keyboard::fd);
            fds.extend(keyboard_fd);
            let mut pollfds: Vec<libc::pollfd> = fds
                .iter()
                .map(|&fd| libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            let timeout = libc::timespec {
                tv_sec: (timeout_us / 1_000_000) as libc::time_t,
                tv_nsec: ((timeout_us % 1_000_000) * 1000) as libc::c_long,
            };
            // SAFETY: pollfds is a live array of the length passed; the timeout outlives
            // the call and a null signal mask leaves the mask as it is.
            let ready = unsafe {
                libc::ppoll(
                    pollfds.as_mut_ptr(),
                    pollfds.len() as _,
                    &timeout,
                    std::ptr::null(),
                )
            };
            if ready < 0 {
                continue;
            }
            let readable: Vec<usize> = (0..sockets).filter(|&i| pollfds[i].revents != 0).collect();
            for i in readable {
                self.receive(i, &mut batch);
            }
            if keyboard_fd.is_some() && pollfds.last().is_some_and(|p| p.revents != 0) {
                match self.keyboard.as_mut().and_then(Keyboard::read) {
                    Some(Key::Start) => self.sender.handle_key(self.clock.now()),
                    Some(Key::Quit) => {
                        self.failure =
                            Some(failed(ExitReason::Cancelled, "cancelled by the operator"))
                    }
                    None => {}
                }
            }
            let now = self.clock.now();
            if self.sender.poll_timeout(now).is_some_and(|t| t <= now) {
                self.sender.handle_timeout(now);
            }
        }
        self.finish()
    }

    fn receive(&mut self, index: usize, batch: &mut RecvBatch) {
        let socket = if index == 0 {
            &self.sockets.main
        } else {
            &self.sockets.others[index - 1]
        };
        for _ in 0..16 {
            match socket.receive_batch(batch) {
                Ok(0) => return,
                Ok(_) => {
                    let now = self.clock.now();
                    for (from, datagram) in batch.datagrams() {
                        self.sender.handle_datagram(now, from, datagram);
                    }
                }
                Err(e) => {
                    let message = format!("receive error: {e}");
                    self.failure = Some(failed(ExitReason::SocketError, message));
                    return;
                }
            }
        }
    }

    fn feed_input(&mut self) {
        let Some(source) = self.source.as_mut() else {
            return;
        };
        loop {
            let room = self.sender.input_buffer();
            if room.is_empty() {
                return;
            }
            match source.fill(room) {
                Ok((n, ended)) => {
                    self.sha256.update(&room[..n]);
                    self.sender.input_written(n);
                    if ended {
                        self.sender.input_end();
                        return;
                    }
                    if n == 0 {
                        return;
                    }
                }
                Err(e) => {
                    self.failure = Some(source_failure(e));
                    return;
                }
            }
        }
    }

    /// Sends up to one batch; returns how many datagrams went out.
    fn send(&mut self, area: &mut [u8], stride: usize) -> usize {
        let now = self.clock.now();
        let mut polled: Vec<(usize, SocketAddrV4)> = Vec::with_capacity(SEND_BATCH);
        for region in area.chunks_mut(stride).take(SEND_BATCH) {
            match self.sender.poll_transmit(now, region) {
                Some(t) => polled.push((t.len, t.destination)),
                None => break,
            }
        }
        let mut i = 0;
        while i < polled.len() {
            let (_, to) = polled[i];
            // A run: full-size datagrams to one destination, the last possibly shorter.
            let mut j = i + 1;
            while self.gso
                && j < polled.len()
                && polled[j].1 == to
                && polled[j - 1].0 == stride
                && (j + 1 - i) * stride <= GSO_MAX_BYTES
            {
                j += 1;
            }
            if j - i >= 2 {
                let bytes = &area[i * stride..(j - 1) * stride + polled[j - 1].0];
                match self.sockets.main.send_segments(bytes, stride as u16, to) {
                    Ok(()) => {
                        i = j;
                        continue;
                    }
                    Err(e)
                        if matches!(
                            e.raw_os_error(),
                            Some(libc::EIO | libc::EINVAL | libc::ENOPROTOOPT | libc::EOPNOTSUPP)
                        ) =>
                    {
                        // This kernel or interface cannot segment: send one by one from now on.
                        self.gso = false;
                    }
                    Err(e) => {
                        let message = format!("Could not broadcast data packet to {to}: {e}");
                        self.failure = Some(failed(ExitReason::SendError, message));
                        return i;
                    }
                }
            }
            let datagrams: Vec<(&[u8], SocketAddrV4)> = (i..j)
                .map(|k| (&area[k * stride..k * stride + polled[k].0], polled[k].1))
                .collect();
            let mut done = 0;
            while done < datagrams.len() {
                match self.sockets.main.send_batch(&datagrams[done..]) {
                    Ok(n) => done += n.max(1),
                    Err(e) => {
                        // udpcast treats a failed send as fatal: data would silently be missing.
                        let to = datagrams[done].1;
                        let message = format!("Could not broadcast data packet to {to}: {e}");
                        self.failure = Some(failed(ExitReason::SendError, message));
                        return i + done;
                    }
                }
            }
            i = j;
        }
        polled.len()
    }

    fn events(&mut self) {
        while let Some(event) = self.sender.poll_event() {
            match event {
                Event::Connected {
                    client,
                    address,
                    capabilities,
                } => {
                    self.log.info(&format!(
                        "New connection from {}  (#{client}) {:08x}",
                        address.ip(),
                        capabilities.bits()
                    ));
                    self.prompt();
                }
                Event::Left {
                    client,
                    address,
                    reason,
                } => {
                    if reason == LeaveReason::Dropped {
                        self.log
                            .info(&format!("Dropping client #{client} because of timeout"));
                    }
                    self.log
                        .info(&format!("Disconnecting #{client} ({address})"));
                }
                Event::Started { capabilities, .. } => {
                    self.log
                        .info(&format!("Starting transfer: {:08x}", capabilities.bits()));
                    self.keyboard = None;
                    self.span.start();
                    match Source::open(self.args.file.as_deref(), self.args.pipe.as_deref()) {
                        Ok(s) => self.source = Some(s),
                        Err(e) => self.failure = Some(source_failure(e)),
                    }
                }
                Event::SliceSize(n) => self.log.info(&format!("Slice size={n}")),
                Event::Finished => self.span.end(),
                Event::Failed(e) => self.failure = Some(sender_failure(e)),
                Event::AuthRejected { from, reason } => self
                    .log
                    .info(&format!("refused datagrams from {from}: {reason}")),
            }
        }
        if self.args.asynchronous {
            self.prompt();
        }
    }

    fn prompt(&mut self) {
        if self.keyboard.is_some() && !self.prompted {
            self.prompted = true;
            self.log.info("Ready. Press any key to start sending data.");
        }
    }

    fn progress(&mut self, last: bool) {
        if !self.sender.is_transferring() && !last {
            return;
        }
        let s = self.sender.stats();
        let share = if s.blocks_sent == 0 {
            0.0
        } else {
            s.blocks_resent as f64 * 100.0 / s.blocks_sent as f64
        };
        let client = s.last_answer_from.map_or(String::new(), |c| c.to_string());
        // udpcast's sender line, which Clonezilla and FOG read.
        let line = |_mbps: f64| {
            format!(
                "bytes={:>12}  re-xmits={:07} ({share:5.1}%) slice={:04} - {client:>3}",
                grouped(s.bytes_sent),
                s.blocks_resent,
                s.slice_size
            )
        };
        if last {
            self.progress.finish(s.bytes_sent, line);
        } else {
            self.progress.update(s.bytes_sent, line);
        }
    }

    fn finish(&mut self) -> Outcome {
        let source = self.source.take().map(Source::finish);
        if self.sender.is_transferring() || self.sender.is_finished() {
            self.progress(true);
        }
        let outcome = match (self.failure.take(), source) {
            (Some(f), _) => f,
            (None, Some(Err(e))) => source_failure(e),
            (None, _) if self.sender.is_finished() => Outcome::Success,
            (None, _) => failed(
                ExitReason::Incomplete,
                "stopped before the transfer completed",
            ),
        };
        if let Some(check) = self.sender.stream_check() {
            if !self.sender.verifies() {
                self.log
                    .info("not verified: no receiver supports verification");
            }
            self.log
                .info(&format!("stream digest: {}", digest_text(&check)));
        }
        if self.sender.autorate().is_some() {
            let rate = self.sender.stats().pacing_rate;
            self.log
                .info(&format!("autorate: ended at {:.1} Mb/s", rate as f64 / 1e6));
        }
        if let Outcome::Success = outcome {
            if let Some(line) = self.sha256.line() {
                self.log.info(&line);
            }
            self.log.info("Transfer complete.\x07");
        }
        outcome
    }
}

/// The stream's identity: a fresh session id, `--name` or the input's base name (`stdin`
/// for standard input), and the size of a file read directly.
fn stream_identity(args: &SenderArgs) -> Identity {
    let name = match (&args.name, &args.file) {
        (Some(name), _) => StreamName::lossy(name),
        (None, Some(file)) => StreamName::lossy(
            &file
                .file_name()
                .map_or_else(|| file.to_string_lossy(), |n| n.to_string_lossy()),
        ),
        (None, None) => StreamName::lossy("stdin"),
    };
    Identity {
        session: new_session_id(),
        name,
        total_size: input_size(args),
    }
}

/// The input's size when it is a regular file read directly (for the ETA).
fn input_size(args: &SenderArgs) -> Option<u64> {
    if args.pipe.is_some() {
        return None;
    }
    let meta = std::fs::metadata(args.file.as_ref()?).ok()?;
    // /proc and /sys files say 0 and stream more: 0 means "unknown", not "empty".
    (meta.is_file() && meta.len() > 0).then_some(meta.len())
}

fn sender_failure(error: SenderError) -> Outcome {
    Outcome::Failed(ExitReason::from(&error), error.to_string(), 1)
}

fn source_failure(error: SourceError) -> Outcome {
    Outcome::Failed(ExitReason::from(&error), error.to_string(), 1)
}
