//! The one lobby handle on the LAN (loopback only, mDNS confined to `lo`):
//! a host and two joiners found through a `LobbyList`, to `MatchStarted`
//! on all three with one plan, sessions that play, and a rematch over the
//! same sockets; ready and chat called right after `join` (the README's
//! bug: they were dropped until the welcome); typed refusals; kick, chat,
//! leave; start when N are ready.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use common::game::{play, seats};
use common::{discovery, unique, wait_for};
use nearplay_matchmaker::lobby::client::JoinError;
use nearplay_matchmaker::prelude::*;
use nearplay_netcode::PeerAddr;

const GAME: &str = "nearplay-play-test";
const VERSION: &str = "1.0.0";
const LIMIT: Duration = Duration::from_secs(15);

fn matchmaker() -> Matchmaker {
    let mut config = MatchmakerConfig::new(GAME, VERSION);
    config.bind = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    Matchmaker::with_discovery(config, discovery()).expect("matchmaker")
}

/// Polls `lobby` until `f` picks an event; panics on a failure first.
fn until_event<T>(what: &str, lobby: &mut Lobby, mut f: impl FnMut(&LobbyEvent) -> Option<T>) -> T {
    wait_for(what, LIMIT, || {
        let e = lobby.poll()?;
        if let LobbyEvent::Failed(err) = &e {
            panic!("{what}: failed: {err}");
        }
        f(&e)
    })
}

fn opened(host: &mut Lobby) -> String {
    until_event("the lobby open", host, |e| match e {
        LobbyEvent::Opened { name, .. } => Some(name.clone()),
        _ => None,
    })
}

fn joined(lobby: &mut Lobby) -> MemberId {
    until_event("joined", lobby, |e| match e {
        LobbyEvent::Joined { you, .. } => Some(*you),
        _ => None,
    })
}

/// Polls every lobby until each returned `MatchStarted`; their plans.
fn match_started(lobbies: &mut [&mut Lobby]) -> Vec<MatchStart> {
    common::game::match_started(lobbies, LIMIT)
}

/// The plans agree (one match, own handles) and each seat's own address
/// is its lobby's game socket.
fn check_plans(starts: &[MatchStart], lobbies: &[&mut Lobby]) {
    let first = &starts[0].plan;
    let mut handles: Vec<usize> = starts.iter().map(|s| s.plan.local_handle).collect();
    for (s, l) in starts.iter().zip(lobbies) {
        assert_eq!(
            s.plan.without_secrets(),
            first.for_member(s.plan.local_handle).without_secrets(),
            "one plan"
        );
        let PeerAddr::Udp(own) = s.plan.players[s.plan.local_handle].addr else {
            panic!("LAN plan without UDP address");
        };
        assert_eq!(Some(own.port()), l.game_addr().map(|a| a.port()));
        assert_eq!(l.phase(), LobbyPhase::InMatch);
    }
    handles.sort_unstable();
    assert_eq!(handles, (0..starts.len()).collect::<Vec<_>>());
}

#[test]
fn host_and_two_joiners_play_a_match_and_a_rematch() {
    let mm = matchmaker();
    let mut list = mm.browse();
    let mut host = mm.host(LobbySettings::new(&unique("Play"), "Hana"));
    assert!(host.is_host());
    let name = opened(&mut host);
    assert_eq!(host.phase(), LobbyPhase::InLobby);
    let entry = wait_for("the lobby in the list", LIMIT, || match list.poll() {
        Some(ListEvent::Added(e) | ListEvent::Updated(e)) if e.name == name => Some(e),
        _ => None,
    });
    assert!(entry.compatibility.is_compatible());
    assert!(matches!(entry.place, LobbyPlace::Lan { .. }));
    assert!(list.lobbies().iter().any(|e| e.name == name));

    let mut ann = mm.join(&entry, PlayerSettings::new("Ann"));
    let mut bo = mm.join(&entry, PlayerSettings::new("Bo"));
    // Right after join, before any welcome: queued, not lost.
    assert_eq!(ann.phase(), LobbyPhase::Joining);
    ann.set_ready(true).expect("queued");
    bo.set_ready(true).expect("queued");
    joined(&mut ann);
    joined(&mut bo);
    until_event("everyone ready at the host", &mut host, |e| match e {
        LobbyEvent::RosterChanged(r) if r.len() == 3 && r.iter().all(|m| m.ready) => Some(()),
        _ => None,
    });
    host.start().expect("start");
    let starts = match_started(&mut [&mut host, &mut ann, &mut bo]);
    check_plans(&starts, &[&mut host, &mut ann, &mut bo]);
    let (mut seats_1, plans_1) = seats(starts);
    let frame = play(&mut seats_1, 60, Duration::from_secs(30));
    drop(seats_1);

    // Rematch: each member asks; the same plan's rematch, same sockets.
    for l in [&mut host, &mut ann, &mut bo] {
        l.rematch().expect("rematch");
    }
    let starts = match_started(&mut [&mut host, &mut ann, &mut bo]);
    for (s, p) in starts.iter().zip(&plans_1) {
        assert_eq!(s.plan, p.rematch());
        assert_ne!(s.plan.match_id, p.match_id);
    }
    check_plans(&starts, &[&mut host, &mut ann, &mut bo]);
    let (mut seats_2, _) = seats(starts);
    let frame_2 = play(&mut seats_2, 60, Duration::from_secs(30));
    println!("LAN match settled at frame {frame}, rematch at frame {frame_2}");
}

