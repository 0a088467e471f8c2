//! Matchmaking for Bevy games (feature `bevy`): lobbies on the LAN or by
//! room code, and the rollback session they start, in bevy_ggrs's
//! conventions.
//!
//! [`NearplayPlugin`] is made of six sub-plugins:
//!
//! - [`LobbyPlugin`]: polls the lobby and the lobby list every frame (the
//!   handles never block), keeps the resources a game reads
//!   ([`AvailableLobbies`], [`CurrentLobby`], [`Roster`], [`ChatLog`]) and
//!   writes a message for what happened ([`LobbyJoined`],
//!   [`RosterChanged`], [`ChatReceived`], [`LobbyFailed`], [`LobbyClosed`],
//!   ...);
//! - [`MatchPlugin`]: when the lobby starts a match, builds the GGRS
//!   session over the transport the lobby handed over, inserts it with
//!   `RollbackFrameRate` set from the plan and [`CurrentMatch`], and writes
//!   [`MatchStarted`] once (a real signal: `resource_added::<Session>` is
//!   true every frame, as bevy_ggrs re-inserts the session);
//! - [`ForensicsPlugin`]: on a desync, writes this peer's report (the
//!   registered rollback state around the frame, the inputs, the seed) and
//!   sends [`DesyncReported`] (see [`NearplayPlugin::desync_reports`]);
//! - [`ResumePlugin`]: rejoin and late join of the running match (LAN):
//!   the next epoch's session beside the old one, bevy_ggrs held at the
//!   agreed frame, the state of the registered resume resources moved,
//!   [`MatchResumed`] once switched;
//! - [`ReconnectPlugin`]: a window that stayed open through a network
//!   drop takes its seat back (the lobby reconnects by itself; the plugin
//!   asks it to when the session lost every other player) and
//!   [`Reconnecting`] says so for a "reconnecting..." banner;
//! - `nearplay_netcode`'s [`NearplayNetPlugin`] (bevy_ggrs, stats, GGRS
//!   events as messages, the synchronisation deadline).
//!
//! Replays are two more plugins a game adds beside it: [`ReplayPlugin`]
//! records every match (the confirmed inputs, a [`FrameChecksum`] every N
//! frames; written where [`RecordReplays`] says) and sends the stream of
//! newly confirmed frames as [`ConfirmedFrames`] messages (what a
//! spectator feed ships); [`ReplayPlaybackPlugin`] plays a replay back
//! through the game's own `GgrsSchedule` at any speed, paused, seeked, or
//! verified against its checksums.
//!
//! A game acts through the [`LobbyCommands`] system parameter (host, join,
//! join by code, ready, chat, kick, start, leave, rematch, end the match)
//! and hangs its systems on [`NetState`] (browsing, in a lobby, in a match).
//!
//! ```no_run
//! use bevy::prelude::*;
//! use nearplay::bevy::prelude::*;
//!
//! type MyConfig = bevy_ggrs::GgrsConfig<u8, PeerAddr>;
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let host = std::env::args().any(|a| a == "host");
//!     App::new()
//!         .add_plugins(DefaultPlugins)
//!         .add_plugins(
//!             NearplayPlugin::<MyConfig>::new(MatchmakerConfig::new("my-game", "1.0"))?
//!                 .auto_ready(true)
//!                 .start_when_ready(2),
//!         )
//!         .add_systems(Update, matchmake(host).run_if(in_state(NetState::Browsing)))
//!         .add_systems(OnEnter(NetState::InMatch), spawn_players)
//!         .run();
//!     Ok(())
//! }
//!
//! /// Hosts, or joins the first lobby with a free seat the LAN shows.
//! fn matchmake(host: bool) -> impl FnMut(LobbyCommands, Res<AvailableLobbies>) {
//!     move |mut lobby, list| {
//!         if host {
//!             lobby.host(LobbySettings::new("my lobby", "Hana"));
//!         } else if let Some(entry) = list.joinable().next() {
//!             lobby.join(entry, PlayerSettings::new("Ada"));
//!         }
//!     }
//! }
//!
//! /// The session is in (`Res<Session<MyConfig>>`), and the plan.
//! fn spawn_players(current: Res<CurrentMatch>) {
//!     println!("{} players, we play handle {}", current.plan.players.len(), current.plan.local_handle);
//! }
//! ```
//!
//! Add the plugin after `DefaultPlugins` or `MinimalPlugins` (it adds
//! Bevy's `StatesPlugin` when nothing did yet) and after any plugin of the
//! game that adds `GgrsPlugin` or `NearplayNetPlugin` itself (it adds
//! them only when missing).
//!
//! Facts worth knowing:
//!
//! - The library binds the game socket and keeps it for the lobby's life:
//!   nothing to bind or thread through by hand; a rematch plays over the
//!   same socket (or WebRTC link).
//! - The lobby handle lives in the [`LobbyHandle`] resource (`Lobby` is
//!   `Send + Sync`); removing it (or [`LobbyCommands::leave`]) leaves the
//!   lobby, and closes it when hosting.
//! - Leaving a match safely: a peer that quits as soon as its own
//!   confirmed frame reaches N can leave the others without its inputs
//!   for frames before N. Linger until the confirmed frame is
//!   `input_delay + max_prediction + 1` past N before
//!   [`LobbyCommands::end_match`].

