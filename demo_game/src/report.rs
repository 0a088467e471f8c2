//! `--frames N` and `--report FILE`: leave after N confirmed frames and write
//! what happened as JSON (what the multi-process tests compare).
//!
//! The checksum reported is the state's after frame N, taken from the
//! [`ChecksumLog`] once frame N is confirmed, so every peer reports the same
//! frame whatever its speed. A peer then lingers until its confirmed frame is
//! `input_delay + max_prediction + 1` past N: by then every other peer has
//! confirmed N too (it cannot run that far ahead without our inputs up to
//! N), so leaving cannot take inputs away from anyone.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_ggrs::{ConfirmedFrameCount, RollbackFrameCount};
use nearplay::bevy::{MatchResumed, NextNetSession, ResumeFailed, SpectateStream};
use nearplay_netcode::NetEvent;
use nearplay_netcode::bevy::resume::NetFrameOffset;
use nearplay_netcode::bevy::{NetMessage, NetStatsRes};
use serde::Serialize;

use crate::lobby_flow::LobbyLog;
use crate::match_setup::MatchInfo;
use crate::overlay::seat_name;
use crate::rollback::ChecksumLog;
use crate::screen::Screen;
use crate::sim::ArenaState;
use crate::watch::CatchUp;

/// Headless runs print a progress line every this many confirmed frames.
const PROGRESS_EVERY: u32 = 300;

/// Printed when the rendezvous server of an online match shuts down.
const SIGNALING_CLOSED: &str =
    "The rendezvous server is closing: the match goes on peer to peer; nobody new can join.";

/// How a run ends: after how many frames, where the report goes.
#[derive(Resource, Clone, Debug, Default)]
pub struct MatchGoal {
    /// Leave after this many confirmed frames.
    pub frames: Option<u32>,
    /// Write the report here.
    pub report: Option<PathBuf>,
    /// Quit the program when done (headless), rather than show the results.
    pub exit_when_done: bool,
}

/// The JSON report of one match, from this peer's point of view.
#[derive(Serialize, Debug, Clone, Default)]
pub struct Report {
    /// This peer's player name.
    pub name: String,
    /// This peer's handle.
    pub local_handle: usize,
    /// Player names by handle.
    pub players: Vec<String>,
    /// The frame the checksum belongs to.
    pub frames: u32,
    /// Checksum of the game state after `frames` frames (hex).
    pub checksum: String,
    /// Frames resimulated by rollbacks, in total.
    pub rollback_frames_total: u64,
    /// The deepest rollback, in frames.
    pub rollback_frames_max: u64,
    /// Number of rollbacks.
    pub rollbacks: u64,
    /// Ticks that waited for remote input.
    pub frames_stalled: u64,
    /// Game bytes sent, all peers.
    pub bytes_sent: u64,
    /// Game bytes received, all peers.
    pub bytes_received: u64,
    /// Datagrams dropped (bad, foreign or replayed).
    pub dropped_datagrams: u64,
    /// Lobby connect -> in the roster, ms (0 for the host).
    pub join_time_ms: Option<u64>,
    /// Desyncs detected before frame N.
    pub desyncs: u32,
    /// Peers that disconnected before frame N, by name.
    pub disconnects: Vec<String>,
    /// Seconds from the match start to the report.
    pub match_seconds: f64,
    /// Whether this peer watched (a spectator) rather than played.
    pub spectator: bool,
    /// Bytes this peer uploaded to the spectator stream (to its children
    /// in the relay tree, or its feed's acknowledgements).
    pub spectate_bytes_sent: u64,
    /// Spectators only: times the feed went silent and another took over.
    pub spectate_reattachments: u32,
    /// Spectators only: milliseconds from the start of watching until the
    /// simulation had replayed every frame held and followed live (a
    /// spectator who came to a running match replays it from frame 0).
    pub catch_up_ms: Option<u64>,
    /// Spectators only: the frame it had reached when it caught up (about
    /// where the match was when it came).
    pub catch_up_frame: Option<u32>,
    /// The most frame periods in a row (game time) without a new game
    /// frame while the game loop ran, from the match's first frame to
    /// frame N. A gap in which this process did not run at all (no update
    /// for [`STARVED`] of real time: a loaded machine) is not a stall of
    /// the netcode and is not counted.
    pub longest_stall: u32,
    /// The same while someone rejoins or joins late: from the moment the
    /// resume began here (the next session built) to [`RESUME_WINDOW`]
    /// frames after the match resumed (the newcomer catching up
    /// included): what the players already in the match see while someone
    /// comes (GGRS's own disconnect timeout of a vanished peer, 2 s, is in
    /// `longest_stall`, not here).
    pub longest_stall_resume: Option<u32>,
    /// A rejoined or late player: milliseconds from this process's start to
    /// its first confirmed frame in the running match.
    pub rejoin_time_ms: Option<u64>,
    /// Game frames at which the match resumed into a new key epoch.
    pub resumed_at: Vec<i32>,
}

