//! `udp-receiver`: sockets, keyboard, output and progress around core's `Receiver`.
//! Every protocol decision is core's; this file only carries datagrams, time and bytes.

use crate::cli::receiver_args::{parse_receiver_args, ReceiverArgs, ReceiverCommand, USAGE};
use crate::clock::Clock;
use crate::exit_reason::ExitReason;
use crate::keyboard::{Key, Keyboard};
use crate::log::Log;
use crate::net::interface;
use crate::net::udp::{RecvBatch, Udp};
use crate::outcome::{self, failed, Outcome};
use crate::progress::{receiver_line, Progress};
use crate::signals;
use crate::sink::{Sink, SinkError};
use crate::stats_json::{receiver_report, ReceiverFigures, Span, StatsFile};
use crate::verification::{digest_text, identity_line, StreamSha256};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::RawFd;
use std::process::ExitCode;
use std::time::Duration;
use udpcast_core::addressing;
use udpcast_core::receiver::{Event, Receiver, ReceiverConfig, ReceiverError, FULL_STORAGE};
use udpcast_core::time::Duration as CoreDuration;
use udpcast_core::transmit::MAX_RECEIVER_DATAGRAM;

/// Socket receive buffer asked for by default: a slice of 1024 full blocks, so that a
/// burst survives while the loop is busy elsewhere. The kernel may grant less.
const DEFAULT_RCVBUF: usize = 4 << 20;
/// Datagrams fetched per `recvmmsg`.
const BATCH: usize = 64;
/// Largest datagram accepted: anything a 16-bit block size allows.
const MAX_DATAGRAM: usize = 65_536;

/// Entry point of the `udp-receiver` binary.
pub fn main() -> ExitCode {
    let args = std::env::args().skip(1);
    let args = match parse_receiver_args(args) {
        Ok(ReceiverCommand::Run(args)) => args,
        Ok(ReceiverCommand::Help) => return outcome::print(USAGE),
        Ok(ReceiverCommand::Version) => {
            return outcome::print(&crate::version_line("udp-receiver"))
        }
        Ok(ReceiverCommand::License) => return outcome::print(crate::LICENSE),
        Err(e) => return outcome::usage_error("udp-receiver", &e, USAGE),
    };
    let mut figures = ReceiverFigures::default();
    let outcome = run(&args, &mut figures);
    if let Some(path) = &args.stats_json {
        let report = receiver_report(&outcome, &figures);
        StatsFile::new(path).write("udp-receiver", &report);
    }
    outcome::exit("udp-receiver", outcome)
}

struct Sockets {
    unicast: Udp,
    others: Vec<Udp>,
}

impl Sockets {
    fn all(&self) -> impl Iterator<Item = &Udp> {
        std::iter::once(&self.unicast).chain(self.others.iter())
    }
}

