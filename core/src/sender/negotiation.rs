//! Negotiation (§3.2, §3.3): receivers are admitted until a start rule, a key or a GO
//! starts the transfer, and the start fixes where and how the data goes.

use super::pacing::Pacing;
use super::participants::Admission;
use super::{
    Control, Event, Phase, PointToPoint, ReceiverStatus, Sender, SenderError,
    NEGOTIATION_HELLO_REPEAT,
};
use crate::extension::VERIFIED;
use crate::time::{Duration, Instant};
use crate::wire::{Capabilities, HelloKind, Message};
use core::net::SocketAddrV4;

/// The quiet period after which the start rules are looked at (§3.2).
const QUIET: Duration = Duration::from_secs(2);

impl Sender<'_> {
    /// An authentic receiver that has not heard us asks to connect: it gets a HELLO, which
    /// names our session, and must ask again under it (so no request recorded in an
    /// earlier run can make us wait for a receiver that is not there).
    pub(super) fn first_contact(&mut self, message: &[u8]) {
        let asks = matches!(Message::parse(message), Ok(Message::ConnectReq(_)));
        let hello_queued = self.controls.iter().any(|c| matches!(c, Control::Hello(_)));
        if asks && self.phase == Phase::Negotiating && !self.config.asynchronous && !hello_queued {
            self.control(Control::Hello(HelloKind::Hello));
        }
    }

    pub(super) fn negotiate(
        &mut self,
        now: Instant,
        from: SocketAddrV4,
        message: Message,
        nonce: u64,
    ) {
        match message {
            Message::ConnectReq(req) => {
                let limit = match self.config.pointopoint {
                    PointToPoint::Always => 1,
                    _ => crate::wire::MAX_CLIENTS,
                };
                let client = match self.participants.admit(from, req.capabilities, now, limit) {
                    Admission::New(client) => {
                        self.first_connected.get_or_insert(now);
                        let capabilities = req.capabilities | Capabilities::BIG_ENDIAN;
                        self.event(Event::Connected {
                            client,
                            address: from,
                            capabilities,
                        });
                        Some(client)
                    }
                    Admission::Known(client) => Some(client),
                    Admission::Refused => None,
                };
                self.control(Control::Reply {
                    to: from,
                    client,
                    verified: req.capabilities.contains(VERIFIED),
                    nonce,
                });
            }
            // GO starts the transfer whoever sends it (udpcast does not check, §3.2).
            Message::Go => self.start(now),
            Message::Disconnect => {
                if let Some(client) = self.participants.find(*from.ip()) {
                    self.remove(client, ReceiverStatus::Disconnected);
                }
            }
            _ => {}
        }
    }

    /// The quiet period after which `handle_timeout` looks at the start rules (§3.2 step 3).
    pub(super) fn quiet_timeout(&self) -> Option<Duration> {
        if let Some(interval) = self.hello_interval {
            return Some(interval);
        }
        let counting = self.config.min_receivers != 0
            || self.config.min_wait.is_some()
            || self.config.max_wait.is_some();
        let waiting_for_more = counting && self.participants.count() >= 1;
        (waiting_for_more || self.config.start_timeout.is_some()).then_some(QUIET)
    }

    pub(super) fn negotiation_timeout(&mut self, now: Instant) {
        if self.next_hello.is_some_and(|at| now >= at) {
            self.control(Control::Hello(HelloKind::Hello));
            self.next_hello = Some(now + NEGOTIATION_HELLO_REPEAT);
        }
        let quiet = self.quiet_timeout().map(|d| self.quiet_since + d);
        if quiet.is_some_and(|q| now >= q) {
            self.quiet_since = now;
            if self.hello_interval.is_some() {
                self.control(Control::Hello(HelloKind::Hello));
                self.hellos += 1;
                if self.config.autostart != 0 && self.hellos > self.config.autostart {
                    self.start(now);
                    return;
                }
            }
            if self.receiver_count_rule(now) {
                self.start(now);
                return;
            }
        }
        if self
            .config
            .start_timeout
            .is_some_and(|t| now >= self.last_datagram + t)
        {
            self.fail(SenderError::StartTimeout);
        }
    }

    /// §3.2: max-wait after the first receiver, else enough receivers (after min-wait).
    fn receiver_count_rule(&self, now: Instant) -> bool {
        let c = &self.config;
        if c.min_receivers == 0 && c.min_wait.is_none() && c.max_wait.is_none() {
            return false;
        }
        let Some(first) = self.first_connected else {
            return false;
        };
        if c.max_wait.is_some_and(|w| now >= first + w) {
            return true;
        }
        u32::from(self.participants.count()) >= c.min_receivers
            && c.min_wait.map_or(true, |w| now >= first + w)
    }

    pub(super) fn start(&mut self, now: Instant) {
        let receivers = self.participants.count();
        if receivers == 0 && !self.config.asynchronous {
            self.fail(SenderError::NoParticipants);
            return;
        }
        let mut common = self.capabilities;
        for (_, p) in self.participants.iter() {
            common &= p.capabilities;
        }
        if !common.contains(Capabilities::BIG_ENDIAN) {
            self.fail(SenderError::IncompatiblePeer);
            return;
        }
        let port = self.config.portbase;
        let single = self
            .participants
            .iter()
            .next()
            .map(|(_, p)| *p.address.ip());
        let data = if self.config.broadcast {
            self.config.rendezvous
        } else {
            match (self.config.pointopoint, single) {
                (PointToPoint::Always, Some(ip)) => ip,
                (PointToPoint::Auto, Some(ip)) if receivers == 1 && !self.config.asynchronous => ip,
                _ => self.config.data_group,
            }
        };
        self.destination = SocketAddrV4::new(data, port);
        self.reqack_trailers = self.verification.is_some()
            && (self.config.asynchronous
                || self
                    .participants
                    .iter()
                    .any(|(_, p)| p.capabilities.contains(VERIFIED)));
        self.phase = Phase::Transferring;
        self.controls.clear();
        self.pacing = Pacing::new(
            self.config.max_bitrate,
            self.config.autorate,
            self.config.asynchronous,
            now,
        );
        self.event(Event::Started {
            capabilities: common,
            destination: self.destination,
            receivers,
        });
    }
}
