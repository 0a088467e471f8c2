//! Who gets a connection slot: per-address and total caps on connections
//! awaiting their hello, and a total cap on open connections (so file
//! descriptors stay bounded), arranged so that one address can never take
//! every slot. Pure logic; the event loop asks it on every accept.
//!
//! When a slot is needed and none is free, the newcomer is not refused:
//! a lingering closed connection is dropped first, else the oldest
//! connection awaiting its hello from the address holding the most of them.
//! An address can hold at most [`MAX_PENDING_PER_ADDRESS`], so a joiner from
//! any other address always finds room. Members are never evicted.

use std::net::IpAddr;
use std::time::Instant;

use crate::lobby::host::ConnId;

/// Connections one address may have awaiting their hello at once; a
/// connection past it is closed at once. Four leave room for a few players
/// behind one address joining together.
pub const MAX_PENDING_PER_ADDRESS: usize = 4;

/// Open connections allowed beyond the pending-hello cap and the player
/// limit: room for closed connections that linger to deliver their last
/// frames (a reject, the plan).
pub const OPEN_CONNECTION_SLACK: usize = 16;

/// What a connection is doing, as admission sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SlotKind {
    /// Waiting for its hello (or still in its handshake).
    Pending,
    /// A member's connection: never evicted.
    Member,
    /// Closed by the host, lingering to deliver its last frames.
    Closing,
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

/// The decision for a new connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Admit {
    /// A slot is free.
    Accept,
    /// Accept after dropping this connection.
    AcceptEvicting(ConnId),
    /// Close the newcomer at once.
    Refuse,
}

/// Decides on a newcomer from `ip` given the open connections.
pub(super) fn admit(slots: &[Slot], ip: IpAddr, caps: Caps) -> Admit {
    let pending = |s: &&Slot| s.kind == SlotKind::Pending;
    let from_ip = slots.iter().filter(pending).filter(|s| s.ip == ip).count();
    if from_ip >= MAX_PENDING_PER_ADDRESS {
        return Admit::Refuse;
    }
    let total_pending = slots.iter().filter(pending).count();
    let pending_full = total_pending >= caps.pending;
    if !pending_full && slots.len() < caps.open {
        return Admit::Accept;
    }
    if !pending_full {
        // Full of lingering closed connections: drop the oldest.
        let closing = slots
            .iter()
            .filter(|s| s.kind == SlotKind::Closing)
            .min_by_key(|s| s.opened);
        if let Some(s) = closing {
            return Admit::AcceptEvicting(s.conn);
        }
    }
    match heaviest_oldest(slots) {
        Some(conn) => Admit::AcceptEvicting(conn),
        None => Admit::Refuse,
    }
}

/// The oldest pending connection of the address with the most pending ones.
fn heaviest_oldest(slots: &[Slot]) -> Option<ConnId> {
    let pending: Vec<&Slot> = slots
        .iter()
        .filter(|s| s.kind == SlotKind::Pending)
        .collect();
    let count = |ip: IpAddr| pending.iter().filter(|s| s.ip == ip).count();
    pending
        .iter()
        .max_by(|a, b| count(a.ip).cmp(&count(b.ip)).then(b.opened.cmp(&a.opened)))
        .map(|s| s.conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
        assert_eq!(admit(&slots, attacker, caps), Admit::Refuse);
        let joiner = IpAddr::from([127, 0, 0, 1]);
        assert_eq!(admit(&slots, joiner, caps), Admit::Accept);
        // Many addresses fill the pending cap: the joiner evicts the oldest
        // of the heaviest address, never a member.
        slots.extend((4..16).map(|n| slot(n, 3 + (n % 6) as u8, SlotKind::Pending, t0)));
        slots.push(slot(99, 1, SlotKind::Member, t0));
        assert_eq!(
            admit(&slots, joiner, caps),
            Admit::AcceptEvicting(ConnId(0))
        );
    }

    #[test]
    fn lingering_closed_connections_make_room_first() {
        let t0 = Instant::now();
        let caps = Caps::new(2, 4);
        let mut slots: Vec<Slot> = (0..caps.open as u64)
            .map(|n| slot(n, 9, SlotKind::Closing, t0))
            .collect();
        let joiner = IpAddr::from([127, 0, 0, 1]);
        assert_eq!(
            admit(&slots, joiner, caps),
            Admit::AcceptEvicting(ConnId(0))
        );
        for s in &mut slots {
            s.kind = SlotKind::Member;
        }
        assert_eq!(admit(&slots, joiner, caps), Admit::Refuse);
    }
}
