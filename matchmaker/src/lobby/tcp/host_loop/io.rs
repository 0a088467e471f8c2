//! The event loop's per-connection I/O: bounded reads (fed to the machine,
//! or discarded once the connection is closed), the machine's frames into
//! each bounded outbox, writes, and dropping finished connections.

use std::net::Shutdown;
use std::time::Instant;

use super::{CLOSE_DISCARD_LIMIT, CLOSE_LINGER, EventLoop, IoState};
use crate::lobby::host::{ConnId, HostMachine, HostTransmit};
use crate::lobby::tcp::outbox::{ReadOutcome, read_some};

impl EventLoop {
    pub(super) fn read(&mut self, m: &mut HostMachine, now: Instant) {
        let mut gone = Vec::new();
        let buf = &mut self.buf;
        for (&id, c) in self.conns.iter_mut().filter(|(_, c)| c.readable) {
            let outcome = match &mut c.state {
                IoState::Open => read_some(&mut c.stream, buf, |d| m.handle_data(now, id, d)),
                IoState::Closing { discarded, .. } => {
                    let o = read_some(&mut c.stream, buf, |d| *discarded += d.len());
                    if *discarded > CLOSE_DISCARD_LIMIT {
                        ReadOutcome::Closed
                    } else {
                        o
                    }
                }
            };
            match outcome {
                ReadOutcome::Drained => c.readable = false,
                ReadOutcome::More => {}
                ReadOutcome::Closed => gone.push(id),
            }
        }
        for id in gone {
            self.drop_conn(m, now, id);
        }
    }

    pub(super) fn take_transmits(&mut self, m: &mut HostMachine, now: Instant) {
        while let Some(t) = m.poll_transmit() {
            match t {
                HostTransmit::Send { conn, frame } => {
                    let Some(c) = self.conns.get_mut(&conn) else {
                        continue;
                    };
                    if c.outbox.push(frame).is_err() {
                        self.forget(conn);
                        m.handle_too_slow(now, conn);
                    }
                }
                HostTransmit::Close { conn } => {
                    if let Some(c) = self.conns.get_mut(&conn)
                        && matches!(c.state, IoState::Open)
                    {
                        // A pending slot may be free now: try the queue.
                        self.accept_full = None;
                        c.state = IoState::Closing {
                            until: now + CLOSE_LINGER,
                            shut: false,
                            discarded: 0,
                        };
                        c.readable = true;
                    }
                }
            }
        }
    }

    pub(super) fn write(&mut self, m: &mut HostMachine, now: Instant) {
        let mut broken = Vec::new();
        for (&id, c) in &mut self.conns {
            if !c.outbox.is_empty() && c.outbox.write_to(&mut c.stream).is_err() {
                broken.push(id);
                continue;
            }
            if let IoState::Closing { shut, .. } = &mut c.state
                && !*shut
                && c.outbox.is_empty()
            {
                let _ = c.stream.shutdown(Shutdown::Write);
                *shut = true;
            }
        }
        for id in broken {
            self.drop_conn(m, now, id);
        }
    }

    /// Drops closed connections whose linger is over; `true` if any was.
    pub(super) fn reap(&mut self, m: &mut HostMachine, now: Instant) -> bool {
        let expired: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| matches!(c.state, IoState::Closing { until, .. } if now >= until))
            .map(|(&id, _)| id)
            .collect();
        for &id in &expired {
            self.drop_conn(m, now, id);
        }
        !expired.is_empty()
    }

    /// Drops the socket of `id` and tells the machine it is gone.
    pub(super) fn drop_conn(&mut self, m: &mut HostMachine, now: Instant, id: ConnId) {
        self.forget(id);
        m.handle_disconnect(now, id);
    }

    /// Drops the socket of `id` (its buffers go with it).
    pub(super) fn forget(&mut self, id: ConnId) {
        if let Some(mut c) = self.conns.remove(&id) {
            // A slot is free now: try the accept queue again.
            self.accept_full = None;
            let _ = self.poll.registry().deregister(&mut c.stream);
        }
    }
}
