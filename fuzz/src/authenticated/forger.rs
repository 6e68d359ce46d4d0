//! The forger of `authenticated`'s sessions: what the input asks it to do, and the
//! datagrams it makes from the genuine ones it overheard.

use super::{harness_key, is_hello, opcode, other_key, Harness, Sent};
use crate::input::Input;
use udpcast_core::auth::{SessionKeys, MAGIC, RECEIVER_TRAILER_LEN, SENDER_TRAILER_LEN, TAG_LEN};
use udpcast_core::wire::Opcode;

const MAX_ACTIONS: usize = 64;

/// Where a forged datagram's message comes from.
#[derive(Clone, Debug)]
pub(super) enum Source {
    Bytes(Vec<u8>),
    /// The message of the genuine datagram this many before the last of its kind.
    Genuine(usize),
}

/// How the forger makes a datagram; "back" counts genuine datagrams of a direction back
/// from the latest.
#[derive(Clone, Debug)]
pub(super) enum Made {
    Raw {
        bytes: Vec<u8>,
        trailer: Option<(u64, Vec<u8>)>,
    },
    Mutated {
        back: usize,
        at: usize,
        xor: Vec<u8>,
        resize: u8,
    },
    Replayed(usize),
    /// A genuine datagram of the other direction.
    Reflected(usize),
    Sealed {
        with_other_key: bool,
        message: Source,
        session: u64,
        counter: u64,
    },
}

#[derive(Clone, Debug)]
pub(super) enum Action {
    /// The genuine datagram of this number is lost.
    Drop,
    /// Delivered right after it, from the address of the peer it claims to come from.
    Inject { to_receiver: bool, made: Made },
}

/// The forger's plan: each action with the number of the genuine datagram (both
/// directions counted from 0) it follows.
pub(super) fn read_actions(input: &mut Input) -> Vec<(usize, Action)> {
    let mut actions = Vec::new();
    while !input.is_empty() && actions.len() < MAX_ACTIONS {
        let after = usize::from(input.u16() % 256);
        let kind = input.u8() % 13;
        if kind == 0 {
            actions.push((after, Action::Drop));
            continue;
        }
        let made = match (kind - 1) % 6 {
            0 => Made::Raw {
                bytes: input.short_bytes().to_vec(),
                trailer: input
                    .bool()
                    .then(|| (input.u64(), input.bytes(TAG_LEN).to_vec())),
            },
            1 => Made::Mutated {
                back: usize::from(input.u8()),
                at: usize::from(input.u16()),
                xor: {
                    let n = 1 + input.below(4);
                    input.bytes(n).to_vec()
                },
                resize: input.u8(),
            },
            2 => Made::Replayed(usize::from(input.u8())),
            3 => Made::Reflected(usize::from(input.u8())),
            k => Made::Sealed {
                with_other_key: k == 4,
                message: match input.u8() {
                    b if b & 1 == 1 => Source::Genuine(usize::from(b >> 1)),
                    _ => Source::Bytes(input.short_bytes().to_vec()),
                },
                session: input.u64(),
                counter: input.u64(),
            },
        };
        let to_receiver = kind <= 6;
        actions.push((after, Action::Inject { to_receiver, made }));
    }
    actions
}

impl Harness<'_> {
    pub(super) fn make(&mut self, to_receiver: bool, made: &Made) -> Option<Vec<u8>> {
        let pick = |list: &[Sent], back: usize| {
            let n = list.len().checked_sub(1 + back % list.len().max(1))?;
            Some(list[n].bytes.clone())
        };
        let (own, other) = if to_receiver {
            (&self.from_sender, &self.from_receiver)
        } else {
            (&self.from_receiver, &self.from_sender)
        };
        match made {
            Made::Raw { bytes, trailer } => {
                let mut d = bytes.clone();
                if let Some((counter, tag)) = trailer {
                    d.extend_from_slice(&MAGIC);
                    d.extend_from_slice(&self.p.session.to_be_bytes());
                    if !to_receiver {
                        d.extend_from_slice(&self.p.nonce.to_be_bytes());
                    }
                    d.extend_from_slice(&counter.to_be_bytes());
                    d.extend_from_slice(tag);
                }
                Some(d)
            }
            Made::Mutated {
                back,
                at,
                xor,
                resize,
            } => {
                let mut d = pick(own, *back)?;
                let at = at % d.len().max(1);
                for (b, x) in d[at..].iter_mut().zip(xor) {
                    *b ^= x;
                }
                match *resize {
                    0 => {}
                    r @ 1..=127 => d.truncate(d.len().saturating_sub(usize::from(r))),
                    r => d.resize(d.len() + usize::from(r - 127), r),
                }
                Some(d)
            }
            Made::Replayed(back) => pick(own, *back),
            Made::Reflected(back) => pick(other, *back),
            Made::Sealed {
                with_other_key,
                message,
                session,
                counter,
            } => {
                let trailer = if to_receiver {
                    SENDER_TRAILER_LEN
                } else {
                    RECEIVER_TRAILER_LEN
                };
                let mut d = match message {
                    Source::Bytes(b) => b.clone(),
                    Source::Genuine(back) => {
                        let g = pick(own, *back)?;
                        g[..g.len() - trailer].to_vec()
                    }
                };
                let key = if *with_other_key {
                    other_key()
                } else {
                    harness_key()
                };
                let mut session = *session;
                if !with_other_key && (session == self.p.session || (to_receiver && session == 0)) {
                    // Sealing our session with our key is the sender's or receiver's
                    // privilege (and session 0 from a sender nobody's): never a forger's.
                    session = self.p.session ^ 2;
                }
                let earlier_hello = !with_other_key && to_receiver && is_hello(&d);
                if earlier_hello && self.rx.connection().is_none() {
                    // A receiver that never speaks cannot bind the session it joins to
                    // this run: an earlier async run's HELLO makes a passive one join it.
                    // (A receiver that is not passive refuses an async one: it fails.)
                    if self.p.mode >= 3 {
                        return None;
                    }
                }
                let counter = *counter;
                let keys = SessionKeys::derive(&key, session);
                let len = d.len();
                d.resize(len + trailer, 0);
                let sealed = if to_receiver {
                    // An earlier run's reply answered an earlier receiver's nonce.
                    let reply_to = (opcode(&d) == Some(Opcode::ConnectReply))
                        .then_some(self.p.nonce ^ u64::from(!with_other_key));
                    keys.seal_from_sender(counter, reply_to, &mut d, len)
                } else {
                    keys.seal_from_receiver(self.p.nonce, counter, &mut d, len)
                };
                assert_eq!(sealed, Some(d.len()));
                if !with_other_key {
                    if to_receiver {
                        self.earlier_run.insert(d.clone(), session);
                    } else if session == 0 {
                        self.first_contact.insert(d.clone());
                    }
                }
                Some(d)
            }
        }
    }
}
