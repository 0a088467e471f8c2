//! Any bytes through the frame decoder, the message parsers and both state
//! machines: errors are fine, panics are bugs.
#![no_main]

use std::net::SocketAddr;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use nearplay_matchmaker::lobby::client::{ClientMachine, JoinConfig};
use nearplay_matchmaker::lobby::codec::FrameDecoder;
use nearplay_matchmaker::lobby::host::{ConnId, HostConfig, HostMachine};
use nearplay_matchmaker::lobby::message::{ClientMsg, HostMsg};

fuzz_target!(|data: &[u8]| {
    let mut d = FrameDecoder::new();
    // Feed in two pieces to exercise reassembly.
    let (a, b) = data.split_at(data.len() / 2);
    d.push(a);
    d.push(b);
    while let Ok(Some(frame)) = d.next_frame() {
        let _ = frame.decode::<ClientMsg>();
        let _ = frame.decode::<HostMsg>();
    }
    let now = Instant::now();
    let addr = SocketAddr::from(([10, 0, 0, 1], 1));
    let mut host = HostMachine::new(HostConfig::new("L", "H", "g", "1"), [0; 32]);
    host.handle_connect(now, ConnId(1), addr, addr);
    host.handle_data(now, ConnId(1), data);
    while host.poll_transmit().is_some() {}
    let mut client = ClientMachine::new(JoinConfig::new("C", "g", "1", 1), now);
    client.handle_connected(now);
    client.handle_data(now, data);
    while client.poll_event().is_some() {}
});
