//! The Bevy plugin, headless: two apps in one process host and join a
//! lobby found over mDNS on loopback, ready up by themselves, and reach a
//! running session on both, with the plan's frame rate and one
//! `MatchStarted` each; then the match ends and a rematch starts over the
//! same sockets.
#![cfg(feature = "bevy")]

mod bevy_common;

use std::time::Duration;

use bevy::prelude::*;
use bevy_common::*;
use bevy_ggrs::{RollbackFrameRate, Session};
use nearplay::bevy::prelude::*;
use nearplay::bevy::{CHAT_LOG_LINES, LobbyBrowser};

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn two_apps_host_find_join_and_play_then_rematch() {
    let mut apps = [app(auto_two()), app(auto_two())];
    let [host, member] = &mut apps;
    let mut settings = LobbySettings::new(&unique("Plugin"), "Host");
    settings.net.fps = 30;
    host_and_find(host, member, settings, "Guest");

    run_until(&mut apps, "both in the match", LIMIT, |a| {
        state(a) == NetState::InMatch
    });
    run_until(&mut apps, "frame 120 confirmed", LIMIT, |a| {
        confirmed(a) >= 120
    });
    for (i, a) in apps.iter().enumerate() {
        let w = a.world();
        let seen = seen(a);
        assert!(seen.failed.is_empty(), "app {i}: {:?}", seen.failed);
        assert!(
            seen.match_failed.is_empty(),
            "app {i}: {:?}",
            seen.match_failed
        );
        assert_eq!(seen.started.len(), 1, "app {i}: one MatchStarted");
        assert_eq!(seen.entered_match, 1, "app {i}");
        let plan = &seen.started[0];
        assert_eq!(plan.players.len(), 2);
        assert_eq!(plan.settings.fps, 30, "the host's settings reach everyone");
        assert_eq!(w.resource::<RollbackFrameRate>().0, 30);
        assert_eq!(w.resource::<CurrentMatch>().plan.match_id, plan.match_id);
        assert!(matches!(w.resource::<Session<Cfg>>(), Session::P2P(_)));
        assert_eq!(w.resource::<Roster>().len(), 2);
        assert!(w.resource::<Roster>().iter().all(|m| m.ready));
        assert_eq!(w.resource::<CurrentLobby>().is_host, i == 0);
        assert!(
            !w.contains_resource::<LobbyBrowser>(),
            "no browsing in a match"
        );
    }
    assert_eq!((seen(&apps[0]).opened, seen(&apps[1]).joined), (1, 1));
    let handles: Vec<usize> = apps
        .iter()
        .map(|a| seen(a).started[0].local_handle)
        .collect();
    assert_ne!(handles[0], handles[1], "each app plays its own seat");
    let first_match = seen(&apps[0]).started[0].match_id;

    // End the match on both; the lobby stays, and both agree on a rematch.
    for a in apps.iter_mut() {
        run(a, |mut lobby: LobbyCommands| lobby.end_match());
    }
    run_until(&mut apps, "back in the lobby", LIMIT, |a| {
        state(a) == NetState::InLobby
            && !a.world().contains_resource::<Session<Cfg>>()
            && !a.world().contains_resource::<CurrentMatch>()
    });
    for a in apps.iter_mut() {
        run(a, |mut lobby: LobbyCommands| lobby.rematch()).expect("rematch");
    }
    run_until(&mut apps, "the rematch running", LIMIT, |a| {
        seen(a).started.len() == 2 && confirmed(a) >= 60
    });
    for a in &apps {
        let seen = seen(a);
        assert_ne!(seen.started[1].match_id, first_match, "a new match");
        assert_eq!(seen.entered_match, 2);
        assert!(
            seen.failed.is_empty() && seen.match_failed.is_empty(),
            "{seen:?}"
        );
    }
}

#[test]
fn acting_outside_a_lobby_is_a_typed_error() {
    let mut app = app(MatchOptions::default());
    app.update();
    let result = run(&mut app, |mut lobby: LobbyCommands| lobby.set_ready(true));
    assert!(
        matches!(result, Err(LobbyActionError::NotInLobby)),
        "{result:?}"
    );
    let result = run(&mut app, |mut lobby: LobbyCommands| lobby.start());
    assert!(
        matches!(result, Err(LobbyActionError::NotInLobby)),
        "{result:?}"
    );
    assert_eq!(state(&app), NetState::Browsing);
    assert!(
        app.world().contains_resource::<LobbyBrowser>(),
        "browsing lists lobbies"
    );
}

#[test]
fn the_chat_log_is_bounded() {
    let mut log = ChatLog::default();
    for i in 0..CHAT_LOG_LINES + 5 {
        log.push(ChatLine {
            from: 1,
            name: "Ann".into(),
            text: i.to_string(),
        });
    }
    assert_eq!(log.0.len(), CHAT_LOG_LINES);
    assert_eq!(log.0.front().map(|l| l.text.as_str()), Some("5"));
}
