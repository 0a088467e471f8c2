//! Replays: the confirmed inputs of a match, recorded as it is played, and
//! a versioned, digested file to keep them in.
//!
//! A rollback game is deterministic: the seed and the inputs every player
//! was simulated with, frame by frame, replay the whole match. GGRS keeps
//! no such history (ggrs issue 55), so [`InputRecorder`] builds it from the
//! frames the game simulates: each frame's inputs are overwritten when a
//! rollback resimulates it, and become final once the session's confirmed
//! frame has passed them. The same recorder hands out the stream of newly
//! confirmed frames ([`ConfirmedBatch`]) that a spectator feed ships.
//!
//! [`ReplayFile`] is what is kept: magic, format version, game id and
//! version, the plan without its key ([`ReplayPlan`]), the inputs, a
//! checksum every N frames, and a BLAKE3 digest of all that. It is written
//! atomically (temporary file, then rename) and read back with a refusal in
//! words ([`ReplayError`]) for a file of another game or game version, a
//! truncated, tampered, oversized or unknown-version file.
//!
//! ```
//! use nearplay_netcode::replay::{InputRecorder, ReplayFile, ReplayGame, ReplayPlan};
//! use nearplay_netcode::NetSettings;
//!
//! let mut recorder = InputRecorder::<u8>::new(2, 10);
//! for frame in 1..=30u32 {
//!     recorder.record_frame(frame, &[frame as u8, 7]);
//!     recorder.record_checksum(frame, u64::from(frame) * 3);
//! }
//! recorder.confirm(25); // frames 26..=30 may still be resimulated
//! let game = ReplayGame::new("my-game", "1.0");
//! let plan = ReplayPlan { seed: 9, players: vec!["Ada".into(), "Bo".into()],
//!     settings: NetSettings::default(), local_handle: 0, match_id: 1 };
//! let file = recorder.finish(game.clone(), plan);
//! let bytes = file.encode()?;
//! let back = ReplayFile::<u8>::decode(&bytes, &game)?;
//! assert_eq!(back.frames, 25);
//! assert_eq!(back.final_checksum(), Some((25, 75)));
//! # Ok::<(), nearplay_netcode::replay::ReplayError>(())
//! ```

mod file;
mod recorder;
#[cfg(test)]
mod tests;

pub use file::{
    FORMAT_VERSION, MAGIC, MAX_REPLAY_BYTES, ReplayFile, ReplayGame, ReplayPlan, seal, write_atomic,
};
pub use recorder::{ConfirmedBatch, DEFAULT_CHECKSUM_INTERVAL, InputRecorder, MAX_REPLAY_FRAMES};

/// Why a replay file was refused or could not be written; each reads as a
/// sentence for the player.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReplayError {
    /// The file is larger than the reader accepts.
    #[error("the replay is too large ({size} bytes, at most {limit})")]
    TooLarge {
        /// Its size in bytes (at least `limit + 1`).
        size: u64,
        /// The largest size accepted.
        limit: u64,
    },
    /// The file does not start with the replay magic.
    #[error("not a nearplay replay file")]
    NotAReplay,
    /// A format version this build cannot read.
    #[error(
        "replay format version {found} is not supported (this build reads version {supported})"
    )]
    BadVersion {
        /// The version in the file.
        found: u16,
        /// The version this build reads.
        supported: u16,
    },
    /// The file ends before its header says it does.
    #[error("the replay is truncated ({found} of {expected} bytes)")]
    Truncated {
        /// Bytes the header announces, digest included.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// The digest does not match the content (edited, corrupted, or bytes
    /// appended).
    #[error("the replay was tampered with or corrupted (its digest does not match)")]
    Tampered,
    /// The digest matches but the content does not decode or is
    /// inconsistent (a file crafted with a recomputed digest).
    #[error("the replay is malformed: {0}")]
    Malformed(String),
    /// The replay is of another game.
    #[error("the replay is of another game ({found:?}, this is {expected:?})")]
    OtherGame {
        /// The game id in the file (cleaned of control characters).
        found: String,
        /// This game's id.
        expected: String,
    },
    /// The replay is of another version of this game, whose simulation may
    /// differ.
    #[error("the replay is of another game version ({found}, this is {expected})")]
    OtherGameVersion {
        /// The version in the file (cleaned of control characters).
        found: String,
        /// This game's version.
        expected: String,
    },
    /// Reading or writing the file failed.
    #[error("{0}")]
    Io(String),
}

/// `text` without control characters, at most `max` characters: what a
/// replay may show a person of a string it carries.
pub(crate) fn clean(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}
