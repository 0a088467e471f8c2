//! What the game tells the matchmaker: its id and version, which network
//! interfaces to use, what a player's lobby looks like, and the options of
//! the command line. The lobby itself is `nearplay::bevy`'s.

use std::time::Duration;

use bevy::prelude::*;
use nearplay::bevy::MatchOptions;
use nearplay_matchmaker::lan::Interfaces;
use nearplay_matchmaker::{LobbySettings, Matchmaker, MatchmakerConfig, PlayerSettings};
use nearplay_netcode::{LinkProfile, NetSettings};

use crate::cli::Shared;
use crate::prefs::Prefs;

/// The game id lobbies advertise: other games' lobbies show as incompatible.
pub const GAME_ID: &str = "nearplay-bumper";
/// The game version: lobbies of another version show as incompatible.
pub const GAME_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The interfaces `--interface` names: all, lo, or a comma-separated list.
pub fn interfaces(interface: &str) -> Interfaces {
    match interface {
        "all" => Interfaces::All,
        "lo" | "loopback" => Interfaces::LoopbackOnly,
        names => Interfaces::Named(names.split(',').map(str::to_string).collect()),
    }
}

/// The process's matchmaker: LAN discovery on `interface`, and the
/// rendezvous server of the command line, if any.
pub fn matchmaker(interface: &str, server: Option<String>) -> Result<Matchmaker, String> {
    let mut config = MatchmakerConfig::new(GAME_ID, GAME_VERSION);
    config.lan = Some(interfaces(interface));
    config.rendezvous = server;
    Matchmaker::new(config).map_err(|e| e.to_string())
}

/// `base` with `server` as its rendezvous server (the LAN daemon shared),
/// or `base` itself when it already uses that server.
pub fn with_server(base: &Matchmaker, server: &str) -> Result<Matchmaker, String> {
    if base.config().rendezvous.as_deref() == Some(server) {
        return Ok(base.clone());
    }
    let mut config = base.config().clone();
    config.rendezvous = Some(server.to_string());
    let made = match base.discovery() {
        Some(discovery) => Matchmaker::with_discovery(config, discovery.clone()),
        None => {
            config.lan = None;
            Matchmaker::new(config)
        }
    };
    made.map_err(|e| format!("cannot use {server}: {e}"))
}

/// Network options from the command line.
#[derive(Resource, Clone, Debug, Default)]
pub struct NetOptions {
    /// Simulated impairment of game packets, if asked for.
    pub sim: Option<LinkProfile>,
    /// The local player is an AI.
    pub bot: bool,
    /// Ready up and (host) start without a click: headless and bot runs.
    pub auto: bool,
    /// Host: start when this many players are ready.
    pub start_at: Option<usize>,
    /// How long a match's start may take to reach every player (`None`:
    /// the plugin's default).
    pub sync_timeout: Option<Duration>,
}

impl NetOptions {
    /// Options from the shared CLI flags.
    pub fn from_cli(shared: &Shared) -> Self {
        let sim =
            (shared.sim_latency > 0 || shared.sim_jitter > 0 || shared.sim_loss > 0.0).then(|| {
                LinkProfile::latency(
                    Duration::from_millis(u64::from(shared.sim_latency)),
                    Duration::from_millis(u64::from(shared.sim_jitter)),
                )
                .with_loss(f64::from(shared.sim_loss.clamp(0.0, 100.0)) / 100.0)
            });
        NetOptions {
            sim,
            bot: shared.bot,
            auto: shared.headless || shared.bot,
            start_at: None,
            sync_timeout: shared.sync_timeout.map(Duration::from_secs),
        }
    }

    /// What the plugin does for us: ready up (and start, hosting) in auto
    /// mode, the simulated impairment and the sync timeout.
    pub fn match_options(&self) -> MatchOptions {
        let defaults = MatchOptions::default();
        MatchOptions {
            auto_ready: self.auto,
            start_when_ready: self.start_at.filter(|_| self.auto),
            impairment: self.sim,
            sync_timeout: self.sync_timeout.unwrap_or(defaults.sync_timeout),
            ..defaults
        }
    }
}

/// The lobby a player's preferences ask for (LAN; `.online(..)` for a room).
pub fn lobby_settings(prefs: &Prefs) -> LobbySettings {
    let lobby_name = prefs
        .lobby_name
        .clone()
        .unwrap_or_else(|| format!("{}'s game", prefs.name));
    let mut settings = LobbySettings::new(&lobby_name, &prefs.name);
    settings.max_players = u16::from(prefs.players);
    settings.password = prefs.password.clone();
    settings.late_join = prefs.late_join;
    settings.mode = "arena".into();
    settings.net = NetSettings {
        input_delay: prefs.input_delay,
        spectate_fanout: prefs.spectate_fanout,
        ..NetSettings::default()
    };
    // The host readies like anyone (the lobby screen's button), unless the
    // plugin's auto-ready does it.
    settings.host_ready = false;
    settings
}

/// Who we are when joining, with the password typed (if any).
pub fn player_settings(prefs: &Prefs, password: Option<&str>) -> PlayerSettings {
    let player = PlayerSettings::new(&prefs.name);
    match password {
        Some(password) => player.password(password),
        None => player,
    }
}
