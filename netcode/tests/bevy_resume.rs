//! The Bevy side of a resume (issue 13): registered resources and rollback
//! entities' components as resume state bytes (round trip, bevy_ggrs's
//! entity order kept, hostile bytes refused), and two headless apps
//! swapping to the next epoch's session mid-match, one of them loading the
//! other's state, then playing on without a desync.
#![cfg(feature = "bevy")]

use std::time::{Duration, Instant};

use bevy::platform::collections::HashMap;
use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use bevy_ggrs::{
    ConfirmedFrameCount, GgrsSchedule, LocalInputs, LocalPlayers, PlayerInputs, ReadInputs,
    Rollback, RollbackApp, RollbackFrameCount, RollbackId, RollbackOrdered,
};
use ggrs::{Config, PredictRepeatLast};
use nearplay_netcode::bevy::prelude::*;
use nearplay_netcode::bevy::resume::{read_resume_state, write_resume_state};
use nearplay_netcode::prelude::*;
use nearplay_netcode::resume::FrameOffset;
use serde::{Deserialize, Serialize};

struct Cfg;
impl Config for Cfg {
    type Input = u8;
    type InputPredictor = PredictRepeatLast;
    type State = u8;
    type Address = PeerAddr;
}

/// The rolled-back game state.
#[derive(Resource, Clone, Copy, Default, Hash, PartialEq, Debug, Serialize, Deserialize)]
struct Score(u64);

/// A second registered resource, of variable size.
#[derive(Resource, Clone, Default, PartialEq, Debug, Serialize, Deserialize)]
struct Trail(Vec<(i32, i32)>);

/// A rollback component carried in resumes.
#[derive(Component, Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
struct Disc(i32);

/// A second one, on some entities only.
#[derive(Component, Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
struct Spin(u8);

#[derive(Resource, Default)]
struct Polls(u8);

#[derive(Resource, Default)]
struct Seen(Vec<NetEvent>);

fn read_inputs(mut commands: Commands, players: Res<LocalPlayers>, mut polls: ResMut<Polls>) {
    polls.0 = polls.0.wrapping_add(1);
    let inputs: HashMap<_, _> = players.0.iter().map(|h| (*h, polls.0 % 5)).collect();
    commands.insert_resource(LocalInputs::<Cfg>(inputs));
}

fn step(inputs: Res<PlayerInputs<Cfg>>, mut score: ResMut<Score>, mut discs: Query<&mut Disc>) {
    for (i, _) in inputs.iter() {
        score.0 = score.0.wrapping_mul(31).wrapping_add(u64::from(*i));
        for mut d in &mut discs {
            d.0 = d.0.wrapping_mul(3).wrapping_add(i32::from(*i)) % 10_007;
        }
    }
}

fn collect(mut reader: MessageReader<NetMessage>, mut seen: ResMut<Seen>) {
    seen.0.extend(reader.read().map(|m| m.0));
}

/// A 2-player session for `me` on nodes `base` and `base + 1`.
fn session(net: &SimNetwork, me: usize, base: u32) -> (ggrs::P2PSession<Cfg>, NetMonitor) {
    let mut b = NetSessionBuilder::<Cfg>::new();
    for h in 0..2 {
        b = if h == me {
            b.local_player(h)
        } else {
            b.remote_player(h, PeerAddr::Sim(base + h as u32))
        };
    }
    b.build_monitored(net.node(base + me as u32))
        .expect("session")
}

fn app() -> App {
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
        .resume_resource::<Score>()
        .resume_resource::<Trail>()
        .rollback_component_with_copy::<Disc>()
        .rollback_component_with_copy::<Spin>()
        .checksum_component_with_hash::<Disc>()
        .resume_component::<Disc>()
        .resume_component::<Spin>()
        .add_systems(ReadInputs, read_inputs)
        .add_systems(GgrsSchedule, step)
        .add_systems(Update, collect);
    app
}

fn run_until(apps: &mut [App], what: &str, done: impl Fn(&App) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(25);
    while !apps.iter().all(&done) {
        assert!(Instant::now() < deadline, "apps did not reach {what}");
        for a in apps.iter_mut() {
            a.update();
        }
        std::thread::yield_now();
    }
}

