//! Every decoder fed seeded random bytes: errors, never panics.

use std::net::SocketAddr;
use std::time::Instant;

use nearplay_matchmaker::lan::LobbyTxt;
use nearplay_matchmaker::lan::liveness::{answer_ping, decode_pong, encode_ping};
use nearplay_matchmaker::lobby::client::{ClientMachine, JoinConfig};
use nearplay_matchmaker::lobby::codec::{FrameDecoder, encode};
use nearplay_matchmaker::lobby::host::{ConnId, HostConfig, HostMachine};
use nearplay_matchmaker::lobby::message::{ClientMsg, HostMsg};
use nearplay_matchmaker::lobby::rng::SeededRng;
use nearplay_matchmaker::rendezvous::Refusal;
use nearplay_matchmaker::rendezvous::wire::{
    MAX_SIGNAL_BYTES, PeerMessage, decode_signal, parse_response,
};

const ROUNDS: usize = 20_000;

/// Random buffers of random length, plus mutated valid frames.
fn inputs(seed: u8) -> impl Iterator<Item = Vec<u8>> {
    let mut rng = SeededRng::new([seed; 32]);
    let valid = encode(&ClientMsg::Chat("hello".into())).expect("encode");
    (0..ROUNDS).map(move |i| {
        let len = (rng.next_u64() % 96) as usize;
        let mut buf = vec![0u8; len];
        rng.fill(&mut buf);
        if i % 2 == 0 {
            // Keep a plausible header so the body parser is exercised.
            let mut v = valid.clone();
            let at = (rng.next_u64() as usize) % v.len();
            v[at] ^= (rng.next_u64() as u8) | 1;
            v.extend_from_slice(&buf[..len.min(8)]);
            v
        } else {
            buf
        }
    })
}

#[test]
fn frame_decoder_and_messages_survive_garbage() {
    for input in inputs(1) {
        let mut d = FrameDecoder::new();
        d.push(&input);
        while let Ok(Some(frame)) = d.next_frame() {
            let _ = frame.decode::<ClientMsg>();
            let _ = frame.decode::<HostMsg>();
        }
    }
}

#[test]
fn host_and_client_machines_survive_garbage() {
    let now = Instant::now();
    let addr = SocketAddr::from(([10, 0, 0, 1], 1));
    for (i, input) in inputs(2).enumerate().take(5_000) {
        let mut host = HostMachine::new(HostConfig::new("L", "H", "g", "1"), [3; 32]);
        host.handle_connect(now, ConnId(i as u64), addr, addr);
        host.handle_data(now, ConnId(i as u64), &input);
        while host.poll_transmit().is_some() {}
        let mut client = ClientMachine::new(JoinConfig::new("C", "g", "1", 1), now);
        client.handle_connected(now);
        client.handle_data(now, &input);
        while client.poll_event().is_some() {}
    }
}

/// A host and a client stopped after `half_steps` one-way deliveries of a
/// real join (0: greeted, 1: offered, 2: answered, 3: hello sent, 4: member).
fn pair(locked: bool, half_steps: u8, now: Instant) -> (HostMachine, ClientMachine) {
    use nearplay_matchmaker::lobby::client::ClientTransmit;
    use nearplay_matchmaker::lobby::host::HostTransmit;
    let addr = SocketAddr::from(([10, 0, 0, 1], 1));
    let mut hc = HostConfig::new("L", "H", "g", "1");
    let mut jc = JoinConfig::new("C", "g", "1", 1);
    if locked {
        hc.password = Some("pw".into());
        jc.password = Some("pw".into());
    }
    let mut host = HostMachine::new(hc, [1; 32]);
    let mut client = ClientMachine::with_seed(jc, now, [2; 32]);
    host.handle_connect(now, ConnId(1), addr, addr);
    client.handle_connected(now);
    for step in 0..half_steps {
        if step % 2 == 0 {
            while let Some(t) = host.poll_transmit() {
                if let HostTransmit::Send { frame, .. } = t {
                    client.handle_data(now, &frame);
                }
            }
        } else {
            while let Some(t) = client.poll_transmit() {
                if let ClientTransmit::Send(frame) = t {
                    host.handle_data(now, ConnId(1), &frame);
                }
            }
        }
    }
    (host, client)
}

