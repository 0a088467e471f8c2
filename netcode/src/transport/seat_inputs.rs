//! [`InputTap`]: what each remote player's GGRS inputs were, so the players
//! left in a match can agree on a vanished player's last input frame.
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
//! **A drop GGRS cannot play is not shown to it.** A peer's news that it
//! dropped player `h` after frame `x` makes GGRS roll back to `x + 1`; GGRS
//! 0.13 keeps inputs only from its last confirmed frame on (one before it)
//! and panics on a rollback further back, and bevy_ggrs keeps only as many
//! snapshots as the prediction window, so a rollback to the confirmed frame
//! itself can already miss one ("Could not rollback"). Normal rollbacks
//! go to a frame after the confirmed one. Such news comes from a member
//! that forges it (one datagram ended every other player's game), and
//! without any forger from survivors whose own timeouts dropped a player
//! at frames further apart than that (three processes frozen together for
//! 3 s: the host panicked). The tap reads GGRS's confirmed frame from this
//! player's own outgoing inputs (the lowest last frame of a connected
//! player in their statuses, which is how GGRS computes it) and shows
//! GGRS the seat connected in any news of a drop at a frame before it. Where that was
//! a real drop, the views now differ, and checksums say so (a desync the
//! lobby's resume repairs) instead of the game ending.
//!
//! **A peer that dropped this player is not a desync.** GGRS 0.13 stops
//! sending inputs to a peer it dropped but goes on sending it checksum
//! reports until it shuts the endpoint down (5 s): reports of a history in
//! which that peer's seat is empty from the frame it was dropped at. The
//! dropped peer, still playing its own inputs there (a one-way outage, a
//! process that was frozen and woke up), compared them with its own and
//! saw a desync, and, as they kept its endpoint alive, noticed it was
//! alone 5 s late. So a checksum report reaches GGRS only once an `Input`
//! message from the same peer arrives after it (a peer sends inputs only to
//! peers it still plays with, every frame); until then it waits here, at
//! most [`HELD_REPORTS`] per peer, the oldest dropped first.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ggrs::{Message, NonBlockingSocket};
use thiserror::Error;

use super::ggrs_mirror::{self, MirrorInput, Read};
use crate::addr::PeerAddr;

/// Input frames kept per remote player (about a second at 60 fps: more
/// than any two survivors' views of a vanished player can differ by).
pub const KEPT_FRAMES: usize = 64;

/// Checksum reports kept per peer until an input of it follows (GGRS
/// sends one every desync interval, 10 frames by default, and inputs every
/// frame: one or two wait at a time).
pub const HELD_REPORTS: usize = 4;

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
struct Stream {
    /// The GGRS magic of its messages and its last connection statuses:
    /// what a filled message must carry to be accepted as its own.
    magic: u16,
    statuses: Vec<ggrs_mirror::MirrorStatus>,
    held: VecDeque<(i32, Vec<u8>)>,
    last_frame: Option<i32>,
    frozen: bool,
    /// Its player handle while others' news of its drop is held back
    /// (from [`SeatInputs::freeze`] to [`SeatInputs::release`]).
    hide_drop_of: Option<usize>,
    /// Its checksum reports waiting for an input after them.
    reports: VecDeque<Message>,
    /// Per player, the highest last frame its messages gave GGRS (GGRS
    /// keeps the highest of each endpoint's).
    last_frames: Vec<i32>,
}

impl Stream {
    fn input(&self, frame: i32) -> Option<&Vec<u8>> {
        self.held.iter().find(|(f, _)| *f == frame).map(|(_, b)| b)
    }

