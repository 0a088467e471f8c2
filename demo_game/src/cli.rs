//! The command line: `nearplay-demo [FLAGS] [host|join|lobbies|local|replay|desync-diff]`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Bumper discs on a shrinking ice platform: a LAN game with no server.
///
/// With no command, opens the window at the main menu.
#[derive(Parser, Debug, Clone)]
#[command(name = "nearplay-demo", version, about, long_about = None)]
pub struct Cli {
    /// What to do; the main menu when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Flags every command understands.
    #[command(flatten)]
    pub shared: Shared,
}

/// The subcommands.
#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Host a LAN lobby and start the match when enough players are ready.
    Host(HostArgs),
    /// Join a LAN lobby by name, or the first compatible one.
    Join(JoinArgs),
    /// Watch a match as a spectator: a LAN lobby (by name, or the first
    /// compatible one), or an online room (`--code CODE --rendezvous URL`).
    Spectate(JoinArgs),
    /// List the lobbies on the LAN (what the browser screen shows).
    Lobbies(LobbiesArgs),
    /// Two players on one keyboard (WASD + Space, arrows + Enter), no network.
    Local,
    /// Compare two peers' desync reports: the first state fields that
    /// differ (resource, field path, both values) and the first frame
    /// whose inputs differ.
    DesyncDiff(DesyncDiffArgs),
    /// Play a recorded match in the window (1x, 2x, 4x, pause, seek), or
    /// check it headless with `--verify`.
    Replay(ReplayArgs),
}

/// `desync-diff` arguments.
#[derive(Args, Debug, Clone)]
pub struct DesyncDiffArgs {
    /// The first peer's report.
    pub a: PathBuf,
    /// The second peer's report.
    pub b: PathBuf,
}

/// `replay` flags.
#[derive(Args, Debug, Clone)]
pub struct ReplayArgs {
    /// The replay file (`--record FILE`, or one in the data directory).
    pub file: PathBuf,
    /// Re-simulate without a window and check every recorded checksum:
    /// exit 0 and print the final checksum, or print the first frame that
    /// differs and exit 1. A refused file exits 2.
    #[arg(long)]
    pub verify: bool,
}

/// `host` flags.
#[derive(Args, Debug, Clone)]
pub struct HostArgs {
    /// Lobby name shown in browsers (default: "<name>'s game").
    #[arg(long)]
    pub lobby: Option<String>,
    /// Players in the match (2 to 4); the match starts when all are ready.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(2..=4))]
    pub players: u8,
    /// Password joiners must give (never sent in clear).
    #[arg(long)]
    pub password: Option<String>,
    /// Host a room on this rendezvous server (`host:port`) instead of the
    /// LAN; friends join with the room code it prints.
    #[arg(long, value_name = "URL")]
    pub online: Option<String>,
    /// Keep the free seats open after the start: a player who joins the
    /// running match takes one (late join, LAN).
    #[arg(long)]
    pub late_join: bool,
    /// Start when this many players are ready (default: `--players`); with
    /// `--late-join` the other seats stay open for later.
    #[arg(long, value_parser = clap::value_parser!(u8).range(2..=4))]
    pub start_with: Option<u8>,
}

/// `join` flags.
#[derive(Args, Debug, Clone)]
pub struct JoinArgs {
    /// Lobby to join; the first compatible lobby when omitted.
    #[arg(long)]
    pub lobby: Option<String>,
    /// The lobby's password.
    #[arg(long)]
    pub password: Option<String>,
    /// Join the online room with this code (with `--rendezvous`).
    #[arg(long, requires = "rendezvous")]
    pub code: Option<String>,
    /// The rendezvous server of `--code` (`host:port`).
    #[arg(long, value_name = "URL")]
    pub rendezvous: Option<String>,
}

/// `lobbies` flags.
#[derive(Args, Debug, Clone)]
pub struct LobbiesArgs {
    /// One JSON object per lobby instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Keep listing changes until interrupted.
    #[arg(long)]
    pub watch: bool,
    /// List the public rooms of this rendezvous server instead of the LAN.
    #[arg(long, value_name = "URL")]
    pub rendezvous: Option<String>,
    /// How long to listen before printing, in milliseconds.
    #[arg(long, default_value_t = 1500)]
    pub wait_ms: u64,
}

/// Flags shared by every command.
#[derive(Args, Debug, Clone)]
pub struct Shared {
    /// Your player name.
    #[arg(long, global = true)]
    pub name: Option<String>,
    /// No window: play in the terminal process (for bots, tests, servers).
    #[arg(long, global = true)]
    pub headless: bool,
    /// Let a deterministic AI play for you.
    #[arg(long, global = true)]
    pub bot: bool,
    /// Leave after N confirmed frames of the match.
    #[arg(long, global = true)]
    pub frames: Option<u32>,
    /// Write a JSON report of the match to FILE when leaving.
    #[arg(long, global = true)]
    pub report: Option<PathBuf>,
    /// Also write the match's replay to FILE (every match is recorded to
    /// the data directory anyway; with --frames N, up to frame N).
    #[arg(long, global = true, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Frames of local input delay (host's choice applies to the match).
    #[arg(long, global = true)]
    pub input_delay: Option<usize>,
    /// Most spectators one player streams to; the others relay (host's
    /// choice applies to the match).
    #[arg(long, global = true, default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..=32))]
    pub spectate_fanout: u16,
    /// Simulated extra one-way latency on game packets, in ms.
    #[arg(long, global = true, default_value_t = 0)]
    pub sim_latency: u32,
    /// Simulated jitter on game packets, in ms.
    #[arg(long, global = true, default_value_t = 0)]
    pub sim_jitter: u32,
    /// Simulated loss of game packets, in percent.
    #[arg(long, global = true, default_value_t = 0.0)]
    pub sim_loss: f32,
    /// Network interfaces for LAN discovery: all, lo, or an interface name.
    #[arg(long, global = true, default_value = "all")]
    pub interface: String,
    /// Give up on lobby discovery and joining after this many seconds.
    #[arg(long, global = true, default_value_t = 30)]
    pub timeout: u64,
    /// Give up on a match whose players cannot all be reached (the
    /// handshake at its start) after this many seconds; default 10.
    #[arg(long, global = true, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub sync_timeout: Option<u64>,
    /// With --headless: play the match N times faster than real time (1 to
    /// 8), for tests. Every player of a match should use the same N; GGRS's
    /// timeouts (sync, disconnect) stay in real seconds.
    #[arg(long, global = true, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=8))]
    pub speed: u8,
    /// Where this peer writes its report when a desync is detected
    /// (default: the user's data directory, nearplay/desyncs).
    #[arg(long, global = true, value_name = "DIR")]
    pub desync_dir: Option<PathBuf>,
    /// TEST ONLY: corrupt this peer's game state after frame FRAME (moves
    /// a disc by one pixel), so the other peers detect a desync and every
    /// peer writes a report. Never use it in a real match.
    #[arg(long, global = true, value_name = "FRAME")]
    pub inject_desync: Option<u32>,
}

impl Shared {
    /// The player name, or one made from the user name.
    pub fn player_name(&self) -> String {
        self.name
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "Player".to_string())
    }

    /// Whether any simulated impairment was asked for.
    pub fn simulates_network(&self) -> bool {
        self.sim_latency > 0 || self.sim_jitter > 0 || self.sim_loss > 0.0
    }
}
