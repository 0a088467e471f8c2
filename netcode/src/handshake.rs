//! [`RedundantHandshake`]: every GGRS handshake datagram goes out
//! [`HANDSHAKE_COPIES`] times, so one lost datagram does not start one peer
//! 200 ms before the other.
//!
//! GGRS synchronises each pair of peers with five request/reply round trips
//! and retries a lost one only after 200 ms (`SYNC_RETRY_INTERVAL` in ggrs
//! 0.13's `protocol.rs`, not configurable). At 5 % loss a 2-player start
//! sends about 20 handshake datagrams, so most starts lose one: that peer
//! pair finishes synchronising 200 ms (12 frames) apart, the early peer runs
//! into the prediction window after 8 frames and freezes until the other
//! catches up (measured: 11 to 13 stalled ticks of 600 at 100 ms RTT, see
//! `netcode/benches/netcode.rs`). With three copies a round trip is lost
//! only when all three copies of one message are (5 % loss: 1 in 8,000).
//!
//! Only `SyncRequest` and `SyncReply` are copied; GGRS ignores a reply it
//! has already counted and answers each request copy with a reply, so the
//! copies change nothing but the odds. The cost is a few dozen datagrams of
//! under 50 bytes at the start of a match.

use ggrs::{Message, NonBlockingSocket};

use crate::addr::PeerAddr;
use crate::stats::TrafficCounters;
use crate::transport::Transport;

/// How many times each GGRS handshake datagram is sent.
pub const HANDSHAKE_COPIES: usize = 3;

/// The largest postcard encoding of a handshake message: a 16-bit magic
/// (3 bytes), the variant index (1) and a 32-bit random (5). Anything that
/// does not fit in this many bytes is not a handshake message.
const HANDSHAKE_MAX_BYTES: usize = 16;

/// Wraps a GGRS socket and sends handshake messages [`HANDSHAKE_COPIES`]
/// times; everything else passes through once.
/// [`NetSessionBuilder`](crate::NetSessionBuilder) puts every session's
/// transport in one.
#[derive(Debug)]
pub struct RedundantHandshake<T> {
    inner: T,
}

impl<T> RedundantHandshake<T> {
    /// `inner`, with its handshake messages sent [`HANDSHAKE_COPIES`] times.
    pub fn new(inner: T) -> Self {
        RedundantHandshake { inner }
    }

    /// The wrapped transport.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

/// Whether `msg` is a GGRS `SyncRequest` or `SyncReply`.
///
/// ggrs 0.13 keeps `Message`'s fields private; its serde form is the
/// header's `magic: u16`, then the body enum's variant index, in
/// declaration order: `SyncRequest` 0, `SyncReply` 1 (`messages.rs`). The
/// crate pins ggrs 0.13, and a unit test below fails if the order moves.
pub fn is_handshake(msg: &Message) -> bool {
    let mut buf = [0u8; HANDSHAKE_MAX_BYTES];
    let Ok(bytes) = postcard::to_slice(msg, &mut buf) else {
        return false; // too long for a handshake message
    };
    matches!(
        postcard::take_from_bytes::<(u16, u32)>(bytes),
        Ok(((_magic, 0 | 1), _))
    )
}

impl<T: NonBlockingSocket<PeerAddr>> NonBlockingSocket<PeerAddr> for RedundantHandshake<T> {
    fn send_to(&mut self, msg: &Message, addr: &PeerAddr) {
        let copies = if is_handshake(msg) {
            HANDSHAKE_COPIES
        } else {
            1
        };
        for _ in 0..copies {
            self.inner.send_to(msg, addr);
        }
    }

    fn receive_all_messages(&mut self) -> Vec<(PeerAddr, Message)> {
        self.inner.receive_all_messages()
    }
}

impl<T: Transport> Transport for RedundantHandshake<T> {
    fn counters(&self) -> TrafficCounters {
        self.inner.counters()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GGRS message from its serde form (its fields are private).
    fn message(bytes: &[u8]) -> Message {
        postcard::from_bytes(bytes).expect("a ggrs message")
    }

    /// Records what the wrapper passes on.
    #[derive(Default)]
    struct Recorder(Vec<Message>);

    impl NonBlockingSocket<PeerAddr> for Recorder {
        fn send_to(&mut self, msg: &Message, _addr: &PeerAddr) {
            self.0.push(msg.clone());
        }
        fn receive_all_messages(&mut self) -> Vec<(PeerAddr, Message)> {
            Vec::new()
        }
    }

    #[test]
    fn sync_requests_and_replies_are_copied_and_nothing_else() {
        // magic 0x1234 (varint), variant, body.
        let request = message(&[0xb4, 0x24, 0, 0xff, 0xff, 0xff, 0xff, 0x0f]);
        let reply = message(&[0xb4, 0x24, 1, 7]);
        // Input: no statuses, not a disconnect, start 0, ack -1, no bytes.
        let input = message(&[0xb4, 0x24, 2, 0, 0, 0, 1, 0]);
        let ack = message(&[0xb4, 0x24, 3, 4]);
        let keep_alive = message(&[0xb4, 0x24, 7]);
        let mut socket = RedundantHandshake::new(Recorder::default());
        let to = PeerAddr::Sim(1);
        for msg in [&request, &reply, &input, &ack, &keep_alive] {
            socket.send_to(msg, &to);
        }
        let count = |m: &Message| socket.inner.0.iter().filter(|s| *s == m).count();
        assert_eq!(count(&request), HANDSHAKE_COPIES);
        assert_eq!(count(&reply), HANDSHAKE_COPIES);
        assert_eq!(count(&input), 1);
        assert_eq!(count(&ack), 1);
        assert_eq!(count(&keep_alive), 1);
    }
}
