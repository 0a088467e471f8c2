//! The deterministic game: bumper discs on a shrinking ice platform.
//!
//! Everything that affects the game lives in one plain value, [`ArenaState`],
//! in integer fixed point ([`UNIT`] sub-units per pixel), advanced by the pure
//! function [`step`]. bevy_ggrs snapshots that one resource, so a rollback
//! cannot miss a piece of state, and tests drive the simulation with no Bevy.
//!
//! - `state.rs`: the state, discs, phases, the input bits
//! - `physics.rs`: movement, friction, dash, disc-disc collisions
//! - `rules.rs`: rounds, the shrinking platform, falling, scoring
//! - `rng.rs`: the seeded RNG that is part of the state

mod physics;
mod rng;
mod rules;
mod state;

pub use rng::SimRng;
pub use rules::step;
pub use state::*;
