//! Quick start (the README's program): host a LAN lobby, or join the first
//! compatible one, get ready, start, and play a GGRS session for a few
//! hundred frames at the plan's frame rate, then leave safely.
//!
//! `cargo run --example quick_start -- host` on one machine,
//! `cargo run --example quick_start` on another of the same network.

use std::time::{Duration, Instant};

use ggrs::{GgrsError, GgrsRequest, SessionState};
use nearplay::matchmaker::prelude::*;
use nearplay::netcode::prelude::*;

/// The game's GGRS types: one byte of input, a u64 of state.
struct MyGame;
impl ggrs::Config for MyGame {
    type Input = u8;
    type InputPredictor = ggrs::PredictRepeatLast;
    type State = u64;
    type Address = PeerAddr;
}

/// How long the match lasts, in frames.
const FRAMES: i32 = 300;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Once, when the program starts: the game's id and version, mDNS on.
    let matchmaker = Matchmaker::new(MatchmakerConfig::new("my-game", "1.0"))?;
    let mut lobby = if std::env::args().any(|a| a == "host") {
        // The host is ready by default; its lobby starts the match itself
        // once two players are in and ready.
        matchmaker.host(LobbySettings::new("Quick start", "Hana").start_when_ready(2))
    } else {
        // The first compatible lobby on the LAN; ready as soon as we are in.
        let mut list = matchmaker.browse();
        let entry = loop {
            while list.poll().is_some() {}
            if let Some(e) = list
                .lobbies()
                .iter()
                .find(|e| e.compatibility.is_compatible())
            {
                break e.clone();
            }
            std::thread::sleep(Duration::from_millis(16)); // one frame of a menu
        };
        matchmaker.join(&entry, PlayerSettings::new("Ada").auto_ready(true))
    };

    // The lobby screen: poll every frame (never blocks) until the match starts.
    let start = loop {
        match lobby.poll() {
            Some(LobbyEvent::Opened { name, .. }) => println!("lobby open: {name}"),
            Some(LobbyEvent::Joined { lobby, .. }) => println!("joined {lobby}"),
            Some(LobbyEvent::MatchStarted(start)) => break start,
            Some(LobbyEvent::Failed(e)) => return Err(e.into()),
            Some(LobbyEvent::Closed(why)) => return Err(why.into()),
            Some(_) => {}
            None => std::thread::sleep(Duration::from_millis(16)),
        }
    };

    // The match: the plan names the players, the transport is ready.
    let me = start.plan.local_handle;
    let settings = start.plan.settings.clone();
    let (mut session, _monitor) = start.into_session::<MyGame>(None)?;
    // Leaving safely: play on until every peer has confirmed frame FRAMES.
    let last = FRAMES + (settings.input_delay + settings.max_prediction + 1) as i32;
    let frame_time = Duration::from_secs(1) / settings.fps as u32;
    let mut next_frame = Instant::now();
    let mut state = 0u64;
    let mut peer_left = false;
    while session.confirmed_frame() < last && !(peer_left && session.confirmed_frame() >= FRAMES) {
        session.poll_remote_clients();
        for event in session.events() {
            peer_left |= matches!(event, ggrs::GgrsEvent::Disconnected { .. });
        }
        if session.current_state() == SessionState::Running {
            let input = (session.current_frame() % 7) as u8; // the player's input
            session.add_local_input(me, input)?;
            match session.advance_frame() {
                Ok(requests) => {
                    for request in requests {
                        match request {
                            GgrsRequest::SaveGameState { cell, frame } => {
                                cell.save(frame, Some(state), Some(u128::from(state)))
                            }
                            GgrsRequest::LoadGameState { cell, .. } => {
                                state = cell.load().unwrap_or_default()
                            }
                            GgrsRequest::AdvanceFrame { inputs } => {
                                for (input, _) in inputs {
                                    state = state.wrapping_mul(31).wrapping_add(u64::from(input));
                                }
                            }
                        }
                    }
                }
                Err(GgrsError::PredictionThreshold) => {} // waiting for the others
                Err(e) => return Err(e.into()),
            }
        }
        // Frame pacing: sleep until the next frame is due.
        next_frame += frame_time;
        std::thread::sleep(next_frame.saturating_duration_since(Instant::now()));
    }
    println!("match over: frame {FRAMES} confirmed by everyone, state {state:x}");
    Ok(())
}
