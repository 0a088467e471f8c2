//! The one lobby handle online: a rendezvous server on an ephemeral
//! loopback port and peers over WebRTC, inside a network namespace the test
//! creates (ICE never offers the machine's real addresses). A public room
//! hosted through `Matchmaker::host`, listed by a `LobbyList`, joined by its
//! code, to `MatchStarted` on both with sessions that play, then a rematch
//! over the same link (before: "socket missing"). And a server that never
//! answers: typed failure events while `poll()` keeps returning at once.
#![cfg(all(feature = "server", feature = "rendezvous"))]

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::game::{Seat, play};
use common::wait_for;
use nearplay_matchmaker::prelude::*;
use nearplay_matchmaker::rendezvous::RendezvousError;
use nearplay_matchmaker::rendezvous::server::{Limits, RendezvousServer};
use nearplay_netcode::{MatchPlan, PeerAddr};

const INSIDE: &str = "NEARPLAY_PLAY_IN_NETNS";
const LIMIT: Duration = Duration::from_secs(30);

/// Re-runs `test` inside a fresh namespace (see
/// [`common::netns::rerun_inside`]).
fn in_netns(test: &str) -> bool {
    common::netns::rerun_inside(test, INSIDE, "np-play")
}

fn online_matchmaker(server: &str) -> Matchmaker {
    let mut config = MatchmakerConfig::new("g", "1.0");
    config.lan = None;
    config.rendezvous = Some(server.to_string());
    config.list_refresh = Duration::from_millis(500);
    Matchmaker::new(config).expect("matchmaker")
}

fn started(lobbies: &mut [&mut Lobby]) -> Vec<MatchStart> {
    common::game::match_started(lobbies, LIMIT)
}

/// [`common::game::seats`], after checking that every member has the one
/// plan and that it names WebRTC peers.
fn seats(starts: Vec<MatchStart>) -> (Vec<Seat>, Vec<MatchPlan>) {
    for p in starts.iter().map(|s| &s.plan) {
        assert_eq!(
            p.without_secrets(),
            starts[0].plan.for_member(p.local_handle).without_secrets(),
            "one plan"
        );
        assert!(
            p.players
                .iter()
                .all(|s| matches!(s.addr, PeerAddr::WebRtc(_))),
            "an online plan names WebRTC peers: {p:?}"
        );
    }
    common::game::seats(starts)
}

#[test]
fn public_room_listed_joined_by_code_played_and_rematched() {
    if !in_netns("public_room_listed_joined_by_code_played_and_rematched") {
        return;
    }
    let server =
        RendezvousServer::start("127.0.0.1:0".parse().expect("addr"), Limits::default(), 1)
            .expect("server");
    let url = format!("http://{}", server.local_addr());
    let mm = online_matchmaker(&url);
    let mut host = mm.host(LobbySettings::new("Den", "Hana").online(true));
    assert_eq!(host.phase(), LobbyPhase::Opening);
    let code = wait_for("the room open", LIMIT, || match host.poll()? {
        LobbyEvent::Opened { code, .. } => Some(code.expect("a room code")),
        LobbyEvent::Failed(e) => panic!("host failed: {e}"),
        _ => None,
    });
    assert_eq!(host.code(), Some(code));
    assert_eq!(host.name(), format!("Room {code}"));

    // Another player's list shows the public room.
    let mut list = online_matchmaker(&url).browse();
    let entry = wait_for("the room in the list", LIMIT, || {
        let _ = host.poll();
        match list.poll()? {
            ListEvent::Added(e) if e.place == (LobbyPlace::Online { code }) => Some(e),
            ListEvent::ServerError(e) => panic!("list: {e}"),
            _ => None,
        }
    });
    // (players is 0 or 1: the host's link may not be in the room yet.)
    assert_eq!((entry.name.as_str(), entry.max_players), ("Den", 4));
    assert!(entry.compatibility.is_compatible());

    // Joined by the code as typed, ready at once (queued until welcome).
    let typed = format!(" {} ", code.as_str().to_lowercase());
    let mut ann = mm.join(JoinTarget::code(&typed), PlayerSettings::new("Ann"));
    assert_eq!(ann.phase(), LobbyPhase::Joining);
    ann.set_ready(true).expect("queued");
    wait_for("Ann in and ready at the host", LIMIT, || {
        if let Some(LobbyEvent::Failed(e)) = ann.poll() {
            panic!("Ann: {e}");
        }
        match host.poll()? {
            LobbyEvent::RosterChanged(r) if r.len() == 2 && r.iter().all(|m| m.ready) => Some(()),
            _ => None,
        }
    });
    host.start().expect("start");
    let starts = started(&mut [&mut host, &mut ann]);
    let (mut seats_1, plans) = seats(starts);
    let frame = play(&mut seats_1, 60, LIMIT);
    drop(seats_1);

    host.rematch().expect("rematch");
    ann.rematch().expect("rematch");
    let starts = started(&mut [&mut host, &mut ann]);
    for (s, p) in starts.iter().zip(&plans) {
        assert_eq!(s.plan, p.rematch());
    }
    let (mut seats_2, _) = seats(starts);
    let frame_2 = play(&mut seats_2, 60, LIMIT);
    println!("online match settled at frame {frame}, rematch at frame {frame_2}");
}

