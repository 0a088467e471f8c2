//! [`ReplayFile`]: the on-disk replay, its format and its checks.
//!
//! Layout (little-endian):
//!
//! | bytes | content |
//! |---|---|
//! | 8 | [`MAGIC`] `NPREPLAY` |
//! | 2 | format version ([`FORMAT_VERSION`]) |
//! | 4 | body length `n` |
//! | n | body: postcard of game, plan (no key), interval, frames, players, inputs, checksums |
//! | 32 | BLAKE3 of everything before it |
//!
//! The digest is not a signature: anyone can recompute it. It catches
//! truncation, corruption and edits made without recomputing it; a crafted
//! file with a good digest still goes through every bound and consistency
//! check before a game sees it.

use std::io::Read;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::recorder::MAX_REPLAY_FRAMES;
use super::{ReplayError, clean};
use crate::plan::{MatchPlan, NetSettings};
use crate::plan_check::{MAX_PLAYERS, MAX_SPECTATORS};

/// The first bytes of every replay file.
pub const MAGIC: [u8; 8] = *b"NPREPLAY";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// The largest replay file read or written: 32 MiB (a four-hour, 16-player
/// match of one-byte inputs is about 14 MiB).
pub const MAX_REPLAY_BYTES: u64 = 32 * 1024 * 1024;
/// Magic, version and body length.
const HEADER_LEN: usize = 14;
/// The BLAKE3 digest at the end.
const DIGEST_LEN: usize = 32;
/// Longest name or version string a replay may carry.
const MAX_TEXT: usize = 64;

/// Which game (and version) a replay belongs to: a replay of another
/// version may not simulate the same and is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayGame {
    /// The game id (what lobbies advertise).
    pub id: String,
    /// The game version.
    pub version: String,
}

impl ReplayGame {
    /// The game `id` at `version`.
    pub fn new(id: &str, version: &str) -> Self {
        ReplayGame {
            id: id.to_string(),
            version: version.to_string(),
        }
    }
}

/// The match plan as a replay keeps it: no key (it authenticated the
/// match's datagrams and must not leak with a shared file) and no
/// addresses (a replay is shared; where players were is nobody's business).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayPlan {
    /// The match id (to tell replays apart).
    pub match_id: u64,
    /// The seed of the game's RNG.
    pub seed: u64,
    /// Player names by handle.
    pub players: Vec<String>,
    /// The netcode settings the match was played with.
    pub settings: NetSettings,
    /// The handle of whoever recorded it: a player's (`0..players`), or a
    /// spectator's (`players..players + MAX_SPECTATORS`, as plans number
    /// them) for a match recorded while watching.
    pub local_handle: usize,
}

impl From<&MatchPlan> for ReplayPlan {
    fn from(plan: &MatchPlan) -> Self {
        ReplayPlan {
            match_id: plan.match_id.0,
            seed: plan.seed,
            players: plan.players.iter().map(|p| p.name.clone()).collect(),
            settings: plan.settings.clone(),
            local_handle: plan.local_handle,
        }
    }
}

/// A recorded match: everything needed to simulate it again and check
/// that the simulation still agrees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayFile<I> {
    /// The game and version that recorded it.
    pub game: ReplayGame,
    /// The plan, without key or addresses.
    pub plan: ReplayPlan,
    /// A checksum was kept every this many frames (0: only the last).
    pub checksum_interval: u32,
    /// Frames recorded (all final).
    pub frames: u32,
    /// Players per frame.
    pub players: usize,
    /// `players` inputs per frame, frame 1 first.
    pub inputs: Vec<I>,
    /// `(frame, checksum of the state after that frame)`, frames increasing.
    pub checksums: Vec<(u32, u64)>,
}

impl<I> ReplayFile<I> {
    /// The inputs of `frame` (counted from 1) by handle, if recorded.
    pub fn frame_inputs(&self, frame: u32) -> Option<&[I]> {
        let start = (frame.checked_sub(1)? as usize).checked_mul(self.players)?;
        self.inputs.get(start..start.checked_add(self.players)?)
    }

    /// The checksum kept for `frame`, if any.
    pub fn checksum_at(&self, frame: u32) -> Option<u64> {
        self.checksums
            .binary_search_by_key(&frame, |(f, _)| *f)
            .ok()
            .and_then(|i| self.checksums.get(i))
            .map(|(_, c)| *c)
    }

    /// The last checksum kept: the state at the end of the replay.
    pub fn final_checksum(&self) -> Option<(u32, u64)> {
        self.checksums.last().copied()
    }
}

impl<I: Serialize> ReplayFile<I> {
    /// The file's bytes (header, body, digest).
    pub fn encode(&self) -> Result<Vec<u8>, ReplayError> {
        let body = postcard::to_stdvec(self).map_err(|e| ReplayError::Malformed(e.to_string()))?;
        let size = (HEADER_LEN + body.len() + DIGEST_LEN) as u64;
        let body_len = u32::try_from(body.len())
            .ok()
            .filter(|_| size <= MAX_REPLAY_BYTES);
        let Some(body_len) = body_len else {
            return Err(ReplayError::TooLarge {
                size,
                limit: MAX_REPLAY_BYTES,
            });
        };
        Ok(seal(body_len, &body))
    }

