//! `nearplay-demo`: bumper discs on a shrinking ice platform, played on a LAN
//! with no server. `main` reads like a table of contents: parse the command
//! line, start mDNS, then build the app from plugins, one per feature.

use std::process::ExitCode;

use bevy::prelude::*;
use bevy::window::WindowResolution;
use clap::Parser;

use nearplay::bevy::prelude::*;
use nearplay_demo::cli::{Cli, Command};
use nearplay_demo::net::{self, NetOptions};
use nearplay_demo::prefs::Prefs;
use nearplay_demo::report::MatchGoal;
use nearplay_demo::rollback::DemoConfig;
use nearplay_demo::screen::{Notice, Screen};
use nearplay_demo::{
    desync, headless, lobbies, lobby_flow, local, online, overlay, replay_view, replays, report,
    rollback, screens, ui,
};

/// What the app does right after start-up.
#[derive(Resource, Clone, Debug)]
enum Opening {
    /// Show the main menu.
    Menu,
    /// Start a local versus match.
    LocalVersus,
    /// Host a lobby.
    Host,
    /// Host a room on a rendezvous server.
    HostOnline { server: String },
    /// Join a room by code, to play or (`spectator`) to watch.
    JoinCode {
        server: String,
        code: String,
        password: Option<String>,
        spectator: bool,
    },
    /// Find and join a lobby, to play or (`spectator`) to watch.
    Join {
        lobby: Option<String>,
        password: Option<String>,
        spectator: bool,
    },
    /// Play a replay in the window.
    Replay(Box<replays::DemoReplay>),
}

fn main() -> ExitCode {
    report::mark_process_start();
    let cli = Cli::parse();
    if let Some(Command::DesyncDiff(args)) = &cli.command {
        return match desync::run_diff(&args.a, &args.b) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("nearplay-demo: {message}");
                ExitCode::FAILURE
            }
        };
    }
    // A replay is read (and refused in words) before anything starts.
    let replay = match &cli.command {
        Some(Command::Replay(args)) => match replays::read(&args.file) {
            Ok(file) if args.verify => return run(replays::verify_app(file)),
            Ok(file) if cli.shared.headless => {
                eprintln!("nearplay-demo: a headless replay needs --verify");
                drop(file);
                return ExitCode::FAILURE;
            }
            Ok(file) => Some(file),
            Err(e) => {
                eprintln!("nearplay-demo: {} refused: {e}", args.file.display());
                return ExitCode::from(replays::EXIT_REFUSED);
            }
        },
        _ => None,
    };
    // The rendezvous server of the command line, if any.
    let server = match &cli.command {
        Some(Command::Host(args)) => args.online.clone(),
        Some(Command::Join(args)) if args.code.is_some() => args.rendezvous.clone(),
        _ => None,
    };
    // One mDNS daemon per process, created first so the lobby list is warm.
    let matchmaker = match net::matchmaker(&cli.shared.interface, server) {
        Ok(matchmaker) => matchmaker,
        Err(message) => {
            eprintln!("nearplay-demo: {message}");
            return ExitCode::FAILURE;
        }
    };
    let mut prefs = Prefs {
        name: cli.shared.player_name(),
        input_delay: cli.shared.input_delay.unwrap_or(2),
        spectate_fanout: cli.shared.spectate_fanout,
        ..Prefs::default()
    };
    let mut options = NetOptions::from_cli(&cli.shared);
    let opening = match &cli.command {
        None => Opening::Menu,
        Some(Command::Replay(_)) => match replay {
            Some(file) => Opening::Replay(Box::new(file)),
            None => Opening::Menu,
        },
        Some(Command::Local) => Opening::LocalVersus,
        Some(Command::Host(args)) => {
            prefs.players = args.players;
            prefs.password = args.password.clone();
            prefs.lobby_name = args.lobby.clone();
            prefs.late_join = args.late_join;
            options.start_at = Some(usize::from(args.start_with.unwrap_or(args.players)));
            options.auto = true;
            match &args.online {
                Some(server) => Opening::HostOnline {
                    server: server.clone(),
                },
                None => Opening::Host,
            }
        }
        Some(Command::Join(args)) => match (&args.code, &args.rendezvous) {
            (Some(code), Some(server)) => Opening::JoinCode {
                server: server.clone(),
                code: code.clone(),
                password: args.password.clone(),
                spectator: false,
            },
            _ => Opening::Join {
                lobby: args.lobby.clone(),
                password: args.password.clone(),
                spectator: false,
            },
        },
        Some(Command::DesyncDiff(_)) => return ExitCode::FAILURE,
        Some(Command::Spectate(args)) => match (&args.code, &args.rendezvous) {
            (Some(code), Some(server)) => Opening::JoinCode {
                server: server.clone(),
                code: code.clone(),
                password: args.password.clone(),
                spectator: true,
            },
            _ => Opening::Join {
                lobby: args.lobby.clone(),
                password: args.password.clone(),
                spectator: true,
            },
        },
        Some(Command::Lobbies(args)) => {
            let listed = match (&args.rendezvous, matchmaker.discovery()) {
                (Some(server), _) => lobbies::run_online(server, args),
                (None, Some(discovery)) => lobbies::run(discovery, args),
                (None, None) => Err(format!(
                    "LAN discovery is off: {}",
                    matchmaker.lan_status().err().unwrap_or_default()
                )),
            };
            return match listed {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => {
                    eprintln!("nearplay-demo: {message}");
                    ExitCode::FAILURE
                }
            };
        }
    };
    let goal = MatchGoal {
        frames: cli.shared.frames,
        report: cli.shared.report.clone(),
        exit_when_done: cli.shared.headless,
    };
    let mut app = if cli.shared.headless {
        if matches!(opening, Opening::Menu | Opening::LocalVersus) {
            eprintln!("nearplay-demo: --headless needs `host`, `join` or `spectate`");
            return ExitCode::FAILURE;
        }
        headless::headless_app(cli.shared.speed)
    } else if cli.shared.speed != 1 {
        eprintln!("nearplay-demo: --speed needs --headless");
        return ExitCode::FAILURE;
    } else {
        windowed_app()
    };
    let desync_dir = cli
        .shared
        .desync_dir
        .clone()
        .unwrap_or_else(desync::default_dir);
    let game = concat!("nearplay-demo ", env!("CARGO_PKG_VERSION"));
    app.add_plugins((
        NearplayPlugin::<DemoConfig>::with_matchmaker(matchmaker)
            .options(options.match_options())
            .desync_reports(desync_dir, game),
        desync::DesyncPlugin {
            print: cli.shared.headless,
        },
    ))
    .insert_resource(prefs)
    .insert_resource(options)
    .insert_resource(goal)
    .insert_resource(replays::record_settings(
        cli.shared.record.clone(),
        cli.shared.frames,
    ))
    .insert_resource(opening)
    .insert_resource(Timeout(std::time::Duration::from_secs(cli.shared.timeout)))
    .add_systems(Startup, open);
    if let Some(frame) = cli.shared.inject_desync {
        app.insert_resource(desync::InjectDesync(frame));
    }
    run(app)
}

