//! Any input into the lobby's match-time paths, through valid seals: a
//! member in a running match fed host messages (seat news, new keys,
//! plans, anything postcard decodes from the input, else the raw bytes
//! sealed), and a host in a running match fed a member's messages and a
//! hello with a forged rejoin claim. Each chunk also goes as the body of
//! a resume message both ways (`HostMsg::Resume`, `ClientMsg::Resume`).
//! Errors are fine, panics are bugs; a forged claim never takes the vacant
//! seat; the host relays no resume message that does not decode.
#![no_main]

use std::net::SocketAddr;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use nearplay_matchmaker::lobby::client::{ClientMachine, ClientTransmit, JoinConfig};
use nearplay_matchmaker::lobby::codec::{FrameDecoder, encode};
use nearplay_matchmaker::lobby::host::{ConnId, HostConfig, HostEvent, HostMachine, HostTransmit};
use nearplay_matchmaker::lobby::message::{ClientMsg, Hello, HostMsg, RejoinRequest, RosterEntry};
use nearplay_matchmaker::lobby::rng::SeededRng;
use nearplay_matchmaker::lobby::secure::{Channel, JoinerHandshake, answer_offer};
use nearplay_netcode::resume::ResumeMessage;
use nearplay_netcode::{MatchId, MatchKey, MatchPlan, NetSettings, PeerAddr, PlanPlayer};

fn roster() -> Vec<RosterEntry> {
    [(0u32, "Bo", 7u8, 9000u16), (1, "Ann", 20, 5001)]
        .into_iter()
        .map(|(id, name, last, port)| RosterEntry {
            id,
            name: name.into(),
            ready: true,
            game_addr: SocketAddr::from(([192, 168, 1, last], port)),
            spectator: false,
            vacant: false,
        })
        .collect()
}

/// A member whose fake host started the match; the fake host's channel.
fn member(now: Instant) -> Option<(ClientMachine, Channel)> {
    let mut c = ClientMachine::with_seed(JoinConfig::new("Ann", "g", "1", 5001), now, [4; 32]);
    c.handle_connected(now);
    let greeting = HostMsg::Greeting {
        password_required: false,
    };
    c.handle_data(now, &encode(&greeting).ok()?);
    let mut d = FrameDecoder::new();
    while let Some(t) = c.poll_transmit() {
        if let ClientTransmit::Send(b) = t {
            d.push(&b);
        }
    }
    let Ok(ClientMsg::Offer(offer)) = d.next_frame().ok()??.decode() else {
        return None;
    };
    let (mut ch, answer) = answer_offer(&mut SeededRng::new([3; 32]), None, &offer).ok()?;
    c.handle_data(now, &encode(&HostMsg::Answer(answer)).ok()?);
    let welcome = HostMsg::Welcome {
        you: 1,
        lobby_name: "F".into(),
        name: "Ann".into(),
        max_players: 4,
        roster: roster(),
    };
    c.handle_data(now, &ch.seal(&welcome).ok()?);
    let plan = MatchPlan {
        match_id: MatchId(5),
        seed: 6,
        players: roster()
            .iter()
            .map(|m| PlanPlayer {
                handle: m.id as usize,
                name: m.name.clone(),
                addr: PeerAddr::Udp(m.game_addr),
            })
            .collect(),
        spectators: Vec::new(),
        key: MatchKey([9; 32]),
        key_epoch: 0,
        member_secrets: Default::default(),
        settings: NetSettings::default(),
        local_handle: 1,
    };
    c.handle_data(now, &ch.seal(&HostMsg::Start(plan)).ok()?);
    c.in_match().then_some((c, ch))
}

