//! Handles and the plan: who sits where in the match, at which address.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use nearplay_netcode::{
    MatchId, MatchKey, MatchPlan, MemberSecret, PeerAddr, PlanPlayer, PlanSpectator,
};

use super::{ConnState, HostMachine, Member};

impl Member {
    /// The member's game address as the plan (and the roster) gives it: the
    /// host's own, and members on the host's machine, at `host_ip`.
    pub(super) fn plan_addr(&self, host_ip: IpAddr) -> SocketAddr {
        let mut addr = self.game_addr;
        if self.id == 0 || addr.ip().is_loopback() {
            addr.set_ip(host_ip);
        }
        addr
    }
}

impl HostMachine {
    /// Each member's handle in the plan, in member order: players take
    /// `0..P` in join order, spectators `P..` in join order.
    pub(super) fn plan_handles(&self) -> Vec<usize> {
        let players = self.members.iter().filter(|m| !m.spectator).count();
        let (mut next_player, mut next_spectator) = (0, players);
        self.members
            .iter()
            .map(|m| {
                let slot = if m.spectator {
                    &mut next_spectator
                } else {
                    &mut next_player
                };
                *slot += 1;
                *slot - 1
            })
            .collect()
    }

    pub(super) fn build_plan(&mut self) -> MatchPlan {
        let host_ip = self.host_ip();
        let mut players = Vec::new();
        let mut spectators = Vec::new();
        let mut member_secrets = BTreeMap::new();
        for (handle, m) in self.plan_handles().into_iter().zip(&self.members) {
            let addr = PeerAddr::Udp(m.plan_addr(host_ip));
            let name = m.name.clone();
            if m.spectator {
                spectators.push(PlanSpectator::relayed(handle, name, addr));
            } else {
                // The host's own seat cannot drop out of its own lobby.
                if m.id != 0 {
                    member_secrets.insert(handle, MemberSecret(self.rng.bytes32()));
                }
                players.push(PlanPlayer { handle, name, addr });
            }
        }
        MatchPlan {
            match_id: MatchId(self.rng.next_u64()),
            seed: self.rng.next_u64(),
            players,
            spectators,
            key: MatchKey(self.rng.bytes32()),
            key_epoch: 0,
            member_secrets,
            settings: self.config.settings.clone(),
            local_handle: 0,
        }
    }

    /// Members who play (not spectators).
    pub(super) fn players(&self) -> usize {
        self.members.iter().filter(|m| !m.spectator).count()
    }

    /// The host's address as members reach it: a non-loopback local address
    /// of a member connection if there is one, else loopback.
    pub(super) fn host_ip(&self) -> IpAddr {
        let locals = self
            .conns
            .values()
            .filter(|c| matches!(c.state, ConnState::Member(_)))
            .map(|c| c.local.ip());
        let mut best = None;
        for ip in locals {
            if !ip.is_loopback() {
                return ip;
            }
            best.get_or_insert(ip);
        }
        best.unwrap_or(IpAddr::from([127, 0, 0, 1]))
    }
}