mod browse;
mod commands;
mod forensics;
mod lobby;
mod matches;
mod messages;
mod playback;
mod reconnect;
mod replay;
mod resume;
mod spectate;
mod vacancy;

use std::marker::PhantomData;

use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use bevy_ggrs::ggrs::Config;
use nearplay_matchmaker::{Matchmaker, MatchmakerConfig, MatchmakerError};
use nearplay_netcode::bevy::NearplayNetPlugin;
use nearplay_netcode::{LinkProfile, PeerAddr};

pub use browse::{AvailableLobbies, LobbyBrowser};
pub use commands::{LobbyCommands, MatchmakerRes};
pub use forensics::{DesyncReported, ForensicsAppExt, ForensicsOptions, ForensicsPlugin};
pub use lobby::{
    CHAT_LOG_LINES, ChatLine, ChatLog, CurrentLobby, LOBBY_EVENTS_PER_FRAME, LobbyHandle,
    LobbyPlugin, Roster,
};
pub use matches::{CurrentMatch, MatchPlugin};
pub use messages::{
    ChatReceived, LobbyClosed, LobbyFailed, LobbyJoined, LobbyNotice, LobbyOpened,
    MatchControlReceived, MatchFailed, MatchFailure, MatchStarted, MemberJoined, MemberLeft,
    RosterChanged,
};
pub use playback::{
    ChecksumMismatch, PlaybackMode, ReplayPlaybackPlugin, ReplayPlaybackState, ReplayReset,
    SEEK_FRAMES_PER_UPDATE, VERIFY_FRAMES_PER_UPDATE, start_playback, stop_playback,
};
pub use reconnect::{ReconnectPlugin, Reconnecting};
pub use replay::{
    ConfirmedFrames, FrameChecksum, LastReplay, REPLAY_EXTENSION, RecordReplays, ReplayGameRes,
    ReplayPlugin, ReplayRecording, ReplaySaveFailed, ReplaySaved, prune, record_match,
};
pub use resume::{
    MatchResumed, NextNetSession, ResumeFailed, ResumeHold, ResumeHook, ResumeHooks,
    ResumeHooksExt, ResumePlugin,
};
pub use spectate::SpectateStream;

/// The plugin: matchmaking, the match start and the rollback session.
///
/// `C` is the game's GGRS config; its address type is
/// [`PeerAddr`] (LAN UDP or WebRTC, whichever the lobby used).
pub struct NearplayPlugin<C> {
    /// The process's matchmaking context (created once, at start-up, so
    /// the LAN list is warm when the browser opens).
    pub matchmaker: Matchmaker,
    /// What the plugin does for the game: ready, start, impairment.
    pub options: MatchOptions,
    /// Where desync reports go (default: nowhere).
    pub forensics: ForensicsOptions,
    _config: PhantomData<fn() -> C>,
}

impl<C> NearplayPlugin<C> {
    /// A plugin with a new [`Matchmaker`] for `config` (starts the LAN
    /// daemon; its failure is not fatal: see `Matchmaker::lan_status`).
    pub fn new(config: MatchmakerConfig) -> Result<Self, MatchmakerError> {
        Ok(Self::with_matchmaker(Matchmaker::new(config)?))
    }

    /// A plugin over an existing [`Matchmaker`] (tests, or a game that
    /// also matchmakes outside Bevy).
    pub fn with_matchmaker(matchmaker: Matchmaker) -> Self {
        NearplayPlugin {
            matchmaker,
            options: MatchOptions::default(),
            forensics: ForensicsOptions::default(),
            _config: PhantomData,
        }
    }

    /// Sets every option at once.
    pub fn options(mut self, options: MatchOptions) -> Self {
        self.options = options;
        self
    }

    /// Ready up as soon as a lobby is joined or opened (default off).
    pub fn auto_ready(mut self, on: bool) -> Self {
        self.options.auto_ready = on;
        self
    }

    /// Hosts start the match when this many players (host included) are
    /// ready (default: the host starts it with [`LobbyCommands::start`]).
    pub fn start_when_ready(mut self, players: usize) -> Self {
        self.options.start_when_ready = Some(players);
        self
    }

    /// On a desync, write this peer's report into `dir` (created when
    /// needed); `game` names the game and its version in the report.
    /// Register the state to capture with
    /// [`ForensicsAppExt::forensic_resource`]. Default: no reports.
    pub fn desync_reports(mut self, dir: impl Into<std::path::PathBuf>, game: &str) -> Self {
        self.forensics = ForensicsOptions {
            dir: Some(dir.into()),
            game: game.to_string(),
        };
        self
    }

