//! A minimal blocking HTTP/1.1 client for the rendezvous API: one request
//! per connection (`Connection: close`), bounded in time and size. The API
//! is four small JSON calls; this keeps an HTTP stack (and an async runtime)
//! out of a game. The answer is parsed by [`parse_response`](crate::rendezvous::wire::parse_response)
//! (always compiled, fuzzed).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

pub use crate::rendezvous::wire::{HttpError, HttpResponse};
use crate::rendezvous::wire::{MAX_RESPONSE, parse_response};

/// Sends one request to `authority` (`host:port`) and reads the answer.
pub fn request(
    authority: &str,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
    timeout: Duration,
) -> Result<HttpResponse, HttpError> {
    let addr = authority
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let body = body.unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\
         Accept: application/json\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.take(MAX_RESPONSE as u64 + 1).read_to_end(&mut raw)?;
    // One byte over the limit is enough for parse_response to refuse it.
    parse_response(&raw)
}
