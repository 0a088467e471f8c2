//! A player vanishes from a 3-player match whose survivors hold its inputs
//! up to different frames (its last datagrams reached one survivor and not
//! the other), as a lossy link makes happen: the survivors drop its seat
//! the way the library does (at their prediction limit, after agreeing on
//! its inputs with [`VacancyAgreement`] and filling their sessions with
//! [`SeatInputs`]), play on, and agree on every frame.
//!
//! Without the agreement (each survivor drops the seat at the limit with
//! the inputs it holds, as the Bevy plugin did), this match panics in GGRS
//! 0.13 every time ("cannot load frame outside of prediction window; frame
//! to load is 123, current frame is 136", `sync_layer.rs`): the survivor
//! that held more hears of the other's earlier frame too late; inside the
//! window the two would disagree on the frames in between instead.
//!
//! Online, the lobby brings a report later than the game link brings a
//! datagram: the survivor that holds more drops the seat, and the other
//! heard of that drop from GGRS (a connection status in the dropper's
//! inputs) before the dropper's report reached it, and dropped the seat at
//! its own, earlier frame; the dropper then had to roll back past its
//! window (`online_rejoin` at `--speed 4`, 1 run in 3: "frame to load is
//! 301, current frame is 315"). [`SeatInputs`] keeps such news from GGRS
//! until the survivor has its agreement ([`SeatInputs::release`]).

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::*;
use nearplay_netcode::prelude::*;
use nearplay_netcode::resume::VacancyAgreement;
use nearplay_netcode::transport::HeldInputs;

const DEADLINE: Duration = Duration::from_secs(25);
/// The game loop runs this many times faster than real time: a tick is
/// still a frame, and the links' latency is scaled down with it, so every
/// delay in frames is a game's at 60 fps over 20 ms +-2 ms. Wall-clock
/// timers are not scaled: GGRS's disconnect timeout is set out of the way
/// below, and no datagram but the vanishing player's is lost, so GGRS's
/// 200 ms resends do not come into play. (Without the agreement, this
/// match still panics in GGRS every time at this speed: 5 runs of 5.)
const SPEED: u32 = 4;
const TICK: Duration = Duration::from_micros(16_667 / SPEED as u64);
const VANISHED: usize = 2;

/// How much slower the lobby brings a survivor's report than the game link
/// brings a datagram, online: the link's 20 ms against 100 ms through the
/// lobby (its threads, the room's reliable channel and a frame of each
/// game's schedule), both scaled by [`SPEED`] like the ticks.
const ONLINE_LOBBY_DELAY: Duration = Duration::from_millis(100 / SPEED as u64);

/// A report on its way between the survivors through the lobby.
struct Mail {
    to: usize,
    from: u16,
    held: HeldInputs,
    due: Instant,
}

/// Survivors at the prediction limit freeze the vacated seat's inputs and
/// report them; once every report is in, each fills its session from the
/// furthest one; stalled again at the limit, each drops the seat (or GGRS
/// already did, told by the other survivor: at the same frame now). The
/// seat's inputs hold the survivors' confirmed frames back until then, so
/// settling 140 frames past the vanishing proves the seat was dropped.
struct Vacancy {
    agreements: BTreeMap<usize, VacancyAgreement>,
    /// Reports in flight between the survivors (the lobby's).
    mail: Vec<Mail>,
    /// How long a report takes through the lobby (0: by the next step).
    lobby_delay: Duration,
    filled: BTreeMap<usize, bool>,
    dropped: BTreeMap<usize, bool>,
    /// Reports that reached a survivor after their sender dropped the seat.
    late_reports: usize,
}

fn at_limit(p: &Peer) -> bool {
    p.session.current_frame() - p.session.confirmed_frame() >= 12
}

impl Vacancy {
    fn new(lobby_delay: Duration) -> Self {
        Vacancy {
            agreements: BTreeMap::new(),
            mail: Vec::new(),
            lobby_delay,
            filled: BTreeMap::new(),
            dropped: BTreeMap::new(),
            late_reports: 0,
        }
    }

