//! [`MatchPlugin`]: from the lobby's match start to a running bevy_ggrs
//! session.

use bevy::prelude::*;
use bevy_ggrs::ggrs::{Config, P2PSession};
use bevy_ggrs::{GgrsSchedule, RollbackFrameRate, Session};
use nearplay_matchmaker::MatchStart;
use nearplay_netcode::bevy::{NetCommandsExt, NetMonitorRes, NetSyncFailed};
use nearplay_netcode::{MatchPlan, NetMonitor, PeerAddr, SessionError};
use std::marker::PhantomData;

use super::lobby::{LobbyHandle, PendingMatch};
use super::messages::{MatchFailed, MatchFailure, MatchStarted};
use super::spectate::{self, SpectateStream};
use super::{MatchOptions, NearplaySystems, NetState};

/// Builds the session of a match the lobby started and inserts it with
/// `RollbackFrameRate(plan.settings.fps)` and [`CurrentMatch`]; turns a
/// missed synchronisation deadline into [`MatchFailed`]. Part of
/// [`NearplayPlugin`](super::NearplayPlugin).
pub struct MatchPlugin<C> {
    _config: PhantomData<fn() -> C>,
}

impl<C> Default for MatchPlugin<C> {
    fn default() -> Self {
        MatchPlugin {
            _config: PhantomData,
        }
    }
}

impl<C: Config<Address = PeerAddr>> Plugin for MatchPlugin<C> {
    fn build(&self, app: &mut App) {
        app.add_message::<MatchStarted>()
            .add_message::<MatchFailed>()
            .insert_resource(MatchTeardown(teardown::<C>))
            .add_systems(
                Update,
                (
                    start_match::<C>,
                    unreachable_match,
                    spectate::follow_spectators,
                    spectate::pump_stream,
                )
                    .chain()
                    .in_set(NearplaySystems::Match),
            )
            .add_systems(GgrsSchedule, spectate::record_inputs::<C>);
    }
}

/// The match being played: its plan (players, seed, settings, our handle).
/// Inserted with the session, removed when the match ends.
#[derive(Resource, Debug, Clone)]
pub struct CurrentMatch {
    /// The plan every member holds.
    pub plan: MatchPlan,
}

/// Removes the session of the game's config type (for the non-generic
/// [`LobbyCommands`](super::LobbyCommands)).
#[derive(Resource)]
pub(crate) struct MatchTeardown(pub fn(&mut World));

fn teardown<C: Config<Address = PeerAddr>>(world: &mut World) {
    world.remove_resource::<Session<C>>();
    world.remove_resource::<NetMonitorRes>();
    world.remove_resource::<CurrentMatch>();
    world.remove_resource::<SpectateStream>();
}

fn start_match<C: Config<Address = PeerAddr>>(
    mut commands: Commands,
    mut pending: ResMut<PendingMatch>,
    options: Res<MatchOptions>,
    mut started: MessageWriter<MatchStarted>,
    mut failed: MessageWriter<MatchFailed>,
    mut next: ResMut<NextState<NetState>>,
) {
    let Some(mut start) = pending.0.take() else {
        return;
    };
    let plan = start.plan.clone();
    // A rematch: the last match's session goes first (its transport reads
    // the same socket or link).
    commands.queue(teardown::<C>);
    if plan.local_player().is_none() {
        // A spectator: no session; the relay tree feeds it.
        let stream = start
            .transport
            .into_spectate_port()
            .ok_or_else(|| "this transport carries no spectator stream".to_string())
            .and_then(|port| {
                SpectateStream::open(
                    &plan,
                    port,
                    usize::from(plan.settings.spectate_fanout),
                    options.spectate_input_size,
                )
                .map_err(|e| e.to_string())
            });
        match stream {
            Ok(stream) => {
                info!(
                    "nearplay: watching a match of {} players",
                    plan.players.len()
                );
                commands.insert_resource(stream);
                commands.insert_resource(CurrentMatch { plan: plan.clone() });
                started.write(MatchStarted { plan });
                next.set(NetState::InMatch);
            }
            Err(e) => {
                warn!("nearplay: cannot watch the match: {e}");
                failed.write(MatchFailed(MatchFailure::Spectate(e)));
                NextState::set_if_neq(&mut next, NetState::InLobby);
            }
        }
        return;
    }
    // Always: a spectator may come while the match runs.
    if let Some(Ok(port)) = start.transport.spectate_port() {
        match SpectateStream::open(
            &plan,
            port,
            usize::from(plan.settings.spectate_fanout),
            options.spectate_input_size,
        ) {
            Ok(stream) => commands.insert_resource(stream),
            Err(e) => warn!("nearplay: no spectator stream: {e}"),
        }
    }
    if start.is_resume() {
        // A rejoin or late join: the session waits for the state
        // (`ResumePlugin` builds it and starts it at the agreed frame).
        info!(
            "nearplay: seated in a running match as handle {}",
            plan.local_handle
        );
        commands.insert_resource(super::resume::PendingNewcomer(Some(start)));
        commands.insert_resource(RollbackFrameRate(plan.settings.fps));
        commands.insert_resource(CurrentMatch { plan: plan.clone() });
        started.write(MatchStarted { plan });
        next.set(NetState::InMatch);
        return;
    }
    match build_session::<C>(start, &options) {
        Ok((session, monitor)) => {
            info!(
                "nearplay: match started, {} players, we are handle {}",
                plan.players.len(),
                plan.local_handle
            );
            commands.start_net_session(session, monitor);
            commands.insert_resource(RollbackFrameRate(plan.settings.fps));
            commands.insert_resource(CurrentMatch { plan: plan.clone() });
            started.write(MatchStarted { plan });
            next.set(NetState::InMatch);
        }
        Err(e) => {
            warn!("nearplay: the match could not start: {e}");
            failed.write(MatchFailed(MatchFailure::Session(e)));
            NextState::set_if_neq(&mut next, NetState::InLobby);
        }
    }
}

/// The session of `start` with the options' impairment, and their
/// [`sync_timeout`](MatchOptions::sync_timeout) on its handshake.
pub(crate) fn build_session<C: Config<Address = PeerAddr>>(
    start: MatchStart,
    options: &MatchOptions,
) -> Result<(P2PSession<C>, NetMonitor), SessionError> {
    start.into_session_within::<C>(options.impairment, options.sync_timeout)
}

/// The netcode plugin removed a session that never reached every peer:
/// say so as [`MatchFailed`] and go back to the lobby (or browsing).
fn unreachable_match(
    mut commands: Commands,
    mut failures: MessageReader<NetSyncFailed>,
    lobby: Option<Res<LobbyHandle>>,
    mut failed: MessageWriter<MatchFailed>,
    mut next: ResMut<NextState<NetState>>,
) {
    let Some(NetSyncFailed(timeout)) = failures.read().last() else {
        return;
    };
    commands.remove_resource::<CurrentMatch>();
    failed.write(MatchFailed(MatchFailure::Unreachable(timeout.clone())));
    NextState::set_if_neq(
        &mut next,
        if lobby.is_some() {
            NetState::InLobby
        } else {
            NetState::Browsing
        },
    );
}
