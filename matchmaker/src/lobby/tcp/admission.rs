//! Who gets a connection slot: per-address and total caps on connections
//! awaiting their hello, and a total cap on open connections (so file
//! descriptors stay bounded), arranged so that one address can never take
//! every slot. Pure logic; the event loop asks it before every accept.
//!
//! When a slot is needed and none is free, a lingering closed connection is
//! dropped first, else a *stale* connection: one that has not had its offer
//! answered [`OFFER_GRACE`] after it was accepted (the oldest of the address
//! holding the most). A connection younger than that, or one whose offer was
//! answered, is never evicted: if only such connections hold the slots, the
//! newcomer is not accepted yet and waits in the kernel's accept queue, which
//! is first in, first out. Members are never evicted.
//!
//! Why not "evict the oldest" (the old rule) or a random or the newest one:
//! an attacker with many addresses (IPv6, or aliases) that keeps opening
//! connections makes any of those rules evict a real joiner's connection
//! before its offer is read, on every attempt, since evictions come as fast
//! as the attacker connects. With the grace, a joiner once accepted has
//! `OFFER_GRACE` (many round trips on a LAN) to send its offer, whatever the
//! attacker does, and an attacker only delays it: slots turn over at most
//! `pending cap / OFFER_GRACE` per second, and the accept queue serves the
//! joiner after the connections queued before it. Since an answered
//! connection is never evicted, an eviction never settles a password guess
//! as failed (the victim's backoff does not grow).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::lobby::host::ConnId;

/// Connections one address may have awaiting their hello at once; a
/// connection past it is closed at once. Four leave room for a few players
/// behind one address joining together.
pub const MAX_PENDING_PER_ADDRESS: usize = 4;

/// Open connections allowed beyond the pending-hello cap and the player
/// limit: room for closed connections that linger to deliver their last
/// frames (a reject, the plan).
pub const OPEN_CONNECTION_SLACK: usize = 16;

/// How long after its accept a connection whose offer is not yet answered
/// is safe from eviction. A LAN joiner's offer comes one round trip after
/// the greeting (milliseconds); 200 ms leaves room for a busy machine or a
/// Wi-Fi hiccup, yet lets 16 slots turn over 80 times a second under a flood.
pub const OFFER_GRACE: Duration = Duration::from_millis(200);

/// What a connection is doing, as admission sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SlotKind {
    /// Waiting for its offer (key exchange not done): evictable once stale.
    Pending,
    /// Its offer was answered; waiting for its hello: never evicted (it
    /// still counts against the pending caps).
    Answered,
    /// A member's connection: never evicted.
    Member,
    /// Closed by the host, lingering to deliver its last frames.
    Closing,
}

impl SlotKind {
    fn awaits_hello(self) -> bool {
        matches!(self, SlotKind::Pending | SlotKind::Answered)
    }
}

/// One open connection.
#[derive(Clone, Copy, Debug)]
pub(super) struct Slot {
    pub(super) conn: ConnId,
    pub(super) ip: IpAddr,
    pub(super) kind: SlotKind,
    pub(super) opened: Instant,
}

/// The caps in force.
#[derive(Clone, Copy, Debug)]
pub(super) struct Caps {
    /// Connections awaiting their hello, all addresses together.
    pub(super) pending: usize,
    /// Open connections of every kind.
    pub(super) open: usize,
}

impl Caps {
    /// Caps for a lobby of `max_players` whose machine accepts
    /// `max_pending` connections awaiting their hello.
    pub(super) fn new(max_players: u16, max_pending: usize) -> Caps {
        Caps {
            pending: max_pending,
            open: max_pending + usize::from(max_players) + OPEN_CONNECTION_SLACK,
        }
    }
}

/// Whether a newcomer can be accepted now (decided before the accept).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Room {
    /// A slot is free.
    Free,
    /// A slot is free once this connection is dropped.
    Evict(ConnId),
    /// No slot: leave newcomers in the accept queue. `until`: when a
    /// connection turns stale (`None`: only a change of the table frees one).
    Full { until: Option<Instant> },
}

/// Whether the open connections leave room for a newcomer at `now`.
pub(super) fn room(slots: &[Slot], caps: Caps, now: Instant) -> Room {
    let total_pending = slots.iter().filter(|s| s.kind.awaits_hello()).count();
    let pending_full = total_pending >= caps.pending;
    if !pending_full && slots.len() < caps.open {
        return Room::Free;
    }
    if !pending_full {
        // Full of lingering closed connections: drop the oldest.
        let closing = slots
            .iter()
            .filter(|s| s.kind == SlotKind::Closing)
            .min_by_key(|s| s.opened);
        if let Some(s) = closing {
            return Room::Evict(s.conn);
        }
    }
    match heaviest_oldest_stale(slots, now) {
        Some(conn) => Room::Evict(conn),
        None => Room::Full {
            until: slots
                .iter()
                .filter(|s| s.kind == SlotKind::Pending)
                .map(|s| s.opened + OFFER_GRACE)
                .min(),
        },
    }
}

