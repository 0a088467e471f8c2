//! [`OnlineClient`]: a member's shell of a lobby in a rendezvous room (see
//! the parent module for the design).

use std::collections::BTreeSet;
use std::time::Instant;

use nearplay_netcode::transport::webrtc::{
    PeerChange, RELIABLE_CHANNEL, WebRtcConfig, WebRtcLink, WebRtcTransport,
};
use nearplay_netcode::{MatchPlan, TransportError};

use super::{HOST_CONTACT_TIMEOUT, ONLINE_HELLO_TIMEOUT, POKE, ServerGone, to_webrtc_plan};
use crate::lobby::client::{ClientEvent, ClientMachine, ClientTransmit, JoinConfig, JoinError};
use crate::rendezvous::client::poke::PokeSchedule;
use crate::rendezvous::client::{RendezvousClient, RendezvousError};
use crate::rendezvous::code::RoomCode;

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

    /// Says goodbye to the host (during the match: our seat is vacated at
    /// once, not when the host's keepalive runs out).
    pub fn leave(&mut self) {
        if let Some(m) = self.machine.as_mut() {
            m.leave(Instant::now());
        }
        self.flush();
    }

    /// The game transport for `plan` over this room's link (the lobby
    /// ends: see [`link`](Self::link) to keep it as the match's control
    /// channel).
    pub fn into_transport(self, plan: &MatchPlan) -> Result<WebRtcTransport, TransportError> {
        WebRtcTransport::from_plan(self.link, plan)
    }

    /// A handle on the room's link for the game transport, while this
    /// shell keeps the lobby running over the link's reliable channel
    /// (see [`OnlineHost::link`](super::OnlineHost::link)).
    pub fn link(&self) -> WebRtcLink {
        self.link.clone()
    }

    /// During the match: sends an encoded resume message to the player at
    /// handle `to` through the host (see [`ClientMachine::send_resume`]).
    pub fn send_resume(&mut self, to: u16, bytes: Vec<u8>) {
        if let Some(m) = self.machine.as_mut() {
            m.send_resume(Instant::now(), to, bytes);
        }
        self.flush();
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
