//! Spectators in the plugin: the [`SpectateStream`] resource of a match.
//!
//! A player's plugin records the inputs each frame was simulated with
//! (inside `GgrsSchedule`, so a re-simulation overwrites them), hands the
//! confirmed ones to its [`SpectateNode`] and serves its children over the
//! game socket; players never wait on it (see
//! [`nearplay_netcode::spectate`]). A spectator's plugin builds no session:
//! it follows the relay tree, and the game simulates from
//! [`SpectateStream::inputs`] a few frames behind the players.

use std::time::Instant;

use bevy::prelude::*;
use bevy_ggrs::ggrs::Config;
use bevy_ggrs::{ConfirmedFrameCount, PlayerInputs, RollbackFrameCount};
use nearplay_matchmaker::MatchControl;
use nearplay_netcode::spectate::{
    ConfirmedHistory, FrameShape, InputFeed, RelayTree, SpectateConfig, SpectateError,
    SpectateMember, SpectateNode, SpectatePort, SpectateSocket,
};
use nearplay_netcode::{MatchPlan, PeerAddr};

use super::messages::MatchControlReceived;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The spectator stream of the match being played or watched.
#[derive(Resource, Debug)]
pub struct SpectateStream {
    node: SpectateNode,
    socket: SpectateSocket,
    /// Players only: inputs waiting for confirmation.
    feed: Option<InputFeed>,
    input_size: usize,
    players: usize,
    /// Members are at UDP addresses (the LAN): the lobby's news of a late
    /// spectator names one.
    udp: bool,
}

impl SpectateStream {
    /// The stream of the local member of `plan` over `port`: fanout `k`,
    /// each player's input encoded (postcard, zero-padded) in `input_size`
    /// bytes.
    pub fn open(
        plan: &MatchPlan,
        port: SpectatePort,
        fanout: usize,
        input_size: usize,
    ) -> Result<Self, SpectateError> {
        let shape = FrameShape::new(plan.players.len(), input_size)?;
        let tree = RelayTree::from_plan(plan, fanout)?;
        let config = SpectateConfig::with_fanout(fanout);
        let socket = SpectateSocket::from_plan(port, plan, shape, config.max_frames)?;
        let me =
            u16::try_from(plan.local_handle).map_err(|_| SpectateError::BadRoster("handle"))?;
        let node = SpectateNode::new(me, tree, shape, config, Instant::now())?;
        Ok(SpectateStream {
            node,
            socket,
            feed: plan.local_player().map(|_| InputFeed::new(shape)),
            input_size,
            players: plan.players.len(),
            udp: plan
                .players
                .iter()
                .all(|p| matches!(p.addr, PeerAddr::Udp(_))),
        })
    }

    /// Whether we watch (rather than play).
    pub fn is_spectator(&self) -> bool {
        self.feed.is_none()
    }

    /// The confirmed frames held.
    pub fn history(&self) -> &ConfirmedHistory {
        self.node.history()
    }

    /// The node (stats, feed, end of match).
    pub fn node(&self) -> &SpectateNode {
        &self.node
    }

    /// Bytes this member uploaded to the stream.
    pub fn bytes_sent(&self) -> u64 {
        self.socket.bytes_sent()
    }

    /// The inputs of every player at confirmed frame `frame`, decoded;
    /// `None` if not held yet or not decodable.
    pub fn inputs<I: DeserializeOwned>(&self, frame: u32) -> Option<Vec<I>> {
        let bytes = self.node.history().frame(frame)?;
        bytes
            .chunks_exact(self.input_size)
            .take(self.players)
            .map(|chunk| postcard::take_from_bytes::<I>(chunk).ok().map(|(i, _)| i))
            .collect()
    }

