//! Bevy integration over bevy_ggrs 0.22 (feature `bevy`).
//!
//! [`NearplayNetPlugin`] adds bevy_ggrs's [`GgrsPlugin`] (unless the game
//! added it already), and around it:
//!
//! - [`NetStatsRes`]: a [`NetStats`] snapshot refreshed every frame (ping,
//!   kbps, frames ahead, rollback histogram, drops by reason);
//! - [`NetMessage`]: every GGRS event as a Bevy message ([`NetEvent`]);
//! - rollback counting: depth of every `LoadWorld`, without touching the
//!   game's rollback schedule;
//! - a synchronisation deadline: when the monitor's
//!   [`SyncWatch`](crate::sync::SyncWatch) expires with peers unreached,
//!   the plugin removes the session and its monitor (GGRS would retry
//!   forever) and sends [`NetSyncFailed`] naming them, for the game to show.
//!
//! The plugin drains the session's GGRS events every frame: read them as
//! [`NetMessage`]s, not with `session.events()`. Ticks stalled at the
//! prediction limit are not visible through bevy_ggrs, so
//! [`NetStats::frames_stalled`] stays 0 here.
//!
//! Rejoin and late join: [`resume`] carries registered resources as a
//! resume state and swaps to the next epoch's session at the switch frame.
//!
//! Start a match with [`NetCommandsExt::start_net_session`], which inserts
//! the session as `bevy_ggrs::Session::P2P` plus the [`NetMonitor`]:
//!
//! ```ignore
//! app.add_plugins(NearplayNetPlugin::<MyConfig>::default());
//! // later, when the lobby hands over the plan:
//! let transport = UdpTransport::from_plan(socket, &plan)?;
//! let (session, monitor) = NetSessionBuilder::<MyConfig>::from_plan(&plan).build_monitored(transport)?;
//! commands.start_net_session(session, monitor);
//! // anywhere: fn overlay(stats: Res<NetStatsRes>, mut events: MessageReader<NetMessage>) { .. }
//! ```

use std::marker::PhantomData;
use std::time::Instant;

use bevy::ecs::message::Message;
use bevy::prelude::*;
use bevy_ggrs::{
    AdvanceWorld, AdvanceWorldSystems, GgrsPlugin, LoadWorld, RollbackFrameCount, RunGgrsSystems,
    Session,
};
use ggrs::{Config, P2PSession};

pub mod resume;
pub mod resume_entities;

use crate::addr::PeerAddr;
use crate::stats::{NetEvent, NetMonitor, NetStats};
use crate::sync::SyncTimeout;

/// The plugin: bevy_ggrs plus nearplay's stats, events and rollback counts.
pub struct NearplayNetPlugin<C> {
    _config: PhantomData<fn() -> C>,
}

impl<C> Default for NearplayNetPlugin<C> {
    fn default() -> Self {
        NearplayNetPlugin {
            _config: PhantomData,
        }
    }
}

/// The latest [`NetStats`] of the running session (default while none runs).
#[derive(Resource, Debug, Clone, Default, Deref)]
pub struct NetStatsRes(pub NetStats);

/// A network event of the running session, as a Bevy message.
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq, Deref)]
pub struct NetMessage(pub NetEvent);

/// The session could not reach every peer before its sync deadline; the
/// plugin has removed the session. Show the error (it names the peers).
#[derive(Message, Debug, Clone, PartialEq, Eq, Deref)]
pub struct NetSyncFailed(pub SyncTimeout);

/// The session's [`NetMonitor`], inserted with the session.
#[derive(Resource, Debug, Deref, DerefMut)]
pub struct NetMonitorRes(pub NetMonitor);

/// The newest simulation frame reached, to measure rollback depth.
#[derive(Resource, Debug, Default)]
struct FrameTracker {
    frame: i32,
}

