//! [`InputRecorder`]: the confirmed input history of a match, built from
//! the frames the game simulates.

use std::collections::BTreeMap;

use super::file::{ReplayFile, ReplayGame, ReplayPlan};

/// A checksum is kept every this many frames unless told otherwise (one a
/// second at 60 fps); the last confirmed frame's is always kept.
pub const DEFAULT_CHECKSUM_INTERVAL: u32 = 60;

/// The most frames a recorder keeps: four hours at 60 fps. Later frames are
/// not recorded (the replay ends there) and [`InputRecorder::overflowed`]
/// says so.
pub const MAX_REPLAY_FRAMES: u32 = 60 * 60 * 60 * 4;

/// The inputs of frames that just became final, for a spectator feed:
/// `inputs` holds `players` inputs per frame, frames `first_frame..`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfirmedBatch<I> {
    /// The first frame of the batch (frames are counted from 1: frame `n`
    /// is the `n`-th simulated frame, GGRS frame `n - 1`).
    pub first_frame: u32,
    /// Players per frame.
    pub players: usize,
    /// The inputs, frame after frame, by player handle within a frame.
    pub inputs: Vec<I>,
}

impl<I> ConfirmedBatch<I> {
    /// Frames in the batch.
    pub fn frames(&self) -> u32 {
        u32::try_from(self.inputs.len() / self.players.max(1)).unwrap_or(u32::MAX)
    }

    /// The inputs of each frame, as `(frame, inputs by handle)`.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &[I])> {
        (self.first_frame..).zip(self.inputs.chunks_exact(self.players.max(1)))
    }
}

/// Records, per frame, the inputs every player was last simulated with.
///
/// Pure state, no I/O and no clock: the game (or `nearplay::bevy`) calls
/// [`record_frame`](Self::record_frame) after simulating a frame (again on
/// a resimulation, which overwrites it), [`record_checksum`](Self::record_checksum)
/// with its state's checksum, and [`confirm`](Self::confirm) with how many
/// frames the session has confirmed; frames up to that count are final and
/// never change again. Memory is bounded by [`MAX_REPLAY_FRAMES`] (or
/// [`stop_after`](Self::stop_after)).
#[derive(Clone, Debug)]
pub struct InputRecorder<I> {
    players: usize,
    interval: u32,
    limit: u32,
    inputs: Vec<I>,
    frames: u32,
    confirmed: u32,
    streamed: u32,
    pending_checksums: BTreeMap<u32, u64>,
    checksums: Vec<(u32, u64)>,
    last_checksum: Option<(u32, u64)>,
    overflowed: bool,
}

impl<I: Clone + Default> InputRecorder<I> {
    /// A recorder for `players` players keeping a checksum every
    /// `checksum_interval` frames (0 keeps only the last one).
    pub fn new(players: usize, checksum_interval: u32) -> Self {
        InputRecorder {
            players: players.max(1),
            interval: checksum_interval,
            limit: MAX_REPLAY_FRAMES,
            inputs: Vec::new(),
            frames: 0,
            confirmed: 0,
            streamed: 0,
            pending_checksums: BTreeMap::new(),
            checksums: Vec::new(),
            last_checksum: None,
            overflowed: false,
        }
    }

    /// Records no frame past `frames` (a match that ends at a known frame,
    /// so every player's replay ends at the same one). Never above
    /// [`MAX_REPLAY_FRAMES`].
    pub fn stop_after(mut self, frames: u32) -> Self {
        self.limit = frames.min(MAX_REPLAY_FRAMES);
        self
    }

    /// Players per frame.
    pub fn players(&self) -> usize {
        self.players
    }

    /// Frames recorded so far, confirmed or not.
    pub fn frames(&self) -> u32 {
        self.frames
    }

    /// Frames final so far.
    pub fn confirmed(&self) -> u32 {
        self.confirmed
    }

    /// Whether frames past the limit were played and not recorded.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// The game simulated `frame` (counted from 1) with `inputs` (by
    /// handle; missing ones count as the default input, extra ones are
    /// ignored). A final frame is not changed; a frame past the next one
    /// (a gap, which GGRS never makes) or past the limit is ignored.
    pub fn record_frame(&mut self, frame: u32, inputs: &[I]) {
        if frame == 0 || frame <= self.confirmed || frame > self.frames.saturating_add(1) {
            return;
        }
        if frame > self.limit {
            self.overflowed = self.limit == MAX_REPLAY_FRAMES;
            return;
        }
        let start = (frame as usize - 1) * self.players;
        if frame > self.frames {
            self.inputs.resize(start + self.players, I::default());
            self.frames = frame;
        }
        if let Some(slots) = self.inputs.get_mut(start..start + self.players) {
            for (handle, slot) in slots.iter_mut().enumerate() {
                *slot = inputs.get(handle).cloned().unwrap_or_default();
            }
        }
    }

    /// The game's checksum of its state after `frame`; kept if the frame
    /// is not final yet (a resimulation overwrites it).
    pub fn record_checksum(&mut self, frame: u32, checksum: u64) {
        if frame > self.confirmed && frame <= self.frames && frame <= self.limit {
            self.pending_checksums.insert(frame, checksum);
        }
    }

    /// The session has confirmed `frames` frames (bevy_ggrs's
    /// `ConfirmedFrameCount + 1`): they are final. Returns how many frames
    /// became final with this call.
    pub fn confirm(&mut self, frames: u32) -> u32 {
        let confirmed = frames.min(self.frames).min(self.limit);
        if confirmed <= self.confirmed {
            return 0;
        }
        let newer = self.pending_checksums.split_off(&(confirmed + 1));
        let settled = std::mem::replace(&mut self.pending_checksums, newer);
        for (frame, checksum) in settled {
            if self.interval > 0 && frame % self.interval == 0 {
                self.checksums.push((frame, checksum));
            }
            self.last_checksum = Some((frame, checksum));
        }
        let newly = confirmed - self.confirmed;
        self.confirmed = confirmed;
        newly
    }

    /// The frames confirmed since the last call, if any (for a spectator
    /// feed; what it returns stays in the recording too).
    pub fn take_confirmed(&mut self) -> Option<ConfirmedBatch<I>> {
        if self.streamed >= self.confirmed {
            return None;
        }
        let from = self.streamed as usize * self.players;
        let to = self.confirmed as usize * self.players;
        let inputs = self.inputs.get(from..to)?.to_vec();
        let batch = ConfirmedBatch {
            first_frame: self.streamed + 1,
            players: self.players,
            inputs,
        };
        self.streamed = self.confirmed;
        Some(batch)
    }

    /// The replay of the final frames: inputs up to the confirmed frame,
    /// the checksums kept and the last confirmed frame's.
    pub fn finish(&self, game: ReplayGame, plan: ReplayPlan) -> ReplayFile<I> {
        let mut checksums = self.checksums.clone();
        if let Some(last) = self.last_checksum {
            if checksums.last().is_none_or(|(f, _)| *f < last.0) {
                checksums.push(last);
            }
        }
        let mut inputs = self.inputs.clone();
        inputs.truncate(self.confirmed as usize * self.players);
        ReplayFile {
            game,
            plan,
            checksum_interval: self.interval,
            frames: self.confirmed,
            players: self.players,
            inputs,
            checksums,
        }
    }
}
