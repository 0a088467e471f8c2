//! The Bevy plugin drives two headless apps over the simulated network:
//! sessions synchronise, stats and messages flow, rollbacks are counted,
//! and no desync is reported.
#![cfg(feature = "bevy")]

use std::time::{Duration, Instant};

use bevy::platform::collections::HashMap;
use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use bevy_ggrs::{
    ConfirmedFrameCount, GgrsSchedule, LocalInputs, LocalPlayers, PlayerInputs, ReadInputs,
    RollbackApp, RollbackFrameCount,
};
use ggrs::{Config, PredictRepeatLast};
use nearplay_netcode::bevy::prelude::*;
use nearplay_netcode::prelude::*;

struct Cfg;
impl Config for Cfg {
    type Input = u8;
    type InputPredictor = PredictRepeatLast;
    type State = u8;
    type Address = PeerAddr;
}

/// The rolled-back game state.
#[derive(Resource, Clone, Copy, Default, Hash)]
struct Score(u64);

/// Counts input polls (not rolled back: inputs come from outside).
#[derive(Resource, Default)]
struct Polls(u8);

#[derive(Resource, Default)]
struct Seen(Vec<NetEvent>);

fn read_inputs(mut commands: Commands, players: Res<LocalPlayers>, mut polls: ResMut<Polls>) {
    polls.0 = polls.0.wrapping_add(1);
    let inputs: HashMap<_, _> = players.0.iter().map(|h| (*h, polls.0 % 5)).collect();
    commands.insert_resource(LocalInputs::<Cfg>(inputs));
}

fn step(inputs: Res<PlayerInputs<Cfg>>, mut score: ResMut<Score>) {
    for (i, _) in inputs.iter() {
        score.0 = score.0.wrapping_mul(31).wrapping_add(u64::from(*i));
    }
}

fn collect(mut reader: MessageReader<NetMessage>, mut seen: ResMut<Seen>) {
    seen.0.extend(reader.read().map(|m| m.0));
}

fn app(net: &SimNetwork, me: usize) -> App {
    let mut b = NetSessionBuilder::<Cfg>::new();
    for h in 0..2 {
        b = if h == me {
            b.local_player(h)
        } else {
            b.remote_player(h, PeerAddr::Sim(h as u32))
        };
    }
    let (session, monitor) = b.build_monitored(net.node(me as u32)).expect("session");
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .add_plugins(NearplayNetPlugin::<Cfg>::default())
        .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_secs_f64(
            1.0 / 60.0,
        )))
        .init_resource::<Score>()
        .init_resource::<Polls>()
        .init_resource::<Seen>()
        .rollback_resource_with_copy::<Score>()
        .checksum_resource_with_hash::<Score>()
        .add_systems(ReadInputs, read_inputs)
        .add_systems(GgrsSchedule, step)
        .add_systems(Update, collect);
    app.world_mut().start_net_session(session, monitor);
    app
}

#[test]
fn plugin_runs_two_peers_with_stats_and_messages() {
    let net = SimNetwork::with_profile(
        5,
        LinkProfile::latency(Duration::from_millis(30), Duration::from_millis(5)),
    );
    let mut apps = [app(&net, 0), app(&net, 1)];
    let deadline = Instant::now() + Duration::from_secs(25);
    let confirmed = |a: &App| a.world().resource::<ConfirmedFrameCount>().0;
    while apps.iter().any(|a| confirmed(a) < 300) {
        assert!(Instant::now() < deadline, "apps did not reach frame 300");
        for a in &mut apps {
            a.update();
        }
        std::thread::yield_now();
    }
    for a in &apps {
        let w = a.world();
        let seen = &w.resource::<Seen>().0;
        assert!(
            seen.iter()
                .any(|e| matches!(e, NetEvent::Synchronized { .. })),
            "{seen:?}"
        );
        assert!(
            !seen
                .iter()
                .any(|e| matches!(e, NetEvent::DesyncDetected { .. })),
            "{seen:?}"
        );
        let stats = &w.resource::<NetStatsRes>().0;
        assert!(stats.frames_advanced >= 300, "{stats:?}");
        assert_eq!(stats.peers.len(), 1);
        assert!(stats.peers[0].traffic.datagrams_received > 0);
        assert!(w.resource::<RollbackFrameCount>().0 >= 300);
    }
    let rollbacks: u64 = apps
        .iter()
        .map(|a| a.world().resource::<NetStatsRes>().rollbacks.rollbacks)
        .sum();
    assert!(
        rollbacks > 0,
        "30 ms links and unpaced updates must roll back"
    );
}
