//! Three players on 127.0.0.1; an attacker relays between player 0 and each
//! of the others and delivers what player 0 sent to player 1 to player 2,
//! from the address player 2 knows for player 0. Wire version 1 did not
//! bind the receiver into the tag, so player 2 accepted those datagrams and
//! its replay window then refused player 0's own as replays; now each one
//! fails authentication and nothing else changes.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use common::*;
use nearplay_netcode::prelude::*;

const DEADLINE: Duration = Duration::from_secs(25);

/// Forwards between `a` and `b` through `relay`; keeps what `a` sent.
struct Relay {
    relay: UdpSocket,
    a: SocketAddr,
    b: SocketAddr,
    from_a: Vec<Vec<u8>>,
}

impl Relay {
    fn new(a: SocketAddr, b: SocketAddr) -> Relay {
        let relay = loopback_socket();
        relay.set_nonblocking(true).expect("non-blocking");
        Relay {
            relay,
            a,
            b,
            from_a: Vec::new(),
        }
    }

    fn addr(&self) -> SocketAddr {
        self.relay.local_addr().expect("addr")
    }

    fn pump(&mut self) {
        let mut buf = [0u8; 2048];
        while let Ok((n, src)) = self.relay.recv_from(&mut buf) {
            if src == self.a {
                if self.from_a.len() < 4096 {
                    self.from_a.push(buf[..n].to_vec());
                }
                let _ = self.relay.send_to(&buf[..n], self.b);
            } else if src == self.b {
                let _ = self.relay.send_to(&buf[..n], self.a);
            }
        }
    }
}

#[test]
fn a_datagram_for_one_member_is_refused_by_another() {
    let s: Vec<UdpSocket> = (0..3).map(|_| loopback_socket()).collect();
    let a: Vec<SocketAddr> = s.iter().map(|s| s.local_addr().unwrap()).collect();
    let mut to_1 = Relay::new(a[0], a[1]);
    let mut to_2 = Relay::new(a[0], a[2]);
    // Each player's view: player 0 behind a relay towards 1 and towards 2.
    let plans = [
        udp_plan(&[a[0], to_1.addr(), to_2.addr()], 77, 0),
        udp_plan(&[to_1.addr(), a[1], a[2]], 77, 1),
        udp_plan(&[to_2.addr(), a[1], a[2]], 77, 2),
    ];
    let mut peers: Vec<Peer> = s
        .into_iter()
        .zip(&plans)
        .map(|(socket, plan)| udp_peer(socket, plan))
        .collect();
    let mut crossed = 0u64;
    run_until(
        &mut peers,
        DEADLINE,
        "400 frames with crossed datagrams",
        |peers| {
            to_1.pump();
            to_2.pump();
            // Until frame 250: every datagram 0 sent to 1, also to 2.
            if peers[2].session.current_frame() < 250 {
                for d in to_1.from_a.drain(..) {
                    let _ = to_2.relay.send_to(&d, a[2]);
                    crossed += 1;
                }
            }
        },
        all_confirmed(400),
    );
    let (frame, sum) = assert_agree(&peers);
    assert_eq!(sum, reference_checksum(3, 77, 2, frame));
    assert!(crossed > 100, "the attack ran: {crossed}");
    let drops = peers[2].monitor.traffic().drop_counts();
    assert_eq!(drops.get(DropReason::BadTag), crossed, "{drops:?}");
    assert_eq!(
        drops.total(),
        crossed,
        "nothing of player 0's own was refused: {drops:?}"
    );
}
