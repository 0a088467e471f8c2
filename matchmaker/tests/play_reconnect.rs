//! A window that stayed open comes back by itself (issue 13), through the
//! plain lobby API: three players with real lobbies and UDP sessions; Bo
//! plays from a network namespace of its own, joined to the others' by a
//! veth pair (through a bridge), and at frame 300 its network fails for
//! 3 s while its game keeps running.
//!
//! - Its link goes down: nobody calls anything; Bo's lobby notices the
//!   drop, reconnects to the same host with the seat's secret from its
//!   plan, the match resumes at an agreed frame, and all three agree at
//!   frame 1200 (or 300 frames after the switch, if that is later: see
//!   [`end_frame`]).
//! - Only game traffic is lost (the lobby's TCP connection lives on, so
//!   the lobby notices nothing): Bo's game asks its lobby to reconnect
//!   when its session lost every other player (`Lobby::reconnect`); the
//!   host hands the seat, still held, to the new connection.
//! - With reconnecting off (and before this existed), Bo stays out: its
//!   lobby ends, its seat stays vacant while the others play on.
//!
//! The game loops run four times faster than real time (a tick is still
//! one game frame, so frames and stalls in ticks mean the same), except
//! during the cut: the cut is a fault of 3 s of wall clock, and what
//! happens in it runs on wall-clock timers that no speed scales (GGRS's
//! 2 s disconnect, the lobby's 2.5 s idle). Played faster, it would take
//! the same 3 s, add 540 frames of lone play, and the others' stall
//! during it (GGRS's 2 s) would read four times as many ticks. So the cut
//! is played at 60 fps as before, and its figures read as before.
//!
//! Figures printed: the reconnect time (network restored -> Bo's first
//! confirmed frame in the resumed match) and the others' longest stall,
//! during the cut (ticks at 60 fps) and while Bo came back (ticks at four
//! times real time, like the LAN resume tests'). The reconnect time
//! counts the resume's frames at four times real time too (its 20-frame
//! margin is 83 ms here, 333 ms in a game at 60 fps). Needs root (network
//! namespaces); says SKIP otherwise.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use common::game::match_started;
use common::netns::{Home, LAB_IF, Lab, Netns, unavailable};
use common::resume_game::{Player, trace_dump, trace_note};
use common::{unique, wait_for};
use nearplay_matchmaker::lobby::Timeouts;
use nearplay_matchmaker::prelude::*;

const GAME: &str = "nearplay-reconnect-test";
const LIMIT: Duration = Duration::from_secs(15);
/// The frame at which Bo's link goes down, and the frame all must agree at
/// (see [`end_frame`]).
const CUT_AT: i32 = 300;
const END: i32 = 1200;
/// Frames played after the switch at least before the end (see
/// [`end_frame`]).
const AFTER_SWITCH: i32 = 300;
/// How many times faster than real time the game loops run, but during
/// the cut (see the module's doc).
const SPEED: u32 = 4;
/// How long the link stays down: the fault itself, not a wait.
const CUT: Duration = Duration::from_secs(3);
/// The goal for the players already in the match while someone
/// comes back.
const MAX_STALL_TICKS: u32 = 6;
/// A tick slower than this is noted in the trace (see `trace_dump`).
const SLOW_TICK: Duration = Duration::from_millis(100);
/// One game tick at 60 fps: the loop's pacing, not a wait for anything.
const TICK: Duration = Duration::from_micros(16_667);

/// The frame all three must agree at, for a resume that switched at
/// `switch`: frame 1200, or 300 frames after the switch if that is later.
/// The cut, at 60 fps from frame 300, ends near frame 390 (the others
/// stall about 107 of its 180 ticks); the switch then came at frames
/// 400-600 at 4x, once at about 890 beside five other matches and two busy
/// loops (Bo's lobby retries on wall-clock times). A switch past frame 900
/// still gets 300 frames of the resumed match checked instead of none.
fn end_frame(switch: i32) -> i32 {
    END.max(switch + AFTER_SWITCH)
}

fn ip(args: &[&str]) {
    if let Err(e) = common::netns::ip(args) {
        panic!("{e}");
    }
}

/// Lobby timers that outlast a descheduled process (idle 8 s).
fn patient() -> Timeouts {
    Timeouts {
        idle: Duration::from_secs(8),
        ..Timeouts::default()
    }
}

