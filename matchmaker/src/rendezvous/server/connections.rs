//! [`Connections`]: the TCP connections open now, per client address and in
//! all, with a [`ConnectionPermit`] that each accepted connection holds
//! until it closes (an upgraded websocket keeps its connection's permit).
//!
//! The accept loop asks for a permit before it spends anything on a
//! connection; without one the connection is answered with a short 429 and
//! closed at once, so silent connections from one address cannot pile up
//! to the process's file descriptor limit and lock everyone out.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::rendezvous::api::Refusal;

/// The "address" every per-address limit counts by (connections, request
/// rate, rooms): an IPv4 address (IPv4-mapped IPv6 included) as is, an IPv6
/// address by its /64 prefix, since one IPv6 client usually holds a whole
/// /64 and could otherwise take a fresh address for each connection.
pub fn client_key(peer: SocketAddr) -> IpAddr {
    match peer.ip() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

#[derive(Debug, Default)]
struct Counts {
    per_address: HashMap<IpAddr, usize>,
    total: usize,
}

/// Open connections, bounded per address and in all.
#[derive(Clone, Debug)]
pub struct Connections {
    counts: Arc<Mutex<Counts>>,
    per_address: usize,
    total: usize,
}

/// One open connection's place in [`Connections`]; given back on drop.
#[derive(Debug)]
pub struct ConnectionPermit {
    counts: Arc<Mutex<Counts>>,
    ip: IpAddr,
}

impl Connections {
    /// At most `per_address` connections from one address and `total` in
    /// all (each at least 1).
    pub fn new(per_address: usize, total: usize) -> Self {
        Connections {
            counts: Arc::default(),
            per_address: per_address.max(1),
            total: total.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A place for one more connection from `ip`, or
    /// [`Refusal::AddressLimit`] when this address, or the server as a
    /// whole, has as many open as it may.
    pub fn open(&self, ip: IpAddr) -> Result<ConnectionPermit, Refusal> {
        let mut c = self.lock();
        let mine = c.per_address.get(&ip).copied().unwrap_or(0);
        if mine >= self.per_address || c.total >= self.total {
            return Err(Refusal::AddressLimit);
        }
        c.per_address.insert(ip, mine + 1);
        c.total += 1;
        Ok(ConnectionPermit {
            counts: Arc::clone(&self.counts),
            ip,
        })
    }

    /// Connections open now.
    pub fn open_now(&self) -> usize {
        self.lock().total
    }

    /// Connections open now from `ip`.
    pub fn open_from(&self, ip: IpAddr) -> usize {
        self.lock().per_address.get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_address.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.per_address.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn caps_per_address_and_in_all_and_gives_back() {
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        let c = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3));
        let conns = Connections::new(2, 3);
        let a1 = conns.open(a).expect("a1");
        let _a2 = conns.open(a).expect("a2");
        assert_eq!(conns.open(a).err(), Some(Refusal::AddressLimit));
        let _b1 = conns.open(b).expect("b1");
        assert_eq!(conns.open(c).err(), Some(Refusal::AddressLimit), "total");
        drop(a1);
        assert_eq!(conns.open_from(a), 1);
        let _c1 = conns.open(c).expect("a seat came back");
        assert_eq!(conns.open_now(), 3);
    }

    #[test]
    fn ipv6_clients_count_by_their_64_prefix() {
        let at = |s: &str| client_key(s.parse().expect("addr"));
        assert_eq!(at("[2001:db8:1:2::1]:1"), at("[2001:db8:1:2:ffff::9]:2"));
        assert_ne!(at("[2001:db8:1:2::1]:1"), at("[2001:db8:1:3::1]:1"));
        assert_eq!(at("[::ffff:10.0.0.1]:1"), at("10.0.0.1:5"));
        assert_ne!(at("10.0.0.1:1"), at("10.0.0.2:1"));
    }
}
