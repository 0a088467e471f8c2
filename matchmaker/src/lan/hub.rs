//! The discovery hub: one thread per [`Discovery`](super::Discovery) owning the
//! mDNS browse and the [`LivenessTable`], fanning changes out to every
//! [`LobbyBrowser`](super::LobbyBrowser).
//!
//! mdns-sd keeps one listener per service type and daemon, so browsers share
//! this one. It browses from the daemon's start: answers to anyone's query are
//! cached, and a browser opened later lists known lobbies at once.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mdns_sd::{ResolvedService, ScopedIp, ServiceDaemon, ServiceEvent};

use super::LanError;
use super::claim_ahead::CLAIM_KEY;
use super::liveness::{
    LivenessConfig, LivenessTable, LobbyRecord, TableEvent, decode_pong, sort_addrs,
};
use super::txt::{LobbyTxt, SERVICE_TYPE};

/// Inputs the hub may have queued: mDNS events wait when it is full (mdns-sd
/// buffers them), pongs beyond it are dropped.
const HUB_QUEUE: usize = 1024;

pub(crate) enum HubInput {
    Mdns(ServiceEvent),
    Pong(Instant, SocketAddr, u64),
    Subscribe(Sender<TableEvent>),
    Shutdown,
}

/// Starts browsing and the hub thread; returns the hub's input.
pub(crate) fn start_hub(
    daemon: &ServiceDaemon,
    config: LivenessConfig,
    seen: Arc<Mutex<BTreeSet<String>>>,
) -> Result<SyncSender<HubInput>, LanError> {
    let (tx, rx) = mpsc::sync_channel(HUB_QUEUE);
    let browse = daemon.browse(SERVICE_TYPE)?;
    let fwd = tx.clone();
    std::thread::Builder::new()
        .name("nearplay-mdns-fwd".into())
        .spawn(move || {
            while let Ok(ev) = browse.recv() {
                if fwd.send(HubInput::Mdns(ev)).is_err() {
                    return;
                }
            }
        })?;
    let stop = Arc::new(AtomicBool::new(false));
    let v4 = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    spawn_pong_reader(v4.try_clone()?, tx.clone(), stop.clone())?;
    let v6 = UdpSocket::bind((Ipv6Addr::UNSPECIFIED, 0)).ok();
    if let Some(s) = &v6 {
        spawn_pong_reader(s.try_clone()?, tx.clone(), stop.clone())?;
    }
    let mut nonce_key = [0u8; 32];
    getrandom::getrandom(&mut nonce_key).map_err(|e| LanError::Io(std::io::Error::other(e)))?;
    let table = LivenessTable::new(config, nonce_key);
    let hub = Hub {
        table,
        subscribers: Vec::new(),
        seen,
        v4,
        v6,
    };
    std::thread::Builder::new()
        .name("nearplay-lan-hub".into())
        .spawn(move || {
            hub.run(rx);
            stop.store(true, Ordering::Relaxed);
        })?;
    Ok(tx)
}

