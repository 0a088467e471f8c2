//! Reading a websocket in tests of the rendezvous server: the sockets have a
//! short read timeout, so a read that times out is "nothing yet", and every
//! wait has a deadline.
#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use tungstenite::{Message, WebSocket};

/// Reads `ws` until `pick` takes a message (returns `Some`), within
/// `limit`; `pick` sees every message, pings and pongs included. Fails the
/// test with `what` at the deadline, or when the websocket fails.
pub fn read_until<S: Read + Write, T>(
    ws: &mut WebSocket<S>,
    what: &str,
    limit: Duration,
    mut pick: impl FnMut(Message) -> Option<T>,
) -> T {
    let end = Instant::now() + limit;
    loop {
        assert!(Instant::now() < end, "deadline passed waiting for {what}");
        match ws.read() {
            Ok(m) => {
                if let Some(v) = pick(m) {
                    return v;
                }
            }
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("websocket failed waiting for {what}: {e}"),
        }
    }
}