/// Resume state bytes with these resources and no rollback entities.
fn state_of(resources: &[(&str, Vec<u8>)]) -> Vec<u8> {
    type Entities = (u64, Vec<String>, Vec<(u64, Vec<(u16, Vec<u8>)>)>);
    postcard::to_allocvec(&(resources, Entities::default())).expect("encodes")
}

/// Live rollback entities as (bevy_ggrs order index, Disc, Spin).
fn rollback_entities(world: &mut World) -> Vec<(u64, Option<Disc>, Option<Spin>)> {
    let ids: Vec<RollbackId> = world.resource::<RollbackOrdered>().iter_sorted().collect();
    let mut q = world.query::<(&RollbackId, Option<&Disc>, Option<&Spin>)>();
    let mut out: Vec<_> = q
        .iter(world)
        .map(|(id, d, s)| {
            let order = ids
                .iter()
                .position(|i| i == id)
                .unwrap_or_else(|| panic!("{id:?} not in {ids:?}")) as u64;
            (order, d.copied(), s.copied())
        })
        .collect();
    out.sort_by_key(|e| e.0);
    out
}

#[test]
fn rollback_entities_move_with_their_order_and_hostile_entity_states_are_refused() {
    // The provider: five discs spawned, two despawned, one spawned later
    // with a spin, and a disc that is no rollback entity.
    let mut a = app();
    let w = a.world_mut();
    let spawned: Vec<Entity> = (0..5).map(|i| w.spawn((Disc(i), Rollback)).id()).collect();
    w.flush();
    w.despawn(spawned[1]);
    w.despawn(spawned[3]);
    w.spawn((Disc(50), Spin(3), Rollback));
    w.spawn(Disc(-1));
    w.flush();
    let want = rollback_entities(w);
    assert_eq!(
        want,
        vec![
            (0, Some(Disc(0)), None),
            (2, Some(Disc(2)), None),
            (4, Some(Disc(4)), None),
            (5, Some(Disc(50)), Some(Spin(3))),
        ]
    );
    let bytes = write_resume_state(a.world()).expect("writes");

    // The newcomer spawned its own start-up entities (a spin the provider's
    // first disc no longer has, one entity too many).
    let mut b = app();
    let w = b.world_mut();
    w.spawn((Disc(100), Spin(9), Rollback));
    w.spawn((Disc(101), Rollback));
    w.spawn((Disc(102), Rollback));
    w.flush();
    let before = rollback_entities(w);

    // Hostile bytes first: cut, tampered order, too many ids, an unknown
    // component: refused, and the newcomer's entities untouched.
    for cut in 0..bytes.len() {
        assert!(read_resume_state(w, &bytes[..cut]).is_err(), "cut at {cut}");
    }
    type Entities = (u64, Vec<String>, Vec<(u64, Vec<(u16, Vec<u8>)>)>);
    let disc = std::any::type_name::<Disc>().to_string();
    let one = |v: i32| vec![(0u16, postcard::to_allocvec(&Disc(v)).expect("encodes"))];
    let hostile: Vec<Entities> = vec![
        (3, vec![disc.clone()], vec![(2, one(1)), (1, one(2))]),
        (3, vec![disc.clone()], vec![(1, one(1)), (1, one(2))]),
        (3, vec![disc.clone()], vec![(3, one(1))]),
        (u64::MAX, vec![disc.clone()], vec![(0, one(1))]),
        (3, vec!["not::Registered".into()], vec![(0, one(1))]),
        (3, vec![disc.clone(), disc.clone()], vec![(0, one(1))]),
        (3, vec![disc.clone()], vec![(0, vec![(1, vec![1])])]),
        (3, vec![disc.clone()], vec![(0, vec![(0, vec![0xff; 9])])]),
    ];
    for h in &hostile {
        let state = postcard::to_allocvec(&(Vec::<(String, Vec<u8>)>::new(), h)).expect("encodes");
        assert!(read_resume_state(w, &state).is_err(), "{h:?}");
    }
    assert_eq!(rollback_entities(w), before, "untouched by what failed");

    read_resume_state(w, &bytes).expect("reads");
    assert_eq!(rollback_entities(w), want);
    assert_eq!(w.resource::<RollbackOrdered>().len(), 6);
    // The next rollback entity takes the same index on both sides.
    for world in [a.world_mut(), b.world_mut()] {
        world.spawn((Disc(7), Rollback));
        world.flush();
        let last = rollback_entities(world).pop().expect("one");
        assert_eq!(last, (6, Some(Disc(7)), None));
    }
}