/// Tracks the match towards its goal and writes the report.
pub struct ReportPlugin;

impl Plugin for ReportPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<MatchGoal>()
            .add_systems(OnEnter(Screen::Match), start_tracking)
            .add_systems(
                Update,
                (track_stalls, track_match)
                    .chain()
                    .run_if(in_state(Screen::Match)),
            );
    }
}

#[derive(Resource)]
struct Tracking {
    started: Instant,
    /// Game frame and virtual time of the last new frame.
    last_frame: i32,
    last_advance: Option<Duration>,
    /// A newcomer waits for its first confirmed frame.
    awaiting_confirmed: bool,
    /// The last progress line printed (every [`PROGRESS_EVERY`] frames).
    progress: u32,
    report: Report,
    captured: bool,
    linger_until: u32,
    /// The last game frame whose stalls count as the resume's.
    resume_window_end: Option<i32>,
}

/// Frames after a resume's switch that still count as "while someone
/// comes" (3 s at 60 fps: the newcomer simulates to the present and plays).
pub const RESUME_WINDOW: i32 = 180;

/// An update this late after the previous one means the process was not
/// scheduled (6 frame periods at 60 fps; the headless loop updates 120
/// times a second, the game's own stalls keep it updating).
pub const STARVED: Duration = Duration::from_millis(100);

fn start_tracking(
    mut commands: Commands,
    info: Option<Res<MatchInfo>>,
    log: Option<Res<LobbyLog>>,
    prefs: Option<Res<crate::prefs::Prefs>>,
) {
    let Some(info) = info else { return };
    let local_handle = info.seats.iter().position(|s| s.local).unwrap_or(0);
    // A spectator has no seat: its own name.
    let watcher = prefs.map(|p| p.name.clone()).unwrap_or_default();
    commands.insert_resource(Tracking {
        started: Instant::now(),
        report: Report {
            name: info
                .seats
                .iter()
                .find(|s| s.local)
                .map_or(watcher, |s| s.name.clone()),
            local_handle,
            players: info.seats.iter().map(|s| s.name.clone()).collect(),
            join_time_ms: log.and_then(|l| l.join_time).map(|d| d.as_millis() as u64),
            ..Report::default()
        },
        captured: false,
        last_frame: 0,
        last_advance: None,
        awaiting_confirmed: false,
        linger_until: 0,
        resume_window_end: None,
        progress: 0,
    });
}