/// A fake joiner on `conn` says `hello` to `host`; its channel.
fn joiner(
    host: &mut HostMachine,
    now: Instant,
    conn: ConnId,
    ip: u8,
    hello: &Hello,
) -> Option<Channel> {
    let peer = SocketAddr::from(([10, 0, 0, ip], 40000));
    host.handle_connect(now, conn, peer, SocketAddr::from(([10, 0, 0, 1], 7000)));
    while host.poll_transmit().is_some() {}
    let (hs, offer) = JoinerHandshake::start(&mut SeededRng::new([5; 32]), None).ok()?;
    host.handle_data(now, conn, &encode(&ClientMsg::Offer(offer)).ok()?);
    let mut d = FrameDecoder::new();
    while let Some(t) = host.poll_transmit() {
        if let HostTransmit::Send { frame, .. } = t {
            d.push(&frame);
        }
    }
    let Ok(HostMsg::Answer(answer)) = d.next_frame().ok()??.decode() else {
        return None;
    };
    let mut ch = hs.finish(&answer).ok()?;
    host.handle_data(now, conn, &ch.seal(&ClientMsg::Hello(hello.clone())).ok()?);
    Some(ch)
}

fn hello(rejoin: Option<RejoinRequest>) -> Hello {
    Hello {
        game: "g".into(),
        game_version: "1".into(),
        name: "Fake".into(),
        game_port: 5000,
        spectator: false,
        rejoin,
    }
}

/// The input sealed: as a message of type `T` if it decodes as one, else
/// as bytes (which the receiver then fails to decode).
fn seal_input<T: serde::Serialize + serde::de::DeserializeOwned>(
    ch: &mut Channel,
    chunk: &[u8],
) -> Option<Vec<u8>> {
    match postcard::from_bytes::<T>(chunk) {
        Ok(msg) => ch.seal(&msg).ok(),
        Err(_) => ch.seal(&chunk).ok(),
    }
}

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let chunks: Vec<&[u8]> = data.split(|b| *b == 0xA5).take(16).collect();
    // A member in a match, fed host messages.
    if let Some((mut c, mut host_ch)) = member(now) {
        for chunk in &chunks {
            if let Some(frame) = seal_input::<HostMsg>(&mut host_ch, chunk) {
                c.handle_data(now, &frame);
            }
            let resume = HostMsg::Resume {
                from: u16::from(chunk.first().copied().unwrap_or_default()),
                bytes: chunk.to_vec(),
            };
            if let Ok(frame) = host_ch.seal(&resume) {
                c.handle_data(now, &frame);
            }
            while c.poll_event().is_some() {}
            while c.poll_transmit().is_some() {}
        }
        c.handle_data(now, data);
    }
    // A host in a match, fed a member's messages, then a forged rejoin.
    let mut hc = HostConfig::new("L", "H", "g", "1");
    hc.late_join = data.first().is_some_and(|b| b & 1 == 1);
    let mut host = HostMachine::new(hc, [1; 32]);
    let Some(mut member_ch) = joiner(&mut host, now, ConnId(1), 2, &hello(None)) else {
        return;
    };
    if let Ok(ready) = member_ch.seal(&ClientMsg::SetReady(true)) {
        host.handle_data(now, ConnId(1), &ready);
    }
    if host.start(now).is_err() {
        return;
    }
    for chunk in &chunks {
        if let Some(frame) = seal_input::<ClientMsg>(&mut member_ch, chunk) {
            host.handle_data(now, ConnId(1), &frame);
        }
        while host.poll_transmit().is_some() {}
        while host.poll_event().is_some() {}
        let resume = ClientMsg::Resume {
            to: 0,
            bytes: chunk.to_vec(),
        };
        if let Ok(frame) = member_ch.seal(&resume) {
            host.handle_data(now, ConnId(1), &frame);
        }
        while host.poll_transmit().is_some() {}
        while let Some(e) = host.poll_event() {
            if let HostEvent::Resume { bytes, .. } = e {
                assert!(
                    ResumeMessage::decode(&bytes).is_ok(),
                    "relayed a bad resume message"
                );
            }
        }
    }
    host.handle_disconnect(now, ConnId(1));
    let vacant = host.vacant_seats();
    let mut proof = [0u8; 32];
    for (p, b) in proof.iter_mut().zip(data.iter().rev()) {
        *p = *b;
    }
    let handle = u16::from(data.get(1).copied().unwrap_or_default());
    let forged = hello(Some(RejoinRequest { handle, proof }));
    let _ = joiner(&mut host, now, ConnId(2), 3, &forged);
    while host.poll_transmit().is_some() {}
    while host.poll_event().is_some() {}
    assert_eq!(host.vacant_seats(), vacant, "a forged claim took a seat");
});
