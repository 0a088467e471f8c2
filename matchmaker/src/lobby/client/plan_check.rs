//! A joiner checks the host's plan against what it saw in the lobby before
//! it reports [`ClientEvent::Started`]: a fake host must not crash it, make
//! it flood addresses the host chose, or hang it (see netcode's
//! `plan_check` for the bounds).
//!
//! What the joiner knows without trusting the plan:
//! - its own game port and the name the host confirmed in the welcome;
//! - the roster it was shown, with each member's game address as the host
//!   saw it (protocol 2), and the lobby's player limit.
//!
//! Every member of the plan must be a roster member at the roster's
//! address (name and address). The host's own seat is not pinned to the
//! lobby's IP: a host on two networks (or IPv4 and IPv6) gives one address
//! to everyone, which may not be the one a joiner connected to. What a
//! hostile host can still do: list fake members in the roster (shown on the
//! lobby screen) whose addresses are third parties; the
//! joiner then sends GGRS sync requests to at most 15 of them (5 per second
//! each) until the sync deadline (netcode's `DEFAULT_SYNC_TIMEOUT`, 10 s)
//! ends the match with "could not reach ...".

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use nearplay_netcode::{MatchPlan, PeerAddr, PlanError, PlanLimits};

use super::{ClientEvent, ClientMachine, JoinError, Phase};
use crate::lobby::message::{MemberId, RosterEntry};

/// What the joiner saw of the lobby, to check the plan against.
#[derive(Clone, Debug, Default)]
pub(super) struct LobbyView {
    /// Online: addresses are WebRTC peer ids written as IPv6 addresses
    /// (the rendezvous shell's `id_addr`), not UDP sockets.
    pub(super) peer_ids: bool,
    /// Our name as the host's welcome confirmed it.
    pub(super) name: String,
    /// The lobby's player limit from the welcome.
    pub(super) max_players: u16,
    /// The latest roster.
    pub(super) roster: Vec<RosterEntry>,
    /// The lobby's address, when the shell said which it dialled.
    pub(super) lobby: Option<SocketAddr>,
}

impl LobbyView {
    /// The welcome: our confirmed name, the limit and the first roster.
    pub(super) fn joined(&mut self, name: &str, max_players: u16, roster: &[RosterEntry]) {
        self.name = name.to_string();
        self.max_players = max_players;
        self.roster = roster.to_vec();
    }
}

impl ClientMachine {
    /// The machine of a lobby in a rendezvous room, whose shell names peers
    /// by `id_addr` (their WebRTC id as an IPv6 address, port 1): the plan
    /// is checked as the WebRTC plan it becomes, against the room's peers
    /// the roster lists (no UDP port or address-range checks apply).
    pub fn in_room(mut self) -> Self {
        self.seen.peer_ids = true;
        self
    }

    /// The machine of a lobby the shell reached at `lobby`: a host that is
    /// not on this machine may not seat anyone at a loopback address (that
    /// would aim the joiner's game traffic at its own local services).
    pub fn with_lobby_addr(mut self, lobby: SocketAddr) -> Self {
        self.seen.lobby = Some(lobby);
        self
    }

    /// The host started the match (or seated us in it): validate our copy
    /// of the plan, then report it and stay on as the match's control
    /// channel, or end the join with [`JoinError::BadPlan`].
    pub(super) fn start(&mut self, id: MemberId, plan: MatchPlan) {
        match self.check_plan(&plan) {
            Ok(()) => {
                self.phase = Phase::InMatch(id);
                self.epoch = plan.key_epoch;
                self.events.push_back(ClientEvent::Started(plan));
            }
            Err(e) => self.fail(JoinError::BadPlan(e)),
        }
    }

    fn check_plan(&self, received: &MatchPlan) -> Result<(), PlanError> {
        let seen = &self.seen;
        let view = |a: SocketAddr| match seen.peer_ids {
            true => peer_id(a),
            false => PeerAddr::Udp(a),
        };
        let mut plan = received.clone();
        for p in &mut plan.players {
            p.addr = readdress(p.addr, &view);
        }
        for s in &mut plan.spectators {
            s.addr = readdress(s.addr, &view);
        }
        // A spectator joining a running match also finds the seats of
        // spectators who left before it (their handles keep the relay
        // tree's shape): relayed seats below its own, at usable addresses
        // (`validate` checks them), that it reaches only if one is its plan
        // parent, for one feed timeout (what seat news could name too).
        let late_spectator = plan
            .spectators
            .iter()
            .find(|s| s.handle == plan.local_handle)
            .map(|s| s.handle);
        let departed = |s: &nearplay_netcode::PlanSpectator| {
            late_spectator.is_some_and(|me| s.handle < me) && s.is_relayed()
        };
        let mut members: BTreeSet<PeerAddr> =
            seen.roster.iter().map(|m| view(m.game_addr)).collect();
        members.extend(
            plan.spectators
                .iter()
                .filter(|s| departed(s))
                .map(|s| s.addr),
        );
        let limits = PlanLimits {
            max_players: usize::from(seen.max_players),
            members: Some(members),
            local_port: (!seen.peer_ids).then_some(self.config.game_port),
            ..PlanLimits::default()
        };
        plan.validate(&limits)?;
        let remote_host = seen
            .lobby
            .is_some_and(|a| !a.ip().to_canonical().is_loopback());
        if remote_host && !seen.peer_ids {
            let local = plan.players.iter().map(|p| (&p.name, p.addr));
            let watching = plan.spectators.iter().map(|s| (&s.name, s.addr));
            for (name, addr) in local.chain(watching) {
                if let PeerAddr::Udp(a) = addr
                    && a.ip().to_canonical().is_loopback()
                {
                    return Err(PlanError::BadAddress {
                        name: name.clone(),
                        addr,
                        why: "loopback address from a host on another machine",
                    });
                }
            }
        }
        // Each seat is the roster member at that address, by name too.
        for p in &plan.players {
            let listed = seen
                .roster
                .iter()
                .any(|m| view(m.game_addr) == p.addr && m.name == p.name && !m.spectator);
            if !listed {
                return Err(PlanError::UnknownAddress {
                    name: p.name.clone(),
                    addr: p.addr,
                });
            }
        }
        for s in &plan.spectators {
            let listed = seen.roster.iter().any(|m| {
                view(m.game_addr) == s.addr && m.name == s.name && m.spectator && s.is_relayed()
            });
            if !listed && !departed(s) {
                return Err(PlanError::UnknownAddress {
                    name: s.name.clone(),
                    addr: s.addr,
                });
            }
        }
        let local_spectator = plan
            .spectators
            .iter()
            .find(|s| s.handle == plan.local_handle)
            .is_some_and(|s| s.name == seen.name);
        if !local_spectator && plan.local_player().is_none_or(|p| p.name != seen.name) {
            return Err(PlanError::LocalMissing {
                handle: plan.local_handle,
            });
        }
        Ok(())
    }
}

/// A UDP address of the plan as the checker sees it (peer ids online).
fn readdress(addr: PeerAddr, view: &impl Fn(SocketAddr) -> PeerAddr) -> PeerAddr {
    match addr {
        PeerAddr::Udp(a) => view(a),
        other => other,
    }
}

/// The WebRTC peer id an `id_addr` stands for (as the rendezvous shell's
/// `to_webrtc_plan` maps it).
fn peer_id(addr: SocketAddr) -> PeerAddr {
    PeerAddr::WebRtc(match addr.ip() {
        IpAddr::V6(v6) => u128::from(v6),
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
    })
}
