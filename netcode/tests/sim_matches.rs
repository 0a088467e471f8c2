//! 2, 3 and 4 peers over the simulated network under four link conditions,
//! each playing 1000+ frames of seeded random inputs: all peers agree on
//! every confirmed frame, and match the offline reference simulation.

mod common;

use std::time::Duration;

use common::*;
use nearplay_netcode::prelude::*;

const FRAMES: i32 = 1000;
const DEADLINE: Duration = Duration::from_secs(25);

#[derive(Clone, Copy, Debug)]
enum Link {
    Perfect,
    Latency,
    Loss5,
    Chaos,
}

fn profile(link: Link) -> LinkProfile {
    let ms = Duration::from_millis;
    match link {
        Link::Perfect => LinkProfile::perfect(),
        Link::Latency => LinkProfile::latency(ms(80), ms(20)),
        Link::Loss5 => LinkProfile::lossy(0.05),
        Link::Chaos => LinkProfile::latency(ms(5), ms(2))
            .with_loss(0.20)
            .with_reorder(0.10, ms(15))
            .with_duplicate(0.10),
    }
}

fn play(players: usize, link: Link, seed: u64) {
    let net = SimNetwork::with_profile(seed, profile(link));
    let settings = NetSettings::default();
    let mut peers = sim_peers(players, &net, &settings, seed);
    run_until(
        &mut peers,
        DEADLINE,
        "1000 confirmed frames",
        |_| {},
        all_confirmed(FRAMES),
    );
    let (frame, sum) = assert_agree(&peers);
    assert!(frame >= FRAMES);
    assert_eq!(
        sum,
        reference_checksum(players, seed, settings.input_delay, frame),
        "state differs from the offline simulation of the same inputs"
    );
    let rollbacks: u64 = peers.iter().map(|p| p.monitor.rollbacks().rollbacks).sum();
    if matches!(link, Link::Latency) {
        assert!(rollbacks > 0, "80 ms links must cause rollbacks");
    }
}

macro_rules! matrix {
    ($($name:ident: $players:expr, $link:expr, $seed:expr;)*) => {$(
        #[test]
        fn $name() {
            play($players, $link, $seed);
        }
    )*};
}

matrix! {
    two_perfect: 2, Link::Perfect, 1;
    two_latency: 2, Link::Latency, 2;
    two_loss5: 2, Link::Loss5, 3;
    two_chaos: 2, Link::Chaos, 4;
    three_perfect: 3, Link::Perfect, 5;
    three_latency: 3, Link::Latency, 6;
    three_loss5: 3, Link::Loss5, 7;
    three_chaos: 3, Link::Chaos, 8;
    four_perfect: 4, Link::Perfect, 9;
    four_latency: 4, Link::Latency, 10;
    four_loss5: 4, Link::Loss5, 11;
    four_chaos: 4, Link::Chaos, 12;
}

/// GGRS 0.13 passes a disconnect on through the inputs' connection status:
/// the peer that notices first decides for everyone, and the others drop the
/// vanished peer without any GGRS event. Peer 1 here waits a minute before
/// deciding itself, so it only hears of it from peer 0; it must still be
/// told (seen in CI: a bot that never reported the peer killed mid-match).
#[test]
fn a_disconnect_noticed_by_another_peer_is_reported_too() {
    let net = SimNetwork::with_profile(
        7,
        LinkProfile::latency(Duration::from_millis(10), Duration::from_millis(2)),
    );
    let settings = |me: usize| NetSettings {
        disconnect_timeout_ms: if me == 1 { 60_000 } else { 500 },
        disconnect_notify_start_ms: 200,
        ..NetSettings::default()
    };
    let mut peers = sim_peers_with(3, &net, settings, 7);
    let tick = Some(Duration::from_micros(16_667));
    run_paced(
        &mut peers,
        tick,
        DEADLINE,
        "frame 60",
        |_| {},
        all_confirmed(60),
    );
    net.vanish(2);
    peers[2].alive = false;
    let gone = NetEvent::PeerDisconnected {
        peer: PeerAddr::Sim(2),
    };
    run_paced(
        &mut peers,
        tick,
        DEADLINE,
        "both survivors told of the disconnect",
        |_| {},
        |ps| ps[..2].iter().all(|p| p.events.contains(&gone)),
    );
    for p in &peers[..2] {
        let told = p.events.iter().filter(|e| **e == gone).count();
        assert_eq!(told, 1, "peer {} told {told} times", p.handle);
    }
}

