//! Three players come back at once (one Wi-Fi drop took them all), end to
//! end through the one lobby handle with the plain API: real lobbies on
//! loopback and UDP sessions of the test game. Bo, Cy and Dee's games go
//! away at frame 300; all three come back with their tickets at the same
//! moment. The first back resumes at once (key epoch 1); the two others
//! are welcomed but seated when that resume is over, together, as two
//! newcomers of epoch 2 (Bo, just back, is a survivor of it); all five
//! agree at frame 1200.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use common::game::match_started;
use common::resume_game::Player;
use common::resume_run::Pace;
use common::{discovery, unique, wait_for};
use nearplay_matchmaker::prelude::*;
use nearplay_netcode::{NetEvent, PeerAddr};

const GAME: &str = "nearplay-resume-together-test";
const LIMIT: Duration = Duration::from_secs(15);
const END: i32 = 1200;
/// One game tick at 60 fps, run `SPEED` times faster (as `play_resume`: a
/// tick is still a frame; wall-clock timeouts are not scaled): the loop's
/// pacing, not a wait for anything.
const TICK: Duration = Duration::from_micros(16_667 / 4);

fn matchmaker() -> Matchmaker {
    let mut config = MatchmakerConfig::new(GAME, "1.0.0");
    config.bind = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    Matchmaker::with_discovery(config, discovery()).expect("matchmaker")
}

/// A game that is not playing yet: its lobby until its match starts.
struct Coming {
    name: &'static str,
    lobby: Option<Lobby>,
    /// When its match started: the first player back's switch frame then
    /// (`None` if there was no first player back yet, or it had not
    /// switched).
    started: Option<Option<i32>>,
}

/// Ticks `players` at four times 60 fps, polls the `coming` lobbies (a started one
/// joins the players), until `done`, within `limit`.
fn run(
    players: &mut Vec<Player>,
    coming: &mut [Coming],
    what: &str,
    limit: Duration,
    done: impl Fn(&[Player]) -> bool,
) {
    let deadline = Instant::now() + limit;
    let mut pace = Pace::new(TICK);
    while !done(players) {
        assert!(
            Instant::now() < deadline,
            "{what}: not within {limit:?}; frames {:?}",
            players
                .iter()
                .map(|p| (&p.name, p.frame(), p.settled()))
                .collect::<Vec<_>>()
        );
        for p in players.iter_mut() {
            p.tick();
        }
        for c in coming.iter_mut() {
            let Some(lobby) = c.lobby.as_mut() else {
                continue;
            };
            while let Some(e) = lobby.poll() {
                match e {
                    LobbyEvent::MatchStarted(start) => {
                        c.started = Some(players.get(2).and_then(|p| p.switched_at));
                        let lobby = c.lobby.take().expect("lobby");
                        players.push(Player::new(c.name, lobby, start, Instant::now()));
                        break;
                    }
                    LobbyEvent::Failed(e) => panic!("{}: rejoin failed: {e}", c.name),
                    _ => {}
                }
            }
        }
        // Like a real game's, four times faster.
        pace.wait();
    }
}

