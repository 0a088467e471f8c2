//! The lobby channel attacked as the threat model's attackers would, on the
//! sans-IO machines with a fake clock: a listener, a fake host, a man in the
//! middle, a password guesser, a flooding member, a peer writing into a
//! closed connection.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::sim::{HOST_IP, Sim, config, jc, join_error};
use nearplay_matchmaker::lobby::client::{ClientEvent, ClientMachine, ClientTransmit, JoinError};
use nearplay_matchmaker::lobby::codec::{FrameDecoder, encode};
use nearplay_matchmaker::lobby::host::{ConnId, HostEvent, HostTransmit};
use nearplay_matchmaker::lobby::message::{ClientMsg, HostMsg, Offer, RosterEntry};
use nearplay_matchmaker::lobby::rng::SeededRng;
use nearplay_matchmaker::lobby::secure::{JoinerHandshake, answer_offer};

const PASSWORD: &str = "correct horse battery";

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Everything a client machine wants to write, as one byte string.
fn drain_client(c: &mut ClientMachine) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(t) = c.poll_transmit() {
        if let ClientTransmit::Send(frame) = t {
            out.extend_from_slice(&frame);
        }
    }
    out
}

/// The one clear message in `bytes`.
fn clear_msg<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> T {
    let mut d = FrameDecoder::new();
    d.push(bytes);
    let frame = d.next_frame().expect("frame").expect("complete");
    frame.decode().expect("clear message")
}

fn greeting(locked: bool) -> Vec<u8> {
    encode(&HostMsg::Greeting {
        password_required: locked,
    })
    .expect("enc")
}

fn locked_config() -> nearplay_matchmaker::lobby::host::HostConfig {
    let mut c = config();
    c.password = Some(PASSWORD.into());
    c
}

#[test]
fn a_listener_finds_no_names_chat_or_match_key_on_the_wire() {
    for locked in [false, true] {
        let mut sim = Sim::new(if locked { locked_config() } else { config() });
        for (id, name) in [(1, "Zanzibar-Ann"), (2, "Quixote-Bob")] {
            let mut j = jc(name, 5000 + id as u16);
            j.password = locked.then(|| PASSWORD.to_string());
            sim.join(id, j);
        }
        let now = sim.now;
        sim.client(1).chat(now, "meet behind the blue tower");
        for id in [1, 2] {
            sim.client(id).set_ready(now, true);
        }
        sim.pump();
        let plan = sim.host.start(sim.now).expect("start");
        sim.pump();
        // Both ends of each channel show the same fingerprint.
        for id in [1u64, 2] {
            let joined = sim.take_events(id);
            let fp = joined.iter().find_map(|e| match e {
                ClientEvent::Joined { fingerprint, .. } => Some(*fingerprint),
                _ => None,
            });
            assert_eq!(fp, sim.host.fingerprint(id as u32), "member {id}");
            assert!(joined.iter().any(|e| matches!(e, ClientEvent::Started(_))));
        }
        let mut wire = sim.client_bytes.clone();
        wire.extend_from_slice(&sim.host_bytes);
        assert!(wire.len() > 500, "the capture holds the whole lobby");
        for secret in [
            &plan.key.0[..],
            b"Zanzibar-Ann",
            b"Quixote-Bob",
            b"meet behind the blue tower",
            b"Lobby",
            PASSWORD.as_bytes(),
        ] {
            assert!(
                !contains(&wire, secret),
                "locked={locked}: {secret:?} in clear"
            );
        }
        // The plan's 64-bit ids are not there either.
        assert!(!contains(&wire, &plan.match_id.0.to_le_bytes()));
    }
}

