//! The host machine's message handling and membership changes.

use std::net::SocketAddr;
use std::time::Instant;

use nearplay_netcode::MAX_SPECTATORS;

use super::{
    ConnId, ConnState, HostEvent, HostMachine, HostTransmit, LeaveReason, Member, Phase, clean_name,
};
use crate::lobby::codec::{CodecError, Frame, FrameDecoder, encode, encode_with_version};
use crate::lobby::message::{
    ClientMsg, Hello, HostMsg, MAX_CHAT_CHARS, MemberId, RejectReason, sanitize,
};
use crate::lobby::secure::limits::TokenBucket;

impl HostMachine {
    pub(super) fn handle_frame(&mut self, now: Instant, conn: ConnId, frame: &Frame) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        // Before the key exchange, frames are clear; after it, sealed.
        let sealed = c.channel.is_some();
        let decoded: Result<ClientMsg, CodecError> = match c.channel.as_mut() {
            Some(channel) => channel.open(frame),
            None => frame.decode(),
        };
        let msg = match decoded {
            Ok(m) => m,
            Err(CodecError::Version { ours, .. }) if !sealed => {
                return self.refuse_version(now, conn, ours);
            }
            Err(e) => return self.protocol_error(now, conn, &e),
        };
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        match (&c.state, msg) {
            (ConnState::AwaitOffer { .. }, ClientMsg::Offer(offer)) => {
                self.handle_offer(now, conn, &offer);
            }
            (ConnState::AwaitOffer { .. } | ConnState::AwaitHello { .. }, ClientMsg::KeepAlive) => {
            }
            (ConnState::AwaitOffer { .. }, _) => {
                self.protocol_error(now, conn, &"message before the key exchange");
            }
            (ConnState::AwaitHello { .. }, ClientMsg::Hello(hello)) => {
                self.settle_guess(now, conn, true);
                self.handle_hello(now, conn, hello);
            }
            (ConnState::AwaitHello { .. }, _) => {
                self.protocol_error(now, conn, &"message before hello");
            }
            (ConnState::Member(id), msg) => {
                let id = *id;
                self.handle_member_msg(now, conn, id, msg);
            }
            (ConnState::Closing, _) => {}
        }
    }

    /// A peer on another protocol version: told in our version's frame
    /// header, which every version reads before anything else.
    fn refuse_version(&mut self, now: Instant, conn: ConnId, ours: u16) {
        let reject = HostMsg::Reject(RejectReason::Protocol { host: ours });
        if let Ok(bytes) = encode_with_version(&reject, ours) {
            self.push_send(now, conn, bytes);
        }
        let peer = self.conns.get(&conn).map(|c| c.peer);
        self.close_conn(now, conn);
        if let Some(peer) = peer {
            self.push_event(HostEvent::Rejected {
                peer,
                reason: RejectReason::Protocol { host: ours },
            });
        }
    }

    pub(super) fn handle_hello(&mut self, now: Instant, conn: ConnId, hello: Hello) {
        let reason = if hello.game != self.config.game {
            Some(RejectReason::WrongGame {
                host: self.config.game.clone(),
            })
        } else if hello.game_version != self.config.game_version {
            Some(RejectReason::GameVersion {
                host: self.config.game_version.clone(),
            })
        } else if self.phase == Phase::InMatch {
            return self.hello_in_match(now, conn, hello);
        } else if hello.rejoin.is_some() {
            // No match runs: there is no seat to take back.
            Some(RejectReason::BadRejoin)
        } else if !hello.spectator && self.players() >= usize::from(self.config.max_players) {
            Some(RejectReason::Full {
                max: self.config.max_players,
            })
        } else if hello.spectator && self.members.len() - self.players() >= MAX_SPECTATORS {
            Some(RejectReason::Full {
                max: MAX_SPECTATORS as u16,
            })
        } else if clean_name(&hello.name).is_empty() {
            Some(RejectReason::InvalidName)
        } else {
            None
        };
        if let Some(reason) = reason {
            return self.reject(now, conn, reason);
        }
        self.admit_member(now, conn, &hello);
    }

    /// Makes the joiner on `conn` a member (its hello passed admission):
    /// welcome, event, roster. Returns its id.
    pub(super) fn admit_member(
        &mut self,
        now: Instant,
        conn: ConnId,
        hello: &Hello,
    ) -> Option<MemberId> {
        let c = self.conns.get_mut(&conn)?;
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        c.state = ConnState::Member(id);
        let game_addr = SocketAddr::new(c.peer.ip(), hello.game_port);
        let fingerprint = c.channel.as_ref().map(|ch| ch.fingerprint());
        let name = self.unique_name(&clean_name(&hello.name));
        self.members.push(Member {
            id,
            name: name.clone(),
            ready: false,
            conn: Some(conn),
            game_addr,
            spectator: hello.spectator,
            fingerprint,
            chat_bucket: TokenBucket::full(),
            ready_bucket: TokenBucket::full(),
            resume_bucket: TokenBucket::full(),
            handle: None,
            secret: None,
            vacant: false,
        });
        self.welcome(now, conn, id, &name);
        if let Some(fingerprint) = fingerprint {
            self.push_event(HostEvent::MemberJoined {
                id,
                name,
                fingerprint,
            });
        }
        self.roster_changed(now);
        Some(id)
    }

    /// Sends the welcome to member `id` on `conn`.
    pub(super) fn welcome(&mut self, now: Instant, conn: ConnId, id: MemberId, name: &str) {
        let welcome = HostMsg::Welcome {
            you: id,
            lobby_name: self.config.lobby_name.clone(),
            name: name.to_string(),
            max_players: self.config.max_players,
            roster: self.roster(),
        };
        self.send(now, conn, &welcome);
    }

    pub(super) fn handle_member_msg(
        &mut self,
        now: Instant,
        conn: ConnId,
        id: MemberId,
        msg: ClientMsg,
    ) {
        let (chat_rate, ready_rate) = (self.config.chat_rate, self.config.ready_rate);
        match msg {
            ClientMsg::Hello(_) => self.protocol_error(now, conn, &"second hello"),
            ClientMsg::Offer(_) => self.protocol_error(now, conn, &"second key exchange"),
            ClientMsg::SetReady(ready) => {
                let Some(m) = self.members.iter_mut().find(|m| m.id == id) else {
                    return;
                };
                if !m.ready_bucket.allow(now, ready_rate) {
                    self.rate_limited = self.rate_limited.saturating_add(1);
                } else if m.ready != ready {
                    m.ready = ready;
                    self.roster_changed(now);
                }
            }
            ClientMsg::Chat(text) => {
                let Some(m) = self.members.iter_mut().find(|m| m.id == id) else {
                    return;
                };
                if !m.chat_bucket.allow(now, chat_rate) {
                    self.rate_limited = self.rate_limited.saturating_add(1);
                    return;
                }
                let name = m.name.clone();
                self.broadcast_chat(now, id, name, sanitize(&text, MAX_CHAT_CHARS));
            }
            ClientMsg::Leave => {
                self.close_conn(now, conn);
                self.remove_member(now, id, LeaveReason::Left);
            }
            ClientMsg::KeepAlive => {}
            ClientMsg::Resume { to, bytes } => self.relay_resume(now, conn, id, to, bytes),
        }
    }

    pub(super) fn unique_name(&self, wanted: &str) -> String {
        let taken = |n: &str| self.members.iter().any(|m| m.name.eq_ignore_ascii_case(n));
        if !taken(wanted) {
            return wanted.to_string();
        }
        (2..)
            .map(|i| format!("{wanted} ({i})"))
            .find(|n| !taken(n))
            .unwrap_or_default()
    }

    pub(super) fn broadcast_chat(
        &mut self,
        now: Instant,
        from: MemberId,
        name: String,
        text: String,
    ) {
        if text.is_empty() || self.phase != Phase::Open {
            return;
        }
        let msg = HostMsg::Chat {
            from,
            name: name.clone(),
            text: text.clone(),
        };
        self.broadcast(now, &msg);
        self.push_event(HostEvent::Chat { from, name, text });
    }

    pub(super) fn roster_changed(&mut self, now: Instant) {
        let roster = self.roster();
        self.broadcast(now, &HostMsg::Roster(roster.clone()));
        self.push_event(HostEvent::RosterChanged(roster));
    }

    pub(super) fn broadcast(&mut self, now: Instant, msg: &HostMsg) {
        let conns: Vec<ConnId> = self.members.iter().filter_map(|m| m.conn).collect();
        for conn in conns {
            self.send(now, conn, msg);
        }
    }

    pub(super) fn remove_member(&mut self, now: Instant, id: MemberId, reason: LeaveReason) {
        let Some(pos) = self.members.iter().position(|m| m.id == id && id != 0) else {
            return;
        };
        if self.phase == Phase::InMatch {
            return self.vacate_seat(now, pos, reason);
        }
        let m = self.members.remove(pos);
        self.push_event(HostEvent::MemberLeft {
            id,
            name: m.name,
            reason,
        });
        if self.phase == Phase::Open {
            self.roster_changed(now);
        }
    }

    pub(super) fn reject(&mut self, now: Instant, conn: ConnId, reason: RejectReason) {
        self.send(now, conn, &HostMsg::Reject(reason.clone()));
        let peer = self.conns.get(&conn).map(|c| c.peer);
        self.close_conn(now, conn);
        if let Some(peer) = peer {
            self.push_event(HostEvent::Rejected { peer, reason });
        }
    }

    pub(super) fn protocol_error(
        &mut self,
        now: Instant,
        conn: ConnId,
        error: &dyn std::fmt::Display,
    ) {
        let state = self.conns.get(&conn).map(|c| match c.state {
            ConnState::Member(id) => Some(id),
            _ => None,
        });
        self.close_conn(now, conn);
        if let Some(Some(id)) = state {
            self.remove_member(now, id, LeaveReason::ProtocolError(error.to_string()));
        }
    }

    /// Sends `msg` on `conn`: sealed once the channel exists, clear before.
    pub(super) fn send(&mut self, now: Instant, conn: ConnId, msg: &HostMsg) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if matches!(c.state, ConnState::Closing) {
            return;
        }
        let frame = match c.channel.as_mut() {
            Some(channel) => channel.seal(msg),
            None => encode(msg),
        };
        if let Ok(frame) = frame {
            self.push_send(now, conn, frame);
        }
    }

    pub(super) fn push_send(&mut self, now: Instant, conn: ConnId, frame: Vec<u8>) {
        if let Some(c) = self.conns.get_mut(&conn)
            && !matches!(c.state, ConnState::Closing)
        {
            c.last_sent = now;
            self.out.push_back(HostTransmit::Send { conn, frame });
        }
    }

    /// Closes `conn` (a guess still open on it counts as failed) and frees
    /// its buffers: later bytes on it are dropped unread.
    pub(super) fn close_conn(&mut self, now: Instant, conn: ConnId) {
        self.settle_guess(now, conn, false);
        if let Some(c) = self.conns.get_mut(&conn)
            && !matches!(c.state, ConnState::Closing)
        {
            c.state = ConnState::Closing;
            c.decoder = FrameDecoder::new();
            c.channel = None;
            self.out.push_back(HostTransmit::Close { conn });
        }
    }
}
