//! A mirror of GGRS 0.13's `Input` message and of its input encoding, for
//! [`InputTap`](super::InputTap). GGRS keeps both private; the layouts
//! here follow `ggrs/src/network/messages.rs` (the postcard encoding of
//! `Message { header: MessageHeader { magic: u16 }, body: MessageBody }`,
//! whose third variant is `Input`) and `ggrs/src/network/compression.rs`
//! (each input XORed with the one before, then `bitfield-rle`), pinned
//! with the crate. The round trip through GGRS's own `Message` is tested,
//! so a GGRS that changes them fails the tests, not a match.

use ggrs::Message;
use serde::{Deserialize, Serialize};

/// GGRS's `ConnectionStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MirrorStatus {
    pub(crate) disconnected: bool,
    pub(crate) last_frame: i32,
}

/// GGRS's `Input` message body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MirrorInput {
    pub(crate) peer_connect_status: Vec<MirrorStatus>,
    pub(crate) disconnect_requested: bool,
    pub(crate) start_frame: i32,
    pub(crate) ack_frame: i32,
    pub(crate) bytes: Vec<u8>,
}

/// GGRS's `MessageBody`, every variant in order (the postcard encoding
/// names a variant by its index); only `Input` and `ChecksumReport` are
/// read, the rest are here to keep the indices.
#[derive(Debug, Serialize, Deserialize)]
enum MirrorBody {
    SyncRequest(u32),
    SyncReply(u32),
    Input(MirrorInput),
    InputAck(i32),
    QualityReport(i16, u128),
    QualityReply(u128),
    ChecksumReport(MirrorChecksum),
    KeepAlive,
}

/// GGRS's `ChecksumReport`: the sender's checksum of its state at `frame`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MirrorChecksum {
    pub(crate) checksum: u128,
    pub(crate) frame: i32,
}

#[derive(Debug, Serialize, Deserialize)]
struct MirrorMessage {
    magic: u16,
    body: MirrorBody,
}

