//! A spectator from the plan follows the match over the simulated network
//! and sees exactly the players' confirmed states.

mod common;

use std::cell::Cell;
use std::time::Duration;

use common::*;
use ggrs::{GgrsError, GgrsRequest, SessionState};
use nearplay_netcode::prelude::*;

#[test]
fn plan_spectator_sees_the_same_states() {
    let seed = 77;
    let net = SimNetwork::with_profile(
        seed,
        LinkProfile::latency(Duration::from_millis(15), Duration::from_millis(3)),
    );
    let plan = MatchPlan {
        match_id: MatchId(1),
        seed,
        players: (0..2)
            .map(|h| PlanPlayer {
                handle: h,
                name: format!("p{h}"),
                addr: PeerAddr::Sim(h as u32),
            })
            .collect(),
        spectators: vec![PlanSpectator {
            handle: 2,
            name: "watcher".into(),
            addr: PeerAddr::Sim(2),
            host_handle: 0,
        }],
        key: MatchKey([1; 32]),
        key_epoch: 0,
        member_secrets: Default::default(),
        settings: NetSettings::default(),
        local_handle: 0,
    };
    let mut peers: Vec<Peer> = (0..2)
        .map(|h| {
            let (session, monitor) = NetSessionBuilder::<GameCfg>::from_plan(&plan.for_member(h))
                .build_monitored(net.node(h as u32))
                .expect("player session");
            Peer::new(h, session, monitor, seed)
        })
        .collect();
    let mut spectator = NetSessionBuilder::<GameCfg>::spectate(&plan.for_member(2), net.node(2))
        .expect("spectator");
    let mut seen = GameState::default();
    let mut seen_sums = vec![seen.checksum()];
    let seen_frame = Cell::new(0);
    run_until(
        &mut peers,
        Duration::from_secs(25),
        "spectator at frame 300",
        |_| {
            spectator.poll_remote_clients();
            spectator.events().for_each(drop);
            if spectator.current_state() != SessionState::Running {
                return;
            }
            match spectator.advance_frame() {
                Ok(requests) => {
                    for r in requests {
                        if let GgrsRequest::AdvanceFrame { inputs } = r {
                            seen.advance(&inputs);
                            seen_sums.push(seen.checksum());
                            seen_frame.set(seen.frame);
                        }
                    }
                }
                Err(GgrsError::PredictionThreshold) => {}
                Err(e) => panic!("spectator: {e}"),
            }
        },
        |ps| all_confirmed(300)(ps) && seen_frame.get() >= 300,
    );
    assert_agree(&peers);
    for (frame, sum) in seen_sums.iter().enumerate().take(301) {
        assert_eq!(
            peers[0].checksums.get(&(frame as i32)),
            Some(sum),
            "spectator differs at frame {frame}"
        );
    }
}