    fn step(&mut self, peers: &mut [Peer]) {
        let seat = PeerAddr::Sim(VANISHED as u32);
        let now = Instant::now();
        for p in peers.iter_mut().filter(|p| p.alive) {
            let me = p.handle;
            if self.dropped.get(&me) == Some(&true) || !at_limit(p) {
                continue;
            }
            let seats = p.monitor.seat_inputs().clone();
            let agreement = self.agreements.entry(me).or_insert_with(|| {
                let others = [0u16, 1].into_iter().filter(|h| usize::from(*h) != me);
                VacancyAgreement::new(VANISHED as u16, others, now)
            });
            if !agreement.reported() {
                let held = seats.freeze(seat, VANISHED);
                agreement.own(me as u16, held.clone());
                for to in agreement.others() {
                    self.mail.push(Mail {
                        to: usize::from(to),
                        from: me as u16,
                        held: held.clone(),
                        due: now + self.lobby_delay,
                    });
                }
            }
            let Some(agreed) = agreement.outcome(now) else {
                continue;
            };
            if self.filled.insert(me, true).is_none() {
                if let Some(fill) = agreed.fill {
                    seats
                        .fill(seat, VANISHED, &fill)
                        .expect("the reports overlap");
                }
                seats.release(seat);
                continue; // the filled inputs arrive on the next poll
            }
            // (Err: GGRS dropped it already, told by the other survivor,
            // at the same frame now.)
            let _ = p.session.disconnect_player(VANISHED);
            self.dropped.insert(me, true);
        }
        for m in std::mem::take(&mut self.mail) {
            match self.agreements.get_mut(&m.to) {
                Some(a) if m.due <= now => {
                    if self.dropped.get(&usize::from(m.from)) == Some(&true) {
                        self.late_reports += 1;
                    }
                    a.report(m.from, m.held).expect("a survivor's report");
                }
                _ => self.mail.push(m),
            }
        }
    }
}

/// The match of the module docs with the survivors' reports taking
/// `lobby_delay` (scaled) through the lobby; returns the survivors' views
/// of the vanished player's last frame before the drop, and how many
/// reports reached a survivor after their sender dropped the seat.
fn vanish_and_agree(lobby_delay: Duration) -> (Vec<Option<i32>>, usize) {
    let net = SimNetwork::with_profile(
        13,
        LinkProfile::latency(
            Duration::from_millis(20) / SPEED,
            Duration::from_millis(2) / SPEED,
        ),
    );
    // GGRS's own timeout stays out of the way: the library drops the seat.
    let settings = NetSettings {
        disconnect_timeout_ms: 60_000,
        disconnect_notify_start_ms: 30_000,
        ..NetSettings::default()
    };
    let mut peers = sim_peers(3, &net, &settings, 13);
    run_paced(
        &mut peers,
        Some(TICK),
        DEADLINE,
        "frame 120",
        |_| {},
        all_confirmed(120),
    );
    // The vanishing player's last datagrams reach survivor 1, not 0.
    net.set_link(VANISHED as u32, 0, LinkProfile::lossy(1.0));
    let from = peers[1].session.current_frame();
    run_paced(
        &mut peers,
        Some(TICK),
        DEADLINE,
        "six frames",
        |_| {},
        |ps| ps[1].session.current_frame() >= from + 6,
    );
    net.vanish(VANISHED as u32);
    peers[VANISHED].alive = false;
    let vacancy = std::cell::RefCell::new(Vacancy::new(lobby_delay));
    let views: Vec<Option<i32>> = peers[..2]
        .iter()
        .map(|p| {
            p.monitor
                .seat_inputs()
                .last_frame(PeerAddr::Sim(VANISHED as u32))
        })
        .collect();
    assert!(
        views[0].is_some() && views[0] != views[1],
        "the survivors hold the vanished player's inputs to different frames: {views:?}"
    );
    run_paced(
        &mut peers,
        Some(TICK),
        DEADLINE,
        "the seat dropped and 120 more frames",
        |ps| vacancy.borrow_mut().step(ps),
        |ps| ps[..2].iter().all(|p| settled(p) >= from + 140),
    );
    let (frame, _) = assert_agree(&peers);
    assert!(frame >= from + 140);
    for p in &peers[..2] {
        assert_eq!(p.desyncs(), 0, "peer {} saw a desync", p.handle);
    }
    let late = vacancy.borrow().late_reports;
    (views, late)
}

#[test]
fn survivors_that_hold_a_vanished_players_inputs_to_different_frames_agree() {
    let (views, _) = vanish_and_agree(Duration::ZERO);
    println!("views of the vanished player before the drop: {views:?}");
}

/// Online timing: the survivor holding fewer of the vanished player's
/// inputs reaches its limit first; the other gets its report, drops the
/// seat, and its inputs (saying so) reach the first before its own report
/// does. Before [`SeatInputs::release`], GGRS dropped the seat there at
/// the first's own frame and the dropper panicked rolling back to it (5
/// runs of 5); now the news waits for the agreement.
#[test]
fn survivors_agree_when_a_drop_outruns_the_lobby() {
    let (views, late) = vanish_and_agree(ONLINE_LOBBY_DELAY);
    println!(
        "views of the vanished player before the drop: {views:?}; reports after their sender's drop: {late}"
    );
}