#[allow(clippy::too_many_arguments)]
fn track_match(
    goal: Res<MatchGoal>,
    tracking: Option<ResMut<Tracking>>,
    info: Option<Res<MatchInfo>>,
    confirmed: Option<Res<ConfirmedFrameCount>>,
    log: Option<Res<ChecksumLog>>,
    watched: (
        Option<Res<SpectateStream>>,
        Option<Res<ArenaState>>,
        Option<Res<CatchUp>>,
    ),
    (stats, offset): (Option<Res<NetStatsRes>>, Option<Res<NetFrameOffset>>),
    mut events: MessageReader<NetMessage>,
    mut next: ResMut<NextState<Screen>>,
    mut exit: MessageWriter<AppExit>,
) {
    let (Some(mut tracking), Some(info)) = (tracking, info) else {
        return;
    };
    for NetMessage(event) in events.read() {
        if *event == NetEvent::SignalingClosed {
            println!("match: {SIGNALING_CLOSED}");
        }
        if tracking.captured {
            continue;
        }
        match *event {
            NetEvent::DesyncDetected { .. } => tracking.report.desyncs += 1,
            NetEvent::PeerDisconnected { peer } => {
                tracking.report.disconnects.push(seat_name(&info, peer))
            }
            _ => {}
        }
    }
    // Frames simulated with all inputs confirmed: confirmed frame index + 1
    // (a spectator simulates confirmed frames only).
    let (stream, state, catch_up) = watched;
    let spectator = stream.as_ref().is_some_and(|s| s.is_spectator());
    let done = match (&state, spectator) {
        (Some(state), true) => state.frame,
        _ => confirmed
            .map(|c| (offset.as_deref().map_or(0, |o| o.0.0) + c.0 + 1).max(0) as u32)
            .unwrap_or(0),
    };
    if goal.exit_when_done && done >= tracking.progress + PROGRESS_EVERY {
        // With the checksum (a spectator who watches part of a longer match
        // compares its own with it): the confirmed count can run a little
        // ahead of the simulation, so the line waits for it a little.
        let frame = done - done % PROGRESS_EVERY;
        let sum = log.as_ref().and_then(|l| l.0.get(&frame).copied());
        if let Some(sum) = sum {
            tracking.progress = frame;
            println!("match: frame {frame} confirmed, checksum {sum:016x}");
        } else if done >= frame + PROGRESS_EVERY / 2 {
            tracking.progress = frame;
            println!("match: frame {frame} confirmed");
        }
    }
    let Some(target) = goal.frames else { return };
    if !tracking.captured && done >= target {
        let Some(checksum) = log.and_then(|l| l.0.get(&target).copied()) else {
            return;
        };
        tracking.captured = true;
        tracking.report.frames = target;
        tracking.report.checksum = format!("{checksum:016x}");
        tracking.linger_until = match spectator {
            // Nobody waits on a spectator's inputs.
            true => target,
            false => target + (info.input_delay + info.max_prediction + 1) as u32,
        };
        if let Some(stats) = stats.as_deref() {
            fill_stats(&mut tracking.report, stats);
        }
        tracking.report.match_seconds = tracking.started.elapsed().as_secs_f64();
        tracking.report.spectator = spectator;
        if let Some((after, frame)) = catch_up.and_then(|c| c.caught_up).filter(|_| spectator) {
            tracking.report.catch_up_ms = Some(after.as_millis() as u64);
            tracking.report.catch_up_frame = Some(frame);
            println!(
                "match: caught up with the match at frame {frame} after {} ms",
                after.as_millis()
            );
        }
    }
    if let Some(stream) = stream.as_deref() {
        tracking.report.spectate_bytes_sent = stream.bytes_sent();
        tracking.report.spectate_reattachments = stream.node().stats().reattachments;
    }
    // Then our spectator children get the frames up to N: we wait while
    // they make progress (a spectator starved of CPU is slow, not gone), up
    // to 10 s after the last and 60 s in all. (3 s left a spectator of
    // `spectate_match` stuck at frame 900 once in a warm `make test`: every
    // member it could re-attach to had left.)
    let children_hold = stream.as_deref().is_none_or(|s| {
        s.node().children_hold(tracking.report.frames)
            || s.node()
                .children_progressed_at()
                .is_none_or(|at| at.elapsed() > Duration::from_secs(10))
    }) || tracking.started.elapsed().as_secs_f64()
        > tracking.report.match_seconds + 60.0;
    let lingered = (done >= tracking.linger_until && children_hold)
        || tracking.started.elapsed() > Duration::from_secs(3600);
    if tracking.captured && lingered {
        let report = &tracking.report;
        println!(
            "match: frame {} confirmed, checksum {}, rollback frames {} (max {}), desyncs {}, disconnects {}, longest stall {}",
            report.frames,
            report.checksum,
            report.rollback_frames_total,
            report.rollback_frames_max,
            report.desyncs,
            report.disconnects.len(),
            report.longest_stall
        );
        if let Some(path) = &goal.report {
            match serde_json::to_string_pretty(report).map(|json| std::fs::write(path, json)) {
                Ok(Ok(())) => println!("report: written to {}", path.display()),
                Ok(Err(e)) => eprintln!("report: could not write {}: {e}", path.display()),
                Err(e) => eprintln!("report: could not encode: {e}"),
            }
        }
        if goal.exit_when_done {
            exit.write(AppExit::Success);
        } else {
            next.set(Screen::Results);
        }
    }
}