    /// Writes the file at `path` atomically (see [`write_atomic`]).
    pub fn write(&self, path: &Path) -> Result<(), ReplayError> {
        write_atomic(path, &self.encode()?)
    }
}

impl<I: DeserializeOwned> ReplayFile<I> {
    /// Reads a replay from untrusted `bytes`, refusing it in words unless
    /// it is whole, untouched, of a known format version, of `game` at its
    /// version, and consistent (bounds, input count, checksum frames).
    pub fn decode(bytes: &[u8], game: &ReplayGame) -> Result<Self, ReplayError> {
        let found = bytes.len() as u64;
        if found > MAX_REPLAY_BYTES {
            return Err(ReplayError::TooLarge {
                size: found,
                limit: MAX_REPLAY_BYTES,
            });
        }
        let magic_len = MAGIC.len().min(bytes.len());
        if bytes.get(..magic_len) != MAGIC.get(..magic_len) || bytes.is_empty() {
            return Err(ReplayError::NotAReplay);
        }
        let (Some(version), Some(body_len)) = (bytes.get(8..10), bytes.get(10..HEADER_LEN)) else {
            return Err(ReplayError::Truncated {
                expected: (HEADER_LEN + DIGEST_LEN) as u64,
                found,
            });
        };
        let version = u16::from_le_bytes([version[0], version[1]]);
        if version != FORMAT_VERSION {
            return Err(ReplayError::BadVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let body_len = u32::from_le_bytes([body_len[0], body_len[1], body_len[2], body_len[3]]);
        let expected = (HEADER_LEN + DIGEST_LEN) as u64 + u64::from(body_len);
        if found < expected {
            return Err(ReplayError::Truncated { expected, found });
        }
        let digest_at = HEADER_LEN + body_len as usize;
        let (Some(content), Some(digest)) = (bytes.get(..digest_at), bytes.get(digest_at..)) else {
            return Err(ReplayError::Truncated { expected, found });
        };
        if found > expected || blake3::hash(content).as_bytes().as_slice() != digest {
            return Err(ReplayError::Tampered);
        }
        let body = content.get(HEADER_LEN..).unwrap_or_default();
        let file: ReplayFile<I> =
            postcard::from_bytes(body).map_err(|e| ReplayError::Malformed(e.to_string()))?;
        file.check(game)?;
        Ok(file)
    }

    /// Reads and decodes the replay at `path` (never more than
    /// [`MAX_REPLAY_BYTES`] + 1 bytes of it).
    pub fn read(path: &Path, game: &ReplayGame) -> Result<Self, ReplayError> {
        let io =
            |e: std::io::Error| ReplayError::Io(format!("cannot read {}: {e}", path.display()));
        let file = std::fs::File::open(path).map_err(io)?;
        let mut bytes = Vec::new();
        file.take(MAX_REPLAY_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        Self::decode(&bytes, game)
    }
}

impl<I> ReplayFile<I> {
    /// The checks of [`decode`](ReplayFile::decode) after the digest.
    fn check(&self, game: &ReplayGame) -> Result<(), ReplayError> {
        if self.game.id != game.id {
            return Err(ReplayError::OtherGame {
                found: clean(&self.game.id, MAX_TEXT),
                expected: game.id.clone(),
            });
        }
        if self.game.version != game.version {
            return Err(ReplayError::OtherGameVersion {
                found: clean(&self.game.version, MAX_TEXT),
                expected: game.version.clone(),
            });
        }
        let bad = |what: &str| Err(ReplayError::Malformed(what.to_string()));
        if self.players == 0 || self.players > MAX_PLAYERS {
            return bad("player count out of range");
        }
        if self.plan.players.len() != self.players {
            return bad("the plan's players do not match the inputs");
        }
        if self.plan.local_handle >= self.players + MAX_SPECTATORS {
            return bad("the recorder's handle is neither a player's nor a spectator's");
        }
        if self
            .plan
            .players
            .iter()
            .any(|n| n.chars().count() > MAX_TEXT || n.chars().any(char::is_control))
        {
            return bad("a player name is too long or holds control characters");
        }
        if self.frames > MAX_REPLAY_FRAMES {
            return bad("too many frames");
        }
        if Some(self.inputs.len()) != (self.frames as usize).checked_mul(self.players) {
            return bad("the input count does not match frames times players");
        }
        let mut previous = 0;
        for &(frame, _) in &self.checksums {
            if frame <= previous || frame > self.frames {
                return bad("checksum frames out of order or past the end");
            }
            previous = frame;
        }
        Ok(())
    }
}

/// A replay file's bytes around an encoded `body` of `body_len` bytes:
/// header and digest (what [`ReplayFile::encode`] does after encoding; the
/// fuzz target uses it to reach the body decoder past the digest).
pub fn seal(body_len: u32, body: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_LEN + body.len() + DIGEST_LEN);
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&body_len.to_le_bytes());
    bytes.extend_from_slice(body);
    let digest = blake3::hash(&bytes);
    bytes.extend_from_slice(digest.as_bytes());
    bytes
}

/// Writes `bytes` at `path` atomically: into a temporary file beside it,
/// flushed to disk, then renamed over `path`, so a reader (or a crash)
/// never sees half a replay. The temporary file is removed on failure.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReplayError> {
    crate::atomic_file::write_atomically(path, bytes, "replay")
        .map_err(|e| ReplayError::Io(format!("cannot write {}: {e}", path.display())))
}
