//! A swarm of spectate sockets on loopback (players and spectators), for the
//! UDP test and the `spectate` benches (UDP here, WebRTC in
//! `matchmaker/benches/spectate_webrtc.rs`, which brings its own ports).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use nearplay_netcode::spectate::{
    FrameShape, RelayTree, SpectateConfig, SpectateMember, SpectateNode, SpectatePort,
    SpectateSocket,
};
use nearplay_netcode::{MatchId, MatchKey, PeerAddr};

/// Player `p`'s input at frame `f` (2 bytes, as the demo's).
pub fn input(f: u32, p: usize) -> [u8; 2] {
    let x = f.wrapping_mul(2_654_435_761).rotate_left(p as u32 * 7 + 3);
    [x as u8, (x >> 8) as u8]
}

/// The inputs of every player at frame `f`.
pub fn frame(f: u32, players: usize) -> Vec<u8> {
    (0..players).flat_map(|p| input(f, p)).collect()
}

/// One member: its node and its socket.
pub struct Member {
    pub node: SpectateNode,
    pub socket: SpectateSocket,
}

/// Players (handles `0..players`) and spectators (handles after them).
pub struct Swarm {
    pub players: usize,
    pub members: BTreeMap<u16, Member>,
    pub next_frame: u32,
}

impl Swarm {
    /// Binds every member on loopback and builds its node, fanout `k`.
    pub fn new(players: usize, spectators: usize, k: usize, key: &MatchKey) -> Swarm {
        let ports = (0..players + spectators)
            .map(|_| {
                let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
                (socket.local_addr().unwrap().into(), socket.into())
            })
            .collect();
        Swarm::with_ports(players, ports, k, key)
    }

    /// The members at `ports` (handle = index: players first), each with the
    /// address the others reach it at, fanout `k`.
    pub fn with_ports(
        players: usize,
        ports: Vec<(PeerAddr, SpectatePort)>,
        k: usize,
        key: &MatchKey,
    ) -> Swarm {
        let total = ports.len();
        let roster: Vec<SpectateMember> = ports
            .iter()
            .enumerate()
            .map(|(h, (addr, _))| SpectateMember {
                handle: h as u16,
                addr: *addr,
            })
            .collect();
        let player_handles: Vec<u16> = (0..players as u16).collect();
        let spectator_handles: Vec<u16> = (players as u16..total as u16).collect();
        let tree = RelayTree::new(&player_handles, &spectator_handles, k).unwrap();
        let shape = FrameShape::new(players, 2).unwrap();
        let now = Instant::now();
        let members = ports
            .into_iter()
            .enumerate()
            .map(|(h, (_, s))| {
                let h = h as u16;
                let config = SpectateConfig::with_fanout(k);
                let max = config.max_frames;
                let node = SpectateNode::new(h, tree.clone(), shape, config, now).unwrap();
                let socket =
                    SpectateSocket::new(s, h, &roster, MatchId(42), key, shape, max).unwrap();
                (h, Member { node, socket })
            })
            .collect();
        Swarm {
            players,
            members,
            next_frame: 0,
        }
    }

    /// Every player confirms the next frame.
    pub fn confirm_frame(&mut self) {
        let f = self.next_frame;
        let inputs = frame(f, self.players);
        for h in 0..self.players as u16 {
            if let Some(m) = self.members.get_mut(&h) {
                m.node.push_confirmed(f, &inputs).unwrap();
            }
        }
        self.next_frame += 1;
    }

    /// Every player says the match ended.
    pub fn end(&mut self) {
        let f = self.next_frame;
        for h in 0..self.players as u16 {
            if let Some(m) = self.members.get_mut(&h) {
                m.node.end(f);
            }
        }
    }

    /// One turn of every member's shell.
    pub fn pump(&mut self) {
        let now = Instant::now();
        for m in self.members.values_mut() {
            m.socket.pump(&mut m.node, now);
        }
    }

    /// The spectators' handles.
    pub fn spectators(&self) -> Vec<u16> {
        self.members
            .keys()
            .copied()
            .filter(|h| usize::from(*h) >= self.players)
            .collect()
    }

    /// Plays `frames` frames, one every `period`, pumping about every
    /// millisecond; `at_frame` is called before each frame is confirmed.
    /// Returns the spectators' delay: the sum over every (spectator, frame)
    /// of the time from the players confirming the frame to the spectator
    /// holding it, and the number of such pairs.
    pub fn play(
        &mut self,
        frames: u32,
        period: Duration,
        mut at_frame: impl FnMut(&mut Swarm, u32),
    ) -> (Duration, u64) {
        let start = Instant::now();
        let mut confirmed_at: Vec<Instant> = Vec::new();
        let mut held: BTreeMap<u16, u32> = BTreeMap::new();
        let (mut delay, mut pairs) = (Duration::ZERO, 0u64);
        let mut measure = |swarm: &Swarm, confirmed_at: &[Instant]| {
            let now = Instant::now();
            for h in swarm.spectators() {
                let len = swarm.members.get(&h).map_or(0, |m| m.node.history().len());
                let before = held.insert(h, len).unwrap_or(0);
                for f in before..len {
                    if let Some(at) = confirmed_at.get(f as usize) {
                        delay += now.saturating_duration_since(*at);
                        pairs += 1;
                    }
                }
            }
        };
        while self.next_frame < frames {
            let due = start + period * self.next_frame;
            while Instant::now() < due {
                self.pump();
                measure(self, &confirmed_at);
                std::thread::sleep(Duration::from_micros(500));
            }
            let f = self.next_frame;
            at_frame(self, f);
            self.confirm_frame();
            confirmed_at.push(Instant::now());
            self.pump();
            measure(self, &confirmed_at);
        }
        self.end();
        (delay, pairs)
    }

    /// Pumps until every spectator has the whole match, or `deadline`.
    pub fn finish(&mut self, deadline: Duration) -> bool {
        let until = Instant::now() + deadline;
        while Instant::now() < until {
            self.pump();
            if self
                .spectators()
                .iter()
                .all(|h| self.members.get(h).is_some_and(|m| m.node.is_complete()))
            {
                return true;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        false
    }
}
