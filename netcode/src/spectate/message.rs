//! [`SpectateMessage`]: what members of the spectator stream say to each
//! other, and its checks. Bytes from the network reach the match only through
//! [`SpectateMessage::decode`], which bounds the size, refuses trailing
//! bytes, and checks every field against the match's [`FrameShape`].

use serde::{Deserialize, Serialize};

use super::SpectateError;
use crate::wire::MAX_PAYLOAD;

/// The largest encoded message: one datagram's payload.
pub const MAX_MESSAGE_BYTES: usize = MAX_PAYLOAD;
/// Most frames one [`SpectateMessage::Frames`] carries.
pub const MAX_FRAMES_PER_BATCH: usize = 1024;
/// The largest frame (the inputs of every player for one frame), in bytes.
pub const MAX_FRAME_BYTES: usize = 512;
/// Room kept for the enum tag and the two integers of a `Frames` message.
const FRAMES_HEADER_ROOM: usize = 16;

/// The shape of one confirmed frame: how many players, how many bytes of
/// input each. Both ends know it from the plan and the game, so it never
/// travels; every received frame must match it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameShape {
    /// Players in the match.
    pub players: usize,
    /// Bytes of one player's input for one frame (the game's input type).
    pub input_size: usize,
}

impl FrameShape {
    /// A checked shape: at least one player, at least one byte per input, at
    /// most [`MAX_FRAME_BYTES`] per frame.
    pub fn new(players: usize, input_size: usize) -> Result<Self, SpectateError> {
        let frame = players.saturating_mul(input_size);
        if players == 0 || input_size == 0 || frame > MAX_FRAME_BYTES {
            return Err(SpectateError::BadMessage("frame shape out of bounds"));
        }
        Ok(FrameShape {
            players,
            input_size,
        })
    }

    /// Bytes of one frame (every player's input, by handle).
    pub fn frame_len(&self) -> usize {
        self.players * self.input_size
    }

    /// Most frames that fit one datagram.
    pub fn frames_per_datagram(&self) -> usize {
        ((MAX_MESSAGE_BYTES - FRAMES_HEADER_ROOM) / self.frame_len().max(1))
            .clamp(1, MAX_FRAMES_PER_BATCH)
    }
}

/// One message of the spectator stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SpectateMessage {
    /// Child to parent: "send me the frames from `next` on". Subscribes,
    /// acknowledges every frame below `next` (cumulatively) and keeps the
    /// child alive at its parent; sent every few tens of milliseconds.
    Want {
        /// The first frame the child does not have.
        next: u32,
    },
    /// Parent to child: confirmed frames `first..first + n`, each frame the
    /// inputs of every player by handle (`n * frame_len` bytes). `n` may be
    /// 0: a keep-alive when the match has nothing new.
    Frames {
        /// The first frame carried.
        first: u32,
        /// The frames, back to back.
        inputs: Vec<u8>,
    },
    /// Parent to child: "I serve as many children as I may; ask elsewhere".
    Busy,
    /// Parent to child: the match ended after `frames` frames.
    End {
        /// Frames the match had.
        frames: u32,
    },
}

