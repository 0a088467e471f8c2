//! The sans-IO lobby cores with a fake clock: every message and failure.
//! No sockets, no sleeps: time is an `Instant` the harness moves forward.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use nearplay_matchmaker::lobby::client::{
    ClientEvent, ClientMachine, ClientTransmit, CloseReason, JoinConfig, JoinError,
};
use nearplay_matchmaker::lobby::codec::{FrameDecoder, encode, encode_with_version};
use nearplay_matchmaker::lobby::host::{
    ConnId, HostConfig, HostEvent, HostMachine, HostTransmit, LeaveReason, StartError,
};
use nearplay_matchmaker::lobby::message::{ClientMsg, Hello, HostMsg, RejectReason};
use nearplay_netcode::PeerAddr;

const GAME: &str = "g";
const VER: &str = "1";
const HOST_IP: [u8; 4] = [192, 168, 1, 1];

/// Two sides joined by perfect in-order links that can be cut.
struct Sim {
    now: Instant,
    host: HostMachine,
    clients: BTreeMap<u64, ClientMachine>,
    host_events: Vec<HostEvent>,
    events: BTreeMap<u64, Vec<ClientEvent>>,
    closed: BTreeSet<u64>,
    cut: BTreeSet<u64>,
    /// Every frame a client wrote (for the password check).
    client_bytes: Vec<u8>,
}

impl Sim {
    fn new(config: HostConfig) -> Self {
        Sim {
            now: Instant::now(),
            host: HostMachine::new(config, [7; 32]),
            clients: BTreeMap::new(),
            host_events: Vec::new(),
            events: BTreeMap::new(),
            closed: BTreeSet::new(),
            cut: BTreeSet::new(),
            client_bytes: Vec::new(),
        }
    }

