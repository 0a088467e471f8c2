//! The match's control channel against hostile peers, sans-IO: a fake
//! host's seat news and keys are checked (impossible handles end the
//! channel, names are cleaned, old key epochs are ignored, news before the
//! match is a protocol error), and garbage, sealed or not, into a member
//! or a host in a match never panics (the fuzz target `lobby_in_match`
//! runs the same paths with libFuzzer).

mod common;

use std::net::SocketAddr;
use std::time::Instant;

use nearplay_matchmaker::lobby::client::{
    ClientEvent, ClientMachine, ClientTransmit, CloseReason, JoinConfig,
};
use nearplay_matchmaker::lobby::codec::{FrameDecoder, encode};
use nearplay_matchmaker::lobby::host::{ConnId, HostConfig, HostMachine, HostTransmit};
use nearplay_matchmaker::lobby::message::{
    ClientMsg, Hello, HostMsg, RejoinRequest, RosterEntry, SeatChange, SeatNews,
};
use nearplay_matchmaker::lobby::rng::SeededRng;
use nearplay_matchmaker::lobby::secure::{Channel, JoinerHandshake, answer_offer};
use nearplay_netcode::{MatchId, MatchKey, MatchPlan, NetSettings, PeerAddr, PlanPlayer};

const OUR_PORT: u16 = 5001;

fn addr(last: u8, port: u16) -> SocketAddr {
    SocketAddr::from(([192, 168, 1, last], port))
}

fn roster() -> Vec<RosterEntry> {
    [(0, "Bo", addr(7, 9000)), (1, "Ann", addr(20, OUR_PORT))]
        .into_iter()
        .map(|(id, name, game_addr)| RosterEntry {
            id,
            name: name.into(),
            ready: true,
            game_addr,
            spectator: false,
            vacant: false,
        })
        .collect()
}

fn plan() -> MatchPlan {
    MatchPlan {
        match_id: MatchId(5),
        seed: 6,
        players: roster()
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
    }
}

fn sent(c: &mut ClientMachine) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(t) = c.poll_transmit() {
        if let ClientTransmit::Send(bytes) = t {
            out.extend_from_slice(&bytes);
        }
    }
    out
}

/// A member whose fake host welcomed it and started the match; the fake
/// host's channel.
fn member_in_match(now: Instant) -> (ClientMachine, Channel) {
    let mut c = ClientMachine::with_seed(JoinConfig::new("Ann", "g", "1", OUR_PORT), now, [4; 32]);
    c.handle_connected(now);
    let greeting = HostMsg::Greeting {
        password_required: false,
    };
    c.handle_data(now, &encode(&greeting).expect("enc"));
    let mut d = FrameDecoder::new();
    d.push(&sent(&mut c));
    let offer = d.next_frame().expect("frame").expect("whole");
    let Ok(ClientMsg::Offer(offer)) = offer.decode() else {
        panic!("expected an offer");
    };
    let (mut channel, answer) =
        answer_offer(&mut SeededRng::new([3; 32]), None, &offer).expect("answer");
    c.handle_data(now, &encode(&HostMsg::Answer(answer)).expect("enc"));
    sent(&mut c);
    let welcome = HostMsg::Welcome {
        you: 1,
        lobby_name: "Fake".into(),
        name: "Ann".into(),
        max_players: 4,
        roster: roster(),
    };
    c.handle_data(now, &channel.seal(&welcome).expect("seal"));
    c.handle_data(now, &channel.seal(&HostMsg::Start(plan())).expect("seal"));
    assert!(c.in_match());
    while c.poll_event().is_some() {}
    (c, channel)
}

fn events(c: &mut ClientMachine) -> Vec<ClientEvent> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

#[test]
fn a_fake_hosts_seat_news_and_keys_are_checked() {
    let now = Instant::now();
    let (mut c, mut host) = member_in_match(now);
    let news = SeatNews {
        handle: 0,
        name: "Bo\u{1b}[2J\u{202e}".into(),
        addr: addr(7, 9001),
        change: SeatChange::Retaken,
    };
    c.handle_data(now, &host.seal(&HostMsg::Seat(news)).expect("seal"));
    let key = |epoch| HostMsg::Rekey {
        epoch,
        key: MatchKey([epoch as u8; 32]),
    };
    for epoch in [2, 1, 2, 0, 3] {
        c.handle_data(now, &host.seal(&key(epoch)).expect("seal"));
    }
    let seen = events(&mut c);
    assert!(
        // Control characters and bidi overrides are gone (what is left of
        // an escape sequence is plain text).
        matches!(&seen[0], ClientEvent::Seat(n) if n.name == "Bo[2J"),
        "{seen:?}"
    );
    let epochs: Vec<u32> = seen
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Rekeyed { epoch, .. } => Some(*epoch),
            _ => None,
        })
        .collect();
    assert_eq!(epochs, [2, 3], "old and repeated epochs are ignored");
    // A seat no match can have ends the control channel, in words.
    let bogus = SeatNews {
        handle: u16::MAX,
        name: "x".into(),
        addr: addr(7, 1),
        change: SeatChange::Vacated,
    };
    c.handle_data(now, &host.seal(&HostMsg::Seat(bogus)).expect("seal"));
    assert!(c.is_done());
    assert!(matches!(
        events(&mut c).as_slice(),
        [ClientEvent::LobbyClosed(CloseReason::Protocol(_))]
    ));
}

