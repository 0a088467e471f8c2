//! [`Batch`]: the GGRS messages one datagram carries, postcard-encoded back
//! to back (postcard messages know their own end, so no length prefix), and
//! which of them may wait for company.
//!
//! GGRS sends to one peer in bursts: an `InputAck` while it polls, its
//! `Input` a moment later as the frame advances, a `QualityReport` now and
//! then. A message that only confirms or keeps alive (`InputAck`,
//! `ChecksumReport`, `KeepAlive`: every `Input` carries its own ack frame
//! anyway) waits in the peer's batch; the next message that moves the game
//! or measures time (`Input`, `SyncRequest`/`SyncReply`,
//! `QualityReport`/`QualityReply`) leaves at once and takes the waiting ones
//! along in one datagram. Whatever still waits leaves at the start of the
//! next poll, so nothing waits longer than the game's poll interval.

use ggrs::Message;

use super::{MAX_PAYLOAD, SendFailure, WireError};

/// Most messages one datagram carries (sent and accepted).
pub const MAX_BATCH: usize = 16;

/// postcard's variant index of each GGRS 0.13 `MessageBody` that may wait
/// (`InputAck` = 3, `ChecksumReport` = 6, `KeepAlive` = 7; the order of the
/// enum in `ggrs/src/network/messages.rs`, pinned with the crate).
const LAZY_VARIANTS: [u8; 3] = [3, 6, 7];

/// Appends `msg`, postcard-encoded, to `out`.
pub fn encode_message(msg: &Message, out: &mut Vec<u8>) -> Result<(), WireError> {
    let encoded = postcard::to_extend(msg, std::mem::take(out))
        .map_err(|_| WireError::Send(SendFailure::TooLarge))?;
    *out = encoded;
    Ok(())
}

/// Whether an encoded GGRS message must leave now (it moves the game or
/// measures time), or may wait for the next one to the same peer. Unknown
/// shapes are urgent.
pub fn is_urgent(encoded: &[u8]) -> bool {
    // Header: the u16 magic as a postcard varint (1 to 3 bytes, the last
    // without the continuation bit), then the body's variant index.
    let magic_len = encoded
        .iter()
        .take(3)
        .position(|b| b & 0x80 == 0)
        .map(|i| i + 1);
    match magic_len.and_then(|n| encoded.get(n)) {
        Some(variant) => !LAZY_VARIANTS.contains(variant),
        None => true,
    }
}

/// Decodes the messages of an authenticated payload: one or more, at most
/// [`MAX_BATCH`], nothing left over.
pub fn decode_payload(payload: &[u8]) -> Result<Vec<Message>, WireError> {
    let mut rest = payload;
    let mut out = Vec::new();
    while !rest.is_empty() {
        if out.len() == MAX_BATCH {
            return Err(WireError::Malformed);
        }
        let (msg, tail) =
            postcard::take_from_bytes::<Message>(rest).map_err(|_| WireError::Malformed)?;
        out.push(msg);
        rest = tail;
    }
    if out.is_empty() {
        return Err(WireError::Malformed);
    }
    Ok(out)
}

/// The messages waiting for one peer: encoded, at most [`MAX_BATCH`] and
/// [`MAX_PAYLOAD`] bytes.
#[derive(Debug, Default)]
pub struct Batch {
    payload: Vec<u8>,
    messages: usize,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `encoded` (one message) fits beside what waits.
    pub fn fits(&self, encoded: &[u8]) -> bool {
        self.messages < MAX_BATCH && self.payload.len() + encoded.len() <= MAX_PAYLOAD
    }

    /// Adds one encoded message (check [`fits`](Self::fits) first; a
    /// message alone larger than [`MAX_PAYLOAD`] is refused).
    pub fn push(&mut self, encoded: &[u8]) -> Result<(), WireError> {
        if !self.fits(encoded) {
            return Err(WireError::Send(SendFailure::TooLarge));
        }
        self.payload.extend_from_slice(encoded);
        self.messages += 1;
        Ok(())
    }

    /// The encoded messages waiting.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// How many messages wait.
    pub fn len(&self) -> usize {
        self.messages
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.messages == 0
    }

    /// Empties the batch (after sealing it).
    pub fn clear(&mut self) {
        self.payload.clear();
        self.messages = 0;
    }
}
