//! A state larger than one lobby message travels as [`StatePart`]s: the
//! coordinator cuts the [`ResumePoint`] into parts of at most
//! [`STATE_PART_BYTES`] ([`ResumePoint::parts`]); the newcomer puts them
//! back together in order ([`StateAssembly`]) and checks the whole state
//! against its digest before the game reads it. The lobby channel is
//! reliable and ordered, so a part out of order is refused, not buffered.

use serde::{Deserialize, Serialize};

use super::{MAX_STATE_BYTES, ResumeError, ResumePoint};

/// The most state bytes one part carries (48 KiB): a part and its fields
/// stay under the lobby's 60 KiB resume message.
pub const STATE_PART_BYTES: usize = 48 * 1024;

/// One part of the state at the switch frame, for a newcomer.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatePart {
    /// The key epoch whose session starts at `frame`.
    pub epoch: u32,
    /// The game frame the state is the start of.
    pub frame: i32,
    /// The whole state's length.
    pub total: u32,
    /// BLAKE3 of the whole state.
    pub digest: [u8; 32],
    /// Where these bytes start in the state.
    pub offset: u32,
    /// The bytes, at most [`STATE_PART_BYTES`].
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for StatePart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatePart")
            .field("epoch", &self.epoch)
            .field("frame", &self.frame)
            .field("total", &self.total)
            .field("offset", &self.offset)
            .field("len", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

impl StatePart {
    /// Field checks that need no other part.
    pub(super) fn validate(&self) -> Result<(), ResumeError> {
        if self.frame < 0 {
            return Err(ResumeError::Invalid("negative frame"));
        }
        if self.total as usize > MAX_STATE_BYTES {
            return Err(ResumeError::Invalid("state too large"));
        }
        if self.bytes.len() > STATE_PART_BYTES {
            return Err(ResumeError::Invalid("part too large"));
        }
        let end = (self.offset as usize).checked_add(self.bytes.len());
        if end.is_none_or(|end| end > self.total as usize) {
            return Err(ResumeError::Invalid("part past the state's end"));
        }
        if self.bytes.is_empty() && self.total != 0 {
            return Err(ResumeError::Invalid("empty part"));
        }
        Ok(())
    }
}

impl ResumePoint {
    /// The point cut into parts of at most [`STATE_PART_BYTES`], in order
    /// (one empty part for an empty state).
    pub fn parts(&self) -> Vec<StatePart> {
        let part = |offset: usize, bytes: &[u8]| StatePart {
            epoch: self.epoch,
            frame: self.frame,
            total: self.state.len() as u32,
            digest: self.digest,
            offset: offset as u32,
            bytes: bytes.to_vec(),
        };
        if self.state.is_empty() {
            return vec![part(0, &[])];
        }
        self.state
            .chunks(STATE_PART_BYTES)
            .enumerate()
            .map(|(i, c)| part(i * STATE_PART_BYTES, c))
            .collect()
    }
}

/// A state being put back together from its parts.
#[derive(Debug)]
pub struct StateAssembly {
    first: StatePart,
    state: Vec<u8>,
}

impl StateAssembly {
    /// Adds the next part (checked by [`StatePart::validate`]); returns the
    /// point once the last part is in. A part of another state, or out of
    /// order, is refused.
    pub fn add(
        assembly: &mut Option<StateAssembly>,
        part: StatePart,
    ) -> Result<Option<ResumePoint>, ResumeError> {
        let a = assembly.get_or_insert_with(|| StateAssembly {
            first: StatePart {
                bytes: Vec::new(),
                ..part.clone()
            },
            state: Vec::new(),
        });
        let same = part.epoch == a.first.epoch
            && part.frame == a.first.frame
            && part.total == a.first.total
            && part.digest == a.first.digest;
        if !same {
            return Err(ResumeError::Invalid("a part of another state"));
        }
        if part.offset as usize != a.state.len() {
            return Err(ResumeError::Invalid("a part out of order"));
        }
        a.state.extend_from_slice(&part.bytes);
        if a.state.len() < a.first.total as usize {
            return Ok(None);
        }
        let point = ResumePoint {
            epoch: a.first.epoch,
            frame: a.first.frame,
            state: std::mem::take(&mut a.state),
            digest: a.first.digest,
        };
        point.validate()?;
        Ok(Some(point))
    }
}
