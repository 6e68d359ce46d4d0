//! Finding and joining a sender (PROTOCOL.md §4.2): CONNECT_REQs until a CONNECT_REPLY or
//! HELLO answers, and the session that answer sets up.

use super::{
    trailer_of, Connection, Event, Pending, Phase, Receiver, ReceiverError, Session, SLOTS,
};
use crate::addressing;
use crate::extension::VERIFIED;
use crate::time::Instant;
use crate::wire::{Capabilities, Message, MAX_BLOCKS_PER_SLICE};
use core::net::{Ipv4Addr, SocketAddrV4};

impl Receiver<'_> {
    pub(super) fn discover(
        &mut self,
        now: Instant,
        from: SocketAddrV4,
        message: Message,
        datagram: &[u8],
    ) -> Result<(), ReceiverError> {
        let trailer = match trailer_of(&message, datagram) {
            // With verification off we are udpcast, which never looks past the fixed part.
            _ if !self.config.verify => Ok(None),
            // doc/verified-transfers.md §3: a version we do not speak is plain udpcast.
            Err(crate::extension::TrailerError::UnsupportedVersion(_)) => Ok(None),
            t => t,
        };
        let foreign = matches!(
            trailer_of(&message, datagram),
            Err(crate::extension::TrailerError::UnsupportedVersion(_))
        );
        match message {
            Message::ConnectReply(reply) => {
                let client = reply.client_number.ok_or(ReceiverError::Refused)?;
                let address = if reply.capabilities.contains(Capabilities::NEW_GEN) {
                    reply.data_address
                } else {
                    Ipv4Addr::UNSPECIFIED
                };
                self.connect(
                    now,
                    from,
                    client,
                    reply.block_size,
                    address,
                    self.config.passive,
                )?;
                let trailer = match trailer {
                    Err(e) if reply.capabilities.contains(VERIFIED) => {
                        return Err(ReceiverError::BadTrailer(e))
                    }
                    t => t.ok().flatten(),
                };
                let mut capabilities = reply.capabilities;
                if foreign {
                    capabilities.remove(VERIFIED);
                }
                self.identify(capabilities, trailer, false)
            }
            Message::Hello(hello) => {
                if hello.kind == crate::wire::HelloKind::Streaming {
                    self.streaming_seen = true;
                }
                let address = if hello.capabilities.contains(Capabilities::NEW_GEN) {
                    hello.data_address
                } else {
                    Ipv4Addr::UNSPECIFIED
                };
                let block_size = u32::from(hello.block_size);
                if self.config.passive || hello.capabilities.contains(Capabilities::ASYNC) {
                    // Authenticated, an asynchronous session is joined without any answer
                    // covering our nonce, so it may be a recording of an earlier run: only
                    // a receiver told to be passive takes that on.
                    if self.auth.is_some() && !self.config.passive {
                        return Err(ReceiverError::PassiveRequired);
                    }
                    self.connect(now, from, 0, block_size, address, true)?;
                    let trailer = trailer.map_err(ReceiverError::BadTrailer)?;
                    self.identify(hello.capabilities, trailer, true)?;
                    self.take_hello_trailer(trailer)
                } else {
                    self.hello_from = Some(from);
                    self.send_connect_req(now);
                    Ok(())
                }
            }
            // Authenticated, a REQACK before we joined may be a replay of an earlier run:
            // it is no reason to give up.
            Message::Reqack(_) if self.auth.is_some() => Ok(()),
            // A running transfer answers nobody's request: udpcast calls this a bad reply.
            Message::Reqack(_) => Err(ReceiverError::OtherTransferInProgress(message.opcode())),
            // Other receivers' requests, data of a transfer we are not part of, stray
            // receiver messages: none of our business.
            _ => Ok(()),
        }
    }

    fn connect(
        &mut self,
        now: Instant,
        sender: SocketAddrV4,
        client_number: u16,
        block_size: u32,
        data_address: Ipv4Addr,
        passive: bool,
    ) -> Result<(), ReceiverError> {
        let slot_bytes = self.storage.len() / SLOTS;
        let slot_blocks = match block_size {
            0 | 65_536.. => 0,
            size => (slot_bytes / size as usize).min(MAX_BLOCKS_PER_SLICE),
        };
        if slot_blocks == 0 {
            return Err(ReceiverError::UnsupportedBlockSize(block_size));
        }
        let session = Session {
            sender,
            client_number,
            block_size: block_size as usize,
            slot_blocks,
            streaming: self.streaming_seen,
        };
        self.session = Some(session);
        self.config.passive = passive;
        self.joining = session.streaming;
        self.phase = Phase::Connected;
        self.next_connect_req = None;
        self.last_datagram = now;
        self.last_from_sender = now;
        let mut connection = self.describe(session);
        connection.data_address = data_address;
        connection.join_group = addressing::data_group_to_join(
            data_address,
            self.config.own_address,
            self.config.rendezvous,
        );
        self.event(Event::Connected(connection));
        Ok(())
    }

    pub(super) fn describe(&self, session: Session) -> Connection {
        Connection {
            client_number: session.client_number,
            sender: session.sender,
            data_address: Ipv4Addr::UNSPECIFIED,
            join_group: None,
            block_size: session.block_size as u32,
            passive: self.passive(),
            streaming: session.streaming,
            waits_for_key: self.config.keyboard && !self.passive(),
        }
    }

    pub(super) fn send_connect_req(&mut self, now: Instant) {
        let to = self.hello_from.unwrap_or(SocketAddrV4::new(
            self.config.rendezvous,
            self.config.portbase.wrapping_add(1),
        ));
        self.queue(Pending::ConnectReq(to));
        self.next_connect_req = Some(now + self.config.connect_retry);
    }
}
