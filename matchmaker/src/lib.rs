//! LAN lobbies for nearplay: players find each other over mDNS/DNS-SD, gather
//! in a lobby hosted on one player's machine, and leave with one
//! [`MatchPlan`](nearplay_netcode::MatchPlan) each, the only hand-off to
//! `nearplay_netcode`. No server, no async runtime: background threads do the
//! I/O (one non-blocking event loop per lobby, whatever its number of
//! connections), the game calls non-blocking `poll()`s every frame.
//!
//! # Module map
//!
//! ```text
//! play/      matchmaker.rs Matchmaker, MatchmakerConfig: host, join, browse (start here)
//!            lobby.rs      Lobby: one handle, hosted or joined, LAN or room code
//!            translate.rs  the shells' events into LobbyEvents; the match hand-over
//!            backend.rs    the four shells behind one shape; HTTP off the caller's thread
//!            list.rs       LobbyList: mDNS lobbies + the server's public rooms
//! lan/       mod.rs        Discovery: the process's ONE mDNS daemon (create at start, clone)
//!            txt.rs        TXT record schema (txtvers, proto, game, ver, n, max, pw, mode, extras)
//!            advertise.rs  Advertisement: register, unique names, TXT updates, goodbye
//!            claims.rs     names being probed: TXT updates wait until the name is claimed
//!            browse.rs     LobbyBrowser, LobbyInfo (strings cleaned), BrowseEvent, Compatibility
//!            hub.rs        the browse hub thread (one mDNS listener, many browsers)
//!            liveness.rs   pings, RTT, crashed hosts dropped (sans-IO LivenessTable)
//!            ping.rs       ping/pong wire, random nonces, ping budget, record cost
//!            text.rs       printable(): control characters out of network strings
//! lobby/     message.rs    protocol messages (clear handshake, sealed rest)
//!            codec.rs      length-prefixed, versioned frames with a size limit
//!            secure/       the channel: Noise NN/NNpsk2 + SPAKE2, sealed frames,
//!                          fingerprint, guess backoff, chat/ready buckets
//!            host/         HostMachine: sans-IO host core (types.rs, handlers.rs,
//!                          handshake.rs)
//!            client/       ClientMachine: sans-IO client core (types.rs, handshake.rs; plan_check.rs:
//!                          the host's plan is validated against the roster before Started)
//!            tcp/          LobbyHost / LobbyClient: the TCP shell (one mio event loop per lobby)
//!            rng.rs        seeded randomness for the cores
//! rendezvous/ code.rs       RoomCode (6 symbols, no look-alikes)
//!            api.rs        the server's HTTP JSON types and Refusal kinds
//!            wire.rs       decoders of network bytes (HTTP answers, signaling), fuzzed
//!            server/       the server, feature "server" (bin nearplay-rendezvous)
//!            client/       RendezvousClient, OnlineHost/OnlineClient (the lobby
//!                          machines over WebRTC), feature "rendezvous"
//! ```
//!
//! # Features and commands
//!
//! ```text
//! rendezvous  the rendezvous client; enables nearplay_netcode/webrtc (matchbox_socket)
//! server      the nearplay-rendezvous binary (tokio, axum, hyper)
//!
//! cargo run -p nearplay_matchmaker --features server --bin nearplay-rendezvous -- --listen 127.0.0.1:3536
//! cargo test -p nearplay_matchmaker --features server,rendezvous   # + refusal and WebRTC (netns) tests
//! cargo bench -p nearplay_matchmaker --features server,rendezvous --bench rendezvous
//! ```
//!
//! # A game's view: one lobby handle
//!
//! A [`Matchmaker`] made once at start-up hands out [`Lobby`] handles for
//! hosting and joining, on the LAN or by room code (feature `rendezvous`),
//! with the same methods and [`LobbyEvent`]s whatever the path, and
//! [`LobbyList`]s of lobbies to join. `poll()` never blocks; the library
//! binds the game socket and hands over the plan with its transport
//! ([`MatchStart`]). Everything a game needs is in [`prelude`].
//!
//! ```
//! use std::net::Ipv4Addr;
//! use std::time::{Duration, Instant};
//! use nearplay_matchmaker::prelude::*;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Once, at start-up. (This example stays on loopback and advertises
//! // nothing; a game keeps the defaults: mDNS on every interface.)
//! let mut config = MatchmakerConfig::new("my-game", "1.0");
//! config.lan = None;
//! config.bind = Some(Ipv4Addr::LOCALHOST.into());
//! let matchmaker = Matchmaker::new(config)?;
//!
//! // Host: open at once, the host ready by default.
//! let mut host = matchmaker.host(LobbySettings::new("Hana's den", "Hana"));
//! // A player joins (a `LobbyList` entry, an address or a room code) and
//! // says ready at once: queued until the host's welcome.
//! let address = host.lobby_addr().expect("a LAN lobby has an address");
//! let mut ann = matchmaker.join(address, PlayerSettings::new("Ann"));
//! ann.set_ready(true)?;
//!
//! // Every frame, each game polls its lobby.
//! let deadline = Instant::now() + Duration::from_secs(10);
//! let mut starts = Vec::new();
//! let mut started = false;
//! while starts.len() < 2 {
//!     assert!(Instant::now() < deadline, "no match");
//!     for lobby in [&mut host, &mut ann] {
//!         match lobby.poll() {
//!             Some(LobbyEvent::MatchStarted(start)) => starts.push(start),
//!             Some(LobbyEvent::Failed(e)) => return Err(e.into()),
//!             _ => {}
//!         }
//!     }
//!     if !started && host.roster().len() == 2 && host.roster().iter().all(|m| m.ready) {
//!         host.start()?; // never blocks; MatchStarted follows on every member
//!         started = true;
//!     }
//! }
//! // One plan, each with its own seat; `start.into_session::<MyGgrsConfig>(None)`
//! // builds the GGRS session over the transport the plan names.
//! assert_eq!(starts[0].plan.match_id, starts[1].plan.match_id);
//! assert_ne!(starts[0].plan.local_handle, starts[1].plan.local_handle);
//! # Ok(()) }
//! ```
//!
//! The shells underneath ([`LobbyHost`], [`LobbyClient`], [`LobbyBrowser`],
//! and online [`OnlineHost`](rendezvous::OnlineHost) /
//! [`OnlineClient`](rendezvous::OnlineClient)) stay public for tools and
//! tests that need one path only.
//!
//! # The sans-IO core, with a fake clock
//!
//! The shells only move bytes; everything else is in the machines, which a
//! test (or this example) drives with no socket and no sleep:
//!
//! ```
//! use std::time::Instant;
//! use nearplay_matchmaker::lobby::client::{ClientEvent, ClientMachine, ClientTransmit, JoinConfig};
//! use nearplay_matchmaker::lobby::host::{ConnId, HostConfig, HostMachine, HostTransmit};
//!
//! /// Moves frames both ways until both sides are quiet.
//! fn pump(host: &mut HostMachine, client: &mut ClientMachine, now: Instant) {
//!     loop {
//!         let mut moved = false;
//!         while let Some(t) = host.poll_transmit() {
//!             moved = true;
//!             if let HostTransmit::Send { frame, .. } = t { client.handle_data(now, &frame) }
//!         }
//!         while let Some(t) = client.poll_transmit() {
//!             moved = true;
//!             if let ClientTransmit::Send(frame) = t { host.handle_data(now, ConnId(1), &frame) }
//!         }
//!         if !moved { return }
//!     }
//! }
//!
//! let now = Instant::now(); // the fake clock: only ever passed in
//! let mut config = HostConfig::new("Den", "Hana", "my-game", "1.0");
//! config.game_port = 40000; // the host's own game socket (joiners check every seat's address)
//! let mut host = HostMachine::new(config, [7; 32]);
//! let mut client = ClientMachine::new(JoinConfig::new("Ann", "my-game", "1.0", 40001), now);
//! host.handle_connect(now, ConnId(1), "10.0.0.2:50000".parse().unwrap(), "10.0.0.1:7000".parse().unwrap());
//! client.handle_connected(now);
//! pump(&mut host, &mut client, now);
//! assert!(matches!(client.poll_event(), Some(ClientEvent::Joined { you: 1, .. })));
//!
//! client.set_ready(now, true);
//! pump(&mut host, &mut client, now);
//! let plan = host.start(now).expect("everyone is ready");
//! pump(&mut host, &mut client, now);
//! let mine = std::iter::from_fn(|| client.poll_event())
//!     .find_map(|e| match e {
//!         ClientEvent::Started(p) => Some(p),
//!         ClientEvent::JoinFailed(e) => panic!("{e}"),
//!         _ => None,
//!     })
//!     .expect("the plan");
//! // Same plan, own handle, and only its own member secret (for a rejoin).
//! assert_eq!(mine.without_secrets(), plan.for_member(1).without_secrets());
//! assert!(mine.member_secret().is_some());
//! assert_eq!(mine.players[1].addr.to_string(), "udp://10.0.0.2:40001");
//! ```
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod lan;
pub mod lobby;
pub mod play;
pub mod rendezvous;

