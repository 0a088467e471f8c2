//! Any bytes into a host and a client machine stopped in each state of the
//! lobby handshake (greeted, offered, answered, hello sent, in the lobby),
//! public or locked: errors are fine, panics are bugs.
#![no_main]

use std::net::SocketAddr;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use nearplay_matchmaker::lobby::client::{ClientMachine, ClientTransmit, JoinConfig};
use nearplay_matchmaker::lobby::host::{ConnId, HostConfig, HostMachine, HostTransmit};

const CONN: ConnId = ConnId(1);

/// A host and a client after `half_steps` one-way deliveries.
fn pair(locked: bool, half_steps: u8, now: Instant) -> (HostMachine, ClientMachine) {
    let addr = SocketAddr::from(([10, 0, 0, 1], 1));
    let mut hc = HostConfig::new("L", "H", "g", "1");
    let mut jc = JoinConfig::new("C", "g", "1", 1);
    if locked {
        hc.password = Some("pw".into());
        jc.password = Some("pw".into());
    }
    let mut host = HostMachine::new(hc, [1; 32]);
    let mut client = ClientMachine::with_seed(jc, now, [2; 32]);
    host.handle_connect(now, CONN, addr, addr);
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
                    host.handle_data(now, CONN, &frame);
                }
            }
        }
    }
    (host, client)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let now = Instant::now();
    let (mut host, mut client) = pair(mode & 0x80 != 0, mode % 6, now);
    let (a, b) = rest.split_at(rest.len() / 2);
    host.handle_data(now, CONN, a);
    host.handle_data(now, CONN, b);
    while host.poll_transmit().is_some() {}
    while host.poll_event().is_some() {}
    client.handle_data(now, a);
    client.handle_data(now, b);
    while client.poll_transmit().is_some() {}
    while client.poll_event().is_some() {}
});
