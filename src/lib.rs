#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// LAN lobbies: mDNS advertise/browse and the lobby protocol (`nearplay_matchmaker`).
pub use nearplay_matchmaker as matchmaker;
/// Rollback sessions over authenticated UDP or a simulated network (`nearplay_netcode`).
pub use nearplay_netcode as netcode;
#[cfg(feature = "bevy")]
pub mod bevy;
