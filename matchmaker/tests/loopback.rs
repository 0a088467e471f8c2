//! Real sockets, one process, loopback only: a host and 3 clients discover
//! each other over mDNS, join, chat, get ready and start; everyone holds the
//! same MatchPlan. The lobby stays open through the match: a member who
//! goes vacates its seat, the others are told, the TXT shows it.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::{discovery, game_socket, unique, wait_for};
use nearplay_matchmaker::lan::{BrowseEvent, Compatibility, LobbyStage};
use nearplay_matchmaker::lobby::client::{ClientEvent, JoinConfig};
use nearplay_matchmaker::lobby::host::{HostConfig, HostEvent};
use nearplay_matchmaker::lobby::message::SeatChange;
use nearplay_matchmaker::lobby::tcp::{HostOptions, LobbyClient, LobbyHost};
use nearplay_netcode::{MatchPlan, PeerAddr};

const GAME: &str = "nearplay-test";
const VERSION: &str = "1.0.0";
const LIMIT: Duration = Duration::from_secs(10);

#[test]
fn host_and_three_clients_discover_join_chat_ready_start() {
    let d = discovery();
    let mut browser = d.browse(GAME, VERSION).expect("browse");
    let host_sock = game_socket();
    let mut config = HostConfig::new(&unique("Loopback"), "Hosty", GAME, VERSION);
    config.game_port = host_sock.local_addr().expect("addr").port();
    let options = HostOptions {
        bind: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        discovery: Some(d.clone()),
        txt_extras: vec![("map".into(), "arena".into())],
    };
    let host = LobbyHost::open(config, options).expect("open lobby");
    let instance = host.instance_name().expect("advertised");

    let info = wait_for("the lobby in the browser", LIMIT, || match browser.poll() {
        Some(BrowseEvent::Added(i) | BrowseEvent::Updated(i)) if i.name == instance => Some(i),
        _ => None,
    });
    assert_eq!(info.compatibility, Compatibility::Compatible);
    assert_eq!(
        (info.players, info.max_players, info.password),
        (1, 4, false)
    );
    assert_eq!(
        info.txt.as_ref().and_then(|t| t.extra("map")),
        Some("arena")
    );
    assert_eq!(info.addr.port(), host.local_addr().port());

    let names = ["Ann", "Bob", "Ann"];
    let sockets: Vec<_> = names.iter().map(|_| game_socket()).collect();
    let mut clients: Vec<LobbyClient> = names
        .iter()
        .zip(&sockets)
        .map(|(n, s)| {
            let port = s.local_addr().expect("addr").port();
            LobbyClient::join(info.addr, JoinConfig::new(n, GAME, VERSION, port))
        })
        .collect();
    let mut joined_names = Vec::new();
    for c in &clients {
        let name = wait_for("joined", LIMIT, || match c.poll() {
            Some(ClientEvent::Joined { name, .. }) => Some(name),
            Some(ClientEvent::JoinFailed(e)) => panic!("join failed: {e}"),
            _ => None,
        });
        joined_names.push(name);
    }
    joined_names.sort();
    assert_eq!(joined_names, ["Ann", "Ann (2)", "Bob"]);

    // The TXT follows the roster.
    wait_for("n=4 in the browser", LIMIT, || match browser.poll() {
        Some(BrowseEvent::Updated(i)) if i.name == instance && i.players == 4 => Some(()),
        _ => None,
    });

    clients[0].chat("hello lobby");
    wait_for("chat at host", LIMIT, || match host.poll() {
        Some(HostEvent::Chat { text, .. }) if text == "hello lobby" => Some(()),
        _ => None,
    });
    for c in &clients[1..] {
        wait_for("chat at client", LIMIT, || match c.poll() {
            Some(ClientEvent::Chat { text, .. }) if text == "hello lobby" => Some(()),
            _ => None,
        });
    }

    assert!(host.start().is_err(), "nobody is ready yet");
    for c in &clients {
        c.set_ready(true);
    }
    wait_for("everyone ready", LIMIT, || {
        let r = host.roster();
        (r.len() == 4 && r.iter().all(|m| m.ready)).then_some(())
    });
    let plan = host.start().expect("start");
    assert_eq!(plan.local_handle, 0);
    assert_eq!(plan.players.len(), 4);

    let mut handles = vec![0];
    for (c, s) in clients.iter().zip(&sockets) {
        let mine: MatchPlan = wait_for("the plan", LIMIT, || match c.poll() {
            Some(ClientEvent::Started(p)) => Some(p),
            _ => None,
        });
        assert_eq!(
            mine.without_secrets(),
            plan.for_member(mine.local_handle).without_secrets()
        );
        let me = mine.local_player().expect("own seat");
        let want = SocketAddr::new(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            s.local_addr().expect("a").port(),
        );
        assert_eq!(me.addr, PeerAddr::Udp(want));
        handles.push(mine.local_handle);
    }
    handles.sort_unstable();
    assert_eq!(handles, [0, 1, 2, 3]);
    let host_port = host_sock.local_addr().expect("addr").port();
    assert_eq!(
        plan.players[0].addr,
        PeerAddr::Udp(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), host_port))
    );

    // The lobby stays listed, in a match.
    wait_for("the lobby listed in match", LIMIT, || {
        match browser.poll() {
            Some(BrowseEvent::Updated(i)) if i.name == instance => i
                .txt
                .filter(|t| t.stage == LobbyStage::InMatch && t.vacant.is_empty())
                .map(drop),
            Some(BrowseEvent::Removed { name, .. }) if name == instance => {
                panic!("the lobby left the list at the start")
            }
            _ => None,
        }
    });
    // Bob goes: his seat is vacant, the host and the others are told, and
    // the TXT says whose seat is free.
    drop(clients.remove(1));
    wait_for("the host sees Bob's seat vacated", LIMIT, || {
        match host.poll() {
            Some(HostEvent::Seat(news)) => {
                (news.change == SeatChange::Vacated && news.name == "Bob").then_some(())
            }
            _ => None,
        }
    });
    assert_eq!(host.vacant_seats(), ["Bob"]);
    for c in &clients {
        wait_for("a member sees Bob's seat vacated", LIMIT, || {
            match c.poll() {
                Some(ClientEvent::Seat(news)) => {
                    (news.change == SeatChange::Vacated && news.name == "Bob").then_some(())
                }
                Some(ClientEvent::LobbyClosed(r)) => panic!("control channel closed: {r}"),
                _ => None,
            }
        });
    }
    let vacant = host.roster().into_iter().filter(|m| m.vacant).count();
    assert_eq!(vacant, 1, "the roster keeps the seat, vacant");
    let info = wait_for("the TXT shows Bob's seat free", LIMIT, || {
        match browser.poll() {
            Some(BrowseEvent::Updated(i)) if i.name == instance => i
                .txt
                .as_ref()
                .is_some_and(|t| t.vacant == ["Bob"])
                .then_some(i),
            _ => None,
        }
    });
    assert_eq!(info.players, 3, "members present");
}

