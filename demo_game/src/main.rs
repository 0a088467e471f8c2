//! `nearplay-demo`: bumper discs on a shrinking ice platform, played on a LAN
//! with no server. `main` reads like a table of contents: parse the command
//! line, then build the app from plugins, one per feature.

use std::process::ExitCode;

use bevy::prelude::*;
use bevy::window::WindowResolution;
use clap::Parser;

mod bots;
mod cli;
mod effects;
mod local;
mod match_setup;
mod prefs;
mod rollback;
mod screens;
mod sim;
mod ui;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.clone() {
        None => windowed(&cli, screens::Screen::Menu),
        Some(Command::Local) => windowed(&cli, screens::Screen::Menu),
        Some(_) => {
            eprintln!("nearplay-demo: this command is not available in this build yet");
            ExitCode::FAILURE
        }
    }
}

/// The game in a window, starting on `first` screen.
fn windowed(cli: &Cli, _first: screens::Screen) -> ExitCode {
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
    .insert_resource(prefs::Prefs {
        name: cli.shared.player_name(),
        ..default()
    })
    .init_state::<screens::Screen>()
    .add_plugins((ui::UiPlugin, rollback::RollbackPlugin, screens::ScreensPlugin))
    .add_systems(Startup, spawn_camera);
    match app.run() {
        AppExit::Success => ExitCode::SUCCESS,
        AppExit::Error(_) => ExitCode::FAILURE,
    }
}

fn spawn_camera(mut commands: Commands) {
    commands.spawn(Camera2d);
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
