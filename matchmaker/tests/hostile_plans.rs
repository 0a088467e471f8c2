//! A fake lobby host sends hostile `MatchPlan`s: the joiner ends the join
//! with a typed error in words (`JoinError::BadPlan`) and never reports
//! `Started`, so no session is built from them. Driven through the client's
//! sans-IO machine with a fake clock, and once through the real TCP client.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use common::sim::join_error;
use common::wait_for;
use nearplay_matchmaker::lobby::client::{
    ClientEvent, ClientMachine, ClientTransmit, JoinConfig, JoinError,
};
use nearplay_matchmaker::lobby::codec::{FrameDecoder, encode};
use nearplay_matchmaker::lobby::message::{ClientMsg, HostMsg, RosterEntry};
use nearplay_matchmaker::lobby::rng::SeededRng;
use nearplay_matchmaker::lobby::secure::{Channel, answer_offer};
use nearplay_matchmaker::lobby::tcp::LobbyClient;
use nearplay_netcode::{
    MatchId, MatchKey, MatchPlan, NetSettings, PeerAddr, PlanError, PlanPlayer,
};

const OUR_PORT: u16 = 5001;

fn addr(ip: [u8; 4], port: u16) -> SocketAddr {
    SocketAddr::from((ip, port))
}

/// Host "Bo", us ("Ann"), and "Cy".
fn roster() -> Vec<RosterEntry> {
    players(&[
        (0, "Bo", addr([192, 168, 1, 7], 9000)),
        (1, "Ann", addr([192, 168, 1, 20], OUR_PORT)),
        (2, "Cy", addr([192, 168, 1, 30], 5002)),
    ])
}

/// Ready players `(id, name, game address)` as roster entries.
fn players(seats: &[(u32, &str, SocketAddr)]) -> Vec<RosterEntry> {
    seats
        .iter()
        .map(|&(id, name, game_addr)| RosterEntry {
            id,
            name: name.into(),
            ready: true,
            game_addr,
            spectator: false,
            vacant: false,
        })
        .collect()
}

/// One seat per roster member, in roster order, at the member's address.
fn seats(roster: &[RosterEntry]) -> Vec<PlanPlayer> {
    roster
        .iter()
        .enumerate()
        .map(|(handle, m)| PlanPlayer {
            handle,
            name: m.name.clone(),
            addr: PeerAddr::Udp(m.game_addr),
        })
        .collect()
}

/// The plan an honest host sends for [`roster`], as seen by Ann.
fn good_plan() -> MatchPlan {
    MatchPlan {
        match_id: MatchId(1),
        seed: 2,
        players: seats(&roster()),
        spectators: Vec::new(),
        key: MatchKey([9; 32]),
        key_epoch: 0,
        member_secrets: Default::default(),
        settings: NetSettings::default(),
        local_handle: 1,
    }
}

fn frame(msg: &HostMsg) -> Vec<u8> {
    encode(msg).expect("encodes")
}

/// The greeting of a public lobby, in clear (the fake host's first words).
fn greeting() -> Vec<u8> {
    frame(&HostMsg::Greeting {
        password_required: false,
    })
}

/// The first frame in `bytes`, decoded in clear.
fn clear_msg(bytes: &[u8]) -> ClientMsg {
    let mut d = FrameDecoder::new();
    d.push(bytes);
    let f = d.next_frame().expect("frame").expect("complete");
    f.decode().expect("clear message")
}

/// The fake host's side of the key exchange: it answers the joiner's offer
/// (clear) and gets the channel in which it seals the rest.
fn answer(offer: ClientMsg) -> (Channel, Vec<u8>) {
    let ClientMsg::Offer(offer) = offer else {
        panic!("expected the joiner's offer");
    };
    let (channel, answer) =
        answer_offer(&mut SeededRng::new([3; 32]), None, &offer).expect("answer");
    (channel, frame(&HostMsg::Answer(answer)))
}

fn welcome(max_players: u16, roster: Vec<RosterEntry>) -> HostMsg {
    HostMsg::Welcome {
        you: 1,
        lobby_name: "Fake".into(),
        name: "Ann".into(),
        max_players,
        roster,
    }
}

/// A client machine that joined a lobby of `max` seats showing `roster`,
/// then received `Start(plan)`; its events.
fn start_with(roster: Vec<RosterEntry>, max: u16, plan: MatchPlan) -> Vec<ClientEvent> {
    let config = JoinConfig::new("Ann", "g", "1", OUR_PORT);
    drive(
        ClientMachine::new(config, Instant::now()),
        roster,
        max,
        plan,
    )
}