#[test]
fn a_fake_host_cannot_tell_a_right_guess_from_a_wrong_one_offline() {
    let t = std::time::Instant::now();
    // Two joiners replaying one seed send the very same offer, so the fake
    // host can try both guesses against it.
    let joiner = || {
        let mut j = jc("Victim", 1);
        j.password = Some(PASSWORD.into());
        let mut c = ClientMachine::with_seed(j, t, [42; 32]);
        c.handle_connected(t);
        c.handle_data(t, &greeting(true));
        c
    };
    let (mut right_c, mut wrong_c) = (joiner(), joiner());
    let sent = drain_client(&mut right_c);
    assert_eq!(sent, drain_client(&mut wrong_c));
    // All the fake host has before any online step is the offer.
    let ClientMsg::Offer(offer) = clear_msg::<ClientMsg>(&sent) else {
        panic!("the joiner's first message is its offer");
    };
    assert!(!contains(&sent, PASSWORD.as_bytes()));
    // Offline, the fake host runs its own SPAKE2 side under each guess and
    // reads the joiner's Noise message with that key: both guesses pass
    // alike, so the offer tests nothing.
    let mut rng = SeededRng::new([9; 32]);
    let right = answer_offer(&mut rng, Some(PASSWORD), &offer);
    let wrong = answer_offer(&mut rng, Some("wrong guess"), &offer);
    let (Ok((_, right_answer)), Ok((_, wrong_answer))) = (right, wrong) else {
        panic!("every guess is consistent with the offer");
    };
    // Only the online step tells: the joiner that got the wrong guess's
    // answer gives up and sends nothing more, not a byte keyed by its key.
    wrong_c.handle_data(t, &encode(&HostMsg::Answer(wrong_answer)).expect("e"));
    assert!(drain_client(&mut wrong_c).is_empty());
    assert_eq!(
        wrong_c.poll_event(),
        Some(ClientEvent::JoinFailed(JoinError::WrongPassword))
    );
    // The right guess costs the fake host a whole connection per guess.
    right_c.handle_data(t, &encode(&HostMsg::Answer(right_answer)).expect("e"));
    assert!(!drain_client(&mut right_c).is_empty(), "sealed hello");
    assert!(right_c.fingerprint().is_some());
}

#[test]
fn a_man_in_the_middle_without_the_password_fails_both_ways() {
    let t = std::time::Instant::now();
    let mut sim = Sim::new(locked_config());
    // The MITM greets the victim as the host would and answers its offer
    // with a guessed password.
    let mut j = jc("Victim", 1);
    j.password = Some(PASSWORD.into());
    let mut victim = ClientMachine::new(j.clone(), t);
    victim.handle_connected(t);
    victim.handle_data(t, &greeting(true));
    let ClientMsg::Offer(offer) = clear_msg::<ClientMsg>(&drain_client(&mut victim)) else {
        panic!("offer");
    };
    let mut rng = SeededRng::new([5; 32]);
    let (_, answer) = answer_offer(&mut rng, Some("hunter2"), &offer).expect("answer");
    victim.handle_data(t, &encode(&HostMsg::Answer(answer)).expect("e"));
    assert_eq!(
        victim.poll_event(),
        Some(ClientEvent::JoinFailed(JoinError::WrongPassword))
    );
    // Toward the host it plays a joiner with the same guess: its answer
    // does not verify, and the host counts the guess.
    let peer = SocketAddr::from(([10, 9, 9, 9], 1));
    let local = SocketAddr::from((HOST_IP, 7000));
    sim.host.handle_connect(sim.now, ConnId(77), peer, local);
    let (hs, mitm_offer) = JoinerHandshake::start(&mut rng, Some("hunter2")).expect("offer");
    sim.host.handle_data(
        sim.now,
        ConnId(77),
        &encode(&ClientMsg::Offer(mitm_offer)).expect("e"),
    );
    let mut from_host = FrameDecoder::new();
    while let Some(tx) = sim.host.poll_transmit() {
        if let HostTransmit::Send { frame, .. } = tx {
            from_host.push(&frame);
        }
    }
    let _greeting = from_host.next_frame().expect("ok").expect("greeting");
    let answer: HostMsg = from_host
        .next_frame()
        .expect("ok")
        .expect("answer")
        .decode()
        .expect("clear");
    let HostMsg::Answer(answer) = answer else {
        panic!("answer");
    };
    assert!(hs.finish(&answer).is_err());
    sim.host.handle_disconnect(sim.now, ConnId(77));
    assert_eq!(sim.host.failed_guesses(), 1);
    assert_eq!(sim.host.roster().len(), 1);

    // Stripping the lock does not help: a joiner holding a password refuses
    // a host that does not ask for it.
    let mut stripped = ClientMachine::new(j, t);
    stripped.handle_connected(t);
    stripped.handle_data(t, &greeting(false));
    assert!(drain_client(&mut stripped).is_empty());
    assert_eq!(
        stripped.poll_event(),
        Some(ClientEvent::JoinFailed(JoinError::PasswordNotAsked))
    );

    // A relay that changes one byte of a sealed frame is caught by the AEAD.
    let mut sim = Sim::new(locked_config());
    let mut j = jc("Real", 2);
    j.password = Some(PASSWORD.into());
    sim.join(2, j);
    let now = sim.now;
    sim.client(2).chat(now, "hello");
    let mut frame = match sim.client(2).poll_transmit() {
        Some(ClientTransmit::Send(f)) => f,
        other => panic!("{other:?}"),
    };
    let last = frame.len() - 1;
    frame[last] ^= 1;
    sim.host.handle_data(sim.now, ConnId(2), &frame);
    sim.pump();
    assert_eq!(sim.host.roster().len(), 1, "tampered member dropped");
}