#[test]
fn ready_and_chat_right_after_join_are_sent_on_welcome() {
    let mm = matchmaker();
    let mut host = mm.host(LobbySettings::new(&unique("Queue"), "Hana"));
    opened(&mut host);
    let addr = host.lobby_addr().expect("lobby address");
    let mut ann = mm.join(addr, PlayerSettings::new("Ann"));
    ann.set_ready(true).expect("queued");
    ann.chat("hello before the welcome").expect("queued");
    let mut ready = false;
    let mut chat = false;
    wait_for("Ann's queued ready and chat at the host", LIMIT, || {
        let _ = ann.poll();
        match host.poll()? {
            LobbyEvent::RosterChanged(r) => ready |= r.iter().any(|m| m.id != 0 && m.ready),
            LobbyEvent::Chat { name, text, .. } => {
                chat |= name == "Ann" && text == "hello before the welcome";
            }
            _ => {}
        }
        (ready && chat).then_some(())
    });
}

#[test]
fn queued_ready_is_dropped_with_the_typed_failure() {
    let mm = matchmaker();
    // A port nothing listens on (bound, then closed).
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let mut ann = mm.join(addr, PlayerSettings::new("Ann"));
    ann.set_ready(true).expect("queued");
    ann.chat("anyone?").expect("queued");
    let error = wait_for("the failure", LIMIT, || match ann.poll()? {
        LobbyEvent::Failed(e) => Some(e),
        other => panic!("before the failure: {other:?}"),
    });
    assert!(
        matches!(error, LobbyError::Join(JoinError::Unreachable(_))),
        "{error:?}"
    );
    assert_eq!(ann.phase(), LobbyPhase::Closed);
    assert!(ann.poll().is_none(), "nothing after the failure");
    assert_eq!(ann.set_ready(true), Err(LobbyActionError::NotInLobby));
}

#[test]
fn start_is_refused_with_typed_errors() {
    let mm = matchmaker();
    let mut host = mm.host(LobbySettings::new(&unique("Refuse"), "Hana"));
    opened(&mut host);
    assert_eq!(host.start(), Err(LobbyActionError::TooFew));
    let mut ann = mm.join(host.lobby_addr().expect("addr"), PlayerSettings::new("Ann"));
    assert_eq!(ann.start(), Err(LobbyActionError::NotHost));
    assert_eq!(ann.kick(0), Err(LobbyActionError::NotHost));
    let you = joined(&mut ann);
    until_event("Ann in the roster", &mut host, |e| match e {
        LobbyEvent::RosterChanged(r) if r.len() == 2 => Some(()),
        _ => None,
    });
    assert_eq!(
        host.start(),
        Err(LobbyActionError::NotReady(vec!["Ann".to_string()]))
    );
    assert_eq!(
        host.kick(you + 100),
        Err(LobbyActionError::NoSuchMember(you + 100))
    );
    assert_eq!(host.rematch(), Err(LobbyActionError::NoMatch));
    ann.set_ready(true).expect("ready");
    until_event("Ann ready", &mut host, |e| match e {
        LobbyEvent::RosterChanged(r) if r.iter().all(|m| m.ready) => Some(()),
        _ => None,
    });
    host.start().expect("start");
    assert_eq!(host.start(), Err(LobbyActionError::NotInLobby));
    match_started(&mut [&mut host, &mut ann]);
    assert_eq!(host.start(), Err(LobbyActionError::NotInLobby));
    assert_eq!(ann.set_ready(false), Err(LobbyActionError::NotInLobby));
}

