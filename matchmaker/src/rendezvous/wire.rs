//! The rendezvous decoders of network bytes, pure and compiled without any
//! feature so the fuzz targets (`rendezvous_http_response`,
//! `rendezvous_signal`) reach them without tokio, axum or WebRTC:
//!
//! | decoder | caller | size limit | version check |
//! |---|---|---|---|
//! | [`parse_response`] | the client's HTTP calls (feature `rendezvous`) | [`MAX_RESPONSE`] | `HTTP/1.x` status line |
//! | [`decode_signal`] | the server's websocket loop (feature `server`) | `Limits::max_message_bytes` (default [`MAX_SIGNAL_BYTES`]) | none in matchbox's format |
//! | [`decode_lobby_page`] | the client's `GET /lobbies` (feature `rendezvous`) | [`MAX_RESPONSE`], [`MAX_PAGE_ROOMS`] rooms | the page's JSON shape |
//!
//! Both return errors on anything malformed, never panic.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::api::{LobbyPage, MAX_PAGE_ROOMS, Refusal};

/// The largest HTTP answer the client reads (a lobby list of a few hundred
/// rooms fits).
pub const MAX_RESPONSE: usize = 1 << 20;

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// No connection, a timeout, or a reset.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The answer is not HTTP/1.1 as expected.
    #[error("malformed HTTP answer")]
    Malformed,
}

/// An answer: status code and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

/// Parses a complete `Connection: close` answer of at most [`MAX_RESPONSE`]
/// bytes: status line `HTTP/1.x NNN`, then a body by `Content-Length`,
/// `Transfer-Encoding: chunked`, or up to the end. The body is never longer
/// than `raw`.
pub fn parse_response(raw: &[u8]) -> Result<HttpResponse, HttpError> {
    if raw.len() > MAX_RESPONSE {
        return Err(HttpError::Malformed);
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or(HttpError::Malformed)?;
    let head = std::str::from_utf8(raw.get(..split).ok_or(HttpError::Malformed)?)
        .map_err(|_| HttpError::Malformed)?;
    let rest = raw.get(split + 4..).ok_or(HttpError::Malformed)?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or(HttpError::Malformed)?;
    let mut parts = status_line.split(' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(HttpError::Malformed);
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or(HttpError::Malformed)?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked") {
            chunked = true;
        } else if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        }
    }
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(n) = length {
        rest.get(..n).ok_or(HttpError::Malformed)?.to_vec()
    } else {
        rest.to_vec()
    };
    Ok(HttpResponse { status, body })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, HttpError> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or(HttpError::Malformed)?;
        let size_text = std::str::from_utf8(data.get(..line_end).ok_or(HttpError::Malformed)?)
            .map_err(|_| HttpError::Malformed)?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| HttpError::Malformed)?;
        let start = line_end + 2;
        if size == 0 {
            return Ok(out);
        }
        let end = start.checked_add(size).ok_or(HttpError::Malformed)?;
        out.extend_from_slice(data.get(start..end).ok_or(HttpError::Malformed)?);
        data = data.get(end + 2..).ok_or(HttpError::Malformed)?;
    }
}

/// Decodes one `GET /lobbies` page (a success body): at most
/// [`MAX_RESPONSE`] bytes and [`MAX_PAGE_ROOMS`] rooms, else
/// [`HttpError::Malformed`]. A room that breaks a bound (a field past its
/// length or with control characters, more players than seats, a host id
/// that is not 32 hex digits) is left out, not trusted: a hostile server
/// cannot put a 1 MiB name on a player's screen.
pub fn decode_lobby_page(body: &[u8]) -> Result<LobbyPage, HttpError> {
    if body.len() > MAX_RESPONSE {
        return Err(HttpError::Malformed);
    }
    let mut page: LobbyPage = serde_json::from_slice(body).map_err(|_| HttpError::Malformed)?;
    if page.rooms.len() > MAX_PAGE_ROOMS {
        return Err(HttpError::Malformed);
    }
    page.rooms.retain(|r| r.check().is_ok());
    Ok(page)
}

/// The default largest websocket message the server accepts
/// (`Limits::max_message_bytes`; an SDP offer is 1-4 KiB).
pub const MAX_SIGNAL_BYTES: usize = 16 * 1024;

/// A websocket data message as a peer sent it (control frames — ping, pong,
/// close — are the server loop's business, not a decoder's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerMessage<'a> {
    /// A text message.
    Text(&'a str),
    /// A binary message (matchbox never sends one).
    Binary(&'a [u8]),
}

/// A peer's request to the signaling server: the JSON of matchbox's
/// `PeerRequest<serde_json::Value>` (`{"Signal":{"receiver":"<uuid>","data":…}}`
/// or `"KeepAlive"`), decoded by the same serde rules, so exactly the texts
/// matchbox_protocol accepts are accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignalRequest {
    /// Relay `data` (SDP or ICE) to `receiver`.
    Signal {
        /// The peer id (matchbox's `PeerId`) of the receiver.
        receiver: Uuid,
        /// The payload, relayed untouched.
        data: serde_json::Value,
    },
    /// Keeps the connection alive.
    KeepAlive,
}

