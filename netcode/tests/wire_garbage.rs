//! The datagram decoder fed garbage from a seeded generator: random bytes,
//! mutated and truncated real datagrams, and authentic datagrams carrying
//! random payloads. Nothing panics, and nothing unauthentic is accepted.

use nearplay_netcode::prelude::*;
use nearplay_netcode::transport::SimRng;
use nearplay_netcode::wire::{
    MAX_DATAGRAM, ReplayWindow, Route, WIRE_VERSION, WireCodec, WireError, decode_payload,
};

const ROUTE: Route = Route {
    sender: 1,
    receiver: 0,
};

fn codec() -> WireCodec {
    WireCodec::new(MatchId(0xfeed), &MatchKey([3; 32]))
}

/// Real GGRS messages to mutate, postcard-encoded by hand (header magic
/// varint, body variant, fields): KeepAlive, SyncRequest, QualityReport,
/// and the three in one batch.
fn sample_datagrams(c: &WireCodec) -> Vec<Vec<u8>> {
    let payloads: [&[u8]; 4] = [
        &[1, 7],
        &[0x81, 0x01, 0, 42],
        &[9, 4, 3, 100],
        &[1, 7, 0x81, 0x01, 0, 42, 9, 4, 3, 100],
    ];
    payloads
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut out = Vec::new();
            c.seal(ROUTE, i as u64, p, &mut out).expect("seal");
            out
        })
        .collect()
}

#[test]
fn random_bytes_never_accepted() {
    let c = codec();
    let mut rng = SimRng::new(0xdead_beef);
    let window = ReplayWindow::new();
    for _ in 0..100_000 {
        let len = rng.below(MAX_DATAGRAM as u64 + 64) as usize;
        let mut d: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        if rng.chance(0.5) && !d.is_empty() {
            // The right version, so the tag check is reached.
            d[0] = WIRE_VERSION;
        }
        assert!(
            c.verify(&d, ROUTE, &window).is_err(),
            "random bytes accepted"
        );
        let _ = decode_payload(&d);
    }
}

#[test]
fn mutations_and_truncations_rejected() {
    let c = codec();
    let samples = sample_datagrams(&c);
    let window = ReplayWindow::new();
    for s in &samples {
        assert!(c.verify(s, ROUTE, &window).is_ok(), "sample must be valid");
    }
    let mut rng = SimRng::new(7);
    for _ in 0..50_000 {
        let s = &samples[rng.below(samples.len() as u64) as usize];
        let mut d = s.clone();
        match rng.below(3) {
            0 => {
                let at = rng.below(d.len() as u64) as usize;
                d[at] ^= 1 << rng.below(8);
            }
            1 => d.truncate(rng.below(d.len() as u64) as usize),
            _ => d.push(rng.next_u64() as u8),
        }
        let err = c
            .verify(&d, ROUTE, &window)
            .expect_err("mutated datagram accepted");
        assert_ne!(err, WireError::Malformed, "a mutation reached the decoder");
    }
}

#[test]
fn authentic_garbage_payload_is_malformed_not_a_panic() {
    let c = codec();
    let mut rng = SimRng::new(11);
    let mut window = ReplayWindow::new();
    let (mut ok, mut malformed) = (0, 0);
    for seq in 0..50_000u64 {
        let len = 1 + rng.below(200) as usize;
        let payload: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        let mut d = Vec::new();
        c.seal(ROUTE, seq, &payload, &mut d).expect("seal");
        let (_, opened) = c.open(&d, ROUTE, &mut window).expect("authentic");
        match decode_payload(opened) {
            Ok(msgs) => {
                assert!(!msgs.is_empty() && msgs.len() <= 16);
                ok += 1
            }
            Err(WireError::Malformed) => malformed += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert!(malformed > 0 && ok + malformed == 50_000);
}