/// A peer cut off long enough to be dropped, whose game keeps running
/// alone (a window that stayed open through a network drop), comes back
/// on the network before it rejoins: GGRS 0.13 still takes the checksum
/// reports of a disconnected endpoint (until its shutdown 5 s later) and
/// compares them with ours, so the survivors saw desyncs with a state
/// nobody plays (and the Bevy plugin wrote desync reports). A dropped
/// peer's checksums are not a desync.
#[test]
fn a_dropped_peer_that_runs_on_alone_raises_no_desync_when_it_comes_back() {
    let net = SimNetwork::with_profile(
        11,
        LinkProfile::latency(Duration::from_millis(5), Duration::from_millis(1)),
    );
    let settings = NetSettings {
        disconnect_timeout_ms: 500,
        disconnect_notify_start_ms: 200,
        ..NetSettings::default()
    };
    let mut peers = sim_peers(3, &net, &settings, 11);
    let tick = Some(Duration::from_micros(16_667));
    run_paced(
        &mut peers,
        tick,
        DEADLINE,
        "frame 60",
        |_| {},
        all_confirmed(60),
    );
    let cut = |on: bool| {
        let profile = match on {
            true => LinkProfile::lossy(1.0),
            false => LinkProfile::latency(Duration::from_millis(5), Duration::from_millis(1)),
        };
        for other in [0, 1] {
            net.set_link(2, other, profile);
            net.set_link(other, 2, profile);
        }
    };
    cut(true);
    let gone = |p: &Peer, addr: u32| {
        p.events.contains(&NetEvent::PeerDisconnected {
            peer: PeerAddr::Sim(addr),
        })
    };
    run_paced(
        &mut peers,
        tick,
        DEADLINE,
        "the cut-off peer dropped on both sides",
        |_| {},
        |ps| gone(&ps[0], 2) && gone(&ps[1], 2) && gone(&ps[2], 0) && gone(&ps[2], 1),
    );
    // It plays on alone (its state now differs), then its link comes back.
    let alone_from = peers[2].session.current_frame();
    run_paced(
        &mut peers,
        tick,
        DEADLINE,
        "the lone peer 60 frames on",
        |_| {},
        |ps| ps[2].session.current_frame() >= alone_from + 60,
    );
    cut(false);
    let back_at = peers[0].session.confirmed_frame();
    run_paced(
        &mut peers,
        tick,
        DEADLINE,
        "the survivors 120 frames on",
        |_| {},
        |ps| {
            ps[..2]
                .iter()
                .all(|p| p.session.confirmed_frame() >= back_at + 120)
        },
    );
    for p in &peers[..2] {
        assert_eq!(p.desyncs(), 0, "peer {}: {:?}", p.handle, p.events);
    }
}

/// A peer vanishes mid-match: the others get the disconnect event, keep
/// running, and still agree.
///
/// Paced at 60 fps like a real game: unpaced, the survivors' views of the
/// vanished peer's last frame can differ by more than the prediction window,
/// and GGRS 0.13 then panics in `sync_layer.rs` ("cannot load frame outside
/// of prediction window") while resimulating the disconnect.
#[test]
fn peer_vanishes_others_continue() {
    let net = SimNetwork::with_profile(
        99,
        LinkProfile::latency(Duration::from_millis(10), Duration::from_millis(2)),
    );
    let settings = NetSettings {
        disconnect_timeout_ms: 600,
        disconnect_notify_start_ms: 200,
        ..NetSettings::default()
    };
    let mut peers = sim_peers(3, &net, &settings, 99);
    let tick = Some(Duration::from_micros(16_667));
    run_paced(
        &mut peers,
        tick,
        DEADLINE,
        "frame 120",
        |_| {},
        all_confirmed(120),
    );
    net.vanish(2);
    peers[2].alive = false;
    let gone = PeerAddr::Sim(2);
    run_paced(
        &mut peers,
        tick,
        DEADLINE,
        "disconnect events",
        |_| {},
        |ps| {
            ps[..2].iter().all(|p| {
                p.events
                    .contains(&NetEvent::PeerDisconnected { peer: gone })
            })
        },
    );
    for p in &peers[..2] {
        assert!(
            p.events
                .iter()
                .any(|e| matches!(e, NetEvent::NetworkInterrupted { peer, .. } if *peer == gone)),
            "interrupted is reported before the disconnect"
        );
    }
    let resumed_at = settled(&peers[0]);
    run_paced(
        &mut peers,
        tick,
        DEADLINE,
        "120 more frames after the disconnect",
        |_| {},
        all_confirmed(resumed_at + 120),
    );
    assert_agree(&peers);
}
