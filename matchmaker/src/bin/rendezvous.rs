//! `nearplay-rendezvous`: the rendezvous server. Sensible defaults, no
//! config file: `nearplay-rendezvous --listen 0.0.0.0:3536`.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use nearplay_matchmaker::rendezvous::server::{Limits, RendezvousServer, fd_limit};

/// Rendezvous server for nearplay: rooms by 6-character code, a public lobby
/// list (GET /lobbies?game=..&proto=..), matchbox WebRTC signaling (a
/// websocket to /CODE; stock matchbox clients may use /ROOM?next=N), and
/// GET /health. SIGTERM closes every connection with "server_closing".
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address and port to listen on (HTTP and websockets).
    #[arg(long, default_value = "0.0.0.0:3536")]
    listen: SocketAddr,
    /// Most rooms open at once (code rooms and stock rooms).
    #[arg(long, default_value_t = Limits::default().max_rooms)]
    max_rooms: usize,
    /// Most peers in one room; also caps a host's max_players.
    #[arg(long, default_value_t = Limits::default().max_peers_per_room)]
    max_peers_per_room: u16,
    /// Most spectator places one code room may have beside its players.
    #[arg(long, default_value_t = Limits::default().max_spectators_per_room)]
    max_spectators_per_room: u16,
    /// Largest websocket message accepted, in bytes; bigger ones cut the sender.
    #[arg(long, default_value_t = Limits::default().max_message_bytes)]
    max_message_bytes: usize,
    /// Sustained messages per second per websocket; above it the sender is
    /// cut with "rate_limited".
    #[arg(long, default_value_t = Limits::default().messages_per_second)]
    messages_per_second: u32,
    /// Messages allowed in a burst above the sustained rate.
    #[arg(long, default_value_t = Limits::default().burst)]
    burst: u32,
    /// Sustained HTTP requests and websocket upgrades per second per client
    /// address (bounds room-code guessing); above it: HTTP 429 "rate_limited".
    #[arg(long, default_value_t = Limits::default().requests_per_second)]
    requests_per_second: u32,
    /// Requests an address may make in a burst above that rate.
    #[arg(long, default_value_t = Limits::default().request_burst)]
    request_burst: u32,
    /// Milliseconds a new websocket has to send its first message.
    #[arg(long, default_value_t = 15_000)]
    handshake_timeout_ms: u64,
    /// Seconds of silence after which a websocket is closed.
    #[arg(long, default_value_t = 45)]
    idle_timeout_s: u64,
    /// Seconds a created room may stay empty before it is removed.
    #[arg(long, default_value_t = 60)]
    unjoined_room_ttl_s: u64,
    /// Most rooms one client address may hold open (code and stock rooms).
    #[arg(long, default_value_t = Limits::default().max_rooms_per_address)]
    max_rooms_per_address: usize,
    /// Most TCP connections (HTTP and websockets) open from one client
    /// address; more are answered 429 "address_limit" and closed.
    #[arg(long, default_value_t = Limits::default().max_connections_per_address)]
    max_connections_per_address: usize,
    /// Most TCP connections open in all (keep it under `ulimit -n`).
    #[arg(long, default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// Milliseconds an HTTP connection has to send a complete request head.
    #[arg(long, default_value_t = 10_000)]
    header_timeout_ms: u64,
    /// Client addresses whose request rate is tracked (a bounded table).
    #[arg(long, default_value_t = Limits::default().max_tracked_addresses)]
    max_tracked_addresses: usize,
    /// Most rooms in one GET /lobbies page.
    #[arg(long, default_value_t = Limits::default().lobbies_page)]
    lobbies_page: usize,
    /// Runtime worker threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Milliseconds to wait for connections to close on SIGTERM.
    #[arg(long, default_value_t = 3000)]
    shutdown_grace_ms: u64,
    /// Log level: error, warn, info, debug or trace.
    #[arg(long, default_value = "info")]
    log_level: tracing::Level,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_max_level(args.log_level)
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .compact()
        .init();
    let limits = Limits {
        max_rooms: args.max_rooms,
        max_peers_per_room: args.max_peers_per_room,
        max_spectators_per_room: args.max_spectators_per_room,
        max_message_bytes: args.max_message_bytes,
        messages_per_second: args.messages_per_second,
        burst: args.burst,
        requests_per_second: args.requests_per_second,
        request_burst: args.request_burst,
        handshake_timeout: Duration::from_millis(args.handshake_timeout_ms),
        idle_timeout: Duration::from_secs(args.idle_timeout_s),
        unjoined_room_ttl: Duration::from_secs(args.unjoined_room_ttl_s),
        max_rooms_per_address: args.max_rooms_per_address,
        max_connections_per_address: args.max_connections_per_address,
        max_connections: args.max_connections,
        header_timeout: Duration::from_millis(args.header_timeout_ms),
        max_tracked_addresses: args.max_tracked_addresses,
        lobbies_page: args.lobbies_page,
    };
    // One descriptor per connection: lift the soft limit (often 1024).
    if let Some(soft) = fd_limit::raise_fd_limit() {
        let room = fd_limit::connections_within(soft);
        if (limits.max_connections as u64) > room {
            tracing::warn!(
                max_connections = limits.max_connections,
                fd_limit = soft,
                "--max-connections is above what the file descriptor limit leaves \
                 ({room}): past that, accepts fail and newcomers wait; raise `ulimit -Hn`"
            );
        }
    }
    match RendezvousServer::start(args.listen, limits, args.threads) {
        Ok(mut server) => {
            // Scripts read the bound address from this line (port 0 works).
            println!("listening on {}", server.local_addr());
            server.serve_until_signal(Duration::from_millis(args.shutdown_grace_ms));
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("nearplay-rendezvous: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
