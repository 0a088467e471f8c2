//! Host, list or join nearplay lobbies from the command line.
//!
//! ```text
//! cargo run -p nearplay_matchmaker --example lobby -- host --name "Den" --interface lo
//! cargo run -p nearplay_matchmaker --example lobby -- list --interface lo
//! cargo run -p nearplay_matchmaker --example lobby -- join --lobby "Den" --name Ann --ready --interface lo
//! ```
//!
//! Options: `--interface all|lo|<name>[,<name>]` (default all), `--family
//! v4|v6|both` (default both), `--no-probe` (announce at once), `--game ID`,
//! `--ver V`, `--password P`, `--players N` (host), `--start-when N` (host:
//! start once N members, host included, are ready), `--ready` (join),
//! `--seconds S` (list: stop after S seconds). Output is one line per event,
//! easy to read from a script or a test.

use std::io::Write;
use std::time::{Duration, Instant};

use nearplay_matchmaker::lan::{
    BrowseEvent, Discovery, DiscoveryConfig, Interfaces, IpFamily, LobbyInfo,
};
use nearplay_matchmaker::lobby::client::{ClientEvent, JoinConfig};
use nearplay_matchmaker::lobby::host::{HostConfig, HostEvent};
use nearplay_matchmaker::lobby::tcp::{HostOptions, LobbyClient, LobbyHost};
use nearplay_netcode::MatchPlan;

const FRAME: Duration = Duration::from_millis(5);

struct Args {
    cmd: String,
    opts: Vec<(String, Option<String>)>,
}