pub use lan::{
    BrowseEvent, Compatibility, Discovery, DiscoveryConfig, Interfaces, IpFamily, LanError,
    LobbyBrowser, LobbyInfo, LobbyStage,
};
pub use lobby::client::{ClientEvent, CloseReason, JoinConfig, JoinError};
pub use lobby::host::{HostConfig, HostEvent, LeaveReason, StartRefused};
pub use lobby::message::{MemberId, PROTOCOL_VERSION, RosterEntry};
pub use lobby::secure::Fingerprint;
pub use lobby::tcp::{HostOptions, LobbyClient, LobbyHost, ShellError};
pub use play::{
    JoinTarget, ListEvent, Lobby, LobbyActionError, LobbyEntry, LobbyError, LobbyEvent, LobbyList,
    LobbyPhase, LobbyPlace, LobbySettings, MatchControl, MatchStart, Matchmaker, MatchmakerConfig,
    MatchmakerError, PlayerSettings, ReconnectPolicy, RejoinTicket, ResumeStep, TicketError, Venue,
};
pub use rendezvous::RoomCode;

/// What a game needs to host, join and list lobbies, in one `use`.
pub mod prelude {
    pub use crate::lan::{Compatibility, Interfaces, LobbyStage};
    pub use crate::lobby::client::CloseReason;
    pub use crate::lobby::host::LeaveReason;
    pub use crate::lobby::message::{MemberId, RosterEntry};
    pub use crate::lobby::secure::Fingerprint;
    pub use crate::play::{
        JoinTarget, ListEvent, Lobby, LobbyActionError, LobbyEntry, LobbyError, LobbyEvent,
        LobbyList, LobbyPhase, LobbyPlace, LobbySettings, MatchControl, MatchStart, Matchmaker,
        MatchmakerConfig, MatchmakerError, PlayerSettings, ReconnectPolicy, RejoinTicket,
        ResumeStep, Venue,
    };
    pub use crate::rendezvous::RoomCode;
}
