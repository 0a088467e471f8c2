//! [`Backlog`]: received packets waiting to be authenticated, bounded.
//!
//! A transport that hands GGRS at most so many packets per poll keeps the
//! rest for the next poll. Before this bound, every packet any room peer sent
//! waited there unauthenticated, so a peer flooding the data channel grew the
//! queue without limit. Now a packet is admitted only if it could pass at all
//! (from a member of the match, not larger than [`MAX_DATAGRAM`](crate::wire::MAX_DATAGRAM)) and while
//! fewer than [`MAX_BACKLOG`] wait; anything else is dropped and counted
//! ([`DropReason::UnknownAddress`], [`DropReason::TooLarge`],
//! [`DropReason::BacklogFull`]). Memory held is at most
//! `MAX_BACKLOG * MAX_DATAGRAM` bytes (4.9 MB).

use std::collections::VecDeque;

use crate::stats::TrafficCounters;
use crate::wire::DropReason;

/// Most packets waiting between two polls. Equal to the number a poll
/// authenticates, so one poll always empties what one frame can bring in
/// normal play (a 16-player match sends a few dozen packets per frame).
pub const MAX_BACKLOG: usize = 4096;

/// Packets from peers (by 128-bit id) waiting for the next poll.
#[derive(Debug)]
pub struct Backlog<P> {
    queue: VecDeque<(u128, P)>,
    capacity: usize,
}

impl<P: AsRef<[u8]>> Backlog<P> {
    /// An empty backlog holding at most `capacity` packets.
    pub fn new(capacity: usize) -> Self {
        Backlog {
            queue: VecDeque::new(),
            capacity,
        }
    }

    /// Admits what arrived: packets `check` accepts (by sender and length:
    /// the authenticated layer's "from a member, not over [`MAX_DATAGRAM`](crate::wire::MAX_DATAGRAM)"),
    /// while there is room; counts every drop.
    pub fn admit(
        &mut self,
        arrived: impl IntoIterator<Item = (u128, P)>,
        check: &dyn Fn(u128, usize) -> Result<(), DropReason>,
        counters: &TrafficCounters,
    ) {
        for (peer, packet) in arrived {
            let reason = match check(peer, packet.as_ref().len()) {
                Err(reason) => reason,
                Ok(()) if self.queue.len() >= self.capacity => DropReason::BacklogFull,
                Ok(()) => {
                    self.queue.push_back((peer, packet));
                    continue;
                }
            };
            counters.record_drop(reason);
        }
    }

    /// The oldest waiting packet.
    pub fn pop(&mut self) -> Option<(u128, P)> {
        self.queue.pop_front()
    }

    /// Packets waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::MAX_DATAGRAM;

    #[test]
    fn a_flood_stays_bounded_and_every_drop_is_counted() {
        let counters = TrafficCounters::new();
        let mut backlog = Backlog::new(MAX_BACKLOG);
        let member = |p: u128, len: usize| match (p, len) {
            (7, len) if len > MAX_DATAGRAM => Err(DropReason::TooLarge),
            (7, _) => Ok(()),
            _ => Err(DropReason::UnknownAddress),
        };
        // A member floods 100,000 packets between two polls.
        let flood = (0..100_000).map(|_| (7u128, vec![0u8; 64]));
        backlog.admit(flood, &member, &counters);
        assert_eq!(backlog.len(), MAX_BACKLOG);
        assert_eq!(
            counters.drops(DropReason::BacklogFull),
            (100_000 - MAX_BACKLOG) as u64
        );
        // A stranger in the room and oversized packets never take room.
        backlog.pop();
        let junk = (0..1000)
            .map(|_| (9u128, vec![0u8; 64]))
            .chain((0..10).map(|_| (7u128, vec![0u8; MAX_DATAGRAM + 1])));
        backlog.admit(junk, &member, &counters);
        assert_eq!(backlog.len(), MAX_BACKLOG - 1);
        assert_eq!(counters.drops(DropReason::UnknownAddress), 1000);
        assert_eq!(counters.drops(DropReason::TooLarge), 10);
        // Room again after a poll: the member's next packet is taken.
        backlog.admit([(7u128, vec![1u8; 8])], &member, &counters);
        assert_eq!(backlog.len(), MAX_BACKLOG);
        while backlog.pop().is_some() {}
        assert!(backlog.is_empty());
    }
}
