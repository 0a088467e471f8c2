//! Resume messages (rejoin, late join) through the lobby's control channel
//! against hostile members and hosts, sans-IO: the host relays a valid
//! one by player handle and takes its own; garbage, a message before the
//! match or from a spectator ends the sender's connection and reaches no
//! one; a flood is cut at the per-member rate; a fake host's oversized or
//! impossible resume message ends a member's channel (the fuzz target
//! `lobby_in_match` runs these paths with libFuzzer).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Instant;

use nearplay_matchmaker::lobby::client::{
    ClientEvent, ClientMachine, ClientTransmit, CloseReason, JoinConfig,
};
use nearplay_matchmaker::lobby::codec::{FrameDecoder, encode};
use nearplay_matchmaker::lobby::host::{
    ConnId, HostConfig, HostEvent, HostMachine, HostTransmit, RESUME_RATE,
};
use nearplay_matchmaker::lobby::message::{
    ClientMsg, Hello, HostMsg, MAX_LOBBY_RESUME_BYTES, RosterEntry,
};
use nearplay_matchmaker::lobby::rng::SeededRng;
use nearplay_matchmaker::lobby::secure::{Channel, JoinerHandshake, answer_offer};
use nearplay_netcode::resume::{
    MAX_STATE_BYTES, ResumeAction, ResumeConfig, ResumeMachine, ResumeMessage,
};
use nearplay_netcode::{MatchId, MatchKey, MatchPlan, NetSettings, PeerAddr, PlanPlayer};

fn synced() -> Vec<u8> {
    ResumeMessage::Synced { epoch: 1 }.encode().expect("encode")
}

/// The fake members' side of the host's connections: each conn's channel
/// opens every frame the host writes to it, in order.
#[derive(Default)]
struct Members {
    chans: BTreeMap<ConnId, Channel>,
    closed: Vec<ConnId>,
}

impl Members {
    /// What the host wrote since the last call: (conn, message) in order.
    fn pump(&mut self, host: &mut HostMachine) -> Vec<(ConnId, HostMsg)> {
        let mut decoders: BTreeMap<ConnId, FrameDecoder> = BTreeMap::new();
        while let Some(t) = host.poll_transmit() {
            match t {
                HostTransmit::Send { conn, frame } => {
                    decoders.entry(conn).or_default().push(&frame);
                }
                HostTransmit::Close { conn } => self.closed.push(conn),
            }
        }
        let mut out = Vec::new();
        for (conn, mut d) in decoders {
            while let Ok(Some(frame)) = d.next_frame() {
                if let Some(ch) = self.chans.get_mut(&conn)
                    && let Ok(msg) = ch.open::<HostMsg>(&frame)
                {
                    out.push((conn, msg));
                }
            }
        }
        out
    }

    fn send(&mut self, host: &mut HostMachine, now: Instant, conn: ConnId, msg: &ClientMsg) {
        let ch = self.chans.get_mut(&conn).expect("a member's channel");
        if let Ok(frame) = ch.seal(msg) {
            host.handle_data(now, conn, &frame);
        }
    }

    /// A fake member on `conn` (key exchange, hello, ready).
    fn join(
        &mut self,
        host: &mut HostMachine,
        now: Instant,
        conn: ConnId,
        ip: u8,
        spectator: bool,
    ) {
        let peer = SocketAddr::from(([10, 0, 0, ip], 40000));
        host.handle_connect(now, conn, peer, SocketAddr::from(([10, 0, 0, 1], 7000)));
        self.pump(host);
        let seed = [ip; 32];
        let (hs, offer) = JoinerHandshake::start(&mut SeededRng::new(seed), None).expect("offer");
        host.handle_data(now, conn, &encode(&ClientMsg::Offer(offer)).expect("enc"));
        let mut d = FrameDecoder::new();
        while let Some(t) = host.poll_transmit() {
            if let HostTransmit::Send { frame, .. } = t {
                d.push(&frame);
            }
        }
        let frame = d.next_frame().expect("frame").expect("whole");
        let Ok(HostMsg::Answer(answer)) = frame.decode() else {
            panic!("expected an answer");
        };
        self.chans
            .insert(conn, hs.finish(&answer).expect("channel"));
        let hello = Hello {
            game: "g".into(),
            game_version: "1".into(),
            name: format!("M{ip}"),
            game_port: 5000,
            spectator,
            rejoin: None,
        };
        self.send(host, now, conn, &ClientMsg::Hello(hello));
        self.send(host, now, conn, &ClientMsg::SetReady(true));
        self.pump(host);
    }
}

/// A host (handle 0) with players on conns 1 and 2 (handles 1 and 2) and
/// a spectator on conn 3, in a running match.
fn host_in_match(now: Instant) -> (HostMachine, Members) {
    let mut host = HostMachine::new(HostConfig::new("L", "H", "g", "1"), [1; 32]);
    let mut m = Members::default();
    m.join(&mut host, now, ConnId(1), 2, false);
    m.join(&mut host, now, ConnId(2), 3, false);
    m.join(&mut host, now, ConnId(3), 4, true);
    host.start(now).expect("start");
    m.pump(&mut host);
    while host.poll_event().is_some() {}
    (host, m)
}

