//! A short fingerprint of one lobby channel, for two players to compare.

use std::fmt;

/// Crockford's base32 alphabet: no I, L, O or U, so it reads aloud well.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// 80 bits derived from the Noise handshake hash of a lobby channel.
///
/// Both ends of one channel compute the same value; a man in the middle runs
/// two channels, one with each end, whose fingerprints differ. He does choose
/// his ephemeral key towards the joiner after seeing the joiner's, so he can
/// grind it until that channel's fingerprint matches the other's: about
/// 2^80 tries for all 16 characters, but only about 2^20 (seconds of work)
/// for the first group. Players compare all four groups. Shown as
/// `7K2Q-M9XD-4TRB-0ZHC` in both lobby screens.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 10]);

impl Fingerprint {
    /// The fingerprint of a channel whose handshake hash is `hash`.
    pub(crate) fn from_handshake_hash(hash: &[u8]) -> Self {
        let key = blake3::derive_key("nearplay lobby channel fingerprint v2", hash);
        let mut out = [0u8; 10];
        out.iter_mut().zip(key.iter()).for_each(|(o, k)| *o = *k);
        Fingerprint(out)
    }

    /// The raw 80 bits.
    pub fn as_bytes(&self) -> &[u8; 10] {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // 80 bits as 16 five-bit symbols, most significant first.
        let bits = self
            .0
            .iter()
            .fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
        for i in 0..16u32 {
            if i > 0 && i % 4 == 0 {
                f.write_str("-")?;
            }
            let sym = ((bits >> (75 - 5 * i)) & 0x1f) as usize;
            let c = ALPHABET.get(sym).copied().unwrap_or(b'?');
            write!(f, "{}", char::from(c))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_four_groups_of_four() {
        let fp = Fingerprint([0xff; 10]);
        assert_eq!(fp.to_string(), "ZZZZ-ZZZZ-ZZZZ-ZZZZ");
        let fp = Fingerprint([0; 10]);
        assert_eq!(fp.to_string(), "0000-0000-0000-0000");
        let a = Fingerprint::from_handshake_hash(b"one");
        let b = Fingerprint::from_handshake_hash(b"two");
        assert_ne!(a.to_string(), b.to_string());
    }
}
