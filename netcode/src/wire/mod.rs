//! The game datagram: header, payload and authentication tag (sans-IO).
//!
//! Every game datagram nearplay sends, whatever the transport, is laid out as
//!
//! ```text
//! offset  size  field
//!  0       2    magic  b"NP"
//!  2       1    wire version (WIRE_VERSION)
//!  3       8    match id, little endian
//! 11       2    sender handle, little endian
//! 13       4    sequence number of this sender towards this receiver, little endian
//! 17       n    payload: the GGRS `Message`, postcard-encoded
//! 17+n    16    tag: BLAKE3 keyed hash (key = MatchKey) of bytes 0..17+n, truncated
//! ```
//!
//! **Why BLAKE3 in keyed mode as the MAC.** Game traffic on a LAN needs
//! authenticity (only members of this match can inject inputs) but not secrecy
//! (inputs are not secret, and the next frame shows them anyway). A MAC is
//! therefore enough, and a keyed hash is the simplest MAC with no nonce to
//! manage: an AEAD would need unique nonces per key and sender, and a nonce
//! reuse breaks it, while a MAC over a header that already carries a sequence
//! number has no such failure mode. BLAKE3 is audited, has a keyed mode
//! designed as a PRF/MAC (no HMAC construction needed), is among the fastest
//! hashes on small inputs, and is already in the dependency tree. The 256-bit
//! output is truncated to 128 bits, the usual size of a MAC tag (Poly1305,
//! GMAC): forging one blindly takes about 2^128 tries.
//!
//! **Checks, cheapest first** in [`WireCodec::open`]: size, magic, version,
//! match id, tag; the payload is parsed only after the tag verified, so bytes
//! from outside the match never reach the postcard decoder. Replays are
//! caught by [`ReplayWindow`] (a sliding bitmap like DTLS and IPsec), which
//! the caller applies per sender after `open` succeeded.
//!
//! Nothing in this module reads a clock or does I/O, and no input can make it
//! panic (it is fuzzed: `netcode/fuzz`, target `datagram_decode`).

mod error;
mod replay;

use ggrs::Message;

use crate::plan::{MatchId, MatchKey};

pub use error::{DropReason, SendFailure, WireError};
pub use replay::{ReplayGuard, ReplayWindow};

/// The two bytes every nearplay game datagram starts with.
pub const MAGIC: [u8; 2] = *b"NP";
/// Version of this datagram layout; a peer with another version is dropped.
pub const WIRE_VERSION: u8 = 1;
/// Bytes of header before the payload.
pub const HEADER_LEN: usize = 17;
/// Bytes of authentication tag after the payload.
pub const TAG_LEN: usize = 16;
/// Bytes the wire adds to every GGRS message (header + tag).
pub const OVERHEAD: usize = HEADER_LEN + TAG_LEN;
/// The largest datagram sent or accepted. Below the 1280-byte IPv6 minimum
/// MTU minus IP/UDP headers, so a game datagram is never fragmented.
pub const MAX_DATAGRAM: usize = 1200;
/// The smallest datagram that can be valid (empty payload).
pub const MIN_DATAGRAM: usize = OVERHEAD;
/// The authenticated header of an accepted datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireHeader {
    /// Handle of the member that sent it.
    pub sender: u16,
    /// Its sequence number (per sender and receiver).
    pub seq: u32,
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

    /// Encodes `msg` from `sender` with sequence number `seq` into `out`
    /// (cleared first) and appends the tag.
    pub fn seal(
        &self,
        sender: u16,
        seq: u32,
        msg: &Message,
        out: &mut Vec<u8>,
    ) -> Result<(), WireError> {
        self.write_header(sender, seq, out);
        let encoded = postcard::to_extend(msg, std::mem::take(out))
            .map_err(|_| WireError::Send(SendFailure::TooLarge))?;
        *out = encoded;
        self.finish(out)
    }

    /// Seals an arbitrary payload (already encoded bytes). For tests, fuzzing
    /// and tools: a GGRS message goes through [`seal`](Self::seal).
    pub fn seal_raw(
        &self,
        sender: u16,
        seq: u32,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), WireError> {
        self.write_header(sender, seq, out);
        out.extend_from_slice(payload);
        self.finish(out)
    }

    fn write_header(&self, sender: u16, seq: u32, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&MAGIC);
        out.push(WIRE_VERSION);
        out.extend_from_slice(&self.match_id.0.to_le_bytes());
        out.extend_from_slice(&sender.to_le_bytes());
        out.extend_from_slice(&seq.to_le_bytes());
    }

    fn finish(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        if out.len() + TAG_LEN > MAX_DATAGRAM {
            return Err(WireError::Send(SendFailure::TooLarge));
        }
        let tag = self.tag(out);
        out.extend_from_slice(&tag);
        Ok(())
    }

    /// Checks a received datagram and, if it is authentic and of this match,
    /// returns its header and GGRS message.
    ///
    /// Does not check replays: see [`WireCodec::open_checked`].
    pub fn open(&self, datagram: &[u8]) -> Result<(WireHeader, Message), WireError> {
        let header = self.verify(datagram)?;
        let payload =
            datagram
                .get(HEADER_LEN..datagram.len() - TAG_LEN)
                .ok_or(WireError::TooShort {
                    len: datagram.len(),
                })?;
        let msg = decode_payload(payload)?;
        Ok((header, msg))
    }

    /// [`open`](Self::open) with the replay check of `guard` and, if given,
    /// a check that the authenticated sender is `expect_sender` (the member
    /// at the datagram's source address). The replay window moves only for
    /// authentic datagrams, and the payload is parsed only after both checks.
    pub fn open_checked(
        &self,
        datagram: &[u8],
        guard: &mut ReplayGuard,
        expect_sender: Option<u16>,
    ) -> Result<(WireHeader, Message), WireError> {
        let header = self.verify(datagram)?;
        if expect_sender.is_some_and(|s| s != header.sender) {
            return Err(WireError::SenderMismatch {
                sender: header.sender,
            });
        }
        guard.check_and_insert(header)?;
        let payload =
            datagram
                .get(HEADER_LEN..datagram.len() - TAG_LEN)
                .ok_or(WireError::TooShort {
                    len: datagram.len(),
                })?;
        Ok((header, decode_payload(payload)?))
    }

    /// Checks size, magic, version, match id and tag; returns the header.
    /// The payload is `datagram[HEADER_LEN..len - TAG_LEN]`.
    pub fn verify(&self, datagram: &[u8]) -> Result<WireHeader, WireError> {
        let len = datagram.len();
        if len < MIN_DATAGRAM {
            return Err(WireError::TooShort { len });
        }
        if len > MAX_DATAGRAM {
            return Err(WireError::TooLarge { len });
        }
        let (body, tag) = datagram.split_at(len - TAG_LEN);
        let header: &[u8; HEADER_LEN] = body
            .get(..HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(WireError::TooShort { len })?;
        let [m0, m1, version, id @ .., s0, s1, q0, q1, q2, q3] = *header;
        if [m0, m1] != MAGIC {
            return Err(WireError::BadMagic);
        }
        if version != WIRE_VERSION {
            return Err(WireError::WrongVersion { got: version });
        }
        let match_id = MatchId(u64::from_le_bytes(id));
        if match_id != self.match_id {
            return Err(WireError::OtherMatch { got: match_id });
        }
        if !ct_eq(&self.tag(body), tag) {
            return Err(WireError::BadTag);
        }
        Ok(WireHeader {
            sender: u16::from_le_bytes([s0, s1]),
            seq: u32::from_le_bytes([q0, q1, q2, q3]),
        })
    }

    fn tag(&self, body: &[u8]) -> [u8; TAG_LEN] {
        let full = blake3::keyed_hash(&self.key, body);
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&full.as_bytes()[..TAG_LEN]);
        tag
    }
}

