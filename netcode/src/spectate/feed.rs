//! [`InputFeed`]: a player's inputs as its session simulated them, handed
//! to the spectator stream once confirmed. A frame re-simulated after a
//! rollback overwrites what was recorded; frames up to the session's
//! confirmed frame are final and move to the [`SpectateNode`].

use std::collections::BTreeMap;

use super::SpectateError;
use super::message::FrameShape;
use super::node::SpectateNode;

/// Frames recorded but not confirmed, at most (GGRS predicts at most 128).
pub const MAX_PENDING_FRAMES: usize = 256;

/// Recorded, not yet confirmed inputs (bounded by [`MAX_PENDING_FRAMES`]).
#[derive(Debug, Clone)]
pub struct InputFeed {
    shape: FrameShape,
    pending: BTreeMap<u32, Vec<u8>>,
    next: u32,
}

impl InputFeed {
    /// An empty feed for frames of `shape`, starting at frame 0.
    pub fn new(shape: FrameShape) -> Self {
        InputFeed {
            shape,
            pending: BTreeMap::new(),
            next: 0,
        }
    }

    /// The next frame to confirm.
    pub fn next_frame(&self) -> u32 {
        self.next
    }

    /// Records the inputs (every player's, by handle) the session
    /// simulated frame `frame` with; a later record of the same frame wins.
    pub fn record(&mut self, frame: u32, inputs: &[u8]) -> Result<(), SpectateError> {
        if inputs.len() != self.shape.frame_len() {
            return Err(SpectateError::BadMessage("frame of the wrong size"));
        }
        if frame < self.next {
            return Ok(()); // already confirmed: a re-simulation cannot change it
        }
        if !self.pending.contains_key(&frame) && self.pending.len() >= MAX_PENDING_FRAMES {
            return Err(SpectateError::HistoryFull {
                max: MAX_PENDING_FRAMES as u32,
            });
        }
        self.pending.insert(frame, inputs.to_vec());
        Ok(())
    }

    /// Every recorded frame up to `confirmed` (inclusive) goes to `node`,
    /// in order, stopping at the first not recorded; returns how many.
    pub fn confirm(
        &mut self,
        confirmed: u32,
        node: &mut SpectateNode,
    ) -> Result<u32, SpectateError> {
        let mut moved = 0;
        while self.next <= confirmed {
            let Some(inputs) = self.pending.remove(&self.next) else {
                break;
            };
            node.push_confirmed(self.next, &inputs)?;
            self.next += 1;
            moved += 1;
        }
        Ok(moved)
    }
}
