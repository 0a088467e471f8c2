//! [`OnlineHost`] / [`OnlineClient`]: the LAN lobby's sans-IO machines
//! ([`HostMachine`], [`ClientMachine`]) unchanged, over the reliable data
//! channel of a room's [`WebRtcLink`] instead of TCP: a second shell around
//! the same core, so chat, ready, kick, the encrypted lobby channel with its
//! SPAKE2 password check (one code path decides who gets in) and the
//! `MatchPlan` are the LAN's. WebRTC's DTLS already protects the link; the
//! lobby channel inside it also keeps the password from offline tests and
//! gives the same fingerprints as on the LAN.
//!
//! **Why the WebRTC channel and not the signaling socket:** the lobby then
//! needs nothing from the server beyond matchbox signaling (the server never
//! sees chat, names or password exchanges), stock matchbox servers could host
//! it, and the link the lobby proves working is the one the game then uses.
//!
//! **During the match** the shells keep running over the link's reliable
//! channel as the match's control channel (seat news, rejoins and late
//! joins by room code, new key epochs, resume messages), while the game
//! transport reads the game channel of a clone of the same link
//! ([`OnlineHost::link`]): one WebRTC connection per peer. A restarted
//! game joins the same code with its ticket: the server lets it into the
//! place its old peer left, and the host's machine decides as on the LAN.
//!
//! **Addresses.** The machines speak of `SocketAddr`s; the shell gives each
//! WebRTC peer the address [`id_addr`] (its 128-bit id as an IPv6 address),
//! so the plan they build names players by id, and [`to_webrtc_plan`] turns
//! those into [`PeerAddr::WebRtc`].
//!
//! **Member speaks first, at the shell level.** A message sent the moment
//! matchbox reports a peer connected can be lost (the other end may not have
//! its data channel yet: measured, the host's first message vanished in
//! about one join in five). So the host does not open a lobby connection on
//! "connected": a member sends [`POKE`] (at once, then after 10 ms, doubling
//! up to every 200 ms: `poke.rs`) until the
//! host speaks, and the host opens the connection (the machine's greeting)
//! on the first poke, when the member has proved its channel works. Peers
//! that never poke (an intruder in the room) never reach the host's machine.
//!
//! **Who is the host.** The server reports the room's first peer (the host
//! creates the room and connects at once) in [`RoomInfo::host_peer`]; a
//! member takes lobby messages from that peer only, so another peer in the
//! room cannot pose as the host. If the host was not in the room yet when
//! the member looked it up, the member takes the first peer that sends it
//! lobby data (the host speaks first: its greeting).
//!
//! [`RoomInfo::host_peer`]: crate::rendezvous::api::RoomInfo::host_peer

mod host;
mod member;

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use nearplay_netcode::{MatchPlan, PeerAddr};

use crate::lobby::host::HostConfig;
use crate::lobby::message::PROTOCOL_VERSION;
use crate::rendezvous::api::RoomRequest;

pub use host::OnlineHost;
pub use member::OnlineClient;

/// How long a member waits for the host's first word after joining the room.
pub const HOST_CONTACT_TIMEOUT: Duration = Duration::from_secs(15);

/// The shell-level "I can hear you" a member sends the host (never a lobby frame).
pub const POKE: &[u8] = b"\0nearplay-poke\0";

/// The least hello timeout online: the two ends of a WebRTC connection see
/// it open at different moments (seconds apart on a loaded machine), so the
/// LAN's 3 s is raised to this for both host and members.
pub const ONLINE_HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// The address the lobby machines see for WebRTC peer `id`.
pub fn id_addr(id: u128) -> SocketAddr {
    SocketAddr::new(IpAddr::V6(Ipv6Addr::from(id)), 1)
}

/// A plan built from [`id_addr`] addresses, with [`PeerAddr::WebRtc`] ones.
pub fn to_webrtc_plan(mut plan: MatchPlan) -> MatchPlan {
    let map = |addr: &mut PeerAddr| {
        if let PeerAddr::Udp(sa) = *addr {
            let id = match sa.ip() {
                IpAddr::V6(v6) => u128::from(v6),
                IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
            };
            *addr = PeerAddr::WebRtc(id);
        }
    };
    plan.players.iter_mut().for_each(|p| map(&mut p.addr));
    plan.spectators.iter_mut().for_each(|s| map(&mut s.addr));
    plan
}

fn seed() -> [u8; 32] {
    let mut s = [0u8; 32];
    if getrandom::getrandom(&mut s).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        s = *blake3::hash(&t.to_le_bytes()).as_bytes();
    }
    s
}

/// The room a host config asks for (also what a quick match sends).
pub fn room_request(config: &HostConfig, public: bool) -> RoomRequest {
    RoomRequest {
        name: config.lobby_name.clone(),
        game: config.game.clone(),
        proto: PROTOCOL_VERSION,
        version: config.game_version.clone(),
        max_players: config.max_players,
        password: config.password.is_some(),
        mode: config.mode.clone(),
        public,
        // The lobby machine seats up to this many spectators beside the players.
        spectators: nearplay_netcode::MAX_SPECTATORS as u16,
    }
}
/// "The server let go of us": the server says so with `PeerLeft` naming
/// our own id (what `nearplay-rendezvous` sends every peer on shutdown,
/// before its `server_closing` close frame). Reported once.
#[derive(Debug, Default)]
pub(super) struct ServerGone {
    seen: bool,
    reported: bool,
}

impl ServerGone {
    pub(super) fn note(&mut self) {
        self.seen = true;
    }

    pub(super) fn take(&mut self) -> bool {
        let first = self.seen && !self.reported;
        self.reported |= self.seen;
        first
    }
}
