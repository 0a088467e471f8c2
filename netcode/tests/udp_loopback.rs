//! Real UDP on 127.0.0.1: two peers play 600 frames to the same state, and
//! an attacker in the middle (garbage, replays, forgeries, other matches,
//! other versions, an outsider address) changes nothing but drop counters.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use common::*;
use nearplay_netcode::prelude::*;
use nearplay_netcode::transport::SimRng;
use nearplay_netcode::wire::{HEADER_LEN, OVERHEAD, Route, TAG_LEN, WireCodec, decode_payload};

const DEADLINE: Duration = Duration::from_secs(25);

#[test]
fn two_peers_600_frames_same_state() {
    let (s0, s1) = (loopback_socket(), loopback_socket());
    let addrs = [s0.local_addr().unwrap(), s1.local_addr().unwrap()];
    let plan = udp_plan(&addrs, 21, 0);
    let mut peers = vec![udp_peer(s0, &plan), udp_peer(s1, &plan.for_member(1))];
    run_until(
        &mut peers,
        DEADLINE,
        "600 frames",
        |_| {},
        all_confirmed(600),
    );
    let (frame, sum) = assert_agree(&peers);
    assert_eq!(sum, reference_checksum(2, 21, 2, frame));
    for p in &peers {
        let drops = p.monitor.traffic().drop_counts();
        assert_eq!(drops.total(), 0, "no drops on a clean loopback: {drops:?}");
        let t = p.monitor.traffic().peers();
        assert!(t.values().all(|t| t.datagrams_received > 100));
    }
}

/// Forwards between the two peers and attacks peer 0 from the relay's
/// address (the address peer 0 knows for player 1) and from an outsider.
struct Attacker {
    relay: UdpSocket,
    outsider: UdpSocket,
    peer0: SocketAddr,
    peer1: SocketAddr,
    captured: Vec<Vec<u8>>,
    /// Datagrams peer 0 sent (to reflect back at it).
    reflected: Vec<Vec<u8>>,
    rng: SimRng,
    round: u64,
    plan: MatchPlan,
}

impl Attacker {
    fn step(&mut self) {
        let mut buf = [0u8; 2048];
        while let Ok((n, src)) = self.relay.recv_from(&mut buf) {
            let dgram = &buf[..n];
            if src == self.peer1 {
                if self.captured.len() < 256 {
                    self.captured.push(dgram.to_vec());
                }
                let _ = self.relay.send_to(dgram, self.peer0);
            } else if src == self.peer0 {
                if self.reflected.len() < 64 {
                    self.reflected.push(dgram.to_vec());
                }
                let _ = self.relay.send_to(dgram, self.peer1);
            }
        }
        self.round += 1;
        if self.round % 3 == 0 && !self.captured.is_empty() {
            self.attack();
        }
    }

    fn attack(&mut self) {
        let pick = self.rng.below(self.captured.len() as u64) as usize;
        let old = self.captured[pick].clone();
        let to = self.peer0;
        let from_relay = |d: &[u8]| {
            let _ = self.relay.send_to(d, to);
        };
        // Garbage of every length, including oversized and too short.
        let len = self.rng.below(1400) as usize;
        let garbage: Vec<u8> = (0..len).map(|_| self.rng.next_u64() as u8).collect();
        from_relay(&garbage);
        from_relay(&garbage[..len.min(OVERHEAD)]);
        // A replay of a datagram peer 0 already accepted.
        from_relay(&old);
        // Tampered payload and tampered tag.
        let mut tampered = old.clone();
        let at = HEADER_LEN + self.rng.below((old.len() - HEADER_LEN) as u64) as usize;
        tampered[at] ^= 0x40;
        from_relay(&tampered);
        // The old wire version.
        let mut version = old.clone();
        version[0] = 1;
        from_relay(&version);
        // Peer 0's own datagram sent back to it as if from player 1.
        if let Some(mine) = self.reflected.last() {
            from_relay(mine);
        }
        // Real messages sealed with a fresh sequence number by someone
        // without the key, by a stale peer of another match (same key,
        // another match id), and by an insider claiming to be player 0.
        let payload = &old[HEADER_LEN..old.len() - TAG_LEN];
        let msgs = decode_payload(payload).expect("captured decodes");
        assert!(!msgs.is_empty());
        let seq = 1_000 + self.round;
        let as_player = |sender| Route {
            sender,
            receiver: 0,
        };
        let mut out = Vec::new();
        let forgers = [
            (WireCodec::new(self.plan.match_id, &MatchKey([0xEE; 32])), 1),
            (WireCodec::new(MatchId(7), &self.plan.key), 1),
            (WireCodec::new(self.plan.match_id, &self.plan.key), 0),
        ];
        for (codec, sender) in forgers {
            codec
                .seal(as_player(sender), seq, payload, &mut out)
                .unwrap();
            from_relay(&out);
        }
        // A valid datagram from an address that is no member.
        let _ = self.outsider.send_to(&old, to);
    }
}