impl Args {
    fn parse() -> Result<Args, String> {
        let mut it = std::env::args().skip(1);
        let cmd = it.next().ok_or("usage: lobby host|list|join [options]")?;
        let mut opts = Vec::new();
        let rest: Vec<String> = it.collect();
        let mut i = 0;
        while let Some(a) = rest.get(i) {
            let key = a
                .strip_prefix("--")
                .ok_or(format!("unexpected argument {a}"))?;
            let value = rest.get(i + 1).filter(|v| !v.starts_with("--")).cloned();
            i += if value.is_some() { 2 } else { 1 };
            opts.push((key.to_string(), value));
        }
        Ok(Args { cmd, opts })
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.opts
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_deref())
    }

    fn flag(&self, key: &str) -> bool {
        self.opts.iter().any(|(k, _)| k == key)
    }

    fn num(&self, key: &str, default: u64) -> u64 {
        self.get(key)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// A digest of the plan as the host built it (local handle zeroed), so
/// processes can compare plans by one line.
fn plan_digest(plan: &MatchPlan) -> String {
    // Without member secrets: each member's copy holds only its own.
    let bytes = postcard::to_stdvec(&plan.for_member(0).without_secrets()).unwrap_or_default();
    blake3::hash(&bytes).to_hex()[..16].to_string()
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse()?;
    let interfaces = match args.get("interface").unwrap_or("all") {
        "all" => Interfaces::All,
        "lo" | "loopback" => Interfaces::LoopbackOnly,
        names => Interfaces::Named(names.split(',').map(str::to_string).collect()),
    };
    let family = match args.get("family").unwrap_or("both") {
        "v4" => IpFamily::V4,
        "v6" => IpFamily::V6,
        _ => IpFamily::Both,
    };
    let discovery = Discovery::with_config(DiscoveryConfig {
        interfaces,
        family,
        probe: !args.flag("no-probe"),
        ..DiscoveryConfig::default()
    })?;
    let game = args.get("game").unwrap_or("nearplay-demo").to_string();
    let ver = args.get("ver").unwrap_or("0.1.0").to_string();
    match args.cmd.as_str() {
        "host" => host(&args, discovery, &game, &ver),
        "list" => list(&args, discovery, &game, &ver),
        "join" => join(&args, discovery, &game, &ver),
        other => Err(format!("unknown command {other}; use host, list or join").into()),
    }
}

fn host(
    args: &Args,
    discovery: Discovery,
    game: &str,
    ver: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let game_sock = std::net::UdpSocket::bind("0.0.0.0:0")?;
    let name = args.get("name").unwrap_or("nearplay lobby");
    let mut config = HostConfig::new(name, args.get("player").unwrap_or("host"), game, ver);
    config.max_players = u16::try_from(args.num("players", 4)).unwrap_or(4);
    config.password = args.get("password").map(str::to_string);
    config.game_port = game_sock.local_addr()?.port();
    let start_when = usize::try_from(args.num("start-when", 0)).unwrap_or(0);
    let options = HostOptions {
        discovery: Some(discovery),
        ..HostOptions::default()
    };
    let lobby = LobbyHost::open(config, options)?;
    say(&format!(
        "hosting {} on {}",
        lobby.instance_name().unwrap_or_else(|| name.to_string()),
        lobby.local_addr()
    ));
    let mut advertised = lobby.instance_name();
    loop {
        if lobby.instance_name() != advertised {
            advertised = lobby.instance_name();
            say(&format!(
                "renamed {}",
                advertised.as_deref().unwrap_or_default()
            ));
        }
        while let Some(event) = lobby.poll() {
            match event {
                HostEvent::MemberJoined {
                    id,
                    name,
                    fingerprint,
                } => say(&format!("joined {id} {name} fingerprint {fingerprint}")),
                HostEvent::GuessFailed {
                    peer,
                    failures,
                    retry_after,
                } => say(&format!(
                    "wrong password from {peer} ({failures} so far, next try in {retry_after:?})"
                )),
                HostEvent::MemberLeft { id, name, reason } => {
                    say(&format!("left {id} {name} {reason:?}"))
                }
                HostEvent::Rejected { peer, reason } => say(&format!("rejected {peer} {reason:?}")),
                HostEvent::Chat { name, text, .. } => say(&format!("chat {name}: {text}")),
                HostEvent::RosterChanged(r) => {
                    let ready = r.iter().filter(|m| m.ready).count();
                    say(&format!("roster {} ready {ready}", r.len()));
                    if start_when > 0 && r.len() >= start_when && ready == r.len() {
                        lobby.start()?;
                    }
                }
                HostEvent::Started(plan) => {
                    say(&format!(
                        "started {} handle 0 plan {}",
                        plan.match_id,
                        plan_digest(&plan)
                    ));
                    return Ok(());
                }
                HostEvent::Closed => return Ok(()),
                HostEvent::Seat(news) => say(&format!("seat {news:?}")),
                HostEvent::Rekeyed { epoch, .. } => say(&format!("rekeyed epoch {epoch}")),
                HostEvent::Resume { from, bytes } => say(&format!(
                    "resume message from {from}: {} bytes",
                    bytes.len()
                )),
            }
        }
        std::thread::sleep(FRAME);
    }
}

fn line(info: &LobbyInfo) -> String {
    let rtt = info.rtt.map_or("-".to_string(), |r| {
        format!("{:.2}ms", r.as_secs_f64() * 1e3)
    });
    format!(
        "{} at {} players {}/{} ver {} pw {} mode {} rtt {rtt} ({})",
        info.name,
        info.addr,
        info.players,
        info.max_players,
        info.game_version,
        u8::from(info.password),
        info.mode,
        info.compatibility
    )
}

fn list(
    args: &Args,
    discovery: Discovery,
    game: &str,
    ver: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut browser = discovery.browse(game, ver)?;
    let until = Instant::now() + Duration::from_secs(args.num("seconds", u64::MAX / 4));
    while Instant::now() < until {
        while let Some(event) = browser.poll() {
            match event {
                BrowseEvent::Added(i) => say(&format!("added {}", line(&i))),
                BrowseEvent::Updated(i) if args.flag("verbose") => {
                    say(&format!("updated {}", line(&i)))
                }
                BrowseEvent::Updated(_) => {}
                BrowseEvent::Removed { name, .. } => say(&format!("removed {name}")),
            }
        }
        std::thread::sleep(FRAME);
    }
    Ok(())
}

fn join(
    args: &Args,
    discovery: Discovery,
    game: &str,
    ver: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let game_sock = std::net::UdpSocket::bind("0.0.0.0:0")?;
    let mut browser = discovery.browse(game, ver)?;
    let wanted = args.get("lobby");
    let info = loop {
        if let Some(BrowseEvent::Added(i) | BrowseEvent::Updated(i)) = browser.poll()
            && wanted.is_none_or(|w| i.name == w)
            && i.compatibility.is_compatible()
        {
            break i;
        }
        std::thread::sleep(FRAME);
    };
    say(&format!("found {}", line(&info)));
    let mut config = JoinConfig::new(
        args.get("name").unwrap_or("player"),
        game,
        ver,
        game_sock.local_addr()?.port(),
    );
    config.password = args.get("password").map(str::to_string);
    let client = LobbyClient::join(info.addr, config);
    loop {
        while let Some(event) = client.poll() {
            match event {
                ClientEvent::Joined {
                    you,
                    name,
                    fingerprint,
                    ..
                } => {
                    say(&format!("joined {you} {name} fingerprint {fingerprint}"));
                    if args.flag("ready") {
                        client.set_ready(true);
                    }
                }
                ClientEvent::JoinFailed(e) => return Err(e.into()),
                ClientEvent::RosterChanged(r) => say(&format!("roster {}", r.len())),
                ClientEvent::Chat { name, text, .. } => say(&format!("chat {name}: {text}")),
                ClientEvent::Started(plan) => {
                    say(&format!(
                        "started {} handle {} plan {}",
                        plan.match_id,
                        plan.local_handle,
                        plan_digest(&plan)
                    ));
                    return Ok(());
                }
                ClientEvent::LobbyClosed(r) => {
                    say(&format!("closed {r}"));
                    return Ok(());
                }
                ClientEvent::Seat(news) => say(&format!("seat {news:?}")),
                ClientEvent::Rekeyed { epoch, .. } => say(&format!("rekeyed epoch {epoch}")),
                ClientEvent::Resume { from, bytes } => say(&format!(
                    "resume message from {from}: {} bytes",
                    bytes.len()
                )),
            }
        }
        std::thread::sleep(FRAME);
    }
}
