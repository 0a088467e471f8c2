//! The rendezvous client (feature `rendezvous`): create a room and get its
//! code, look rooms up, list public lobbies, and open the WebRTC link of a
//! room. No async runtime: HTTP calls are short blocking requests with a
//! timeout (call them from a menu action or a thread), and the WebRTC link
//! runs its loop on its own thread.
//!
//! The lobby itself ([`OnlineHost`], [`OnlineClient`]) runs the LAN lobby's
//! sans-IO state machines unchanged over the link's reliable data channel.

mod http;
mod poke;
mod room;

use std::time::Duration;

use nearplay_netcode::transport::webrtc::{WebRtcConfig, WebRtcLink};
use thiserror::Error;

pub use http::{HttpError, HttpResponse};
pub use room::{OnlineClient, OnlineHost, id_addr, room_request, to_webrtc_plan};

use super::api::{
    ErrorBody, Health, LobbyPage, QuickMatch, Refusal, RoomCreated, RoomInfo, RoomRequest,
};
use super::code::{CodeError, RoomCode};
use super::wire::decode_lobby_page;

/// Default time limit of one HTTP call.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(3);

/// Most `GET /lobbies` pages [`RendezvousClient::lobbies`] reads (2,000
/// rooms at the server's default page of 50): a server that pages forever
/// cannot keep a client reading.
pub const MAX_LOBBY_PAGES: usize = 40;

/// What went wrong, in words a player can be shown.
#[derive(Debug, Error)]
pub enum RendezvousError {
    /// The server could not be reached (down, wrong address, no network).
    #[error("the rendezvous server at {server} cannot be reached: {reason}")]
    Unreachable {
        /// `host:port`.
        server: String,
        /// The system's reason.
        reason: String,
    },
    /// The code names no open room.
    #[error("no room has the code {code}")]
    RoomNotFound {
        /// The code asked for.
        code: String,
    },
    /// The room is full.
    #[error("room {code} is full")]
    RoomFull {
        /// The room's code.
        code: RoomCode,
    },
    /// The host refused our password (or we gave none for a private room).
    #[error("wrong password")]
    WrongPassword,
    /// The server is shutting down.
    #[error("the rendezvous server is closing")]
    ServerClosing,
    /// The text typed is not a room code.
    #[error("not a room code: {0}")]
    BadCode(#[from] CodeError),
    /// The server URL is not `http://host:port`, `ws://host:port` or `host:port`.
    #[error("not a server address: {0}")]
    BadUrl(String),
    /// Another refusal by the server (too many rooms, rate limit, ...).
    #[error("the server refused: {message}")]
    Refused {
        /// The refusal.
        refusal: Refusal,
        /// The server's sentence.
        message: String,
    },
    /// The server answered something that is not the API.
    #[error("the server answered something unexpected (HTTP {status})")]
    Protocol {
        /// HTTP status.
        status: u16,
    },
    /// The WebRTC link failed or its loop stopped.
    #[error("connection lost: {0}")]
    Link(String),
}

/// A rendezvous server, by address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RendezvousClient {
    authority: String,
    timeout: Duration,
}

impl RendezvousClient {
    /// A client of the server at `url`: `http://host:port`, `ws://host:port`
    /// or `host:port` (no TLS: put a TLS proxy in front and use its URL for
    /// the websocket; see `docs/rendezvous.md`).
    pub fn new(url: &str) -> Result<Self, RendezvousError> {
        let rest = ["http://", "ws://"]
            .iter()
            .find_map(|p| url.strip_prefix(p))
            .unwrap_or(url);
        let authority = rest.trim_end_matches('/');
        let valid = !authority.is_empty()
            && !authority.contains('/')
            && authority
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
        if !valid {
            return Err(RendezvousError::BadUrl(url.to_owned()));
        }
        Ok(RendezvousClient {
            authority: authority.to_owned(),
            timeout: HTTP_TIMEOUT,
        })
    }

