//! LAN discovery over mDNS/DNS-SD: one daemon per process, advertise, browse,
//! liveness pings.
//!
//! - [`Discovery`]: the process's one mDNS daemon and browse hub; create it at
//!   program start and share it (clones are cheap).
//! - [`txt`]: the TXT record schema. [`advertise`]: registering a lobby.
//! - [`browse`]: the live lobby list. [`liveness`]: pings and RTT.
//!
//! # Timing facts behind the design (mdns-sd 0.21, measured)
//!
//! - A responder multicasts a record at most once a second (RFC 6762 §6):
//!   a query arriving within a second of its last answer (or of its
//!   announcements) goes unanswered, and that browser resolves only on its
//!   re-query about a second later. The hub browses from the moment the
//!   [`Discovery`] starts, so it also caches answers to *other* browsers'
//!   queries and every announcement: a browser opened later lists known
//!   lobbies at once (0.3 ms vs ~50 ms in `benches/discovery.rs`).
//! - Probing delays a new lobby by ~0.9 s for browsers already running;
//!   [`Discovery::claim_name`] probes the name before the lobby opens (it is
//!   then announced at once, name still unique), and
//!   [`DiscoveryConfig::probe`] `= false` skips probing altogether.
//! - mDNS keeps a crashed host's records for minutes; liveness pings drop
//!   it within 2.5 s.
//!
//! # A stranger on the same network
//!
//! Anyone on the LAN can advertise lobby records and send datagrams. What
//! this module promises against them:
//!
//! - A lobby's join address ([`LobbyInfo::addr`]) is always one mDNS
//!   resolved; a pong counts only from the address pinged, with the random
//!   nonce of that ping ([`liveness`]).
//! - A process sends at most [`LivenessConfig::pings_per_sec`] pings (16 by
//!   default) whatever mDNS lists; silent lobbies back off exponentially; a
//!   record that never answered causes pings worth at most half of its own
//!   bytes, so fake lobbies pointing at a victim reflect nothing.
//! - Every string of a [`LobbyInfo`] is cleaned of control characters
//!   ([`printable`]); impossible seat counts make a lobby incompatible, with
//!   the reason ([`txt`]).
//! - A lobby's name is stable once claimed: TXT updates during probing wait
//!   ([`claims`]).

pub mod advertise;
pub mod browse;
pub mod claim_ahead;
pub mod claims;
mod crowding;
mod hub;
pub mod liveness;
pub mod ping;
mod record;
mod rounds;
pub mod text;
pub mod txt;
pub mod txt_match;

pub use advertise::Advertisement;
pub use browse::{BrowseEvent, Compatibility, LobbyBrowser, LobbyInfo};
pub use claim_ahead::NameClaim;
pub use text::printable;
pub use txt::{LobbyStage, LobbyTxt, SERVICE_TYPE, TxtError};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};

use std::time::{Duration, Instant};

use mdns_sd::{DaemonEvent, IfKind, RRType, ServiceDaemon, ServiceInfo};

use self::claims::NameClaims;
use self::liveness::LivenessConfig;

/// Errors of LAN discovery.
#[derive(Debug, thiserror::Error)]
pub enum LanError {
    /// The mDNS daemon refused an operation.
    #[error("mDNS: {0}")]
    Mdns(#[from] mdns_sd::Error),
    /// The TXT record is invalid or too long.
    #[error("TXT record: {0}")]
    Txt(#[from] TxtError),
    /// A socket operation failed.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    /// The discovery hub thread has stopped.
    #[error("the discovery thread has stopped")]
    Stopped,
}

/// Which network interfaces mDNS uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Interfaces {
    /// Every interface, loopback included (the default).
    #[default]
    All,
    /// Loopback only: tests, benchmarks, several instances on one machine.
    LoopbackOnly,
    /// These interfaces by name (e.g. `"eth0"`, `"lo"`).
    Named(Vec<String>),
}

/// Which IP families mDNS uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IpFamily {
    /// IPv4 and IPv6 (the default).
    #[default]
    Both,
    /// IPv4 only.
    V4,
    /// IPv6 only.
    V6,
}

