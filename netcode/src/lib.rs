//! # nearplay_netcode
//!
//! Rollback netcode for nearplay: [GGRS](ggrs) 0.13 sessions over
//! authenticated LAN UDP or an in-memory simulated network, built from the
//! [`MatchPlan`] the matchmaker hands over, with stats and events a game can
//! show. It does not implement rollback itself; it makes GGRS trivial and safe
//! to use over real networks.
//!
//! ## Module map
//!
//! | module | job |
//! |---|---|
//! | [`addr`] | [`PeerAddr`]: one GGRS address type for every transport |
//! | [`plan`] | [`MatchPlan`], [`NetSettings`]: the hand-off from matchmaking |
//! | [`wire`] | datagram header, BLAKE3-keyed tag, anti-replay window (sans-IO, fuzzed) |
//! | [`transport::udp`] | [`UdpTransport`]: authenticated datagrams on one UDP socket |
//! | [`transport::sim`] | [`SimNetwork`] / [`SimTransport`]: in-memory network |
//! | [`transport::conditioner`] | [`LinkProfile`], [`Conditioned`]: seeded latency, jitter, loss, bursts, duplication, reordering |
//! | [`session`] | [`NetSessionBuilder`]: plan (or addresses) to `ggrs::P2PSession` |
//! | [`stats`] | [`NetMonitor`], [`NetStats`], [`NetEvent`], drop counters |
//! | `bevy` (feature `bevy`) | plugin over bevy_ggrs: session, stats resource, messages |
//!
//! ## A game over UDP from a plan
//!
//! ```no_run
//! # use nearplay_netcode::prelude::*;
//! # struct Cfg;
//! # impl ggrs::Config for Cfg { type Input = u8; type InputPredictor = ggrs::PredictRepeatLast; type State = u64; type Address = PeerAddr; }
//! # fn run(plan: MatchPlan, socket: std::net::UdpSocket) -> Result<(), Box<dyn std::error::Error>> {
//! // `socket` was bound before joining the lobby; the lobby learnt its port.
//! let transport = UdpTransport::from_plan(socket, &plan)?;
//! let (mut session, mut monitor) =
//!     NetSessionBuilder::<Cfg>::from_plan(&plan).build_monitored(transport)?;
//! // each frame: add_local_input, advance_frame, monitor.record_advance(&requests),
//! // NetMonitor::drain_events(&mut session), monitor.snapshot(&session, now)
//! # Ok(()) }
//! ```
//!
//! ## Two peers over the simulated network
//!
//! ```
//! use std::time::{Duration, Instant};
//! use ggrs::{GgrsError, GgrsRequest, PredictRepeatLast, SessionState};
//! use nearplay_netcode::prelude::*;
//!
//! struct Cfg;
//! impl ggrs::Config for Cfg {
//!     type Input = u8;
//!     type InputPredictor = PredictRepeatLast;
//!     type State = u64;
//!     type Address = PeerAddr;
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let net = SimNetwork::with_profile(42, LinkProfile::latency(
//!     Duration::from_millis(20), Duration::from_millis(5)));
//! let mut peers = Vec::new();
//! for me in 0..2usize {
//!     let mut b = NetSessionBuilder::<Cfg>::new();
//!     for h in 0..2usize {
//!         b = if h == me { b.local_player(h) } else { b.remote_player(h, PeerAddr::Sim(h as u32)) };
//!     }
//!     let (session, monitor) = b.build_monitored(net.node(me as u32))?;
//!     peers.push((session, monitor, 0u64));
//! }
//! let deadline = Instant::now() + Duration::from_secs(20);
//! while peers.iter().any(|(s, ..)| s.confirmed_frame() < 60) {
//!     assert!(Instant::now() < deadline, "peers did not reach frame 60");
//!     for (me, (session, monitor, state)) in peers.iter_mut().enumerate() {
//!         session.poll_remote_clients();
//!         let _events = NetMonitor::drain_events(session);
//!         if session.current_state() != SessionState::Running {
//!             continue;
//!         }
//!         session.add_local_input(me, (session.current_frame() % 7) as u8)?;
//!         match session.advance_frame() {
//!             Ok(requests) => {
//!                 monitor.record_advance(&requests);
//!                 for r in requests {
//!                     match r {
//!                         GgrsRequest::SaveGameState { cell, frame } => cell.save(frame, Some(*state), Some(u128::from(*state))),
//!                         GgrsRequest::LoadGameState { cell, .. } => *state = cell.load().unwrap_or_default(),
//!                         GgrsRequest::AdvanceFrame { inputs } => {
//!                             for (i, _) in inputs { *state = state.wrapping_mul(31).wrapping_add(u64::from(i)); }
//!                         }
//!                     }
//!                 }
//!             }
//!             Err(GgrsError::PredictionThreshold) => monitor.record_stall(),
//!             Err(e) => return Err(e.into()),
//!         }
//!     }
//!     std::thread::yield_now();
//! }
//! # Ok(()) }
//! ```
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod addr;
#[cfg(feature = "bevy")]
pub mod bevy;
pub mod plan;
pub mod session;
pub mod stats;
pub mod transport;
pub mod wire;

pub use addr::PeerAddr;
pub use plan::{MatchId, MatchKey, MatchPlan, NetSettings, PlanPlayer, PlanSpectator};
pub use session::{NetSessionBuilder, SessionError};
pub use stats::{NetEvent, NetMonitor, NetStats, PeerStats, RollbackHistogram, TrafficCounters};
pub use transport::{
    Conditioned, LinkProfile, SimNetwork, SimTransport, Transport, TransportError, UdpTransport,
};
pub use wire::{DropReason, WireError};

/// The types a game needs, in one `use`.
pub mod prelude {
    pub use crate::addr::PeerAddr;
    pub use crate::plan::{MatchId, MatchKey, MatchPlan, NetSettings, PlanPlayer, PlanSpectator};
    pub use crate::session::{NetSessionBuilder, SessionError};
    pub use crate::stats::{DropCounts, NetEvent, NetMonitor, NetStats, PeerStats};
    pub use crate::transport::{
        Conditioned, GilbertElliott, LinkProfile, SimNetwork, SimTransport, Transport,
        TransportError, UdpTransport,
    };
    pub use crate::wire::DropReason;
}