    /// The same client with another time limit per HTTP call.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// `host:port` of the server.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The websocket URL of a room (what [`WebRtcLink::connect`] takes).
    pub fn room_url(&self, code: RoomCode) -> String {
        format!("ws://{}/{code}", self.authority)
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<HttpResponse, RendezvousError> {
        http::request(&self.authority, method, path, body, self.timeout).map_err(|e| {
            RendezvousError::Unreachable {
                server: self.authority.clone(),
                reason: e.to_string(),
            }
        })
    }

    /// Creates a room; returns its code to share.
    pub fn create_room(&self, request: &RoomRequest) -> Result<RoomCode, RendezvousError> {
        let body =
            serde_json::to_vec(request).map_err(|_| RendezvousError::Protocol { status: 0 })?;
        let r = self.call("POST", "/rooms", Some(&body))?;
        let created: RoomCreated = parse(&r, "")?;
        Ok(created.code)
    }

    /// Quick match: "put me with players of this game, protocol, version and
    /// mode". Returns a public room with a free seat to join
    /// ([`OnlineClient::join`]), or a new public room the caller hosts
    /// ([`OnlineHost::host_room`]) when `host` is true.
    pub fn quick_match(&self, request: &RoomRequest) -> Result<QuickMatch, RendezvousError> {
        let body =
            serde_json::to_vec(request).map_err(|_| RendezvousError::Protocol { status: 0 })?;
        let r = self.call("POST", "/quickmatch", Some(&body))?;
        parse(&r, "")
    }

    /// A room's public view; `code` as typed by a player.
    pub fn room(&self, code: &str) -> Result<RoomInfo, RendezvousError> {
        let code: RoomCode = code.parse()?;
        let r = self.call("GET", &format!("/rooms/{code}"), None)?;
        let info: RoomInfo = parse(&r, code.as_str())?;
        // A room out of the API's bounds is not used (nor shown).
        info.check()
            .map_err(|_| RendezvousError::Protocol { status: r.status })?;
        Ok(info)
    }

    /// Public rooms of `game` (and protocol version `proto`, if given):
    /// every page, up to [`MAX_LOBBY_PAGES`], in code order. Rooms whose
    /// fields break the API's bounds are left out (see
    /// [`decode_lobby_page`]).
    pub fn lobbies(
        &self,
        game: &str,
        proto: Option<u16>,
    ) -> Result<Vec<RoomInfo>, RendezvousError> {
        let mut rooms = Vec::new();
        let mut after = None;
        for _ in 0..MAX_LOBBY_PAGES {
            let page = self.lobbies_page(game, proto, after)?;
            rooms.extend(page.rooms);
            match page.next {
                // The cursor must move forward, or a server could loop us.
                Some(next) if after.is_none_or(|a| next > a) => after = Some(next),
                _ => break,
            }
        }
        Ok(rooms)
    }

    /// One page of [`lobbies`](Self::lobbies): the public rooms after the
    /// code `after` (from the start when `None`), and the next cursor.
    pub fn lobbies_page(
        &self,
        game: &str,
        proto: Option<u16>,
        after: Option<RoomCode>,
    ) -> Result<LobbyPage, RendezvousError> {
        let mut path = format!("/lobbies?game={}", percent_encode(game));
        if let Some(p) = proto {
            path.push_str(&format!("&proto={p}"));
        }
        if let Some(a) = after {
            path.push_str(&format!("&after={a}"));
        }
        let r = self.call("GET", &path, None)?;
        if (200..300).contains(&r.status) {
            return decode_lobby_page(&r.body)
                .map_err(|_| RendezvousError::Protocol { status: r.status });
        }
        parse(&r, "")
    }

    /// The server's counters.
    pub fn health(&self) -> Result<Health, RendezvousError> {
        let r = self.call("GET", "/health", None)?;
        parse(&r, "")
    }

    /// Checks the room (so a refusal comes in words), then opens its WebRTC link.
    pub fn connect(
        &self,
        code: &str,
        webrtc: &WebRtcConfig,
    ) -> Result<(RoomInfo, WebRtcLink), RendezvousError> {
        let info = self.room(code)?;
        if info.players >= info.request.capacity() {
            return Err(RendezvousError::RoomFull { code: info.code });
        }
        let link = WebRtcLink::connect(&self.room_url(info.code), webrtc)
            .map_err(|e| RendezvousError::Link(e.to_string()))?;
        Ok((info, link))
    }

    /// Why a link to `code` ended, in words: asks the server what it knows
    /// (closing, room gone) and falls back to the link's own reason.
    pub fn explain_link_end(&self, code: RoomCode, link_reason: &str) -> RendezvousError {
        match self.health() {
            Err(e) => e,
            Ok(h) if h.status == "closing" => RendezvousError::ServerClosing,
            Ok(_) => match self.room(code.as_str()) {
                Err(e @ RendezvousError::RoomNotFound { .. }) => e,
                _ => RendezvousError::Link(link_reason.to_owned()),
            },
        }
    }
}

/// Decodes a success body, or turns an [`ErrorBody`] into words.
fn parse<T: serde::de::DeserializeOwned>(
    r: &HttpResponse,
    code: &str,
) -> Result<T, RendezvousError> {
    if (200..300).contains(&r.status) {
        return serde_json::from_slice(&r.body)
            .map_err(|_| RendezvousError::Protocol { status: r.status });
    }
    let Ok(err) = serde_json::from_slice::<ErrorBody>(&r.body) else {
        return Err(RendezvousError::Protocol { status: r.status });
    };
    Err(match err.error {
        Refusal::RoomNotFound => RendezvousError::RoomNotFound {
            code: code.to_owned(),
        },
        Refusal::RoomFull => match code.parse() {
            Ok(code) => RendezvousError::RoomFull { code },
            Err(_) => RendezvousError::Refused {
                refusal: err.error,
                message: err.message,
            },
        },
        Refusal::ServerClosing => RendezvousError::ServerClosing,
        refusal => RendezvousError::Refused {
            refusal,
            message: err.message,
        },
    })
}

/// Percent-encodes a query value (game ids are short ASCII in practice).
fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