    fn peer(id: u64) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, id as u8], 40000))
    }

    fn join(&mut self, id: u64, config: JoinConfig) {
        let mut c = ClientMachine::new(config, self.now);
        c.handle_connected(self.now);
        self.clients.insert(id, c);
        let local = SocketAddr::from((HOST_IP, 7000));
        self.host
            .handle_connect(self.now, ConnId(id), Self::peer(id), local);
        self.pump();
    }

    fn client(&mut self, id: u64) -> &mut ClientMachine {
        self.clients.get_mut(&id).expect("client")
    }

    /// Delivers everything queued, until quiet.
    fn pump(&mut self) {
        loop {
            let mut progress = false;
            while let Some(t) = self.host.poll_transmit() {
                progress = true;
                match t {
                    HostTransmit::Send { conn, frame } => {
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

    fn close(&mut self, id: u64) {
        if self.closed.insert(id) && !self.cut.contains(&id) {
            if let Some(c) = self.clients.get_mut(&id) {
                c.handle_disconnected();
            }
            self.host.handle_disconnect(self.now, ConnId(id));
        }
    }

    /// Moves the clock by `d`, firing every timer on the way.
    fn advance(&mut self, d: Duration) {
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

    fn take_events(&mut self, id: u64) -> Vec<ClientEvent> {
        self.events.remove(&id).unwrap_or_default()
    }

    fn take_host_events(&mut self) -> Vec<HostEvent> {
        std::mem::take(&mut self.host_events)
    }
}

fn config() -> HostConfig {
    let mut c = HostConfig::new("Lobby", "Host", GAME, VER);
    c.game_port = 9000;
    c
}

fn jc(name: &str, port: u16) -> JoinConfig {
    JoinConfig::new(name, GAME, VER, port)
}

fn join_error(events: &[ClientEvent]) -> JoinError {
    events
        .iter()
        .find_map(|e| match e {
            ClientEvent::JoinFailed(err) => Some(err.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no JoinFailed in {events:?}"))
}

fn closed_reason(events: &[ClientEvent]) -> CloseReason {
    events
        .iter()
        .find_map(|e| match e {
            ClientEvent::LobbyClosed(r) => Some(r.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no LobbyClosed in {events:?}"))
}

#[test]
fn join_chat_ready_and_start_give_everyone_the_same_plan() {
    let mut sim = Sim::new(config());
    sim.join(1, jc("Ann", 5001));
    sim.join(2, jc("Ann", 5002));
    sim.join(3, jc("Bob", 5003));
    let mut names = Vec::new();
    for id in 1..=3 {
        match sim.take_events(id).first() {
            Some(ClientEvent::Joined {
                name,
                lobby,
                max_players,
                ..
            }) => {
                assert_eq!((lobby.as_str(), *max_players), ("Lobby", 4));
                names.push(name.clone());
            }
            other => panic!("client {id}: {other:?}"),
        }
    }
    assert_eq!(names, ["Ann", "Ann (2)", "Bob"]);
    let joined = sim
        .take_host_events()
        .iter()
        .filter(|e| matches!(e, HostEvent::MemberJoined { .. }))
        .count();
    assert_eq!(joined, 3);

    let now = sim.now;
    sim.client(2).chat(now, "hi\u{7} all");
    sim.pump();
    for id in [1, 3] {
        assert!(sim.take_events(id).contains(&ClientEvent::Chat {
            from: 2,
            name: "Ann (2)".into(),
            text: "hi all".into(),
        }));
    }
    assert!(
        sim.take_host_events()
            .iter()
            .any(|e| matches!(e, HostEvent::Chat { from: 2, .. }))
    );
    sim.host.chat(sim.now, "welcome");
    sim.pump();
    assert!(
        sim.take_events(1)
            .iter()
            .any(|e| matches!(e, ClientEvent::Chat { from: 0, .. }))
    );

    assert_eq!(
        sim.host.start(sim.now),
        Err(StartError::NotReady(vec![
            "Ann".into(),
            "Ann (2)".into(),
            "Bob".into()
        ]))
    );
    for id in 1..=3 {
        let now = sim.now;
        sim.client(id).set_ready(now, true);
    }
    let now = sim.now;
    sim.client(3).set_ready(now, false);
    sim.pump();
    let roster = sim.host.roster();
    assert_eq!(
        roster.iter().map(|m| m.ready).collect::<Vec<_>>(),
        [true, true, true, false]
    );
    let seen_by_1 = sim.take_events(1);
    assert!(matches!(seen_by_1.last(), Some(ClientEvent::RosterChanged(r)) if *r == roster));
    let now = sim.now;
    sim.client(3).set_ready(now, true);
    sim.pump();

    let plan = sim.host.start(sim.now).expect("start");
    sim.pump();
    assert_eq!(plan.players.len(), 4);
    assert_eq!(
        plan.players[0].addr,
        PeerAddr::Udp(SocketAddr::from((HOST_IP, 9000)))
    );
    for id in 1..=3u64 {
        let events = sim.take_events(id);
        let mine = events
            .iter()
            .find_map(|e| match e {
                ClientEvent::Started(p) => Some(p.clone()),
                _ => None,
            })
            .expect("plan");
        assert_eq!(mine, plan.for_member(id as usize));
        let seat = mine.local_player().expect("seat");
        let want = SocketAddr::new(Sim::peer(id).ip(), 5000 + id as u16);
        assert_eq!(seat.addr, PeerAddr::Udp(want));
        assert!(sim.client(id).is_done());
    }
    assert!(
        sim.take_host_events()
            .contains(&HostEvent::Started(plan.clone()))
    );
    // A latecomer is turned away.
    sim.join(9, jc("Late", 1));
    assert_eq!(join_error(&sim.take_events(9)), JoinError::AlreadyStarted);
    assert_eq!(sim.host.start(sim.now), Err(StartError::NotOpen));
}

#[test]
fn passwords_are_proved_never_sent() {
    let mut c = config();
    c.password = Some("hunter2-secret".into());
    let mut sim = Sim::new(c);
    sim.join(1, jc("NoPw", 1));
    assert_eq!(join_error(&sim.take_events(1)), JoinError::PasswordRequired);
    let mut wrong = jc("Wrong", 2);
    wrong.password = Some("nope".into());
    sim.join(2, wrong);
    assert_eq!(join_error(&sim.take_events(2)), JoinError::WrongPassword);
    let mut right = jc("Right", 3);
    right.password = Some("hunter2-secret".into());
    sim.join(3, right);
    assert!(matches!(
        sim.take_events(3).first(),
        Some(ClientEvent::Joined { .. })
    ));
    let needle = b"hunter2-secret";
    assert!(!sim.client_bytes.windows(needle.len()).any(|w| w == needle));
    assert!(sim.take_host_events().iter().any(|e| matches!(
        e,
        HostEvent::Rejected {
            reason: RejectReason::WrongPassword,
            ..
        }
    )));
}

#[test]
fn full_lobby_wrong_game_wrong_version_bad_name() {
    let mut c = config();
    c.max_players = 2;
    let mut sim = Sim::new(c);
    sim.join(1, jc("A", 1));
    sim.join(2, jc("B", 2));
    assert_eq!(join_error(&sim.take_events(2)), JoinError::Full { max: 2 });
    sim.join(3, JoinConfig::new("C", "other", VER, 3));
    assert_eq!(
        join_error(&sim.take_events(3)),
        JoinError::WrongGame {
            host: GAME.into(),
            ours: "other".into()
        }
    );
    sim.join(4, JoinConfig::new("D", GAME, "2", 4));
    let err = join_error(&sim.take_events(4));
    assert_eq!(
        err,
        JoinError::GameVersion {
            host: VER.into(),
            ours: "2".into()
        }
    );
    assert_eq!(err.to_string(), "host runs game version 1, you run 2");
    let mut sim = Sim::new(config());
    sim.join(5, jc(" \u{1}\u{2} ", 5));
    assert_eq!(join_error(&sim.take_events(5)), JoinError::InvalidName);
}

#[test]
fn protocol_version_mismatch_is_explained_on_both_sides() {
    // An old host talks to us.
    let mut client = ClientMachine::new(jc("A", 1), Instant::now());
    client.handle_connected(Instant::now());
    let challenge = HostMsg::Challenge {
        nonce: [0; 32],
        password_required: false,
        lobby_name: "x".into(),
    };
    client.handle_data(
        Instant::now(),
        &encode_with_version(&challenge, 7).expect("enc"),
    );
    match client.poll_event() {
        Some(ClientEvent::JoinFailed(e)) => {
            assert_eq!(e, JoinError::VersionMismatch { host: 7, ours: 1 });
            assert_eq!(e.to_string(), "host runs protocol 7, you run 1");
        }
        other => panic!("{other:?}"),
    }
    // A newer client talks to us: the host answers in its own version.
    let mut host = HostMachine::new(config(), [1; 32]);
    let now = Instant::now();
    let addr = SocketAddr::from(([10, 0, 0, 1], 1));
    host.handle_connect(now, ConnId(1), addr, addr);
    let hello = ClientMsg::Hello(Hello {
        game: GAME.into(),
        game_version: VER.into(),
        name: "new".into(),
        game_port: 1,
        proof: None,
    });
    host.handle_data(
        now,
        ConnId(1),
        &encode_with_version(&hello, 9).expect("enc"),
    );
    let mut frames = FrameDecoder::new();
    let mut saw_close = false;
    while let Some(t) = host.poll_transmit() {
        match t {
            HostTransmit::Send { frame, .. } => frames.push(&frame),
            HostTransmit::Close { .. } => saw_close = true,
        }
    }
    assert!(saw_close);
    let _challenge = frames.next_frame().expect("ok").expect("challenge");
    let reject = frames.next_frame().expect("ok").expect("reject");
    assert_eq!(reject.version, 1);
    assert_eq!(
        reject.decode::<HostMsg>().expect("body"),
        HostMsg::Reject(RejectReason::Protocol { host: 1 })
    );
}

#[test]
fn silent_connection_loses_its_slot_after_the_hello_timeout() {
    let mut sim = Sim::new(config());
    let local = SocketAddr::from((HOST_IP, 7000));
    sim.host
        .handle_connect(sim.now, ConnId(50), Sim::peer(50), local);
    sim.pump();
    sim.advance(Duration::from_millis(2900));
    assert!(!sim.closed.contains(&50));
    sim.advance(Duration::from_millis(200));
    assert!(sim.closed.contains(&50));
    assert!(sim.take_host_events().iter().any(|e| matches!(
        e,
        HostEvent::Rejected {
            reason: RejectReason::HelloTimeout,
            ..
        }
    )));
    // A client whose host never answers gives up too.
    let mut c = ClientMachine::new(jc("A", 1), sim.now);
    c.handle_connected(sim.now);
    c.handle_timeout(sim.now + Duration::from_secs(3));
    assert_eq!(
        c.poll_event(),
        Some(ClientEvent::JoinFailed(JoinError::Timeout))
    );
}

#[test]
fn keepalives_hold_idle_members_and_silence_drops_them() {
    let mut sim = Sim::new(config());
    sim.join(1, jc("A", 1));
    sim.join(2, jc("B", 2));
    sim.advance(Duration::from_secs(30));
    assert_eq!(
        sim.host.roster().len(),
        3,
        "keepalives keep quiet members in"
    );
    // Client 2 vanishes without a FIN: the host drops it after the idle timeout.
    sim.cut.insert(2);
    let cut_at = sim.now;
    sim.advance(Duration::from_secs(3));
    let left = sim.take_host_events().into_iter().find_map(|e| match e {
        HostEvent::MemberLeft { id: 2, reason, .. } => Some(reason),
        _ => None,
    });
    assert_eq!(left, Some(LeaveReason::TimedOut));
    assert_eq!(sim.host.roster().len(), 2);
    // ... and client 2 sees its host gone within 3 s.
    assert_eq!(closed_reason(&sim.take_events(2)), CloseReason::HostGone);
    assert!(sim.now - cut_at <= Duration::from_secs(3));
}

#[test]
fn host_gone_means_lobby_closed_within_3_s() {
    let mut sim = Sim::new(config());
    sim.join(1, jc("A", 1));
    sim.take_events(1);
    sim.cut.insert(1);
    sim.advance(Duration::from_millis(2400));
    assert!(sim.take_events(1).is_empty());
    sim.advance(Duration::from_millis(600));
    assert_eq!(closed_reason(&sim.take_events(1)), CloseReason::HostGone);
    // A connection reset is reported at once.
    let mut sim = Sim::new(config());
    sim.join(1, jc("A", 1));
    sim.take_events(1);
    sim.client(1).handle_disconnected();
    sim.pump();
    assert_eq!(
        closed_reason(&sim.take_events(1)),
        CloseReason::Disconnected
    );
}

#[test]
fn kick_leave_and_close() {
    let mut sim = Sim::new(config());
    for id in 1..=3 {
        sim.join(id, jc(&format!("P{id}"), id as u16));
        sim.take_events(id);
    }
    assert!(sim.host.kick(sim.now, 1));
    assert!(!sim.host.kick(sim.now, 0), "the host cannot kick itself");
    sim.pump();
    assert_eq!(closed_reason(&sim.take_events(1)), CloseReason::Kicked);
    let now = sim.now;
    sim.client(2).leave(now);
    sim.pump();
    assert_eq!(closed_reason(&sim.take_events(2)), CloseReason::Left);
    let reasons: Vec<LeaveReason> = sim
        .take_host_events()
        .into_iter()
        .filter_map(|e| match e {
            HostEvent::MemberLeft { reason, .. } => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, [LeaveReason::Kicked, LeaveReason::Left]);
    let events3 = sim.take_events(3);
    assert!(matches!(events3.last(), Some(ClientEvent::RosterChanged(r)) if r.len() == 2));
    sim.host.close(sim.now);
    sim.pump();
    assert_eq!(closed_reason(&sim.take_events(3)), CloseReason::HostClosed);
    assert!(sim.take_host_events().contains(&HostEvent::Closed));
}

#[test]
fn protocol_errors_drop_the_member_not_the_lobby() {
    let mut sim = Sim::new(config());
    sim.join(1, jc("A", 1));
    sim.join(2, jc("B", 2));
    // Garbage frame body from member 1.
    sim.host
        .handle_data(sim.now, ConnId(1), &[0, 0, 0, 3, 0, 1, 0xff]);
    sim.pump();
    assert!(sim.take_host_events().iter().any(|e| matches!(
        e,
        HostEvent::MemberLeft {
            id: 1,
            reason: LeaveReason::ProtocolError(_),
            ..
        }
    )));
    // An oversized length prefix from member 2.
    sim.host
        .handle_data(sim.now, ConnId(2), &[0xff, 0xff, 0xff, 0xff]);
    sim.pump();
    assert_eq!(sim.host.roster().len(), 1);
    // A second hello is a protocol error too.
    sim.join(3, jc("C", 3));
    let hello = ClientMsg::Hello(Hello {
        game: GAME.into(),
        game_version: VER.into(),
        name: "again".into(),
        game_port: 1,
        proof: None,
    });
    sim.host
        .handle_data(sim.now, ConnId(3), &encode(&hello).expect("enc"));
    sim.pump();
    assert_eq!(sim.host.roster().len(), 1);
    // The host hears no more from closed connections.
    sim.host.handle_data(
        sim.now,
        ConnId(3),
        &encode(&ClientMsg::Chat("x".into())).expect("e"),
    );
    sim.pump();
    assert!(
        !sim.take_host_events()
            .iter()
            .any(|e| matches!(e, HostEvent::Chat { .. }))
    );
}

#[test]
fn loopback_members_get_the_hosts_lan_address_in_the_plan() {
    let mut sim = Sim::new(config());
    let mut c = ClientMachine::new(jc("Local", 6000), sim.now);
    c.handle_connected(sim.now);
    sim.clients.insert(1, c);
    let lo = SocketAddr::from(([127, 0, 0, 1], 40000));
    sim.host.handle_connect(
        sim.now,
        ConnId(1),
        lo,
        SocketAddr::from(([127, 0, 0, 1], 7000)),
    );
    sim.join(2, jc("Remote", 6001));
    sim.pump();
    for id in [1, 2] {
        let now = sim.now;
        sim.client(id).set_ready(now, true);
    }
    sim.pump();
    let plan = sim.host.start(sim.now).expect("start");
    let lan = IpAddr::from(HOST_IP);
    assert_eq!(
        plan.players[0].addr,
        PeerAddr::Udp(SocketAddr::new(lan, 9000))
    );
    assert_eq!(
        plan.players[1].addr,
        PeerAddr::Udp(SocketAddr::new(lan, 6000))
    );
}
