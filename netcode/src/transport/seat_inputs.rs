//! [`SeatInputs`], recorded by the [`InputTap`](super::InputTap): what
//! each remote player's GGRS inputs were, so the players left in a match
//! can agree on a vanished player's last input frame.
//!
//! **Why.** When a player vanishes, each survivor holds its inputs up to
//! the last frame that reached it, and those differ (its last datagrams are
//! lost to one survivor, not to another). GGRS 0.13 then goes wrong: a
//! survivor that drops the player at frame `b` and later hears from another
//! that it dropped it at `a < b` must roll back to `a + 1`, which is often
//! outside its prediction window ("cannot load frame outside of prediction
//! window", `sync_layer.rs`), and even inside it, it replays the inputs
//! `a + 1 ..= b` it holds while the other plays them as `Disconnected`
//! (its `last_frame` is never lowered): the survivors disagree. Neither can
//! happen when every survivor holds the same inputs when it drops the
//! player. So each survivor stops listening to the vanished player
//! ([`SeatInputs::freeze`]), tells the others the inputs it holds (over the
//! lobby's control channel), and the ones that hold fewer get the missing
//! ones from the others ([`SeatInputs::fill`]) before anyone drops it.
//!
//! The tap sits between GGRS and any transport. It reads GGRS 0.13's
//! `Input` messages with a mirror of their postcard layout (GGRS keeps the
//! fields private; the layout is pinned with the crate, see
//! [`ggrs_mirror`](super::ggrs_mirror)), keeps each remote player's last
//! [`KEPT_FRAMES`] inputs as GGRS's own bytes, and hands GGRS the missing
//! inputs as one more `Input` message from that player, encoded as GGRS
//! encodes it. Inputs of a frozen player are bytes from the network: a
//! fill only ever adds frames after the ones held, in order.
//!
//! **News of the drop waits for the agreement.** Each GGRS `Input` message
//! carries its sender's connection status of every player. A survivor that
//! dropped the seat says so in its next inputs, with the frame it dropped
//! at, and GGRS drops the seat on hearing it, at the lowest last frame it
//! knows of, its own included. Online the game link is faster than the
//! lobby: a survivor that holds fewer inputs heard of the other's drop
//! before the other's report reached it, dropped the seat at its own
//! earlier frame, and the other, told so, had to roll back past its
//! prediction window (GGRS panicked). So from [`SeatInputs::freeze`] until
//! [`SeatInputs::release`] (once this survivor filled what the agreement
//! gave), the other players' messages reach GGRS with that seat shown
//! connected; nothing else in them changes.
//!
//!
//! The tap itself, and what else it checks before GGRS hears it: see
//! [`InputTap`](super::InputTap).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ggrs::Message;
use thiserror::Error;

use super::ggrs_mirror::{self, MirrorInput};
use crate::addr::PeerAddr;

/// Input frames kept per remote player (about a second at 60 fps: more
/// than any two survivors' views of a vanished player can differ by).
pub const KEPT_FRAMES: usize = 64;

/// Largest input of one frame, as GGRS encodes it, that is kept or filled.
pub const MAX_INPUT_BYTES: usize = 256;

/// A remote player's inputs as GGRS received them: frames
/// `first_frame ..= last_frame()`, each as GGRS's bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeldInputs {
    /// The frame of `inputs[0]`.
    pub first_frame: i32,
    /// One entry per frame, oldest first.
    pub inputs: Vec<Vec<u8>>,
}

impl HeldInputs {
    /// The last frame held; `first_frame - 1` when none.
    pub fn last_frame(&self) -> i32 {
        let len = i32::try_from(self.inputs.len()).unwrap_or(i32::MAX);
        self.first_frame.saturating_add(len).saturating_sub(1)
    }

    fn get(&self, frame: i32) -> Option<&Vec<u8>> {
        let i = usize::try_from(frame.checked_sub(self.first_frame)?).ok()?;
        self.inputs.get(i)
    }
}

/// Why [`SeatInputs::fill`] did nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FillError {
    /// No input message was ever received from that player.
    #[error("no input of that player was received")]
    Unknown,
    /// The other survivor's inputs do not reach back to the last frame held
    /// here (they must overlap it to be encoded as GGRS does).
    #[error("the inputs given do not overlap the ones held")]
    NoOverlap,
    /// An input is larger than [`MAX_INPUT_BYTES`].
    #[error("an input is too large")]
    TooLarge,
}

