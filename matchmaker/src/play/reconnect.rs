//! A window that stayed open comes back by itself (issue 13): when a
//! player's connection to its LAN host drops during the match (the host
//! went silent past the idle timeout, the connection was reset) or its
//! session lost every other player ([`Lobby::reconnect`]), the lobby joins
//! the same host again with the seat's member secret from its own plan
//! (the proof a [`RejoinTicket`](super::RejoinTicket) gives a restarted
//! game), retrying with backoff under a deadline. The host takes it back
//! into its seat as for any rejoin; the match resumes through the
//! newcomer's path ([`MatchStart::is_resume`](super::MatchStart::is_resume),
//! then [`ResumeStep::Load`](super::ResumeStep::Load)).
//!
//! The game hears [`MatchControl::Reconnecting`] before each try,
//! [`MatchControl::Reconnected`] once the host took it back (a resumed
//! [`LobbyEvent::MatchStarted`] follows), or
//! [`MatchControl::ReconnectGaveUp`] and then [`MatchControl::Ended`].
//!
//! Security: nothing new on the wire. A reconnect is a rejoin: the secret
//! never travels, the hello carries a proof bound to the new channel, and
//! the host's per-address guess limiter counts every miss. A refusal of the
//! proof ([`JoinError::BadRejoin`]) ends the tries at once: the seat is not
//! ours any more (kicked, or the match is over), and guessing on would only
//! feed the limiter.
//!
//! The schedule ([`ReconnectPolicy`](super::ReconnectPolicy), `Reconnector`) is pure, in
//! `reconnect_schedule.rs`; the `impl Lobby` below is its thin shell over
//! the TCP client.

use std::time::Instant;

use crate::lobby::client::{CloseReason, JoinError, RejoinClaim};
use crate::lobby::tcp::LobbyClient;

use nearplay_netcode::{GameTransport, MatchPlan};

use super::backend::Backend;
use super::events::{
    LobbyActionError, LobbyError, LobbyEvent, LobbyPhase, MatchControl, MatchStart,
};
use super::lobby::Lobby;
use super::reconnect_schedule::{AfterFailure, Reconnector};

impl Lobby {
    /// Drops the connection to the host and takes our seat back over a
    /// new one, as after a drop: for a game whose session lost every other
    /// player while the lobby still looked connected (a network that came
    /// back before the lobby's idle timeout). Events as for a drop; the
    /// first try starts at once. Only a LAN member playing a match, with
    /// reconnecting on; a no-op while a reconnect already runs.
    pub fn reconnect(&mut self) -> Result<(), LobbyActionError> {
        if self.phase != LobbyPhase::InMatch || self.host {
            return Err(LobbyActionError::CannotReconnect);
        }
        if self.reconnect.as_ref().is_some_and(Reconnector::running) {
            return Ok(());
        }
        if self.seat_claim().is_none() {
            return Err(LobbyActionError::CannotReconnect);
        }
        let now = Instant::now();
        let Some(r) = self.reconnect.as_mut() else {
            return Err(LobbyActionError::CannotReconnect);
        };
        if !r.lost(now, CloseReason::Disconnected) {
            return Err(LobbyActionError::CannotReconnect);
        }
        r.try_now(now);
        // The old connection goes (its goodbye, if it gets through, only
        // vacates the seat we are taking back).
        self.core().backend = Backend::Gone;
        self.try_reconnect_now();
        Ok(())
    }

    /// Whether a reconnect runs now (the game may show "reconnecting").
    pub fn is_reconnecting(&self) -> bool {
        self.reconnect.as_ref().is_some_and(Reconnector::running)
    }

    /// The connection to the host ended during the match: reconnect if we
    /// can (`true`), else the caller ends the control channel.
    pub(super) fn reconnect_after(&mut self, reason: &CloseReason) -> bool {
        let droppable = matches!(
            reason,
            CloseReason::HostGone | CloseReason::Disconnected | CloseReason::Protocol(_)
        );
        if !droppable || self.seat_claim().is_none() {
            return false;
        }
        let now = Instant::now();
        let Some(r) = self.reconnect.as_mut() else {
            return false;
        };
        if !r.lost(now, reason.clone()) {
            return false;
        }
        self.core().backend = Backend::Gone;
        true
    }

