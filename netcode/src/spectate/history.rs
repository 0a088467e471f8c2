//! [`ConfirmedHistory`]: the confirmed frames a member holds, from frame 0,
//! in order, bounded by the match length cap. Players fill it from their
//! session; spectators from their parent. It is what a late spectator
//! catches up from, and what a relay serves its children.

use super::SpectateError;
use super::message::FrameShape;

/// Default match length cap: one hour at 60 frames per second.
pub const DEFAULT_MAX_FRAMES: u32 = 60 * 60 * 60;

/// Confirmed frames `0..len`, back to back, at most `max_frames` of them
/// (so at most `max_frames * MAX_FRAME_BYTES` bytes).
#[derive(Debug, Clone)]
pub struct ConfirmedHistory {
    shape: FrameShape,
    max_frames: u32,
    bytes: Vec<u8>,
    len: u32,
}

impl ConfirmedHistory {
    /// An empty history of frames of `shape`, holding at most `max_frames`.
    pub fn new(shape: FrameShape, max_frames: u32) -> Self {
        ConfirmedHistory {
            shape,
            max_frames,
            bytes: Vec::new(),
            len: 0,
        }
    }

    /// The frame shape.
    pub fn shape(&self) -> FrameShape {
        self.shape
    }

    /// The cap on frames.
    pub fn max_frames(&self) -> u32 {
        self.max_frames
    }

    /// Frames held: the next frame expected is `len()`.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether no frame is held yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends confirmed frame `frame` (must be `len()`), its inputs by
    /// player handle.
    pub fn push(&mut self, frame: u32, inputs: &[u8]) -> Result<(), SpectateError> {
        if frame != self.len {
            return Err(SpectateError::OutOfOrder {
                got: frame,
                expected: self.len,
            });
        }
        if inputs.len() != self.shape.frame_len() {
            return Err(SpectateError::BadMessage("frame of the wrong size"));
        }
        if self.len >= self.max_frames {
            return Err(SpectateError::HistoryFull {
                max: self.max_frames,
            });
        }
        self.bytes.extend_from_slice(inputs);
        self.len += 1;
        Ok(())
    }

    /// Takes the new part of a received batch `first..` (whole frames,
    /// already checked by [`SpectateMessage::decode`](super::SpectateMessage::decode)):
    /// frames already held are skipped, a batch that starts past `len()` is
    /// ignored (a gap: the sender resends from our acknowledgement).
    /// Returns the frames added.
    pub fn extend_from_batch(&mut self, first: u32, inputs: &[u8]) -> u32 {
        let frame_len = self.shape.frame_len();
        if frame_len == 0 || first > self.len {
            return 0;
        }
        let skip = (self.len - first) as usize;
        let mut added = 0;
        for frame in inputs.chunks_exact(frame_len).skip(skip) {
            if self.push(self.len, frame).is_err() {
                break;
            }
            added += 1;
        }
        added
    }

    /// The inputs of frame `frame`, by player handle.
    pub fn frame(&self, frame: u32) -> Option<&[u8]> {
        self.frames(frame, 1)
    }

    /// Frames `first..first + count` (clamped to what is held), back to back.
    pub fn frames(&self, first: u32, count: u32) -> Option<&[u8]> {
        if first >= self.len {
            return None;
        }
        let end = first.saturating_add(count).min(self.len);
        let len = self.shape.frame_len();
        self.bytes.get(first as usize * len..end as usize * len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_overlap_gaps_and_the_cap() {
        let shape = FrameShape::new(2, 1).unwrap();
        let mut h = ConfirmedHistory::new(shape, 4);
        assert_eq!(h.extend_from_batch(1, &[1, 1]), 0, "a gap is ignored");
        assert_eq!(h.extend_from_batch(0, &[0, 0, 1, 1]), 2);
        assert_eq!(h.extend_from_batch(1, &[1, 1, 2, 2, 3, 3, 4, 4]), 2);
        assert_eq!(h.len(), 4);
        assert_eq!(h.frame(2), Some(&[2u8, 2][..]));
        assert!(matches!(
            h.push(4, &[5, 5]),
            Err(SpectateError::HistoryFull { .. })
        ));
        assert!(h.push(7, &[5, 5]).is_err());
        assert_eq!(h.frames(3, 10), Some(&[3u8, 3][..]));
        assert_eq!(h.frames(4, 1), None);
    }
}
