//! Rejoin and late join (issue 13) over the simulated network: every member
//! restarts GGRS at an agreed confirmed frame under a new key epoch, and
//! the newcomer loads the state at that frame. Paced like a game: at 60
//! fps over the lossy link, four times faster on the LAN links (whose
//! latency is under a tick either way; see [`Pace`]). Figures (longest survivor stall, newcomer's time to its first confirmed
//! frame) are printed with `--nocapture`.

mod common;
mod resume_common;

use std::time::{Duration, Instant};

use common::{GameState, input_for};
use ggrs::{InputStatus, Message, NonBlockingSocket};
use nearplay_netcode::prelude::*;
use nearplay_netcode::transport::{AuthTransport, EpochLink, SimLink};
use nearplay_netcode::wire::{Route, WireCodec, encode_message};
use resume_common::*;

/// Every member switched at the same frame; all agree on every frame from
/// there to `END`, survivors from 0. Returns the switch frame.
fn assert_agree_after_switch(members: &[Member]) -> i32 {
    let switch = members[0].switched_at.expect("switched");
    for m in members {
        assert_eq!(
            m.switched_at,
            Some(switch),
            "member {} switch frame",
            m.handle
        );
    }
    for f in 0..=END {
        let sums: Vec<Option<&u128>> = members
            .iter()
            .filter(|m| f >= switch || m.handle < 2)
            .map(|m| m.checksums.get(&f))
            .collect();
        assert!(sums[0].is_some(), "no checksum at frame {f}");
        if !sums.iter().all(|s| *s == sums[0]) {
            for m in members {
                let around: Vec<_> = (f - 3..=f).map(|g| (g, m.inputs.get(&g))).collect();
                eprintln!("member {} inputs before {f}: {around:?}", m.handle);
            }
            panic!("members differ at frame {f}: {sums:?}");
        }
    }
    for m in members {
        let dropped: Vec<&NetEvent> = m.events[m.events_at_resume..]
            .iter()
            .filter(|e| matches!(e, NetEvent::PeerDisconnected { .. }))
            .collect();
        assert!(
            dropped.is_empty(),
            "member {} dropped {dropped:?} in the new epoch",
            m.handle
        );
        let desyncs: Vec<&NetEvent> = m
            .events
            .iter()
            .filter(|e| matches!(e, NetEvent::DesyncDetected { .. }))
            .collect();
        assert!(
            desyncs.is_empty(),
            "member {} (switched at {:?}) saw {} desyncs, first {:?}",
            m.handle,
            m.switched_at,
            desyncs.len(),
            &desyncs[..desyncs.len().min(3)]
        );
    }
    switch
}

/// Prints and checks the figures the issue asks for.
fn report(what: &str, members: &[Member]) {
    let newcomer = &members[2];
    let joined = newcomer
        .first_confirmed
        .map(|t| t.duration_since(newcomer.started))
        .expect("newcomer confirmed a frame");
    let stalls: Vec<u32> = members[..2].iter().map(|m| m.longest_stall).collect();
    eprintln!(
        "{what}: switch at frame {:?}; newcomer start -> first confirmed frame {:.0} ms; \
         survivors' longest stall {stalls:?} ticks",
        newcomer.switched_at,
        joined.as_secs_f64() * 1000.0
    );
    for (m, s) in members.iter().zip(&stalls) {
        assert!(
            *s <= MAX_STALL_TICKS,
            "survivor {} stalled {s} ticks in a row",
            m.handle
        );
    }
}

/// A rejoin over `profile`: the match until the rejoin starts (on a LAN)
/// at four times real time, the rejoin and the rest of the match at
/// `pace`.
fn rejoin(profile: LinkProfile, control_latency: Duration, seed: u64, pace: Pace, what: &str) {
    let lan = Pace::faster(4);
    let members = rejoin_match(profile, control_latency, seed, false, lan, pace, what);
    assert_agree_after_switch(&members);
    report(what, &members);
}

#[test]
fn a_restarted_player_rejoins_on_a_lan() {
    let ms = Duration::from_millis;
    let lan = LinkProfile::latency(ms(1), ms(0));
    rejoin(lan, ms(1), 31, Pace::faster(4), "rejoin, LAN");
}

#[test]
fn a_restarted_player_rejoins_over_60ms_jitter_and_loss() {
    let ms = Duration::from_millis;
    let profile = LinkProfile::latency(ms(60), ms(10)).with_loss(0.10);
    // Real time from the rejoin on: 60 ms is 3.6 frames at 60 fps, as the
    // test means it. (Frames 0-300 and the vanish run on a LAN link, at
    // four times real time like the LAN test's.)
    let what = "rejoin, 60 ms +-10 ms, 10 % loss";
    rejoin(profile, ms(60), 32, Pace::REAL_TIME, what);
}