/// The resume messages among `msgs` for `to`.
fn resumes_to(msgs: &[(ConnId, HostMsg)], to: ConnId) -> Vec<(u16, Vec<u8>)> {
    msgs.iter()
        .filter_map(|(c, m)| match m {
            HostMsg::Resume { from, bytes } if *c == to => Some((*from, bytes.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn the_host_relays_a_resume_message_by_handle_and_takes_its_own() {
    let now = Instant::now();
    let (mut host, mut m) = host_in_match(now);
    let to_two = ClientMsg::Resume {
        to: 2,
        bytes: synced(),
    };
    m.send(&mut host, now, ConnId(1), &to_two);
    let sent = m.pump(&mut host);
    assert!(m.closed.is_empty());
    assert_eq!(
        resumes_to(&sent, ConnId(2)),
        [(1, synced())],
        "handle 2 gets it, named as from handle 1"
    );
    let to_host = ClientMsg::Resume {
        to: 0,
        bytes: synced(),
    };
    m.send(&mut host, now, ConnId(2), &to_host);
    let got: Vec<HostEvent> = std::iter::from_fn(|| host.poll_event()).collect();
    assert!(
        got.iter()
            .any(|e| matches!(e, HostEvent::Resume { from: 2, bytes } if *bytes == synced())),
        "{got:?}"
    );
    assert!(
        host.send_resume(now, 1, synced()),
        "the host's own to handle 1"
    );
    let sent = m.pump(&mut host);
    assert_eq!(resumes_to(&sent, ConnId(1)), [(0, synced())]);
}

#[test]
fn garbage_or_a_spectators_resume_message_ends_its_sender_and_reaches_no_one() {
    let now = Instant::now();
    let attacks: Vec<(usize, ClientMsg)> = vec![
        // Bytes that are no resume message.
        (
            0,
            ClientMsg::Resume {
                to: 2,
                bytes: vec![0xff; 40],
            },
        ),
        // A valid version byte and a cut body.
        (
            0,
            ClientMsg::Resume {
                to: 2,
                bytes: synced()[..1].to_vec(),
            },
        ),
        // Over the lobby's bound (the seal refuses it, so sent as is).
        (
            0,
            ClientMsg::Resume {
                to: 2,
                bytes: vec![1; MAX_LOBBY_RESUME_BYTES + 1],
            },
        ),
        // A spectator has no seat to speak for.
        (
            2,
            ClientMsg::Resume {
                to: 1,
                bytes: synced(),
            },
        ),
    ];
    for (who, msg) in attacks {
        let (mut host, mut m) = host_in_match(now);
        let conn = ConnId(who as u64 + 1);
        let Ok(frame) = m.chans.get_mut(&conn).expect("channel").seal(&msg) else {
            // Too large to seal: no channel carries it.
            assert!(
                matches!(&msg, ClientMsg::Resume { bytes, .. } if bytes.len() > MAX_LOBBY_RESUME_BYTES)
            );
            continue;
        };
        host.handle_data(now, conn, &frame);
        let sent = m.pump(&mut host);
        assert_eq!(m.closed, [conn], "the sender's connection ends");
        for c in [ConnId(1), ConnId(2)] {
            assert!(resumes_to(&sent, c).is_empty());
        }
        assert!(
            !std::iter::from_fn(|| host.poll_event())
                .any(|e| matches!(e, HostEvent::Resume { .. }))
        );
    }
}

#[test]
fn a_resume_flood_is_cut_at_the_member_rate() {
    let now = Instant::now();
    let (mut host, mut m) = host_in_match(now);
    let before = host.rate_limited();
    let msg = ClientMsg::Resume {
        to: 2,
        bytes: synced(),
    };
    let mut relayed = 0;
    for _ in 0..1000 {
        m.send(&mut host, now, ConnId(1), &msg);
        relayed += resumes_to(&m.pump(&mut host), ConnId(2)).len();
    }
    assert!(m.closed.is_empty());
    assert_eq!(relayed, RESUME_RATE.burst as usize);
    assert_eq!(host.rate_limited() - before, 1000 - relayed as u64);
}

#[test]
fn the_largest_state_crosses_the_relay_in_parts_after_a_long_agreement() {
    let now = Instant::now();
    let (mut host, mut m) = host_in_match(now);
    // Handle 1 coordinates, handle 2 is the newcomer.
    let coordinator =
        ResumeMachine::new(1, 1, [1], [2], ResumeConfig::default(), now).expect("machine");
    let mut newcomer =
        ResumeMachine::new(1, 2, [1], [2], ResumeConfig::default(), now).expect("machine");
    let state: Vec<u8> = (0..MAX_STATE_BYTES).map(|i| (i % 253) as u8).collect();
    let parts = coordinator
        .state_messages(300, state.clone())
        .expect("parts");
    assert!(parts.len() > 1, "a 1 MiB state is cut");
    // The coordinator's agreement first at its longest (8 rounds' proposals
    // to two other survivors, two commits), then the parts.
    let mut sent = 0;
    let mut relayed = Vec::new();
    for msg in std::iter::repeat_n(ResumeMessage::Synced { epoch: 1 }, 18).chain(parts) {
        let bytes = msg.encode().expect("encodes");
        assert!(bytes.len() <= MAX_LOBBY_RESUME_BYTES);
        m.send(
            &mut host,
            now,
            ConnId(1),
            &ClientMsg::Resume { to: 2, bytes },
        );
        sent += 1;
        relayed.extend(resumes_to(&m.pump(&mut host), ConnId(2)));
    }
    assert!(m.closed.is_empty());
    assert_eq!(relayed.len(), sent, "nothing rate-limited");
    for (from, bytes) in relayed.into_iter().skip(18) {
        let msg = ResumeMessage::decode(&bytes).expect("decodes");
        newcomer.handle(now, from, msg).expect("part accepted");
    }
    match newcomer.poll() {
        Some(ResumeAction::Load(point)) => {
            assert_eq!((point.frame, point.state), (300, state));
        }
        other => panic!("no state loaded: {other:?}"),
    }
}

/// A member of a match started by a fake host; the fake host's channel.
fn member_in_match(now: Instant) -> (ClientMachine, Channel) {
    let mut c = ClientMachine::with_seed(JoinConfig::new("Ann", "g", "1", 5001), now, [4; 32]);
    c.handle_connected(now);
    let greeting = HostMsg::Greeting {
        password_required: false,
    };
    c.handle_data(now, &encode(&greeting).expect("enc"));
    let mut d = FrameDecoder::new();
    while let Some(ClientTransmit::Send(b)) = c.poll_transmit() {
        d.push(&b);
    }
    let Ok(ClientMsg::Offer(offer)) = d.next_frame().expect("frame").expect("whole").decode()
    else {
        panic!("expected an offer");
    };
    let (mut ch, answer) =
        answer_offer(&mut SeededRng::new([3; 32]), None, &offer).expect("answer");
    c.handle_data(now, &encode(&HostMsg::Answer(answer)).expect("enc"));
    let roster: Vec<RosterEntry> = [(0u32, "Bo", 7u8), (1, "Ann", 20)]
        .into_iter()
        .map(|(id, name, last)| RosterEntry {
            id,
            name: name.into(),
            ready: true,
            game_addr: SocketAddr::from(([192, 168, 1, last], 5001)),
            spectator: false,
            vacant: false,
        })
        .collect();
    let plan = MatchPlan {
        match_id: MatchId(5),
        seed: 6,
        players: roster
            .iter()
            .map(|m| PlanPlayer {
                handle: m.id as usize,
                name: m.name.clone(),
                addr: PeerAddr::Udp(m.game_addr),
            })
            .collect(),
        spectators: Vec::new(),
        key: MatchKey([9; 32]),
        key_epoch: 0,
        member_secrets: Default::default(),
        settings: NetSettings::default(),
        local_handle: 1,
    };
    let welcome = HostMsg::Welcome {
        you: 1,
        lobby_name: "Fake".into(),
        name: "Ann".into(),
        max_players: 4,
        roster,
    };
    c.handle_data(now, &ch.seal(&welcome).expect("seal"));
    c.handle_data(now, &ch.seal(&HostMsg::Start(plan)).expect("seal"));
    assert!(c.in_match());
    while c.poll_event().is_some() {}
    (c, ch)
}

#[test]
fn a_fake_hosts_impossible_resume_message_ends_the_channel() {
    let now = Instant::now();
    let (mut c, mut host) = member_in_match(now);
    let ok = HostMsg::Resume {
        from: 0,
        bytes: synced(),
    };
    c.handle_data(now, &host.seal(&ok).expect("seal"));
    let seen: Vec<ClientEvent> = std::iter::from_fn(|| c.poll_event()).collect();
    assert!(
        matches!(&seen[..], [ClientEvent::Resume { from: 0, .. }]),
        "{seen:?}"
    );
    // From a handle no match has: the channel ends, nothing is handed on.
    let bad = HostMsg::Resume {
        from: u16::MAX,
        bytes: synced(),
    };
    c.handle_data(now, &host.seal(&bad).expect("seal"));
    let seen: Vec<ClientEvent> = std::iter::from_fn(|| c.poll_event()).collect();
    assert!(
        matches!(
            &seen[..],
            [ClientEvent::LobbyClosed(CloseReason::Protocol(_))]
        ),
        "{seen:?}"
    );
    // Sending is refused outside the match and over the bound.
    let (mut c, _) = member_in_match(now);
    assert!(!c.send_resume(now, 0, vec![0; MAX_LOBBY_RESUME_BYTES + 1]));
    assert!(c.send_resume(now, 0, synced()));
}
