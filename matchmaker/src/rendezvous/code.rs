//! [`RoomCode`]: six characters a player can read out loud.
//!
//! The alphabet has no look-alikes (no `0`/`O`, no `1`/`I`/`L`): 23 letters
//! and the digits 2-9, 31 symbols, so 31^6 = 887,503,681 codes. With 10,000
//! rooms open, one guess hits a room with probability about 1.1e-5; at the
//! server's default limit (20 look-ups per second per address, see the
//! server's `Limits::requests_per_second`), finding *some* room takes one
//! address about 75 minutes, while one given room open for an hour is found
//! by one address with probability 72,000 / 887,503,681 = 8e-5. (Many
//! addresses scale that linearly: a lobby password, proved to the host with
//! SPAKE2 inside the lobby channel, is what keeps a private room private.)

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The symbols of a room code.
pub const ALPHABET: &[u8; 31] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// Characters in a room code.
pub const CODE_LEN: usize = 6;

/// A room code: exactly [`CODE_LEN`] symbols of [`ALPHABET`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoomCode([u8; CODE_LEN]);

/// Why a string is not a room code.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodeError {
    /// Not six characters.
    #[error("a room code has {CODE_LEN} characters, this one has {0}")]
    Length(usize),
    /// A character outside the alphabet (codes never use 0, O, 1, I or L).
    #[error("'{0}' never appears in a room code")]
    Symbol(char),
}

impl RoomCode {
    /// A fresh code from the OS RNG (rejection sampling: every symbol equally likely).
    pub fn random() -> RoomCode {
        let mut out = [0u8; CODE_LEN];
        let mut filled = 0;
        while filled < CODE_LEN {
            let mut bytes = [0u8; 16];
            if getrandom::getrandom(&mut bytes).is_err() {
                // No OS RNG (never on supported platforms): hash the clock.
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or_default();
                bytes.copy_from_slice(&blake3::hash(&t.to_le_bytes()).as_bytes()[..16]);
            }
            for b in bytes {
                // 248 = 8 * 31: below it, b % 31 is uniform.
                if b < 248 && filled < CODE_LEN {
                    out[filled] = ALPHABET[usize::from(b % 31)];
                    filled += 1;
                }
            }
        }
        RoomCode(out)
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Only ALPHABET bytes (ASCII) are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("??????")
    }
}

impl FromStr for RoomCode {
    type Err = CodeError;

    /// Parses a code typed by a player: case and surrounding spaces ignored.
    fn from_str(s: &str) -> Result<Self, CodeError> {
        let s = s.trim();
        let n = s.chars().count();
        if n != CODE_LEN {
            return Err(CodeError::Length(n));
        }
        let mut out = [0u8; CODE_LEN];
        for (slot, c) in out.iter_mut().zip(s.chars()) {
            let up = c.to_ascii_uppercase();
            match u8::try_from(up) {
                Ok(b) if ALPHABET.contains(&b) => *slot = b,
                _ => return Err(CodeError::Symbol(c)),
            }
        }
        Ok(RoomCode(out))
    }
}

impl TryFrom<String> for RoomCode {
    type Error = CodeError;
    fn try_from(s: String) -> Result<Self, CodeError> {
        s.parse()
    }
}

impl From<RoomCode> for String {
    fn from(c: RoomCode) -> String {
        c.as_str().to_owned()
    }
}

impl fmt::Display for RoomCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphabet_has_no_look_alikes() {
        for c in b"0O1IL" {
            assert!(!ALPHABET.contains(c));
        }
        let mut sorted = ALPHABET.to_vec();
        sorted.dedup();
        assert_eq!(sorted.len(), 31);
    }

    #[test]
    fn random_codes_parse_back_and_differ() {
        let a = RoomCode::random();
        assert_eq!(a.as_str().parse::<RoomCode>(), Ok(a));
        assert_eq!(a.as_str().to_lowercase().parse::<RoomCode>(), Ok(a));
        let distinct: std::collections::BTreeSet<_> =
            (0..200).map(|_| RoomCode::random()).collect();
        assert!(distinct.len() > 195);
    }

    #[test]
    fn bad_codes_say_why() {
        assert_eq!("ABC".parse::<RoomCode>(), Err(CodeError::Length(3)));
        assert_eq!("ABCDE0".parse::<RoomCode>(), Err(CodeError::Symbol('0')));
        assert_eq!("ABCDEl".parse::<RoomCode>(), Err(CodeError::Symbol('l')));
        assert_eq!("ABCDÉF".parse::<RoomCode>(), Err(CodeError::Symbol('É')));
    }
}