    /// Simulated latency, jitter and loss on game packets (default none).
    pub fn impairment(mut self, profile: LinkProfile) -> Self {
        self.options.impairment = Some(profile);
        self
    }
}

/// What the plugin does on the game's behalf. Defaults: nothing
/// automatic, no impairment, spectators fed with fanout 4, 10 s to reach
/// the other players.
#[derive(Resource, Clone, Debug)]
pub struct MatchOptions {
    /// Ready up in every lobby opened or joined (the lobby queues it until
    /// the host has welcomed us). A lobby's own settings can only add to it.
    pub auto_ready: bool,
    /// Hosts start by themselves when this many players, host included,
    /// are ready. `LobbySettings::start_when_ready` wins when set.
    pub start_when_ready: Option<usize>,
    /// Game packets go through the link conditioner (seeded by the plan's
    /// seed, so every peer's impairment is reproducible).
    pub impairment: Option<LinkProfile>,
    /// Bytes one player's input takes in the spectator stream (postcard,
    /// zero-padded). Default 4; a game with larger inputs raises it.
    pub spectate_input_size: usize,
    /// How long a new session may take to reach every other player (GGRS's
    /// handshake) before the plugin ends it with [`MatchFailed`] naming who
    /// could not be reached. Default 10 s
    /// ([`DEFAULT_SYNC_TIMEOUT`](nearplay_netcode::DEFAULT_SYNC_TIMEOUT)):
    /// a LAN game may give up sooner, one over slow links may wait longer.
    pub sync_timeout: std::time::Duration,
}

impl Default for MatchOptions {
    fn default() -> Self {
        MatchOptions {
            auto_ready: false,
            start_when_ready: None,
            impairment: None,
            spectate_input_size: 4,
            sync_timeout: nearplay_netcode::DEFAULT_SYNC_TIMEOUT,
        }
    }
}

/// Where the player is, to hang systems on (`OnEnter(NetState::InMatch)`,
/// `run_if(in_state(NetState::InLobby))`).
#[derive(States, Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum NetState {
    /// No lobby: [`AvailableLobbies`] is kept fresh.
    #[default]
    Browsing,
    /// A lobby is being opened or joined, or we are in it
    /// ([`CurrentLobby::phase`] tells which).
    InLobby,
    /// A match runs (the session and [`CurrentMatch`] are inserted).
    InMatch,
}

/// The plugin's systems, all in `Update`: the lobby is polled, then a
/// match it started is set up. Order the game's systems after them to see
/// this frame's messages.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NearplaySystems {
    /// Polls the lobby list and the lobby, writes messages and resources.
    Lobby,
    /// Builds and inserts the session of a match the lobby started.
    Match,
}

impl<C: Config<Address = PeerAddr>> Plugin for NearplayPlugin<C> {
    fn build(&self, app: &mut App) {
        if !app.is_plugin_added::<StatesPlugin>() {
            app.add_plugins(StatesPlugin);
        }
        app.configure_sets(
            Update,
            (NearplaySystems::Lobby, NearplaySystems::Match).chain(),
        )
        .insert_resource(commands::MatchmakerRes(self.matchmaker.clone()))
        .insert_resource(self.options.clone())
        .insert_resource(self.forensics.clone())
        .init_state::<NetState>()
        .add_plugins((
            LobbyPlugin,
            MatchPlugin::<C>::default(),
            ForensicsPlugin::<C>::default(),
            ResumePlugin::<C>::default(),
            ReconnectPlugin,
        ));
        if !app.is_plugin_added::<NearplayNetPlugin<C>>() {
            app.add_plugins(NearplayNetPlugin::<C>::default());
        }
    }
}

/// Everything a game needs, for `use nearplay::bevy::prelude::*`.
pub mod prelude {
    pub use super::{
        AvailableLobbies, ChatLine, ChatLog, ChatReceived, CurrentLobby, CurrentMatch,
        DesyncReported, ForensicsAppExt, ForensicsOptions, LobbyClosed, LobbyCommands, LobbyFailed,
        LobbyHandle, LobbyJoined, LobbyNotice, LobbyOpened, MatchFailed, MatchFailure,
        MatchOptions, MatchResumed, MatchStarted, MatchmakerRes, MemberJoined, MemberLeft,
        NearplayPlugin, NearplaySystems, NetState, Reconnecting, ResumeFailed, ResumeHooksExt,
        Roster, RosterChanged,
    };
    pub use super::{
        ConfirmedFrames, FrameChecksum, LastReplay, PlaybackMode, RecordReplays,
        ReplayPlaybackPlugin, ReplayPlaybackState, ReplayPlugin, ReplaySaved,
    };
    pub use nearplay_matchmaker::prelude::*;
    pub use nearplay_netcode::bevy::prelude::*;
    pub use nearplay_netcode::replay::{ReplayError, ReplayFile, ReplayGame, ReplayPlan};
    pub use nearplay_netcode::{LinkProfile, MatchPlan, PeerAddr};
}
