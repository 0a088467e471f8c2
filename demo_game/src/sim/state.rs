//! The rolled-back game state and the per-frame input.

use bevy::prelude::Resource;
use serde::{Deserialize, Serialize};

use super::rng::SimRng;

/// Fixed-point sub-units per pixel.
pub const UNIT: i32 = 256;
/// Disc radius in sub-units.
pub const DISC_RADIUS: i32 = 22 * UNIT;
/// Platform radius at the start of a round.
pub const ARENA_START_RADIUS: i32 = 300 * UNIT;
/// The platform never shrinks below this.
pub const ARENA_MIN_RADIUS: i32 = 110 * UNIT;
/// Rounds a player must win to win the match.
pub const ROUNDS_TO_WIN: u8 = 3;
/// Frames of "3, 2, 1" before a round (60 fps).
pub const COUNTDOWN_FRAMES: u16 = 150;
/// Frames the round result stays up.
pub const ROUND_OVER_FRAMES: u16 = 150;
/// Frames of play before the platform starts to shrink.
pub const SHRINK_AFTER_FRAMES: u32 = 8 * 60;

/// One frame of one player's controls, as bits: sent over the network by GGRS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PlayerInput(pub u8);

impl PlayerInput {
    /// Steer up.
    pub const UP: u8 = 1 << 0;
    /// Steer down.
    pub const DOWN: u8 = 1 << 1;
    /// Steer left.
    pub const LEFT: u8 = 1 << 2;
    /// Steer right.
    pub const RIGHT: u8 = 1 << 3;
    /// Dash: a burst of speed in the steering direction.
    pub const DASH: u8 = 1 << 4;

    /// Whether `bit` is pressed.
    pub fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    /// The steering direction as (-1..=1, -1..=1), y up.
    pub fn direction(self) -> (i32, i32) {
        let x = i32::from(self.has(Self::RIGHT)) - i32::from(self.has(Self::LEFT));
        let y = i32::from(self.has(Self::UP)) - i32::from(self.has(Self::DOWN));
        (x, y)
    }
}

/// A player's disc.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Disc {
    /// Position in sub-units, platform centre at (0, 0), y up.
    pub pos: (i32, i32),
    /// Velocity in sub-units per frame.
    pub vel: (i32, i32),
    /// Still on the platform this round.
    pub alive: bool,
    /// Frames until the next dash is allowed.
    pub dash_cooldown: u16,
    /// Counts down from a hit; the renderer flashes and sprays particles.
    pub hit_flash: u8,
    /// Frames since the disc fell (drives the falling animation).
    pub fallen_for: u16,
}

/// Where the match is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Phase {
    /// Counting down to the start of a round.
    Countdown {
        /// Frames left.
        left: u16,
    },
    /// Discs are moving.
    Playing,
    /// A round ended; `winner` is `None` for a draw.
    RoundOver {
        /// The round's winner.
        winner: Option<u8>,
        /// Frames until the next round (or the end of the match).
        left: u16,
    },
    /// A player reached [`ROUNDS_TO_WIN`].
    MatchOver {
        /// The match's winner.
        winner: u8,
    },
}

/// The complete game state: snapshotted by bevy_ggrs and checksummed.
#[derive(Resource, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ArenaState {
    /// Frames simulated since the match began.
    pub frame: u32,
    /// The round being played, from 1.
    pub round: u8,
    /// Frames played in this round (after the countdown).
    pub round_frames: u32,
    /// Current platform radius in sub-units.
    pub arena_radius: i32,
    /// One disc per player, by handle.
    pub discs: Vec<Disc>,
    /// Rounds won, by handle.
    pub scores: Vec<u8>,
    /// Where the match is.
    pub phase: Phase,
    /// Seeded RNG (spawn angles).
    pub rng: SimRng,
    /// Total disc-disc hits so far (sounds, stats).
    pub hits: u32,
}

impl ArenaState {
    /// A new match for `players` players, seeded from the match plan.
    pub fn new(players: usize, seed: u64) -> Self {
        let mut state = ArenaState {
            frame: 0,
            round: 1,
            round_frames: 0,
            arena_radius: ARENA_START_RADIUS,
            discs: Vec::with_capacity(players),
            scores: vec![0; players],
            phase: Phase::Countdown {
                left: COUNTDOWN_FRAMES,
            },
            rng: SimRng::new(seed),
            hits: 0,
        };
        super::rules::place_discs(&mut state, players);
        state
    }

    /// A player who joined the running match (late join) gets a disc that
    /// sits out the round being played (it is placed with the others at
    /// the next round) and no score yet. Every member does this at the same
    /// frame, so the state stays the same everywhere.
    pub fn seat_late_player(&mut self) {
        self.discs.push(Disc {
            pos: (0, 0),
            vel: (0, 0),
            alive: false,
            dash_cooldown: 0,
            hit_flash: 0,
            fallen_for: 0,
        });
        self.scores.push(0);
    }

    /// Number of players.
    pub fn players(&self) -> usize {
        self.discs.len()
    }

    /// Handles of the discs still on the platform.
    pub fn alive(&self) -> impl Iterator<Item = usize> + '_ {
        self.discs
            .iter()
            .enumerate()
            .filter(|(_, d)| d.alive)
            .map(|(i, _)| i)
    }

    /// A 64-bit checksum of the whole state (what desync detection compares).
    pub fn checksum(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::hash::DefaultHasher::new();
        self.hash(&mut hasher);
        hasher.finish()
    }
}

/// Frames a disc flashes after a hard bump.
pub const HIT_FLASH_FRAMES: u8 = 14;