#[test]
fn machines_survive_garbage_in_every_handshake_state() {
    let now = Instant::now();
    // The pair really gets in when nothing interferes.
    let (host, client) = pair(true, 6, now);
    assert_eq!(host.roster().len(), 2);
    assert!(client.member_id().is_some());
    for (i, input) in inputs(4).enumerate().take(600) {
        let (mut host, mut client) = pair(i % 2 == 0, (i % 6) as u8, now);
        host.handle_data(now, ConnId(1), &input);
        while host.poll_transmit().is_some() {}
        client.handle_data(now, &input);
        while client.poll_event().is_some() {}
        // Garbage never makes a member: the roster has at most the real one.
        assert!(host.roster().len() <= 2);
    }
}

#[test]
fn txt_parser_survives_garbage() {
    let mut ok = 0;
    for input in inputs(3) {
        if LobbyTxt::from_rdata(&input).is_ok() {
            ok += 1;
        }
    }
    assert!(ok < ROUNDS, "garbage should mostly be refused");
}

#[test]
fn ping_codec_survives_garbage_and_round_trips() {
    for input in inputs(4) {
        let _ = answer_ping(&input);
        let _ = decode_pong(&input);
    }
    let pong = answer_ping(&encode_ping(42)).expect("valid ping");
    assert_eq!(decode_pong(&pong), Some(42));
    assert_eq!(answer_ping(&pong), None, "a pong is not a ping");
}

/// Random buffers, and valid `valid` texts with a few bytes flipped,
/// inserted or cut.
fn mutated(seed: u8, valid: &'static [&'static [u8]]) -> impl Iterator<Item = Vec<u8>> {
    let mut rng = SeededRng::new([seed; 32]);
    (0..ROUNDS).map(move |i| {
        if i % 4 == 0 {
            let mut buf = vec![0u8; (rng.next_u64() % 160) as usize];
            rng.fill(&mut buf);
            return buf;
        }
        let mut v = valid[i % valid.len()].to_vec();
        for _ in 0..=(rng.next_u64() % 3) {
            let at = (rng.next_u64() as usize) % (v.len() + 1);
            match rng.next_u64() % 3 {
                0 if at < v.len() => v[at] ^= (rng.next_u64() as u8) | 1,
                1 if at < v.len() => {
                    v.truncate(at);
                }
                _ => v.insert(at, rng.next_u64() as u8),
            }
        }
        v
    })
}

#[test]
fn http_response_parser_survives_garbage() {
    const VALID: &[&[u8]] = &[
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        b"HTTP/1.0 503 x\r\n\r\n{\"error\":\"server_closing\"}",
    ];
    let mut ok = 0;
    for input in mutated(5, VALID) {
        if let Ok(r) = parse_response(&input) {
            assert!(r.body.len() <= input.len());
            ok += 1;
        }
    }
    assert!(ok > 0 && ok < ROUNDS, "{ok}");
}

#[test]
fn signal_decoder_survives_garbage() {
    const VALID: &[&[u8]] = &[
        br#"{"Signal":{"receiver":"67e55044-10b1-426f-9247-bb680e5fe0c8","data":{"Offer":"v=0"}}}"#,
        br#""KeepAlive""#,
    ];
    let mut ok = 0;
    for input in mutated(6, VALID) {
        assert_eq!(
            decode_signal(PeerMessage::Binary(&input), MAX_SIGNAL_BYTES),
            Err(Refusal::ProtocolError)
        );
        if let Ok(text) = std::str::from_utf8(&input) {
            match decode_signal(PeerMessage::Text(text), MAX_SIGNAL_BYTES) {
                Ok(_) => ok += 1,
                Err(r) => assert_eq!(r, Refusal::ProtocolError),
            }
            if !text.is_empty() {
                assert!(matches!(
                    decode_signal(PeerMessage::Text(text), text.len() - 1),
                    Err(Refusal::MessageTooLarge)
                ));
            }
        }
    }
    assert!(ok > 0 && ok < ROUNDS, "{ok}");
}
