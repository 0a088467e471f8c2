//! The client's side of the key exchange, and cleaning what the host says
//! before a screen shows it.

use std::time::Instant;

use super::{ClientMachine, JoinError, Phase};
use crate::lobby::message::{
    Answer, ClientMsg, Hello, HostMsg, MAX_NAME_CHARS, RejoinRequest, RosterEntry, rejoin_proof,
    sanitize,
};
use crate::lobby::secure::{HandshakeError, JoinerHandshake};

/// Longest lobby name shown (the DNS-SD instance name limit).
const MAX_LOBBY_NAME_BYTES: usize = 63;

impl ClientMachine {
    /// The greeting says which exchange to run; our offer goes in clear.
    pub(super) fn start_handshake(&mut self, now: Instant, password_required: bool) {
        let password = match (&self.config.password, password_required) {
            (None, true) => return self.fail(JoinError::PasswordRequired),
            // We hold a password, so the lobby we chose is locked: a host
            // that does not ask for it is not that lobby (or the lock was
            // stripped in flight).
            (Some(_), false) => return self.fail(JoinError::PasswordNotAsked),
            (Some(pw), true) => Some(pw.clone()),
            (None, false) => None,
        };
        match JoinerHandshake::start(&mut self.rng, password.as_deref()) {
            Ok((handshake, offer)) => {
                self.handshake = Some(handshake);
                self.phase = Phase::AwaitAnswer;
                self.send(now, &ClientMsg::Offer(offer));
            }
            Err(e) => self.protocol_error(&e),
        }
    }

    /// The host's answer: on success the channel exists and our hello is the
    /// first sealed frame; a locked answer that does not verify is a wrong
    /// password (or a fake host), and we send nothing more.
    pub(super) fn finish_handshake(&mut self, now: Instant, answer: &Answer) {
        let Some(handshake) = self.handshake.take() else {
            return self.protocol_error(&"answer without an offer");
        };
        match handshake.finish(answer) {
            Ok(channel) => {
                let fingerprint = channel.fingerprint();
                self.channel = Some(channel);
                self.phase = Phase::AwaitWelcome;
                let rejoin = self.config.rejoin.as_ref().map(|claim| RejoinRequest {
                    handle: claim.handle,
                    proof: rejoin_proof(&claim.secret, &fingerprint),
                });
                let hello = Hello {
                    game: self.config.game.clone(),
                    game_version: self.config.game_version.clone(),
                    name: self.config.name.clone(),
                    game_port: self.config.game_port,
                    spectator: self.config.spectator,
                    rejoin,
                };
                self.send(now, &ClientMsg::Hello(hello));
            }
            Err(HandshakeError::WrongPassword) => self.fail(JoinError::WrongPassword),
            Err(e) => self.protocol_error(&e),
        }
    }
}

/// A lobby name from the network, cleaned for the screen.
pub(super) fn clean_lobby_name(name: &str) -> String {
    let mut out = sanitize(name, MAX_LOBBY_NAME_BYTES);
    while out.len() > MAX_LOBBY_NAME_BYTES {
        out.pop();
    }
    out
}

/// A roster from the host as a screen may show it: names cleaned, and no
/// more entries than a match can seat (a fake host's roster of thousands
/// is cut, not drawn).
pub(super) fn clean_roster(mut roster: Vec<RosterEntry>) -> Vec<RosterEntry> {
    roster.truncate(nearplay_netcode::MAX_PLAYERS);
    for m in &mut roster {
        m.name = sanitize(&m.name, MAX_NAME_CHARS + 8);
    }
    roster
}

pub(super) fn msg_name(msg: &HostMsg) -> &'static str {
    match msg {
        HostMsg::Greeting { .. } => "greeting",
        HostMsg::Answer(_) => "answer",
        HostMsg::Welcome { .. } => "welcome",
        HostMsg::Reject(_) => "reject",
        HostMsg::Roster(_) => "roster",
        HostMsg::Chat { .. } => "chat",
        HostMsg::Kicked => "kicked",
        HostMsg::Start(_) => "start",
        HostMsg::Seat(_) => "seat news",
        HostMsg::Rekey { .. } => "rekey",
        HostMsg::Closed => "closed",
        HostMsg::KeepAlive => "keepalive",
        HostMsg::Resume { .. } => "resume",
    }
}