/// The fake host greets `c`, answers its offer and takes its sealed hello:
/// the channel in which the fake host seals the rest.
fn key_exchange(c: &mut ClientMachine, now: Instant) -> Channel {
    c.handle_connected(now);
    c.handle_data(now, &greeting());
    let mut offer = Vec::new();
    while let Some(t) = c.poll_transmit() {
        if let ClientTransmit::Send(bytes) = t {
            offer.extend_from_slice(&bytes);
        }
    }
    let (channel, answer) = answer(clear_msg(&offer));
    c.handle_data(now, &answer);
    while c.poll_transmit().is_some() {}
    channel
}

fn drive(
    mut c: ClientMachine,
    roster: Vec<RosterEntry>,
    max: u16,
    plan: MatchPlan,
) -> Vec<ClientEvent> {
    let now = Instant::now();
    let mut channel = key_exchange(&mut c, now);
    c.handle_data(now, &channel.seal(&welcome(max, roster)).expect("seal"));
    c.handle_data(now, &channel.seal(&HostMsg::Start(plan)).expect("seal"));
    // A bad plan ends the join; a good one keeps the lobby as the
    // match's control channel.
    assert!(
        c.is_done() || c.in_match(),
        "the join is decided either way"
    );
    std::iter::from_fn(|| c.poll_event()).collect()
}

fn rejected(plan: MatchPlan) -> PlanError {
    let events = start_with(roster(), 4, plan);
    assert!(
        !events.iter().any(|e| matches!(e, ClientEvent::Started(_))),
        "a bad plan must never start: {events:?}"
    );
    match join_error(&events) {
        JoinError::BadPlan(e) => {
            let words = JoinError::BadPlan(e.clone()).to_string();
            assert!(
                words.starts_with("the host sent a bad match plan: "),
                "{words}"
            );
            e
        }
        other => panic!("expected BadPlan, got {other:?}"),
    }
}

#[test]
fn an_honest_plan_starts() {
    let events = start_with(roster(), 4, good_plan());
    assert!(
        events.contains(&ClientEvent::Started(good_plan())),
        "{events:?}"
    );
}

#[test]
fn hostile_settings_are_rejected_in_words() {
    let with = |f: fn(&mut NetSettings)| {
        let mut p = good_plan();
        f(&mut p.settings);
        rejected(p)
    };
    // Crashed GGRS (input_queue.rs assert), exit 101, before the check.
    let e = with(|s| {
        s.input_delay = 200;
        s.max_prediction = 300;
    });
    assert_eq!(
        e,
        PlanError::MaxPrediction {
            value: 300,
            max: 16
        }
    );
    // Made `--frames` runs linger ~100k frames.
    let e = with(|s| s.max_prediction = 100_000);
    assert!(matches!(e, PlanError::MaxPrediction { value: 100_000, .. }));
    // One frame more input delay than the default prediction window.
    let window = NetSettings::default().max_prediction;
    let e = with(|s| s.input_delay = NetSettings::default().max_prediction + 1);
    assert_eq!(
        e,
        PlanError::InputDelay {
            delay: window + 1,
            max: window
        }
    );
    assert_eq!(with(|s| s.fps = 0), PlanError::Fps { fps: 0 });
    assert_eq!(with(|s| s.fps = 100_000), PlanError::Fps { fps: 100_000 });
    let e = with(|s| s.disconnect_timeout_ms = 0);
    assert_eq!(e, PlanError::DisconnectTimeout { ms: 0 });
    let e = with(|s| s.disconnect_timeout_ms = u64::MAX);
    assert_eq!(e, PlanError::DisconnectTimeout { ms: u64::MAX });
    let e = with(|s| s.disconnect_notify_start_ms = 5000);
    assert!(matches!(e, PlanError::DisconnectNotify { .. }));
}

#[test]
fn two_thousand_extra_players_are_rejected() {
    let mut plan = good_plan();
    for i in 0..2000u16 {
        let handle = plan.players.len();
        plan.players.push(PlanPlayer {
            handle,
            name: format!("x{i}"),
            addr: PeerAddr::Udp(addr([127, 0, 0, 77], 10_000 + i)),
        });
    }
    assert_eq!(
        rejected(plan),
        PlanError::TooManyPlayers {
            count: 2003,
            max: 4
        }
    );
}

#[test]
fn a_third_party_address_is_rejected() {
    let mut plan = good_plan();
    plan.players[2].addr = PeerAddr::Udp(addr([127, 0, 0, 77], 5002));
    assert!(matches!(
        rejected(plan),
        PlanError::UnknownAddress { name, .. } if name == "Cy"
    ));
    // A roster member's address under another member's name.
    let mut swapped = good_plan();
    swapped.players[2].addr = swapped.players[0].addr;
    swapped.players[0].addr = PeerAddr::Udp(roster()[2].game_addr);
    assert!(matches!(
        rejected(swapped),
        PlanError::UnknownAddress { name, .. } if name == "Bo"
    ));
}

