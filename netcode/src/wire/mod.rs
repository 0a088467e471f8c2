//! The game datagram: header, payload and authentication tag (sans-IO).
//!
//! Every game datagram nearplay sends, whatever the transport, is laid out as
//! (wire version 2)
//!
//! ```text
//! offset  size  field
//!  0       1    wire version (WIRE_VERSION)
//!  1       2    sequence number of this sender towards this receiver, low 16 bits, little endian
//!  3       n    payload: 1..=MAX_BATCH GGRS `Message`s, postcard-encoded back to back
//!  3+n     8    tag: BLAKE3 keyed hash (key = MatchKey) of the route and bytes 0..3+n, truncated
//! ```
//!
//! 11 bytes around the payload (version 1 had 33: magic, match id, sender
//! handle and a 32-bit sequence number in clear, and a 16-byte tag).
//!
//! **What is not sent is still authenticated.** The tag covers an implicit
//! header both ends know without reading the datagram: the match id, the
//! sender's and the receiver's handles (from the source address and the
//! receiver's own seat) and the full 64-bit sequence number. The match id
//! stays in because a rematch ([`MatchPlan::rematch`](crate::MatchPlan::rematch))
//! keeps the key and takes the next id, and its sequence numbers start again
//! at 0: a datagram of the previous match, from another member than its
//! source, reflected back to its sender, or relayed to a third member fails
//! the tag like a forgery.
//!
//! **Sequence numbers** are 64-bit per (sender, receiver), start at 0 and
//! never wrap; only the low 16 bits travel. The receiver extends them against
//! its [`ReplayWindow`] (the candidate nearest the next expected number, as
//! QUIC decodes packet numbers, RFC 9000 appendix A.3); a wrong extension
//! cannot be authentic, because the tag covers the full number. A sender that
//! got more than 32,768 datagrams ahead of what its receiver accepted (nine
//! minutes of total loss at 60 datagrams per second, far past GGRS's
//! disconnect timeout) is no longer understood.
//!
//! **Why a MAC, and why BLAKE3 in keyed mode.** Game traffic needs
//! authenticity (only members of this match can inject inputs) but not
//! secrecy (inputs are not secret, and the next frame shows them anyway). A
//! keyed hash is the simplest MAC with no nonce to manage: an AEAD would need
//! unique nonces per key and sender, and a nonce reuse breaks it, while a MAC
//! over a header that already carries a sequence number has no such failure
//! mode. BLAKE3 is audited, has a keyed mode designed as a PRF/MAC (no HMAC
//! construction needed), is among the fastest hashes on small inputs, and is
//! already in the dependency tree.
//!
//! **What a forgery costs with a 64-bit tag.** The key is 256 random bits,
//! drawn by the lobby host for each match it starts (a rematch reuses it
//! under the next match id), sent to members encrypted, never in a game
//! datagram; the tag is a PRF output, so the best attack is guessing: each
//! forged datagram is accepted with probability 2^-64 (about 5 * 10^-20), and
//! a failed one is dropped without a word, so every guess costs one datagram
//! sent across the network to the victim, checked online; nothing can be
//! precomputed (the key is unknown outside the lobby) or tried offline (a
//! failure reveals nothing). The network bounds the rate: a 10 Gbit/s
//! Ethernet link carries at most 14.9 million minimal frames per second, so
//! one success is expected after 2^64 / 14.9e6 s, about 39,000 years of a
//! saturated link, and a one-hour match is forged with probability about 3 *
//! 10^-9. A receiver checks at most
//! [`MAX_RECV_PER_POLL`](crate::transport::MAX_RECV_PER_POLL) datagrams per
//! poll (a game polling at 60 to 240 Hz: 0.25 to 1 million a second), which
//! bounds it further. The flood itself is the visible attack (denial of
//! service, out of scope). Short tags for network-bounded forgery are common
//! practice: SRTP's default tag is 80 bits (32 allowed), TLS's CCM_8 suites
//! and ESP's 8-octet ICV (RFC 4106) use 64. A member of the match holds the
//! key and can forge as another member whatever the tag length (the key is
//! shared: "cheating by a member" is out of scope).
//!
//! **Checks, cheapest first** in [`WireCodec::open`]: size, version, tag
//! (over the extended sequence number), the replay window; the payload is
//! parsed only after all of them, so bytes from outside the match never
//! reach the postcard decoder. Replays are caught by [`ReplayWindow`] (a
//! sliding bitmap like DTLS and IPsec), one per sender.
//!
//! Nothing in this module reads a clock or does I/O, and no input can make it
//! panic (it is fuzzed: `netcode/fuzz`, target `datagram_decode`).

mod batch;
mod error;
mod replay;

use crate::plan::{MatchId, MatchKey};

pub use batch::{Batch, MAX_BATCH, decode_payload, encode_message, is_urgent};
pub use error::{DropReason, SendFailure, WireError};
pub use replay::ReplayWindow;

