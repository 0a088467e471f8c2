//! The machines' seeded RNG, in the shapes snow and spake2 ask for.
//!
//! Ephemeral X25519 keys and SPAKE2 scalars come from the machine's
//! [`SeededRng`] (blake3 keyed XOF, seeded from the OS by the shells), so the
//! cores read no global RNG and a test run can be replayed from its seed.

use snow::params::{CipherChoice, DHChoice, HashChoice};
use snow::resolvers::{CryptoResolver, DefaultResolver};
use snow::types::{Cipher, Dh, Hash, Random};

use crate::lobby::rng::SeededRng;

/// `SeededRng` as snow's `Random`.
struct NoiseRandom(SeededRng);

impl Random for NoiseRandom {
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), snow::Error> {
        self.0.fill(dest);
        Ok(())
    }
}

/// snow's pure-Rust default primitives, with randomness from a seed.
pub(crate) struct SeededResolver {
    seed: [u8; 32],
}

impl SeededResolver {
    /// A resolver whose one RNG is seeded with 32 fresh bytes of `rng`.
    pub(crate) fn new(rng: &mut SeededRng) -> Self {
        SeededResolver {
            seed: rng.bytes32(),
        }
    }
}

impl CryptoResolver for SeededResolver {
    fn resolve_rng(&self) -> Option<Box<dyn Random>> {
        Some(Box::new(NoiseRandom(SeededRng::new(self.seed))))
    }

    fn resolve_dh(&self, choice: &DHChoice) -> Option<Box<dyn Dh>> {
        DefaultResolver.resolve_dh(choice)
    }

    fn resolve_hash(&self, choice: &HashChoice) -> Option<Box<dyn Hash>> {
        DefaultResolver.resolve_hash(choice)
    }

    fn resolve_cipher(&self, choice: &CipherChoice) -> Option<Box<dyn Cipher>> {
        DefaultResolver.resolve_cipher(choice)
    }
}

/// `SeededRng` as a rand_core 0.6 CSPRNG (what spake2 0.4 takes).
pub(crate) struct PakeRng<'a>(pub(crate) &'a mut SeededRng);

impl rand_core::RngCore for PakeRng<'_> {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.0.fill(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0.fill(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for PakeRng<'_> {}
