//! [`MatchPlan`]: the one hand-off from matchmaking to netcode.
//!
//! The matchmaker fills a plan in when the host starts a match; every member
//! receives the same plan (only [`MatchPlan::local_handle`] differs), and the
//! session builder turns it into a running GGRS session. Netcode knows nothing
//! of lobbies, the matchmaker nothing of rollback.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::addr::PeerAddr;

/// Identifies one match; every datagram of the match carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MatchId(pub u64);

impl MatchId {
    /// A fresh random match id from the operating system's RNG.
    pub fn random() -> Self {
        let mut bytes = [0u8; 8];
        fill_random(&mut bytes);
        MatchId(u64::from_le_bytes(bytes))
    }
}

impl fmt::Display for MatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// The per-match secret that authenticates every game datagram.
///
/// Its `Debug` output is redacted so it never lands in a log by accident.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MatchKey(pub [u8; 32]);

impl MatchKey {
    /// A fresh random key from the operating system's RNG.
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        fill_random(&mut key);
        MatchKey(key)
    }
}

impl fmt::Debug for MatchKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MatchKey(<redacted>)")
    }
}

/// A member's proof that a seat is its own: 32 random bytes the lobby host
/// gives each player at the start of a match, inside only that player's
/// copy of the plan (over the encrypted lobby channel). A player whose game
/// crashed or whose network dropped presents it (as a keyed hash bound to
/// its new channel) to take its seat back.
///
/// It never leaves the member's machine otherwise: `Debug` is redacted,
/// replays keep no plan secrets ([`ReplayPlan`](crate::replay::ReplayPlan)),
/// and [`MatchPlan::for_member`] strips every other member's.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemberSecret(pub [u8; 32]);

impl MemberSecret {
    /// A fresh random secret from the operating system's RNG.
    pub fn random() -> Self {
        let mut secret = [0u8; 32];
        fill_random(&mut secret);
        MemberSecret(secret)
    }
}

impl fmt::Debug for MemberSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MemberSecret(<redacted>)")
    }
}

/// Fills `buf` from the OS RNG. If the OS has no RNG (never on supported
/// platforms) the time and address entropy below still give a distinct value.
fn fill_random(buf: &mut [u8]) {
    if getrandom::getrandom(buf).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let h = blake3::hash(&nanos.to_le_bytes());
        for (b, s) in buf.iter_mut().zip(h.as_bytes().iter().cycle()) {
            *b = *s;
        }
    }
}

/// A player seat in the match.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanPlayer {
    /// GGRS player handle, `0..players.len()`, stable for the whole match.
    pub handle: usize,
    /// Display name, unique within the match.
    pub name: String,
    /// Where this player's game socket is reached.
    pub addr: PeerAddr,
}

/// A spectator: receives the confirmed inputs from one player (its host,
/// over GGRS) or through the relay tree of [`spectate`](crate::spectate).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSpectator {
    /// GGRS spectator handle (at least the number of players, as GGRS wants).
    pub handle: usize,
    /// Display name.
    pub name: String,
    /// Where the spectator's socket is reached.
    pub addr: PeerAddr,
    /// The player handle whose peer streams inputs to this spectator over
    /// GGRS; the spectator's own handle when the relay tree feeds it
    /// ([`PlanSpectator::relayed`]): then no GGRS session streams to it.
    pub host_handle: usize,
}

impl PlanSpectator {
    /// A spectator fed by the relay tree of [`spectate`](crate::spectate)
    /// (what lobbies plan), not by a player's GGRS session.
    pub fn relayed(handle: usize, name: String, addr: PeerAddr) -> Self {
        PlanSpectator {
            handle,
            name,
            addr,
            host_handle: handle,
        }
    }

    /// Whether the relay tree feeds this spectator (see [`relayed`](Self::relayed)).
    pub fn is_relayed(&self) -> bool {
        self.host_handle == self.handle
    }
}

/// Netcode settings a match is played with; every member uses the same.
///
/// Defaults suit a LAN at 60 fps (see each field).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetSettings {
    /// Frames of local input delay. Default 2: hides up to ~33 ms of one-way
    /// latency without a rollback.
    pub input_delay: usize,
    /// How many frames a peer may run ahead of confirmed input. Default 12
    /// (200 ms at 60 fps), not GGRS's 8: with an input delay, a ggrs 0.13
    /// receiver drops every input datagram after the first until the sender
    /// has seen its acknowledgement (they are encoded against frame
    /// `input_delay - 1`, which is never sent), so every match starts with
    /// a round trip of missing input on top of the delay. At 100 ms RTT that
    /// used 8 frames up and froze both peers for a tick or two at frame 10
    /// (`netcode/benches/lossy_link.rs`). A wider window costs nothing until
    /// used: deeper rollbacks only when input is that late, and a few more
    /// saved states.
    pub max_prediction: usize,
    /// Simulation frames per second. Default 60.
    pub fps: usize,
    /// Silence after which a peer counts as disconnected. Default 2000 ms.
    pub disconnect_timeout_ms: u64,
    /// Silence after which "peer may disconnect" is reported. Default 500 ms.
    pub disconnect_notify_start_ms: u64,
    /// Compare checksums every N confirmed frames; 0 turns detection off. Default 10.
    pub desync_interval: u32,
    /// Most spectators one player uploads to: the `k` of the relay tree
    /// ([`spectate`](crate::spectate)), in the plan so every member
    /// computes the same tree. Default 4, at most 32.
    pub spectate_fanout: u16,
}

