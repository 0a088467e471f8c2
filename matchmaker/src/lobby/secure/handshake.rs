//! The key exchange that opens a lobby channel: Noise NN for a public lobby,
//! Noise NNpsk2 keyed by SPAKE2 for a locked one.
//!
//! ```text
//! host   -> joiner  Greeting { password_required }              (clear)
//! joiner -> host    Offer { pake: SPAKE2 A?, noise: -> e }       (clear)
//! host   -> joiner  Answer { pake: SPAKE2 B?, noise: <- e, ee[, psk] }
//! joiner -> host    Hello ...  (every frame from here: ChaCha20-Poly1305)
//! ```
//!
//! In a locked lobby the psk of the second Noise message is the SPAKE2 key
//! `K`, which only a side that knows the password computes. The joiner
//! verifies the host's message before it sends anything keyed by its `K`,
//! so a fake host learns nothing to test guesses against; the host answers
//! one guess per connection (the one committed in SPAKE2 message A), and
//! counts the connections that then fall silent.

use snow::{Builder, HandshakeState};
use spake2::{Ed25519Group, Identity, Password, Spake2};

use super::channel::Channel;
use super::rng::{PakeRng, SeededResolver};
use crate::lobby::message::{Answer, Offer, PROTOCOL_VERSION};
use crate::lobby::rng::SeededRng;

/// Noise pattern of a public lobby.
pub const NOISE_PUBLIC: &str = "Noise_NN_25519_ChaChaPoly_BLAKE2s";
/// Noise pattern of a locked lobby (psk = the SPAKE2 key).
pub const NOISE_LOCKED: &str = "Noise_NNpsk2_25519_ChaChaPoly_BLAKE2s";
/// SPAKE2 identity of the joiner (side A).
const PAKE_JOINER: &[u8] = b"nearplay lobby joiner";
/// SPAKE2 identity of the host (side B).
const PAKE_HOST: &[u8] = b"nearplay lobby host";
/// Longest handshake field accepted (a SPAKE2 message is 33 bytes, a Noise
/// message here 32 or 48).
pub const MAX_HANDSHAKE_FIELD: usize = 64;

/// Why a handshake failed.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// The host's answer does not verify under our password: a wrong
    /// password, or someone between us and the host.
    #[error("the host's answer does not verify under this password")]
    WrongPassword,
    /// The peer asked for a locked handshake where we run a public one, or
    /// the reverse.
    #[error("the peer and we disagree on whether the lobby is locked")]
    LockMismatch,
    /// A field is longer than any valid one.
    #[error("handshake field of {0} bytes is too long")]
    TooLong(usize),
    /// The SPAKE2 message is malformed.
    #[error("bad PAKE message: {0}")]
    Pake(spake2::Error),
    /// The Noise message is malformed or does not verify.
    #[error("noise handshake failed: {0}")]
    Noise(snow::Error),
}

impl From<snow::Error> for HandshakeError {
    fn from(e: snow::Error) -> Self {
        HandshakeError::Noise(e)
    }
}

/// The prologue both sides mix into the Noise hash: protocol, lock, and the
/// SPAKE2 message A, so neither can be changed in flight unnoticed.
fn prologue(pake_a: Option<&[u8]>) -> Vec<u8> {
    let mut p = format!("nearplay lobby v{PROTOCOL_VERSION}").into_bytes();
    match pake_a {
        Some(a) => {
            p.push(1);
            p.extend_from_slice(a);
        }
        None => p.push(0),
    }
    p
}

fn builder<'a>(
    rng: &mut SeededRng,
    prologue: &'a [u8],
    locked: bool,
) -> Result<Builder<'a>, HandshakeError> {
    let pattern = if locked { NOISE_LOCKED } else { NOISE_PUBLIC };
    let params = pattern.parse().map_err(HandshakeError::Noise)?;
    Ok(Builder::with_resolver(params, Box::new(SeededResolver::new(rng))).prologue(prologue)?)
}

fn check_len(field: &[u8]) -> Result<(), HandshakeError> {
    if field.len() > MAX_HANDSHAKE_FIELD {
        return Err(HandshakeError::TooLong(field.len()));
    }
    Ok(())
}