#[test]
fn a_man_in_the_middle_of_a_public_lobby_shows_in_the_fingerprints() {
    let t = std::time::Instant::now();
    let mut sim = Sim::new(config());
    // The MITM runs one NN handshake with the victim (as host) and relays
    // the victim's join through its own handshake with the host.
    let mut victim = ClientMachine::new(jc("Victim", 1), t);
    victim.handle_connected(t);
    victim.handle_data(t, &greeting(false));
    let ClientMsg::Offer(offer) = clear_msg::<ClientMsg>(&drain_client(&mut victim)) else {
        panic!("offer");
    };
    let mut rng = SeededRng::new([6; 32]);
    let (to_victim, answer) = answer_offer(&mut rng, None, &offer).expect("answer");
    victim.handle_data(t, &encode(&HostMsg::Answer(answer)).expect("e"));
    assert!(victim.fingerprint().is_some(), "the victim is in");
    // The host side, through a real joiner machine the MITM drives.
    sim.join(3, jc("Victim", 1));
    let host_fp = sim.host.fingerprint(1).expect("member 1");
    assert_eq!(Some(host_fp), sim.client(3).fingerprint());
    assert_ne!(victim.fingerprint(), Some(host_fp));
    assert_ne!(to_victim.fingerprint(), host_fp);
}

#[test]
fn password_guessing_from_one_address_is_slowed_and_counted() {
    let mut sim = Sim::new(locked_config());
    let guesser = SocketAddr::from(([10, 6, 6, 6], 50000));
    let wrong = |n: u64| {
        let mut j = jc("G", 1);
        j.password = Some(format!("guess {n}"));
        j
    };
    let mut checked = Vec::new();
    let mut refused = 0;
    // 40 tries over 60 s of fake time, one every 1.5 s.
    for n in 0..40u64 {
        sim.join_from(100 + n, guesser, wrong(n));
        match join_error(&sim.take_events(100 + n)) {
            JoinError::WrongPassword => checked.push(sim.now),
            JoinError::TooManyGuesses { retry_after_ms } => {
                assert!(retry_after_ms > 0);
                refused += 1;
            }
            other => panic!("{other:?}"),
        }
        sim.advance(Duration::from_millis(1500));
    }
    // Backoff 1, 2, 4, 8, 16, 32 s...: a handful checked, the rest refused.
    assert!(checked.len() <= 7, "{} guesses checked", checked.len());
    assert_eq!(checked.len() + refused, 40);
    let gaps: Vec<Duration> = checked.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.windows(2).all(|g| g[1] >= g[0]), "gaps grow: {gaps:?}");
    assert_eq!(sim.host.failed_guesses(), checked.len() as u64);
    let failures: Vec<u32> = sim
        .take_host_events()
        .iter()
        .filter_map(|e| match e {
            HostEvent::GuessFailed { peer, failures, .. } if *peer == guesser => Some(*failures),
            _ => None,
        })
        .collect();
    assert_eq!(failures, (1..=checked.len() as u32).collect::<Vec<_>>());
    // Another address is not slowed by it.
    let mut right = jc("Friend", 2);
    right.password = Some(PASSWORD.into());
    sim.join(2, right);
    assert!(matches!(
        sim.take_events(2).first(),
        Some(ClientEvent::Joined { .. })
    ));
}