impl<C: Config<Address = PeerAddr>> Plugin for NearplayNetPlugin<C> {
    fn build(&self, app: &mut App) {
        if !app.is_plugin_added::<GgrsPlugin<C>>() {
            app.add_plugins(GgrsPlugin::<C>::default());
        }
        app.add_message::<NetMessage>()
            .add_message::<NetSyncFailed>()
            .init_resource::<NetStatsRes>()
            .init_resource::<FrameTracker>()
            .add_systems(LoadWorld, record_rollback)
            .add_systems(AdvanceWorld, record_frame.after(AdvanceWorldSystems::Main))
            .add_systems(PreUpdate, publish_stats::<C>.after(RunGgrsSystems));
    }
}

/// Runs in `LoadWorld`: bevy_ggrs has set the frame counter to the loaded
/// frame; the distance from the newest frame is the rollback depth.
fn record_rollback(
    loaded: Res<RollbackFrameCount>,
    mut tracker: ResMut<FrameTracker>,
    monitor: Option<ResMut<NetMonitorRes>>,
) {
    let depth = u64::try_from(tracker.frame.saturating_sub(loaded.0)).unwrap_or(0);
    if let Some(mut m) = monitor {
        m.record_rollback(depth);
    }
    tracker.frame = loaded.0;
}

/// Runs after each simulated frame.
fn record_frame(
    frame: Res<RollbackFrameCount>,
    mut tracker: ResMut<FrameTracker>,
    monitor: Option<ResMut<NetMonitorRes>>,
) {
    tracker.frame = frame.0;
    if let Some(mut m) = monitor {
        m.record_frame(frame.0);
    }
}

/// After bevy_ggrs ran: drain GGRS events into messages, refresh the
/// stats, and end a session that missed its sync deadline.
fn publish_stats<C: Config<Address = PeerAddr>>(
    mut commands: Commands,
    session: Option<ResMut<Session<C>>>,
    monitor: Option<ResMut<NetMonitorRes>>,
    mut stats: ResMut<NetStatsRes>,
    mut messages: MessageWriter<NetMessage>,
    mut failures: MessageWriter<NetSyncFailed>,
) {
    let Some(mut session) = session else { return };
    let Session::P2P(p2p) = &mut *session else {
        return;
    };
    let now = Instant::now();
    let mut events = Vec::new();
    if let Some(mut m) = monitor {
        events = m.drain_events(p2p);
        if let Err(timeout) = m.check_sync(p2p, &events, now) {
            commands.remove_resource::<Session<C>>();
            commands.remove_resource::<NetMonitorRes>();
            failures.write(NetSyncFailed(timeout));
        }
        stats.0 = m.snapshot(p2p, now);
    }
    messages.write_batch(events.into_iter().map(NetMessage));
}

/// Starting a nearplay session from a system (`Commands`) or with
/// exclusive access (`World`).
pub trait NetCommandsExt {
    /// Inserts `session` as `bevy_ggrs::Session::P2P` and its monitor.
    fn start_net_session<C: Config<Address = PeerAddr>>(
        &mut self,
        session: P2PSession<C>,
        monitor: NetMonitor,
    );
}

impl NetCommandsExt for Commands<'_, '_> {
    fn start_net_session<C: Config<Address = PeerAddr>>(
        &mut self,
        session: P2PSession<C>,
        monitor: NetMonitor,
    ) {
        self.insert_resource(FrameTracker::default());
        self.insert_resource(NetStatsRes::default());
        self.insert_resource(NetMonitorRes(monitor));
        self.insert_resource(Session::P2P(session));
    }
}

impl NetCommandsExt for World {
    fn start_net_session<C: Config<Address = PeerAddr>>(
        &mut self,
        session: P2PSession<C>,
        monitor: NetMonitor,
    ) {
        self.insert_resource(FrameTracker::default());
        self.insert_resource(NetStatsRes::default());
        self.insert_resource(NetMonitorRes(monitor));
        self.insert_resource(Session::P2P(session));
    }
}

/// Bevy types of this crate, for `use nearplay_netcode::bevy::prelude::*`.
pub mod prelude {
    pub use super::resume::{NetFrameOffset, ResumeAppExt, SwapSessionExt};
    pub use super::{
        NearplayNetPlugin, NetCommandsExt, NetMessage, NetMonitorRes, NetStatsRes, NetSyncFailed,
    };
}
