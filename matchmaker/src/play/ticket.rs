//! [`RejoinTicket`]: what a player needs to take its seat back after its
//! game crashed or its network dropped, saved where a restarted game finds
//! it (the user's data directory).
//!
//! The file is small and private: written atomically (a temporary file
//! created with mode 0600, flushed, then renamed over the ticket), at most
//! [`MAX_TICKET_BYTES`], with a magic and a version, and every field is
//! validated when loaded (another program, or a person, may have written
//! it). The secret never appears in `Debug` output.

use std::io::Write;
use std::path::{Path, PathBuf};

use nearplay_netcode::{MAX_PLAYERS, MatchPlan, MemberSecret};
use serde::{Deserialize, Serialize};

use crate::lobby::client::RejoinClaim;
use crate::lobby::message::{MAX_NAME_CHARS, sanitize};

/// Largest ticket file read or written, in bytes.
pub const MAX_TICKET_BYTES: usize = 1024;

/// Version of the ticket file format this crate writes and reads.
pub const TICKET_VERSION: u16 = 1;

const MAGIC: &[u8; 4] = b"NPRJ";
/// Longest lobby name kept (the DNS-SD instance name limit), in bytes.
const MAX_LOBBY_BYTES: usize = 63;
/// A fingerprint as shown: four groups of four, three dashes.
const FINGERPRINT_CHARS: usize = 19;

