//! A lobby channel after its handshake: every frame sealed with
//! ChaCha20-Poly1305 under the Noise transport keys.
//!
//! A sealed frame keeps the clear header of [`codec`](crate::lobby::codec)
//! (`len | version`), so framing and the version check work as before; its
//! body is the AEAD ciphertext of the postcard message, padded with zeros to
//! a multiple of [`PAD_TO`] bytes so lengths say little about names or chat.

use serde::Serialize;
use serde::de::DeserializeOwned;
use snow::{HandshakeState, TransportState};

use super::fingerprint::Fingerprint;
use super::handshake::HandshakeError;
use crate::lobby::codec::{CodecError, Frame, MAX_FRAME_LEN, frame_body};
use crate::lobby::message::PROTOCOL_VERSION;

/// Plaintexts are padded to a multiple of this many bytes.
pub const PAD_TO: usize = 32;
/// Bytes the AEAD adds to each frame (the Poly1305 tag).
const TAG: usize = 16;
/// Largest plaintext that fits a frame once sealed (version header + tag),
/// a multiple of [`PAD_TO`].
pub const MAX_PLAINTEXT: usize = (MAX_FRAME_LEN - 2 - TAG) / PAD_TO * PAD_TO;

/// The encrypted, authenticated lobby connection between one joiner and the
/// host. Frames must be opened in the order they were sealed (a reliable,
/// ordered stream: TCP or a reliable WebRTC channel).
pub struct Channel {
    transport: TransportState,
    fingerprint: Fingerprint,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl Channel {
    pub(crate) fn from_handshake(noise: HandshakeState) -> Result<Self, HandshakeError> {
        let fingerprint = Fingerprint::from_handshake_hash(noise.get_handshake_hash());
        Ok(Channel {
            transport: noise.into_transport_mode()?,
            fingerprint,
        })
    }

    /// The channel's fingerprint, the same on both ends.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// Encodes, pads and seals `msg` as one frame.
    pub fn seal<T: Serialize>(&mut self, msg: &T) -> Result<Vec<u8>, CodecError> {
        let mut plain = postcard::to_stdvec(msg).map_err(CodecError::Encode)?;
        let padded = plain.len().div_ceil(PAD_TO).max(1) * PAD_TO;
        if padded > MAX_PLAINTEXT {
            return Err(CodecError::TooLarge {
                len: padded,
                max: MAX_PLAINTEXT,
            });
        }
        plain.resize(padded, 0);
        let mut sealed = vec![0u8; padded + TAG];
        let n = self
            .transport
            .write_message(&plain, &mut sealed)
            .map_err(|_| CodecError::Seal)?;
        sealed.truncate(n);
        frame_body(&sealed, PROTOCOL_VERSION)
    }

    /// Checks the version, opens and decodes one sealed frame. Any failure is
    /// final for the channel (the peer is not who sealed for us, or the
    /// stream lost sync).
    pub fn open<T: DeserializeOwned>(&mut self, frame: &Frame) -> Result<T, CodecError> {
        if frame.version != PROTOCOL_VERSION {
            return Err(CodecError::Version {
                theirs: frame.version,
                ours: PROTOCOL_VERSION,
            });
        }
        let mut plain = vec![0u8; frame.body.len()];
        let n = self
            .transport
            .read_message(&frame.body, &mut plain)
            .map_err(|_| CodecError::Unsealed)?;
        let plain = plain.get(..n).unwrap_or_default();
        let (msg, padding) = postcard::take_from_bytes(plain).map_err(CodecError::Malformed)?;
        if padding.iter().any(|b| *b != 0) || padding.len() >= PAD_TO {
            return Err(CodecError::BadPadding);
        }
        Ok(msg)
    }
}