#[test]
fn our_seat_must_be_ours() {
    let mut plan = good_plan();
    plan.local_handle = 7;
    assert_eq!(rejected(plan), PlanError::LocalMissing { handle: 7 });
    let mut plan = good_plan();
    plan.local_handle = 2; // Cy's seat
    assert!(matches!(
        rejected(plan),
        PlanError::LocalAddress { port: OUR_PORT, .. }
    ));
}

#[test]
fn duplicate_and_unusable_addresses_are_rejected() {
    let mut plan = good_plan();
    plan.players[2].addr = plan.players[0].addr;
    assert!(matches!(rejected(plan), PlanError::DuplicateAddress { .. }));
    for bad in [[0, 0, 0, 0], [255, 255, 255, 255], [224, 0, 0, 1]] {
        let mut plan = good_plan();
        plan.players[2].addr = PeerAddr::Udp(addr(bad, 5002));
        assert!(matches!(rejected(plan), PlanError::BadAddress { .. }));
    }
}

/// The real TCP client against a fake host on loopback: the 2000-player
/// plan ends the join with the error in words, within the test's limit.
#[test]
fn the_tcp_client_reports_a_bad_plan() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let lobby = listener.local_addr().expect("addr");
    let fake_host = std::thread::spawn(move || {
        let (mut s, peer) = listener.accept().expect("accept");
        s.set_read_timeout(Some(Duration::from_secs(10))).ok();
        s.write_all(&greeting()).expect("greeting");
        let mut decoder = FrameDecoder::new();
        let mut buf = [0u8; 4096];
        let mut next_frame = |s: &mut std::net::TcpStream| loop {
            if let Some(f) = decoder.next_frame().expect("frame") {
                break f;
            }
            let n = s.read(&mut buf).expect("read");
            assert!(n > 0, "client closed early");
            decoder.push(&buf[..n]);
        };
        let offer = next_frame(&mut s)
            .decode::<ClientMsg>()
            .expect("clear offer");
        let (mut channel, answer) = answer(offer);
        s.write_all(&answer).expect("answer");
        let hello: ClientMsg = channel.open(&next_frame(&mut s)).expect("sealed hello");
        let ClientMsg::Hello(hello) = hello else {
            panic!("expected hello, got {hello:?}")
        };
        let you = SocketAddr::new(peer.ip(), hello.game_port);
        let host = addr([127, 0, 0, 1], 9000);
        let roster = players(&[(0, "Bo", host), (1, "Ann", you)]);
        let mut plan = MatchPlan {
            players: seats(&roster),
            ..good_plan()
        };
        for i in 0..2000u16 {
            plan.players.push(PlanPlayer {
                handle: plan.players.len(),
                name: format!("x{i}"),
                addr: PeerAddr::Udp(addr([127, 0, 0, 77], 10_000 + i)),
            });
        }
        s.write_all(&channel.seal(&welcome(16, roster)).expect("seal"))
            .expect("welcome");
        s.write_all(&channel.seal(&HostMsg::Start(plan)).expect("seal"))
            .expect("start");
        // Hold the connection until the client closes it.
        let _ = s.read(&mut [0u8; 64]);
    });
    let client = LobbyClient::join(lobby, JoinConfig::new("Ann", "g", "1", OUR_PORT));
    let error = wait_for(
        "the join to fail",
        Duration::from_secs(10),
        || match client.poll()? {
            ClientEvent::JoinFailed(e) => Some(e),
            ClientEvent::Started(p) => panic!("started a {}-player plan", p.players.len()),
            _ => None,
        },
    );
    assert_eq!(
        error.to_string(),
        "the host sent a bad match plan: the plan seats 2002 players; at most 16 are allowed"
    );
    drop(client);
    fake_host.join().expect("fake host");
}