#[test]
fn registered_resources_round_trip_and_hostile_bytes_are_refused() {
    let mut a = app();
    a.world_mut().insert_resource(Score(42));
    a.world_mut()
        .insert_resource(Trail(vec![(1, -2), (300, 4)]));
    let bytes = write_resume_state(a.world()).expect("writes");
    let mut b = app();
    b.world_mut().insert_resource(Score(7));
    read_resume_state(b.world_mut(), &bytes).expect("reads");
    assert_eq!(*b.world().resource::<Score>(), Score(42));
    assert_eq!(b.world().resource::<Trail>().0, vec![(1, -2), (300, 4)]);

    let mut c = app();
    c.world_mut().insert_resource(Score(7));
    for cut in 0..bytes.len() {
        assert!(
            read_resume_state(c.world_mut(), &bytes[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    let mut long = bytes.clone();
    long.push(0);
    assert!(read_resume_state(c.world_mut(), &long).is_err());
    let unknown = state_of(&[("not::Registered", vec![1u8])]);
    assert!(read_resume_state(c.world_mut(), &unknown).is_err());
    let name = std::any::type_name::<Score>();
    let twice = state_of(&[(name, vec![1u8]), (name, vec![2u8])]);
    assert!(read_resume_state(c.world_mut(), &twice).is_err());
    // A good entry beside a bad one: nothing is applied.
    let mixed = state_of(&[
        (name, postcard::to_allocvec(&Score(9)).expect("encodes")),
        (std::any::type_name::<Trail>(), vec![0xff, 0xff, 0xff]),
    ]);
    assert!(read_resume_state(c.world_mut(), &mixed).is_err());
    let mut rng = 7u64;
    for len in 0..500 {
        let garbage: Vec<u8> = (0..len)
            .map(|_| {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
                (rng >> 33) as u8
            })
            .collect();
        let _ = read_resume_state(c.world_mut(), &garbage);
    }
    assert_eq!(
        *c.world().resource::<Score>(),
        Score(7),
        "untouched by what failed"
    );
}

#[test]
fn two_apps_swap_to_the_next_epoch_and_play_on_without_desync() {
    let net = SimNetwork::with_profile(
        8,
        LinkProfile::latency(Duration::from_millis(30), Duration::from_millis(5)),
    );
    let mut apps = [app(), app()];
    for (me, a) in apps.iter_mut().enumerate() {
        for i in 0..3 {
            a.world_mut().spawn((Disc(i), Rollback));
        }
        let (s, m) = session(&net, me, 0);
        a.world_mut().start_net_session(s, m);
    }
    let confirmed = |a: &App| a.world().resource::<ConfirmedFrameCount>().0;
    run_until(&mut apps, "frame 60", |a| confirmed(a) >= 60);

    // App 0 provides its state; app 1 loads it, as a newcomer would; both
    // start the next epoch's session at app 0's frame.
    let frame = apps[0].world().resource::<RollbackFrameCount>().0;
    let state = write_resume_state(apps[0].world()).expect("writes");
    // App 1 as a newcomer: its discs are not the match's, and it has one
    // rollback entity too many; the state puts both right.
    let w = apps[1].world_mut();
    let mut discs = w.query::<&mut Disc>();
    discs.iter_mut(w).for_each(|mut d| d.0 = 999);
    w.spawn((Disc(5), Rollback));
    read_resume_state(w, &state).expect("reads");
    let mut discs = w.query::<&Disc>();
    assert_eq!(discs.iter(w).count(), 3);
    for (me, a) in apps.iter_mut().enumerate() {
        let (s, m) = session(&net, me, 10);
        a.world_mut().swap_net_session(s, m, FrameOffset(frame));
        a.world_mut().resource_mut::<Seen>().0.clear();
        assert_eq!(a.world().resource::<RollbackFrameCount>().0, 0);
    }
    run_until(&mut apps, "frame 120 of the new epoch", |a| {
        confirmed(a) >= 120
    });
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
        assert_eq!(**w.resource::<NetFrameOffset>(), FrameOffset(frame));
        assert!(
            w.resource::<NetStatsRes>().rollbacks.rollbacks > 0,
            "30 ms links roll back"
        );
    }
}
