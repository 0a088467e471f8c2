//! What the host machine tells about itself without changing: the roster,
//! its phase, counters, and how the shell should treat a connection.

use super::{ConnId, ConnState, HostConfig, HostMachine, Phase};
use crate::lobby::message::{MemberId, RosterEntry};
use crate::lobby::secure::Fingerprint;

impl HostMachine {
    /// The fingerprint of member `id`'s channel (`None` for the host itself
    /// or an unknown id), to compare with what that player's screen shows.
    pub fn fingerprint(&self, id: MemberId) -> Option<Fingerprint> {
        self.members
            .iter()
            .find(|m| m.id == id)
            .and_then(|m| m.fingerprint)
    }

    /// Bytes held in connections' frame buffers, all connections together
    /// (a closed connection holds none).
    pub fn buffered_bytes(&self) -> usize {
        self.conns.values().map(|c| c.decoder.buffered()).sum()
    }

    /// Wrong password guesses counted since the lobby opened.
    pub fn failed_guesses(&self) -> u64 {
        self.guesses.total_failures()
    }

    /// Chat lines and ready toggles dropped by the per-member rate limits.
    pub fn rate_limited(&self) -> u64 {
        self.rate_limited
    }

    /// The configuration the lobby runs with.
    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// The current roster, host first.
    pub fn roster(&self) -> Vec<RosterEntry> {
        let host_ip = self.host_ip();
        self.members
            .iter()
            .map(|m| RosterEntry {
                id: m.id,
                name: m.name.clone(),
                ready: m.ready,
                game_addr: m.plan_addr(host_ip),
                spectator: m.spectator,
                vacant: m.vacant,
            })
            .collect()
    }

    /// Whether the lobby still takes joins before a match (not started,
    /// not closed).
    pub fn is_open(&self) -> bool {
        self.phase == Phase::Open
    }

    /// Whether a match runs with this lobby as its control channel.
    pub fn in_match(&self) -> bool {
        self.phase == Phase::InMatch
    }

    /// Whether the lobby still runs (open or in a match, not closed).
    pub fn is_running(&self) -> bool {
        self.phase != Phase::Closed
    }

    /// Whether `conn` carries a member (its hello was accepted), as opposed to
    /// a connection still awaiting its hello or being closed. The shell's
    /// admission control never evicts a member's connection.
    pub fn is_member_conn(&self, conn: ConnId) -> bool {
        self.conns
            .get(&conn)
            .is_some_and(|c| matches!(c.state, ConnState::Member(_)))
    }

    /// Whether `conn` is past the key exchange: its offer was answered (it
    /// awaits its hello) or it carries a member. The shell's admission
    /// control never evicts such a connection, so an eviction never settles
    /// a password guess as failed.
    pub fn conn_progressed(&self, conn: ConnId) -> bool {
        self.conns
            .get(&conn)
            .is_some_and(|c| matches!(c.state, ConnState::AwaitHello { .. } | ConnState::Member(_)))
    }
}