/// Runs `app`; its exit code is the process's.
fn run(mut app: App) -> ExitCode {
    match app.run() {
        AppExit::Success => ExitCode::SUCCESS,
        AppExit::Error(code) => ExitCode::from(code.get()),
    }
}

/// How long to look for a lobby.
#[derive(Resource, Clone, Copy)]
struct Timeout(std::time::Duration);

/// The game in a window.
fn windowed_app() -> App {
    let mut app = App::new();
    app.add_plugins(
        DefaultPlugins
            .set(WindowPlugin {
                primary_window: Some(Window {
                    title: "nearplay - bumper discs".into(),
                    resolution: WindowResolution::new(1280, 800),
                    ..default()
                }),
                ..default()
            })
            .set(AssetPlugin {
                file_path: assets_dir(),
                ..default()
            }),
    )
    .init_state::<Screen>()
    .add_plugins((
        ui::UiPlugin,
        rollback::RollbackPlugin,
        lobby_flow::LobbyFlowPlugin,
        report::ReportPlugin,
        screens::ScreensPlugin,
        overlay::OverlayPlugin,
        replays::DemoReplayPlugin,
        replay_view::ReplayViewPlugin,
    ))
    .add_systems(Startup, spawn_camera);
    app
}

fn spawn_camera(mut commands: Commands) {
    commands.spawn(Camera2d);
}

/// Carries out the [`Opening`] the command line asked for.
fn open(
    opening: Res<Opening>,
    mut lobby: LobbyCommands,
    prefs: Res<Prefs>,
    timeout: Res<Timeout>,
    mut next: ResMut<NextState<Screen>>,
    mut notice: ResMut<Notice>,
) {
    let result = match opening.clone() {
        Opening::Menu => Ok(()),
        Opening::LocalVersus => local::start_local_versus(lobby.commands(), &mut next, &prefs)
            .map_err(|e| format!("cannot start: {e}")),
        Opening::Host => {
            lobby_flow::host_lobby(&mut lobby, &prefs);
            next.set(Screen::Lobby);
            Ok(())
        }
        Opening::HostOnline { server } => {
            online::host_online(&mut lobby, &server, &prefs).map(|()| next.set(Screen::Lobby))
        }
        Opening::Replay(file) => {
            lobby
                .commands()
                .queue(move |world: &mut World| replays::watch(world, *file));
            Ok(())
        }
        Opening::JoinCode {
            server,
            code,
            password,
            spectator,
        } => online::join_online(
            &mut lobby,
            &server,
            &code,
            &prefs,
            password.as_deref(),
            spectator,
        )
        .map(|()| next.set(Screen::Lobby)),
        Opening::Join {
            lobby: wanted,
            password,
            spectator,
        } => {
            lobby.commands().insert_resource(lobby_flow::LobbySearch {
                wanted,
                password,
                spectator,
                deadline: std::time::Instant::now() + timeout.0,
            });
            Ok(())
        }
    };
    if let Err(message) = result {
        notice.0 = Some(message);
    }
}

/// Where the game's fonts and sounds are: `NEARPLAY_ASSETS`, else `assets/`
/// beside the executable, else the repository's `assets/` (cargo run, make run).
fn assets_dir() -> String {
    if let Ok(dir) = std::env::var("NEARPLAY_ASSETS") {
        return dir;
    }
    let beside_exe = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("assets")))
        .filter(|d| d.is_dir());
    match beside_exe {
        Some(dir) => dir.to_string_lossy().into_owned(),
        None => concat!(env!("CARGO_MANIFEST_DIR"), "/../assets").to_string(),
    }
}
