//! The sans-IO lobby cores with a fake clock: joining, chat, ready, start, and refusals.
//! No sockets, no sleeps: time is an `Instant` the harness moves forward.

mod common;

use std::net::SocketAddr;
use std::time::Instant;

use common::sim::{GAME, HOST_IP, Sim, VER, config, jc, join_error};
use nearplay_matchmaker::lobby::client::{ClientEvent, ClientMachine, JoinConfig, JoinError};
use nearplay_matchmaker::lobby::codec::{FrameDecoder, encode_with_version};
use nearplay_matchmaker::lobby::host::{
    ConnId, HostEvent, HostMachine, HostTransmit, StartRefused,
};
use nearplay_matchmaker::lobby::message::{
    ClientMsg, Hello, HostMsg, PROTOCOL_VERSION, RejectReason,
};
use nearplay_netcode::PeerAddr;

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
        Err(StartRefused::NotReady(vec![
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
        assert_eq!(
            mine.without_secrets(),
            plan.for_member(id as usize).without_secrets()
        );
        assert_eq!(mine.member_secrets.len(), 1, "its own secret only");
        assert!(mine.member_secret().is_some());
        let seat = mine.local_player().expect("seat");
        let want = SocketAddr::new(Sim::peer(id).ip(), 5000 + id as u16);
        assert_eq!(seat.addr, PeerAddr::Udp(want));
        // The lobby stays open as the match's control channel.
        assert!(!sim.client(id).is_done() && sim.client(id).in_match());
    }
    assert!(sim.host.in_match());
    assert!(
        sim.take_host_events()
            .contains(&HostEvent::Started(plan.clone()))
    );
    // A latecomer is turned away.
    sim.join(9, jc("Late", 1));
    assert_eq!(join_error(&sim.take_events(9)), JoinError::AlreadyStarted);
    assert_eq!(sim.host.start(sim.now), Err(StartRefused::NotOpen));
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
    assert!(
        sim.take_host_events()
            .iter()
            .any(|e| matches!(e, HostEvent::GuessFailed { failures: 1, .. }))
    );
    assert_eq!(sim.host.failed_guesses(), 1);
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
    let greeting = HostMsg::Greeting {
        password_required: false,
    };
    client.handle_data(
        Instant::now(),
        &encode_with_version(&greeting, 1).expect("enc"),
    );
    match client.poll_event() {
        Some(ClientEvent::JoinFailed(e)) => {
            let ours = PROTOCOL_VERSION;
            assert_eq!(e, JoinError::VersionMismatch { host: 1, ours });
            assert_eq!(
                e.to_string(),
                format!("host runs protocol 1, you run {ours}")
            );
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
        spectator: false,
        rejoin: None,
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
    let _greeting = frames.next_frame().expect("ok").expect("greeting");
    let reject = frames.next_frame().expect("ok").expect("reject");
    assert_eq!(reject.version, PROTOCOL_VERSION);
    assert_eq!(
        reject.decode::<HostMsg>().expect("body"),
        HostMsg::Reject(RejectReason::Protocol {
            host: PROTOCOL_VERSION
        })
    );
}