/// What a GGRS message is, as far as the [`InputTap`](super::InputTap)
/// cares.
#[derive(Debug)]
pub(crate) enum Read {
    /// An `Input` message: its magic and body.
    Input(u16, MirrorInput),
    /// A `ChecksumReport` (the tap holds it whole; its fields are read by
    /// the tests).
    Checksum(#[cfg_attr(not(test), allow(dead_code))] MirrorChecksum),
    /// Anything else.
    Other,
}

/// Reads `msg` (one encoding round trip).
pub(crate) fn read(msg: &Message) -> Read {
    let Some(mirror) = postcard::to_allocvec(msg)
        .ok()
        .and_then(|bytes| postcard::from_bytes::<MirrorMessage>(&bytes).ok())
    else {
        return Read::Other;
    };
    match mirror.body {
        MirrorBody::Input(input) => Read::Input(mirror.magic, input),
        MirrorBody::ChecksumReport(c) => Read::Checksum(c),
        _ => Read::Other,
    }
}

/// The magic and body of `msg` if it is an `Input` message.
#[cfg(test)]
pub(crate) fn read_input(msg: &Message) -> Option<(u16, MirrorInput)> {
    match read(msg) {
        Read::Input(magic, input) => Some((magic, input)),
        _ => None,
    }
}

/// A GGRS `ChecksumReport` message (tests: GGRS keeps the type private).
#[cfg(test)]
pub(crate) fn checksum_message(magic: u16, report: MirrorChecksum) -> Option<Message> {
    let mirror = MirrorMessage {
        magic,
        body: MirrorBody::ChecksumReport(report),
    };
    let bytes = postcard::to_allocvec(&mirror).ok()?;
    postcard::from_bytes(&bytes).ok()
}

/// A GGRS `Input` message with `magic` and `input`.
pub(crate) fn input_message(magic: u16, input: MirrorInput) -> Option<Message> {
    let mirror = MirrorMessage {
        magic,
        body: MirrorBody::Input(input),
    };
    let bytes = postcard::to_allocvec(&mirror).ok()?;
    postcard::from_bytes(&bytes).ok()
}

/// GGRS's `compression::encode`: each input XORed with the one before
/// (the first with `reference`), with a `u16` length before it, then RLE.
pub(crate) fn encode_inputs(reference: &[u8], inputs: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut base = reference.to_vec();
    for input in inputs {
        let len = u16::try_from(input.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        for (b, i) in base.iter().zip(input.iter()) {
            out.push(b ^ i);
        }
        if input.len() > base.len() {
            out.extend_from_slice(&input[base.len()..]);
        }
        base.clone_from(input);
    }
    bitfield_rle::encode(out)
}

/// GGRS's `compression::decode` (the inverse of [`encode_inputs`]).
pub(crate) fn decode_inputs(reference: &[u8], data: &[u8]) -> Result<Vec<Vec<u8>>, ()> {
    let buf = rle_decode(data)?;
    let mut out = Vec::new();
    let mut base = reference.to_vec();
    let mut rest = buf.as_slice();
    while !rest.is_empty() {
        let (len, tail) = rest.split_first_chunk::<2>().ok_or(())?;
        let len = usize::from(u16::from_le_bytes(*len));
        if tail.len() < len || len > super::seat_inputs::MAX_INPUT_BYTES {
            return Err(());
        }
        let (encoded, tail) = tail.split_at(len);
        let mut decoded = encoded.to_vec();
        for (d, b) in decoded.iter_mut().zip(base.iter()) {
            *d ^= b;
        }
        base.clone_from(&decoded);
        out.push(decoded);
        rest = tail;
        if out.len() > 4 * super::seat_inputs::KEPT_FRAMES {
            return Err(());
        }
    }
    Ok(out)
}

/// Most bytes an RLE-decoded input message may expand to here.
const MAX_DECODED: usize =
    4 * super::seat_inputs::KEPT_FRAMES * super::seat_inputs::MAX_INPUT_BYTES;

/// `bitfield-rle`'s decoding, checked: that crate's own `decode` indexes
/// out of bounds on some garbage (it trusts its varints), and these bytes
/// come from the network. Runs: a varint `n`; `n & 1` is a run of `n >> 2`
/// bytes, all 255 if `n & 2` else 0; otherwise `n >> 1` literal bytes.
fn rle_decode(data: &[u8]) -> Result<Vec<u8>, ()> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let mut n: u64 = 0;
        let mut shift = 0;
        loop {
            let (&byte, tail) = rest.split_first().ok_or(())?;
            rest = tail;
            n |= u64::from(byte & 0x7F).checked_shl(shift).ok_or(())?;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
            if shift > 63 {
                return Err(());
            }
        }
        let (len, literal) = if n & 1 == 1 {
            (n >> 2, false)
        } else {
            (n >> 1, true)
        };
        let len = usize::try_from(len).map_err(|_| ())?;
        if out.len().saturating_add(len) > MAX_DECODED {
            return Err(());
        }
        if literal {
            let (bytes, tail) = rest.split_at_checked(len).ok_or(())?;
            out.extend_from_slice(bytes);
            rest = tail;
        } else {
            let fill = if n & 2 == 2 { 255 } else { 0 };
            out.resize(out.len() + len, fill);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> MirrorInput {
        MirrorInput {
            peer_connect_status: vec![
                MirrorStatus {
                    disconnected: false,
                    last_frame: 41,
                },
                MirrorStatus {
                    disconnected: true,
                    last_frame: -1,
                },
            ],
            disconnect_requested: false,
            start_frame: 40,
            ack_frame: 39,
            bytes: encode_inputs(&[7], &[vec![7], vec![9], vec![9]]),
        }
    }

    #[test]
    fn a_checksum_report_survives_a_trip_through_ggrs_own_type() {
        let report = MirrorChecksum {
            checksum: 0x0123_4567_89ab_cdef_0011_2233_4455_6677,
            frame: 70,
        };
        let msg = checksum_message(0xBEEF, report).expect("GGRS decodes the mirror");
        assert!(matches!(read(&msg), Read::Checksum(c) if c == report));
        assert_eq!(read_input(&msg), None);
    }

    #[test]
    fn an_input_message_survives_a_trip_through_ggrs_own_type() {
        let msg = input_message(0xBEEF, sample()).expect("GGRS decodes the mirror");
        assert_eq!(read_input(&msg), Some((0xBEEF, sample())));
        // And GGRS's own encoding of it is the mirror's, byte for byte.
        let mirror = MirrorMessage {
            magic: 0xBEEF,
            body: MirrorBody::Input(sample()),
        };
        assert_eq!(
            postcard::to_allocvec(&msg).ok(),
            postcard::to_allocvec(&mirror).ok()
        );
    }

    #[test]
    fn inputs_decode_to_what_was_encoded() {
        let inputs = vec![vec![1, 2], vec![1, 3], vec![200, 3], vec![0, 0]];
        let data = encode_inputs(&[1, 2], &inputs);
        assert_eq!(decode_inputs(&[1, 2], &data), Ok(inputs.clone()));
        // Nothing before the first input: GGRS's blank reference is zeros,
        // and XOR with zeros is what an empty reference gives.
        let data = encode_inputs(&[0, 0], &inputs);
        assert_eq!(decode_inputs(&[], &data), Ok(inputs));
    }

    #[test]
    fn rle_decodes_what_bitfield_rle_encodes() {
        let mut buf = vec![0u8; 40];
        buf.extend_from_slice(&[1, 2, 3, 255, 255, 255, 255, 9]);
        buf.extend(vec![255u8; 30]);
        assert_eq!(rle_decode(&bitfield_rle::encode(&buf)), Ok(buf));
    }

    #[test]
    fn garbage_inputs_are_refused_not_panicked_on() {
        for data in [vec![0xFF; 9], vec![1, 0, 5], vec![]] {
            let _ = decode_inputs(&[1], &data);
        }
        assert!(decode_inputs(&[], &bitfield_rle::encode([9u8, 0, 1])).is_err());
    }
}
