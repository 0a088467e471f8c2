//! Resume messages between the match's players (rejoin, late join): the
//! host relays the netcode's encoded
//! [`ResumeMessage`](nearplay_netcode::resume::ResumeMessage)s by player
//! handle, and takes those addressed to its own player.
//!
//! Hostile members: only a seated, connected player of the running match
//! may send one; it must decode (size, version, fields, digest) or the
//! sender's connection ends as for any malformed message; a member past
//! [`RESUME_RATE`] has the excess dropped and counted (`rate_limited`); a
//! message for a handle no connected player holds is dropped. The host
//! never forwards a sender's claim about itself: the receiver learns the
//! sender's handle from the host.

use std::time::{Duration, Instant};

use nearplay_netcode::resume::ResumeMessage;

use super::{ConnId, HostEvent, HostMachine, Phase};
use crate::lobby::message::{HostMsg, MAX_LOBBY_RESUME_BYTES, MemberId};
use crate::lobby::secure::limits::Rate;

/// Resume messages per member: a burst of 40, then 10 a second. A resume
/// takes a handful per member (synced, accept, a proposal and a commit per
/// round), and the coordinator sends the state as up to 22 parts
/// (`MAX_STATE_BYTES` / `STATE_PART_BYTES`) per newcomer.
pub const RESUME_RATE: Rate = Rate {
    burst: 40,
    per: Duration::from_millis(100),
};

impl HostMachine {
    /// The host's own player sends an encoded resume message to the player
    /// at handle `to`. `false` if nothing was sent (not in a match, no
    /// connected player there, oversized).
    pub fn send_resume(&mut self, now: Instant, to: u16, bytes: Vec<u8>) -> bool {
        let Some(from) = self.members.first().and_then(|m| m.handle) else {
            return false;
        };
        let Ok(from) = u16::try_from(from) else {
            return false;
        };
        if self.phase != Phase::InMatch || bytes.len() > MAX_LOBBY_RESUME_BYTES {
            return false;
        }
        self.deliver_resume(now, from, to, bytes)
    }

    /// A member's resume message for the player at handle `to`.
    pub(super) fn relay_resume(
        &mut self,
        now: Instant,
        conn: ConnId,
        id: MemberId,
        to: u16,
        bytes: Vec<u8>,
    ) {
        let in_match = self.phase == Phase::InMatch;
        let Some(sender) = self.members.iter_mut().find(|m| m.id == id) else {
            return;
        };
        let seated = in_match && !sender.spectator && !sender.vacant;
        let from = sender.handle.and_then(|h| u16::try_from(h).ok());
        let (Some(from), true) = (from, seated) else {
            return self.protocol_error(now, conn, &"resume message outside a seat");
        };
        if bytes.len() > MAX_LOBBY_RESUME_BYTES || ResumeMessage::decode(&bytes).is_err() {
            return self.protocol_error(now, conn, &"malformed resume message");
        }
        let Some(sender) = self.members.iter_mut().find(|m| m.id == id) else {
            return;
        };
        if !sender.resume_bucket.allow(now, RESUME_RATE) {
            self.rate_limited = self.rate_limited.saturating_add(1);
            return;
        }
        self.deliver_resume(now, from, to, bytes);
    }

    /// Hands `bytes` from handle `from` to the player at handle `to`: the
    /// host's own event, or a frame on that member's connection.
    fn deliver_resume(&mut self, now: Instant, from: u16, to: u16, bytes: Vec<u8>) -> bool {
        let target = self
            .members
            .iter()
            .position(|m| m.handle == Some(usize::from(to)) && !m.spectator && !m.vacant);
        let Some(target) = target.and_then(|p| self.members.get(p)) else {
            return false;
        };
        if target.id == 0 {
            self.push_event(HostEvent::Resume { from, bytes });
            return true;
        }
        let Some(conn) = target.conn else {
            return false;
        };
        self.send(now, conn, &HostMsg::Resume { from, bytes });
        true
    }
}
