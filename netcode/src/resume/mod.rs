//! Rejoin and late join: every member starts a fresh GGRS session at an
//! agreed confirmed frame, under a new key epoch (issue 13).
//!
//! GGRS cannot take a disconnected player back into a running session
//! (ggrs issue 23), nor add one. So the members agree on a game frame `F`
//! whose state is confirmed, and at `F` everyone leaves the old session for
//! a new one whose frame 0 is the game's frame `F` ([`FrameOffset`]), with
//! the same handles and a new match key (an [`Epoch`]): datagrams of the old
//! epoch, and of a member who left for good, are refused from then on. A
//! member without the state (the restarted or late player) receives it as a
//! [`ResumePoint`] (the bytes the game serialises, up to 1 MiB, sent as
//! [`StatePart`]s of at most 48 KiB and put back together in order) and
//! simulates from `F`.
//!
//! **No one waits long.** The new session is built and synchronised while
//! the old one still runs (both share the socket through an
//! [`EpochLink`](crate::transport::EpochLink)); `F` is proposed only once
//! every member's new session runs, a margin ahead of the coordinator's
//! frame, so the commit normally reaches the survivors before `F`: they
//! play on past `F` until frame `F - 1` is confirmed (a survivor held at
//! `F` would send no new inputs, and one lost datagram would wait for
//! GGRS's 200 ms resend), switch, then predict the newcomer's input while
//! its state travels. The old session is still polled for a while after
//! the switch, so the inputs another survivor still misses are resent.
//!
//! The protocol ([`ResumeMachine`], sans-IO, driven with `now`):
//!
//! ```text
//! every member             new session Running  -> Synced          -> coordinator
//! coordinator (lowest      all Synced           -> Propose{round,F} -> survivors
//!  surviving handle)
//! survivor                 still before F       -> Accept (then does not pass F until the Commit)
//!                          already past F       -> Reject{at}  => coordinator proposes again
//! coordinator              all Accept           -> Commit{round,F} -> survivors
//! survivor                 at F, F-1 confirmed, committed: SwitchAt(F)
//! coordinator              the same, and sends StatePart.. (ResumePoint at F) -> newcomers
//! newcomer                 every StatePart      -> Load(point): start at F
//! ```
//!
//! **No inputs since `F` travel**: every member, the provider included,
//! leaves the old session exactly at `F`, so nothing after `F` was played
//! in the old epoch; the new session carries every input from `F` on. Its
//! first `input_delay` frames give every player the default input (as at
//! the start of any GGRS session): every member sees the same.
//!
//! **Taking the state at `F`** (survivors, on [`ResumeAction::SwitchAt`]):
//! GGRS corrects a misprediction only at the next `advance_frame`, so add
//! the local input, advance the old session once more, keep the last state
//! saved for `F` (a rollback re-saves it) and drop what was simulated past
//! it; then start the new session with [`FrameOffset`] `F`. The game must
//! count frames as `offset + session frame` (checksums, recorders, stats).
//!
//! The messages ([`ResumeMessage`]) travel over the lobby's encrypted control
//! channel, which also hands every member the new epoch's key: this module
//! never sees a key. They are still decoded as hostile bytes (size limit,
//! version, validation, fuzzed: `netcode/fuzz`, target `resume_decode`).

mod assembly;
mod machine;
mod message;
mod vacancy;

pub use assembly::{STATE_PART_BYTES, StateAssembly, StatePart};
pub use machine::{ResumeAction, ResumeConfig, ResumeMachine, ResumePhase, Role};
pub use message::{
    MAX_RESUME_MESSAGE, MAX_STATE_BYTES, RESUME_VERSION, ResumeMessage, ResumePoint,
};
pub use vacancy::{Agreed, REPORT_WAIT, VacancyAgreement};

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A key epoch of a match: 0 for the plan's key, then one more for each
/// resume. The lobby delivers each epoch's key; datagrams of another epoch
/// fail authentication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Epoch(pub u32);

/// The game frame at which a GGRS session's frame 0 lies.
///
/// Every new session counts from 0; checksums, desync reports, recorders
/// and stats speak in game frames, so a session started at game frame `F`
/// adds `F` to every frame it reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FrameOffset(pub i32);

impl FrameOffset {
    /// The game frame of the session's `session_frame` (saturating).
    pub fn game_frame(self, session_frame: i32) -> i32 {
        self.0.saturating_add(session_frame)
    }

    /// The session frame of `game_frame`, or `None` before the session
    /// started.
    pub fn session_frame(self, game_frame: i32) -> Option<i32> {
        let f = game_frame.checked_sub(self.0)?;
        (f >= 0).then_some(f)
    }
}

/// Why a resume failed, or a message was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ResumeError {
    /// The message is longer than [`MAX_RESUME_MESSAGE`].
    #[error("resume message too large: {len} bytes")]
    TooLarge {
        /// Its length.
        len: usize,
    },
    /// The message is empty or of another version.
    #[error("resume message version {got:?}, expected {RESUME_VERSION}")]
    WrongVersion {
        /// The version byte, if any.
        got: Option<u8>,
    },
    /// The message does not decode, or has bytes after its end.
    #[error("resume message does not decode")]
    Malformed,
    /// A field is out of bounds (negative frame, oversized state).
    #[error("resume message field out of bounds: {0}")]
    Invalid(&'static str),
    /// The state does not match its digest (cut or corrupted).
    #[error("resume state does not match its digest")]
    BadDigest,
    /// The message is for another epoch than the one being resumed.
    #[error("resume message for epoch {got}, expected {want}")]
    WrongEpoch {
        /// The message's epoch.
        got: u32,
        /// This resume's epoch.
        want: u32,
    },
    /// The sender is no member of the new epoch, or may not send this.
    #[error("resume message from member {from} that may not send it")]
    NotAllowed {
        /// The sender's handle.
        from: u16,
    },
    /// The members are not a valid set (no survivor, a handle twice).
    #[error("invalid members: {0}")]
    Members(&'static str),
    /// The resume did not finish within its deadline.
    #[error("resume did not finish within {secs} s")]
    Timeout {
        /// The deadline in seconds.
        secs: u64,
    },
    /// The survivors kept passing the proposed frame.
    #[error("no frame agreed after {rounds} rounds")]
    TooManyRounds {
        /// Rounds tried.
        rounds: u32,
    },
    /// The state could not be encoded (larger than [`MAX_STATE_BYTES`]).
    #[error("state of {len} bytes is over the {MAX_STATE_BYTES}-byte limit")]
    StateTooLarge {
        /// Its length.
        len: usize,
    },
}

#[cfg(test)]
mod tests;
