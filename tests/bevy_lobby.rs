//! The Bevy plugin's lobby paths, headless over loopback: a failed join, a
//! host that starts by hand once everyone said ready (chat on the way), a
//! host that closes its lobby, a host flooding chat (bounded work per frame
//! and a bounded log), and a match whose packets are all lost (the plugin's
//! simulated impairment) ending in `MatchFailed`, back in the lobby.
#![cfg(feature = "bevy")]

mod bevy_common;

use std::net::TcpListener;
use std::time::Duration;

use bevy::prelude::*;
use bevy_common::*;
use bevy_ggrs::Session;
use nearplay::bevy::prelude::*;
use nearplay::bevy::{CHAT_LOG_LINES, LOBBY_EVENTS_PER_FRAME, LobbyBrowser};

const LIMIT: Duration = Duration::from_secs(30);

fn in_lobby_with_two(a: &App) -> bool {
    state(a) == NetState::InLobby && a.world().resource::<Roster>().len() == 2
}

#[test]
fn a_join_that_fails_says_why_and_returns_to_browsing() {
    // An address where nothing listens any more.
    let addr = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let mut apps = [app(MatchOptions::default())];
    run(&mut apps[0], move |mut lobby: LobbyCommands| {
        lobby.join(addr, PlayerSettings::new("Lost"))
    });
    run_until(&mut apps, "the join to fail", LIMIT, |a| {
        !seen(a).failed.is_empty()
    });
    run_until(&mut apps, "browsing again", LIMIT, |a| {
        state(a) == NetState::Browsing
    });
    assert!(
        seen(&apps[0]).failed[0].starts_with("false "),
        "a joiner's failure: {:?}",
        seen(&apps[0]).failed
    );
    let w = apps[0].world();
    assert!(!w.contains_resource::<LobbyHandle>());
    assert!(!w.contains_resource::<CurrentLobby>());
    assert!(w.resource::<Roster>().is_empty());
    assert!(w.contains_resource::<LobbyBrowser>(), "the list is back");
}

#[test]
fn hosting_online_without_a_server_fails_as_a_host() {
    let mut apps = [app(MatchOptions::default())];
    run(&mut apps[0], |mut lobby: LobbyCommands| {
        lobby.host(LobbySettings::new(&unique("Nowhere"), "Host").online(true))
    });
    run_until(&mut apps, "the failure", LIMIT, |a| {
        !seen(a).failed.is_empty() && state(a) == NetState::Browsing
    });
    let failed = &seen(&apps[0]).failed;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].starts_with("true "), "{failed:?}");
}

#[test]
fn a_host_starts_by_hand_once_everyone_is_ready() {
    let mut apps = [app(MatchOptions::default()), app(MatchOptions::default())];
    let [host, member] = &mut apps;
    let settings = LobbySettings::new(&unique("Manual"), "Host");
    host_and_find(host, member, settings, "Guest");
    run_until(&mut apps, "both in the lobby", LIMIT, in_lobby_with_two);

    let early = run(&mut apps[0], |mut lobby: LobbyCommands| lobby.start());
    assert!(
        matches!(early, Err(LobbyActionError::NotReady(ref names)) if names == &["Guest"]),
        "{early:?}"
    );
    run(&mut apps[1], |mut lobby: LobbyCommands| {
        lobby.set_ready(true).and(lobby.chat("ready when you are"))
    })
    .expect("ready and chat");
    run_until(&mut apps, "the member ready everywhere", LIMIT, |a| {
        a.world().resource::<Roster>().iter().all(|m| m.ready)
    });
    run_until(&mut apps, "the chat line everywhere", LIMIT, |a| {
        a.world()
            .resource::<ChatLog>()
            .0
            .iter()
            .any(|l| l.name == "Guest" && l.text == "ready when you are")
    });
    assert_eq!(state(&apps[0]), NetState::InLobby, "no start by itself");
    run(&mut apps[0], |mut lobby: LobbyCommands| lobby.start()).expect("start");
    run_until(&mut apps, "both in the match", LIMIT, |a| {
        state(a) == NetState::InMatch && confirmed(a) >= 30
    });
    assert_eq!(seen(&apps[1]).chat, ["Guest: ready when you are"]);
}

