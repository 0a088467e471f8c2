//! A member's game that does not poll its lobby during the match, and a
//! host that talks without end: the member's lobby thread holds at most
//! `MAX_QUEUED_CLIENT_EVENTS` events and then stops reading, so the host's
//! writes stall instead of the member's memory growing (before, the lobby
//! ended at the start; keeping it open made this queue the network's to
//! grow). Loopback only; the fake host is this test.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use common::wait_for;
use nearplay_matchmaker::lobby::client::{ClientEvent, JoinConfig};
use nearplay_matchmaker::lobby::codec::{Frame, FrameDecoder, encode};
use nearplay_matchmaker::lobby::message::{ClientMsg, HostMsg, RosterEntry};
use nearplay_matchmaker::lobby::rng::SeededRng;
use nearplay_matchmaker::lobby::secure::{Channel, answer_offer};
use nearplay_matchmaker::lobby::tcp::{LobbyClient, MAX_QUEUED_CLIENT_EVENTS};
use nearplay_netcode::{MatchId, MatchKey, MatchPlan, NetSettings, PeerAddr, PlanPlayer};

/// Roster updates the fake host tries to send after the start: far more
/// than the member holds and than loopback's socket buffers take.
const FLOOD: usize = 200_000;

fn next_frame(s: &mut TcpStream, d: &mut FrameDecoder) -> Frame {
    let mut buf = [0u8; 4096];
    loop {
        if let Some(f) = d.next_frame().expect("frame") {
            return f;
        }
        let n = s.read(&mut buf).expect("read");
        assert!(n > 0, "the member closed early");
        d.push(&buf[..n]);
    }
}

/// Greets, answers, reads the hello, welcomes and starts: the channel.
fn fake_host_start(s: &mut TcpStream, peer: SocketAddr) -> (Channel, Vec<RosterEntry>) {
    let greeting = HostMsg::Greeting {
        password_required: false,
    };
    s.write_all(&encode(&greeting).expect("enc"))
        .expect("greet");
    let mut d = FrameDecoder::new();
    let Ok(ClientMsg::Offer(offer)) = next_frame(s, &mut d).decode::<ClientMsg>() else {
        panic!("expected the offer");
    };
    let (mut ch, answer) = answer_offer(&mut SeededRng::new([3; 32]), None, &offer).expect("ok");
    s.write_all(&encode(&HostMsg::Answer(answer)).expect("enc"))
        .expect("answer");
    let Ok(ClientMsg::Hello(hello)) = ch.open::<ClientMsg>(&next_frame(s, &mut d)) else {
        panic!("expected the hello");
    };
    let roster: Vec<RosterEntry> = [
        (0, "Bo", SocketAddr::from(([127, 0, 0, 1], 9000))),
        (1, "Ann", SocketAddr::new(peer.ip(), hello.game_port)),
    ]
    .into_iter()
    .map(|(id, name, game_addr)| RosterEntry {
        id,
        name: name.into(),
        ready: true,
        game_addr,
        spectator: false,
        vacant: false,
    })
    .collect();
    let plan = MatchPlan {
        match_id: MatchId(1),
        seed: 2,
        players: roster
            .iter()
            .map(|m| PlanPlayer {
                handle: m.id as usize,
                name: m.name.clone(),
                addr: PeerAddr::Udp(m.game_addr),
            })
            .collect(),
        spectators: Vec::new(),
        key: MatchKey([7; 32]),
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
        roster: roster.clone(),
    };
    s.write_all(&ch.seal(&welcome).expect("seal"))
        .expect("welcome");
    s.write_all(&ch.seal(&HostMsg::Start(plan)).expect("seal"))
        .expect("start");
    (ch, roster)
}

#[test]
fn a_member_that_is_not_polled_stops_reading_instead_of_growing() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let lobby = listener.local_addr().expect("addr");
    let client = LobbyClient::join(lobby, JoinConfig::new("Ann", "g", "1", 5001));
    let (mut s, peer) = listener.accept().expect("accept");
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let (mut ch, roster) = fake_host_start(&mut s, peer);
    wait_for("the plan", Duration::from_secs(10), || {
        match client.poll()? {
            ClientEvent::Started(_) => Some(()),
            ClientEvent::JoinFailed(e) => panic!("join failed: {e}"),
            _ => None,
        }
    });
    // Nobody polls the member from here on. The host floods roster
    // updates; a write that makes no progress for 3 s (a deadline, not a
    // pace) or fails means the member stopped taking them.
    s.set_write_timeout(Some(Duration::from_secs(3))).ok();
    let (mut sent, mut bytes) = (0, 0);
    while sent < FLOOD {
        let frame = ch.seal(&HostMsg::Roster(roster.clone())).expect("seal");
        match s.write_all(&frame) {
            Ok(()) => {
                sent += 1;
                bytes += frame.len();
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                println!("write stalled: {e}");
                break;
            }
            Err(e) => {
                println!("write failed: {e}");
                break;
            }
        }
    }
    println!("the member took {sent} of {FLOOD} roster updates ({bytes} bytes) unpolled");
    assert!(
        sent < FLOOD,
        "the member read all {FLOOD} updates into memory"
    );
    // What it holds for the game is bounded.
    let held = std::iter::from_fn(|| client.poll()).count();
    assert!(
        held <= MAX_QUEUED_CLIENT_EVENTS + 4,
        "{held} events were held for the game"
    );
}