/// Why a ticket could not be saved or loaded.
#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    /// Reading or writing the file failed.
    #[error("ticket file: {0}")]
    Io(#[from] std::io::Error),
    /// The file is larger than [`MAX_TICKET_BYTES`].
    #[error("ticket file of {len} bytes exceeds {max}")]
    TooLarge {
        /// Its size.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The file is not a nearplay rejoin ticket.
    #[error("not a nearplay rejoin ticket")]
    NotATicket,
    /// The file was written by another version of the format.
    #[error("ticket format version {found}, this build reads {ours}")]
    Version {
        /// The file's version.
        found: u16,
        /// Ours.
        ours: u16,
    },
    /// The body does not decode, or a field is out of bounds.
    #[error("invalid ticket: {0}")]
    Invalid(&'static str),
    /// No data directory is known (neither `XDG_DATA_HOME` nor `HOME`).
    #[error("no user data directory (set XDG_DATA_HOME or HOME)")]
    NoDataDir,
    /// The plan holds no secret for our seat (a spectator's, or not a
    /// lobby's plan): there is nothing to rejoin with.
    #[error("the plan holds no member secret for this seat")]
    NoSecret,
}

/// A player's claim on its seat of a running match: the lobby, the seat
/// (handle and name) and the seat's member secret. Save it when the match
/// starts ([`Lobby::rejoin_ticket`](super::Lobby::rejoin_ticket)); after a
/// crash, load it and join with [`PlayerSettings::rejoin`](super::PlayerSettings::rejoin).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejoinTicket {
    /// The lobby's name, as listed (to find it again).
    pub lobby: String,
    /// The fingerprint of the channel to the host when the match started,
    /// as shown (for the player to recognise; each channel has its own).
    pub host_fingerprint: String,
    /// The match the seat belongs to.
    pub match_id: u64,
    /// The seat's player handle.
    pub handle: u16,
    /// The player's name in that seat.
    pub player: String,
    /// The seat's secret (redacted in `Debug`).
    pub secret: MemberSecret,
}

impl RejoinTicket {
    /// The ticket of our seat in `plan`; `None` if the plan holds no secret
    /// for it (a spectator, the host, or a plan not from a lobby).
    pub fn from_plan(plan: &MatchPlan, lobby: &str, host_fingerprint: &str) -> Option<Self> {
        let secret = plan.member_secret()?.clone();
        let player = plan.local_player()?.name.clone();
        let ticket = RejoinTicket {
            lobby: lobby.to_string(),
            host_fingerprint: host_fingerprint.to_string(),
            match_id: plan.match_id.0,
            handle: u16::try_from(plan.local_handle).ok()?,
            player,
            secret,
        };
        ticket.validate().ok()?;
        Some(ticket)
    }

    /// What a join presents to take the seat back.
    pub fn claim(&self) -> RejoinClaim {
        RejoinClaim {
            handle: self.handle,
            secret: self.secret.clone(),
        }
    }

    /// Where a ticket for `player` in `lobby` lives in the user's data
    /// directory: `$XDG_DATA_HOME/nearplay/rejoin/` (else
    /// `~/.local/share/nearplay/rejoin/`), under a name hashed from both,
    /// so any lobby or player name makes a safe file name.
    pub fn default_path(lobby: &str, player: &str) -> Result<PathBuf, TicketError> {
        let base = match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => PathBuf::from(std::env::var_os("HOME").ok_or(TicketError::NoDataDir)?)
                .join(".local/share"),
        };
        let mut h = blake3::Hasher::new();
        h.update(lobby.as_bytes());
        h.update(&[0]);
        h.update(player.as_bytes());
        let hex = h.finalize().to_hex();
        let name = format!("{}.ticket", hex.get(..16).unwrap_or_default());
        Ok(base.join("nearplay").join("rejoin").join(name))
    }

    /// Writes the ticket at `path` atomically with mode 0600 (its directory
    /// is created, mode 0700, if missing).
    pub fn save(&self, path: &Path) -> Result<(), TicketError> {
        self.validate()?;
        let body = postcard::to_allocvec(self).map_err(|_| TicketError::Invalid("encode"))?;
        let mut bytes = Vec::with_capacity(6 + body.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&TICKET_VERSION.to_le_bytes());
        bytes.extend_from_slice(&body);
        if bytes.len() > MAX_TICKET_BYTES {
            return Err(TicketError::TooLarge {
                len: bytes.len() as u64,
                max: MAX_TICKET_BYTES,
            });
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir)?;
        }
        write_private_atomically(path, &bytes)?;
        Ok(())
    }

    /// Reads and checks the ticket at `path`: size, magic, version, and
    /// every field (names clean and bounded, a handle a match can have).
    pub fn load(path: &Path) -> Result<Self, TicketError> {
        let len = std::fs::metadata(path)?.len();
        if len > MAX_TICKET_BYTES as u64 {
            return Err(TicketError::TooLarge {
                len,
                max: MAX_TICKET_BYTES,
            });
        }
        let bytes = std::fs::read(path)?;
        Self::decode(&bytes)
    }

    /// Checks and decodes a ticket file's bytes (what [`load`](Self::load)
    /// read).
    pub fn decode(bytes: &[u8]) -> Result<Self, TicketError> {
        if bytes.len() > MAX_TICKET_BYTES {
            return Err(TicketError::TooLarge {
                len: bytes.len() as u64,
                max: MAX_TICKET_BYTES,
            });
        }
        let (magic, rest) = bytes.split_at_checked(4).ok_or(TicketError::NotATicket)?;
        if magic != MAGIC {
            return Err(TicketError::NotATicket);
        }
        let (version, body) = rest.split_at_checked(2).ok_or(TicketError::NotATicket)?;
        let found = u16::from_le_bytes([
            version.first().copied().unwrap_or_default(),
            version.get(1).copied().unwrap_or_default(),
        ]);
        if found != TICKET_VERSION {
            return Err(TicketError::Version {
                found,
                ours: TICKET_VERSION,
            });
        }
        let (ticket, left): (RejoinTicket, _) =
            postcard::take_from_bytes(body).map_err(|_| TicketError::Invalid("body"))?;
        if !left.is_empty() {
            return Err(TicketError::Invalid("trailing bytes"));
        }
        ticket.validate()?;
        Ok(ticket)
    }

    fn validate(&self) -> Result<(), TicketError> {
        let clean = |s: &str, max_chars: usize| sanitize(s, max_chars) == s && !s.is_empty();
        if !clean(&self.lobby, MAX_LOBBY_BYTES) || self.lobby.len() > MAX_LOBBY_BYTES {
            return Err(TicketError::Invalid("lobby name"));
        }
        // Names the host made unique may carry a " (2)" suffix.
        if !clean(&self.player, MAX_NAME_CHARS + 8) {
            return Err(TicketError::Invalid("player name"));
        }
        let fingerprint_ok = self.host_fingerprint.chars().count() <= FINGERPRINT_CHARS
            && self
                .host_fingerprint
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !fingerprint_ok {
            return Err(TicketError::Invalid("fingerprint"));
        }
        if usize::from(self.handle) >= MAX_PLAYERS {
            return Err(TicketError::Invalid("handle"));
        }
        Ok(())
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// `bytes` at `path`: a temporary file beside it created with mode 0600
/// (never readable by others, not even for a moment), flushed, renamed.
fn write_private_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "rejoin.ticket".into());
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&temp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&temp, path));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    renamed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket() -> RejoinTicket {
        RejoinTicket {
            lobby: "Den".into(),
            host_fingerprint: "7K2Q-M9XD-4TRB-0ZHC".into(),
            match_id: 42,
            handle: 1,
            player: "Bo".into(),
            secret: MemberSecret([7; 32]),
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "nearplay-ticket-{}-{name}-{}",
            std::process::id(),
            nearplay_netcode::MatchId::random()
        ));
        dir.join("sub").join("t.ticket")
    }

    #[test]
    fn saves_private_and_loads_back() {
        let path = scratch("roundtrip");
        ticket().save(&path).expect("save");
        assert_eq!(RejoinTicket::load(&path).expect("load"), ticket());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!format!("{:?}", ticket()).contains("7, 7, 7"));
        let _ = std::fs::remove_dir_all(path.parent().and_then(Path::parent).expect("dir"));
    }

    #[test]
    fn refuses_garbage_truncated_tampered_and_large_files() {
        let path = scratch("garbage");
        ticket().save(&path).expect("save");
        let good = std::fs::read(&path).expect("read");
        for cut in 0..good.len() {
            assert!(RejoinTicket::decode(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut other = good.clone();
        other[4] = 9;
        assert!(matches!(
            RejoinTicket::decode(&other),
            Err(TicketError::Version { found: 9, .. })
        ));
        let mut evil = ticket();
        evil.player = "Bo\u{1b}[31m".into();
        let body = postcard::to_allocvec(&evil).expect("encode");
        let mut bytes = good[..6].to_vec();
        bytes.extend_from_slice(&body);
        assert!(matches!(
            RejoinTicket::decode(&bytes),
            Err(TicketError::Invalid("player name"))
        ));
        let mut seat = ticket();
        seat.handle = 999;
        assert!(seat.save(&path).is_err());
        std::fs::write(&path, vec![0u8; MAX_TICKET_BYTES + 1]).expect("write");
        assert!(matches!(
            RejoinTicket::load(&path),
            Err(TicketError::TooLarge { .. })
        ));
        let mut seed = 1u64;
        for _ in 0..2000 {
            let mut junk = good.clone();
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            let i = (seed >> 33) as usize % junk.len();
            junk[i] ^= (seed >> 13) as u8 | 1;
            let _ = RejoinTicket::decode(&junk);
        }
        let _ = std::fs::remove_dir_all(path.parent().and_then(Path::parent).expect("dir"));
    }

    #[test]
    fn default_path_is_in_the_data_dir_under_a_safe_name() {
        let p = RejoinTicket::default_path("../../etc", "a/b").expect("path");
        let name = p.file_name().and_then(|n| n.to_str()).expect("name");
        assert!(name.ends_with(".ticket") && !name.contains('/') && !name.contains(".."));
        assert!(p.parent().expect("dir").ends_with("nearplay/rejoin"));
    }
}
