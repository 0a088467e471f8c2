//! [`ResumeMessage`]: what members say to agree on a resume frame, and the
//! [`ResumePoint`] (state at that frame) a newcomer receives.
//!
//! Layout: one version byte ([`RESUME_VERSION`]), then the postcard encoding
//! of the message, nothing after it; at most [`MAX_RESUME_MESSAGE`] bytes.
//! [`ResumeMessage::decode`] checks the size before anything else, then the
//! version, then decodes and validates every field a session uses.

use serde::{Deserialize, Serialize};

use super::ResumeError;
use super::assembly::{STATE_PART_BYTES, StatePart};
use crate::transport::seat_inputs::{KEPT_FRAMES, MAX_INPUT_BYTES};

/// Version of the resume messages; another version is refused.
pub const RESUME_VERSION: u8 = 2;

/// The largest game state a [`ResumePoint`] carries (1 MiB): a 2D arena's
/// rollback state is a few kilobytes; a bound keeps a hostile sender from
/// making a member allocate without limit.
pub const MAX_STATE_BYTES: usize = 1 << 20;

/// The largest encoded message: one state part and room for the other fields.
pub const MAX_RESUME_MESSAGE: usize = STATE_PART_BYTES + 128;

/// The game state at the agreed frame, for a member that has none.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumePoint {
    /// The key epoch whose session starts at `frame`.
    pub epoch: u32,
    /// The game frame the state is the start of (the new session's 0).
    pub frame: i32,
    /// The state as the game serialises it. Bounded and digested here, but
    /// still bytes from another machine: the game's reader must refuse
    /// what does not parse, never panic on it.
    pub state: Vec<u8>,
    /// BLAKE3 of `state`: a cut or corrupted state is refused before the
    /// game reads it (the lobby channel authenticates the sender).
    pub digest: [u8; 32],
}

impl std::fmt::Debug for ResumePoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResumePoint")
            .field("epoch", &self.epoch)
            .field("frame", &self.frame)
            .field("state_len", &self.state.len())
            .finish_non_exhaustive()
    }
}

impl ResumePoint {
    /// The point for `state` at game `frame` of `epoch`; refused when the
    /// state is over [`MAX_STATE_BYTES`] or the frame is negative.
    pub fn new(epoch: u32, frame: i32, state: Vec<u8>) -> Result<Self, ResumeError> {
        if state.len() > MAX_STATE_BYTES {
            return Err(ResumeError::StateTooLarge { len: state.len() });
        }
        let digest = *blake3::hash(&state).as_bytes();
        let point = ResumePoint {
            epoch,
            frame,
            state,
            digest,
        };
        point.validate()?;
        Ok(point)
    }

    pub(super) fn validate(&self) -> Result<(), ResumeError> {
        if self.frame < 0 {
            return Err(ResumeError::Invalid("negative frame"));
        }
        if self.state.len() > MAX_STATE_BYTES {
            return Err(ResumeError::Invalid("state too large"));
        }
        if blake3::hash(&self.state).as_bytes() != &self.digest {
            return Err(ResumeError::BadDigest);
        }
        Ok(())
    }
}

/// One message of the resume protocol (see [`resume`](super) for the flow).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResumeMessage {
    /// The sender's session of `epoch` is synchronised with every member.
    Synced {
        /// The epoch being resumed.
        epoch: u32,
    },
    /// The coordinator proposes to switch at game frame `frame`.
    Propose {
        /// The epoch being resumed.
        epoch: u32,
        /// Proposal number, from 1; a later round replaces an earlier one.
        round: u32,
        /// The game frame to switch at.
        frame: i32,
    },
    /// A survivor will not advance its old session past the proposed frame.
    Accept {
        /// The epoch being resumed.
        epoch: u32,
        /// The round accepted.
        round: u32,
    },
    /// A survivor was already past the proposed frame, at `at`.
    Reject {
        /// The epoch being resumed.
        epoch: u32,
        /// The round rejected.
        round: u32,
        /// The survivor's current game frame.
        at: i32,
    },
    /// Every survivor accepted: switch at `frame`.
    Commit {
        /// The epoch being resumed.
        epoch: u32,
        /// The round committed.
        round: u32,
        /// The game frame to switch at.
        frame: i32,
    },
    /// A part of the state at the switch frame, for a newcomer (a state
    /// travels as one or more parts: [`ResumePoint::parts`]).
    StatePart(StatePart),
    /// A survivor's inputs of a player whose seat was vacated, as its
    /// session received them (see [`VacancyAgreement`](super::VacancyAgreement)).
    SeatInputs {
        /// The current key epoch.
        epoch: u32,
        /// The vacated seat's player handle.
        handle: u16,
        /// The frame of the first input.
        first_frame: i32,
        /// GGRS's bytes of each frame's input, oldest first (at most
        /// [`KEPT_FRAMES`], each at most [`MAX_INPUT_BYTES`]).
        inputs: Vec<Vec<u8>>,
    },
}

impl ResumeMessage {
    /// The epoch this message is about.
    pub fn epoch(&self) -> u32 {
        match self {
            ResumeMessage::Synced { epoch }
            | ResumeMessage::Propose { epoch, .. }
            | ResumeMessage::Accept { epoch, .. }
            | ResumeMessage::Reject { epoch, .. }
            | ResumeMessage::Commit { epoch, .. } => *epoch,
            ResumeMessage::StatePart(p) => p.epoch,
            ResumeMessage::SeatInputs { epoch, .. } => *epoch,
        }
    }

    /// The message as bytes: the version, then postcard.
    pub fn encode(&self) -> Result<Vec<u8>, ResumeError> {
        let mut out = vec![RESUME_VERSION];
        let body = postcard::to_allocvec(self).map_err(|_| ResumeError::Malformed)?;
        out.extend_from_slice(&body);
        if out.len() > MAX_RESUME_MESSAGE {
            return Err(ResumeError::TooLarge { len: out.len() });
        }
        Ok(out)
    }

    /// Decodes and validates bytes from the network; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, ResumeError> {
        if bytes.len() > MAX_RESUME_MESSAGE {
            return Err(ResumeError::TooLarge { len: bytes.len() });
        }
        let Some((&version, body)) = bytes.split_first() else {
            return Err(ResumeError::WrongVersion { got: None });
        };
        if version != RESUME_VERSION {
            return Err(ResumeError::WrongVersion { got: Some(version) });
        }
        let (message, rest): (ResumeMessage, &[u8]) =
            postcard::take_from_bytes(body).map_err(|_| ResumeError::Malformed)?;
        if !rest.is_empty() {
            return Err(ResumeError::Malformed);
        }
        message.validate()?;
        Ok(message)
    }

    fn validate(&self) -> Result<(), ResumeError> {
        match self {
            ResumeMessage::Propose { frame, round, .. }
            | ResumeMessage::Commit { frame, round, .. } => {
                if *frame < 0 {
                    return Err(ResumeError::Invalid("negative frame"));
                }
                if *round == 0 {
                    return Err(ResumeError::Invalid("round 0"));
                }
                Ok(())
            }
            ResumeMessage::Reject { at, .. } if *at < 0 => {
                Err(ResumeError::Invalid("negative frame"))
            }
            ResumeMessage::StatePart(p) => p.validate(),
            ResumeMessage::SeatInputs {
                first_frame,
                inputs,
                ..
            } => {
                if *first_frame < 0 {
                    return Err(ResumeError::Invalid("negative frame"));
                }
                if inputs.len() > KEPT_FRAMES || inputs.iter().any(|i| i.len() > MAX_INPUT_BYTES) {
                    return Err(ResumeError::Invalid("seat inputs too large"));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}
