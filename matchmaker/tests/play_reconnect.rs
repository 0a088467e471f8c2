//! A window that stayed open comes back by itself (issue 13), through the
//! plain lobby API: three players with real lobbies and UDP sessions; Bo
//! plays from a network namespace of its own, joined to the others' by a
//! veth pair (through a bridge), and at frame 300 its link goes down for
//! 3 s. Nobody calls anything: Bo's lobby notices the drop, reconnects to
//! the same host with the seat's secret from its plan, the match resumes
//! at an agreed frame, and all three agree at frame 1200.
//!
//! Figures printed: the reconnect time (link restored -> Bo's first
//! confirmed frame in the resumed match) and the others' longest stall,
//! during the cut and while Bo came back. Needs root (network
//! namespaces); says SKIP otherwise.

mod common;

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::{Duration, Instant};

use common::game::match_started;
use common::netns::{LAB_IF, Lab, unavailable};
use common::resume_game::Player;
use common::{unique, wait_for};
use nearplay_matchmaker::prelude::*;

const GAME: &str = "nearplay-reconnect-test";
const LIMIT: Duration = Duration::from_secs(15);
/// The frame at which Bo's link goes down, and the frame all must agree at.
const CUT_AT: i32 = 300;
const END: i32 = 1200;
/// How long the link stays down: the fault itself, not a wait.
const CUT: Duration = Duration::from_secs(3);
/// The goal for the players already in the match while someone
/// comes back.
const MAX_STALL_TICKS: u32 = 6;
/// One game tick at 60 fps: the loop's pacing, not a wait for anything.
const TICK: Duration = Duration::from_micros(16_667);

/// A network namespace this thread can enter (`setns`).
struct Netns(File);

impl Netns {
    fn named(name: &str) -> Netns {
        Netns(File::open(format!("/run/netns/{name}")).expect("namespace file"))
    }

    /// The namespace this thread is in now.
    fn current() -> Netns {
        Netns(File::open("/proc/thread-self/ns/net").expect("own namespace"))
    }

