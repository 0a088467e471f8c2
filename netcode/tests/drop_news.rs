//! What peers say about drops, checked before GGRS hears it: a peer that
//! dropped this one (its checksums describe a match without us), and news
//! of a drop older than GGRS can roll back to (forged by a member, or
//! from survivors whose timeouts fired far apart). See
//! `nearplay_netcode`'s `transport/seat_inputs.rs`.

mod common;

use std::time::Duration;

use common::*;
use ggrs::NonBlockingSocket;
use nearplay_netcode::prelude::*;

const DEADLINE: Duration = Duration::from_secs(25);
/// A game tick at 60 fps: these matches are paced like a real game's.
const TICK: Option<Duration> = Some(Duration::from_micros(16_667));

/// The links' usual profile: a LAN.
fn lan() -> LinkProfile {
    LinkProfile::latency(Duration::from_millis(5), Duration::from_millis(1))
}

/// `n` players with `settings` on a LAN, playing until frame 60 is
/// confirmed everywhere.
fn playing(n: usize, seed: u64, settings: &NetSettings) -> (SimNetwork, Vec<Peer>) {
    let net = SimNetwork::with_profile(seed, lan());
    let mut peers = sim_peers(n, &net, settings, seed);
    run_paced(
        &mut peers,
        TICK,
        DEADLINE,
        "frame 60",
        |_| {},
        all_confirmed(60),
    );
    (net, peers)
}

/// Settings where no peer drops another by itself during a test.
fn patient() -> NetSettings {
    NetSettings {
        disconnect_timeout_ms: 60_000,
        ..NetSettings::default()
    }
}

/// The last input frame `p` received from player `from`.
fn heard(p: &Peer, from: u32) -> i32 {
    p.monitor
        .seat_inputs()
        .last_frame(PeerAddr::Sim(from))
        .unwrap_or(-1)
}

/// Peer 0's datagrams stop reaching peer 1 (a one-way outage: an uplink
/// that died, a firewall that closed one direction) while peer 1's still
/// reach peer 0. Peer 1 drops peer 0 at the last frame it heard of and
/// plays on alone; GGRS 0.13 stops sending it inputs but still sends it
/// checksum reports, of a history where peer 0's seat is empty from that
/// frame. Peer 0 compared them with its own (it played its real inputs
/// there) and saw a desync (the Bevy plugin wrote a desync report), and,
/// as those reports kept its endpoint alive, only noticed it was alone
/// once GGRS shut that endpoint down 5 s later. A peer that dropped us is
/// not a desync, and its silence counts from its last input.
#[test]
fn a_peer_that_dropped_us_over_a_one_way_outage_is_no_desync() {
    let settings = NetSettings {
        disconnect_timeout_ms: 400,
        disconnect_notify_start_ms: 200,
        ..NetSettings::default()
    };
    let (net, mut peers) = playing(2, 13, &settings);
    net.set_link(0, 1, LinkProfile::lossy(1.0));
    let gone = |p: &Peer, addr: u32| {
        p.events.contains(&NetEvent::PeerDisconnected {
            peer: PeerAddr::Sim(addr),
        })
    };
    run_paced(
        &mut peers,
        TICK,
        DEADLINE,
        "peer 1 dropping peer 0",
        |_| {},
        |ps| gone(&ps[1], 0),
    );
    let dropped = std::time::Instant::now();
    // Peer 1 plays on alone, reporting checksums of a match without peer 0,
    // past what peer 0 confirmed before the outage.
    let alone_from = peers[1].session.current_frame();
    run_paced(
        &mut peers,
        TICK,
        Duration::from_secs(4),
        "peer 0 noticing, within its own disconnect timeout (GGRS shuts an endpoint down after 5 s)",
        |_| {},
        |ps| gone(&ps[0], 1) && ps[1].session.current_frame() >= alone_from + 60,
    );
    assert!(
        peers[1].session.confirmed_frame() > peers[0].session.confirmed_frame(),
        "peer 1 reported checksums past peer 0's confirmed frame"
    );
    assert_eq!(peers[0].desyncs(), 0, "{:?}", peers[0].events);
    println!(
        "peer 0 noticed {:?} after peer 1 dropped it",
        dropped.elapsed()
    );
}

