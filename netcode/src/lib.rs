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
//! | [`plan_check`] | [`MatchPlan::validate`], [`PlanLimits`], [`PlanError`]: a plan from the network is checked before a session is built |
//! | [`wire`] | datagram header, BLAKE3-keyed tag, anti-replay window (sans-IO, fuzzed) |
//! | [`transport::auth`] | [`AuthTransport`](transport::AuthTransport): the one authenticated datagram layer (seal, checks, replay window, counters, per-poll cap) over any [`DatagramLink`](transport::DatagramLink) |
//! | [`transport::udp`] | [`UdpTransport`]: that layer over one UDP socket |
//! | [`transport::sim`] | [`SimNetwork`] / [`SimTransport`]: in-memory network (and [`SimLink`](transport::SimLink): the authenticated layer over it) |
//! | `transport::webrtc` (feature `webrtc`) | `WebRtcLink` (matchbox socket, loop on its own thread, panics contained; a cheap `Clone` handle), `WebRtcTransport`: the layer over its game channel |
//! | [`transport::game`] | [`GameTransport`]: UDP or WebRTC as one type, what a lobby hands over |
//! | [`transport::conditioner`] | [`LinkProfile`], [`Conditioned`]: seeded latency, jitter, loss, bursts, duplication, reordering |
//! | [`replay`] | [`InputRecorder`](replay::InputRecorder) (confirmed inputs, the stream of newly confirmed frames), [`ReplayFile`](replay::ReplayFile): versioned, digested, atomic, refused in words |
//! | [`resume`] | rejoin and late join: [`ResumeMachine`](resume::ResumeMachine) agrees on a confirmed frame, every member restarts GGRS there under a new key epoch ([`EpochLink`](transport::EpochLink) shares the socket meanwhile), the newcomer loads a [`ResumePoint`](resume::ResumePoint) |
//! | [`session`] | [`NetSessionBuilder`]: plan (or addresses) to `ggrs::P2PSession` |
//! | [`handshake`] | [`RedundantHandshake`](handshake::RedundantHandshake): GGRS's sync messages sent three times, so one lost datagram does not start a peer 200 ms late |
//! | [`stats`] | [`NetMonitor`], [`NetStats`], [`NetEvent`], drop counters |
//! | [`sync`] | [`SyncWatch`], [`SyncTimeout`]: a deadline on synchronisation that names the peers it could not reach |
//! | [`forensics`] | desync reports: [`FrameRing`](forensics::FrameRing) of per-frame state, [`DesyncReport`](forensics::DesyncReport) (versioned JSON, bounded, atomic, read as hostile input, fuzzed), [`diff_reports`](forensics::diff_reports) naming field paths |
//! | `bevy` (feature `bevy`) | plugin over bevy_ggrs: session, stats resource, messages; `bevy::resume`: registered resources as resume state, the session swap with its frame offset |
//!
//! ## GGRS 0.13 facts this crate was built against (checked in its source and tests)
//!
//! - `advance_frame` no longer fails with `PredictionThreshold` in a P2P
//!   session: at the prediction limit it returns a save request and no
//!   `AdvanceFrame`. [`NetMonitor::record_advance`] counts such a tick as
//!   stalled.
//! - `confirmed_frame()` includes the local player's queued input, so with
//!   input delay it can be *ahead* of `current_frame()`; the state of the
//!   current frame is saved on the next advance. "Same state at the same
//!   confirmed frame" therefore compares frame `min(confirmed, current - 1)`.
//! - When a peer vanishes and the survivors' views of its last frame differ by
//!   more than the prediction window, GGRS panics while re-simulating the
//!   disconnect (`sync_layer.rs`: "cannot load frame outside of prediction
//!   window"). Reproduced with unpaced loops; a game paced at its frame rate
//!   stays well inside the window.
//! - GGRS's own socket encodes with bincode, one message a datagram, and
//!   never authenticates; ours encodes with postcard, puts the messages to
//!   one peer of one frame in one datagram, and adds 11 bytes (version,
//!   16-bit sequence number, 64-bit tag: see [`wire`]), fewer bytes than
//!   GGRS's own (`benches/netcode.rs` prints the ratio).
//! - The sync handshake retries a lost message only after 200 ms, so one
//!   lost datagram starts a peer 12 frames late ([`handshake`]); and with an
//!   input delay, a receiver drops every input datagram after the first
//!   until the sender has its acknowledgement, a round trip of missing
//!   input at the start of every match ([`NetSettings::max_prediction`]).
//!
//! ## Commands
//!
//! ```text
//! cargo test -p nearplay_netcode                          # unit, integration, doc tests
//! cargo test -p nearplay_netcode --features bevy          # + the Bevy plugin test
//! cargo test -p nearplay_netcode --features webrtc        # + WebRTC tests (in a netns, as root)
//! cargo bench -p nearplay_netcode --bench netcode         # ratios vs bare GGRS (~25 s)
//! cargo bench -p nearplay_netcode --bench lossy_link      # 100 ms RTT, 5 % loss vs bare GGRS (~12 s)
//! cd netcode && RUSTC_BOOTSTRAP=1 cargo fuzz run datagram_decode -- -max_total_time=60
//! cargo run -p nearplay_netcode --example two_peers -- --local 7001 --remote 127.0.0.1:7002 --handle 0
//! ```
//!
//! ## A game over UDP from a plan
//!
//! ```no_run
//! # use nearplay_netcode::prelude::*;
//! # struct Cfg;
//! # impl ggrs::Config for Cfg { type Input = u8; type InputPredictor = ggrs::PredictRepeatLast; type State = u64; type Address = PeerAddr; }
//! # fn run(plan: MatchPlan, socket: std::net::UdpSocket) -> Result<(), Box<dyn std::error::Error>> {
//! // `socket` was bound before joining the lobby; the lobby learnt its port.
//! // `None`: no impairment; `Some(LinkProfile::latency(..))` for --sim-latency.
//! let (mut session, mut monitor) = start_udp_session::<Cfg>(&plan, socket, None)?;
//! // (the same, step by step:)
//! // let transport = UdpTransport::from_plan(socket, &plan)?;
//! // let (session, monitor) = NetSessionBuilder::<Cfg>::from_plan(&plan).build_monitored(transport)?;
//! // each frame: add_local_input, advance_frame, monitor.record_advance(&requests),
//! // monitor.drain_events(&mut session), monitor.snapshot(&session, now)
//! let events = monitor.drain_events(&mut session);
//! // Err after 10 s (DEFAULT_SYNC_TIMEOUT) with peers unreached: end the match and show
//! // the error, e.g. "could not reach Bo (192.168.1.7:5000) within 10 s".
//! monitor.check_sync(&session, &events, std::time::Instant::now())?;
//! # Ok(()) }
//! ```
//!
//! ## Plans come from the network: they are checked
//!
//! A plan is what a lobby host sent, and a fake host can send anything.
//! [`NetSessionBuilder::from_plan`] (and so [`start_udp_session`]) always runs
//! [`MatchPlan::validate`] with [`PlanLimits::default`]: 2..=16 players,
//! at most 32 spectators, `max_prediction <= 16`, `input_delay <=
//! max_prediction`, fps 10..=240, disconnect timeout 100 ms..=60 s, unique
//! names without control characters, unique unicast addresses, the holder's
//! own seat present. A lobby client adds what only it knows
//! ([`PlanLimits::members`]: the lobby members' addresses, so a host cannot
//! point joiners at third parties; its own game port; the lobby's maximum).
//! A bad plan is a [`PlanError`] in words, never a GGRS panic.
//!
//! GGRS retries its handshake forever; the monitor of
//! [`NetSessionBuilder::build_monitored`] carries a [`SyncWatch`] with a
//! deadline ([`NetSessionBuilder::sync_timeout`], default
//! [`DEFAULT_SYNC_TIMEOUT`]) that names the peers it could not reach.
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
//!         let _events = monitor.drain_events(session);
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
mod atomic_file;
#[cfg(feature = "bevy")]
pub mod bevy;
pub mod forensics;
pub mod handshake;
pub mod plan;
pub mod plan_check;
pub mod replay;
pub mod resume;
pub mod session;
pub mod spectate;
pub mod stats;
pub mod sync;
pub mod transport;
pub mod wire;

