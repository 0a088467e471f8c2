//! The lobby during the match, as its control channel: seats vacated by a
//! dropped member, taken back with the seat's member secret (a rejoin),
//! taken by a newcomer (late join) or watched by a spectator who comes
//! late, and the key epochs that follow.
//!
//! Security: a rejoin names its seat and proves the seat's secret with
//! a keyed hash bound to its own channel ([`rejoin_proof`]); a wrong proof
//! is refused with [`RejectReason::BadRejoin`] and counts as a failed guess
//! for its source address (the same [`GuessLimiter`](crate::lobby::secure::limits::GuessLimiter)
//! ladder as passwords). When a player seat changes hands the host makes a
//! new match key (epoch + 1) and sends it only to the members connected
//! now: a member who left for good never learns it.

use std::net::SocketAddr;
use std::time::Instant;

use nearplay_netcode::{MatchKey, MemberSecret, PeerAddr, PlanPlayer, PlanSpectator};

use super::arrivals::Arrival;
use super::{ConnId, ConnState, HostEvent, HostMachine, LeaveReason, Phase, clean_name};
use crate::lobby::message::{
    Hello, HostMsg, MemberId, RejectReason, RejoinRequest, SeatChange, SeatNews, rejoin_proof,
};

impl HostMachine {
    /// A hello during the match, or one that asks for a seat back: a rejoin,
    /// a late joiner (if the lobby keeps seats open) or a spectator.
    pub(super) fn hello_in_match(&mut self, now: Instant, conn: ConnId, hello: Hello) {
        if let Some(request) = &hello.rejoin {
            return self.handle_rejoin(now, conn, &hello, request);
        }
        let max_players = usize::from(self.config.max_players);
        // Spectator seats are never reused (a handle that left stays in the
        // relay tree, so nobody re-attaches), so the bound counts every seat
        // the match gave out, not the spectators connected now.
        let given = self.plan.as_ref().map_or(0, |p| p.spectators.len());
        let spectators = self
            .members
            .iter()
            .filter(|m| m.spectator)
            .count()
            .max(given);
        let refusal = if hello.spectator {
            (spectators >= nearplay_netcode::MAX_SPECTATORS).then_some(RejectReason::Full {
                max: nearplay_netcode::MAX_SPECTATORS as u16,
            })
        } else if !self.config.late_join {
            Some(RejectReason::AlreadyStarted)
        } else {
            (self.players() >= max_players).then_some(RejectReason::Full {
                max: self.config.max_players,
            })
        };
        if let Some(reason) = refusal {
            return self.reject(now, conn, reason);
        }
        if clean_name(&hello.name).is_empty() {
            return self.reject(now, conn, RejectReason::InvalidName);
        }
        if let Some(id) = self.admit_member(now, conn, &hello) {
            self.seat_newcomer(now, id);
        }
    }