/// GGRS's `Input` message as postcard lays it out (GGRS keeps the type
/// private): what a member that forges one writes.
mod forged {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub struct Status {
        pub disconnected: bool,
        pub last_frame: i32,
    }

    #[derive(Serialize, Deserialize)]
    pub struct Input {
        pub peer_connect_status: Vec<Status>,
        pub disconnect_requested: bool,
        pub start_frame: i32,
        pub ack_frame: i32,
        pub bytes: Vec<u8>,
    }

    #[derive(Serialize, Deserialize)]
    pub enum Body {
        SyncRequest(u32),
        SyncReply(u32),
        Input(Input),
    }

    #[derive(Serialize, Deserialize)]
    pub struct Message {
        pub magic: u16,
        pub body: Body,
    }

    /// `msg` decoded, if it is an `Input` message.
    pub fn read(msg: &ggrs::Message) -> Option<Message> {
        let bytes = postcard::to_allocvec(msg).ok()?;
        postcard::from_bytes::<Message>(&bytes).ok()
    }

    pub fn write(msg: &Message) -> ggrs::Message {
        let bytes = postcard::to_allocvec(msg).expect("encodes");
        postcard::from_bytes(&bytes).expect("GGRS decodes it")
    }
}

/// A member forges its inputs' connection statuses: "player 2 dropped
/// after frame 0", long after frame 0. GGRS 0.13 believes it and rolls
/// back to frame 1, far outside its prediction window, and panics ("cannot
/// load frame outside of prediction window"): one datagram from any member
/// ended every other player's game. The same happens without a forger when
/// survivors' own timeouts drop a player at frames further apart than a
/// rollback reaches (the demo's three processes frozen for 3 s: the host
/// panicked, 1 run in 9). A drop older than the last frame GGRS confirmed
/// cannot be played: GGRS is shown that seat connected.
#[test]
fn a_drop_older_than_the_confirmed_frame_is_not_shown_to_ggrs() {
    let (net, mut peers) = playing(3, 17, &NetSettings::default());
    // A second handle on node 0's inbox reads what peer 1 sends it (those
    // datagrams are lost to peer 0), one on node 1 sends as peer 1.
    let (mut snoop, mut as_peer1) = (net.node(0), net.node(1));
    let mut forged_at = None;
    let forge = |ps: &mut [Peer]| {
        if forged_at.is_some() {
            return;
        }
        for (from, msg) in snoop.receive_all_messages() {
            let Some(mut m) = forged::read(&msg) else {
                continue;
            };
            let forged::Body::Input(input) = &mut m.body else {
                continue;
            };
            if from != PeerAddr::Sim(1) || input.peer_connect_status.len() != 3 {
                continue;
            }
            input.peer_connect_status[2] = forged::Status {
                disconnected: true,
                last_frame: 0,
            };
            as_peer1.send_to(&forged::write(&m), &PeerAddr::Sim(0));
            forged_at = Some(settled(&ps[0]));
            return;
        }
    };
    run_paced(
        &mut peers,
        TICK,
        DEADLINE,
        "120 frames after the forged drop",
        forge,
        |ps| {
            let from = ps.iter().map(settled).min().unwrap_or(0);
            from >= 300
        },
    );
    assert!(
        forged_at.is_some_and(|f| f < 180),
        "forged at {forged_at:?}"
    );
    assert_agree(&peers);
}