#[test]
fn kick_chat_and_leave() {
    let mm = matchmaker();
    let mut host = mm.host(LobbySettings::new(&unique("Kick"), "Hana"));
    opened(&mut host);
    let addr = host.lobby_addr().expect("addr");
    let mut ann = mm.join(addr, PlayerSettings::new("Ann"));
    let mut bo = mm.join(addr, PlayerSettings::new("Bo"));
    let mut cy = mm.join(addr, PlayerSettings::new("Cy"));
    joined(&mut ann);
    let bo_id = joined(&mut bo);
    joined(&mut cy);
    assert!(ann.fingerprint(ann.you().expect("id")).is_some());

    ann.chat("\u{1b}[2Jgg").expect("chat");
    let line = until_event("Ann's line at Bo", &mut bo, |e| match e {
        LobbyEvent::Chat { name, text, .. } => Some((name.clone(), text.clone())),
        _ => None,
    });
    assert_eq!(line.0, "Ann");
    assert!(!line.1.contains('\u{1b}'), "control characters cleaned");

    host.kick(bo_id).expect("kick");
    let reason = until_event("Bo kicked", &mut bo, |e| match e {
        LobbyEvent::Closed(r) => Some(r.clone()),
        _ => None,
    });
    assert_eq!(reason, CloseReason::Kicked);
    assert_eq!(bo.phase(), LobbyPhase::Closed);
    until_event("Bo gone at the host", &mut host, |e| match e {
        LobbyEvent::MemberLeft { id, reason, .. } if *id == bo_id => {
            assert_eq!(*reason, LeaveReason::Kicked);
            Some(())
        }
        _ => None,
    });

    ann.leave();
    assert_eq!(ann.phase(), LobbyPhase::Closed);
    let reason = until_event("Ann's own goodbye", &mut ann, |e| match e {
        LobbyEvent::Closed(r) => Some(r.clone()),
        _ => None,
    });
    assert_eq!(reason, CloseReason::Left);
    assert_eq!(ann.chat("still here?"), Err(LobbyActionError::NotInLobby));
    until_event("Ann left at the host", &mut host, |e| match e {
        LobbyEvent::MemberLeft { name, reason, .. } if name == "Ann" => {
            assert_eq!(*reason, LeaveReason::Left);
            Some(())
        }
        _ => None,
    });

    // The host leaves: its last member hears the lobby closed.
    drop(host);
    let reason = until_event("Cy told", &mut cy, |e| match e {
        LobbyEvent::Closed(r) => Some(r.clone()),
        _ => None,
    });
    assert_eq!(reason, CloseReason::HostClosed);
}

#[test]
fn auto_ready_and_start_when_ready_start_without_a_call() {
    let mm = matchmaker();
    let settings = LobbySettings::new(&unique("Auto"), "Hana").start_when_ready(2);
    let mut host = mm.host(settings);
    opened(&mut host);
    let addr = host.lobby_addr().expect("addr");
    let mut ann = mm.join(addr, PlayerSettings::new("Ann").auto_ready(true));
    let starts = match_started(&mut [&mut host, &mut ann]);
    assert_eq!(starts[0].plan.players.len(), 2);

    // A host that is not ready by default holds the start until it says so.
    let settings = LobbySettings::new(&unique("Hold"), "Hana")
        .host_ready(false)
        .start_when_ready(2);
    let mut host = mm.host(settings);
    opened(&mut host);
    let addr = host.lobby_addr().expect("addr");
    let mut bo = mm.join(addr, PlayerSettings::new("Bo").auto_ready(true));
    wait_for("Bo ready, the host not", LIMIT, || {
        match (bo.poll(), host.poll()?) {
            (Some(LobbyEvent::Failed(e)), _) => panic!("Bo: {e}"),
            (_, LobbyEvent::RosterChanged(r)) if r.len() == 2 && r[1].ready => {
                assert!(!r[0].ready, "host_ready(false)");
                Some(())
            }
            _ => None,
        }
    });
    assert_eq!(host.phase(), LobbyPhase::InLobby);
    host.set_ready(true).expect("ready");
    match_started(&mut [&mut host, &mut bo]);
}

/// `claim_lobby_name` (the name held while the menu shows, so Host is
/// listed at once): claiming the same name again keeps it (the old claim
/// is withdrawn first, no "Name (2)"), and the lobby hosted under it opens
/// with exactly that name, taking the claim over.
#[test]
fn a_claimed_name_is_kept_across_claims_and_taken_over_by_the_lobby() {
    let mm = matchmaker();
    let name = unique("Claimed den");
    mm.claim_lobby_name(&name).expect("claim");
    mm.claim_lobby_name(&name).expect("claim again");
    let mut host = mm.host(LobbySettings::new(&name, "Hana"));
    assert_eq!(opened(&mut host), name);
    // The name is the lobby's now: another process's claim would be
    // renamed, and so is a new claim of ours.
    mm.claim_lobby_name(&name).expect("claim a taken name");
    let mut second = mm.host(LobbySettings::new(&name, "Ivo"));
    assert_eq!(opened(&mut second), format!("{name} (2)"));
}