    /// Players: records the inputs frame `frame` was simulated with.
    fn record<I: Serialize>(&mut self, frame: u32, inputs: &[I]) {
        let Some(feed) = self.feed.as_mut() else {
            return;
        };
        let mut bytes = vec![0u8; self.input_size * self.players];
        for (input, slot) in inputs.iter().zip(bytes.chunks_exact_mut(self.input_size)) {
            if postcard::to_slice(input, slot).is_err() {
                warn_once!("nearplay: an input does not fit the spectate input size");
            }
        }
        if let Err(e) = feed.record(frame, &bytes) {
            warn_once!("nearplay: spectate stream: {e}");
        }
    }

    /// A spectator came while the match runs (the lobby's news, which only
    /// the host can give): the relay tree grows by it, so its parent
    /// serves it from frame 0 and nobody else re-attaches. Refused (nothing
    /// changes) for a handle that is not the next one, an address already
    /// a member's, or past the bound of spectators.
    pub fn add_spectator(&mut self, handle: usize, addr: PeerAddr) -> Result<(), SpectateError> {
        if !self.udp || !matches!(addr, PeerAddr::Udp(_)) {
            return Err(SpectateError::BadRoster("late spectators are LAN only"));
        }
        let handle = u16::try_from(handle).map_err(|_| SpectateError::BadRoster("handle"))?;
        // Checked before either changes, so both stay in step.
        self.node.tree().with_spectator(handle)?;
        self.socket.add_member(SpectateMember { handle, addr })?;
        self.node.add_spectator(handle)
    }

    /// A spectator stopped watching (the lobby's news): fed no more.
    pub fn spectator_left(&mut self, handle: usize) {
        if let Ok(handle) = u16::try_from(handle) {
            self.node.spectator_left(handle);
            self.socket.remove_member(handle);
        }
    }

    /// Players: the match ended after `frames` frames (spectators get `End`).
    pub fn end(&mut self, frames: u32) {
        self.node.end(frames);
    }
}

/// Inside `GgrsSchedule`: the inputs of the frame being simulated.
pub(crate) fn record_inputs<C: Config>(
    stream: Option<ResMut<SpectateStream>>,
    frame: Option<Res<RollbackFrameCount>>,
    inputs: Option<Res<PlayerInputs<C>>>,
) {
    let (Some(mut stream), Some(frame), Some(inputs)) = (stream, frame, inputs) else {
        return;
    };
    // bevy_ggrs counts the frame before running the schedule.
    let Ok(frame) = u32::try_from(frame.0 - 1) else {
        return;
    };
    let inputs: Vec<C::Input> = inputs.iter().map(|(input, _)| *input).collect();
    stream.record(frame, &inputs);
}

/// Every update: confirmed frames to the node, then one turn of the shell.
pub(crate) fn pump_stream(
    stream: Option<ResMut<SpectateStream>>,
    confirmed: Option<Res<ConfirmedFrameCount>>,
) {
    let Some(mut stream) = stream else { return };
    let stream = &mut *stream;
    if let (Some(feed), Some(confirmed)) = (stream.feed.as_mut(), confirmed)
        && let Ok(confirmed) = u32::try_from(confirmed.0)
        && let Err(e) = feed.confirm(confirmed, &mut stream.node)
    {
        warn_once!("nearplay: spectate stream: {e}");
    }
    stream.socket.pump(&mut stream.node, Instant::now());
}

/// Every update, before the pump: spectators who came or left during the
/// match (the lobby's news) join or leave the stream.
pub(crate) fn follow_spectators(
    stream: Option<ResMut<SpectateStream>>,
    mut news: MessageReader<MatchControlReceived>,
) {
    let Some(mut stream) = stream else {
        news.clear();
        return;
    };
    for MatchControlReceived(control) in news.read() {
        match control {
            MatchControl::SeatTaken {
                handle,
                name,
                addr,
                spectator: true,
            } => match stream.add_spectator(*handle, PeerAddr::Udp(*addr)) {
                Ok(()) => info!("nearplay: {name} watches the match (handle {handle})"),
                Err(e) => warn!("nearplay: spectator {name} not in the stream: {e}"),
            },
            MatchControl::SpectatorLeft { handle, .. } => stream.spectator_left(*handle),
            _ => {}
        }
    }
}
