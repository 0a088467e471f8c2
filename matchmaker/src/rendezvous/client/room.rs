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

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use nearplay_netcode::transport::webrtc::{
    LinkExit, PeerChange, RELIABLE_CHANNEL, WebRtcConfig, WebRtcLink, WebRtcTransport,
};
use nearplay_netcode::{MatchPlan, PeerAddr, TransportError};

use super::{RendezvousClient, RendezvousError};
use crate::lobby::client::{ClientEvent, ClientMachine, ClientTransmit, JoinConfig, JoinError};
use crate::lobby::host::{ConnId, HostConfig, HostEvent, HostMachine, HostTransmit, StartRefused};
use crate::lobby::message::{MemberId, PROTOCOL_VERSION, RosterEntry};
use crate::rendezvous::api::RoomRequest;
use crate::rendezvous::code::RoomCode;

/// How long a member waits for the host's first word after joining the room.
pub const HOST_CONTACT_TIMEOUT: Duration = Duration::from_secs(15);

/// The shell-level "I can hear you" a member sends the host (never a lobby frame).
pub const POKE: &[u8] = b"\0nearplay-poke\0";
use super::poke::PokeSchedule;

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

/// A lobby hosted in a rendezvous room: call [`poll`](Self::poll) every frame.
#[derive(Debug)]
pub struct OnlineHost {
    code: RoomCode,
    link: WebRtcLink,
    machine: HostMachine,
    me: Option<u128>,
    conns: BTreeMap<u128, ConnId>,
    peers: BTreeMap<ConnId, u128>,
    closed: BTreeSet<ConnId>,
    /// Peers matchbox reports connected (we may send to them).
    connected: BTreeSet<u128>,
    /// Peers that poked (they can hear us).
    poked: BTreeSet<u128>,
    next_conn: u64,
    /// The server let go of us (see [`OnlineHost::take_server_gone`]).
    server_gone: ServerGone,
}

impl OnlineHost {
    /// Creates a room on the server (listed in `GET /lobbies` when `public`)
    /// and opens its link. `config.game_port` is ignored (WebRTC has no port).
    pub fn open(
        client: &RendezvousClient,
        config: HostConfig,
        public: bool,
        webrtc: &WebRtcConfig,
    ) -> Result<Self, RendezvousError> {
        let code = client.create_room(&room_request(&config, public))?;
        Self::host_room(client, code, config, webrtc)
    }

    /// Hosts a room that already exists (one a quick match created for us).
    pub fn host_room(
        client: &RendezvousClient,
        code: RoomCode,
        mut config: HostConfig,
        webrtc: &WebRtcConfig,
    ) -> Result<Self, RendezvousError> {
        let link = WebRtcLink::connect(&client.room_url(code), webrtc)
            .map_err(|e| RendezvousError::Link(e.to_string()))?;
        config.game_port = 1;
        config.timeouts.hello = config.timeouts.hello.max(ONLINE_HELLO_TIMEOUT);
        Ok(OnlineHost {
            code,
            link,
            machine: HostMachine::new(config, seed()),
            me: None,
            conns: BTreeMap::new(),
            peers: BTreeMap::new(),
            closed: BTreeSet::new(),
            connected: BTreeSet::new(),
            poked: BTreeSet::new(),
            next_conn: 1,
            server_gone: ServerGone::default(),
        })
    }

    /// The room's code, to show and share.
    pub fn code(&self) -> RoomCode {
        self.code
    }

    /// Moves bytes and time, then returns the next lobby event.
    pub fn poll(&mut self) -> Option<HostEvent> {
        self.pump(Instant::now());
        self.machine.poll_event()
    }

    /// How the link ended, if it did (then the lobby is gone).
    pub fn link_exit(&self) -> Option<LinkExit> {
        self.link.exit()
    }

    /// True once, when the rendezvous server has let go of this room
    /// (shutting down: "server closing"): nobody new can join, while the
    /// members already connected, and the match, go on peer to peer.
    pub fn take_server_gone(&mut self) -> bool {
        self.server_gone.take()
    }

    /// The roster, host first.
    pub fn roster(&self) -> Vec<RosterEntry> {
        self.machine.roster()
    }

    /// Marks the host ready or not.
    pub fn set_ready(&mut self, ready: bool) {
        self.machine.set_ready(Instant::now(), ready);
        self.flush();
    }

    /// Sends a chat line.
    pub fn chat(&mut self, text: &str) {
        self.machine.chat(Instant::now(), text);
        self.flush();
    }

    /// Kicks a member.
    pub fn kick(&mut self, id: MemberId) -> bool {
        let kicked = self.machine.kick(Instant::now(), id);
        self.flush();
        kicked
    }

    /// Starts the match: every member gets its plan; returns the host's,
    /// with WebRTC addresses.
    pub fn start(&mut self) -> Result<MatchPlan, StartRefused> {
        let plan = self.machine.start(Instant::now())?;
        self.flush();
        Ok(to_webrtc_plan(plan))
    }