/// Decodes a GGRS message from an authenticated payload.
pub fn decode_payload(payload: &[u8]) -> Result<Message, WireError> {
    match postcard::from_bytes::<Message>(payload) {
        Ok(msg) => Ok(msg),
        Err(_) => Err(WireError::Malformed),
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
mod tests {
    use super::*;

    #[test]
    fn short_and_long_are_typed() {
        let c = WireCodec::new(MatchId(1), &MatchKey([7; 32]));
        assert_eq!(c.open(&[]).unwrap_err(), WireError::TooShort { len: 0 });
        assert_eq!(
            c.open(&[0; MAX_DATAGRAM + 1]).unwrap_err(),
            WireError::TooLarge {
                len: MAX_DATAGRAM + 1
            }
        );
        assert_eq!(c.open(&[0; 40]).unwrap_err(), WireError::BadMagic);
    }

    fn keep_alive() -> Message {
        // postcard: header.magic = 1 (varint), body variant 7 = KeepAlive.
        postcard::from_bytes(&[1, 7]).expect("KeepAlive decodes")
    }

    #[test]
    fn seal_open_roundtrip_and_checks() {
        let key = MatchKey([9; 32]);
        let c = WireCodec::new(MatchId(42), &key);
        let msg = keep_alive();
        let mut buf = Vec::new();
        c.seal(3, 77, &msg, &mut buf).expect("seal");
        assert_eq!(buf.len(), OVERHEAD + 2);
        let (h, m) = c.open(&buf).expect("open");
        assert_eq!(h, WireHeader { sender: 3, seq: 77 });
        assert_eq!(m, msg);

        let mut guard = ReplayGuard::new();
        assert!(c.open_checked(&buf, &mut guard, Some(3)).is_ok());
        assert_eq!(
            c.open_checked(&buf, &mut guard, Some(3))
                .unwrap_err()
                .reason(),
            DropReason::Replayed
        );
        assert_eq!(
            c.open_checked(&buf, &mut ReplayGuard::new(), Some(2))
                .unwrap_err(),
            WireError::SenderMismatch { sender: 3 }
        );

        let other_key = WireCodec::new(MatchId(42), &MatchKey([8; 32]));
        assert_eq!(other_key.open(&buf).unwrap_err(), WireError::BadTag);
        let other_match = WireCodec::new(MatchId(43), &key);
        assert_eq!(
            other_match.open(&buf).unwrap_err(),
            WireError::OtherMatch { got: MatchId(42) }
        );
        let mut v = buf.clone();
        v[2] = 9;
        assert_eq!(c.open(&v).unwrap_err(), WireError::WrongVersion { got: 9 });
        let mut flipped = buf.clone();
        flipped[HEADER_LEN] ^= 1;
        assert_eq!(c.open(&flipped).unwrap_err(), WireError::BadTag);
    }
}
