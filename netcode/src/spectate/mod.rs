//! Spectators: the confirmed inputs of a match, streamed live to members who
//! watch, through a relay tree so no player uploads to more than `k` of them.
//!
//! A spectator is a live replay fed over the network: it receives, for each
//! frame in order, the inputs of every player as the match confirmed them,
//! and runs the same simulation a few frames behind the players.
//!
//! - [`SpectateMessage`] is the wire message (postcard, bounded, validated
//!   against the match's shape before anything uses it; fuzzed:
//!   `netcode/fuzz`, target `spectate_decode`).
//! - [`RelayTree`] is the rule every member computes from the plan: who
//!   feeds whom, and who takes over when a relay goes silent.
//! - [`SpectateNode`] is the sans-IO state machine of one member (player or
//!   spectator): its bounded history of confirmed frames, the children it
//!   serves (go-back-N with cumulative acknowledgements, so a lost batch is
//!   sent again), the parent it follows, re-attachment on silence.
//!   Whom a spectator asks is `upstream.rs`: a feed that does not serve it
//!   (silent, or only answering `Busy`) is skipped for a while, never for
//!   good, so a spectator recovers while any member can serve it.
//! - [`SpectateSocket`] is the thin I/O shell: one UDP socket, every
//!   datagram sealed with the match key by the [`wire`](crate::wire) layer
//!   under a match id of its own (a spectate datagram is never a game one),
//!   so a stranger cannot inject frames.
//!
//! **Players never wait on a spectator**: a player only pushes frames it has
//! already confirmed into its history and sends what fits in a bounded
//! number of datagrams per poll; nothing a spectator does (silence, loss,
//! a flood of requests) reaches the game session.

mod feed;
mod history;
mod message;
mod node;
mod port;
mod socket;
mod tree;
mod upstream;

pub use feed::{InputFeed, MAX_PENDING_FRAMES};
pub use history::{ConfirmedHistory, DEFAULT_MAX_FRAMES};
pub use message::{
    FrameShape, MAX_FRAME_BYTES, MAX_FRAMES_PER_BATCH, MAX_MESSAGE_BYTES, SpectateMessage,
};
pub use node::{SpectateConfig, SpectateNode, SpectateStats};
pub use port::{SPECTATE_PREFIX, SpectatePort, SpectateTap, TAP_CAPACITY};
pub use socket::{MAX_SOCKET_MEMBERS, SpectateMember, SpectateSocket, spectate_match_id};
pub use tree::{DEFAULT_FANOUT, MAX_SPECTATE_MEMBERS, RelayTree};

/// What goes wrong in the spectator stream.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SpectateError {
    /// A message did not decode, was too large, or does not fit the match.
    #[error("bad spectate message: {0}")]
    BadMessage(&'static str),
    /// A frame was pushed out of order (frames are confirmed in order).
    #[error("frame {got} pushed, {expected} expected")]
    OutOfOrder {
        /// The frame pushed.
        got: u32,
        /// The frame expected next.
        expected: u32,
    },
    /// The history reached its bound (the match length cap).
    #[error("the confirmed history is full ({max} frames)")]
    HistoryFull {
        /// The bound.
        max: u32,
    },
    /// The members given do not form a valid relay tree.
    #[error("bad spectate roster: {0}")]
    BadRoster(&'static str),
    /// A socket error.
    #[error("spectate socket: {0}")]
    Io(String),
}
