//! Spectators of a real match: 2 players play GGRS over authenticated UDP on
//! loopback while their game sockets also carry the spectator stream to 3
//! relay-fed spectators of the plan (k = 1, so one spectator relays). Every
//! spectator re-simulates the game from the confirmed inputs alone and
//! reaches the players' checksum at frame 1200.

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::{GameCfg, GameState, input_for, loopback_socket, udp_plan};
use ggrs::{GgrsRequest, InputStatus, P2PSession, SessionState};
use nearplay_netcode::prelude::*;
use nearplay_netcode::spectate::{
    FrameShape, InputFeed, RelayTree, SpectateConfig, SpectateNode, SpectateSocket,
};

const FRAMES: u32 = 1200;

struct Player {
    handle: usize,
    session: P2PSession<GameCfg>,
    game: GameState,
    feed: InputFeed,
    node: SpectateNode,
    socket: SpectateSocket,
    checksum_at_goal: Option<u128>,
}

impl Player {
    fn tick(&mut self, seed: u64) {
        self.session.poll_remote_clients();
        if self.session.current_state() == SessionState::Running {
            let input = input_for(seed, self.handle, self.session.current_frame());
            self.session.add_local_input(self.handle, input).unwrap();
            if let Ok(requests) = self.session.advance_frame() {
                for r in requests {
                    match r {
                        GgrsRequest::SaveGameState { cell, frame } => {
                            cell.save(frame, Some(self.game), Some(self.game.checksum()));
                        }
                        GgrsRequest::LoadGameState { cell, .. } => {
                            self.game = cell.load().unwrap();
                        }
                        GgrsRequest::AdvanceFrame { inputs } => {
                            let bytes: Vec<u8> = inputs.iter().map(|(i, _)| *i).collect();
                            self.feed.record(self.game.frame as u32, &bytes).unwrap();
                            self.game.advance(&inputs);
                            if self.game.frame as u32 == FRAMES {
                                self.checksum_at_goal = Some(self.game.checksum());
                            }
                        }
                    }
                }
            }
        }
        let confirmed = self.session.confirmed_frame();
        if confirmed >= 0 {
            self.feed.confirm(confirmed as u32, &mut self.node).unwrap();
        }
        self.socket.pump(&mut self.node, Instant::now());
    }
}

#[test]
fn spectators_of_a_real_match_reach_the_players_checksum() {
    let seed = 1414;
    let shape = FrameShape::new(2, 1).unwrap();
    let player_sockets: Vec<UdpSocket> = (0..2).map(|_| loopback_socket()).collect();
    let spectator_sockets: Vec<UdpSocket> = (0..3).map(|_| loopback_socket()).collect();
    let addrs: Vec<_> = player_sockets
        .iter()
        .map(|s| s.local_addr().unwrap())
        .collect();
    let mut plan = udp_plan(&addrs, seed, 0);
    plan.spectators = spectator_sockets
        .iter()
        .enumerate()
        .map(|(i, s)| {
            PlanSpectator::relayed(
                2 + i,
                format!("s{i}"),
                PeerAddr::Udp(s.local_addr().unwrap()),
            )
        })
        .collect();
    plan.validate(&PlanLimits::default()).unwrap();
    let tree = RelayTree::from_plan(&plan, 1).unwrap();
    assert_eq!(tree.parent(4), Some(2), "spectator 2 relays to 4");
    let config = SpectateConfig::with_fanout(1);
    let now = Instant::now();
    let node = |h: u16| SpectateNode::new(h, tree.clone(), shape, config.clone(), now).unwrap();

    let mut players: Vec<Player> = player_sockets
        .into_iter()
        .enumerate()
        .map(|(h, socket)| {
            let mine = plan.for_member(h);
            let mut transport = UdpTransport::from_plan(socket, &mine).unwrap();
            let port = transport.spectate_port().unwrap();
            let (session, _) = NetSessionBuilder::<GameCfg>::from_plan(&mine)
                .build_monitored(transport)
                .unwrap();
            Player {
                handle: h,
                session,
                game: GameState::default(),
                feed: InputFeed::new(shape),
                node: node(h as u16),
                socket: SpectateSocket::from_plan(port, &mine, shape, config.max_frames).unwrap(),
                checksum_at_goal: None,
            }
        })
        .collect();
    let mut spectators: Vec<(SpectateNode, SpectateSocket)> = spectator_sockets
        .into_iter()
        .enumerate()
        .map(|(i, socket)| {
            let mine = plan.for_member(2 + i);
            let s = SpectateSocket::from_plan(socket, &mine, shape, config.max_frames).unwrap();
            (node(2 + i as u16), s)
        })
        .collect();

    let deadline = Instant::now() + Duration::from_secs(60);
    let done = |players: &[Player], spectators: &[(SpectateNode, SpectateSocket)]| {
        players.iter().all(|p| p.feed.next_frame() > FRAMES)
            && spectators.iter().all(|(n, _)| n.history().len() >= FRAMES)
    };
    while !done(&players, &spectators) {
        assert!(
            Instant::now() < deadline,
            "the match or its spectators stalled"
        );
        for p in &mut players {
            p.tick(seed);
        }
        for (node, socket) in &mut spectators {
            socket.pump(node, Instant::now());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let want = players[0].checksum_at_goal.unwrap();
    assert_eq!(players[1].checksum_at_goal, Some(want));
    for (i, (node, _)) in spectators.iter().enumerate() {
        let mut game = GameState::default();
        for f in 0..FRAMES {
            let inputs: Vec<(u8, InputStatus)> = node
                .history()
                .frame(f)
                .unwrap()
                .iter()
                .map(|b| (*b, InputStatus::Confirmed))
                .collect();
            game.advance(&inputs);
        }
        assert_eq!(
            game.checksum(),
            want,
            "spectator {} re-simulated another match",
            2 + i
        );
    }
    // The game traffic went through: the spectate datagrams did not reach GGRS.
    assert!(players.iter().all(|p| p.socket.bytes_sent() > 0));
}
