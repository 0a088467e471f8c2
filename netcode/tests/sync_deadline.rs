//! Synchronisation has a deadline: a peer at a silent address (a bound UDP
//! socket that never answers) ends the session's handshake with an error
//! that names it, instead of "Waiting..." forever; peers that answer are
//! never timed out. Real loopback sockets; the deadline itself is tested
//! with a fake clock in `src/sync.rs`.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use nearplay_netcode::prelude::*;
use nearplay_netcode::sync::UnreachablePeer;

/// Test limit: far above the 400 ms deadline, only turns a hang into a failure.
const LIMIT: Duration = Duration::from_secs(10);
const DEADLINE: Duration = Duration::from_millis(400);
/// A game loop's pace (a frame at ~200 fps), not a synchronisation.
const FRAME: Duration = Duration::from_millis(5);

fn named_plan(addrs: &[SocketAddr], local: usize) -> MatchPlan {
    let mut plan = udp_plan(addrs, 21, local);
    for (p, name) in plan.players.iter_mut().zip(["Ann", "Bo"]) {
        p.name = name.into();
    }
    plan
}

fn session(
    socket: std::net::UdpSocket,
    plan: &MatchPlan,
) -> (ggrs::P2PSession<GameCfg>, NetMonitor) {
    let transport = UdpTransport::from_plan(socket, plan).expect("transport");
    NetSessionBuilder::<GameCfg>::from_plan(plan)
        .sync_timeout(DEADLINE)
        .build_monitored(transport)
        .expect("session builds")
}

#[test]
fn a_silent_peer_is_named_when_the_deadline_passes() {
    let ours = loopback_socket();
    let silent = loopback_socket();
    let silent_addr = silent.local_addr().expect("addr");
    let plan = named_plan(&[ours.local_addr().expect("addr"), silent_addr], 0);
    let (mut session, mut monitor) = session(ours, &plan);
    let end = Instant::now() + LIMIT;
    let timeout = loop {
        assert!(Instant::now() < end, "no sync timeout within {LIMIT:?}");
        session.poll_remote_clients();
        let events = monitor.drain_events(&mut session);
        if let Err(e) = monitor.check_sync(&session, &events, Instant::now()) {
            break e;
        }
        // A game's frame pace (GGRS is driven as a game drives it), not
        // synchronisation: the loop ends on the deadline event.
        std::thread::sleep(FRAME);
    };
    assert_eq!(
        timeout.unreachable,
        vec![UnreachablePeer {
            name: "Bo".into(),
            addr: PeerAddr::Udp(silent_addr),
        }]
    );
    assert!(timeout.waited >= DEADLINE);
    assert!(
        timeout
            .to_string()
            .starts_with(&format!("could not reach Bo ({silent_addr}) within")),
        "{timeout}"
    );
    // GGRS did try: the silent socket holds its sync requests.
    silent.set_nonblocking(true).expect("nonblocking");
    let mut buf = [0u8; 2048];
    assert!(
        silent.recv_from(&mut buf).is_ok(),
        "no sync request reached Bo"
    );
}

#[test]
fn peers_that_answer_are_never_timed_out() {
    let (a, b) = (loopback_socket(), loopback_socket());
    let addrs = [a.local_addr().expect("addr"), b.local_addr().expect("addr")];
    let plan = named_plan(&addrs, 0);
    let mut peers = [session(a, &plan), session(b, &plan.for_member(1))];
    let end = Instant::now() + LIMIT;
    let mut running_at = None;
    loop {
        assert!(Instant::now() < end, "peers did not synchronise");
        for (s, m) in &mut peers {
            s.poll_remote_clients();
            let events = m.drain_events(s);
            let now = Instant::now();
            assert_eq!(m.check_sync(s, &events, now), Ok(()));
        }
        let running = peers
            .iter()
            .all(|(s, _)| s.current_state() == ggrs::SessionState::Running);
        if running {
            let since = *running_at.get_or_insert_with(Instant::now);
            // Checked again well past the deadline: still fine.
            if since.elapsed() > DEADLINE * 2 {
                break;
            }
        }
        std::thread::sleep(FRAME);
    }
    for (_, m) in &peers {
        assert!(m.sync_watch().is_some_and(|w| w.is_done()));
    }
}
