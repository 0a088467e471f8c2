//! Registering a lobby as `_nearplay._udp.local.`: unique names, TXT updates,
//! goodbye on close.
//!
//! The name is stable once claimed: a TXT update while mDNS still probes the
//! name (a member joined in the lobby's first second) waits for the probe to
//! finish ([`super::claims`]); announced earlier, it would make the probe
//! rename our own lobby "NAME (2)".

use std::time::Instant;

use mdns_sd::ServiceInfo;

use super::txt::{LobbyTxt, SERVICE_TYPE};
use super::{Discovery, LanError};

/// Longest DNS-SD instance name, in bytes (RFC 6763 §4.1.1).
pub const MAX_INSTANCE_BYTES: usize = 63;

/// A registered lobby. Dropping it (or [`unregister`](Self::unregister))
/// sends the mDNS goodbye, so browsers drop the lobby at once.
pub struct Advertisement {
    discovery: Discovery,
    instance: String,
    fullname: String,
    port: u16,
    registered: bool,
}

impl std::fmt::Debug for Advertisement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Advertisement")
            .field("instance", &self.instance)
            .field("port", &self.port)
            .finish()
    }
}

pub(crate) fn advertise(
    discovery: Discovery,
    name: &str,
    port: u16,
    txt: &LobbyTxt,
) -> Result<Advertisement, LanError> {
    // A name claimed ahead: its records are replaced by the lobby's, with
    // no second probe (the update waits if the claim still probes).
    if let Some(claimed) = super::claim_ahead::take_reserved(&discovery, name) {
        let mut ad = Advertisement {
            discovery,
            instance: claimed.instance,
            fullname: claimed.fullname,
            port,
            registered: true,
        };
        ad.register(txt, false)?;
        return Ok(ad);
    }
    let instance = {
        let mut local = discovery
            .inner
            .local_names
            .lock()
            .map_err(|_| LanError::Stopped)?;
        let seen = discovery
            .inner
            .seen_names
            .lock()
            .map_err(|_| LanError::Stopped)?;
        let name = unique_name(name, |n| {
            let n = n.to_lowercase();
            local.contains(&n) || seen.contains(&n)
        });
        local.insert(name.to_lowercase());
        name
    };
    let mut ad = Advertisement {
        discovery,
        instance,
        fullname: String::new(),
        port,
        registered: false,
    };
    ad.register(txt, ad.discovery.inner.config.probe)?;
    Ok(ad)
}

/// `wanted`, cut to fit the instance-name limit, with " (N)" appended from 2
/// on while `taken` says the name is in use.
pub fn unique_name(wanted: &str, taken: impl Fn(&str) -> bool) -> String {
    let base = truncate(wanted.trim(), MAX_INSTANCE_BYTES);
    let base = if base.is_empty() {
        "nearplay lobby"
    } else {
        base
    };
    if !taken(base) {
        return base.to_string();
    }
    for i in 2u32.. {
        let suffix = format!(" ({i})");
        let name = format!(
            "{}{suffix}",
            truncate(base, MAX_INSTANCE_BYTES - suffix.len())
        );
        if !taken(&name) {
            return name;
        }
    }
    base.to_string()
}

fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

impl Advertisement {
    /// The instance name advertised, with a suffix if it was made unique
    /// before registering or renamed by mDNS probing after a conflict.
    pub fn instance_name(&self) -> String {
        self.discovery
            .current_instance(&self.fullname)
            .unwrap_or_else(|| self.instance.clone())
    }

    /// The full DNS-SD name, `<instance>._nearplay._udp.local.`.
    pub fn fullname(&self) -> &str {
        &self.fullname
    }

    /// Whether mDNS has finished probing the name (announced it, or renamed
    /// it after a conflict with another host). Until then
    /// [`update`](Self::update)s wait.
    pub fn name_claimed(&self) -> bool {
        self.discovery
            .inner
            .claims
            .lock()
            .is_ok_and(|c| c.is_claimed(&self.fullname))
    }

    /// Replaces the TXT record (e.g. when the roster changes). While the
    /// name is still being probed the new record waits (only the latest is
    /// kept) and is announced as soon as the name is claimed.
    pub fn update(&mut self, txt: &LobbyTxt) -> Result<(), LanError> {
        // The name is ours already: no second probe.
        self.register(txt, false)
    }

    /// Withdraws the lobby (mDNS goodbye).
    pub fn unregister(mut self) {
        self.withdraw();
    }

    fn register(&mut self, txt: &LobbyTxt, probe: bool) -> Result<(), LanError> {
        let pairs = txt.to_pairs()?;
        let host = format!("{}.local.", hostname_label(&self.instance));
        let mut info = ServiceInfo::new(
            SERVICE_TYPE,
            &self.instance,
            &host,
            "",
            self.port,
            pairs.as_slice(),
        )?
        .enable_addr_auto();
        info.set_requires_probe(probe);
        self.fullname = info.get_fullname().to_string();
        let mut claims = self
            .discovery
            .inner
            .claims
            .lock()
            .map_err(|_| LanError::Stopped)?;
        if self.registered {
            // An update: it waits while the first registration probes.
            if let Some(info) = claims.update(&self.fullname, info) {
                self.discovery.inner.daemon.register(info)?;
            }
            return Ok(());
        }
        // Announced without probe if the daemon never reports the probe done.
        let fallback = probe.then(|| {
            let mut f = info.clone();
            f.set_requires_probe(false);
            f
        });
        claims.registered(&self.fullname, Instant::now(), fallback);
        self.discovery.inner.daemon.register(info)?;
        self.registered = true;
        Ok(())
    }

    fn withdraw(&mut self) {
        if !self.registered {
            return;
        }
        self.registered = false;
        // Under the claims lock: no held update is registered after this.
        let claims = self.discovery.inner.claims.lock();
        if let Ok(mut claims) = claims {
            claims.remove(&self.fullname);
            let _ = self.discovery.inner.daemon.unregister(&self.fullname);
        } else {
            let _ = self.discovery.inner.daemon.unregister(&self.fullname);
        }
        if let Ok(mut local) = self.discovery.inner.local_names.lock() {
            local.remove(&self.instance.to_lowercase());
        }
    }
}

impl Drop for Advertisement {
    fn drop(&mut self) {
        self.withdraw();
    }
}

/// A host-name label unique to this lobby, so two lobbies on one machine do
/// not fight over address records: `np-<hash of instance>-<pid>`.
pub(crate) fn hostname_label(instance: &str) -> String {
    let hash = blake3::hash(instance.as_bytes());
    let hex: String = hash
        .as_bytes()
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("np-{hex}-{}", std::process::id())
}
