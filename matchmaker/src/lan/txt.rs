//! The DNS-SD TXT record of a lobby (design.md): schema, encoding, checked
//! parsing.
//!
//! Keys: `txtvers=1`, `proto`, `game`, `ver`, `n`, `max`, `pw` (0/1), `mode`,
//! during a match `st` and `free` (see [`super::txt_match`]), plus
//! game-defined extras. The whole record stays under
//! [`MAX_TXT_BYTES`] so it fits one mDNS packet comfortably (RFC 6763 §6.2).
//!
//! Parsing checks what a screen uses: seats `max` in
//! [`MIN_SEATS`]`..=`[`MAX_SEATS`] and `n <= max`, else a typed error (the
//! browser lists such a lobby as incompatible, with the reason). Values are
//! kept as they came; [`super::browse`] cleans them of control characters
//! before they reach a person, and errors quote them cleaned.

use super::text::printable;
pub use super::txt_match::LobbyStage;
use super::txt_match::{check_vacant, parse_vacant};
use crate::lobby::host::HostConfig;
use crate::lobby::message::PROTOCOL_VERSION;

/// The DNS-SD service type of nearplay lobbies.
pub const SERVICE_TYPE: &str = "_nearplay._udp.local.";

/// Value of the `txtvers` key this crate writes and reads.
pub const TXT_VERSION: &str = "1";

/// Upper bound on the encoded TXT record, in bytes.
pub const MAX_TXT_BYTES: usize = 200;

/// Fewest seats a lobby may advertise (`max`).
pub const MIN_SEATS: u16 = 2;

/// Most seats a lobby may advertise (`max`): the most players a match plan
/// may hold.
pub const MAX_SEATS: u16 = 16;

const RESERVED: [&str; 10] = [
    "txtvers", "proto", "game", "ver", "n", "max", "pw", "mode", "st", "free",
];

/// Why a TXT record was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TxtError {
    /// A required key is absent.
    #[error("TXT key {0:?} is missing")]
    Missing(&'static str),
    /// A key has a value that does not parse.
    #[error("TXT key {key:?} has an invalid value {value:?}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// The value, lossily decoded.
        value: String,
    },
    /// The record uses a schema version we do not know.
    #[error("unsupported TXT schema version {0:?}")]
    UnsupportedVersion(String),
    /// The encoded record would exceed the size budget.
    #[error("TXT record of {len} bytes exceeds {max} bytes")]
    TooLong {
        /// Encoded length.
        len: usize,
        /// The budget.
        max: usize,
    },
    /// An extra key is reserved, empty, not printable ASCII, or contains `=`.
    #[error("invalid TXT key {0:?}")]
    BadKey(String),
    /// Raw TXT bytes are truncated (a length byte points past the end).
    #[error("truncated TXT record")]
    Truncated,
    /// The running match claims more vacant seats than it has room for.
    #[error("lobby claims {vacant} vacant seats beside {players} players of {max}")]
    Vacant {
        /// Vacant seats claimed (`free`).
        vacant: usize,
        /// Players claimed (`n`).
        players: u16,
        /// Seats claimed (`max`).
        max: u16,
    },
    /// The seat counts are impossible: `max` outside
    /// [`MIN_SEATS`]`..=`[`MAX_SEATS`], or more players than seats.
    #[error(
        "lobby claims {players} players of {max} seats (seats must be 2 to 16, players at most seats)"
    )]
    Seats {
        /// Players claimed (`n`).
        players: u16,
        /// Seats claimed (`max`).
        max: u16,
    },
}

/// The parsed TXT record of a lobby.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LobbyTxt {
    /// Lobby protocol version (`proto`).
    pub proto: u16,
    /// Game id (`game`).
    pub game: String,
    /// Game version (`ver`).
    pub game_version: String,
    /// Players in the lobby (`n`).
    pub players: u16,
    /// Player limit (`max`).
    pub max_players: u16,
    /// Whether a password is needed (`pw`).
    pub password: bool,
    /// Game mode (`mode`).
    pub mode: String,
    /// Where the lobby is: taking joins, or in a match (`st`).
    pub stage: LobbyStage,
    /// Names of the running match's vacant seats, waiting for their
    /// players to rejoin (`free`); cleaned and bounded when parsed.
    pub vacant: Vec<String>,
    /// Game-defined keys, in record order.
    pub extras: Vec<(String, String)>,
}

impl LobbyTxt {
    /// The record a host advertises with `players` members present.
    pub fn for_host(config: &HostConfig, players: usize, extras: &[(String, String)]) -> Self {
        LobbyTxt {
            proto: PROTOCOL_VERSION,
            game: config.game.clone(),
            game_version: config.game_version.clone(),
            players: u16::try_from(players).unwrap_or(u16::MAX),
            max_players: config.max_players,
            password: config.password.is_some(),
            mode: config.mode.clone(),
            stage: LobbyStage::Open,
            vacant: Vec::new(),
            extras: extras.to_vec(),
        }
    }

    /// Key/value pairs in record order, after checking keys, seats and size.
    pub fn to_pairs(&self) -> Result<Vec<(String, String)>, TxtError> {
        check_seats(self.players, self.max_players)?;
        check_vacant(self.players, self.max_players, self.vacant.len())?;
        let mut pairs = self.required_pairs();
        pairs.extend(self.match_pairs());
        for (k, v) in &self.extras {
            let printable = k.bytes().all(|b| (0x20..=0x7e).contains(&b) && b != b'=');
            if k.is_empty() || !printable || RESERVED.contains(&k.as_str()) {
                return Err(TxtError::BadKey(k.clone()));
            }
            pairs.push((k.clone(), v.clone()));
        }
        let len: usize = pairs.iter().map(|(k, v)| 1 + k.len() + 1 + v.len()).sum();
        let too_long_string = pairs.iter().any(|(k, v)| k.len() + 1 + v.len() > 255);
        if len > MAX_TXT_BYTES || too_long_string {
            return Err(TxtError::TooLong {
                len,
                max: MAX_TXT_BYTES,
            });
        }
        Ok(pairs)
    }

