//! Typed reasons for dropping a datagram, and the counters they map to.

use thiserror::Error;

use super::WIRE_VERSION;

/// Why a datagram was not accepted (or could not be sent).
///
/// Each variant maps to one [`DropReason`], the key under which transports
/// count drops.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WireError {
    /// Shorter than header plus tag: truncated or not ours.
    #[error("datagram too short: {len} bytes")]
    TooShort {
        /// Received length.
        len: usize,
    },
    /// Longer than [`MAX_DATAGRAM`](super::MAX_DATAGRAM).
    #[error("datagram too large: {len} bytes")]
    TooLarge {
        /// Received (or would-be sent) length.
        len: usize,
    },
    /// Another wire version.
    #[error("wire version {got}, expected {WIRE_VERSION}")]
    WrongVersion {
        /// The version in the datagram.
        got: u8,
    },
    /// The tag does not verify: forged, corrupted, of another match (the
    /// key names the match), or from another member than its source.
    #[error("authentication tag does not verify")]
    BadTag,
    /// A sequence number seen before, or older than the replay window.
    #[error("replayed or too old: sender {sender}, seq {seq}")]
    Replayed {
        /// Sender handle from the header.
        sender: u16,
        /// Sequence number, extended.
        seq: u64,
    },
    /// The source address belongs to no member of the match.
    #[error("datagram from an unknown address")]
    UnknownAddress,
    /// Authentic, but the payload is not 1 to [`MAX_BATCH`](super::MAX_BATCH)
    /// GGRS messages (a peer bug).
    #[error("payload does not decode")]
    Malformed,
    /// Sending failed: the message does not encode within [`MAX_DATAGRAM`](super::MAX_DATAGRAM),
    /// the address is of another transport, or the socket refused it.
    #[error("send failed: {0}")]
    Send(SendFailure),
}

/// Why a send failed (see [`WireError::Send`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SendFailure {
    /// The message encodes larger than [`MAX_DATAGRAM`](super::MAX_DATAGRAM).
    #[error("message too large")]
    TooLarge,
    /// The destination is not an address of this transport, or of no member.
    #[error("address of another transport or of no member")]
    WrongTransport,
    /// The operating system refused the datagram.
    #[error("socket error")]
    Io,
    /// The sequence number space towards this peer is exhausted (after
    /// 2^64 - 1 datagrams: never, in practice): start a new match.
    #[error("sequence numbers exhausted")]
    SeqExhausted,
}

/// The counter a dropped datagram is filed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// [`WireError::TooShort`].
    TooShort,
    /// [`WireError::TooLarge`].
    TooLarge,
    /// [`WireError::WrongVersion`].
    WrongVersion,
    /// [`WireError::BadTag`].
    BadTag,
    /// [`WireError::Replayed`].
    Replayed,
    /// [`WireError::UnknownAddress`].
    UnknownAddress,
    /// [`WireError::Malformed`].
    Malformed,
    /// [`WireError::Send`]: outgoing datagrams that could not be sent.
    SendFailed,
    /// Received while the transport's queue of packets awaiting
    /// authentication was full (a flood between two polls).
    BacklogFull,
}

impl DropReason {
    /// Every reason, in counter order.
    pub const ALL: [DropReason; 9] = [
        DropReason::TooShort,
        DropReason::TooLarge,
        DropReason::WrongVersion,
        DropReason::BadTag,
        DropReason::Replayed,
        DropReason::UnknownAddress,
        DropReason::Malformed,
        DropReason::SendFailed,
        DropReason::BacklogFull,
    ];

    /// Position of this reason in [`DropReason::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// A short stable name, for overlays and logs.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::TooShort => "too_short",
            DropReason::TooLarge => "too_large",
            DropReason::WrongVersion => "wrong_version",
            DropReason::BadTag => "bad_tag",
            DropReason::Replayed => "replayed",
            DropReason::UnknownAddress => "unknown_address",
            DropReason::Malformed => "malformed",
            DropReason::SendFailed => "send_failed",
            DropReason::BacklogFull => "backlog_full",
        }
    }
}

impl WireError {
    /// The counter this error is filed under.
    pub fn reason(&self) -> DropReason {
        match self {
            WireError::TooShort { .. } => DropReason::TooShort,
            WireError::TooLarge { .. } => DropReason::TooLarge,
            WireError::WrongVersion { .. } => DropReason::WrongVersion,
            WireError::BadTag => DropReason::BadTag,
            WireError::Replayed { .. } => DropReason::Replayed,
            WireError::UnknownAddress => DropReason::UnknownAddress,
            WireError::Malformed => DropReason::Malformed,
            WireError::Send(_) => DropReason::SendFailed,
        }
    }
}
