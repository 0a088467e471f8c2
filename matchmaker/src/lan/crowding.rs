//! Lobbies per advertised address: how the liveness table keeps one stranger
//! from filling it.
//!
//! A stranger can announce hundreds of records pointing at one UDP port it
//! owns and echo every ping: all stay listed. Were the table simply full, a
//! real lobby appearing later would be dropped. So a record counts against
//! every IP address it advertises, and:
//!
//! - a new record is refused while one of its addresses already holds
//!   [`MAX_LOBBIES_PER_ADDRESS`] lobbies (a hidden one there makes room);
//! - when the table is full, the lobby evicted is one at the most crowded
//!   address (hidden first), and only if that address holds more than the
//!   newcomer's; a newcomer is dropped only when its own address is among
//!   the most crowded (or the table is all its own).
//!
//! IPv6 addresses count whole, not per /64: every host of a LAN shares its
//! /64. A record without any address counts against one shared key.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};

use super::rounds::Entry;

/// Lobbies the table holds at most per advertised IP address. A LAN host
/// rarely runs more lobbies than this; a stranger with one address can hold
/// no more than this many entries of the table.
pub const MAX_LOBBIES_PER_ADDRESS: usize = 16;

/// What a record counts against: each of its IP addresses (IPv4-mapped
/// IPv6 as IPv4, no port, no scope), or `None` for a record without any.
pub(crate) fn address_keys(addrs: &[SocketAddr]) -> BTreeSet<Option<IpAddr>> {
    if addrs.is_empty() {
        return BTreeSet::from([None]);
    }
    addrs.iter().map(|a| Some(a.ip().to_canonical())).collect()
}

/// Lobbies per address key across a table.
#[derive(Debug, Default)]
pub(crate) struct Crowding {
    per_key: BTreeMap<Option<IpAddr>, usize>,
}

impl Crowding {
    /// Counts the lobbies of a table, given each one's addresses.
    pub(crate) fn count<'a>(tables_addrs: impl IntoIterator<Item = &'a [SocketAddr]>) -> Self {
        let mut per_key: BTreeMap<Option<IpAddr>, usize> = BTreeMap::new();
        for addrs in tables_addrs {
            for key in address_keys(addrs) {
                *per_key.entry(key).or_default() += 1;
            }
        }
        Crowding { per_key }
    }

    /// Lobbies held at one key.
    pub(crate) fn at(&self, key: &Option<IpAddr>) -> usize {
        self.per_key.get(key).copied().unwrap_or(0)
    }

    /// How crowded a record's addresses are: the most lobbies held at any
    /// of them.
    pub(crate) fn of(&self, addrs: &[SocketAddr]) -> usize {
        address_keys(addrs)
            .iter()
            .map(|k| self.at(k))
            .max()
            .unwrap_or(0)
    }

    /// The keys of `addrs` that hold `cap` lobbies or more.
    pub(crate) fn full_keys(&self, addrs: &[SocketAddr], cap: usize) -> BTreeSet<Option<IpAddr>> {
        address_keys(addrs)
            .into_iter()
            .filter(|k| self.at(k) >= cap)
            .collect()
    }
}

/// Whether a record fits under the per-address cap.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AddressRoom {
    /// Every address of the record holds fewer than the cap.
    Fits,
    /// An address is full, but this hidden lobby there can go.
    Evict(String),
    /// An address is full of listed lobbies: refuse the record.
    Full,
}

/// Whether the record `fullname` with `addrs` fits in `entries` (the
/// record itself not counted) under `cap` lobbies per address.
pub(crate) fn room_at_address(
    entries: &BTreeMap<String, Entry>,
    fullname: &str,
    addrs: &[SocketAddr],
    cap: usize,
) -> AddressRoom {
    let others = || entries.iter().filter(|(k, _)| k.as_str() != fullname);
    let crowding = Crowding::count(others().map(|(_, e)| e.record.addrs.as_slice()));
    let full = crowding.full_keys(addrs, cap);
    if full.is_empty() {
        return AddressRoom::Fits;
    }
    others()
        .find(|(_, e)| !e.visible && !address_keys(&e.record.addrs).is_disjoint(&full))
        .map_or(AddressRoom::Full, |(k, _)| AddressRoom::Evict(k.clone()))
}

/// The lobby to evict so that a newcomer with `addrs` fits in a full table:
/// one at the most crowded address, hidden first, if that address holds
/// more lobbies than the newcomer's; else a hidden one; else none (drop the
/// newcomer: its own address is among the most crowded).
pub(crate) fn victim_in_full_table(
    entries: &BTreeMap<String, Entry>,
    addrs: &[SocketAddr],
) -> Option<String> {
    let crowding = Crowding::count(entries.values().map(|e| e.record.addrs.as_slice()));
    let mine = crowding.of(addrs);
    let (key, (crowd, hidden)) = entries
        .iter()
        .map(|(k, e)| (k, (crowding.of(&e.record.addrs), !e.visible)))
        .max_by_key(|(_, rank)| *rank)?;
    if hidden || crowd > mine {
        return Some(key.clone());
    }
    entries
        .iter()
        .filter(|(_, e)| !e.visible)
        .max_by_key(|(_, e)| crowding.of(&e.record.addrs))
        .map(|(k, _)| k.clone())
}
