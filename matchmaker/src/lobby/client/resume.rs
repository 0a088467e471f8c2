//! Resume messages during the match: the netcode's
//! [`ResumeMessage`](nearplay_netcode::resume::ResumeMessage) bytes travel
//! through the host between the match's players (rejoin, late join).

use std::time::Instant;

use super::{ClientEvent, ClientMachine, Phase};
use crate::lobby::message::{ClientMsg, MAX_LOBBY_RESUME_BYTES};

impl ClientMachine {
    /// Sends an encoded resume message to the player at handle `to`
    /// through the host. Only during the match; `false` (nothing sent) if
    /// not in it or if `bytes` is over [`MAX_LOBBY_RESUME_BYTES`].
    pub fn send_resume(&mut self, now: Instant, to: u16, bytes: Vec<u8>) -> bool {
        if !matches!(self.phase, Phase::InMatch(_)) || bytes.len() > MAX_LOBBY_RESUME_BYTES {
            return false;
        }
        self.send(now, &ClientMsg::Resume { to, bytes });
        true
    }

    /// The host relayed a resume message: an oversized one ends the
    /// channel (the host checks sizes, so only a broken or hostile host
    /// sends one); the bytes are otherwise handed on undecoded.
    pub(super) fn resume_in(&mut self, from: u16, bytes: Vec<u8>) {
        if bytes.len() > MAX_LOBBY_RESUME_BYTES {
            return self.protocol_error(&"oversized resume message");
        }
        if usize::from(from) >= nearplay_netcode::MAX_PLAYERS {
            return self.protocol_error(&"resume message from no player handle");
        }
        self.events.push_back(ClientEvent::Resume { from, bytes });
    }
}
