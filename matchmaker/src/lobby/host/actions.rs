//! The host's own actions on its lobby: its ready flag, chat, kick, start
//! and close.

use std::time::Instant;

use nearplay_netcode::MatchPlan;

use super::{ConnId, ConnState, HostEvent, HostMachine, LeaveReason, Phase, StartRefused};
use crate::lobby::message::{HostMsg, MAX_CHAT_CHARS, MemberId, sanitize};

impl HostMachine {
    /// The host's own ready flag.
    pub fn set_ready(&mut self, now: Instant, ready: bool) {
        if let Some(m) = self.members.first_mut()
            && m.ready != ready
        {
            m.ready = ready;
            self.roster_changed(now);
        }
    }

    /// The host says something in the chat.
    pub fn chat(&mut self, now: Instant, text: &str) {
        let name = self
            .members
            .first()
            .map(|m| m.name.clone())
            .unwrap_or_default();
        self.broadcast_chat(now, 0, name, sanitize(text, MAX_CHAT_CHARS));
    }

    /// Removes member `id` (not the host); `false` if there is no such member.
    pub fn kick(&mut self, now: Instant, id: MemberId) -> bool {
        let Some(m) = self.members.iter().find(|m| m.id == id && id != 0) else {
            return false;
        };
        if let Some(conn) = m.conn {
            self.send(now, conn, &HostMsg::Kicked);
            self.close_conn(now, conn);
        }
        self.remove_member(now, id, LeaveReason::Kicked);
        true
    }

    /// Starts the match: builds the one [`MatchPlan`], sends every member its
    /// copy (with only its own member secret) and returns the host's (handle
    /// 0). Handles follow join order, players first, then spectators (who
    /// need not be ready). Member connections stay open: the lobby is the
    /// match's control channel until it is closed.
    pub fn start(&mut self, now: Instant) -> Result<MatchPlan, StartRefused> {
        if self.phase != Phase::Open {
            return Err(StartRefused::NotOpen);
        }
        let not_ready: Vec<String> = self
            .members
            .iter()
            .filter(|m| !m.ready && !m.spectator)
            .map(|m| m.name.clone())
            .collect();
        if !not_ready.is_empty() {
            return Err(StartRefused::NotReady(not_ready));
        }
        let plan = self.build_plan();
        self.phase = Phase::InMatch;
        let handles = self.plan_handles();
        for (m, handle) in self.members.iter_mut().zip(handles) {
            m.handle = Some(handle);
            m.secret = plan.member_secrets.get(&handle).cloned();
        }
        let members: Vec<(usize, Option<ConnId>)> = self
            .members
            .iter()
            .map(|m| (m.handle.unwrap_or_default(), m.conn))
            .collect();
        for (handle, conn) in members {
            if let Some(conn) = conn {
                self.send(now, conn, &HostMsg::Start(plan.for_member(handle)));
            }
        }
        let ours = plan.for_member(0);
        self.plan = Some(plan);
        self.push_event(HostEvent::Started(ours.clone()));
        Ok(ours)
    }

    /// Closes the lobby: every member gets `Closed`.
    pub fn close(&mut self, now: Instant) {
        if self.phase == Phase::Closed {
            return;
        }
        self.phase = Phase::Closed;
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in conns {
            if matches!(
                self.conns.get(&conn).map(|c| &c.state),
                Some(ConnState::Member(_))
            ) {
                self.send(now, conn, &HostMsg::Closed);
            }
            self.close_conn(now, conn);
        }
        self.push_event(HostEvent::Closed);
    }
}