/// A matchmaker whose sockets bind `ip` (no mDNS: joins by address).
fn matchmaker(ip: [u8; 4]) -> Matchmaker {
    let mut config = MatchmakerConfig::new(GAME, "1.0.0");
    config.bind = Some(IpAddr::V4(Ipv4Addr::from(ip)));
    config.lan = None;
    Matchmaker::new(config).expect("matchmaker")
}

/// How Bo's network fails.
#[derive(Clone, Copy, Debug)]
enum Cut {
    /// Its link goes down (everything is lost, the lobby notices).
    Link,
    /// UDP to and from Bo is dropped (the game's traffic), TCP lives.
    GameTraffic,
}

/// Hana (host) and Ann in one namespace, Bo in another; the match runs.
/// Fields drop in order: the players, then the thread goes home, then the
/// lab is deleted.
struct Match {
    hana: Player,
    ann: Player,
    bo: Player,
    near: Netns,
    far: Netns,
    /// Game loops per second, in multiples of 60 (see the module's doc).
    speed: u32,
    _home: Home,
    lab: Lab,
}

impl Match {
    /// `None` (after saying why) where namespaces cannot be made.
    /// `tag` names the lab's namespaces (unique per test in a process).
    fn start(tag: &str, bo_settings: PlayerSettings) -> Option<Match> {
        if let Some(why) = unavailable() {
            println!("SKIP: {why}");
            return None;
        }
        let lab = Lab::new(tag, 2).expect("lab");
        let home = Home(Netns::current());
        let (near, far) = (Netns::named(&lab.ns[0]), Netns::named(&lab.ns[1]));
        near.enter();
        let mm = matchmaker([10, 213, 0, 1]);
        // Hana's and Ann's lobby timers are long: a process descheduled
        // for the lobby's 2.5 s idle timeout on a loaded machine (seen:
        // 2.6 s) must not drop Ann too (two newcomers in one epoch are not
        // supported). Bo's are the defaults: its drop is what is tested.
        let mut host = mm.host(LobbySettings {
            timeouts: patient(),
            ..LobbySettings::new(&unique("Reconnect"), "Hana")
        });
        let addr: SocketAddr = wait_for("open", LIMIT, || match host.poll()? {
            LobbyEvent::Opened { .. } => host.lobby_addr(),
            _ => None,
        });
        let ann_settings = PlayerSettings {
            timeouts: patient(),
            ..PlayerSettings::new("Ann").auto_ready(true)
        };
        let mut ann = mm.join(addr, ann_settings);
        far.enter();
        let mut bo = matchmaker([10, 213, 0, 2]).join(addr, bo_settings.auto_ready(true));
        near.enter();
        wait_for("everyone ready", LIMIT, || {
            for j in [&mut ann, &mut bo] {
                if let Some(LobbyEvent::Failed(e)) = j.poll() {
                    panic!("join failed: {e}");
                }
            }
            match host.poll()? {
                LobbyEvent::RosterChanged(r) if r.len() == 3 && r.iter().all(|m| m.ready) => {
                    Some(())
                }
                _ => None,
            }
        });
        host.start().expect("start");
        let t0 = Instant::now();
        let mut starts = match_started(&mut [&mut host, &mut ann, &mut bo], LIMIT).into_iter();
        let mut m = Match {
            hana: Player::new("Hana", host, starts.next().expect("start"), t0),
            ann: Player::new("Ann", ann, starts.next().expect("start"), t0),
            bo: Player::new("Bo", bo, starts.next().expect("start"), t0),
            near,
            far,
            speed: SPEED,
            _home: home,
            lab,
        };
        m.run("frame 300", Duration::from_secs(60), |m| {
            m.bo.frame() >= Some(CUT_AT)
        });
        Some(m)
    }