/// Online, the machines name peers by `id_addr` (WebRTC id as IPv6, port
/// 1): ids anywhere in the 128-bit space are fine (one in 256 looks like
/// IPv6 multicast), but only the room's members listed in the roster.
#[test]
fn room_peer_ids_are_checked_as_peers() {
    let id = |x: u128| SocketAddr::new(std::net::Ipv6Addr::from(x).into(), 1);
    let (host, us, other) = (0xff02 << 112 | 1, 0x1234 << 112 | 2, 0x5678 << 112 | 3);
    let roster: Vec<RosterEntry> = [(0, "Bo", host), (1, "Ann", us), (2, "Cy", other)]
        .into_iter()
        .map(|(mid, name, x)| RosterEntry {
            id: mid,
            name: name.into(),
            ready: true,
            game_addr: id(x),
            spectator: false,
            vacant: false,
        })
        .collect();
    let plan = MatchPlan {
        players: seats(&roster),
        ..good_plan()
    };
    let online = || {
        let config = JoinConfig::new("Ann", "g", "1", 1);
        ClientMachine::new(config, Instant::now()).in_room()
    };
    let events = drive(online(), roster.clone(), 4, plan.clone());
    assert!(
        events.contains(&ClientEvent::Started(plan.clone())),
        "{events:?}"
    );
    let mut stranger = plan;
    stranger.players[2].addr = PeerAddr::Udp(id(0x9999));
    let events = drive(online(), roster, 4, stranger);
    assert_eq!(
        join_error(&events),
        JoinError::BadPlan(PlanError::UnknownAddress {
            name: "Cy".into(),
            addr: PeerAddr::WebRtc(0x9999)
        })
    );
}

/// A host on another machine lists Cy at a loopback address: the joiner
/// would aim its game traffic at its own machine's local services. The same
/// plan from a host reached over loopback (a test on one machine) starts.
#[test]
fn a_remote_host_cannot_seat_anyone_on_loopback() {
    let mut members = roster();
    members[2].game_addr = addr([127, 0, 0, 1], 22);
    let mut plan = good_plan();
    plan.players[2].addr = PeerAddr::Udp(members[2].game_addr);
    let config = || JoinConfig::new("Ann", "g", "1", OUR_PORT);
    let remote =
        ClientMachine::new(config(), Instant::now()).with_lobby_addr(addr([192, 168, 1, 7], 7000));
    let events = drive(remote, members.clone(), 4, plan.clone());
    match join_error(&events) {
        JoinError::BadPlan(PlanError::BadAddress { name, why, .. }) => {
            assert_eq!(name, "Cy");
            assert!(why.contains("loopback"), "{why}");
        }
        other => panic!("expected a loopback refusal, got {other:?}"),
    }
    let local =
        ClientMachine::new(config(), Instant::now()).with_lobby_addr(addr([127, 0, 0, 1], 7000));
    let events = drive(local, members, 4, plan);
    assert!(
        events.iter().any(|e| matches!(e, ClientEvent::Started(_))),
        "{events:?}"
    );
}

/// A fake host's roster of thousands is cut to what a match seats, and its
/// names lose bidirectional overrides and line separators.
#[test]
fn a_hostile_roster_is_cut_and_cleaned() {
    let mut c = ClientMachine::new(JoinConfig::new("Ann", "g", "1", OUR_PORT), Instant::now());
    let now = Instant::now();
    let mut channel = key_exchange(&mut c, now);
    let mut members = roster();
    members[2].name = "C\u{202e}y\u{2028}\u{1b}[2J".into();
    for i in 0..2000u32 {
        members.push(RosterEntry {
            id: 10 + i,
            name: format!("x{i}"),
            ready: false,
            game_addr: addr([192, 168, 2, 1], 1000),
            spectator: false,
            vacant: false,
        });
    }
    c.handle_data(now, &channel.seal(&welcome(16, members)).expect("seal"));
    let roster = std::iter::from_fn(|| c.poll_event())
        .find_map(|e| match e {
            ClientEvent::Joined { roster, .. } => Some(roster),
            _ => None,
        })
        .expect("joined");
    assert_eq!(roster.len(), nearplay_netcode::MAX_PLAYERS);
    assert_eq!(roster[2].name, "Cy[2J");
}

/// Anyone on the path can answer a joiner in clear before the channel is
/// up: a refusal quoting a "game version" of terminal escapes and 10,000
/// characters reaches the player cleaned and cut.
#[test]
fn a_clear_refusal_quotes_nothing_raw() {
    let now = Instant::now();
    let mut c = ClientMachine::new(JoinConfig::new("Ann", "g", "1", OUR_PORT), now);
    c.handle_connected(now);
    let host = format!("\u{1b}]0;pwned\u{7}\u{202e}{}", "v".repeat(10_000));
    c.handle_data(
        now,
        &frame(&HostMsg::Reject(
            nearplay_matchmaker::lobby::message::RejectReason::GameVersion { host },
        )),
    );
    let events: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
    let words = join_error(&events).to_string();
    assert!(!words.chars().any(char::is_control), "{words:?}");
    assert!(!words.contains('\u{202e}'), "{words:?}");
    assert!(words.len() < 200, "{} characters", words.len());
}