/// The state at `frame` of a match two players started, a third joining
/// at `switch`: each session gives every player default input for its
/// first `delay` frames.
fn late_join_reference(seed: u64, delay: i32, switch: i32, frame: i32) -> u128 {
    let mut g = GameState::default();
    for f in 0..frame {
        let (players, start) = if f < switch { (2, 0) } else { (3, switch) };
        let inputs: Vec<(u8, InputStatus)> = (0..players)
            .map(|h| {
                let i = if f - start < delay {
                    0
                } else {
                    input_for(seed, h, f - delay)
                };
                (i, InputStatus::Confirmed)
            })
            .collect();
        g.advance(&inputs);
    }
    g.checksum()
}

#[test]
fn a_friend_joins_a_running_match_in_a_free_seat() {
    let ms = Duration::from_millis;
    let seed = 33;
    let net = SimNetwork::with_profile(seed, LinkProfile::latency(ms(5), ms(1)));
    let plan = first_plan(seed, vec![0, 1]);
    let mut members: Vec<Member> = (0..2)
        .map(|h| Member::first(&net, h, &plan, seed))
        .collect();
    let mut control = Control::new(ms(5));
    let nothing = |_: &mut [Member], _: Instant| {};
    let pace = Pace::faster(4);
    run(
        &mut members,
        &mut control,
        pace,
        DEADLINE,
        "frame 300",
        nothing,
        all_settled(300),
    );
    start_resume(
        &net,
        &mut members,
        &next_plan(&plan, vec![0, 1, 2]),
        seed,
        false,
    );
    run(
        &mut members,
        &mut control,
        pace,
        DEADLINE,
        "frame 1200",
        nothing,
        all_settled(END),
    );
    let switch = assert_agree_after_switch(&members);
    let delay = settings().input_delay as i32;
    assert_eq!(
        members[2].checksums.get(&END).copied(),
        Some(late_join_reference(seed, delay, switch, END)),
        "the match differs from the offline simulation of the same inputs"
    );
    report("late join, 5 ms", &members);
}

/// magic 129, variant 0 = SyncRequest: an urgent GGRS message.
fn sync_request() -> Message {
    postcard::from_bytes(&[0x81, 0x01, 0, 42]).expect("SyncRequest decodes")
}

/// A datagram from member 2 to member 0 sealed with `key` as number `seq`.
fn sealed(id: MatchId, key: &MatchKey, seq: u64) -> Vec<u8> {
    let mut payload = Vec::new();
    encode_message(&sync_request(), &mut payload).expect("encodes");
    let mut out = Vec::new();
    let route = Route {
        sender: 2,
        receiver: 0,
    };
    WireCodec::new(id, key)
        .seal(route, seq, &payload, &mut out)
        .expect("seals");
    out
}

/// A former member keeps the old key: its datagrams are accepted while the
/// old epoch runs, and refused by the new epoch's transport, during the
/// overlap and after the switch; the new key's are accepted.
#[test]
fn an_old_epoch_datagram_is_refused_after_the_switch() {
    let net = SimNetwork::new(34);
    let (id, old, new) = (MatchId(34), MatchKey([3; 32]), MatchKey([4; 32]));
    let link = EpochLink::<SimLink>::new(net.datagram_link(0));
    let share = link.share();
    let transport = |link, key: &MatchKey| {
        AuthTransport::<EpochLink<SimLink>>::new(link, id, key, 0, [(2, 2u32)]).expect("transport")
    };
    let mut old_epoch = transport(link, &old);
    let mut forger = net.datagram_link(2);
    use nearplay_netcode::transport::DatagramLink;
    forger.send(0, &sealed(id, &old, 20_000));
    assert_eq!(
        old_epoch.receive_all_messages().len(),
        1,
        "the old key is valid in the old epoch"
    );

    let mut new_epoch = transport(share.next_epoch().expect("handle"), &new);
    forger.send(0, &sealed(id, &old, 20_001));
    assert_eq!(old_epoch.receive_all_messages().len(), 1);
    assert!(
        new_epoch.receive_all_messages().is_empty(),
        "refused during the overlap"
    );
    drop(old_epoch); // the switch
    let bad_before = new_epoch.counters().drops(DropReason::BadTag);
    for seq in 20_002..20_012 {
        forger.send(0, &sealed(id, &old, seq));
    }
    assert!(
        new_epoch.receive_all_messages().is_empty(),
        "refused after the switch"
    );
    assert_eq!(
        new_epoch.counters().drops(DropReason::BadTag),
        bad_before + 10
    );
    forger.send(0, &sealed(id, &new, 0));
    assert_eq!(
        new_epoch.receive_all_messages().len(),
        1,
        "the new key is accepted"
    );
}