/// One remote player's input stream as GGRS sees it.
#[derive(Debug, Default)]
pub(super) struct Stream {
    /// The GGRS magic of its messages and its last connection statuses:
    /// what a filled message must carry to be accepted as its own.
    pub(super) magic: u16,
    pub(super) statuses: Vec<ggrs_mirror::MirrorStatus>,
    pub(super) held: VecDeque<(i32, Vec<u8>)>,
    pub(super) last_frame: Option<i32>,
    pub(super) frozen: bool,
    /// Its player handle while others' news of its drop is held back
    /// (from [`SeatInputs::freeze`] to [`SeatInputs::release`]).
    pub(super) hide_drop_of: Option<usize>,
    /// Its checksum reports waiting for an input after them.
    pub(super) reports: VecDeque<Message>,
    /// Per player, the highest last frame its messages gave GGRS (GGRS
    /// keeps the highest of each endpoint's).
    pub(super) last_frames: Vec<i32>,
}

impl Stream {
    fn input(&self, frame: i32) -> Option<&Vec<u8>> {
        self.held.iter().find(|(f, _)| *f == frame).map(|(_, b)| b)
    }

    /// Mirrors GGRS's `UdpProtocol::on_input`: decode against the input of
    /// the frame before the first one carried (nothing before any input),
    /// keep the frames after the last one held.
    pub(super) fn on_input(&mut self, magic: u16, input: &MirrorInput) {
        if input.disconnect_requested || input.start_frame < 0 {
            return;
        }
        let reference: &[u8] = match self.last_frame {
            None => &[],
            Some(_) => match self.input(input.start_frame - 1) {
                Some(r) => r,
                None => return,
            },
        };
        let Ok(frames) = ggrs_mirror::decode_inputs(reference, &input.bytes) else {
            return;
        };
        self.magic = magic;
        self.statuses.clone_from(&input.peer_connect_status);
        for (i, bytes) in frames.into_iter().enumerate() {
            let frame = input.start_frame.saturating_add(i as i32);
            if self.last_frame.is_some_and(|last| frame <= last) {
                continue;
            }
            self.push(frame, bytes);
        }
    }

    /// Keeps the highest last frame of each player its messages gave.
    pub(super) fn merge_last_frames(&mut self, input: &MirrorInput) {
        for (h, status) in input.peer_connect_status.iter().enumerate() {
            match self.last_frames.get_mut(h) {
                Some(f) => *f = (*f).max(status.last_frame),
                None => self.last_frames.push(status.last_frame),
            }
        }
    }

    fn push(&mut self, frame: i32, bytes: Vec<u8>) {
        self.held.push_back((frame, bytes));
        self.last_frame = Some(frame);
        while self.held.len() > KEPT_FRAMES {
            self.held.pop_front();
        }
    }