    /// Starts the try that is due, if one is (called by every poll).
    pub(super) fn try_reconnect_now(&mut self) {
        if self.phase != LobbyPhase::InMatch {
            return;
        }
        let now = Instant::now();
        let Some(attempt) = self.reconnect.as_mut().and_then(|r| r.due(now)) else {
            return;
        };
        let (Some((name, claim)), Some(r)) = (self.seat_claim(), self.reconnect.as_ref()) else {
            return self.give_up(now, &JoinError::BadRejoin);
        };
        let config = r.attempt_config(&name, claim);
        let client = LobbyClient::join(r.host, config);
        self.core().backend = Backend::LanClient(client);
        self.push(LobbyEvent::Control(MatchControl::Reconnecting { attempt }));
    }

    /// A try failed: the next one is scheduled, or we give up.
    pub(super) fn reconnect_failed(&mut self, error: &JoinError) {
        let now = Instant::now();
        let Some(r) = self.reconnect.as_mut().filter(|r| r.running()) else {
            return;
        };
        let after = r.failed(now, error);
        self.core().backend = Backend::Gone;
        if after == AfterFailure::GiveUp {
            self.give_up(now, error);
        }
    }

    /// The host took us back into our seat (its plan follows).
    pub(super) fn reconnected(&mut self) {
        let now = Instant::now();
        let Some(r) = self.reconnect.as_mut() else {
            return;
        };
        if let Some((after, attempts, _)) = r.finish(now) {
            r.awaiting_plan = true;
            self.push(LobbyEvent::Control(MatchControl::Reconnected {
                attempts,
                after,
            }));
        }
    }

    /// The plan of the match we reconnected to: the newcomer's resume, on
    /// the next key epoch's transport over the same game socket (the old
    /// session may still run on its own until the game drops it).
    /// Returns `false` if no reconnect waited for a plan.
    pub(super) fn reseated(&mut self, plan: &MatchPlan) -> bool {
        match self.reconnect.as_mut() {
            Some(r) if r.awaiting_plan => r.awaiting_plan = false,
            _ => return false,
        }
        let core = self.core();
        let transport = match (&core.resumes.share, &core.socket) {
            (Some(share), _) => share.next_epoch(plan).map_err(LobbyError::from),
            (None, Some(socket)) => socket
                .try_clone()
                .map_err(|e| LobbyError::Socket(e.to_string()))
                .and_then(|s| GameTransport::udp(s, plan).map_err(LobbyError::from)),
            (None, None) => Err(LobbyError::Stopped),
        };
        match transport {
            Ok(transport) => {
                self.last_plan = Some(plan.clone());
                let mut start = MatchStart::new(plan.clone(), transport);
                if start.is_resume() {
                    start.vacant = self.begin_newcomer(&start.plan);
                }
                self.push(LobbyEvent::MatchStarted(start));
            }
            Err(e) => {
                self.push(LobbyEvent::Notice(format!(
                    "back in the seat, but no transport for the match: {e}"
                )));
                self.push(LobbyEvent::Control(MatchControl::Ended(
                    CloseReason::Disconnected,
                )));
            }
        }
        true
    }

    fn give_up(&mut self, now: Instant, error: &JoinError) {
        let Some((after, attempts, reason)) = self.reconnect.as_mut().and_then(|r| r.finish(now))
        else {
            return;
        };
        self.core().backend = Backend::Gone;
        self.push(LobbyEvent::Control(MatchControl::ReconnectGaveUp {
            attempts,
            after,
            error: error.clone(),
        }));
        self.push(LobbyEvent::Control(MatchControl::Ended(reason)));
    }

    /// Our seat's name and claim, from the running match's plan (a player
    /// seat whose plan holds its secret).
    fn seat_claim(&self) -> Option<(String, RejoinClaim)> {
        let plan = self.last_plan.as_ref()?;
        let name = plan.local_player()?.name.clone();
        let claim = RejoinClaim {
            handle: u16::try_from(plan.local_handle).ok()?,
            secret: plan.member_secret()?.clone(),
        };
        Some((name, claim))
    }
}