#[test]
fn chat_and_ready_floods_are_rate_limited_per_member() {
    let mut sim = Sim::new(config());
    sim.join(1, jc("Flooder", 1));
    sim.join(2, jc("Reader", 2));
    sim.take_events(2);
    let now = sim.now;
    for i in 0..100 {
        sim.client(1).chat(now, &format!("spam {i}"));
        sim.client(1).set_ready(now, i % 2 == 0);
    }
    sim.pump();
    let seen = sim.take_events(2);
    let chats = seen
        .iter()
        .filter(|e| matches!(e, ClientEvent::Chat { .. }))
        .count();
    let rosters = seen
        .iter()
        .filter(|e| matches!(e, ClientEvent::RosterChanged(_)))
        .count();
    assert_eq!(chats, 8, "the burst, then nothing");
    assert!(rosters <= 6, "{rosters} roster changes");
    assert!(sim.host.rate_limited() >= 92 + 94);
    // The limit refills with time: a second later the member can talk.
    sim.advance(Duration::from_secs(1));
    let now = sim.now;
    sim.client(1).chat(now, "sorry");
    sim.client(2).chat(now, "ok");
    sim.pump();
    let seen = sim.take_events(2);
    assert!(seen.contains(&ClientEvent::Chat {
        from: 1,
        name: "Flooder".into(),
        text: "sorry".into()
    }));
    let _: Vec<RosterEntry> = sim.host.roster();
}

#[test]
fn bytes_into_a_closing_connection_are_dropped() {
    let mut sim = Sim::new(config());
    sim.join(1, jc("A", 1));
    // Half a frame announced as 60 kB is held (bounded by the frame limit).
    let mut partial = 60_000u32.to_be_bytes().to_vec();
    partial.extend_from_slice(&[0u8; 1000]);
    sim.host.handle_data(sim.now, ConnId(1), &partial);
    assert_eq!(sim.host.buffered_bytes(), partial.len());
    // The host closes it (kick); whatever still arrives is not kept.
    assert!(sim.host.kick(sim.now, 1));
    assert_eq!(sim.host.buffered_bytes(), 0);
    let chunk = vec![0x41u8; 64 * 1024];
    for _ in 0..256 {
        sim.host.handle_data(sim.now, ConnId(1), &chunk);
    }
    assert_eq!(sim.host.buffered_bytes(), 0);
    // Same for a connection refused during the handshake.
    let local = SocketAddr::from((HOST_IP, 7000));
    sim.host
        .handle_connect(sim.now, ConnId(2), Sim::peer(2), local);
    sim.host
        .handle_data(sim.now, ConnId(2), &encode(&ClientMsg::Leave).expect("e"));
    for _ in 0..256 {
        sim.host.handle_data(sim.now, ConnId(2), &chunk);
    }
    assert_eq!(sim.host.buffered_bytes(), 0);
}

/// Offer with fields of every odd size the host might meet.
#[test]
fn odd_offers_are_refused_without_a_panic() {
    let local = SocketAddr::from((HOST_IP, 7000));
    for locked in [false, true] {
        let mut sim = Sim::new(if locked { locked_config() } else { config() });
        for (i, (pake, noise)) in [
            (None, vec![]),
            (Some(vec![]), vec![0; 32]),
            (Some(vec![0x41; 33]), vec![0; 32]),
            (Some(vec![0x41; 33]), vec![0; 48]),
            (Some(vec![0x42; 33]), vec![0xff; 48]),
            (None, vec![0; 31]),
            (None, vec![0; 4096]),
            (Some(vec![0; 4096]), vec![0; 32]),
        ]
        .into_iter()
        .enumerate()
        {
            let conn = ConnId(i as u64);
            sim.host.handle_connect(sim.now, conn, Sim::peer(1), local);
            let offer = ClientMsg::Offer(Offer { pake, noise });
            sim.host
                .handle_data(sim.now, conn, &encode(&offer).expect("e"));
        }
        sim.pump();
        assert_eq!(sim.host.roster().len(), 1);
    }
}