    /// Moves this thread into the namespace: sockets it creates from now
    /// on (and threads it starts) live there.
    fn enter(&self) {
        // SAFETY: setns(2) on a namespace file we hold open; it changes
        // only this thread's network namespace.
        let rc = unsafe { libc::setns(self.0.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
    }
}

/// Puts the thread back where it was (before the lab is deleted).
struct Home(Netns);

impl Drop for Home {
    fn drop(&mut self) {
        self.0.enter();
    }
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A matchmaker whose sockets bind `ip` (no mDNS: joins by address).
fn matchmaker(ip: [u8; 4]) -> Matchmaker {
    let mut config = MatchmakerConfig::new(GAME, "1.0.0");
    config.bind = Some(IpAddr::V4(Ipv4Addr::from(ip)));
    config.lan = None;
    Matchmaker::new(config).expect("matchmaker")
}

/// Ticks every player at 60 fps, each from its own namespace, until
/// `done`, within `limit`.
fn run(
    players: &mut [(&mut Player, &Netns)],
    what: &str,
    limit: Duration,
    mut done: impl FnMut(&mut [(&mut Player, &Netns)]) -> bool,
) {
    let deadline = Instant::now() + limit;
    let mut next = Instant::now();
    while !done(players) {
        assert!(
            Instant::now() < deadline,
            "{what}: not within {limit:?}; frames {:?}",
            players
                .iter()
                .map(|(p, _)| (p.name.clone(), p.frame(), p.settled()))
                .collect::<Vec<_>>()
        );
        for (p, ns) in players.iter_mut() {
            ns.enter();
            p.tick();
        }
        // Frame pacing of the game loop (60 fps, like a real game), not a
        // wait: the loop itself ends at its deadline.
        next += TICK;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
}

#[test]
fn a_member_whose_link_drops_for_3_s_comes_back_by_itself_and_all_three_agree_at_frame_1200() {
    if let Some(why) = unavailable() {
        println!("SKIP: {why}");
        return;
    }
    let lab = Lab::new("rc", 2).expect("lab");
    let _home = Home(Netns::current());
    let (near, far) = (Netns::named(&lab.ns[0]), Netns::named(&lab.ns[1]));

    // Hana hosts and Ann plays in one namespace; Bo in the other.
    near.enter();
    let mm = matchmaker([10, 213, 0, 1]);
    let mut host = mm.host(LobbySettings::new(&unique("Reconnect"), "Hana"));
    let addr: SocketAddr = wait_for("open", LIMIT, || match host.poll()? {
        LobbyEvent::Opened { .. } => host.lobby_addr(),
        _ => None,
    });
    let mut ann = mm.join(addr, PlayerSettings::new("Ann").auto_ready(true));
    far.enter();
    let mut bo = matchmaker([10, 213, 0, 2]).join(addr, PlayerSettings::new("Bo").auto_ready(true));
    near.enter();
    wait_for("everyone ready", LIMIT, || {
        for j in [&mut ann, &mut bo] {
            if let Some(LobbyEvent::Failed(e)) = j.poll() {
                panic!("join failed: {e}");
            }
        }
        match host.poll()? {
            LobbyEvent::RosterChanged(r) if r.len() == 3 && r.iter().all(|m| m.ready) => Some(()),
            _ => None,
        }
    });
    host.start().expect("start");
    let t0 = Instant::now();
    let mut starts = match_started(&mut [&mut host, &mut ann, &mut bo], LIMIT).into_iter();
    let mut hana = Player::new("Hana", host, starts.next().expect("start"), t0);
    let mut ann = Player::new("Ann", ann, starts.next().expect("start"), t0);
    let mut bo = Player::new("Bo", bo, starts.next().expect("start"), t0);
    let bo_handle = bo.handle;
    run(
        &mut [(&mut hana, &near), (&mut ann, &near), (&mut bo, &far)],
        "frame 300",
        Duration::from_secs(60),
        |p| p[2].0.frame() >= Some(CUT_AT),
    );

    // Bo's network drops: its side of the link goes down for 3 s.
    ip(&["-n", &lab.ns[1], "link", "set", LAB_IF, "down"]);
    let cut = Instant::now();
    for p in [&mut hana, &mut ann] {
        p.measuring = true;
    }
    run(
        &mut [(&mut hana, &near), (&mut ann, &near), (&mut bo, &far)],
        "the drop noticed by Bo's lobby, and the cut's 3 s",
        LIMIT,
        |p| {
            let noticed = p[2].0.connection.iter().any(|(_, n)| {
                matches!(n, MatchControl::Reconnecting { .. })
            });
            noticed && cut.elapsed() >= CUT
        },
    );
    assert!(bo.reseated.is_none(), "back in its seat with its link down");
    let during_cut = [hana.take_longest_stall(), ann.take_longest_stall()];
    let tries_while_down = bo.connection.len();

    // The network comes back; nobody calls anything.
    ip(&["-n", &lab.ns[1], "link", "set", LAB_IF, "up"]);
    let restored = Instant::now();
    run(
        &mut [(&mut hana, &near), (&mut ann, &near), (&mut bo, &far)],
        "frame 1200 after Bo came back",
        Duration::from_secs(90),
        |p| {
            if let Some((_, gave_up)) = p[2].0.connection.iter().find(|(_, n)| {
                matches!(n, MatchControl::ReconnectGaveUp { .. } | MatchControl::Ended(_))
            }) {
                panic!("Bo did not come back: {gave_up:?}");
            }
            p.iter().all(|(p, _)| p.settled() >= END)
        },
    );
    let reseated = bo.reseated.expect("Bo seated again");
    assert!(bo.newcomer, "a reconnect resumes as a rejoin");
    assert_eq!(bo.handle, bo_handle, "the same seat");
    let (back_at, attempts) = bo
        .connection
        .iter()
        .find_map(|(at, n)| match n {
            MatchControl::Reconnected { attempts, .. } => Some((*at, *attempts)),
            _ => None,
        })
        .expect("Bo's lobby said it was back");
    let sums: Vec<_> = [&hana, &ann, &bo].iter().map(|p| p.sum(END)).collect();
    assert!(sums[0].is_some(), "no checksum at frame {END}");
    assert!(
        sums.iter().all(|s| *s == sums[0]),
        "checksums differ at {END}: {sums:?}"
    );
    let switch = hana.switched_at.expect("Hana switched");
    assert_eq!(ann.switched_at, Some(switch));
    assert_eq!(bo.switched_at, Some(switch));
    let first = bo.first_confirmed.expect("Bo confirmed a frame");
    let while_back = [hana.longest_stall, ann.longest_stall];
    // Figures for the closing note.
    println!(
        "reconnect: link cut at frame {CUT_AT} for {CUT:?}; {tries_while_down} tries failed while it was down; \
         link restored -> host took Bo back after {:?} (try {attempts}), seated again after {:?}, \
         first confirmed frame in the resumed match after {:?} (switch at frame {switch}); \
         others' longest stall: during the cut {during_cut:?} ticks, while Bo came back {while_back:?} ticks",
        back_at.saturating_duration_since(restored),
        reseated.saturating_duration_since(restored),
        first.saturating_duration_since(restored),
    );
    assert!(
        while_back.iter().all(|s| *s <= MAX_STALL_TICKS),
        "the others stalled {while_back:?} ticks while Bo came back (goal <= {MAX_STALL_TICKS})"
    );
}