#[test]
fn three_players_back_at_once_resume_in_two_epochs_and_all_five_agree() {
    let mm = matchmaker();
    let mut host = mm.host(LobbySettings::new(&unique("Together"), "Hana").max_players(5));
    let addr = wait_for("open", LIMIT, || match host.poll()? {
        LobbyEvent::Opened { .. } => host.lobby_addr(),
        _ => None,
    });
    let names = ["Ann", "Bo", "Cy", "Dee"];
    let mut joiners: Vec<Lobby> = names
        .iter()
        .map(|n| mm.join(addr, PlayerSettings::new(n).auto_ready(true)))
        .collect();
    wait_for("everyone ready", LIMIT, || {
        for j in joiners.iter_mut() {
            if let Some(LobbyEvent::Failed(e)) = j.poll() {
                panic!("join failed: {e}");
            }
        }
        match host.poll()? {
            LobbyEvent::RosterChanged(r) if r.len() == 5 && r.iter().all(|m| m.ready) => Some(()),
            _ => None,
        }
    });
    host.start().expect("start");
    let mut all: Vec<&mut Lobby> = vec![&mut host];
    all.extend(joiners.iter_mut());
    let starts = match_started(&mut all, LIMIT);
    let t0 = Instant::now();
    let mut lobbies = std::iter::once(host).chain(joiners);
    let mut players: Vec<Player> = std::iter::once("Hana")
        .chain(names)
        .zip(starts)
        .map(|(n, s)| Player::new(n, lobbies.next().expect("lobby"), s, t0))
        .collect();
    run(
        &mut players,
        &mut [],
        "frame 300",
        Duration::from_secs(60),
        |p| p.iter().all(|p| p.frame() >= Some(300)),
    );

    // Bo, Cy and Dee's games go away; Hana and Ann see all three drop.
    let leaving: Vec<Player> = players.drain(2..).collect();
    let tickets: Vec<RejoinTicket> = leaving
        .iter()
        .map(|p| p.lobby.rejoin_ticket().expect("ticket"))
        .collect();
    let gone: Vec<NetEvent> = leaving
        .iter()
        .map(|p| NetEvent::PeerDisconnected {
            peer: PeerAddr::Udp(p.lobby.game_addr().expect("game address")),
        })
        .collect();
    let seats: Vec<(String, usize)> = leaving.iter().map(|p| (p.name.clone(), p.handle)).collect();
    drop(leaving);
    let mut seen: Vec<Vec<NetEvent>> = vec![Vec::new(); 2];
    let deadline = Instant::now() + LIMIT;
    let mut pace = Pace::new(TICK);
    while seen.iter().any(|s| gone.iter().any(|g| !s.contains(g))) {
        assert!(Instant::now() < deadline, "drops not seen: {seen:?}");
        for (s, p) in seen.iter_mut().zip(players.iter_mut()) {
            p.tick();
            s.extend(p.drain_events());
        }
        pace.wait();
    }

    // All three come back at the same moment.
    let mut coming: Vec<Coming> = ["Bo", "Cy", "Dee"]
        .into_iter()
        .zip(tickets)
        .map(|(name, t)| Coming {
            name,
            lobby: Some(mm.join(addr, PlayerSettings::new(name).rejoin(t))),
            started: None,
        })
        .collect();
    run(
        &mut players,
        &mut coming,
        "frame 1200",
        Duration::from_secs(120),
        |p| p.len() == 5 && p.iter().all(|p| p.settled() >= END),
    );
    let sums: Vec<_> = players.iter().map(|p| (&p.name, p.sum(END))).collect();
    assert!(sums[0].1.is_some(), "no checksum at {END}");
    assert!(sums.iter().all(|s| s.1 == sums[0].1), "{sums:?}");
    for p in &players[2..] {
        assert!(p.newcomer, "{} came back through a resume", p.name);
        assert!(
            seats.contains(&(p.name.clone(), p.handle)),
            "{} in its own seat",
            p.name
        );
    }
    // The first back resumed alone (epoch 1); the two others were seated
    // only once it had switched, and resumed together (epoch 2), which
    // every other player, the first back included, switched to as well.
    let mut order: Vec<(&str, Option<i32>)> = coming
        .iter()
        .map(|c| (c.name, c.started.expect("started")))
        .collect();
    order.sort_by_key(|(_, first)| *first);
    let switches: Vec<(&String, Option<i32>)> =
        players.iter().map(|p| (&p.name, p.switched_at)).collect();
    assert_eq!(order[0].1, None, "the first back started alone: {order:?}");
    let first = order[1].1.expect("seated after the first back switched");
    assert_eq!(order[2].1, Some(first), "{order:?}");
    let last = players[0].switched_at.expect("Hana switched");
    assert!(last > first, "a second epoch: {switches:?}");
    assert!(
        players.iter().all(|p| p.switched_at == Some(last)),
        "{switches:?}"
    );
    println!(
        "three back at once: {order:?} (name, first back's switch frame when seated); last switch {switches:?}"
    );
}
