//! [`MatchPlan::validate`]: a plan is checked before any session is built
//! from it, because the plan comes from the network (a lobby host, a room).
//!
//! A fake lobby host can send any plan. Unchecked, a plan crashed every
//! joiner (input delay 200 with max prediction 300 trips an `assert!` in
//! GGRS's input queue), made joiners send ~11,000 datagrams/s to 2000 seats
//! the host chose, or kept a `--frames` run lingering for 100k frames. Every
//! bound here is what GGRS 0.13 accepts without panicking and what a game
//! can play with:
//!
//! - players `2..=`[`MAX_PLAYERS`] (and the lobby's own maximum), handles
//!   exactly `0..n` in order; at most [`MAX_SPECTATORS`] spectators with
//!   handles `n..`, each hosted by a player;
//! - [`NetSettings`] in range (see [`NetSettings::validate`]);
//! - the holder's own handle is a seat of the plan (and its address has the
//!   holder's game port, when the holder says which);
//! - every address is a usable unicast address, no two members share one,
//!   and, when the holder says which addresses the lobby members have
//!   ([`PlanLimits::members`]), every other member is one of them: a host may
//!   not point joiners at third parties.
//!
//! [`NetSessionBuilder::from_plan`](crate::NetSessionBuilder::from_plan)
//! always runs the structural checks ([`PlanLimits::default`]); a lobby
//! client adds what only it knows (members' addresses, its own port, the
//! lobby's maximum).

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

mod error;
mod settings;

use crate::addr::PeerAddr;
use crate::plan::MatchPlan;

pub use error::PlanError;

/// Most players in a match: GGRS has no hard limit, but every player is a
/// peer every member sends to each frame, and lobbies seat at most 16.
pub const MAX_PLAYERS: usize = 16;
/// Fewest players a plan may seat: a match from a lobby is at least two.
pub const MIN_PLAYERS: usize = 2;
/// Most spectators in a plan (GGPO's cap; issue 14).
pub const MAX_SPECTATORS: usize = 32;
/// Largest prediction window accepted. GGRS's input queue holds 128 frames
/// and its state ring `max_prediction + 2`; 16 frames (267 ms at 60 fps) is
/// more than a LAN or a decent internet path needs and keeps a `--frames`
/// run's linger (`input_delay + max_prediction + 1` frames) short.
pub const MAX_PREDICTION: usize = 16;
/// Frames per second accepted: `MIN_FPS..=MAX_FPS`.
pub const MIN_FPS: usize = 10;
/// See [`MIN_FPS`].
pub const MAX_FPS: usize = 240;
/// Disconnect timeout accepted, in ms: `MIN_TIMEOUT_MS..=MAX_TIMEOUT_MS`.
pub const MIN_TIMEOUT_MS: u64 = 100;
/// See [`MIN_TIMEOUT_MS`]: a minute of silence is long past any real peer.
pub const MAX_TIMEOUT_MS: u64 = 60_000;
/// Largest desync-check interval, in frames (a minute at 60 fps).
pub const MAX_DESYNC_INTERVAL: u32 = 3600;
/// Longest display name in a plan, in bytes (lobbies cut names to 32 chars).
pub const MAX_PLAN_NAME_BYTES: usize = 128;

/// What the holder of a plan knows independently of it, to check it against.
///
/// The default checks structure and bounds only (what every session needs);
/// a lobby client fills in `members` and `local_port` from what it saw in
/// the lobby, and `max_players` from the lobby's advertised maximum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanLimits {
    /// Most players accepted. Default [`MAX_PLAYERS`]; never above it.
    pub max_players: usize,
    /// Most spectators accepted. Default [`MAX_SPECTATORS`]; never above it.
    pub max_spectators: usize,
    /// The game addresses of the lobby's members as this holder knows them.
    /// When set, every other member of the plan must be at one of them.
    /// Default `None` (not checked: a game that brings its own addresses).
    pub members: Option<BTreeSet<PeerAddr>>,
    /// The holder's own game port: its seat's UDP address must have it.
    /// Default `None` (not checked).
    pub local_port: Option<u16>,
}

impl Default for PlanLimits {
    fn default() -> Self {
        PlanLimits {
            max_players: MAX_PLAYERS,
            max_spectators: MAX_SPECTATORS,
            members: None,
            local_port: None,
        }
    }
}