    /// The game transport for `plan` over this room's link.
    pub fn into_transport(self, plan: &MatchPlan) -> Result<WebRtcTransport, TransportError> {
        WebRtcTransport::from_plan(self.link, plan)
    }

    fn pump(&mut self, now: Instant) {
        if self.me.is_none() {
            self.me = self.link.id();
        }
        for change in self.link.poll_peers() {
            match change {
                PeerChange::Disconnected(p) if Some(p) == self.me => self.server_gone.note(),
                PeerChange::Connected(p) => {
                    self.connected.insert(p);
                }
                PeerChange::Disconnected(p) => {
                    self.connected.remove(&p);
                    self.poked.remove(&p);
                    if let Some(c) = self.conns.get(&p) {
                        self.machine.handle_disconnect(now, *c);
                    }
                }
            }
        }
        for (peer, bytes) in self.link.receive(RELIABLE_CHANNEL) {
            if &bytes[..] == POKE {
                self.poked.insert(peer);
                continue;
            }
            match self.conns.get(&peer) {
                Some(c) if !self.closed.contains(c) => self.machine.handle_data(now, *c, &bytes),
                _ => {}
            }
        }
        if let Some(me) = self.me {
            let ready: Vec<u128> = self
                .poked
                .iter()
                .filter(|p| self.connected.contains(*p) && !self.conns.contains_key(*p))
                .copied()
                .collect();
            for p in ready {
                let c = ConnId(self.next_conn);
                self.next_conn += 1;
                self.conns.insert(p, c);
                self.peers.insert(c, p);
                self.machine.handle_connect(now, c, id_addr(p), id_addr(me));
            }
        }
        if self.machine.poll_timeout().is_some_and(|t| t <= now) {
            self.machine.handle_timeout(now);
        }
        self.flush();
    }

    fn flush(&mut self) {
        while let Some(t) = self.machine.poll_transmit() {
            match t {
                HostTransmit::Send { conn, frame } => {
                    if let Some(p) = self.peers.get(&conn) {
                        self.link.send(RELIABLE_CHANNEL, *p, &frame);
                    }
                }
                HostTransmit::Close { conn } => {
                    self.closed.insert(conn);
                }
            }
        }
    }
}

/// A member of a lobby in a rendezvous room: call [`poll`](Self::poll) every frame.
#[derive(Debug)]
pub struct OnlineClient {
    code: RoomCode,
    client: RendezvousClient,
    link: WebRtcLink,
    config: Option<JoinConfig>,
    machine: Option<ClientMachine>,
    host: Option<u128>,
    /// The host's id as the server reported it, if it did.
    pinned: Option<u128>,
    /// Peers whose data channels matchbox reported open. Data can arrive
    /// from a peer a little before that, but what we send it until then is
    /// dropped by matchbox ("unknown peer"), so such data waits in `early`.
    connected: BTreeSet<u128>,
    early: Vec<(u128, Vec<u8>)>,
    pokes: PokeSchedule,
    contact_deadline: Instant,
    ended: bool,
    /// The server let go of us (see [`OnlineClient::take_server_gone`]).
    server_gone: ServerGone,
}

impl OnlineClient {
    /// Joins the room `code` (as typed): checks it on the server first, so
    /// "no room has the code" and "room is full" come in words, then opens
    /// the link; the lobby join itself follows through [`poll`](Self::poll).
    pub fn join(
        client: &RendezvousClient,
        code: &str,
        mut config: JoinConfig,
        webrtc: &WebRtcConfig,
    ) -> Result<Self, RendezvousError> {
        let (info, link) = client.connect(code, webrtc)?;
        config.game_port = 1;
        config.timeouts.hello = config.timeouts.hello.max(ONLINE_HELLO_TIMEOUT);
        let pinned = info
            .host_peer
            .as_deref()
            .and_then(|h| u128::from_str_radix(h, 16).ok());
        Ok(OnlineClient {
            code: info.code,
            client: client.clone(),
            link,
            config: Some(config),
            machine: None,
            host: None,
            pinned,
            connected: BTreeSet::new(),
            early: Vec::new(),
            pokes: PokeSchedule::default(),
            contact_deadline: Instant::now() + HOST_CONTACT_TIMEOUT,
            ended: false,
            server_gone: ServerGone::default(),
        })
    }

    /// The room's code.
    pub fn code(&self) -> RoomCode {
        self.code
    }

    /// Moves bytes and time, then returns the next lobby event; the plan of
    /// [`ClientEvent::Started`] has WebRTC addresses.
    pub fn poll(&mut self) -> Option<ClientEvent> {
        let now = Instant::now();
        self.pump(now);
        let event = self.machine.as_mut().and_then(ClientMachine::poll_event);
        match event {
            Some(ClientEvent::Started(plan)) => Some(ClientEvent::Started(to_webrtc_plan(plan))),
            Some(e) => Some(e),
            None if self.machine.is_none() && !self.ended => {
                if let Some(exit) = self.link.exit() {
                    self.ended = true;
                    return Some(ClientEvent::JoinFailed(JoinError::Unreachable(
                        exit.to_string(),
                    )));
                }
                if now >= self.contact_deadline {
                    self.ended = true;
                    return Some(ClientEvent::JoinFailed(JoinError::Timeout));
                }
                None
            }
            None => None,
        }
    }