#[test]
fn incompatible_lobbies_are_listed_as_such_and_names_are_made_unique() {
    let d = discovery();
    let mut browser = d.browse(GAME, VERSION).expect("browse");
    let name = unique("Twin");
    let open = |version: &str, password: Option<&str>| {
        let mut config = HostConfig::new(&name, "H", GAME, version);
        config.password = password.map(str::to_string);
        let options = HostOptions {
            bind: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            discovery: Some(d.clone()),
            txt_extras: Vec::new(),
        };
        LobbyHost::open(config, options).expect("open lobby")
    };
    let newer = open("2.0.0", Some("pw"));
    let twin = open(VERSION, None);
    assert_eq!(newer.instance_name(), Some(name.clone()));
    let twin_name = format!("{name} (2)");
    assert_eq!(twin.instance_name(), Some(twin_name.clone()));

    let info = wait_for("the newer lobby", LIMIT, || match browser.poll() {
        Some(BrowseEvent::Added(i) | BrowseEvent::Updated(i)) if i.name == name => Some(i),
        _ => None,
    });
    assert!(info.password);
    assert_eq!(
        info.compatibility,
        Compatibility::GameVersion {
            host: "2.0.0".into(),
            ours: VERSION.into()
        }
    );
    assert_eq!(
        info.compatibility.to_string(),
        "host runs version 2.0.0, you run 1.0.0"
    );
    // Joining anyway is refused with the reason, over real TCP.
    let c = LobbyClient::join(info.addr, JoinConfig::new("X", GAME, VERSION, 1));
    let err = wait_for("refusal", LIMIT, || match c.poll() {
        Some(ClientEvent::JoinFailed(e)) => Some(e),
        _ => None,
    });
    assert_eq!(err.to_string(), "this lobby needs a password");

    // Closing a lobby tells its members and removes it from the list.
    let member = LobbyClient::join(twin.local_addr(), JoinConfig::new("M", GAME, VERSION, 1));
    wait_for("joined twin", LIMIT, || match member.poll() {
        Some(ClientEvent::Joined { .. }) => Some(()),
        _ => None,
    });
    // Listed first (a lobby closed before it was ever announced is never
    // listed, so never removed).
    wait_for("twin listed", LIMIT, || {
        browser
            .lobbies()
            .iter()
            .any(|l| l.name == twin_name)
            .then_some(())
    });
    twin.close();
    let reason = wait_for("lobby closed", LIMIT, || match member.poll() {
        Some(ClientEvent::LobbyClosed(r)) => Some(r),
        _ => None,
    });
    assert_eq!(reason, nearplay_matchmaker::CloseReason::HostClosed);
    wait_for("twin removed", LIMIT, || match browser.poll() {
        Some(BrowseEvent::Removed { name, .. }) if name == twin_name => Some(()),
        _ => None,
    });
}

