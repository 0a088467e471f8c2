//! Claiming a lobby's name ahead of time: [`Discovery::claim_name`].
//!
//! RFC 6762 probing (on by default) holds a new lobby back for most of a
//! second while mDNS makes sure nobody else uses its name: a browser that is
//! already open lists it ~0.86 s after the player pressed Host
//! (`benches/discovery.rs`). The name is usually known earlier (typed in the
//! Host screen, or the player's name), so a game can claim it then: the
//! claim registers a record under that name, probed like a lobby, that
//! browsers skip (its TXT holds only [`CLAIM_KEY`]). When the lobby opens
//! under the same name ([`Discovery::advertise`], and so `LobbyHost::open`),
//! it takes the claim over: the lobby's records replace the claim's without
//! a second probe and are announced at once. Until then the claim defends
//! the name like any mDNS record (it answers other hosts' probes), so the
//! name stays unique.
//!
//! A claim that is dropped unused is withdrawn (mDNS goodbye). A lobby that
//! opens while its claim is still probing waits for the probe like any
//! update ([`super::claims`]).

use std::time::Instant;

use mdns_sd::ServiceInfo;

use super::advertise::{hostname_label, unique_name};
use super::txt::SERVICE_TYPE;
use super::{Discovery, LanError};

/// The TXT key of a name claim: a record that holds a lobby name and is not
/// a lobby. Browsers skip records that carry it.
pub const CLAIM_KEY: &str = "np-claim";

/// The SRV port of a claim (the discard port: nothing is served there; the
/// lobby's own record names its port).
const CLAIM_PORT: u16 = 9;

/// A name this process claimed and no lobby has taken over yet.
#[derive(Debug)]
pub(crate) struct Reserved {
    /// [`claim_key`] of the name asked for.
    pub key: String,
    /// The instance name registered (made unique against known names).
    pub instance: String,
    /// Its full DNS-SD name.
    pub fullname: String,
}

/// The key claims are found by: the name a lobby asks for, as
/// [`Discovery::advertise`] receives it.
pub(crate) fn claim_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// A lobby name held ahead of hosting (see the module docs). Dropping it
/// withdraws the claim, unless a lobby has taken it over.
pub struct NameClaim {
    discovery: Discovery,
    instance: String,
    fullname: String,
}

impl std::fmt::Debug for NameClaim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NameClaim")
            .field("instance", &self.instance)
            .finish()
    }
}

pub(crate) fn claim(discovery: &Discovery, name: &str) -> Result<NameClaim, LanError> {
    let inner = &discovery.inner;
    let instance = {
        let mut local = inner.local_names.lock().map_err(|_| LanError::Stopped)?;
        let seen = inner.seen_names.lock().map_err(|_| LanError::Stopped)?;
        let instance = unique_name(name, |n| {
            let n = n.to_lowercase();
            local.contains(&n) || seen.contains(&n)
        });
        local.insert(instance.to_lowercase());
        instance
    };
    let host = format!("{}.local.", hostname_label(&instance));
    let pairs = [(CLAIM_KEY, "1")];
    let mut info = ServiceInfo::new(SERVICE_TYPE, &instance, &host, "", CLAIM_PORT, &pairs[..])?
        .enable_addr_auto();
    let probe = inner.config.probe;
    info.set_requires_probe(probe);
    let fullname = info.get_fullname().to_string();
    let claim = NameClaim {
        discovery: discovery.clone(),
        instance: instance.clone(),
        fullname: fullname.clone(),
    };
    {
        let mut claims = inner.claims.lock().map_err(|_| LanError::Stopped)?;
        let fallback = probe.then(|| {
            let mut f = info.clone();
            f.set_requires_probe(false);
            f
        });
        claims.registered(&fullname, Instant::now(), fallback);
        inner.daemon.register(info)?;
    }
    let mut reserved = inner.reserved.lock().map_err(|_| LanError::Stopped)?;
    reserved.push(Reserved {
        key: claim_key(name),
        instance,
        fullname,
    });
    Ok(claim)
}

impl NameClaim {
    /// The instance name held: the one asked for, made unique against names
    /// this process knows, or renamed by mDNS probing after a conflict.
    pub fn instance_name(&self) -> String {
        self.discovery
            .current_instance(&self.fullname)
            .unwrap_or_else(|| self.instance.clone())
    }

    /// Whether probing has finished: a lobby opened under this name from now
    /// on is announced at once.
    pub fn is_claimed(&self) -> bool {
        self.discovery
            .inner
            .claims
            .lock()
            .is_ok_and(|c| c.is_claimed(&self.fullname))
    }
}

impl Drop for NameClaim {
    fn drop(&mut self) {
        let inner = &self.discovery.inner;
        let Ok(mut reserved) = inner.reserved.lock() else {
            return;
        };
        // Taken over by a lobby: the name is the lobby's now.
        let Some(at) = reserved.iter().position(|r| r.fullname == self.fullname) else {
            return;
        };
        reserved.remove(at);
        drop(reserved);
        if let Ok(mut claims) = inner.claims.lock() {
            claims.remove(&self.fullname);
        }
        let _ = inner.daemon.unregister(&self.fullname);
        if let Ok(mut local) = inner.local_names.lock() {
            local.remove(&self.instance.to_lowercase());
        }
    }
}

/// The oldest claim of `name` not yet taken, now the caller's.
pub(crate) fn take_reserved(discovery: &Discovery, name: &str) -> Option<Reserved> {
    let mut reserved = discovery.inner.reserved.lock().ok()?;
    let key = claim_key(name);
    let at = reserved.iter().position(|r| r.key == key)?;
    Some(reserved.remove(at))
}