/// Player 0 hears player 1 last at frame `a` and player 2 at `b > a`, then
/// drops both in one frame (two seats vacated at once; two endpoints timing
/// out in the same poll). GGRS 0.13 set the frame to roll back to on each
/// drop, so the second overwrote the first: it re-simulated from `b + 1`
/// only, and frames `a + 1 ..= b` kept player 1's predicted inputs where
/// every other peer plays them as disconnected (a desync). The vendored
/// GGRS keeps the earlier frame (`vendor/ggrs/PATCHES.md`).
#[test]
fn two_drops_in_one_frame_roll_back_to_the_earlier() {
    let (net, mut peers) = playing(3, 19, &patient());
    net.set_link(1, 0, LinkProfile::lossy(1.0));
    run_paced(
        &mut peers,
        TICK,
        DEADLINE,
        "4 frames past player 1's last",
        |_| {},
        |ps| ps[0].session.current_frame() >= heard(&ps[0], 1) + 4,
    );
    let a = heard(&peers[0], 1);
    net.set_link(2, 0, LinkProfile::lossy(1.0));
    run_paced(
        &mut peers,
        TICK,
        DEADLINE,
        "2 frames past player 2's last",
        |_| {},
        |ps| ps[0].session.current_frame() >= heard(&ps[0], 2) + 2,
    );
    let b = heard(&peers[0], 2);
    assert_eq!(heard(&peers[0], 1), a, "nothing of player 1 after the cut");
    assert!(b > a + 1, "a = {a}, b = {b}");
    for h in [1, 2] {
        net.vanish(h as u32);
        peers[h].alive = false;
        peers[0].session.disconnect_player(h).expect("drop");
    }
    let end = b + 30;
    run_paced(
        &mut peers,
        TICK,
        DEADLINE,
        "player 0 alone past b",
        |_| {},
        |ps| settled(&ps[0]) >= end,
    );
    // What every peer that dropped them one at a time plays: players 1 and
    // 2's inputs up to `a` and `b`, the default input after.
    let delay = NetSettings::default().input_delay as i32;
    let mut state = GameState::default();
    for f in 0..end {
        let inputs: Vec<(u8, ggrs::InputStatus)> = [(0, i32::MAX), (1, a), (2, b)]
            .iter()
            .map(|&(h, last)| {
                let played = f <= last && f >= delay;
                let input = if played {
                    input_for(19, h, f - delay)
                } else {
                    0
                };
                (input, ggrs::InputStatus::Confirmed)
            })
            .collect();
        state.advance(&inputs);
    }
    assert_eq!(
        peers[0].checksums.get(&end),
        Some(&state.checksum()),
        "player 0's state at {end} (a = {a}, b = {b})"
    );
}

/// Player 1 drops player 2 after frame `a`; player 0 holds player 2's
/// inputs further, up to `b`, and hears of the drop (legitimately: its own
/// confirmed frame was not past `a`). GGRS 0.13 dropped player 2 at `a`
/// but left its own last frame of it at `b`: it re-simulated frames
/// `a + 1 ..= b` with the inputs it held (player 1 played them as
/// disconnected: a desync), and on every later frame saw its `b` above
/// the news' `a`, dropped it again and rolled back to `a + 1` again, until
/// that was behind its confirmed frame and it panicked (three processes
/// frozen together: 1 run in 10). The vendored GGRS lowers its last frame
/// to the one it drops at (`vendor/ggrs/PATCHES.md`).
#[test]
fn a_drop_heard_from_another_survivor_replaces_our_later_last_frame() {
    let (net, mut peers) = playing(3, 23, &patient());
    // Player 0 stops hearing player 1, then player 1 stops hearing 2.
    net.set_link(1, 0, LinkProfile::lossy(1.0));
    run_paced(
        &mut peers,
        TICK,
        DEADLINE,
        "2 frames",
        |_| {},
        |ps| ps[0].session.current_frame() >= heard(&ps[0], 1) + 3,
    );
    net.set_link(2, 1, LinkProfile::lossy(1.0));
    // Until everyone stalls (each waits for someone it cannot hear).
    let last = std::cell::Cell::new((0, std::time::Instant::now()));
    run_paced(
        &mut peers,
        TICK,
        DEADLINE,
        "everyone stalled",
        |_| {},
        |ps| {
            let frames: i32 = ps.iter().map(|p| p.session.current_frame()).sum();
            if frames != last.get().0 {
                last.set((frames, std::time::Instant::now()));
            }
            last.get().1.elapsed() > Duration::from_millis(300)
        },
    );
    let (a, b) = (heard(&peers[1], 2), heard(&peers[0], 2));
    assert!(
        b > a + 1,
        "player 0 holds more of player 2: a = {a}, b = {b}"
    );
    assert!(
        heard(&peers[0], 1) <= a,
        "player 0's confirmed frame is not past a"
    );
    net.vanish(2);
    peers[2].alive = false;
    peers[1].session.disconnect_player(2).expect("drop");
    net.set_link(
        1,
        0,
        LinkProfile::latency(Duration::from_millis(5), Duration::from_millis(1)),
    );
    let end = b + 60;
    run_paced(
        &mut peers,
        TICK,
        DEADLINE,
        "both past b",
        |_| {},
        |ps| ps[..2].iter().all(|p| settled(p) >= end),
    );
    assert_agree(&peers);
}