/// Decodes one websocket data message of a peer, at most `max_bytes` long:
/// [`Refusal::MessageTooLarge`] above it, [`Refusal::ProtocolError`] for a
/// binary message or a text that is not a [`SignalRequest`] (garbage).
pub fn decode_signal(msg: PeerMessage<'_>, max_bytes: usize) -> Result<SignalRequest, Refusal> {
    let text = match msg {
        PeerMessage::Binary(b) if b.len() > max_bytes => return Err(Refusal::MessageTooLarge),
        PeerMessage::Binary(_) => return Err(Refusal::ProtocolError),
        PeerMessage::Text(t) => t,
    };
    if text.len() > max_bytes {
        return Err(Refusal::MessageTooLarge);
    }
    serde_json::from_str(text).map_err(|_| Refusal::ProtocolError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_length_chunked_and_rejects_garbage() {
        let r = parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}extra").expect("ok");
        assert_eq!((r.status, r.body.as_slice()), (200, &b"{}"[..]));
        let c = parse_response(
            b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        .expect("chunked");
        assert_eq!((c.status, c.body.as_slice()), (404, &b"abcde"[..]));
        for junk in [
            &b""[..],
            b"\r\n\r\n",
            b"SSH-2.0\r\n\r\n",
            b"HTTP/1.1 xx\r\n\r\n",
            b"HTTP/2 200\r\n\r\n",
            b"HTTP/1.1 200\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
            b"HTTP/1.1 200\r\nContent-Length: 99\r\n\r\nab",
        ] {
            assert!(parse_response(junk).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn response_size_limit() {
        let mut raw = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        raw.resize(MAX_RESPONSE, b'x');
        assert_eq!(
            parse_response(&raw).expect("at the limit").body.len(),
            MAX_RESPONSE - 19
        );
        raw.push(b'x');
        assert!(matches!(parse_response(&raw), Err(HttpError::Malformed)));
    }

    #[test]
    fn signal_valid_garbage_and_limits() {
        let id = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        let sig = format!(r#"{{"Signal":{{"receiver":"{id}","data":{{"Offer":"v=0"}}}}}}"#);
        let Ok(SignalRequest::Signal { receiver, data }) =
            decode_signal(PeerMessage::Text(&sig), MAX_SIGNAL_BYTES)
        else {
            panic!("valid signal refused");
        };
        assert_eq!(receiver.to_string(), id);
        assert_eq!(data, serde_json::json!({"Offer": "v=0"}));
        assert_eq!(
            decode_signal(PeerMessage::Text(r#""KeepAlive""#), MAX_SIGNAL_BYTES),
            Ok(SignalRequest::KeepAlive)
        );
        assert_eq!(
            decode_signal(PeerMessage::Text(&sig), sig.len() - 1),
            Err(Refusal::MessageTooLarge)
        );
        assert_eq!(
            decode_signal(PeerMessage::Binary(&[0xff; 64]), 63),
            Err(Refusal::MessageTooLarge)
        );
        for junk in [
            "",
            "hello",
            "{}",
            r#""keepalive""#,
            r#"{"Signal":{"receiver":"not-a-uuid","data":1}}"#,
            r#"{"Signal":{"data":1}}"#,
            r#""KeepAlive" x"#,
        ] {
            assert_eq!(
                decode_signal(PeerMessage::Text(junk), MAX_SIGNAL_BYTES),
                Err(Refusal::ProtocolError),
                "{junk}"
            );
        }
        assert_eq!(
            decode_signal(PeerMessage::Binary(br#""KeepAlive""#), MAX_SIGNAL_BYTES),
            Err(Refusal::ProtocolError)
        );
    }

    #[test]
    fn lobby_pages_valid_garbage_and_hostile_rooms() {
        let room = |name: &str, players: u16| {
            format!(
                r#"{{"code":"ABCDEF","name":"{name}","game":"g","proto":1,"version":"1.0","max_players":4,"password":false,"mode":"ffa","public":true,"players":{players},"host_peer":null}}"#
            )
        };
        let body = format!(
            r#"{{"rooms":[{},{},{}],"next":"ABCDEG"}}"#,
            room("Den", 1),
            room(&"n".repeat(4000), 1),
            room("Den", 9)
        );
        let page = decode_lobby_page(body.as_bytes()).expect("page");
        assert_eq!(
            page.rooms.len(),
            1,
            "the long name and 9/4 seats are left out"
        );
        assert_eq!(page.next.map(|c| c.to_string()), Some("ABCDEG".into()));
        let many = format!(
            r#"{{"rooms":[{}],"next":null}}"#,
            vec![room("Den", 1); MAX_PAGE_ROOMS + 1].join(",")
        );
        assert!(decode_lobby_page(many.as_bytes()).is_err());
        for junk in [
            &b""[..],
            b"[]",
            b"{}",
            b"{\"rooms\":[1]}",
            b"{\"rooms\":[],\"next\":\"0O1IL0\"}",
        ] {
            assert!(decode_lobby_page(junk).is_err(), "{junk:?}");
        }
    }
}
