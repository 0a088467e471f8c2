//! The lobby protocol: sans-IO host and client cores and their TCP shell.
//!
//! - [`message`]: what is said (serde types).
//! - [`codec`]: how it is framed (length prefix, version, size limit).
//! - [`secure`]: the channel: Noise key exchange, SPAKE2 for passwords,
//!   sealed frames, fingerprint, guess and chat limits (sans-IO).
//! - [`host`], [`client`]: the state machines, `(now, input) -> outputs`;
//!   the channel lives inside them, so every shell gets it.
//! - [`tcp`]: [`LobbyHost`](tcp::LobbyHost) / [`LobbyClient`](tcp::LobbyClient),
//!   non-blocking TCP on one event loop thread each, behind a non-blocking API.

pub mod client;
pub mod codec;
pub mod host;
pub mod message;
pub mod rng;
pub mod secure;
pub mod tcp;

use std::time::Duration;

/// Timers of the lobby protocol, shared by host and client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// How long a new connection may stay silent before its hello. Default 3 s:
    /// a client that connects and says nothing cannot hold a slot.
    pub hello: Duration,
    /// Silence after which the other side counts as gone. Default 2.5 s, so a
    /// vanished host is reported within 3 s.
    pub idle: Duration,
    /// How often to send a keepalive when there is nothing else to say.
    /// Default 1 s (well under `idle`).
    pub keepalive: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            hello: Duration::from_secs(3),
            idle: Duration::from_millis(2500),
            keepalive: Duration::from_secs(1),
        }
    }
}
