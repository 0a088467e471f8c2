//! [`ReconnectPlugin`]: a game whose window stayed open takes its seat
//! back by itself (issue 13). The lobby reconnects on its own when its
//! connection to the host drops
//! ([`ReconnectPolicy`](nearplay_matchmaker::ReconnectPolicy), on by
//! default); this plugin adds the other half: when the *session* lost
//! every other player the lobby still counts as present (a network that
//! came back before the lobby's idle timeout noticed), it asks the lobby
//! to reconnect ([`Lobby::reconnect`](nearplay_matchmaker::Lobby::reconnect)).
//! Either way the match resumes as a rejoin: the plugin's
//! [`MatchStarted`](super::MatchStarted) of the resumed match, then
//! [`MatchResumed`](super::MatchResumed) with `newcomer`.
//!
//! A game shows "reconnecting..." from [`Reconnecting`] (or from the
//! [`MatchControlReceived`] messages it is kept from:
//! `MatchControl::Reconnecting`, `Reconnected`, `ReconnectGaveUp`).

use std::collections::BTreeSet;

use bevy::prelude::*;
use nearplay_matchmaker::{LobbyPhase, MatchControl};
use nearplay_netcode::bevy::NetMessage;
use nearplay_netcode::{NetEvent, PeerAddr};

use super::lobby::LobbyHandle;
use super::matches::CurrentMatch;
use super::messages::{MatchControlReceived, MatchStarted};
use super::resume::MatchResumed;

/// Asks the lobby to reconnect when the session lost every other player.
/// Part of [`NearplayPlugin`](super::NearplayPlugin).
pub struct ReconnectPlugin;

/// Whether our lobby is taking our seat back now, and its last try (for a
/// "reconnecting..." banner). Present while [`LobbyHandle`] is.
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reconnecting {
    /// A reconnect runs.
    pub active: bool,
    /// Its latest try (from 1), 0 before the first.
    pub attempt: u32,
}

/// What the session lost since it started, and the seats the lobby
/// reported vacant (their loss is theirs, not ours).
#[derive(Resource, Debug, Default)]
struct CutOff {
    lost: BTreeSet<PeerAddr>,
    vacant: BTreeSet<usize>,
    asked: bool,
}

impl Plugin for ReconnectPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Reconnecting>()
            .init_resource::<CutOff>()
            .add_systems(
                Update,
                (follow_reconnect, reconnect_when_cut_off)
                    .chain()
                    .after(super::NearplaySystems::Lobby)
                    .before(super::NearplaySystems::Match),
            );
    }
}

/// Keeps [`Reconnecting`] in step with the lobby's news.
fn follow_reconnect(
    mut news: MessageReader<MatchControlReceived>,
    mut state: ResMut<Reconnecting>,
) {
    for MatchControlReceived(n) in news.read() {
        match n {
            MatchControl::Reconnecting { attempt } => {
                info!("nearplay: reconnecting to the host (try {attempt})");
                *state = Reconnecting {
                    active: true,
                    attempt: *attempt,
                };
            }
            MatchControl::Reconnected { attempts, after } => {
                info!(
                    "nearplay: back in our seat after {} ms ({attempts} tries)",
                    after.as_millis()
                );
                *state = Reconnecting::default();
            }
            MatchControl::ReconnectGaveUp {
                attempts, error, ..
            } => {
                warn!("nearplay: gave up reconnecting after {attempts} tries: {error}");
                *state = Reconnecting::default();
            }
            _ => {}
        }
    }
}

/// The session lost every remote player the lobby did not report vacant:
/// we are the one cut off, so take the seat back over a new connection.
fn reconnect_when_cut_off(
    mut events: MessageReader<NetMessage>,
    mut news: MessageReader<MatchControlReceived>,
    (mut started, mut resumed): (MessageReader<MatchStarted>, MessageReader<MatchResumed>),
    mut cut: ResMut<CutOff>,
    current: Option<Res<CurrentMatch>>,
    lobby: Option<ResMut<LobbyHandle>>,
) {
    if started.read().count() + resumed.read().count() > 0 {
        // A new session: nothing lost yet.
        *cut = CutOff::default();
    }
    for MatchControlReceived(n) in news.read() {
        match n {
            MatchControl::SeatVacated { handle, .. } => {
                cut.vacant.insert(*handle);
            }
            MatchControl::SeatRetaken { handle, .. } => {
                cut.vacant.remove(handle);
            }
            _ => {}
        }
    }
    for NetMessage(event) in events.read() {
        if let NetEvent::PeerDisconnected { peer } = event {
            cut.lost.insert(*peer);
        }
    }
    let (Some(current), Some(mut lobby)) = (current, lobby) else {
        return;
    };
    if cut.asked || lobby.is_host() || lobby.phase() != LobbyPhase::InMatch {
        return;
    }
    let plan = &current.plan;
    let mut others = plan
        .players
        .iter()
        .filter(|p| p.handle != plan.local_handle && !cut.vacant.contains(&p.handle))
        .peekable();
    if others.peek().is_none() || !others.all(|p| cut.lost.contains(&p.addr)) {
        return;
    }
    cut.asked = true;
    if lobby.is_reconnecting() {
        return;
    }
    match lobby.reconnect() {
        Ok(()) => info!("nearplay: the session lost every other player: reconnecting"),
        Err(e) => info!("nearplay: the session lost every other player ({e})"),
    }
}