/// A "server" that takes connections and never answers: every HTTP call
/// waits for its time limit. Hosting, joining by code and listing fail with
/// typed events; meanwhile `poll()` returns at once (its first call returns
/// `None` while the call is still out: before, the call ran on the
/// caller's thread and the game froze for it).
#[test]
fn a_silent_server_fails_typed_without_blocking_poll() {
    let silent = TcpListener::bind("127.0.0.1:0").expect("listener");
    let url = silent.local_addr().expect("addr").to_string();
    let mut config = MatchmakerConfig::new("g", "1.0");
    config.lan = None;
    config.rendezvous = Some(url);
    config.http_timeout = Duration::from_millis(800);
    let mm = Matchmaker::new(config).expect("matchmaker");

    let mut host = mm.host(LobbySettings::new("Den", "Hana").online(false));
    let mut ann = mm.join(JoinTarget::code("H69QE5"), PlayerSettings::new("Ann"));
    let mut list = mm.browse();
    let t = Instant::now();
    assert!(host.poll().is_none(), "no answer yet, and no wait for it");
    assert!(ann.poll().is_none(), "no answer yet, and no wait for it");
    assert!(list.poll().is_none(), "no answer yet, and no wait for it");
    assert_eq!(host.phase(), LobbyPhase::Opening);
    assert_eq!(ann.phase(), LobbyPhase::Joining);
    let mut longest = Duration::ZERO;
    let mut timed = |f: &mut dyn FnMut() -> bool| {
        let t = Instant::now();
        let done = f();
        longest = longest.max(t.elapsed());
        done
    };
    let mut host_failed = None;
    let mut ann_failed = None;
    let mut list_failed = None;
    wait_for("three typed failures", LIMIT, || {
        timed(&mut || match host.poll() {
            Some(LobbyEvent::Failed(e)) => {
                host_failed = Some(e);
                true
            }
            _ => false,
        });
        timed(&mut || match ann.poll() {
            Some(LobbyEvent::Failed(e)) => {
                ann_failed = Some(e);
                true
            }
            _ => false,
        });
        timed(&mut || match list.poll() {
            Some(ListEvent::ServerError(e)) => {
                list_failed = Some(e);
                true
            }
            _ => false,
        });
        (host_failed.is_some() && ann_failed.is_some() && list_failed.is_some()).then_some(())
    });
    for e in [&host_failed, &ann_failed] {
        assert!(
            matches!(
                e,
                Some(LobbyError::Rendezvous(RendezvousError::Unreachable { .. }))
            ),
            "{e:?}"
        );
    }
    assert_eq!(host.phase(), LobbyPhase::Closed);
    assert_eq!(ann.phase(), LobbyPhase::Closed);
    assert_eq!(host.set_ready(true), Err(LobbyActionError::NotInLobby));
    println!(
        "silent server: failures after {:?}; longest poll() {longest:?} (HTTP limit 800 ms)",
        t.elapsed()
    );
    drop(silent);
}

/// A hostile "rendezvous server" answering every request with `body`
/// (HTTP/1.1, then close), on loopback, for the test's life.
fn hostile_server(body: String) -> String {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").expect("listener");
    let addr = listener.local_addr().expect("addr").to_string();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().map_while(Result::ok) {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = conn.write_all(answer.as_bytes());
        }
    });
    addr
}

/// The server's list is network input: a name with a bidi override is shown
/// cleaned, rooms with control characters or more players than seats are
/// left out, and a room of another version is listed as incompatible.
#[test]
fn a_hostile_room_list_is_cleaned_and_checked() {
    let room = |code: &str, name: &str, version: &str, players: u16| {
        format!(
            r#"{{"code":"{code}","name":"{name}","game":"g","proto":{proto},"version":"{version}","max_players":4,"password":false,"mode":"m","public":true,"players":{players}}}"#,
            proto = nearplay_matchmaker::PROTOCOL_VERSION
        )
    };
    let body = format!(
        r#"{{"rooms":[{},{},{},{}],"next":null}}"#,
        room("H69QE5", "Evil\\u202e ned", "1.0", 1),
        room("J7KQ2R", "Crowded", "1.0", 9),
        room("K8PQ3S", "Bell\\u0007", "1.0", 1),
        room("M3NP4T", "Old", "0.9", 1),
    );
    let mut config = MatchmakerConfig::new("g", "1.0");
    config.lan = None;
    config.rendezvous = Some(hostile_server(body));
    let mut list = Matchmaker::new(config).expect("matchmaker").browse();
    let mut added = Vec::new();
    wait_for("two rooms listed", LIMIT, || {
        match list.poll()? {
            ListEvent::Added(e) => added.push(e),
            ListEvent::ServerError(e) => panic!("list: {e}"),
            _ => {}
        }
        (added.len() == 2).then_some(())
    });
    let names: Vec<&str> = list.lobbies().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    for e in list.lobbies() {
        assert!(
            !e.name.contains('\u{202e}'),
            "a bidi override reaches the screen: {e:?}"
        );
        assert!(
            !["Crowded", "Bell\u{7}"].contains(&e.name.as_str()),
            "{e:?}"
        );
    }
    // Compatible first.
    assert!(list.lobbies()[0].compatibility.is_compatible());
    assert!(!list.lobbies()[1].compatibility.is_compatible());
}