    /// Ticks every player at 60 fps times `speed`, each from its own
    /// namespace, until `done`, within `limit`.
    fn run(&mut self, what: &str, limit: Duration, mut done: impl FnMut(&mut Match) -> bool) {
        let deadline = Instant::now() + limit;
        let mut next = Instant::now();
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "{what}: not within {limit:?}; frames {:?}",
                [&self.hana, &self.ann, &self.bo]
                    .iter()
                    .map(|p| (p.name.clone(), p.frame(), p.settled()))
                    .collect::<Vec<_>>()
            );
            for (p, ns) in [
                (&mut self.hana, &self.near),
                (&mut self.ann, &self.near),
                (&mut self.bo, &self.far),
            ] {
                let began = Instant::now();
                ns.enter();
                p.tick();
                if began.elapsed() > SLOW_TICK {
                    trace_note(format!("{}: a tick took {:?}", p.name, began.elapsed()));
                }
            }
            // Frame pacing of the game loop (60 fps like a real game's, times
            // the speed), not a wait: the loop itself ends at its deadline. After a stall
            // of the process the loop does not catch up with ticks back to
            // back: unpaced, GGRS 0.13 can panic dropping a vanished peer
            // (docs/pitfalls.md).
            next = (next + TICK / self.speed).max(Instant::now());
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
    }

    /// Bo's network fails (`on`) or comes back.
    fn cut(&self, how: Cut, on: bool) {
        let (near, far) = (&self.lab.ns[0], &self.lab.ns[1]);
        match (how, on) {
            (Cut::Link, true) => ip(&["-n", far, "link", "set", LAB_IF, "down"]),
            (Cut::Link, false) => ip(&["-n", far, "link", "set", LAB_IF, "up"]),
            (Cut::GameTraffic, on) => {
                let verb = if on { "add" } else { "del" };
                // Bo's UDP out, and the others' UDP to Bo.
                ip(&["-n", far, "rule", verb, "ipproto", "udp", "blackhole"]);
                ip(&[
                    "-n",
                    near,
                    "rule",
                    verb,
                    "ipproto",
                    "udp",
                    "to",
                    "10.213.0.2",
                    "blackhole",
                ]);
            }
        }
    }

    /// Cuts Bo's network at frame 300 for 3 s (until `noticed` too), played
    /// at 60 fps, then restores it and goes back to [`SPEED`]; returns
    /// when, and the others' longest stalls during the cut.
    fn cut_for_3_s(
        &mut self,
        how: Cut,
        mut noticed: impl FnMut(&Player) -> bool,
    ) -> (Instant, [u32; 2]) {
        self.cut(how, true);
        self.speed = 1;
        let cut = Instant::now();
        for p in [&mut self.hana, &mut self.ann] {
            p.measuring = true;
        }
        self.run("the drop noticed, and the cut's 3 s", LIMIT, |m| {
            noticed(&m.bo) && cut.elapsed() >= CUT
        });
        // With the link down the lobby cannot reach the host either (with
        // only the game's traffic lost, it can: the seat comes back while
        // the new sessions wait for the traffic).
        if matches!(how, Cut::Link) {
            assert!(
                self.bo.reseated.is_none(),
                "back in its seat with its link down"
            );
        }
        let during = [
            self.hana.take_longest_stall(),
            self.ann.take_longest_stall(),
        ];
        self.cut(how, false);
        self.speed = SPEED;
        (Instant::now(), during)
    }

    /// Plays on until everyone settled the end frame (1200, see
    /// [`end_frame`]) after Bo came back; checks the match agrees and
    /// prints the figures.
    fn back_and_agree(&mut self, what: &str, restored: Instant, during: [u32; 2]) {
        let bo_handle = self.bo.handle;
        self.run(
            &format!("{what}: the end frame after Bo came back"),
            Duration::from_secs(90),
            |m| {
                if let Some((_, gave_up)) = m.bo.connection.iter().find(|(_, n)| {
                    matches!(
                        n,
                        MatchControl::ReconnectGaveUp { .. } | MatchControl::Ended(_)
                    )
                }) {
                    panic!("Bo did not come back: {gave_up:?}");
                }
                let Some(switch) = m.hana.switched_at else {
                    return false;
                };
                let end = end_frame(switch);
                [&m.hana, &m.ann, &m.bo].iter().all(|p| p.settled() >= end)
            },
        );
        let (hana, ann, bo) = (&self.hana, &self.ann, &self.bo);
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
        let switch = hana.switched_at.expect("Hana switched");
        assert_eq!(ann.switched_at, Some(switch));
        assert_eq!(bo.switched_at, Some(switch));
        let end = end_frame(switch);
        let sums: Vec<_> = [hana, ann, bo].iter().map(|p| p.sum(end)).collect();
        assert!(sums[0].is_some(), "no checksum at frame {end}");
        assert!(
            sums.iter().all(|s| *s == sums[0]),
            "checksums differ at {end}: {sums:?}"
        );
        let first = bo.first_confirmed.expect("Bo confirmed a frame");
        let while_back = [hana.longest_stall, ann.longest_stall];
        // Figures for the closing note.
        println!(
            "{what}: cut at frame {CUT_AT} for {CUT:?}; network restored -> host took Bo back after {:?} \
             (try {attempts}), seated again after {:?}, first confirmed frame in the resumed match after {:?} \
             (switch at frame {switch}, all agree at {end}); others' longest stall: during the cut \
             {during:?} ticks at 60 fps, while Bo came back {while_back:?} ticks at {SPEED}x real time",
            back_at.saturating_duration_since(restored),
            reseated.saturating_duration_since(restored),
            first.saturating_duration_since(restored),
        );
        // Not asserted: on a loaded machine a descheduled lobby thread
        // delays the agreement (62 ticks seen once at load 9); the
        // issue's bound of 6 is asserted by `play_resume` and measured here.
        if while_back.iter().any(|s| *s > MAX_STALL_TICKS) {
            println!(
                "{what}: the others stalled more than {MAX_STALL_TICKS} ticks:\n{}",
                trace_dump()
            );
        }
    }
}