pub use addr::PeerAddr;
pub use plan::{
    MatchId, MatchKey, MatchPlan, MemberSecret, NetSettings, PlanPlayer, PlanSpectator,
};
pub use plan_check::{MAX_PLAYERS, MAX_SPECTATORS, PlanError, PlanLimits};
pub use session::{NetSessionBuilder, SessionError, StartError, start_udp_session};
pub use stats::{NetEvent, NetMonitor, NetStats, PeerStats, RollbackHistogram, TrafficCounters};
pub use sync::{DEFAULT_SYNC_TIMEOUT, SyncTimeout, SyncWatch, UnreachablePeer};
pub use transport::{
    Conditioned, GameTransport, LinkProfile, SimNetwork, SimTransport, Transport, TransportError,
    UdpTransport,
};
pub use wire::{DropReason, WireError};

/// The types a game needs, in one `use`.
pub mod prelude {
    pub use crate::addr::PeerAddr;
    pub use crate::plan::{
        MatchId, MatchKey, MatchPlan, MemberSecret, NetSettings, PlanPlayer, PlanSpectator,
    };
    pub use crate::plan_check::{PlanError, PlanLimits};
    pub use crate::session::{NetSessionBuilder, SessionError, StartError, start_udp_session};
    pub use crate::stats::{DropCounts, NetEvent, NetMonitor, NetStats, PeerStats};
    pub use crate::sync::{SyncTimeout, SyncWatch};
    #[cfg(feature = "webrtc")]
    pub use crate::transport::webrtc::{LinkExit, WebRtcConfig, WebRtcLink, WebRtcTransport};
    pub use crate::transport::{
        Conditioned, GameTransport, GilbertElliott, LinkProfile, SimNetwork, SimTransport,
        Transport, TransportError, UdpTransport,
    };
    pub use crate::wire::DropReason;
}