/// The joiner's half-done handshake, between its offer and the host's answer.
pub struct JoinerHandshake {
    noise: HandshakeState,
    pake: Option<Spake2<Ed25519Group>>,
}

impl std::fmt::Debug for JoinerHandshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JoinerHandshake(<secret>)")
    }
}

impl JoinerHandshake {
    /// Starts a handshake: with `password` for a locked lobby, without for a
    /// public one. Returns the state and the offer to send.
    pub fn start(
        rng: &mut SeededRng,
        password: Option<&str>,
    ) -> Result<(Self, Offer), HandshakeError> {
        let (pake, pake_a) = match password {
            Some(pw) => {
                let (state, msg) = Spake2::<Ed25519Group>::start_a_with_rng(
                    &Password::new(pw.as_bytes()),
                    &Identity::new(PAKE_JOINER),
                    &Identity::new(PAKE_HOST),
                    PakeRng(rng),
                );
                (Some(state), Some(msg))
            }
            None => (None, None),
        };
        let prologue = prologue(pake_a.as_deref());
        let mut noise = builder(rng, &prologue, pake.is_some())?.build_initiator()?;
        let mut buf = [0u8; MAX_HANDSHAKE_FIELD];
        let n = noise.write_message(&[], &mut buf)?;
        let offer = Offer {
            pake: pake_a,
            noise: buf.get(..n).unwrap_or_default().to_vec(),
        };
        Ok((JoinerHandshake { noise, pake }, offer))
    }

    /// Reads the host's answer: the channel if it verifies. Nothing was sent
    /// under our SPAKE2 key before this check.
    pub fn finish(mut self, answer: &Answer) -> Result<Channel, HandshakeError> {
        check_len(&answer.noise)?;
        let locked = self.pake.is_some();
        match (self.pake.take(), &answer.pake) {
            (Some(pake), Some(b)) => {
                check_len(b)?;
                let key = pake.finish(b).map_err(HandshakeError::Pake)?;
                self.noise.set_psk(2, &key)?;
            }
            (None, None) => {}
            _ => return Err(HandshakeError::LockMismatch),
        }
        let mut payload = [0u8; MAX_HANDSHAKE_FIELD];
        match self.noise.read_message(&answer.noise, &mut payload) {
            Ok(_) => {}
            Err(snow::Error::Decrypt) if locked => return Err(HandshakeError::WrongPassword),
            Err(e) => return Err(e.into()),
        }
        Channel::from_handshake(self.noise)
    }
}

/// The host's side: reads a joiner's offer and writes the answer at once
/// (one message each way). `password` is the lobby's, `None` if public.
/// Returns the channel (ready for the joiner's first sealed frame) and the
/// answer to send.
pub fn answer_offer(
    rng: &mut SeededRng,
    password: Option<&str>,
    offer: &Offer,
) -> Result<(Channel, Answer), HandshakeError> {
    check_len(&offer.noise)?;
    let (pake_b, key) = match (password, &offer.pake) {
        (Some(pw), Some(a)) => {
            check_len(a)?;
            let (state, msg) = Spake2::<Ed25519Group>::start_b_with_rng(
                &Password::new(pw.as_bytes()),
                &Identity::new(PAKE_JOINER),
                &Identity::new(PAKE_HOST),
                PakeRng(rng),
            );
            let key = state.finish(a).map_err(HandshakeError::Pake)?;
            (Some(msg), Some(key))
        }
        (None, None) => (None, None),
        _ => return Err(HandshakeError::LockMismatch),
    };
    let prologue = prologue(offer.pake.as_deref());
    let mut noise = builder(rng, &prologue, key.is_some())?.build_responder()?;
    let mut payload = [0u8; MAX_HANDSHAKE_FIELD];
    noise.read_message(&offer.noise, &mut payload)?;
    if let Some(key) = &key {
        noise.set_psk(2, key)?;
    }
    let mut buf = [0u8; MAX_HANDSHAKE_FIELD];
    let n = noise.write_message(&[], &mut buf)?;
    let answer = Answer {
        pake: pake_b,
        noise: buf.get(..n).unwrap_or_default().to_vec(),
    };
    Ok((Channel::from_handshake(noise)?, answer))
}