/// One run; what `--stats-json` reports is left in `figures`.
fn run(args: &ReceiverArgs, figures: &mut ReceiverFigures) -> Outcome {
    let log = match Log::open(args.log.as_deref()) {
        Ok(log) => log,
        Err(e) => return failed(ExitReason::LogError, format!("cannot open log: {e}")),
    };
    signals::catch_termination();
    log.info(&crate::version_line("udp-receiver"));

    let requested = args
        .interface
        .clone()
        .or_else(|| std::env::var("IFNAME").ok());
    let chosen = match interface::candidates()
        .map_err(|e| e.to_string())
        .and_then(|c| interface::choose(c, requested.as_deref()).map_err(|e| e.to_string()))
    {
        Ok(chosen) => chosen,
        Err(e) => return failed(ExitReason::InterfaceError, e),
    };
    let rendezvous = addressing::rendezvous(args.ttl, args.mcast_rdv, chosen.broadcast);
    let what = args
        .file
        .as_ref()
        .map_or("(stdout)".to_string(), |f| f.display().to_string());
    let compressed = if args.pipe.is_some() {
        "Compressed "
    } else {
        ""
    };
    log.info(&format!(
        "{compressed}UDP receiver for {what} at {} on {}",
        chosen.address, chosen.name
    ));

    let sockets = match open_sockets(args, &chosen, rendezvous) {
        Ok(s) => s,
        Err(e) => return failed(ExitReason::SocketError, e),
    };
    // CONNECT_REQ reports the buffer the kernel gave before we ask for a larger one (§2.3).
    let reported_rcvbuf = sockets.unicast.receive_buffer().unwrap_or(0);
    let rcvbuf = args.rcvbuf.unwrap_or(DEFAULT_RCVBUF);
    let gro = std::env::var_os("UDPCAST_NO_GRO").is_none();
    for socket in sockets.all() {
        let _ = socket.set_receive_buffer(rcvbuf);
        if gro {
            socket.enable_gro();
        }
    }

    let mut config = ReceiverConfig::new(chosen.address, rendezvous);
    config.portbase = args.portbase;
    config.passive = args.passive;
    config.keyboard = !args.nokbd;
    config.ignore_lost_data = args.ignore_lost_data;
    config.receive_buffer = reported_rcvbuf.min(u32::MAX as usize) as u32;
    config.start_timeout = args.start_timeout_s.map(CoreDuration::from_secs);
    config.receive_timeout = args.receive_timeout_s.map(CoreDuration::from_secs);
    config.exit_wait = CoreDuration::from_millis(args.exit_wait_ms);
    config.verify = !args.no_verify || args.expect_name.is_some();
    if let Some(path) = &args.key_file {
        match crate::key_file::authentication(path) {
            Ok(auth) => config.auth = Some(auth),
            Err(e) => return failed(ExitReason::BadOption, e),
        }
    }

    let clock = Clock::new();
    let mut storage = vec![0u8; FULL_STORAGE];
    let mut receiver = Receiver::new(config, &mut storage, clock.now());
    if let Some(name) = &args.expect_name {
        if let Err(e) = receiver.expect_name(name) {
            return failed(ExitReason::BadOption, format!("--expect-name: {e}"));
        }
    }
    let mut session = Session {
        args,
        log: &log,
        clock,
        chosen: &chosen,
        sockets,
        receiver,
        sink: None,
        open_sink: false,
        waits_for_key: false,
        sink_opened: false,
        sha256: StreamSha256::new(args.sha256),
        keyboard: (!args.nokbd && !args.passive).then(Keyboard::open),
        key_pressed: false,
        started: false,
        progress: Progress::new(
            !args.no_progress,
            Duration::from_millis(args.stat_period_ms),
            "received",
            None,
        ),
        failure: None,
        transmit: [0u8; MAX_RECEIVER_DATAGRAM],
        span: Span::default(),
    };
    let outcome = session.run();
    *figures = ReceiverFigures {
        stats: session.receiver.stats(),
        seconds: session.span.seconds(),
    };
    outcome
}

/// UCAST always; BCAST when the interface has a broadcast address; the rendezvous group
/// when it is multicast (PROTOCOL.md §1.5). Data groups are joined once announced.
fn open_sockets(
    args: &ReceiverArgs,
    chosen: &interface::Chosen,
    rendezvous: Ipv4Addr,
) -> Result<Sockets, String> {
    let port = args.portbase;
    let bind = |a: Ipv4Addr| {
        Udp::bind(SocketAddrV4::new(a, port)).map_err(|e| format!("cannot bind {a}:{port}: {e}"))
    };
    let unicast = bind(chosen.address)?;
    let mut others = Vec::new();
    if rendezvous.is_multicast() {
        let set = unicast
            .set_multicast_interface(rendezvous, chosen.index)
            .and_then(|()| unicast.set_multicast_ttl(args.ttl));
        set.map_err(|e| format!("cannot set up multicast on {}: {e}", chosen.name))?;
    } else if rendezvous == chosen.broadcast {
        unicast
            .set_broadcast()
            .map_err(|e| format!("cannot enable broadcast: {e}"))?;
    }
    if !chosen.broadcast.is_unspecified() && chosen.broadcast != chosen.address {
        others.push(bind(chosen.broadcast)?);
    }
    if rendezvous.is_multicast() {
        let group = bind(rendezvous)?;
        group
            .join_multicast(rendezvous, chosen.index)
            .map_err(|e| format!("cannot join {rendezvous}: {e}"))?;
        others.push(group);
    }
    Ok(Sockets { unicast, others })
}