impl MatchPlan {
    /// Checks the plan against `limits` before any session is built from it
    /// (see the [module](crate::plan_check) for every rule). Never panics.
    pub fn validate(&self, limits: &PlanLimits) -> Result<(), PlanError> {
        let n = self.players.len();
        let max_players = limits.max_players.min(MAX_PLAYERS);
        if n < MIN_PLAYERS {
            return Err(PlanError::TooFewPlayers {
                count: n,
                min: MIN_PLAYERS,
            });
        }
        if n > max_players {
            return Err(PlanError::TooManyPlayers {
                count: n,
                max: max_players,
            });
        }
        let max_spectators = limits.max_spectators.min(MAX_SPECTATORS);
        if self.spectators.len() > max_spectators {
            return Err(PlanError::TooManySpectators {
                count: self.spectators.len(),
                max: max_spectators,
            });
        }
        self.settings.validate()?;
        if let Some(&handle) = self.member_secrets.keys().find(|h| **h >= n) {
            return Err(PlanError::SecretSeat { handle });
        }
        for (index, p) in self.players.iter().enumerate() {
            if p.handle != index {
                return Err(PlanError::PlayerHandle {
                    index,
                    handle: p.handle,
                });
            }
        }
        let mut spectator_handles = BTreeSet::new();
        for s in &self.spectators {
            if s.handle < n || !spectator_handles.insert(s.handle) {
                return Err(PlanError::SpectatorHandle { handle: s.handle });
            }
            // A spectator fed by the relay tree has a dense handle (the
            // tree and its wire use 16-bit handles).
            let relayed_out_of_range = s.is_relayed() && s.handle >= n + self.spectators.len();
            if relayed_out_of_range {
                return Err(PlanError::SpectatorHandle { handle: s.handle });
            }
            if s.host_handle >= n && !s.is_relayed() {
                return Err(PlanError::SpectatorHost {
                    handle: s.handle,
                    host: s.host_handle,
                });
            }
        }
        let members = || {
            self.players
                .iter()
                .map(|p| (p.handle, p.name.as_str(), p.addr))
                .chain(
                    self.spectators
                        .iter()
                        .map(|s| (s.handle, s.name.as_str(), s.addr)),
                )
        };
        let Some((_, _, local_addr)) = members().find(|(h, ..)| *h == self.local_handle) else {
            return Err(PlanError::LocalMissing {
                handle: self.local_handle,
            });
        };
        if let Some(port) = limits.local_port {
            if !matches!(local_addr, PeerAddr::Udp(a) if a.port() == port) {
                return Err(PlanError::LocalAddress {
                    port,
                    got: local_addr,
                });
            }
        }
        let mut names = BTreeSet::new();
        let mut addrs = BTreeSet::new();
        for (handle, name, addr) in members() {
            if name.is_empty()
                || name.len() > MAX_PLAN_NAME_BYTES
                || name.chars().any(char::is_control)
            {
                return Err(PlanError::BadName { handle });
            }
            if !names.insert(name) {
                return Err(PlanError::DuplicateName { name: name.into() });
            }
            if let Some(why) = unusable(addr) {
                return Err(PlanError::BadAddress {
                    name: name.into(),
                    addr,
                    why,
                });
            }
            if !addrs.insert(addr) {
                return Err(PlanError::DuplicateAddress { addr });
            }
            let known = limits.members.as_ref().is_none_or(|m| m.contains(&addr));
            if handle != self.local_handle && !known {
                return Err(PlanError::UnknownAddress {
                    name: name.into(),
                    addr,
                });
            }
        }
        Ok(())
    }
}

/// Why no game socket can be at `addr`, if so.
fn unusable(addr: PeerAddr) -> Option<&'static str> {
    let PeerAddr::Udp(sa) = addr else {
        return None;
    };
    udp_unusable(sa)
}

fn udp_unusable(sa: SocketAddr) -> Option<&'static str> {
    if sa.port() == 0 {
        return Some("port 0");
    }
    match sa.ip().to_canonical() {
        ip if ip.is_unspecified() => Some("unspecified address"),
        ip if ip.is_multicast() => Some("multicast address"),
        IpAddr::V4(v4) if v4.is_broadcast() => Some("broadcast address"),
        _ => None,
    }
}