/// Whether `ip` already has all the connections awaiting their hello it
/// may have (the newcomer is then closed at once).
pub(super) fn address_full(slots: &[Slot], ip: IpAddr) -> bool {
    let from_ip = slots
        .iter()
        .filter(|s| s.kind.awaits_hello() && s.ip == ip)
        .count();
    from_ip >= MAX_PENDING_PER_ADDRESS
}

/// The oldest stale connection of the address with the most of them.
fn heaviest_oldest_stale(slots: &[Slot], now: Instant) -> Option<ConnId> {
    let stale: Vec<&Slot> = slots
        .iter()
        .filter(|s| s.kind == SlotKind::Pending && now >= s.opened + OFFER_GRACE)
        .collect();
    let count = |ip: IpAddr| stale.iter().filter(|s| s.ip == ip).count();
    stale
        .iter()
        .max_by(|a, b| count(a.ip).cmp(&count(b.ip)).then(b.opened.cmp(&a.opened)))
        .map(|s| s.conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(n: u64, ip: u8, kind: SlotKind, t0: Instant) -> Slot {
        Slot {
            conn: ConnId(n),
            ip: IpAddr::from([127, 0, 0, ip]),
            kind,
            opened: t0 + Duration::from_millis(n),
        }
    }

    #[test]
    fn one_address_is_capped_and_cannot_lock_others_out() {
        let t0 = Instant::now();
        let caps = Caps::new(4, 16);
        let mut slots: Vec<Slot> = (0..4).map(|n| slot(n, 2, SlotKind::Pending, t0)).collect();
        let attacker = IpAddr::from([127, 0, 0, 2]);
        assert!(address_full(&slots, attacker));
        let joiner = IpAddr::from([127, 0, 0, 1]);
        assert!(!address_full(&slots, joiner));
        assert_eq!(room(&slots, caps, t0), Room::Free);
        // Many addresses fill the pending cap: once stale, the oldest of the
        // heaviest address makes room, never a member.
        slots.extend((4..16).map(|n| slot(n, 3 + (n % 6) as u8, SlotKind::Pending, t0)));
        slots.push(slot(99, 1, SlotKind::Member, t0));
        let later = t0 + OFFER_GRACE + Duration::from_secs(1);
        assert_eq!(room(&slots, caps, later), Room::Evict(ConnId(0)));
    }

    #[test]
    fn fresh_connections_are_not_evicted_and_newcomers_wait() {
        let t0 = Instant::now();
        let caps = Caps::new(4, 16);
        // One connection each from 16 addresses, all within their grace: a
        // newcomer waits (in the accept queue) until the first turns stale.
        let slots: Vec<Slot> = (0..16)
            .map(|n| slot(n, 2 + n as u8, SlotKind::Pending, t0))
            .collect();
        assert_eq!(
            room(&slots, caps, t0 + Duration::from_millis(20)),
            Room::Full {
                until: Some(t0 + OFFER_GRACE)
            }
        );
        // Stale: the oldest goes (every address ties at one).
        assert_eq!(
            room(&slots, caps, t0 + OFFER_GRACE + Duration::from_millis(3)),
            Room::Evict(ConnId(0))
        );
    }

    #[test]
    fn an_answered_connection_is_never_evicted() {
        let t0 = Instant::now();
        let caps = Caps::new(4, 16);
        let late = t0 + Duration::from_secs(60);
        // The oldest has had its offer answered (a joiner, maybe with an
        // open password guess): the next stale one goes instead.
        let mut slots: Vec<Slot> = (0..16)
            .map(|n| slot(n, 2 + n as u8, SlotKind::Pending, t0))
            .collect();
        if let Some(s) = slots.first_mut() {
            s.kind = SlotKind::Answered;
        }
        assert_eq!(room(&slots, caps, late), Room::Evict(ConnId(1)));
        // All answered: nothing is evicted, and no timer frees a slot.
        for s in &mut slots {
            s.kind = SlotKind::Answered;
        }
        assert_eq!(room(&slots, caps, late), Room::Full { until: None });
    }

    #[test]
    fn lingering_closed_connections_make_room_first() {
        let t0 = Instant::now();
        let caps = Caps::new(2, 4);
        let mut slots: Vec<Slot> = (0..caps.open as u64)
            .map(|n| slot(n, 9, SlotKind::Closing, t0))
            .collect();
        assert_eq!(room(&slots, caps, t0), Room::Evict(ConnId(0)));
        for s in &mut slots {
            s.kind = SlotKind::Member;
        }
        assert_eq!(room(&slots, caps, t0), Room::Full { until: None });
    }
}