#[test]
fn a_host_closing_its_lobby_sends_the_member_back_to_browsing() {
    let mut apps = [app(MatchOptions::default()), app(MatchOptions::default())];
    let [host, member] = &mut apps;
    let settings = LobbySettings::new(&unique("Closing"), "Host");
    host_and_find(host, member, settings, "Guest");
    run_until(&mut apps, "both in the lobby", LIMIT, in_lobby_with_two);

    run(&mut apps[0], |mut lobby: LobbyCommands| lobby.leave());
    run_until(&mut apps, "both browsing", LIMIT, |a| {
        state(a) == NetState::Browsing
    });
    let member = &apps[1];
    assert_eq!(seen(member).closed.len(), 1, "{:?}", seen(member));
    assert!(seen(member).failed.is_empty(), "{:?}", seen(member));
    for a in &apps {
        assert!(!a.world().contains_resource::<LobbyHandle>());
        assert!(!a.world().contains_resource::<CurrentLobby>());
        assert!(a.world().resource::<Roster>().is_empty());
    }
}

#[test]
fn a_match_whose_packets_are_all_lost_fails_back_to_the_lobby() {
    let options = MatchOptions {
        impairment: Some(LinkProfile::lossy(1.0)),
        // The default 10 s is the same wait, longer.
        sync_timeout: Duration::from_secs(2),
        ..auto_two()
    };
    let mut apps = [app(options.clone()), app(options)];
    let [host, member] = &mut apps;
    let settings = LobbySettings::new(&unique("Lossy"), "Host");
    host_and_find(host, member, settings, "Guest");
    run_until(&mut apps, "the match to start", LIMIT, |a| {
        seen(a).started.len() == 1
    });
    // The sync deadline (2 s) passes with no packet through.
    run_until(&mut apps, "MatchFailed", LIMIT, |a| {
        !seen(a).match_failed.is_empty()
    });
    run_until(&mut apps, "back in the lobby", LIMIT, |a| {
        state(a) == NetState::InLobby
    });
    for a in &apps {
        let w = a.world();
        assert!(!w.contains_resource::<Session<Cfg>>());
        assert!(!w.contains_resource::<CurrentMatch>());
        assert!(
            seen(a).match_failed[0].contains("could not reach"),
            "{:?}",
            seen(a).match_failed
        );
    }
}

#[test]
fn a_chat_flood_is_taken_a_bounded_slice_per_frame() {
    let mut apps = [app(MatchOptions::default()), app(MatchOptions::default())];
    let [host, member] = &mut apps;
    let settings = LobbySettings::new(&unique("Flood"), "Host");
    host_and_find(host, member, settings, "Guest");
    run_until(&mut apps, "both in the lobby", LIMIT, in_lobby_with_two);

    const LINES: usize = 4 * LOBBY_EVENTS_PER_FRAME;
    run(&mut apps[0], |mut lobby: LobbyCommands| {
        for i in 0..LINES {
            lobby.chat(&format!("line {i}")).expect("chat");
        }
    });
    run_until(&mut apps, "every line at the member", LIMIT, |a| {
        a.world()
            .resource::<ChatLog>()
            .0
            .back()
            .is_some_and(|l| l.text == format!("line {}", LINES - 1))
    });
    let seen = seen(&apps[1]);
    assert_eq!(seen.chat.len(), LINES, "none lost");
    assert!(
        seen.chat_per_frame_max <= LOBBY_EVENTS_PER_FRAME,
        "{} chat messages in one frame",
        seen.chat_per_frame_max
    );
    let log = &apps[1].world().resource::<ChatLog>().0;
    assert_eq!(log.len(), CHAT_LOG_LINES);
    assert_eq!(
        log.front().map(|l| l.text.clone()),
        Some(format!("line {}", LINES - CHAT_LOG_LINES))
    );
}