#[test]
fn attacker_changes_nothing_and_is_counted() {
    let (s0, s1) = (loopback_socket(), loopback_socket());
    let relay = loopback_socket();
    relay.set_nonblocking(true).unwrap();
    let (a0, a1, ar) = (
        s0.local_addr().unwrap(),
        s1.local_addr().unwrap(),
        relay.local_addr().unwrap(),
    );
    // Each peer knows the other at the relay's address.
    let plan0 = udp_plan(&[a0, ar], 33, 0);
    let plan1 = udp_plan(&[ar, a1], 33, 1);
    let mut attacker = Attacker {
        relay,
        outsider: loopback_socket(),
        peer0: a0,
        peer1: a1,
        captured: Vec::new(),
        reflected: Vec::new(),
        rng: SimRng::new(33),
        round: 0,
        plan: plan0.clone(),
    };
    let mut peers = vec![udp_peer(s0, &plan0), udp_peer(s1, &plan1)];
    run_until(
        &mut peers,
        DEADLINE,
        "600 frames under attack",
        |_| attacker.step(),
        all_confirmed(600),
    );
    let (frame, sum) = assert_agree(&peers);
    assert_eq!(
        sum,
        reference_checksum(2, 33, 2, frame),
        "the attack changed the game state"
    );
    let drops = peers[0].monitor.traffic().drop_counts();
    for reason in [
        DropReason::TooShort,
        DropReason::TooLarge,
        DropReason::WrongVersion,
        DropReason::BadTag,
        DropReason::Replayed,
        DropReason::UnknownAddress,
    ] {
        assert!(
            drops.get(reason) > 0,
            "no {} drops: {drops:?}",
            reason.name()
        );
    }
    assert_eq!(drops.get(DropReason::Malformed), 0);
    assert_eq!(peers[1].monitor.traffic().drop_counts().total(), 0);
}

/// The link conditioner wraps the real UDP transport (the demo's
/// `--sim-latency/--sim-loss`): still the same state, with rollbacks.
#[test]
fn conditioned_udp_agrees() {
    let (s0, s1) = (loopback_socket(), loopback_socket());
    let addrs = [s0.local_addr().unwrap(), s1.local_addr().unwrap()];
    let plan = udp_plan(&addrs, 44, 0);
    let link = LinkProfile::latency(Duration::from_millis(20), Duration::from_millis(5))
        .with_loss(0.05)
        .with_duplicate(0.02);
    let mut peers: Vec<Peer> = [s0, s1]
        .into_iter()
        .enumerate()
        .map(|(h, s)| {
            let (session, monitor) =
                start_udp_session::<GameCfg>(&plan.for_member(h), s, Some(link)).expect("session");
            Peer::new(h, session, monitor, plan.seed)
        })
        .collect();
    run_until(
        &mut peers,
        DEADLINE,
        "300 frames",
        |_| {},
        all_confirmed(300),
    );
    let (frame, sum) = assert_agree(&peers);
    assert_eq!(sum, reference_checksum(2, 44, 2, frame));
    let rollbacks: u64 = peers.iter().map(|p| p.monitor.rollbacks().rollbacks).sum();
    assert!(rollbacks > 0);
    // The conditioner sits above the wire: its duplicates are sealed with
    // fresh sequence numbers and reach GGRS, which tolerates them.
    for p in &peers {
        assert_eq!(p.monitor.traffic().drop_counts().total(), 0);
    }
}