/// A relay between a LobbyClient and a LobbyHost, as a listener on the LAN
/// would sit: it copies every byte both ways and keeps a copy.
fn tap(host: SocketAddr) -> (SocketAddr, std::sync::Arc<std::sync::Mutex<Vec<u8>>>) {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind relay");
    let addr = listener.local_addr().expect("addr");
    let captured = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let cap = captured.clone();
    std::thread::spawn(move || {
        let Ok((client, _)) = listener.accept() else {
            return;
        };
        let Ok(upstream) = TcpStream::connect(host) else {
            return;
        };
        let pipe = |mut from: TcpStream,
                    mut to: TcpStream,
                    cap: std::sync::Arc<std::sync::Mutex<Vec<u8>>>| {
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = from.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    // Kept before it is passed on: whatever an end has
                    // received is already in the capture.
                    if let Ok(mut c) = cap.lock() {
                        c.extend_from_slice(&buf[..n]);
                    }
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = to.shutdown(std::net::Shutdown::Write);
            })
        };
        let (Ok(c2), Ok(u2)) = (client.try_clone(), upstream.try_clone()) else {
            return;
        };
        let a = pipe(client, upstream, cap.clone());
        let b = pipe(u2, c2, cap);
        let _ = (a.join(), b.join());
    });
    (addr, captured)
}

#[test]
fn a_listener_on_the_wire_finds_no_names_chat_or_match_key() {
    let mut config = HostConfig::new(&unique("Tapped"), "Hostmaster-Quill", GAME, VERSION);
    config.password = Some("open sesame seeds".into());
    config.game_port = 4001; // joiners refuse a plan with a seat on port 0
    let options = HostOptions {
        bind: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        ..Default::default()
    };
    let host = LobbyHost::open(config, options).expect("open lobby");
    let (relay, captured) = tap(host.local_addr());
    let mut jc = JoinConfig::new("Zanzibar-Ann", GAME, VERSION, 4000);
    jc.password = Some("open sesame seeds".into());
    let client = LobbyClient::join(relay, jc);
    let fingerprint = wait_for("joined through the relay", LIMIT, || match client.poll() {
        Some(ClientEvent::Joined { fingerprint, .. }) => Some(fingerprint),
        _ => None,
    });
    let host_fp = wait_for("host sees the member", LIMIT, || match host.poll() {
        Some(HostEvent::MemberJoined { fingerprint, .. }) => Some(fingerprint),
        _ => None,
    });
    assert_eq!(
        fingerprint, host_fp,
        "a plain relay is not a man in the middle"
    );
    client.chat("meet behind the blue tower");
    client.set_ready(true);
    wait_for("chat and ready at the host", LIMIT, || {
        host.roster().iter().all(|m| m.ready).then_some(())
    });
    let plan = host.start().expect("start");
    wait_for("plan at the member", LIMIT, || match client.poll() {
        Some(ClientEvent::Started(p)) => Some(p),
        Some(ClientEvent::JoinFailed(e)) => panic!("the member refused the plan: {e}"),
        _ => None,
    });
    let wire = captured.lock().map(|c| c.clone()).unwrap_or_default();
    assert!(wire.len() > 600, "the whole lobby went through the relay");
    for secret in [
        &plan.key.0[..],
        b"Zanzibar-Ann",
        b"Hostmaster-Quill",
        b"meet behind the blue tower",
        b"open sesame seeds",
    ] {
        assert!(
            !wire.windows(secret.len()).any(|w| w == secret),
            "{secret:?} seen on the wire"
        );
    }
}
