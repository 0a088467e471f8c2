//! Rendezvous: friends on different networks meet by room code, through a
//! small server anyone can run, and play over WebRTC.
//!
//! | module | job | feature |
//! |---|---|---|
//! | [`code`] | [`RoomCode`]: 6 symbols without look-alikes | always |
//! | [`api`] | the server's HTTP JSON types, [`Refusal`] kinds | always |
//! | [`wire`] | the decoders of network bytes: HTTP answers, peers' signaling messages | always |
//! | `server` | the server (`nearplay-rendezvous`): rooms, limits, signaling | `server` |
//! | `client` | create a room, join by code, a room over WebRTC to a `MatchPlan` | `rendezvous` |
//!
//! A game linking the matchmaker without `server` pulls in no server
//! dependency (no tokio, no axum); `rendezvous` adds only matchbox_socket
//! (through `nearplay_netcode/webrtc`).

pub mod api;
#[cfg(feature = "rendezvous")]
pub mod client;
pub mod code;
#[cfg(feature = "server")]
pub mod server;
pub mod wire;

pub use api::{
    ErrorBody, Health, LobbyPage, QuickMatch, Refusal, RoomCreated, RoomInfo, RoomRequest,
};
#[cfg(feature = "rendezvous")]
pub use client::{OnlineClient, OnlineHost, RendezvousClient, RendezvousError};
pub use code::{CodeError, RoomCode};
