//! A lobby as mDNS resolved it, and the changes of the list the liveness
//! table reports.

use std::net::SocketAddr;
use std::time::Duration;

use super::txt::{LobbyTxt, TxtError};

/// What mDNS said about one lobby.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LobbyRecord {
    /// Full DNS-SD instance name (unique key).
    pub fullname: String,
    /// Lobby display name (the instance label), as it came.
    pub name: String,
    /// Lobby port (TCP lobby, UDP ping).
    pub port: u16,
    /// Host addresses, IPv4 first.
    pub addrs: Vec<SocketAddr>,
    /// The TXT record, or why it did not parse.
    pub txt: Result<LobbyTxt, TxtError>,
    /// Last measured round trip.
    pub rtt: Option<Duration>,
    /// The address among `addrs` that answers pings (IPv4 preferred).
    pub alive_addr: Option<SocketAddr>,
}

/// A change in the list of live lobbies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TableEvent {
    /// A lobby appeared or changed (TXT, RTT, liveness regained).
    Up(LobbyRecord),
    /// A lobby disappeared (goodbye, or stopped answering pings), as it was
    /// last listed.
    Down(LobbyRecord),
}

/// Orders addresses IPv4 first, then IPv6, each sorted (stable output).
pub fn sort_addrs(addrs: impl IntoIterator<Item = SocketAddr>) -> Vec<SocketAddr> {
    let mut v: Vec<SocketAddr> = addrs.into_iter().collect();
    v.sort_by_key(|a| (a.is_ipv6(), *a));
    v.dedup();
    v
}
