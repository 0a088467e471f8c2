//! The processes the discovery benchmark starts (the bench binary re-runs
//! itself with `--role ...`). Each prints one line per event with the wall
//! clock in nanoseconds, so the parent can time events across processes.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mdns_sd::{IfKind, ServiceDaemon, ServiceEvent, ServiceInfo};
use nearplay_matchmaker::lan::liveness::LivenessConfig;
use nearplay_matchmaker::lan::{BrowseEvent, Discovery, DiscoveryConfig, Interfaces};
use nearplay_matchmaker::lobby::host::HostConfig;
use nearplay_matchmaker::lobby::tcp::{HostOptions, LobbyHost};

/// Service type of the bare mdns-sd anchor (apart from nearplay's own).
pub const BARE_TYPE: &str = "_npanchor._udp.local.";
pub const GAME: &str = "bench";

pub fn unix_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn say(s: String) {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{s}");
    let _ = o.flush();
}

fn interfaces(iface: &str) -> Interfaces {
    if iface == "lo" {
        Interfaces::LoopbackOnly
    } else {
        Interfaces::Named(vec![iface.to_string()])
    }
}

fn bare_daemon(iface: &str) -> ServiceDaemon {
    let d = ServiceDaemon::new().expect("daemon");
    d.disable_interface(IfKind::All).expect("disable");
    if iface == "lo" {
        d.enable_interface(vec![IfKind::LoopbackV4, IfKind::LoopbackV6])
            .expect("enable");
    } else {
        d.enable_interface(iface).expect("enable");
    }
    d
}

fn forever() -> ! {
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// Runs the role named in `args` (after `--role`); never returns.
pub fn run(args: &[String]) -> ! {
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    let (role, iface, name) = (arg(0), arg(1), arg(2));
    match role.as_str() {
        "ours-host" => {
            let probe = arg(3) != "0";
            let config = DiscoveryConfig {
                interfaces: interfaces(&iface),
                probe,
                ..Default::default()
            };
            let d = Discovery::with_config(config).expect("discovery");
            // "claim": the name is claimed when the Host screen opens, and
            // the player presses Host once the claim is done.
            let _claim = (arg(4) == "claim").then(|| {
                let claim = d.claim_name(&name).expect("claim");
                let end = Instant::now() + Duration::from_secs(10);
                while !claim.is_claimed() {
                    assert!(Instant::now() < end, "claim never finished");
                    std::thread::sleep(Duration::from_millis(5));
                }
                claim
            });
            let t0 = unix_ns();
            let options = HostOptions {
                discovery: Some(d),
                ..Default::default()
            };
            let host =
                LobbyHost::open(HostConfig::new(&name, "h", GAME, "1"), options).expect("host");
            say(format!("REGISTERED {t0}"));
            loop {
                while host.poll().is_some() {}
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        "bare-host" => {
            let d = bare_daemon(&iface);
            let info = ServiceInfo::new(
                BARE_TYPE,
                &name,
                &format!("{name}.local."),
                "",
                9,
                None::<std::collections::HashMap<String, String>>,
            )
            .expect("info")
            .enable_addr_auto();
            let t0 = unix_ns();
            d.register(info).expect("register");
            say(format!("REGISTERED {t0}"));
            forever();
        }
        "ours-browse" | "bare-browse" => {
            let warm = Duration::from_millis(arg(3).parse().unwrap_or(0));
            let found = if role == "ours-browse" {
                let d = Discovery::new(interfaces(&iface)).expect("discovery");
                std::thread::sleep(warm);
                let t0 = Instant::now();
                let mut b = d.browse(GAME, "1").expect("browse");
                loop {
                    if let Some(BrowseEvent::Added(i)) = b.poll()
                        && i.name == name
                    {
                        break t0.elapsed();
                    }
                    std::thread::sleep(Duration::from_micros(200));
                }
            } else {
                let d = bare_daemon(&iface);
                std::thread::sleep(warm);
                let t0 = Instant::now();
                let rx = d.browse(BARE_TYPE).expect("browse");
                loop {
                    if let Ok(ServiceEvent::ServiceResolved(s)) = rx.recv()
                        && s.fullname.starts_with(&name)
                    {
                        break t0.elapsed();
                    }
                }
            };
            say(format!("FOUND {}", found.as_nanos()));
            std::process::exit(0);
        }
        "ours-watch" => {
            // The bench starts and kills one host per trial (20 from one
            // address in about a second), faster than liveness drops a
            // killed one (2-2.5 s): the per-address cap would refuse the
            // 17th. Crowding is tested elsewhere (liveness_attacks.rs).
            let config = DiscoveryConfig {
                interfaces: interfaces(&iface),
                liveness: LivenessConfig {
                    max_lobbies_per_address: 64,
                    ..Default::default()
                },
                ..Default::default()
            };
            let d = Discovery::with_config(config).expect("discovery");
            let mut b = d.browse(GAME, "1").expect("browse");
            say("WATCHING 0".into());
            loop {
                while let Some(e) = b.poll() {
                    match e {
                        BrowseEvent::Added(i) => say(format!("ADDED {} {}", unix_ns(), i.name)),
                        BrowseEvent::Updated(i) if i.rtt.is_some() => {
                            say(format!("ALIVE {} {}", unix_ns(), i.name))
                        }
                        BrowseEvent::Updated(_) => {}
                        BrowseEvent::Removed { name, .. } => {
                            say(format!("REMOVED {} {name}", unix_ns()))
                        }
                    }
                }
                std::thread::sleep(Duration::from_micros(500));
            }
        }
        "bare-watch" => {
            let d = bare_daemon(&iface);
            let rx = d.browse(BARE_TYPE).expect("browse");
            say("WATCHING 0".into());
            while let Ok(e) = rx.recv() {
                if let ServiceEvent::ServiceResolved(s) = e {
                    let label = s.fullname.split('.').next().unwrap_or_default().to_string();
                    say(format!("ADDED {} {label}", unix_ns()));
                }
            }
            forever();
        }
        other => {
            eprintln!("unknown role {other}");
            std::process::exit(2);
        }
    }
}
