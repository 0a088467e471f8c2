//! The screens a player moves through, one file each, as Bevy plugins.
//!
//! Menu -> (Settings) -> LAN browser -> Lobby -> Match -> Results.

use bevy::prelude::*;

pub use crate::screen::{Notice, Screen};

pub mod arena;
pub mod browser;
pub mod lobby;
pub mod menu;
pub mod online;
pub mod results;
pub mod settings;

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
