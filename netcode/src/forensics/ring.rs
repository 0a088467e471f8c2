//! [`FrameRing`]: the last frames of something, by frame number, bounded.

use std::collections::BTreeMap;

/// Frames added to the ring on top of `max_prediction + desync_interval`:
/// GGRS compares frame F only when the peer's checksum for F arrives, a
/// round trip after the peer confirmed F (two seconds at 60 fps).
pub const DETECTION_SLACK_FRAMES: usize = 120;

/// How many frames a ring must keep so that the frame of a desync is still
/// there when GGRS reports it: the prediction window (we may be that far
/// ahead of the confirmed frame), the check interval (the frame compared is
/// the last multiple before the confirmed one) and
/// [`DETECTION_SLACK_FRAMES`] for the peer's checksum to arrive.
pub fn ring_frames(max_prediction: usize, desync_interval: u32) -> usize {
    max_prediction
        .saturating_add(usize::try_from(desync_interval).unwrap_or(usize::MAX))
        .saturating_add(DETECTION_SLACK_FRAMES)
        .max(1)
}

/// Per-frame values, at most `capacity` frames: inserting frame F again
/// (a rollback resimulated it) overwrites it; inserting beyond the capacity
/// drops the oldest frame. Frames are GGRS frame numbers.
#[derive(Debug, Clone)]
pub struct FrameRing<T> {
    capacity: usize,
    frames: BTreeMap<i32, T>,
}

impl<T> FrameRing<T> {
    /// An empty ring keeping at most `capacity` frames (at least one).
    pub fn new(capacity: usize) -> Self {
        FrameRing {
            capacity: capacity.max(1),
            frames: BTreeMap::new(),
        }
    }

    /// How many frames it keeps at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Frames held now.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether no frame is held.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Stores `value` for `frame` (replacing a resimulated frame's), then
    /// drops the oldest frames beyond the capacity.
    pub fn insert(&mut self, frame: i32, value: T) {
        self.frames.insert(frame, value);
        while self.frames.len() > self.capacity {
            self.frames.pop_first();
        }
    }

    /// The value of `frame`, if still held.
    pub fn get(&self, frame: i32) -> Option<&T> {
        self.frames.get(&frame)
    }

    /// The frames in `from..=to`, oldest first.
    pub fn range(&self, from: i32, to: i32) -> impl Iterator<Item = (i32, &T)> {
        let (from, to) = if from <= to { (from, to) } else { (to, from) };
        self.frames.range(from..=to).map(|(f, v)| (*f, v))
    }

    /// Every frame held, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = (i32, &T)> {
        self.frames.iter().map(|(f, v)| (*f, v))
    }

    /// Forgets every frame (a new match).
    pub fn clear(&mut self) {
        self.frames.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_the_newest_frames_and_overwrites_resimulated_ones() {
        let mut ring = FrameRing::new(3);
        for f in 0..5 {
            ring.insert(f, f * 10);
        }
        assert_eq!(ring.len(), 3);
        assert_eq!(ring.get(1), None);
        assert_eq!(ring.get(2), Some(&20));
        ring.insert(3, 99);
        assert_eq!(ring.get(3), Some(&99));
        assert_eq!(ring.len(), 3);
        let held: Vec<i32> = ring.range(0, 10).map(|(f, _)| f).collect();
        assert_eq!(held, vec![2, 3, 4]);
    }

    #[test]
    fn the_ring_covers_prediction_interval_and_detection_slack() {
        assert_eq!(ring_frames(12, 10), 12 + 10 + DETECTION_SLACK_FRAMES);
        assert_eq!(ring_frames(usize::MAX, u32::MAX), usize::MAX);
        assert_eq!(FrameRing::<u8>::new(0).capacity(), 1);
    }
}