impl SpectateMessage {
    /// Encodes into `out` (cleared first); `Err` if it would not fit one
    /// datagram.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), SpectateError> {
        out.clear();
        let bytes = postcard::to_allocvec(self)
            .map_err(|_| SpectateError::BadMessage("does not encode"))?;
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(SpectateError::BadMessage("too large"));
        }
        out.extend_from_slice(&bytes);
        Ok(())
    }

    /// Decodes bytes from the network and checks them against `shape` and
    /// the history bound `max_frames`: size, no trailing bytes, whole
    /// frames, at most [`MAX_FRAMES_PER_BATCH`] of them, every frame number
    /// within the match length cap.
    pub fn decode(
        bytes: &[u8],
        shape: FrameShape,
        max_frames: u32,
    ) -> Result<SpectateMessage, SpectateError> {
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(SpectateError::BadMessage("too large"));
        }
        let (message, rest) = postcard::take_from_bytes::<SpectateMessage>(bytes)
            .map_err(|_| SpectateError::BadMessage("does not decode"))?;
        if !rest.is_empty() {
            return Err(SpectateError::BadMessage("trailing bytes"));
        }
        message.validate(shape, max_frames)?;
        Ok(message)
    }

    /// Frames carried by a `Frames` message (0 for the others).
    pub fn frame_count(&self, shape: FrameShape) -> usize {
        match self {
            SpectateMessage::Frames { inputs, .. } => inputs.len() / shape.frame_len().max(1),
            _ => 0,
        }
    }

    /// The field checks of [`decode`](Self::decode).
    fn validate(&self, shape: FrameShape, max_frames: u32) -> Result<(), SpectateError> {
        match self {
            SpectateMessage::Want { next } if *next > max_frames => {
                Err(SpectateError::BadMessage("wants a frame past the cap"))
            }
            SpectateMessage::End { frames } if *frames > max_frames => {
                Err(SpectateError::BadMessage("ends past the cap"))
            }
            SpectateMessage::Frames { first, inputs } => {
                let len = shape.frame_len();
                if len == 0 || inputs.len() % len != 0 {
                    return Err(SpectateError::BadMessage("not whole frames"));
                }
                let count = inputs.len() / len;
                if count > MAX_FRAMES_PER_BATCH {
                    return Err(SpectateError::BadMessage("too many frames"));
                }
                let end = u32::try_from(count).ok().and_then(|c| first.checked_add(c));
                match end {
                    Some(end) if end <= max_frames => Ok(()),
                    _ => Err(SpectateError::BadMessage("frames past the cap")),
                }
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> FrameShape {
        FrameShape::new(2, 2).unwrap()
    }

    #[test]
    fn a_full_batch_fits_one_datagram_and_round_trips() {
        let n = shape().frames_per_datagram();
        let msg = SpectateMessage::Frames {
            first: 1000,
            inputs: vec![7; n * shape().frame_len()],
        };
        let mut out = Vec::new();
        msg.encode(&mut out).unwrap();
        assert!(out.len() <= MAX_MESSAGE_BYTES);
        assert_eq!(
            SpectateMessage::decode(&out, shape(), 100_000).unwrap(),
            msg
        );
    }

    #[test]
    fn partial_frames_frames_past_the_cap_and_trailing_bytes_are_refused() {
        let mut out = Vec::new();
        let partial = SpectateMessage::Frames {
            first: 0,
            inputs: vec![1; 5],
        };
        partial.encode(&mut out).unwrap();
        assert!(SpectateMessage::decode(&out, shape(), 100).is_err());
        let past = SpectateMessage::Frames {
            first: u32::MAX,
            inputs: vec![1; 4],
        };
        past.encode(&mut out).unwrap();
        assert!(SpectateMessage::decode(&out, shape(), u32::MAX).is_err());
        SpectateMessage::Want { next: 3 }.encode(&mut out).unwrap();
        assert!(SpectateMessage::decode(&out, shape(), 100).is_ok());
        out.push(0);
        assert!(SpectateMessage::decode(&out, shape(), 100).is_err());
        SpectateMessage::Want { next: 101 }
            .encode(&mut out)
            .unwrap();
        assert!(SpectateMessage::decode(&out, shape(), 100).is_err());
    }

    #[test]
    fn garbage_never_panics() {
        let mut x: u64 = 0x1234_5678;
        for len in 0..600 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            let _ = SpectateMessage::decode(&bytes, shape(), 1000);
        }
        assert!(SpectateMessage::decode(&vec![0xff; 5000], shape(), 1000).is_err());
    }

    #[test]
    fn shapes_out_of_bounds_are_refused() {
        assert!(FrameShape::new(0, 2).is_err());
        assert!(FrameShape::new(2, 0).is_err());
        assert!(FrameShape::new(64, 64).is_err());
    }
}