/// How the process's [`Discovery`] behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoveryConfig {
    /// Interfaces to use. Default all.
    pub interfaces: Interfaces,
    /// IP families to use. Default both.
    pub family: IpFamily,
    /// Probe a lobby name before announcing it (RFC 6762 §8.1). Default
    /// `true`: safe against name conflicts, but a running browser sees a new
    /// lobby only after about a second. `false` announces at once; names are
    /// still made unique against lobbies this process has seen.
    pub probe: bool,
    /// Liveness ping timers.
    pub liveness: LivenessConfig,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        DiscoveryConfig {
            interfaces: Interfaces::All,
            family: IpFamily::Both,
            probe: true,
            liveness: LivenessConfig::default(),
        }
    }
}

/// The process's one mDNS daemon, shared by advertising and browsing.
///
/// Create it once when the program starts: a fresh daemon's first query is
/// often missed, and the hub starts browsing at once so the list is warm when
/// the browser screen opens. Several daemons in one process fight over port
/// 5353; clone this handle instead. The daemon shuts down when the last clone
/// (and every [`Advertisement`] / [`LobbyBrowser`]) is dropped.
#[derive(Clone)]
pub struct Discovery {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Discovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discovery")
            .field("config", &self.inner.config)
            .finish()
    }
}

struct Inner {
    daemon: ServiceDaemon,
    config: DiscoveryConfig,
    /// Lower-cased instance names this process advertises.
    local_names: Mutex<BTreeSet<String>>,
    /// Lower-cased instance names seen on the network by the hub.
    seen_names: Arc<Mutex<BTreeSet<String>>>,
    hub: SyncSender<hub::HubInput>,
    /// Lower-cased original full name -> full name mdns-sd renamed it to
    /// after a conflict found while probing.
    renames: Arc<Mutex<BTreeMap<String, String>>>,
    /// Names being probed, with the TXT update waiting for each.
    claims: Arc<Mutex<NameClaims<ServiceInfo>>>,
    /// Names claimed ahead ([`Discovery::claim_name`]) no lobby took yet.
    reserved: Mutex<Vec<claim_ahead::Reserved>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.hub.send(hub::HubInput::Shutdown);
        let _ = self.daemon.shutdown();
    }
}

impl Discovery {
    /// Starts the daemon on `interfaces`, other settings default.
    pub fn new(interfaces: Interfaces) -> Result<Discovery, LanError> {
        Self::with_config(DiscoveryConfig {
            interfaces,
            ..DiscoveryConfig::default()
        })
    }

