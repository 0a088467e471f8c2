//! [`InputTap`]: the GGRS socket wrapper that records what
//! [`SeatInputs`] knows of each remote player, withholds a frozen seat's
//! messages and delivers fills (see [`seat_inputs`](super::seat_inputs)),
//! and checks what peers say about drops before GGRS hears it.
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
//! GGRS the seat connected in any news of a drop at a frame before it.
//! Where that was a real drop, the views now differ, and checksums say so
//! (a desync the lobby's resume repairs) instead of the game ending.
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

use ggrs::{Message, NonBlockingSocket};

use super::ggrs_mirror::{self, MirrorInput, Read};
use super::seat_inputs::{SeatInputs, Stream, Streams};
use crate::addr::PeerAddr;

/// Checksum reports kept per peer until an input of it follows (GGRS
/// sends one every desync interval, 10 frames by default, and inputs every
/// frame: one or two wait at a time).
pub const HELD_REPORTS: usize = 4;

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
