//! Title screen and main menu: player name, host, find, local versus, settings, quit.

use bevy::input::keyboard::KeyboardInput;
use bevy::prelude::*;

use super::{Notice, Screen};
use crate::local::start_local_versus;
use crate::net::lobby_settings;
use crate::prefs::Prefs;
use crate::text_entry::{Edit, edit_line};
use crate::ui::{self, ButtonAction, Fonts};
use nearplay::bevy::MatchmakerRes;

/// The main menu.
pub struct MenuPlugin;

impl Plugin for MenuPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(OnEnter(Screen::Menu), (spawn_menu, claim_lobby_name))
            .add_systems(
                Update,
                (menu_buttons, edit_name, claim_after_typing).run_if(in_state(Screen::Menu)),
            );
    }
}

#[derive(Component)]
struct NameField;

fn spawn_menu(
    mut commands: Commands,
    fonts: Res<Fonts>,
    prefs: Res<Prefs>,
    mut notice: ResMut<Notice>,
) {
    let f = &*fonts;
    commands
        .spawn((ui::screen_root(), DespawnOnExit(Screen::Menu)))
        .with_children(|root| {
            root.spawn(ui::title(f, "NEARPLAY", 84.0, ui::player_color(0)));
            root.spawn(ui::text(
                f,
                "bumper discs on thin ice  -  LAN or online, no game server",
                20.0,
                ui::DIM,
            ));
            root.spawn(Node {
                height: px(24),
                ..default()
            });
            root.spawn(Node {
                column_gap: px(10),
                align_items: AlignItems::Center,
                ..default()
            })
            .with_children(|row| {
                row.spawn(ui::text(f, "Your name:", 20.0, ui::DIM));
                row.spawn((
                    ui::title(f, name_label(&prefs.name), 22.0, ui::TEXT),
                    NameField,
                ));
            });
            root.spawn(ui::text(f, "(type to change it)", 14.0, ui::DIM));
            root.spawn(Node {
                height: px(12),
                ..default()
            });
            root.spawn(ui::button(f, "Host LAN game", ButtonAction::HostLan));
            root.spawn(ui::button(f, "Find LAN games", ButtonAction::FindLan));
            root.spawn(ui::button(f, "Host online", ButtonAction::HostOnline));
            root.spawn(ui::button(f, "Join by code", ButtonAction::JoinByCode));
            root.spawn(ui::button(f, "Local versus", ButtonAction::LocalVersus));
            root.spawn(ui::button(f, "Settings", ButtonAction::Settings));
            root.spawn(ui::button(f, "Quit", ButtonAction::Quit));
            if let Some(message) = notice.0.take() {
                root.spawn(ui::text(f, message, 18.0, ui::WARN));
            }
            root.spawn(ui::text(
                f,
                "WASD / stick to steer, Space / A to dash. Push the others off the ice!",
                16.0,
                ui::DIM,
            ));
        });
}

/// Claims the LAN name "Hana's game" while the menu shows, so that Host
/// lists the lobby at once instead of after most of a second of mDNS
/// probing (`Matchmaker::claim_lobby_name`).
fn claim_lobby_name(matchmaker: Res<MatchmakerRes>, prefs: Res<Prefs>) {
    let name = lobby_settings(&prefs).lobby_name;
    if let Err(e) = matchmaker.claim_lobby_name(&name) {
        warn!("could not claim the lobby name {name:?} ahead: {e}");
    }
}

/// Claims the name again once the player stopped typing it for a second
/// (not at every key: each claim is an mDNS probe).
fn claim_after_typing(
    matchmaker: Res<MatchmakerRes>,
    prefs: Res<Prefs>,
    time: Res<Time<Real>>,
    mut typed_at: Local<Option<std::time::Duration>>,
) {
    let now = time.elapsed();
    if prefs.is_changed() && !prefs.is_added() {
        *typed_at = Some(now);
    }
    if typed_at.is_some_and(|t| now.saturating_sub(t) >= std::time::Duration::from_secs(1)) {
        *typed_at = None;
        claim_lobby_name(matchmaker, prefs);
    }
}

fn name_label(name: &str) -> String {
    format!("{name}_")
}

fn edit_name(
    mut keys: MessageReader<KeyboardInput>,
    mut prefs: ResMut<Prefs>,
    mut field: Query<&mut Text, With<NameField>>,
) {
    if edit_line(&mut keys, &mut prefs.name, 16) == Edit::Changed {
        for mut text in &mut field {
            text.0 = name_label(&prefs.name);
        }
    }
}

fn menu_buttons(
    mut commands: Commands,
    buttons: Query<(&Interaction, &ButtonAction), Changed<Interaction>>,
    mut next: ResMut<NextState<Screen>>,
    mut exit: MessageWriter<AppExit>,
    prefs: Res<Prefs>,
    mut notice: ResMut<Notice>,
    mut form: ResMut<super::online::OnlineForm>,
) {
    for action in ui::pressed(&buttons) {
        match action {
            ButtonAction::HostLan => next.set(Screen::Lobby),
            ButtonAction::FindLan => next.set(Screen::Browser),
            ButtonAction::Settings => next.set(Screen::Settings),
            ButtonAction::HostOnline | ButtonAction::JoinByCode => {
                // Joining starts in the code field, hosting in the server field.
                form.field = usize::from(*action == ButtonAction::JoinByCode);
                next.set(Screen::Online);
            }
            ButtonAction::LocalVersus => {
                if let Err(e) = start_local_versus(&mut commands, &mut next, &prefs) {
                    notice.0 = Some(format!("Could not start a local match: {e}"));
                }
            }
            ButtonAction::Quit => {
                exit.write(AppExit::Success);
            }
            _ => {}
        }
    }
}