struct Session<'a, 's> {
    args: &'a ReceiverArgs,
    log: &'a Log,
    clock: Clock,
    chosen: &'a interface::Chosen,
    sockets: Sockets,
    receiver: Receiver<'s>,
    sink: Option<Sink>,
    /// Connected: the output opens once the events of that datagram are all seen, so a
    /// refused stream (`--expect-name`) never touches it.
    open_sink: bool,
    waits_for_key: bool,
    sink_opened: bool,
    sha256: StreamSha256,
    keyboard: Option<Keyboard>,
    key_pressed: bool,
    started: bool,
    progress: Progress,
    failure: Option<Outcome>,
    transmit: [u8; MAX_RECEIVER_DATAGRAM],
    /// From the first data to the last byte handed to the output, for `--stats-json`.
    span: Span,
}

impl Session<'_, '_> {
    fn run(&mut self) -> Outcome {
        let mut batch = RecvBatch::new(BATCH, MAX_DATAGRAM);
        self.service();
        while !self.receiver.is_closed() && self.failure.is_none() {
            if let Some(signal) = signals::caught() {
                self.receiver.abort();
                self.service();
                return Outcome::Signalled(signal);
            }
            let fds: Vec<RawFd> = self.sockets.all().map(Udp::fd).collect();
            let keyboard = self.keyboard.as_ref().and_then(Keyboard::fd);
            let mut pollfds: Vec<libc::pollfd> = fds
                .iter()
                .chain(keyboard.iter())
                .map(|&fd| libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            let wake = self.clock.millis_until(self.receiver.poll_timeout());
            let timeout = wake.map_or(self.args.stat_period_ms as i32, |w| {
                w.min(self.args.stat_period_ms as i32)
            });
            // SAFETY: pollfds is a live array of the length passed.
            let ready =
                unsafe { libc::poll(pollfds.as_mut_ptr(), pollfds.len() as _, timeout.max(0)) };
            if ready < 0 {
                continue; // EINTR: a signal, checked at the top
            }
            for (i, pfd) in pollfds.iter().enumerate().take(fds.len()) {
                if pfd.revents & (libc::POLLIN | libc::POLLERR) == 0 {
                    continue;
                }
                self.drain_socket(i, &mut batch);
            }
            if keyboard.is_some() && pollfds.last().is_some_and(|p| p.revents != 0) {
                self.on_keyboard();
            }
            let now = self.clock.now();
            if self.receiver.poll_timeout().is_some_and(|t| t <= now) {
                self.receiver.handle_timeout(now);
            }
            self.service();
        }
        self.service();
        self.finish()
    }

    /// Reads what a socket holds (bounded, so the other sockets get their turn).
    fn drain_socket(&mut self, index: usize, batch: &mut RecvBatch) {
        for _ in 0..16 {
            let socket = match index {
                0 => &self.sockets.unicast,
                i => &self.sockets.others[i - 1],
            };
            match socket.receive_batch(batch) {
                Ok(0) => return,
                Ok(_) => {
                    let now = self.clock.now();
                    for (from, datagram) in batch.datagrams() {
                        self.receiver.handle_datagram(now, from, datagram);
                    }
                    self.service();
                }
                Err(e) => {
                    let message = format!("receive error: {e}");
                    self.failure = Some(failed(ExitReason::SocketError, message));
                    return;
                }
            }
        }
    }

    fn on_keyboard(&mut self) {
        match self.keyboard.as_mut().and_then(Keyboard::read) {
            Some(Key::Start) => {
                self.key_pressed = true;
                self.receiver.handle_key(self.clock.now());
            }
            Some(Key::Quit) => {
                self.receiver.abort();
                self.failure = Some(failed(ExitReason::Cancelled, "cancelled by the operator"));
            }
            None => {}
        }
    }

    /// Sends what core wants sent, acts on its events, writes out what it completed.
    fn service(&mut self) {
        while let Some(t) = self.receiver.poll_transmit(&mut self.transmit) {
            if let Err(e) = self
                .sockets
                .unicast
                .send_to(&self.transmit[..t.len], t.destination)
            {
                self.log
                    .info(&format!("could not send to {}: {e}", t.destination));
            }
        }
        while let Some(event) = self.receiver.poll_event() {
            self.on_event(event);
        }
        if std::mem::take(&mut self.open_sink) && self.failure.is_none() {
            self.start_output();
        }
        // After a write failure nothing more is written: the first error is the one to tell
        // (later writes would only report the writer's absence as a broken pipe).
        while self.failure.is_none() {
            let bytes = self.receiver.output();
            if bytes.is_empty() {
                break;
            }
            let Some(sink) = self.sink.as_mut() else {
                break;
            };
            if let Err(e) = sink.write(bytes) {
                self.receiver.abort();
                self.failure = Some(sink_failure(e));
                break;
            }
            self.sha256.update(bytes);
            let n = bytes.len();
            self.receiver.consume_output(n);
            // The transfer lasts until its last byte is handed out, not through exit-wait.
            self.span.extend();
        }
        if self.started {
            let bytes = self.receiver.stats().bytes_output;
            self.progress
                .update(bytes, |mbps| receiver_line(bytes, mbps));
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Connected(c) => {
                if c.passive {
                    self.log
                        .info(&format!("Connected passively to {}", c.sender.ip()));
                } else {
                    self.log.info(&format!(
                        "Connected as #{} to {}",
                        c.client_number,
                        c.sender.ip()
                    ));
                }
                if let Some(group) = c.join_group {
                    self.log.info(&format!("Listening to multicast on {group}"));
                    if let Err(e) = self.join_data_group(group) {
                        self.receiver.abort();
                        let message = format!("cannot join {group}: {e}");
                        self.failure = Some(failed(ExitReason::SocketError, message));
                        return;
                    }
                }
                self.open_sink = true;
                self.waits_for_key = c.waits_for_key;
            }
            Event::Identified { .. } => {
                if let Some(identity) = self.receiver.identity() {
                    self.log.info(&identity_line(identity));
                    if let Some(total) = identity.total_size {
                        self.progress.set_total(total);
                    }
                }
            }
            Event::NotVerified(why) => self.log.info(&format!("not verified: {why}")),
            Event::AuthRejected { from, reason } => self
                .log
                .info(&format!("dropped datagrams from {from}: {reason}")),
            Event::SliceFailedCheck { slice } => self.log.info(&format!(
                "slice {slice} failed its checksum: discarded and asked for again"
            )),
            Event::Verified(check) => self.log.info(&format!("verified: {}", digest_text(&check))),
            Event::GoSent => self.log.info("Sending go signal"),
            Event::Started => {
                // The key prompt is over: stop reading the keyboard.
                self.keyboard = None;
                self.started = true;
                self.span.start();
            }
            Event::LostData { slice, blocks } => self.log.info(&format!(
                "Lost {blocks} blocks of slice {slice}: written as zeros (--ignore-lost-data)"
            )),
            Event::Finished => {}
            Event::Failed(ReceiverError::WrongStream) => {
                self.failure = Some(self.wrong_stream());
            }
            Event::Failed(error) => self.failure = Some(receiver_failure(error)),
        }
    }

    /// Opens the output once connected to the stream we want, then prompts for the key.
    fn start_output(&mut self) {
        match Sink::open(
            self.args.file.as_deref(),
            self.args.pipe.as_deref(),
            self.args.sync,
        ) {
            Ok(sink) => {
                self.sink = Some(sink);
                self.sink_opened = true;
            }
            Err(e) => {
                self.receiver.abort();
                self.failure = Some(sink_failure(e));
                return;
            }
        }
        if self.waits_for_key {
            if self.key_pressed {
                self.receiver.handle_key(self.clock.now());
            } else {
                self.log.info("Press any key to start receiving data!");
            }
        }
    }

    fn wrong_stream(&self) -> Outcome {
        let expected = self.args.expect_name.as_deref().unwrap_or_default();
        let what = match self.receiver.identity() {
            Some(identity) => format!(
                "the sender sends \"{}\" (session {:016x})",
                identity.name, identity.session
            ),
            None => "the sender announces no stream name (udpcast, or ours with --no-verify)"
                .to_string(),
        };
        let message = format!(
            "{what}, which is not the stream expected (--expect-name \"{expected}\"): refused, nothing written"
        );
        Outcome::Failed(ExitReason::WrongStream, message, 1)
    }

    fn join_data_group(&mut self, group: Ipv4Addr) -> std::io::Result<()> {
        let socket = Udp::bind(SocketAddrV4::new(group, self.args.portbase))?;
        socket.join_multicast(group, self.chosen.index)?;
        let _ = socket.set_receive_buffer(self.args.rcvbuf.unwrap_or(DEFAULT_RCVBUF));
        if std::env::var_os("UDPCAST_NO_GRO").is_none() {
            socket.enable_gro();
        }
        self.sockets.others.push(socket);
        Ok(())
    }

    fn finish(&mut self) -> Outcome {
        let bytes = self.receiver.stats().bytes_output;
        let sink = self.sink.take().map(Sink::finish);
        if self.started {
            self.progress
                .finish(bytes, |mbps| receiver_line(bytes, mbps));
        }
        let outcome = match (self.failure.take(), sink) {
            (Some(f), _) => f,
            (None, Some(Err(e))) => sink_failure(e),
            (None, _) if self.receiver.is_finished() => Outcome::Success,
            (None, _) => failed(
                ExitReason::Incomplete,
                "stopped before the transfer completed",
            ),
        };
        match &outcome {
            Outcome::Success => {
                let stats = self.receiver.stats();
                if stats.lost_blocks > 0 {
                    self.log.info(&format!(
                        "{} blocks were lost and written as zeros",
                        stats.lost_blocks
                    ));
                }
                if let Some(line) = self.sha256.line() {
                    self.log.info(&line);
                }
                self.log.info("Transfer complete.\x07");
            }
            Outcome::Failed(ExitReason::VerificationFailed, ..) if self.sink_opened => {
                eprintln!(
                    "udp-receiver: the output does NOT match what the sender sent ({bytes} bytes written): do not use it"
                );
            }
            Outcome::Failed(..) | Outcome::Signalled(_)
                if bytes > 0 || (self.args.file.is_some() && self.sink_opened) =>
            {
                eprintln!(
                    "udp-receiver: the output is INCOMPLETE ({bytes} bytes written): do not use it"
                );
            }
            _ => {}
        }
        outcome
    }
}

fn receiver_failure(error: ReceiverError) -> Outcome {
    // udpcast exits 255 when no sender answers before the start timeout (PROTOCOL.md §4.13).
    let code = if error == ReceiverError::NoSender {
        255
    } else {
        1
    };
    Outcome::Failed(ExitReason::from(&error), error.to_string(), code)
}

fn sink_failure(error: SinkError) -> Outcome {
    let code = match error {
        SinkError::PipeFailed(code) => code.clamp(1, 255) as u8,
        _ => 1,
    };
    Outcome::Failed(ExitReason::from(&error), error.to_string(), code)
}