    /// Mirrors GGRS's `UdpProtocol::on_input`: decode against the input of
    /// the frame before the first one carried (nothing before any input),
    /// keep the frames after the last one held.
    fn on_input(&mut self, magic: u16, input: &MirrorInput) {
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
    fn merge_last_frames(&mut self, input: &MirrorInput) {
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
struct Streams {
    by_peer: BTreeMap<PeerAddr, Stream>,
    /// GGRS's confirmed frame when it last sent inputs (see the module
    /// docs): a drop before it cannot be played.
    confirmed: Option<i32>,
    /// The remote players' addresses, when known: GGRS's endpoints of
    /// players, each with last frames of -1 until its first input.
    players: Vec<PeerAddr>,
    /// Filled messages waiting for GGRS's next receive.
    filled: Vec<(PeerAddr, Message)>,
}

/// The shared view of an [`InputTap`]: the game's side (cloning shares it).
#[derive(Clone, Debug, Default)]
pub struct SeatInputs {
    inner: Arc<Mutex<Streams>>,
}

impl SeatInputs {
    fn lock(&self) -> MutexGuard<'_, Streams> {
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

/// Wraps a GGRS socket: records every remote player's inputs (see the
/// module docs), withholds a frozen player's messages, delivers fills.
pub struct InputTap<T> {
    inner: T,
    seats: SeatInputs,
}

impl<T> InputTap<T> {
    /// Taps `inner`; `seats` is the game's handle on what it records.
    pub fn new(inner: T, seats: SeatInputs) -> Self {
        InputTap { inner, seats }
    }
}

impl<T: super::Transport> super::Transport for InputTap<T> {
    fn counters(&self) -> crate::stats::TrafficCounters {
        self.inner.counters()
    }
}

impl<T: NonBlockingSocket<PeerAddr>> NonBlockingSocket<PeerAddr> for InputTap<T> {
    fn send_to(&mut self, msg: &Message, addr: &PeerAddr) {
        if let Read::Input(_, input) = ggrs_mirror::read(msg) {
            let confirmed = input
                .peer_connect_status
                .iter()
                .filter(|s| !s.disconnected)
                .map(|s| s.last_frame)
                .min();
            if let Some(frame) = confirmed {
                let mut streams = self.seats.lock();
                streams.confirmed = Some(streams.confirmed.map_or(frame, |c| c.max(frame)));
            }
        }
        self.inner.send_to(msg, addr);
    }

    fn receive_all_messages(&mut self) -> Vec<(PeerAddr, Message)> {
        let received = self.inner.receive_all_messages();
        let mut streams = self.seats.lock();
        let hidden: Vec<usize> = streams
            .by_peer
            .values()
            .filter_map(|s| s.hide_drop_of)
            .collect();
        let mut out = std::mem::take(&mut streams.filled);
        let confirmed = streams.confirmed;
        for (addr, msg) in received {
            let stream = streams.by_peer.entry(addr).or_default();
            if stream.frozen {
                continue;
            }
            match ggrs_mirror::read(&msg) {
                Read::Input(magic, input) => {
                    stream.on_input(magic, &input);
                    stream.merge_last_frames(&input);
                    let reports: Vec<Message> = stream.reports.drain(..).collect();
                    let unplayable = unplayable_before(confirmed, lowest_last_frames(&streams));
                    match hide_drops(magic, input, &hidden, unplayable) {
                        Some(shown) => out.push((addr, shown)),
                        None => out.push((addr, msg)),
                    }
                    // It still plays with us: its reports are of our match.
                    out.extend(reports.into_iter().map(|r| (addr, r)));
                }
                Read::Checksum(_) => {
                    if stream.reports.len() >= HELD_REPORTS {
                        stream.reports.pop_front();
                    }
                    stream.reports.push_back(msg);
                }
                Read::Other => out.push((addr, msg)),
            }
        }
        out
    }
}

/// Per player, the lowest last frame any peer's messages gave GGRS (-1
/// for a player that has sent none): when one of them says the player
/// dropped, GGRS drops it at the lowest last frame every running endpoint
/// reports (`update_player_disconnects`). Over `players` when known, else
/// over every peer heard from.
fn lowest_last_frames(streams: &Streams) -> impl Fn(usize) -> i32 + '_ {
    move |h| {
        let of = |s: Option<&Stream>| s.and_then(|s| s.last_frames.get(h)).copied();
        if streams.players.is_empty() {
            streams.by_peer.values().filter_map(|s| of(Some(s))).min()
        } else {
            let all = streams.players.iter();
            all.map(|p| of(streams.by_peer.get(p)).unwrap_or(-1)).min()
        }
        .unwrap_or(-1)
    }
}

/// Which news of a drop GGRS cannot play: the seat `h` dropped after
/// `last_frame` would be dropped after the lower of that and `floor(h)`,
/// a rollback to the frame after it, which must come after `confirmed`.
fn unplayable_before(
    confirmed: Option<i32>,
    floor: impl Fn(usize) -> i32,
) -> impl Fn(usize, i32) -> bool {
    move |h, last_frame| {
        let at = floor(h).min(last_frame);
        confirmed.is_some_and(|c| at < c)
    }
}

/// `input` as a GGRS message in which the seats `hidden`, and any seat
/// whose drop is `unplayable`, are shown connected, if it showed any of
/// them disconnected (`None`: hand GGRS the message as it came). Their
/// last frames stay: GGRS acts on a last frame only for a player shown
/// disconnected.
fn hide_drops(
    magic: u16,
    mut input: MirrorInput,
    hidden: &[usize],
    unplayable: impl Fn(usize, i32) -> bool,
) -> Option<Message> {
    let mut changed = false;
    for (handle, status) in input.peer_connect_status.iter_mut().enumerate() {
        if status.disconnected
            && (hidden.contains(&handle) || unplayable(handle, status.last_frame))
        {
            status.disconnected = false;
            changed = true;
        }
    }
    if !changed {
        return None;
    }
    ggrs_mirror::input_message(magic, input)
}

#[cfg(test)]
#[path = "seat_inputs_tests.rs"]
mod tests;
