//! Bounded I/O on one non-blocking stream: a write queue with a byte limit,
//! and reads in fixed chunks with a budget per wake-up.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};

use crate::lobby::codec::MAX_FRAME_LEN;

/// Bytes that may wait in one connection's write queue (beyond what the
/// kernel's socket buffer holds). Two of the largest frames: a peer that
/// reads keeps it near empty; one that stops reading overflows it and is
/// dropped as too slow instead of growing memory or stalling the others.
pub const MAX_QUEUED_BYTES: usize = 2 * (MAX_FRAME_LEN + 8);

/// Size of one read; the event loop owns one buffer of this size for all
/// connections.
pub(super) const READ_CHUNK: usize = 16 * 1024;

/// Reads per connection per wake-up, so one fast sender cannot starve the
/// others (the rest is read on the next turn of the loop).
pub(super) const READ_BUDGET: usize = 4;

/// The queue would exceed [`MAX_QUEUED_BYTES`].
#[derive(Debug)]
pub(super) struct Overflow;

/// Frames waiting to be written to one socket, in order, bounded in bytes.
#[derive(Debug, Default)]
pub(super) struct Outbox {
    frames: VecDeque<Vec<u8>>,
    /// How much of the front frame is already written.
    offset: usize,
    bytes: usize,
}

impl Outbox {
    /// Queues `frame`, or refuses it if the queue would pass the limit.
    pub(super) fn push(&mut self, frame: Vec<u8>) -> Result<(), Overflow> {
        if self.bytes.saturating_add(frame.len()) > MAX_QUEUED_BYTES {
            return Err(Overflow);
        }
        self.bytes += frame.len();
        self.frames.push_back(frame);
        Ok(())
    }

    /// Whether everything queued has been written.
    pub(super) fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Writes until the queue is empty or the socket would block. An error
    /// means the connection is broken.
    pub(super) fn write_to(&mut self, w: &mut impl Write) -> std::io::Result<()> {
        while let Some(front) = self.frames.front() {
            let rest = front.get(self.offset..).unwrap_or_default();
            match w.write(rest) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.offset += n;
                    self.bytes = self.bytes.saturating_sub(n);
                    if self.offset >= front.len() {
                        self.frames.pop_front();
                        self.offset = 0;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// What [`read_some`] found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ReadOutcome {
    /// The socket has no more bytes for now.
    Drained,
    /// The budget ran out with bytes possibly left: read again next turn.
    More,
    /// The peer closed, or the connection failed.
    Closed,
}

/// Reads at most [`READ_BUDGET`] chunks from `r` into `buf`, handing each to
/// `on_data`.
pub(super) fn read_some(
    r: &mut impl Read,
    buf: &mut [u8],
    mut on_data: impl FnMut(&[u8]),
) -> ReadOutcome {
    for _ in 0..READ_BUDGET {
        match r.read(buf) {
            Ok(0) => return ReadOutcome::Closed,
            Ok(n) => on_data(buf.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return ReadOutcome::Drained,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return ReadOutcome::Closed,
        }
    }
    ReadOutcome::More
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that takes `cap` bytes, then would block.
    struct Slow {
        taken: Vec<u8>,
        cap: usize,
    }

    impl Write for Slow {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            let room = self.cap - self.taken.len();
            if room == 0 {
                return Err(ErrorKind::WouldBlock.into());
            }
            let n = room.min(b.len());
            self.taken.extend_from_slice(&b[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn outbox_keeps_order_across_partial_writes_and_refuses_past_its_limit() {
        let mut o = Outbox::default();
        o.push(vec![1; 10]).unwrap();
        o.push(vec![2; 10]).unwrap();
        let mut w = Slow {
            taken: Vec::new(),
            cap: 15,
        };
        o.write_to(&mut w).unwrap();
        assert!(!o.is_empty());
        w.cap = 20;
        o.write_to(&mut w).unwrap();
        assert!(o.is_empty());
        assert_eq!(w.taken, [vec![1; 10], vec![2; 10]].concat());
        o.push(vec![0; MAX_QUEUED_BYTES]).unwrap();
        assert!(o.push(vec![0; 1]).is_err());
    }

    #[test]
    fn read_some_stops_at_its_budget() {
        let data = vec![7u8; READ_CHUNK * (READ_BUDGET + 1)];
        let mut r = &data[..];
        let mut buf = vec![0; READ_CHUNK];
        let mut got = 0;
        assert_eq!(
            read_some(&mut r, &mut buf, |b| got += b.len()),
            ReadOutcome::More
        );
        assert_eq!(got, READ_CHUNK * READ_BUDGET);
        assert_eq!(
            read_some(&mut r, &mut buf, |b| got += b.len()),
            ReadOutcome::Closed
        );
        assert_eq!(got, data.len());
    }
}