    /// Starts the daemon with `config`.
    pub fn with_config(config: DiscoveryConfig) -> Result<Discovery, LanError> {
        let daemon = ServiceDaemon::new()?;
        match &config.interfaces {
            Interfaces::All => {}
            Interfaces::LoopbackOnly => {
                daemon.disable_interface(IfKind::All)?;
                daemon.enable_interface(vec![IfKind::LoopbackV4, IfKind::LoopbackV6])?;
            }
            Interfaces::Named(names) => {
                daemon.disable_interface(IfKind::All)?;
                let kinds: Vec<IfKind> = names.iter().map(|n| IfKind::Name(n.clone())).collect();
                daemon.enable_interface(kinds)?;
            }
        }
        match config.family {
            IpFamily::Both => {}
            IpFamily::V4 => daemon.disable_interface(IfKind::IPv6)?,
            IpFamily::V6 => daemon.disable_interface(IfKind::IPv4)?,
        }
        let renames = Arc::new(Mutex::new(BTreeMap::new()));
        let claims = Arc::new(Mutex::new(NameClaims::default()));
        watch_daemon(&daemon, renames.clone(), claims.clone())?;
        let seen_names = Arc::new(Mutex::new(BTreeSet::new()));
        let hub = hub::start_hub(&daemon, config.liveness, seen_names.clone())?;
        Ok(Discovery {
            inner: Arc::new(Inner {
                daemon,
                config,
                local_names: Mutex::new(BTreeSet::new()),
                seen_names,
                hub,
                renames,
                claims,
                reserved: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The instance name a registration ended up with: mdns-sd renames a
    /// name that another host already holds ("Name (2)") while probing.
    pub(crate) fn current_instance(&self, fullname: &str) -> Option<String> {
        let renames = self.inner.renames.lock().ok()?;
        renames
            .get(&fullname.to_lowercase())
            .map(|new| hub::instance_label(new))
    }

    /// The configuration in use.
    pub fn config(&self) -> &DiscoveryConfig {
        &self.inner.config
    }

    /// The underlying mdns-sd daemon (for benchmarks and diagnostics).
    pub fn daemon(&self) -> &ServiceDaemon {
        &self.inner.daemon
    }

    /// Claims (probes) the lobby name `name` before the lobby opens, so that
    /// a lobby later advertised under the same `name` (by
    /// [`advertise`](Self::advertise), so by `LobbyHost::open`) is announced
    /// at once instead of after ~0.9 s of probing, with its name still
    /// unique. Browsers do not list the claim itself. Call it when the name
    /// is known (the Host screen opens, the player types it); drop the
    /// [`NameClaim`] to give the name back. See [`claim_ahead`].
    pub fn claim_name(&self, name: &str) -> Result<NameClaim, LanError> {
        claim_ahead::claim(self, name)
    }

    /// Advertises a lobby named `name` on `port` with `txt`. The name is made
    /// unique ("Name (2)") against lobbies this process knows; mDNS probing
    /// (when on) resolves conflicts with lobbies it does not. A name this
    /// process claimed ahead ([`claim_name`](Self::claim_name)) is taken
    /// over without a second probe.
    pub fn advertise(
        &self,
        name: &str,
        port: u16,
        txt: &LobbyTxt,
    ) -> Result<Advertisement, LanError> {
        advertise::advertise(self.clone(), name, port, txt)
    }

    /// Opens a live lobby list; lobbies of `game` at `game_version` and our
    /// protocol are compatible, others are listed as incompatible.
    pub fn browse(&self, game: &str, game_version: &str) -> Result<LobbyBrowser, LanError> {
        browse::LobbyBrowser::open(self, game, game_version)
    }
}

/// Follows the daemon's events: name changes (conflicts found while
/// probing) are recorded, and a finished probe releases the TXT update that
/// waited for it ([`claims`]).
fn watch_daemon(
    daemon: &ServiceDaemon,
    renames: Arc<Mutex<BTreeMap<String, String>>>,
    claims: Arc<Mutex<NameClaims<ServiceInfo>>>,
) -> Result<(), LanError> {
    let monitor = daemon.monitor()?;
    let daemon = daemon.clone();
    std::thread::Builder::new()
        .name("nearplay-mdns-monitor".into())
        .spawn(move || {
            loop {
                let now = Instant::now();
                let wait = claims
                    .lock()
                    .ok()
                    .and_then(|c| c.poll_timeout())
                    .map_or(Duration::from_secs(1), |t| t.saturating_duration_since(now))
                    .min(Duration::from_secs(1));
                let event = match monitor.recv_timeout(wait) {
                    Ok(event) => Some(event),
                    Err(_) if monitor.is_disconnected() => return,
                    Err(_) => None,
                };
                let finished = event.and_then(|e| probe_finished(&e, &renames));
                // Registered under the lock, so a withdrawal in between
                // cannot be undone by a late update.
                let Ok(mut claims) = claims.lock() else {
                    return;
                };
                let released = match finished {
                    Some(name) => claims.claimed(&name).into_iter().collect(),
                    None => claims.handle_timeout(Instant::now()),
                };
                for info in released {
                    let _ = daemon.register(info);
                }
            }
        })?;
    Ok(())
}

/// The original full name whose probe `event` reports finished, if any;
/// records renames on the way.
fn probe_finished(
    event: &DaemonEvent,
    renames: &Mutex<BTreeMap<String, String>>,
) -> Option<String> {
    let mut renames = renames.lock().ok()?;
    match event {
        DaemonEvent::NameChange(c) if matches!(c.rr_type, RRType::SRV | RRType::TXT) => {
            renames.insert(c.original.to_lowercase(), c.new_name.clone());
            Some(c.original.clone())
        }
        DaemonEvent::Announce(fullname, _) => {
            let original = renames
                .iter()
                .find(|(_, new)| new.eq_ignore_ascii_case(fullname))
                .map(|(original, _)| original.clone());
            Some(original.unwrap_or_else(|| fullname.clone()))
        }
        _ => None,
    }
}
