//! Length-prefixed frames for the lobby protocol, with a size limit.
//!
//! A frame is `len: u32 BE | version: u16 BE | body`, where `len` counts the
//! version and the body. The header stays in clear in every version of the
//! protocol, so a peer on another version gets a clear error ("host runs
//! protocol X, you run Y") before any parsing or cryptography. The body is
//! a postcard message during the handshake and a sealed one after it (see
//! [`secure`](super::secure)). Nothing here panics on bytes from the
//! network: every failure is a [`CodecError`].

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::message::PROTOCOL_VERSION;

/// Largest frame accepted or produced (version + body), in bytes.
pub const MAX_FRAME_LEN: usize = 64 * 1024;

const LEN_BYTES: usize = 4;
const VERSION_BYTES: usize = 2;

/// Errors of the frame codec.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The length prefix announces more than the limit.
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Announced length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The length prefix is too small to hold a version.
    #[error("frame of {len} bytes is too short to hold a protocol version")]
    TooShort {
        /// Announced length.
        len: usize,
    },
    /// The frame speaks another protocol version.
    #[error("peer runs protocol {theirs}, we run {ours}")]
    Version {
        /// The peer's protocol version.
        theirs: u16,
        /// Ours.
        ours: u16,
    },
    /// The body is not a valid message.
    #[error("malformed message: {0}")]
    Malformed(postcard::Error),
    /// A message could not be encoded (only when it exceeds the limit).
    #[error("could not encode message: {0}")]
    Encode(postcard::Error),
    /// A message could not be sealed for the channel.
    #[error("could not seal message")]
    Seal,
    /// A sealed frame did not authenticate: not sealed by our peer for this
    /// channel, changed in flight, or out of order.
    #[error("frame failed authentication")]
    Unsealed,
    /// A sealed frame's padding is not zeros or too long.
    #[error("bad padding in a sealed frame")]
    BadPadding,
}

/// One frame taken off the wire, body not yet parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Protocol version from the header.
    pub version: u16,
    /// The postcard body.
    pub body: Vec<u8>,
}

impl Frame {
    /// Parses the body as `T`, after checking the version is ours.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, CodecError> {
        if self.version != PROTOCOL_VERSION {
            return Err(CodecError::Version {
                theirs: self.version,
                ours: PROTOCOL_VERSION,
            });
        }
        postcard::from_bytes(&self.body).map_err(CodecError::Malformed)
    }
}

/// Encodes `msg` as one frame of protocol [`PROTOCOL_VERSION`].
pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, CodecError> {
    encode_with_version(msg, PROTOCOL_VERSION)
}

/// Encodes `msg` as one frame carrying `version` (tests use it to play a peer
/// from another version).
pub fn encode_with_version<T: Serialize>(msg: &T, version: u16) -> Result<Vec<u8>, CodecError> {
    let body = postcard::to_stdvec(msg).map_err(CodecError::Encode)?;
    frame_body(&body, version)
}

/// Frames an already encoded (or sealed) `body` with `version`.
pub fn frame_body(body: &[u8], version: u16) -> Result<Vec<u8>, CodecError> {
    let len = body.len() + VERSION_BYTES;
    if len > MAX_FRAME_LEN {
        return Err(CodecError::TooLarge {
            len,
            max: MAX_FRAME_LEN,
        });
    }
    let len32 = u32::try_from(len).map_err(|_| CodecError::TooLarge {
        len,
        max: MAX_FRAME_LEN,
    })?;
    let mut out = Vec::with_capacity(LEN_BYTES + len);
    out.extend_from_slice(&len32.to_be_bytes());
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(body);
    Ok(out)
}

/// Reassembles frames from a byte stream (TCP reads arrive in any split).
///
/// Errors are final: after one, the stream is out of sync and the connection
/// should be closed.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
}

impl FrameDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered and not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Takes the next complete frame, `Ok(None)` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, CodecError> {
        let Some(len_bytes) = self.buf.first_chunk::<LEN_BYTES>() else {
            return Ok(None);
        };
        let len = u32::from_be_bytes(*len_bytes) as usize;
        if len > MAX_FRAME_LEN {
            return Err(CodecError::TooLarge {
                len,
                max: MAX_FRAME_LEN,
            });
        }
        if len < VERSION_BYTES {
            return Err(CodecError::TooShort { len });
        }
        let Some(frame) = self.buf.get(LEN_BYTES..LEN_BYTES + len) else {
            return Ok(None);
        };
        let Some((version, body)) = frame.split_first_chunk::<VERSION_BYTES>() else {
            return Err(CodecError::TooShort { len });
        };
        let frame = Frame {
            version: u16::from_be_bytes(*version),
            body: body.to_vec(),
        };
        self.buf.drain(..LEN_BYTES + len);
        Ok(Some(frame))
    }
}
