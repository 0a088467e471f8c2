//! # nearplay_demo
//!
//! Bumper discs on a shrinking ice platform: the nearplay demo game, as a
//! library (so tests and benchmarks drive the same code) and the binary
//! `nearplay-demo`.
//!
//! | module | job |
//! |---|---|
//! | [`sim`] | the deterministic game: [`sim::ArenaState`] and [`sim::step`], integer fixed point |
//! | [`bots`] | deterministic AI inputs |
//! | [`rollback`] | the game inside bevy_ggrs: rollback schedule, inputs, checksum log |
//! | [`net`], [`lobby_flow`], [`online`], [`match_setup`] | the game's side of lobbies and matches (the rest is `nearplay::bevy`'s plugin) |
//! | [`screen`] | the screen on show, a leaf every module may name |
//! | [`screens`], [`ui`], [`effects`], [`overlay`] | what a player sees |
//! | [`report`], [`headless`], [`lobbies`], [`cli`] | scripted and terminal use |
//! | [`desync`] | desync reports: where they go, `desync-diff`, `--inject-desync` (tests) |
//! | [`replays`], [`replay_view`] | every match recorded; `replay FILE` (window or `--verify`) |
//! | [`harness`] | SyncTest app for determinism tests and benchmarks |
//!
//! The simulation runs without Bevy or a network:
//!
//! ```
//! use nearplay_demo::bots::bot_input;
//! use nearplay_demo::sim::{step, ArenaState, Phase};
//!
//! let mut state = ArenaState::new(2, 7);
//! for _ in 0..600 {
//!     let inputs: Vec<_> = (0..2).map(|h| bot_input(&state, h)).collect();
//!     step(&mut state, &inputs);
//! }
//! assert_eq!(state.frame, 600);
//! assert!(!matches!(state.phase, Phase::Countdown { .. }));
//! ```
#![forbid(unsafe_code)]
// Bevy system parameters are long by nature (Bevy's own advice).
#![allow(clippy::type_complexity)]

pub mod bots;
pub mod cli;
pub mod desync;
pub mod effects;
pub mod harness;
pub mod headless;
pub mod lobbies;
pub mod lobby_flow;
pub mod local;
pub mod match_setup;
pub mod net;
pub mod online;
pub mod overlay;
pub mod prefs;
pub mod rejoin;
pub mod replay_view;
pub mod replays;
pub mod report;
pub mod rollback;
pub mod screen;
pub mod screens;
pub mod sim;
pub mod text_entry;
pub mod ui;
pub mod watch;
