//! A seeded random source for the sans-IO cores (nonces, match ids, keys).
//!
//! The cores never touch a global RNG: the shell seeds them from the OS, tests
//! from a constant, so a test run is reproducible.

/// blake3 in keyed XOF mode over a counter: a seeded CSPRNG.
#[derive(Clone)]
pub struct SeededRng {
    key: [u8; 32],
    counter: u64,
}

impl std::fmt::Debug for SeededRng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SeededRng(<redacted>)")
    }
}

impl SeededRng {
    /// A generator from a 32-byte seed.
    pub fn new(seed: [u8; 32]) -> Self {
        SeededRng {
            key: seed,
            counter: 0,
        }
    }

    /// A generator seeded from the operating system's RNG.
    pub fn from_os() -> Self {
        let mut seed = [0u8; 32];
        if getrandom::getrandom(&mut seed).is_err() {
            // No OS RNG (never on supported platforms): fall back on time.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            seed = *blake3::hash(&nanos.to_le_bytes()).as_bytes();
        }
        Self::new(seed)
    }

    /// Fills `buf` with fresh bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        self.counter = self.counter.wrapping_add(1);
        let mut hasher = blake3::Hasher::new_keyed(&self.key);
        hasher.update(&self.counter.to_le_bytes());
        hasher.finalize_xof().fill(buf);
    }

    /// 32 fresh bytes.
    pub fn bytes32(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        self.fill(&mut out);
        out
    }

    /// A fresh `u64`.
    pub fn next_u64(&mut self) -> u64 {
        let mut out = [0u8; 8];
        self.fill(&mut out);
        u64::from_le_bytes(out)
    }
}
