//! A fake network for the sans-IO lobby cores: perfect in-order links that
//! can be cut, and a clock that only moves when the test says so.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use nearplay_matchmaker::lobby::client::{
    ClientEvent, ClientMachine, ClientTransmit, CloseReason, JoinConfig, JoinError,
};
use nearplay_matchmaker::lobby::host::{ConnId, HostConfig, HostEvent, HostMachine, HostTransmit};

pub const GAME: &str = "g";
pub const VER: &str = "1";
pub const HOST_IP: [u8; 4] = [192, 168, 1, 1];

/// Two sides joined by perfect in-order links that can be cut.
pub struct Sim {
    pub now: Instant,
    pub host: HostMachine,
    pub clients: BTreeMap<u64, ClientMachine>,
    pub host_events: Vec<HostEvent>,
    pub events: BTreeMap<u64, Vec<ClientEvent>>,
    pub closed: BTreeSet<u64>,
    pub cut: BTreeSet<u64>,
    /// Every frame a client wrote (what a listener sees of that direction).
    pub client_bytes: Vec<u8>,
    /// Every frame the host wrote.
    pub host_bytes: Vec<u8>,
}

impl Sim {
    pub fn new(config: HostConfig) -> Self {
        Sim {
            now: Instant::now(),
            host: HostMachine::new(config, [7; 32]),
            clients: BTreeMap::new(),
            host_events: Vec::new(),
            events: BTreeMap::new(),
            closed: BTreeSet::new(),
            cut: BTreeSet::new(),
            client_bytes: Vec::new(),
            host_bytes: Vec::new(),
        }
    }

    pub fn peer(id: u64) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, id as u8], 40000))
    }

    pub fn join(&mut self, id: u64, config: JoinConfig) {
        self.join_from(id, Self::peer(id), config);
    }

    /// Joins as connection `id` from address `peer`.
    pub fn join_from(&mut self, id: u64, peer: SocketAddr, config: JoinConfig) {
        let mut c = ClientMachine::new(config, self.now);
        c.handle_connected(self.now);
        self.clients.insert(id, c);
        let local = SocketAddr::from((HOST_IP, 7000));
        self.host.handle_connect(self.now, ConnId(id), peer, local);
        self.pump();
    }

    pub fn client(&mut self, id: u64) -> &mut ClientMachine {
        self.clients.get_mut(&id).expect("client")
    }

    /// Delivers everything queued, until quiet.
    pub fn pump(&mut self) {
        loop {
            let mut progress = false;
            while let Some(t) = self.host.poll_transmit() {
                progress = true;
                match t {
                    HostTransmit::Send { conn, frame } => {
                        self.host_bytes.extend_from_slice(&frame);
                        if !self.cut.contains(&conn.0) && !self.closed.contains(&conn.0) {
                            if let Some(c) = self.clients.get_mut(&conn.0) {
                                c.handle_data(self.now, &frame);
                            }
                        }
                    }
                    HostTransmit::Close { conn } => self.close(conn.0),
                }
            }
            let ids: Vec<u64> = self.clients.keys().copied().collect();
            for id in ids {
                while let Some(t) = self.client(id).poll_transmit() {
                    progress = true;
                    match t {
                        ClientTransmit::Send(frame) => {
                            self.client_bytes.extend_from_slice(&frame);
                            if !self.cut.contains(&id) && !self.closed.contains(&id) {
                                self.host.handle_data(self.now, ConnId(id), &frame);
                            }
                        }
                        ClientTransmit::Close => self.close(id),
                    }
                }
                while let Some(e) = self.client(id).poll_event() {
                    self.events.entry(id).or_default().push(e);
                }
            }
            while let Some(e) = self.host.poll_event() {
                self.host_events.push(e);
            }
            if !progress {
                return;
            }
        }
    }

    pub fn close(&mut self, id: u64) {
        if self.closed.insert(id) && !self.cut.contains(&id) {
            if let Some(c) = self.clients.get_mut(&id) {
                c.handle_disconnected();
            }
            self.host.handle_disconnect(self.now, ConnId(id));
        }
    }

    /// Moves the clock by `d`, firing every timer on the way.
    pub fn advance(&mut self, d: Duration) {
        let target = self.now + d;
        loop {
            let next = self
                .clients
                .values()
                .filter_map(ClientMachine::poll_timeout)
                .chain(self.host.poll_timeout())
                .min();
            match next {
                Some(t) if t <= target => {
                    self.now = self.now.max(t);
                    self.host.handle_timeout(self.now);
                    for c in self.clients.values_mut() {
                        c.handle_timeout(self.now);
                    }
                    self.pump();
                }
                _ => break,
            }
        }
        self.now = target;
    }

    pub fn take_events(&mut self, id: u64) -> Vec<ClientEvent> {
        self.events.remove(&id).unwrap_or_default()
    }

    pub fn take_host_events(&mut self) -> Vec<HostEvent> {
        std::mem::take(&mut self.host_events)
    }
}

pub fn config() -> HostConfig {
    let mut c = HostConfig::new("Lobby", "Host", GAME, VER);
    c.game_port = 9000;
    c
}

pub fn jc(name: &str, port: u16) -> JoinConfig {
    JoinConfig::new(name, GAME, VER, port)
}

pub fn join_error(events: &[ClientEvent]) -> JoinError {
    events
        .iter()
        .find_map(|e| match e {
            ClientEvent::JoinFailed(err) => Some(err.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no JoinFailed in {events:?}"))
}

pub fn closed_reason(events: &[ClientEvent]) -> CloseReason {
    events
        .iter()
        .find_map(|e| match e {
            ClientEvent::LobbyClosed(r) => Some(r.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no LobbyClosed in {events:?}"))
}

/// The plan a member's events carry, if its match started.
pub fn plan_of(events: &[ClientEvent]) -> Option<nearplay_netcode::MatchPlan> {
    events.iter().find_map(|e| match e {
        ClientEvent::Started(p) => Some(p.clone()),
        _ => None,
    })
}

/// The key epochs a member's events announce, in order.
pub fn rekeys(events: &[ClientEvent]) -> Vec<u32> {
    events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Rekeyed { epoch, .. } => Some(*epoch),
            _ => None,
        })
        .collect()
}