    fn held_inputs(&self) -> HeldInputs {
        HeldInputs {
            first_frame: self.held.front().map_or(0, |(f, _)| *f),
            inputs: self.held.iter().map(|(_, b)| b.clone()).collect(),
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Streams {
    pub(super) by_peer: BTreeMap<PeerAddr, Stream>,
    /// GGRS's confirmed frame when it last sent inputs (see the module
    /// docs): a drop before it cannot be played.
    pub(super) confirmed: Option<i32>,
    /// The remote players' addresses, when known: GGRS's endpoints of
    /// players, each with last frames of -1 until its first input.
    pub(super) players: Vec<PeerAddr>,
    /// Filled messages waiting for GGRS's next receive.
    pub(super) filled: Vec<(PeerAddr, Message)>,
}

/// The shared view of an [`InputTap`](super::InputTap): the game's side (cloning shares it).
#[derive(Clone, Debug, Default)]
pub struct SeatInputs {
    inner: Arc<Mutex<Streams>>,
}

impl SeatInputs {
    pub(super) fn lock(&self) -> MutexGuard<'_, Streams> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The addresses of the remote players (not spectators) GGRS plays
    /// with: a drop is judged against every one's last frames, -1 for one
    /// that sent none yet (as GGRS does).
    pub fn set_players(&self, players: impl IntoIterator<Item = PeerAddr>) {
        let mut players: Vec<PeerAddr> = players.into_iter().collect();
        players.sort();
        players.dedup();
        self.lock().players = players;
    }

    /// The last input frame GGRS received from `peer`, if any.
    pub fn last_frame(&self, peer: PeerAddr) -> Option<i32> {
        self.lock().by_peer.get(&peer).and_then(|s| s.last_frame)
    }

    /// Stops handing `peer`'s (player `handle`'s) messages to GGRS (it
    /// vacated its seat), so the inputs GGRS holds of it stay what this
    /// returns: the ones to tell the other survivors. Freezing again returns
    /// the same. Until [`release`](Self::release), GGRS does not hear from
    /// the other players that they dropped that seat (see the module docs).
    pub fn freeze(&self, peer: PeerAddr, handle: usize) -> HeldInputs {
        let mut streams = self.lock();
        let stream = streams.by_peer.entry(peer).or_default();
        if !stream.frozen {
            stream.frozen = true;
            stream.hide_drop_of = Some(handle);
        }
        stream.held_inputs()
    }

    /// The survivors agreed on frozen `peer`'s inputs and this one
    /// [`fill`](Self::fill)ed what it lacked (or lacked nothing, or gave up
    /// waiting): the other players' news that they dropped the seat reaches
    /// GGRS again, from the next receive on (after the filled inputs).
    pub fn release(&self, peer: PeerAddr) {
        if let Some(stream) = self.lock().by_peer.get_mut(&peer) {
            stream.hide_drop_of = None;
        }
    }

    /// Whether `peer` is frozen.
    pub fn is_frozen(&self, peer: PeerAddr) -> bool {
        self.lock().by_peer.get(&peer).is_some_and(|s| s.frozen)
    }

    /// Hands GGRS the inputs of `peer` (player `handle`) in `other`
    /// (another survivor's [`HeldInputs`]) after the last frame held here,
    /// as one `Input` message from `peer` on the next receive. Returns the
    /// last frame held now (unchanged when `other` holds nothing newer).
    ///
    /// The message repeats the connection statuses `peer` last sent, except
    /// its own last frame, which becomes the last frame filled: GGRS takes
    /// the lowest last frame any peer reports for a player it drops, and
    /// the vanished player's own stale report would otherwise win.
    pub fn fill(
        &self,
        peer: PeerAddr,
        handle: usize,
        other: &HeldInputs,
    ) -> Result<i32, FillError> {
        let mut streams = self.lock();
        let Streams {
            by_peer, filled, ..
        } = &mut *streams;
        let stream = by_peer.get_mut(&peer).ok_or(FillError::Unknown)?;
        let last = stream.last_frame.ok_or(FillError::Unknown)?;
        if other.last_frame() <= last {
            return Ok(last);
        }
        if other.inputs.iter().any(|i| i.len() > MAX_INPUT_BYTES) {
            return Err(FillError::TooLarge);
        }
        // GGRS decodes against the input of the frame before the first one
        // sent: ours (the same bytes as the other's, both from `peer`).
        let reference = stream.input(last).ok_or(FillError::Unknown)?.clone();
        let start = last + 1;
        let mut new = Vec::new();
        for frame in start..=other.last_frame() {
            new.push(other.get(frame).ok_or(FillError::NoOverlap)?.clone());
        }
        let mut statuses = stream.statuses.clone();
        if let Some(own) = statuses.get_mut(handle) {
            own.last_frame = own.last_frame.max(other.last_frame());
        }
        let message = ggrs_mirror::input_message(
            stream.magic,
            MirrorInput {
                peer_connect_status: statuses,
                disconnect_requested: false,
                start_frame: start,
                ack_frame: ggrs::NULL_FRAME,
                bytes: ggrs_mirror::encode_inputs(&reference, &new),
            },
        )
        .ok_or(FillError::Unknown)?;
        for (i, bytes) in new.into_iter().enumerate() {
            stream.push(start + i as i32, bytes);
        }
        filled.push((peer, message));
        Ok(other.last_frame())
    }
}

#[cfg(test)]
#[path = "seat_inputs_tests.rs"]
mod tests;