impl Default for NetSettings {
    fn default() -> Self {
        NetSettings {
            input_delay: 2,
            max_prediction: 12,
            fps: 60,
            disconnect_timeout_ms: 2000,
            disconnect_notify_start_ms: 500,
            desync_interval: 10,
            spectate_fanout: 4,
        }
    }
}

impl NetSettings {
    /// The disconnect timeout as a [`Duration`].
    pub fn disconnect_timeout(&self) -> Duration {
        Duration::from_millis(self.disconnect_timeout_ms)
    }

    /// The disconnect-notify delay as a [`Duration`].
    pub fn disconnect_notify_start(&self) -> Duration {
        Duration::from_millis(self.disconnect_notify_start_ms)
    }
}

/// Everything a member needs to start its session for one match.
///
/// Built by the matchmaker's host at start and sent to every member; all
/// members hold an identical plan except for `local_handle`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchPlan {
    /// Identifies the match on the wire.
    pub match_id: MatchId,
    /// Seed for the game's deterministic RNG.
    pub seed: u64,
    /// Players ordered by handle (handle `i` at index `i`).
    pub players: Vec<PlanPlayer>,
    /// Spectators, if any.
    pub spectators: Vec<PlanSpectator>,
    /// The per-match authentication key.
    pub key: MatchKey,
    /// Which key this is: 0 at the start, one more each time the lobby
    /// made a new key (a seat retaken or taken mid-match), so a member who
    /// left for good does not hold the current one.
    pub key_epoch: u32,
    /// Member secrets by player handle (see [`MemberSecret`]). The host's
    /// full plan holds every player's; each member's copy
    /// ([`for_member`](Self::for_member)) holds only its own. Redacted in
    /// `Debug` output. Empty in plans not made by a lobby.
    pub member_secrets: BTreeMap<usize, MemberSecret>,
    /// Netcode settings.
    pub settings: NetSettings,
    /// The handle of the member holding this copy of the plan.
    pub local_handle: usize,
}

impl MatchPlan {
    /// The local player's seat, if `local_handle` names a player.
    pub fn local_player(&self) -> Option<&PlanPlayer> {
        self.players.iter().find(|p| p.handle == self.local_handle)
    }

    /// Every other member of the match, players then spectators, as
    /// `(handle, address)`: the peers a transport talks to.
    pub fn remote_members(&self) -> impl Iterator<Item = (usize, PeerAddr)> + '_ {
        self.players
            .iter()
            .map(|p| (p.handle, p.addr))
            .chain(self.spectators.iter().map(|s| (s.handle, s.addr)))
            .filter(|(h, _)| *h != self.local_handle)
    }

    /// The plan of a rematch between the same members: a new match id and
    /// seed derived from this plan, so every member computes the same plan
    /// without talking to the others, and stray datagrams of the old match
    /// are dropped as another match's.
    pub fn rematch(&self) -> MatchPlan {
        let mut seed = self.seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        seed = (seed ^ (seed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        seed ^= seed >> 27;
        MatchPlan {
            match_id: MatchId(self.match_id.0.wrapping_add(1)),
            seed,
            ..self.clone()
        }
    }

    /// The same plan as seen by another member: `local_handle` changes,
    /// and only that member's own secret is kept (others' are stripped).
    pub fn for_member(&self, handle: usize) -> MatchPlan {
        let member_secrets = self
            .member_secrets
            .get(&handle)
            .map(|s| BTreeMap::from([(handle, s.clone())]))
            .unwrap_or_default();
        MatchPlan {
            local_handle: handle,
            member_secrets,
            ..self.clone()
        }
    }

    /// The same plan without any member secret: what may be shown, compared
    /// across members or kept beyond the match.
    pub fn without_secrets(&self) -> MatchPlan {
        MatchPlan {
            member_secrets: BTreeMap::new(),
            ..self.clone()
        }
    }

    /// The local member's secret, if the plan holds one.
    pub fn member_secret(&self) -> Option<&MemberSecret> {
        self.member_secrets.get(&self.local_handle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> MatchPlan {
        MatchPlan {
            match_id: MatchId(7),
            seed: 99,
            players: vec![PlanPlayer {
                handle: 0,
                name: "Ada".into(),
                addr: PeerAddr::Sim(0),
            }],
            spectators: Vec::new(),
            key: MatchKey([3; 32]),
            key_epoch: 0,
            member_secrets: BTreeMap::from([
                (0, MemberSecret([5; 32])),
                (1, MemberSecret([6; 32])),
            ]),
            settings: NetSettings::default(),
            local_handle: 0,
        }
    }

    #[test]
    fn a_member_copy_holds_only_its_own_secret_and_debug_shows_none() {
        let full = plan();
        let one = full.for_member(1);
        assert_eq!(one.member_secret(), Some(&MemberSecret([6; 32])));
        assert_eq!(one.member_secrets.len(), 1);
        assert!(full.for_member(3).member_secrets.is_empty());
        let shown = format!("{full:?}");
        assert!(!shown.contains("5, 5, 5") && !shown.contains("6, 6, 6"));
        assert!(shown.contains("MemberSecret(<redacted>)"));
    }

    #[test]
    fn a_rematch_is_the_same_for_every_member_and_a_new_match() {
        let (a, b) = (plan(), plan().for_member(1));
        let (ra, rb) = (a.rematch(), b.rematch());
        // Each copy keeps only its own secret: compare as a third member sees them.
        assert_eq!(ra.for_member(2), rb.for_member(2));
        assert_ne!(ra.match_id, a.match_id);
        assert_ne!(ra.seed, a.seed);
        assert_ne!(ra.rematch().seed, ra.seed);
        assert_eq!(ra.players, a.players);
        assert_eq!(ra.key, a.key);
    }
}