    /// A claim on a vacant seat: admitted back into it (same handle, same
    /// name) if the proof matches the seat's secret on this channel.
    fn handle_rejoin(&mut self, now: Instant, conn: ConnId, hello: &Hello, req: &RejoinRequest) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let peer = c.peer;
        let Some(fingerprint) = c.channel.as_ref().map(|ch| ch.fingerprint()) else {
            return self.reject(now, conn, RejectReason::BadRejoin);
        };
        if let Err(wait) = self.guesses.check(now, peer.ip()) {
            let ms = u32::try_from(wait.as_millis()).unwrap_or(u32::MAX).max(1);
            return self.reject(
                now,
                conn,
                RejectReason::TooManyGuesses { retry_after_ms: ms },
            );
        }
        let handle = usize::from(req.handle);
        // A seat still held by a connection is taken over too: its member
        // is back before its drop was noticed (a reconnecting window, a
        // quick restart), and only it holds the secret.
        let seat = self.members.iter().position(|m| {
            m.handle == Some(handle)
                && !m.spectator
                && m.secret.as_ref().is_some_and(|s| {
                    // blake3's Hash compares in constant time.
                    blake3::Hash::from(rejoin_proof(s, &fingerprint))
                        == blake3::Hash::from(req.proof)
                })
        });
        let Some(pos) = seat.filter(|_| self.phase == Phase::InMatch) else {
            let (failures, retry_after) = self.guesses.failed(now, peer.ip());
            self.push_event(HostEvent::GuessFailed {
                peer,
                failures,
                retry_after,
            });
            return self.reject(now, conn, RejectReason::BadRejoin);
        };
        if let Some(stale) = self.members.get(pos).and_then(|m| m.conn) {
            self.close_conn(now, stale);
        }
        let game_addr = SocketAddr::new(peer.ip(), hello.game_port);
        let Some(m) = self.members.get_mut(pos) else {
            return;
        };
        m.conn = Some(conn);
        m.vacant = false;
        m.ready = true;
        m.game_addr = game_addr;
        m.fingerprint = Some(fingerprint);
        let (id, name) = (m.id, m.name.clone());
        if let Some(c) = self.conns.get_mut(&conn) {
            c.state = ConnState::Member(id);
        }
        let addr = self.seat_addr(id);
        if let Some(p) = self.plan.as_mut().and_then(|p| p.players.get_mut(handle)) {
            p.addr = PeerAddr::Udp(addr);
        }
        self.welcome(now, conn, id, &name);
        self.push_event(HostEvent::MemberJoined {
            id,
            name: name.clone(),
            fingerprint,
        });
        // The others hear who sits where before the key that goes with it
        // (once a resume in progress is over: `arrivals`).
        let arrival = Arrival {
            id,
            handle,
            name,
            addr,
            change: SeatChange::Retaken,
        };
        self.seat_arrived(now, arrival);
        self.roster_changed(now);
    }

    /// A member admitted during the match gets a seat of its own: a new
    /// player seat (late join, then a new key epoch) or a spectator's.
    fn seat_newcomer(&mut self, now: Instant, id: MemberId) {
        let addr = PeerAddr::Udp(self.seat_addr(id));
        let Some(pos) = self.members.iter().position(|m| m.id == id) else {
            return;
        };
        let Some(plan) = self.plan.as_mut() else {
            return;
        };
        let (spectator, name) = match self.members.get(pos) {
            Some(m) => (m.spectator, m.name.clone()),
            None => return,
        };
        let handle = if spectator {
            let handle = plan.players.len() + plan.spectators.len();
            plan.spectators
                .push(PlanSpectator::relayed(handle, name.clone(), addr));
            handle
        } else {
            // A new player seat: spectators' handles follow the players'.
            let handle = plan.players.len();
            for s in &mut plan.spectators {
                s.handle += 1;
                s.host_handle += 1;
            }
            for m in self.members.iter_mut().filter(|m| m.spectator) {
                m.handle = m.handle.map(|h| h + 1);
            }
            plan.players.push(PlanPlayer {
                handle,
                name: name.clone(),
                addr,
            });
            let secret = MemberSecret(self.rng.bytes32());
            plan.member_secrets.insert(handle, secret.clone());
            if let Some(m) = self.members.get_mut(pos) {
                m.secret = Some(secret);
            }
            handle
        };
        if let Some(m) = self.members.get_mut(pos) {
            m.handle = Some(handle);
            m.ready = true;
        }
        let PeerAddr::Udp(socket) = addr else {
            return;
        };
        let change = match spectator {
            true => SeatChange::Watching,
            false => SeatChange::Taken,
        };
        if spectator {
            self.seat_news(now, handle, name, socket, change, Some(id));
            self.send_plan(now, id);
        } else {
            let arrival = Arrival {
                id,
                handle,
                name,
                addr: socket,
                change,
            };
            self.seat_arrived(now, arrival);
        }
        self.roster_changed(now);
    }

    /// Member `pos` dropped out of the running match: a player's seat stays,
    /// vacant, for a rejoin (a kicked player's secret is forgotten: it may
    /// not come back); a spectator simply leaves.
    pub(super) fn vacate_seat(&mut self, now: Instant, pos: usize, reason: LeaveReason) {
        let host_ip = self.host_ip();
        let Some(m) = self.members.get_mut(pos) else {
            return;
        };
        let (id, name, handle) = (m.id, m.name.clone(), m.handle);
        let Some(handle) = handle.filter(|_| !m.spectator) else {
            let addr = m.plan_addr(host_ip);
            self.members.remove(pos);
            self.events.push_back(HostEvent::MemberLeft {
                id,
                name: name.clone(),
                reason,
            });
            // The stream's members stop feeding it (and its children
            // re-attach at once rather than after the feed timeout).
            if let Some(handle) = handle.filter(|_| self.phase == Phase::InMatch) {
                self.seat_news(now, handle, name, addr, SeatChange::Left, None);
            }
            return self.roster_changed(now);
        };
        m.conn = None;
        m.vacant = true;
        m.ready = false;
        if reason == LeaveReason::Kicked {
            m.secret = None;
        }
        let addr = m.plan_addr(host_ip);
        self.push_event(HostEvent::MemberLeft {
            id,
            name: name.clone(),
            reason,
        });
        self.seat_news(now, handle, name, addr, SeatChange::Vacated, None);
        self.roster_changed(now);
    }

    /// A new match key, epoch + 1, to every member connected now (the
    /// host's game through an event); those in `but` get it inside their
    /// plans.
    pub(super) fn rekey(&mut self, now: Instant, but: &[MemberId]) {
        let key = MatchKey(self.rng.bytes32());
        let Some(plan) = self.plan.as_mut() else {
            return;
        };
        plan.key = key.clone();
        plan.key_epoch = plan.key_epoch.saturating_add(1);
        let epoch = plan.key_epoch;
        let msg = HostMsg::Rekey {
            epoch,
            key: key.clone(),
        };
        let conns: Vec<ConnId> = self
            .members
            .iter()
            .filter(|m| !but.contains(&m.id))
            .filter_map(|m| m.conn)
            .collect();
        for conn in conns {
            self.send(now, conn, &msg);
        }
        self.push_event(HostEvent::Rekeyed { epoch, key });
    }

    /// Sends member `id` its copy of the running match's plan.
    pub(super) fn send_plan(&mut self, now: Instant, id: MemberId) {
        let Some(m) = self.members.iter().find(|m| m.id == id) else {
            return;
        };
        let (Some(conn), Some(handle)) = (m.conn, m.handle) else {
            return;
        };
        if let Some(plan) = self.plan.as_ref().map(|p| p.for_member(handle)) {
            self.send(now, conn, &HostMsg::Start(plan));
        }
    }

    /// Tells every connected member but `but` (and the host's game) the news.
    pub(super) fn seat_news(
        &mut self,
        now: Instant,
        handle: usize,
        name: String,
        addr: SocketAddr,
        change: SeatChange,
        but: Option<MemberId>,
    ) {
        let news = SeatNews {
            handle: u16::try_from(handle).unwrap_or(u16::MAX),
            name,
            addr,
            change,
        };
        let conns: Vec<ConnId> = self
            .members
            .iter()
            .filter(|m| Some(m.id) != but)
            .filter_map(|m| m.conn)
            .collect();
        for conn in conns {
            self.send(now, conn, &HostMsg::Seat(news.clone()));
        }
        self.push_event(HostEvent::Seat(news));
    }

    /// Member `id`'s game address as the plan gives it.
    fn seat_addr(&self, id: MemberId) -> SocketAddr {
        let host_ip = self.host_ip();
        self.members
            .iter()
            .find(|m| m.id == id)
            .map(|m| m.plan_addr(host_ip))
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The names of the running match's vacant player seats, in handle
    /// order (for the LAN advertisement).
    pub fn vacant_seats(&self) -> Vec<String> {
        let mut seats: Vec<(usize, String)> = self
            .members
            .iter()
            .filter(|m| m.vacant)
            .filter_map(|m| Some((m.handle?, m.name.clone())))
            .collect();
        seats.sort();
        seats.into_iter().map(|(_, n)| n).collect()
    }
}
