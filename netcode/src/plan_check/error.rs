//! [`PlanError`]: why a plan (or its settings) was refused, in words.

use thiserror::Error;

use super::{
    MAX_DESYNC_INTERVAL, MAX_FPS, MAX_SPECTATORS, MAX_TIMEOUT_MS, MIN_FPS, MIN_TIMEOUT_MS,
};
use crate::addr::PeerAddr;

/// Why a plan (or its settings) was refused. Every variant reads as words a
/// player can be shown.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PlanError {
    /// Fewer players than a match needs.
    #[error("the plan seats {count} player(s); a match needs at least {min}")]
    TooFewPlayers {
        /// Players in the plan.
        count: usize,
        /// The least accepted.
        min: usize,
    },
    /// More players than allowed (by nearplay or the lobby).
    #[error("the plan seats {count} players; at most {max} are allowed")]
    TooManyPlayers {
        /// Players in the plan.
        count: usize,
        /// The most accepted.
        max: usize,
    },
    /// More spectators than allowed.
    #[error("the plan has {count} spectators; at most {max} are allowed")]
    TooManySpectators {
        /// Spectators in the plan.
        count: usize,
        /// The most accepted.
        max: usize,
    },
    /// Player handles are not `0..n` in order.
    #[error("player {index} of the plan has handle {handle} (handles must be 0..n in order)")]
    PlayerHandle {
        /// Position in the player list.
        index: usize,
        /// The handle found there.
        handle: usize,
    },
    /// A spectator handle is below the player count or used twice.
    #[error("spectator handle {handle} is invalid (must be unique and at least the player count)")]
    SpectatorHandle {
        /// The handle.
        handle: usize,
    },
    /// A spectator's host handle names no player.
    #[error("spectator {handle} is hosted by {host}, which is not a player")]
    SpectatorHost {
        /// The spectator handle.
        handle: usize,
        /// Its host handle.
        host: usize,
    },
    /// The holder's own handle is not a seat of the plan.
    #[error("the plan has no seat for you (handle {handle})")]
    LocalMissing {
        /// The plan's local handle.
        handle: usize,
    },
    /// The holder's seat does not carry the holder's own game address.
    #[error("your seat in the plan points at {got}, not at your game port {port}")]
    LocalAddress {
        /// Our game port.
        port: u16,
        /// The address the plan gives our seat.
        got: PeerAddr,
    },
    /// A name is empty, too long or holds control characters.
    #[error("member {handle} has an invalid name")]
    BadName {
        /// The member's handle.
        handle: usize,
    },
    /// Two members have the same name.
    #[error("two members are called {name:?}")]
    DuplicateName {
        /// The shared name.
        name: String,
    },
    /// An address no game socket can be: unspecified, port 0, multicast or broadcast.
    #[error("{name} has an unusable address {addr} ({why})")]
    BadAddress {
        /// The member's name.
        name: String,
        /// The address.
        addr: PeerAddr,
        /// What is wrong with it.
        why: &'static str,
    },
    /// Two members share one address.
    #[error("two members share the address {addr}")]
    DuplicateAddress {
        /// The shared address.
        addr: PeerAddr,
    },
    /// A member's address is not one of the lobby's members: the host
    /// pointed us at a third party.
    #[error("{name} is at {addr}, which is not the address of any lobby member")]
    UnknownAddress {
        /// The member's name.
        name: String,
        /// The address.
        addr: PeerAddr,
    },
    /// `max_prediction` beyond what is accepted.
    #[error("max_prediction {value} is above the limit of {max} frames")]
    MaxPrediction {
        /// The plan's value.
        value: usize,
        /// The limit.
        max: usize,
    },
    /// `input_delay` above `max_prediction` (or above the limit in lockstep).
    #[error("input_delay {delay} exceeds max_prediction {max}")]
    InputDelay {
        /// The plan's input delay.
        delay: usize,
        /// The bound it broke.
        max: usize,
    },
    /// Frame rate out of range.
    #[error("fps {fps} is outside {MIN_FPS}..={MAX_FPS}")]
    Fps {
        /// The plan's value.
        fps: usize,
    },
    /// Disconnect timeout out of range.
    #[error("disconnect timeout {ms} ms is outside {MIN_TIMEOUT_MS}..={MAX_TIMEOUT_MS} ms")]
    DisconnectTimeout {
        /// The plan's value.
        ms: u64,
    },
    /// The disconnect notice would come after the disconnect itself.
    #[error("disconnect notice after {notify_ms} ms comes after the {timeout_ms} ms timeout")]
    DisconnectNotify {
        /// The notice delay.
        notify_ms: u64,
        /// The timeout.
        timeout_ms: u64,
    },
    /// Desync-check interval out of range.
    #[error("desync interval {interval} is above {MAX_DESYNC_INTERVAL} frames")]
    DesyncInterval {
        /// The plan's value.
        interval: u32,
    },
    /// A member secret is keyed by a handle that is no player's seat.
    #[error("a member secret names handle {handle}, which is no player's seat")]
    SecretSeat {
        /// The handle.
        handle: usize,
    },
    /// Spectator fanout out of range.
    #[error("spectate fanout {fanout} is not in 1..={MAX_SPECTATORS}")]
    SpectateFanout {
        /// The plan's value.
        fanout: u16,
    },
}
