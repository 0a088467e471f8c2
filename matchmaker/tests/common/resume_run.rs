//! The game loop of the resume tests (`play_resume` on the LAN,
//! `play_online_resume` by room code): players ticked at 60 fps (times
//! [`set_speed`]) with a deadline, a lobby started, a newcomer seated while the others play on,
//! and the checksum every player agrees on at the end.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nearplay_matchmaker::prelude::*;

use super::game::match_started;
use super::resume_game::Player;
use super::wait_for;

/// The game frame every player must reach and agree on.
pub const END: i32 = 1200;
/// The goal for the players already in the match.
pub const MAX_STALL_TICKS: u32 = 6;
/// One game tick at 60 fps: the loop's pacing, not a wait for anything.
pub const TICK: Duration = Duration::from_micros(16_667);

/// How many times faster than real time [`run`] ticks (1 unless a test
/// binary sets it; one setting per test binary).
static SPEED: AtomicU32 = AtomicU32::new(1);

/// Ticks a [`Pace`] may play back to back to catch up after the thread was
/// descheduled; beyond that the missed ticks are dropped, as a game drops
/// frames. A burst of ticks advances every player faster than datagrams
/// travel and would count the machine's stall as the protocol's
/// (docs/pitfalls.md, "Measuring stalls under load").
const MAX_CATCH_UP_TICKS: u32 = 2;

/// Runs the game loops `speed` times faster than real time, like the
/// demo's `--speed`: a tick is still one game frame, so frames and stalls
/// in ticks mean the same; wall-clock timeouts (GGRS's 2 s disconnect, the
/// lobby's) are not scaled. The LAN tests use 4 (loopback carries a
/// datagram well within a tick), and so do the online ones by room code
/// on loopback: the agreement crosses WebRTC through the host 60 frames
/// ahead (`ONLINE_MARGIN_FRAMES`), 250 ms at 4x, and took well under that
/// (the others never waited at the switch frame, also beside two busy
/// loops and five other matches).
pub fn set_speed(speed: u32) {
    SPEED.store(speed.max(1), Ordering::Relaxed);
}

/// Ticks `players` at 60 fps (times the [`set_speed`] factor) until
/// `done`, within `limit`.
pub fn run(
    players: &mut [&mut Player],
    what: &str,
    limit: Duration,
    mut done: impl FnMut(&mut [&mut Player]) -> bool,
) {
    let deadline = Instant::now() + limit;
    let mut pace = Pace::new(TICK / SPEED.load(Ordering::Relaxed));
    while !done(players) {
        assert!(
            Instant::now() < deadline,
            "{what}: not within {limit:?}; frames {:?}",
            players
                .iter()
                .map(|p| (p.frame(), p.settled()))
                .collect::<Vec<_>>()
        );
        for p in players.iter_mut() {
            p.tick();
        }
        pace.wait();
    }
}

/// A game loop's frame pacing: one tick every `tick`, missed ticks beyond
/// [`MAX_CATCH_UP_TICKS`] dropped after a descheduling.
pub struct Pace {
    tick: Duration,
    next: Instant,
}

impl Pace {
    /// Pacing at one tick every `tick`, from now.
    pub fn new(tick: Duration) -> Pace {
        Pace {
            tick,
            next: Instant::now(),
        }
    }

    /// Waits for the next tick: frame pacing like a real game's, not a
    /// wait for anything (the loops around it end at their deadlines).
    pub fn wait(&mut self) {
        self.next += self.tick;
        let now = Instant::now();
        if now > self.next + self.tick * MAX_CATCH_UP_TICKS {
            self.next = now;
        }
        std::thread::sleep(self.next.saturating_duration_since(now));
    }
}

/// The lobby's players all ready, then started: the host's first.
pub fn start(host: &mut Lobby, joiners: &mut [&mut Lobby], limit: Duration) -> Vec<MatchStart> {
    let want = joiners.len() + 1;
    wait_for("everyone ready", limit, || {
        for j in joiners.iter_mut() {
            if let Some(LobbyEvent::Failed(e)) = j.poll() {
                panic!("join failed: {e}");
            }
        }
        match host.poll()? {
            LobbyEvent::RosterChanged(r) if r.len() == want && r.iter().all(|m| m.ready) => {
                Some(())
            }
            _ => None,
        }
    });
    host.start().expect("start");
    let mut all: Vec<&mut Lobby> = vec![host];
    all.extend(joiners.iter_mut().map(|j| &mut **j));
    match_started(&mut all, limit)
}

/// Plays `players` on while `lobby` (a restarted game or a newcomer,
/// created at `since`) joins, until its match starts: the new player.
pub fn seat_newcomer(
    players: &mut [&mut Player],
    lobby: Lobby,
    name: &str,
    since: Instant,
    limit: Duration,
) -> Player {
    let mut lobby = Some(lobby);
    let mut seated: Option<Player> = None;
    let mut failed = None;
    let mut own = Vec::new();
    run(players, &format!("{name} seated"), limit, |_| {
        let l = lobby.as_mut().expect("the newcomer's lobby");
        while let Some(e) = l.poll() {
            match e {
                LobbyEvent::MatchStarted(start) => {
                    let l = lobby.take().expect("the newcomer's lobby");
                    seated = Some(Player::new(name, l, start, since));
                    return true;
                }
                LobbyEvent::Failed(e) => failed = Some(e.to_string()),
                other if own.len() < 32 => own.push(format!("{other:?}")),
                _ => {}
            }
        }
        failed.is_some()
    });
    if let Some(e) = failed {
        let news: Vec<(&str, &[String])> = players
            .iter()
            .map(|p| (p.name.as_str(), p.news.as_slice()))
            .collect();
        panic!(
            "{name}: joining the running match failed: {e}; its events: {own:?}; \
             the others' news: {news:?}"
        );
    }
    seated.expect("seated")
}

/// Plays `players` on until each one's session reported `gone` (GGRS
/// timed a vanished player out), counting stalls from now on; returns each
/// one's longest stall meanwhile (and counting starts again).
pub fn until_dropped(
    players: &mut [&mut Player],
    gone: &nearplay_netcode::NetEvent,
    limit: Duration,
) -> Vec<u32> {
    for p in players.iter_mut() {
        p.measuring = true;
    }
    let mut dropped = vec![false; players.len()];
    run(players, "the vanished player dropped", limit, |p| {
        for (d, p) in dropped.iter_mut().zip(p.iter_mut()) {
            *d |= p.drain_events().contains(gone);
        }
        dropped.iter().all(|d| *d)
    });
    players.iter_mut().map(|p| p.take_longest_stall()).collect()
}

/// Every player's checksum at game frame [`END`] is the same.
pub fn agree_at_end(players: &[&mut Player]) {
    let sums: Vec<_> = players.iter().map(|p| p.sum(END)).collect();
    assert!(sums[0].is_some(), "no checksum at frame {END}");
    assert!(
        sums.iter().all(|s| *s == sums[0]),
        "checksums differ at {END}: {sums:?}"
    );
}