#[test]
fn seat_news_aiming_at_an_unusable_address_ends_the_channel() {
    let now = Instant::now();
    for bad in [
        "0.0.0.0:5000",
        "224.0.0.251:5353",
        "255.255.255.255:9",
        "192.168.1.7:0",
    ] {
        let (mut c, mut host) = member_in_match(now);
        let news = SeatNews {
            handle: 0,
            name: "Bo".into(),
            addr: bad.parse().expect("addr"),
            change: SeatChange::Retaken,
        };
        c.handle_data(now, &host.seal(&HostMsg::Seat(news)).expect("seal"));
        assert!(c.is_done(), "{bad} was taken");
        assert!(
            !events(&mut c)
                .iter()
                .any(|e| matches!(e, ClientEvent::Seat(_))),
            "{bad} reached the game"
        );
    }
}

#[test]
fn seat_news_before_the_match_is_a_protocol_error() {
    let now = Instant::now();
    let mut c = ClientMachine::with_seed(JoinConfig::new("Ann", "g", "1", OUR_PORT), now, [4; 32]);
    c.handle_connected(now);
    let rekey = HostMsg::Rekey {
        epoch: 1,
        key: MatchKey([1; 32]),
    };
    c.handle_data(now, &encode(&rekey).expect("enc"));
    assert!(c.is_done());
    assert!(
        !events(&mut c)
            .iter()
            .any(|e| matches!(e, ClientEvent::Rekeyed { .. }))
    );
}

/// A tiny deterministic generator for garbage (no test depends on luck).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn garbage_sealed_or_not_never_panics_a_member_in_a_match() {
    let now = Instant::now();
    let mut rng = Lcg(7);
    for round in 0..300 {
        let (mut c, mut host) = member_in_match(now);
        let len = (rng.next() % 200) as usize;
        let junk = rng.bytes(len);
        if round % 2 == 0 {
            // Garbage inside a valid seal: the machine sees it decoded.
            if let Ok(frame) = host.seal(&junk) {
                c.handle_data(now, &frame);
            }
        } else {
            c.handle_data(now, &junk);
        }
        events(&mut c);
    }
}

/// A host whose match runs with one fake member (handle 1) whose channel
/// we hold.
fn host_in_match(now: Instant) -> (HostMachine, Channel) {
    let mut hc = HostConfig::new("L", "H", "g", "1");
    hc.late_join = true;
    let mut host = HostMachine::new(hc, [1; 32]);
    let peer = SocketAddr::from(([10, 0, 0, 2], 40000));
    let (channel, id) = fake_member(&mut host, now, ConnId(1), peer, None);
    assert_eq!(id, Some(1));
    let mut channel = channel.expect("channel");
    host.handle_data(
        now,
        ConnId(1),
        &channel.seal(&ClientMsg::SetReady(true)).expect("seal"),
    );
    host.start(now).expect("start");
    while host.poll_transmit().is_some() {}
    while host.poll_event().is_some() {}
    (host, channel)
}

/// A fake joiner on `conn`: key exchange and a hello (with `rejoin`).
fn fake_member(
    host: &mut HostMachine,
    now: Instant,
    conn: ConnId,
    peer: SocketAddr,
    rejoin: Option<RejoinRequest>,
) -> (Option<Channel>, Option<u32>) {
    host.handle_connect(now, conn, peer, SocketAddr::from(([10, 0, 0, 1], 7000)));
    while host.poll_transmit().is_some() {}
    let (hs, offer) = JoinerHandshake::start(&mut SeededRng::new([5; 32]), None).expect("offer");
    host.handle_data(now, conn, &encode(&ClientMsg::Offer(offer)).expect("enc"));
    let mut d = FrameDecoder::new();
    while let Some(t) = host.poll_transmit() {
        if let HostTransmit::Send { frame, .. } = t {
            d.push(&frame);
        }
    }
    let Some(Ok(HostMsg::Answer(answer))) = d.next_frame().ok().flatten().map(|f| f.decode())
    else {
        return (None, None);
    };
    let mut channel = hs.finish(&answer).expect("channel");
    let hello = Hello {
        game: "g".into(),
        game_version: "1".into(),
        name: "Fake".into(),
        game_port: 5000,
        spectator: false,
        rejoin,
    };
    host.handle_data(
        now,
        conn,
        &channel.seal(&ClientMsg::Hello(hello)).expect("seal"),
    );
    let joined = host
        .roster()
        .iter()
        .map(|m| m.id)
        .max()
        .filter(|id| *id > 0);
    (Some(channel), joined)
}

#[test]
fn garbage_and_forged_rejoins_never_panic_a_host_in_a_match() {
    let now = Instant::now();
    let mut rng = Lcg(11);
    for round in 0..200u64 {
        let (mut host, mut member) = host_in_match(now);
        let len = (rng.next() % 120) as usize;
        let junk = rng.bytes(len);
        match round % 3 {
            0 => {
                if let Ok(frame) = member.seal(&junk) {
                    host.handle_data(now, ConnId(1), &frame);
                }
            }
            1 => host.handle_data(now, ConnId(1), &junk),
            _ => {
                let mut proof = [0u8; 32];
                proof.copy_from_slice(&rng.bytes(32));
                let forged = RejoinRequest {
                    handle: rng.next() as u16,
                    proof,
                };
                host.handle_disconnect(now, ConnId(1));
                let peer = SocketAddr::from(([10, 0, 9, round as u8], 1));
                fake_member(&mut host, now, ConnId(2), peer, Some(forged));
                assert_eq!(
                    host.vacant_seats(),
                    ["Fake"],
                    "a forged proof takes nothing"
                );
            }
        }
        while host.poll_transmit().is_some() {}
        while host.poll_event().is_some() {}
    }
}