fn spawn_pong_reader(
    sock: UdpSocket,
    tx: SyncSender<HubInput>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<()> {
    sock.set_read_timeout(Some(Duration::from_millis(200)))?;
    std::thread::Builder::new()
        .name("nearplay-pong".into())
        .spawn(move || {
            let mut buf = [0u8; 64];
            while !stop.load(Ordering::Relaxed) {
                if let Ok((n, from)) = sock.recv_from(&mut buf) {
                    let at = Instant::now();
                    // A flood of pongs is dropped here, never queued.
                    if let Some(nonce) = buf.get(..n).and_then(decode_pong)
                        && let Err(TrySendError::Disconnected(_)) =
                            tx.try_send(HubInput::Pong(at, from, nonce))
                    {
                        return;
                    }
                }
            }
        })?;
    Ok(())
}

struct Hub {
    table: LivenessTable,
    subscribers: Vec<Sender<TableEvent>>,
    seen: Arc<Mutex<BTreeSet<String>>>,
    v4: UdpSocket,
    v6: Option<UdpSocket>,
}

impl Hub {
    fn run(mut self, rx: Receiver<HubInput>) {
        loop {
            let now = Instant::now();
            let wait = self
                .table
                .poll_timeout()
                .map(|t| t.saturating_duration_since(now))
                .unwrap_or(Duration::from_millis(500))
                .min(Duration::from_millis(500));
            match rx.recv_timeout(wait) {
                Ok(HubInput::Shutdown) | Err(RecvTimeoutError::Disconnected) => return,
                Ok(input) => self.handle(input),
                Err(RecvTimeoutError::Timeout) => {}
            }
            self.table.handle_timeout(Instant::now());
            while let Some((addr, ping)) = self.table.poll_ping() {
                let sock = if addr.is_ipv4() {
                    Some(&self.v4)
                } else {
                    self.v6.as_ref()
                };
                if let Some(sock) = sock {
                    let _ = sock.send_to(&ping, addr);
                }
            }
            self.fan_out();
        }
    }

    fn handle(&mut self, input: HubInput) {
        let now = Instant::now();
        match input {
            // A name claimed ahead is not a lobby (yet): never listed. Nor
            // does it touch a listed lobby of that name: a claim always
            // comes before its lobby, so one after it is a stranger's
            // record trying to hide the lobby.
            HubInput::Mdns(ServiceEvent::ServiceResolved(svc))
                if svc.txt_properties.get(CLAIM_KEY).is_some() => {}
            HubInput::Mdns(ServiceEvent::ServiceResolved(svc)) => {
                self.table.handle_resolved(now, record(&svc));
            }
            HubInput::Mdns(ServiceEvent::ServiceRemoved(_, fullname)) => {
                self.table.handle_removed(&fullname);
            }
            HubInput::Mdns(_) => {}
            HubInput::Pong(at, from, nonce) => self.table.handle_pong(at, from, nonce),
            HubInput::Subscribe(tx) => {
                let ok = self
                    .table
                    .visible()
                    .all(|r| tx.send(TableEvent::Up(r.clone())).is_ok());
                if ok {
                    self.subscribers.push(tx);
                    self.table.set_active(now, true);
                }
            }
            HubInput::Shutdown => {}
        }
    }

    fn fan_out(&mut self) {
        while let Some(event) = self.table.poll_event() {
            if let Ok(mut seen) = self.seen.lock() {
                match &event {
                    TableEvent::Up(r) => seen.insert(r.name.to_lowercase()),
                    TableEvent::Down(r) => seen.remove(&r.name.to_lowercase()),
                };
            }
            self.subscribers.retain(|s| s.send(event.clone()).is_ok());
        }
        if self.subscribers.is_empty() {
            self.table.set_active(Instant::now(), false);
        }
    }
}

/// A lobby record from an mDNS resolution.
fn record(svc: &ResolvedService) -> LobbyRecord {
    let port = svc.port;
    let addrs = sort_addrs(svc.addresses.iter().map(|ip| match ip {
        ScopedIp::V4(v4) => SocketAddr::from((*v4.addr(), port)),
        ScopedIp::V6(v6) => {
            let a = *v6.addr();
            let scope = if a.is_unicast_link_local() {
                v6.scope_id().index
            } else {
                0
            };
            SocketAddr::V6(SocketAddrV6::new(a, port, 0, scope))
        }
        _ => SocketAddr::from((ip.to_ip_addr(), port)),
    }));
    let txt = LobbyTxt::from_pairs(
        svc.txt_properties
            .iter()
            .map(|p| (p.key().as_bytes(), p.val())),
    );
    LobbyRecord {
        fullname: svc.fullname.clone(),
        name: instance_label(&svc.fullname),
        port,
        addrs,
        txt,
        rtt: None,
        alive_addr: None,
    }
}

/// The instance label of a full name, DNS escapes undone.
pub(crate) fn instance_label(fullname: &str) -> String {
    let suffix = format!(".{SERVICE_TYPE}");
    let label = fullname.strip_suffix(&suffix).unwrap_or(fullname);
    let mut out = String::with_capacity(label.len());
    let mut chars = label.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}
