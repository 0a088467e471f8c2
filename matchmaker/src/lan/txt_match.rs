//! The TXT keys of a lobby whose match runs (protocol 4): `st` says where
//! the lobby is (`open`, `match`, or `late` for a match that takes
//! newcomers), `free` lists the names of the match's vacant seats, comma
//! separated, so a browser can show "in match - Bo's seat free".
//!
//! Parsing is as strict as for the other keys: an unknown `st` refuses the
//! record; `free` names are cleaned of control characters, cut to
//! [`MAX_NAME_CHARS`] characters, at most [`MAX_SEATS`] of them, and
//! players plus vacant seats may not exceed `max`.

use super::text::printable;
use super::txt::{LobbyTxt, MAX_SEATS, MAX_TXT_BYTES, TxtError};
use crate::lobby::message::MAX_NAME_CHARS;

/// Where an advertised lobby is in its life (TXT key `st`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LobbyStage {
    /// Taking joins before a match (`st=open`, or no `st`).
    #[default]
    Open,
    /// A match runs; only its own players may take their seats back
    /// (`st=match`).
    InMatch,
    /// A match runs and newcomers may take its free seats (`st=late`).
    LateJoin,
}

impl LobbyStage {
    fn as_str(self) -> &'static str {
        match self {
            LobbyStage::Open => "open",
            LobbyStage::InMatch => "match",
            LobbyStage::LateJoin => "late",
        }
    }

    pub(super) fn parse(value: Option<&str>) -> Result<Self, TxtError> {
        match value {
            None | Some("open") => Ok(LobbyStage::Open),
            Some("match") => Ok(LobbyStage::InMatch),
            Some("late") => Ok(LobbyStage::LateJoin),
            Some(other) => Err(TxtError::Invalid {
                key: "st",
                value: printable(other),
            }),
        }
    }

    /// Whether a match runs.
    pub fn in_match(self) -> bool {
        self != LobbyStage::Open
    }
}

/// The `free` value's names, cleaned and bounded.
pub(super) fn parse_vacant(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(|n| {
            printable(n)
                .chars()
                .take(MAX_NAME_CHARS)
                .collect::<String>()
                .trim()
                .to_string()
        })
        .filter(|n| !n.is_empty())
        .take(usize::from(MAX_SEATS) + 1)
        .collect()
}

/// Players and vacant seats together fit the seats.
pub(super) fn check_vacant(players: u16, max: u16, vacant: usize) -> Result<(), TxtError> {
    let fits = vacant <= usize::from(MAX_SEATS)
        && usize::from(players).saturating_add(vacant) <= usize::from(max);
    if fits {
        Ok(())
    } else {
        Err(TxtError::Vacant {
            vacant,
            players,
            max,
        })
    }
}

impl LobbyTxt {
    /// `st` and `free`, when a match runs (an open lobby writes neither, as
    /// before protocol 4).
    pub(super) fn match_pairs(&self) -> Vec<(String, String)> {
        if !self.stage.in_match() {
            return Vec::new();
        }
        let mut pairs = vec![("st".to_string(), self.stage.as_str().to_string())];
        if !self.vacant.is_empty() {
            pairs.push(("free".to_string(), self.vacant.join(",")));
        }
        pairs
    }

    /// This record during a match: `stage`, and as many of `vacant` (names
    /// with commas removed) as fit [`MAX_TXT_BYTES`]; `players` are the
    /// members present.
    pub fn in_match(mut self, stage: LobbyStage, vacant: &[String]) -> Self {
        self.stage = stage;
        self.vacant = vacant
            .iter()
            .map(|n| n.replace(',', ""))
            .filter(|n| !n.is_empty())
            .collect();
        while !self.vacant.is_empty() && self.encoded_len() > MAX_TXT_BYTES {
            self.vacant.pop();
        }
        self
    }
}
