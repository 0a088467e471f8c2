//! The lobby channel: encrypted and authenticated from the first message
//! after the key exchange, with passwords proved by a PAKE.
//!
//! - [`handshake`]: Noise NN (public lobby) or Noise NNpsk2 with the psk
//!   from SPAKE2 (locked lobby), ephemeral X25519 keys on both sides.
//! - [`Channel`]: every later frame sealed with ChaCha20-Poly1305.
//! - [`Fingerprint`]: 80 bits of the handshake hash, for players to compare.
//! - [`limits`]: growing backoff on password guesses per source address, and
//!   token buckets for chat and ready toggles per member.
//!
//! Crates: `snow` (Noise; pure-Rust primitives from RustCrypto's
//! `chacha20poly1305`, `blake2` and `curve25519-dalek`) and RustCrypto's
//! `spake2`. What each attacker can and cannot do is in
//! `docs/lobby-channel.md`.
//!
//! Both shells (TCP, and WebRTC rooms) get all of this from the machines:
//! nothing here does I/O or reads a clock.

mod channel;
mod fingerprint;
pub mod handshake;
pub mod limits;
mod rng;

pub use channel::{Channel, MAX_PLAINTEXT, PAD_TO};
pub use fingerprint::Fingerprint;
pub use handshake::{HandshakeError, JoinerHandshake, answer_offer};
