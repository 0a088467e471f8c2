//! The screens a player moves through, one file each, as Bevy plugins.
//!
//! Menu -> (Settings) -> LAN browser -> Lobby -> Match -> Results.

use bevy::prelude::*;

pub mod arena;
pub mod browser;
pub mod lobby;
pub mod menu;
pub mod online;
pub mod results;
pub mod settings;

/// The screen on show.
#[derive(States, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Screen {
    /// Title and main menu.
    #[default]
    Menu,
    /// Settings.
    Settings,
    /// Live list of LAN lobbies.
    Browser,
    /// Host or join a room on a rendezvous server.
    Online,
    /// A lobby, as host or member.
    Lobby,
    /// A match in progress.
    Match,
    /// The match result.
    Results,
}

/// A message shown at the bottom of the next screen (errors in words).
#[derive(Resource, Default, Clone, Debug)]
pub struct Notice(pub Option<String>);

/// All screens of the windowed game.
pub struct ScreensPlugin;

impl Plugin for ScreensPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Notice>().add_plugins((
            menu::MenuPlugin,
            settings::SettingsPlugin,
            browser::BrowserPlugin,
            lobby::LobbyPlugin,
            online::OnlinePlugin,
            arena::ArenaPlugin,
            results::ResultsPlugin,
        ));
    }
}