    /// Length of the record as DNS TXT RDATA, without any check: what a
    /// sender paid at least to put this record on the wire.
    pub fn encoded_len(&self) -> usize {
        self.required_pairs()
            .iter()
            .chain(&self.match_pairs())
            .chain(&self.extras)
            .map(|(k, v)| 1 + k.len() + 1 + v.len())
            .sum()
    }

    fn required_pairs(&self) -> Vec<(String, String)> {
        vec![
            ("txtvers".to_string(), TXT_VERSION.to_string()),
            ("proto".to_string(), self.proto.to_string()),
            ("game".to_string(), self.game.clone()),
            ("ver".to_string(), self.game_version.clone()),
            ("n".to_string(), self.players.to_string()),
            ("max".to_string(), self.max_players.to_string()),
            (
                "pw".to_string(),
                if self.password { "1" } else { "0" }.to_string(),
            ),
            ("mode".to_string(), self.mode.clone()),
        ]
    }

    /// Encodes the record as DNS TXT RDATA (length-prefixed strings).
    pub fn to_rdata(&self) -> Result<Vec<u8>, TxtError> {
        let mut out = Vec::new();
        for (k, v) in self.to_pairs()? {
            let entry = format!("{k}={v}");
            let len = u8::try_from(entry.len()).map_err(|_| TxtError::TooLong {
                len: entry.len(),
                max: 255,
            })?;
            out.push(len);
            out.extend_from_slice(entry.as_bytes());
        }
        Ok(out)
    }

    /// Parses DNS TXT RDATA (what goes on the wire).
    pub fn from_rdata(mut bytes: &[u8]) -> Result<Self, TxtError> {
        let mut entries: Vec<(&[u8], Option<&[u8]>)> = Vec::new();
        while let Some((&len, rest)) = bytes.split_first() {
            let len = usize::from(len);
            let entry = rest.get(..len).ok_or(TxtError::Truncated)?;
            bytes = rest.get(len..).unwrap_or_default();
            match entry.iter().position(|&b| b == b'=') {
                Some(i) => entries.push((entry.get(..i).unwrap_or_default(), entry.get(i + 1..))),
                None => entries.push((entry, None)),
            }
        }
        Self::from_pairs(entries)
    }

    /// Parses key/value pairs (as mdns-sd hands them over). A key seen twice
    /// keeps its first value (RFC 6763 §6.4); keys compare case-insensitively.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a [u8], Option<&'a [u8]>)>,
    ) -> Result<Self, TxtError> {
        let mut known: [Option<String>; 10] = Default::default();
        let mut extras: Vec<(String, String)> = Vec::new();
        for (key, value) in pairs {
            let key = String::from_utf8_lossy(key).to_ascii_lowercase();
            let value = String::from_utf8_lossy(value.unwrap_or_default()).into_owned();
            if key.is_empty() {
                continue;
            }
            match RESERVED.iter().position(|r| *r == key) {
                Some(i) => {
                    if let Some(slot) = known.get_mut(i)
                        && slot.is_none()
                    {
                        *slot = Some(value);
                    }
                }
                None if extras.iter().all(|(k, _)| *k != key) => extras.push((key, value)),
                None => {}
            }
        }
        let [txtvers, proto, game, ver, n, max, pw, mode, st, free] = known;
        let txtvers = txtvers.ok_or(TxtError::Missing("txtvers"))?;
        if txtvers != TXT_VERSION {
            return Err(TxtError::UnsupportedVersion(printable(&txtvers)));
        }
        let players = parse_num("n", n)?;
        let max_players = parse_num("max", max)?;
        check_seats(players, max_players)?;
        let stage = LobbyStage::parse(st.as_deref())?;
        // Vacant seats mean something only in a match (and are written only
        // then, so a parsed record encodes back to itself).
        let vacant = match stage.in_match() {
            true => parse_vacant(free.as_deref()),
            false => Vec::new(),
        };
        check_vacant(players, max_players, vacant.len())?;
        Ok(LobbyTxt {
            proto: parse_num("proto", proto)?,
            game: game.ok_or(TxtError::Missing("game"))?,
            game_version: ver.ok_or(TxtError::Missing("ver"))?,
            players,
            max_players,
            password: match pw.as_deref() {
                Some("0") => false,
                Some("1") => true,
                Some(other) => {
                    return Err(TxtError::Invalid {
                        key: "pw",
                        value: printable(other),
                    });
                }
                None => return Err(TxtError::Missing("pw")),
            },
            mode: mode.unwrap_or_default(),
            stage,
            vacant,
            extras,
        })
    }

    /// The value of a game-defined key.
    pub fn extra(&self, key: &str) -> Option<&str> {
        self.extras
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

fn parse_num(key: &'static str, value: Option<String>) -> Result<u16, TxtError> {
    let value = value.ok_or(TxtError::Missing(key))?;
    value.parse().map_err(|_| TxtError::Invalid {
        key,
        value: printable(&value),
    })
}

fn check_seats(players: u16, max: u16) -> Result<(), TxtError> {
    if (MIN_SEATS..=MAX_SEATS).contains(&max) && players <= max {
        Ok(())
    } else {
        Err(TxtError::Seats { players, max })
    }
}