    /// True once, when the rendezvous server has let go of this room
    /// (see [`OnlineHost::take_server_gone`]).
    pub fn take_server_gone(&mut self) -> bool {
        self.server_gone.take()
    }

    /// A failure event in a player's words (wrong password, room full, server closing...).
    pub fn explain(&self, event: &ClientEvent) -> Option<RendezvousError> {
        match event {
            ClientEvent::JoinFailed(JoinError::WrongPassword | JoinError::PasswordRequired) => {
                Some(RendezvousError::WrongPassword)
            }
            ClientEvent::JoinFailed(JoinError::Full { .. }) => {
                Some(RendezvousError::RoomFull { code: self.code })
            }
            ClientEvent::JoinFailed(JoinError::Unreachable(why)) => {
                Some(self.client.explain_link_end(self.code, why))
            }
            ClientEvent::LobbyClosed(reason) => {
                Some(self.client.explain_link_end(self.code, &reason.to_string()))
            }
            _ => None,
        }
    }

    /// Marks us ready or not.
    pub fn set_ready(&mut self, ready: bool) {
        if let Some(m) = self.machine.as_mut() {
            m.set_ready(Instant::now(), ready);
        }
        self.flush();
    }

    /// Sends a chat line.
    pub fn chat(&mut self, text: &str) {
        if let Some(m) = self.machine.as_mut() {
            m.chat(Instant::now(), text);
        }
        self.flush();
    }

    /// The game transport for `plan` over this room's link.
    pub fn into_transport(self, plan: &MatchPlan) -> Result<WebRtcTransport, TransportError> {
        WebRtcTransport::from_plan(self.link, plan)
    }

    fn pump(&mut self, now: Instant) {
        let me = self.link.id();
        for change in self.link.poll_peers() {
            match change {
                PeerChange::Disconnected(p) if Some(p) == me => self.server_gone.note(),
                PeerChange::Connected(p) => {
                    self.connected.insert(p);
                }
                PeerChange::Disconnected(p) => {
                    self.connected.remove(&p);
                    if let (true, Some(m)) = (Some(p) == self.host, self.machine.as_mut()) {
                        m.handle_disconnected();
                    }
                }
            }
        }
        let mut arrived = std::mem::take(&mut self.early);
        arrived.extend(
            self.link
                .receive(RELIABLE_CHANNEL)
                .into_iter()
                .map(|(p, b)| (p, b.to_vec())),
        );
        for (peer, bytes) in arrived {
            if bytes == POKE {
                continue; // pokes are for hosts
            }
            if !self.connected.contains(&peer) {
                // Bounded: a peer that never connects cannot grow it much.
                if self.early.len() < 256 {
                    self.early.push((peer, bytes));
                }
                continue;
            }
            if self.host.is_none() && self.pinned.is_none_or(|h| h == peer) {
                if let Some(config) = self.config.take() {
                    self.host = Some(peer);
                    let mut m = ClientMachine::new(config, now).in_room();
                    m.handle_connected(now);
                    self.machine = Some(m);
                }
            }
            if let (true, Some(m)) = (Some(peer) == self.host, self.machine.as_mut()) {
                m.handle_data(now, &bytes);
            }
        }
        if self.host.is_none() {
            let targets: Vec<u128> = match self.pinned {
                Some(h) => self.connected.get(&h).copied().into_iter().collect(),
                None => self.connected.iter().copied().collect(),
            };
            if self.pokes.due(now, targets.len()) {
                for t in targets {
                    self.link.send(RELIABLE_CHANNEL, t, POKE);
                }
            }
        }
        if let Some(m) = self.machine.as_mut() {
            if self.link.exit().is_some() && !m.is_done() {
                m.handle_disconnected();
            }
            if m.poll_timeout().is_some_and(|t| t <= now) {
                m.handle_timeout(now);
            }
        }
        self.flush();
    }

    fn flush(&mut self) {
        let (Some(m), Some(host)) = (self.machine.as_mut(), self.host) else {
            return;
        };
        while let Some(t) = m.poll_transmit() {
            match t {
                ClientTransmit::Send(frame) => {
                    self.link.send(RELIABLE_CHANNEL, host, &frame);
                }
                ClientTransmit::Close => {}
            }
        }
    }
}

/// "The server let go of us": the server says so with `PeerLeft` naming
/// our own id (what `nearplay-rendezvous` sends every peer on shutdown,
/// before its `server_closing` close frame). Reported once.
#[derive(Debug, Default)]
struct ServerGone {
    seen: bool,
    reported: bool,
}

impl ServerGone {
    fn note(&mut self) {
        self.seen = true;
    }

    fn take(&mut self) -> bool {
        let first = self.seen && !self.reported;
        self.reported |= self.seen;
        first
    }
}