/// Version of this datagram layout; a peer with another version is dropped.
/// Version 1 (33 bytes of header and tag, one message a datagram) is gone.
pub const WIRE_VERSION: u8 = 2;
/// Bytes of header before the payload.
pub const HEADER_LEN: usize = 3;
/// Bytes of authentication tag after the payload.
pub const TAG_LEN: usize = 8;
/// Bytes the wire adds to every datagram (header + tag).
pub const OVERHEAD: usize = HEADER_LEN + TAG_LEN;
/// The largest datagram sent or accepted. Below the 1280-byte IPv6 minimum
/// MTU minus IP/UDP headers, so a game datagram is never fragmented.
pub const MAX_DATAGRAM: usize = 1200;
/// The largest payload (encoded messages) one datagram carries.
pub const MAX_PAYLOAD: usize = MAX_DATAGRAM - OVERHEAD;
/// The smallest datagram that can be valid (a one-byte payload; the
/// shortest GGRS message takes two).
pub const MIN_DATAGRAM: usize = OVERHEAD + 1;

/// Who sends to whom: the part of the authenticated header that is never
/// sent, because both ends know it (the sender from the source address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// Handle of the member that sends.
    pub sender: u16,
    /// Handle of the member it is for.
    pub receiver: u16,
}

/// The authenticated header of an accepted datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireHeader {
    /// Handle of the member that sent it.
    pub sender: u16,
    /// Its sequence number, extended to 64 bits (per sender and receiver).
    pub seq: u64,
}

/// Seals and opens the datagrams of one match.
///
/// Holds the match id and key; stateless otherwise, so one codec serves
/// every peer of a transport.
#[derive(Clone)]
pub struct WireCodec {
    match_id: MatchId,
    key: [u8; 32],
}

impl std::fmt::Debug for WireCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireCodec")
            .field("match_id", &self.match_id)
            .finish_non_exhaustive()
    }
}

impl WireCodec {
    /// A codec for the match `match_id` keyed with `key`.
    pub fn new(match_id: MatchId, key: &MatchKey) -> Self {
        WireCodec {
            match_id,
            key: key.0,
        }
    }

    /// The match this codec seals for.
    pub fn match_id(&self) -> MatchId {
        self.match_id
    }

    /// Seals `payload` (encoded messages: see [`Batch`]) as datagram `seq`
    /// of `route` into `out` (cleared first).
    pub fn seal(
        &self,
        route: Route,
        seq: u64,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), WireError> {
        if payload.is_empty() || payload.len() > MAX_PAYLOAD {
            return Err(WireError::Send(SendFailure::TooLarge));
        }
        out.clear();
        out.push(WIRE_VERSION);
        // Only the low 16 bits travel: the truncation is the format.
        out.extend_from_slice(&(seq as u16).to_le_bytes());
        out.extend_from_slice(payload);
        let tag = self.tag(route, seq, out);
        out.extend_from_slice(&tag);
        Ok(())
    }

    /// Checks a received datagram of `route` against `window` (the
    /// receiver's replay window for this sender) and, if it is authentic,
    /// new and of this match, records it there and returns its header and
    /// payload (to [`decode_payload`]). The window moves only for
    /// authentic datagrams.
    pub fn open<'d>(
        &self,
        datagram: &'d [u8],
        route: Route,
        window: &mut ReplayWindow,
    ) -> Result<(WireHeader, &'d [u8]), WireError> {
        let (header, payload) = self.verify(datagram, route, window)?;
        window
            .check_and_insert(header.seq)
            .map_err(|()| WireError::Replayed {
                sender: header.sender,
                seq: header.seq,
            })?;
        Ok((header, payload))
    }

    /// Checks size, version and tag, the sequence number extended against
    /// `window`, without recording anything; returns the header and payload.
    pub fn verify<'d>(
        &self,
        datagram: &'d [u8],
        route: Route,
        window: &ReplayWindow,
    ) -> Result<(WireHeader, &'d [u8]), WireError> {
        let len = datagram.len();
        if len < MIN_DATAGRAM {
            return Err(WireError::TooShort { len });
        }
        if len > MAX_DATAGRAM {
            return Err(WireError::TooLarge { len });
        }
        let (body, tag) = datagram.split_at(len - TAG_LEN);
        let Some((&[version, s0, s1], payload)) = body.split_first_chunk::<HEADER_LEN>() else {
            return Err(WireError::TooShort { len });
        };
        if version != WIRE_VERSION {
            return Err(WireError::WrongVersion { got: version });
        }
        let seq = window.extend(u16::from_le_bytes([s0, s1]));
        if !ct_eq(&self.tag(route, seq, body), tag) {
            return Err(WireError::BadTag);
        }
        let header = WireHeader {
            sender: route.sender,
            seq,
        };
        Ok((header, payload))
    }

    /// The tag of `body` (header and payload) as datagram `seq` of `route`.
    fn tag(&self, route: Route, seq: u64, body: &[u8]) -> [u8; TAG_LEN] {
        let mut implicit = [0u8; 20];
        implicit[..8].copy_from_slice(&self.match_id.0.to_le_bytes());
        implicit[8..10].copy_from_slice(&route.sender.to_le_bytes());
        implicit[10..12].copy_from_slice(&route.receiver.to_le_bytes());
        implicit[12..].copy_from_slice(&seq.to_le_bytes());
        let full = blake3::Hasher::new_keyed(&self.key)
            .update(&implicit)
            .update(body)
            .finalize();
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&full.as_bytes()[..TAG_LEN]);
        tag
    }
}

/// Compares two byte strings in time independent of where they differ.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests;