#[test]
fn a_member_whose_link_drops_for_3_s_comes_back_by_itself_and_all_three_agree_at_frame_1200() {
    let Some(mut m) = Match::start("rcl", PlayerSettings::new("Bo")) else {
        return;
    };
    let (restored, during) = m.cut_for_3_s(Cut::Link, |bo| {
        bo.connection
            .iter()
            .any(|(_, n)| matches!(n, MatchControl::Reconnecting { .. }))
    });
    m.back_and_agree("reconnect (link down)", restored, during);
}

#[test]
fn a_member_that_lost_only_its_game_traffic_asks_its_lobby_and_comes_back() {
    let Some(mut m) = Match::start("rcg", PlayerSettings::new("Bo")) else {
        return;
    };
    m.bo.reconnect_when_cut_off = true;
    let (restored, during) = m.cut_for_3_s(Cut::GameTraffic, |bo| bo.asked_reconnect.is_some());
    assert!(
        !m.bo
            .connection
            .iter()
            .any(|(_, n)| matches!(n, MatchControl::Ended(_))),
        "the lobby's own connection lived through the cut"
    );
    m.back_and_agree("reconnect (game traffic lost)", restored, during);
}

#[test]
fn with_reconnecting_off_a_member_whose_link_drops_stays_out() {
    let settings = PlayerSettings::new("Bo").reconnect(ReconnectPolicy::off());
    let Some(mut m) = Match::start("rco", settings) else {
        return;
    };
    let ended = |bo: &Player| {
        bo.connection
            .iter()
            .any(|(_, n)| matches!(n, MatchControl::Ended(CloseReason::HostGone)))
    };
    let (_, during) = m.cut_for_3_s(Cut::Link, ended);
    // The others play on; Bo's seat is vacated (the host's idle timeout)
    // and Bo never comes back.
    m.run(
        "Bo's seat vacant, the others at frame 900",
        Duration::from_secs(60),
        |m| {
            let vacant = m
                .hana
                .lobby
                .roster()
                .iter()
                .any(|e| e.name == "Bo" && e.vacant);
            vacant && m.hana.settled() >= 900 && m.ann.settled() >= 900
        },
    );
    assert!(
        m.bo.reseated.is_none(),
        "Bo came back with reconnecting off"
    );
    assert!(
        !m.bo
            .connection
            .iter()
            .any(|(_, n)| matches!(n, MatchControl::Reconnecting { .. })),
        "{:?}",
        m.bo.connection
    );
    assert!(
        m.hana
            .lobby
            .roster()
            .iter()
            .any(|e| e.name == "Bo" && e.vacant),
        "Bo's seat is vacant: {:?}",
        m.hana.lobby.roster()
    );
    assert!(m.hana.switched_at.is_none(), "no resume without Bo");
    println!(
        "reconnect off: Bo's lobby ended (host gone), its seat stays vacant; others' longest stall during the cut {during:?} ticks"
    );
}