/// The process's start (set first thing in `main`), for the rejoin time.
static PROCESS_START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// Marks now as the process's start.
pub fn mark_process_start() {
    PROCESS_START.get_or_init(Instant::now);
}

/// Longest stall and, for a newcomer, the time to its first confirmed frame.
fn track_stalls(
    tracking: Option<ResMut<Tracking>>,
    (time, real): (Res<Time<Virtual>>, Res<Time<Real>>),
    frame: Option<Res<RollbackFrameCount>>,
    (offset, confirmed): (
        Option<Res<NetFrameOffset>>,
        Option<Res<ConfirmedFrameCount>>,
    ),
    (mut resumed, mut failed): (MessageReader<MatchResumed>, MessageReader<ResumeFailed>),
    info: Option<Res<MatchInfo>>,
    next: Option<Res<NextNetSession<crate::rollback::DemoConfig>>>,
) {
    let Some(mut tracking) = tracking else { return };
    if next.is_some() && tracking.report.longest_stall_resume.is_none() {
        tracking.report.longest_stall_resume = Some(0);
    }
    for ResumeFailed(e) in failed.read() {
        println!("match: a rejoin or late join failed: {e}");
    }
    for r in resumed.read() {
        // A late joiner's seat: the match's seats follow the new plan.
        if let Some(info) = &info {
            tracking.report.players = info.seats.iter().map(|s| s.name.clone()).collect();
        }
        if !r.newcomer {
            println!("match: resumed at frame {}", r.frame);
        }
        tracking.report.resumed_at.push(r.frame);
        tracking.resume_window_end = Some(r.frame.saturating_add(RESUME_WINDOW));
        if r.newcomer {
            tracking.awaiting_confirmed = true;
            println!("match: resumed at frame {} (our state loaded)", r.frame);
        }
    }
    if tracking.awaiting_confirmed && confirmed.is_some_and(|c| c.0 >= 0) {
        tracking.awaiting_confirmed = false;
        let since = PROCESS_START.get().map_or(Duration::ZERO, |s| s.elapsed());
        tracking.report.rejoin_time_ms = Some(since.as_millis() as u64);
        println!(
            "match: rejoined, first confirmed frame {} ms after the process started",
            since.as_millis()
        );
    }
    let game_frame = offset.map_or(0, |o| o.0.0) + frame.map_or(0, |f| f.0);
    let now = time.elapsed();
    if real.delta() >= STARVED {
        // This process did not run: not a stall of the match.
        tracking.last_advance = Some(now);
    }
    if game_frame != tracking.last_frame {
        tracking.last_frame = game_frame;
        tracking.last_advance = Some(now);
    } else if let Some(last) = tracking.last_advance
        && !tracking.captured
    {
        // A stall of k frames leaves k + 1 frame periods between two frames.
        let periods = (now.saturating_sub(last).as_secs_f64() * 60.0) as u32;
        let stall = periods.saturating_sub(1);
        tracking.report.longest_stall = tracking.report.longest_stall.max(stall);
        let in_window = tracking
            .resume_window_end
            .is_none_or(|end| game_frame <= end);
        if let Some(s) = tracking.report.longest_stall_resume.as_mut()
            && in_window
        {
            *s = (*s).max(stall);
        }
    }
}

fn fill_stats(report: &mut Report, stats: &nearplay_netcode::NetStats) {
    report.rollback_frames_total = stats.rollbacks.frames_resimulated;
    report.rollback_frames_max = stats.rollbacks.max_depth;
    report.rollbacks = stats.rollbacks.rollbacks;
    report.frames_stalled = stats.frames_stalled;
    report.dropped_datagrams = stats.drops.total();
    report.bytes_sent = stats.peers.iter().map(|p| p.traffic.bytes_sent).sum();
    report.bytes_received = stats.peers.iter().map(|p| p.traffic.bytes_received).sum();
}
