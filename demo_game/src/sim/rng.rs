//! The simulation's seeded RNG: SplitMix64, part of the rolled-back state.
//!
//! Stored inside [`ArenaState`](super::ArenaState) so a rollback restores it
//! along with everything else; seeded from the `MatchPlan`.

use serde::{Deserialize, Serialize};

/// SplitMix64: tiny, fast, and identical on every platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SimRng(u64);

impl SimRng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SimRng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..bound` (`bound` > 0; 0 gives 0).
    pub fn below(&mut self, bound: u32) -> u32 {
        if bound == 0 {
            return 0;
        }
        (((self.next_u64() >> 32) * u64::from(bound)) >> 32) as u32
    }
}
