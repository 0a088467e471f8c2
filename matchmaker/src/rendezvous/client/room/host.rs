//! [`OnlineHost`]: the host's shell of a lobby in a rendezvous room (see
//! the parent module for the design).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use nearplay_netcode::transport::webrtc::{
    LinkExit, PeerChange, RELIABLE_CHANNEL, WebRtcConfig, WebRtcLink, WebRtcTransport,
};
use nearplay_netcode::{MatchPlan, TransportError};

use super::{ONLINE_HELLO_TIMEOUT, POKE, ServerGone, id_addr, room_request, seed, to_webrtc_plan};
use crate::lobby::host::{ConnId, HostConfig, HostEvent, HostMachine, HostTransmit, StartRefused};
use crate::lobby::message::{MemberId, RosterEntry};
use crate::rendezvous::client::{RendezvousClient, RendezvousError};
use crate::rendezvous::code::RoomCode;

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

/// Longest wait for the server to seat the host's own peer in its room.
pub const HOST_SEATED_TIMEOUT: Duration = Duration::from_secs(10);

/// Waits (on the caller's thread: [`OnlineHost::open`] runs off the game's)
/// until the server has put our peer in the room, which it says by
/// assigning our id. Only then is the room's code given out, so the host
/// is the room's first peer, the one the server names to members
/// (`RoomInfo::host_peer`) and members pin. Without the wait a member that
/// got the code at once could reach the room before the host's websocket:
/// the server then named that member as host to everyone who came later,
/// and a late joiner or a rejoin by code poked a member, never heard from
/// the host, and timed out ("the host did not answer in time", about one
/// join in fifteen during a match in `play_online_resume`).
fn in_the_room(link: &mut WebRtcLink) -> Result<(), RendezvousError> {
    let deadline = Instant::now() + HOST_SEATED_TIMEOUT;
    loop {
        if link.id().is_some() {
            return Ok(());
        }
        if let Some(exit) = link.exit() {
            return Err(RendezvousError::Link(exit.to_string()));
        }
        if Instant::now() >= deadline {
            return Err(RendezvousError::Link(
                "the server did not seat us in the room".into(),
            ));
        }
        // The link's own thread does the work; this is its poll interval
        // (bounded above by the deadline), on the room-opening thread.
        std::thread::sleep(Duration::from_millis(2));
    }
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
        let mut link = WebRtcLink::connect(&client.room_url(code), webrtc)
            .map_err(|e| RendezvousError::Link(e.to_string()))?;
        in_the_room(&mut link)?;
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

    /// The host's game finished the running resume: seat changes that
    /// waited for it are announced (see `HostMachine::resume_settled`).
    pub fn resume_settled(&mut self) {
        self.machine.resume_settled(Instant::now());
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

    /// Closes the lobby: members get "closed" (during the match, the end
    /// of its control channel) while the link lives on for the game.
    pub fn close(&mut self) {
        self.machine.close(Instant::now());
        self.flush();
    }

    /// The game transport for `plan` over this room's link (the lobby
    /// ends: see [`link`](Self::link) to keep it as the match's control
    /// channel).
    pub fn into_transport(self, plan: &MatchPlan) -> Result<WebRtcTransport, TransportError> {
        WebRtcTransport::from_plan(self.link, plan)
    }

    /// A handle on the room's link for the game transport, while this
    /// shell keeps the lobby running over the link's reliable channel (the
    /// match's control channel: seats vacated and retaken, late joins, new
    /// key epochs, resume messages). One WebRTC connection per peer: the
    /// game reads only the game channel, the lobby only the reliable one.
    pub fn link(&self) -> WebRtcLink {
        self.link.clone()
    }

    /// During the match: sends an encoded resume message from the host's
    /// player to the player at handle `to` (see [`HostMachine::send_resume`]).
    pub fn send_resume(&mut self, to: u16, bytes: Vec<u8>) -> bool {
        let sent = self.machine.send_resume(Instant::now(), to, bytes);
        self.flush();
        sent
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
                    // Forgotten once told: the lobby outlives many peers
                    // during a match (rejoins, late joiners, strangers).
                    if let Some(c) = self.conns.remove(&p) {
                        self.machine.handle_disconnect(now, c);
                        self.flush();
                        self.peers.remove(&c);
                        self.closed.remove(&c);
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
