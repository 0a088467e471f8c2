//! LAN browser: the live list of lobbies, with ping, seats, version and lock;
//! incompatible lobbies are greyed out with the reason.

use bevy::input::keyboard::KeyboardInput;
use bevy::prelude::*;
use nearplay::bevy::prelude::*;
use nearplay::matchmaker::LobbyStage;

use super::{Notice, Screen};
use crate::lobby_flow::join_lobby;
use crate::prefs::Prefs;
use crate::text_entry::{Edit, edit_line};
use crate::ui::{self, ButtonAction, Fonts};

/// The browser screen.
pub struct BrowserPlugin;

impl Plugin for BrowserPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(OnEnter(Screen::Browser), open_browser)
            .add_systems(OnExit(Screen::Browser), |mut c: Commands| {
                c.remove_resource::<Browsing>()
            })
            .add_systems(
                Update,
                (refresh_list, browser_buttons, edit_password).run_if(in_state(Screen::Browser)),
            );
    }
}

/// What the screen shows: the lobbies as last drawn (buttons name them
/// by index) and the password typed.
#[derive(Resource, Default)]
struct Browsing {
    shown: Vec<LobbyEntry>,
    drawn: bool,
    password: String,
}

#[derive(Component)]
struct LobbyList;

#[derive(Component)]
struct PasswordField;

fn open_browser(
    mut commands: Commands,
    fonts: Res<Fonts>,
    matchmaker: Res<MatchmakerRes>,
    mut notice: ResMut<Notice>,
) {
    let f = &*fonts;
    commands.insert_resource(Browsing::default());
    let status = match matchmaker.lan_status() {
        Ok(()) => "Looking for games on your network...".to_string(),
        Err(e) => format!("LAN discovery is not available: {e}"),
    };
    commands
        .spawn((ui::screen_root(), DespawnOnExit(Screen::Browser)))
        .with_children(|root| {
            root.spawn(ui::title(f, "LAN games", 48.0, ui::TEXT));
            root.spawn(ui::text(f, status, 18.0, ui::DIM));
            root.spawn((ui::panel(860.0), LobbyList));
            root.spawn(Node {
                column_gap: px(10),
                align_items: AlignItems::Center,
                ..default()
            })
            .with_children(|row| {
                row.spawn(ui::text(f, "Password for locked games:", 18.0, ui::DIM));
                row.spawn((ui::title(f, "_", 18.0, ui::TEXT), PasswordField));
            });
            if let Some(message) = notice.0.take() {
                root.spawn(ui::text(f, message, 18.0, ui::WARN));
            }
            root.spawn(ui::button(f, "Back", ButtonAction::BackToMenu));
        });
}

fn refresh_list(
    mut commands: Commands,
    browsing: Option<ResMut<Browsing>>,
    available: Res<AvailableLobbies>,
    fonts: Res<Fonts>,
    list: Query<Entity, With<LobbyList>>,
) {
    let Some(mut browsing) = browsing else { return };
    if !available.is_changed() && browsing.drawn {
        return;
    }
    let mut lobbies = available.lobbies.clone();
    lobbies.sort_by(|a, b| a.name.cmp(&b.name));
    let f = &*fonts;
    for panel in &list {
        commands.entity(panel).despawn_children();
        commands.entity(panel).with_children(|p| {
            header_row(p, f);
            if lobbies.is_empty() {
                p.spawn(ui::text(
                    f,
                    "No games yet. Ask a friend to press \"Host LAN game\".",
                    18.0,
                    ui::DIM,
                ));
            }
            for (i, lobby) in lobbies.iter().enumerate() {
                lobby_row(p, f, i, lobby);
            }
        });
    }
    browsing.shown = lobbies;
    browsing.drawn = true;
}

/// Column widths of the list: name, seats, ping, version, lock, action.
const COLUMNS: [f32; 6] = [300.0, 70.0, 90.0, 90.0, 80.0, 150.0];

fn row_node() -> Node {
    Node {
        height: px(40),
        align_items: AlignItems::Center,
        ..default()
    }
}

fn cell(column: usize) -> Node {
    Node {
        width: px(COLUMNS[column]),
        ..default()
    }
}

fn header_row(p: &mut ChildSpawnerCommands, f: &Fonts) {
    p.spawn(row_node()).with_children(|row| {
        for (i, label) in ["Game", "Players", "Ping", "Where", "", ""]
            .into_iter()
            .enumerate()
        {
            row.spawn(cell(i)).with_children(|c| {
                c.spawn(ui::text(f, label, 15.0, ui::DIM));
            });
        }
    });
}

fn lobby_row(p: &mut ChildSpawnerCommands, f: &Fonts, index: usize, lobby: &LobbyEntry) {
    let compatible = lobby.compatibility.is_compatible();
    let color = if compatible { ui::TEXT } else { ui::DIM };
    let ping = lobby
        .rtt
        .map(|d| format!("{:.1} ms", d.as_secs_f64() * 1000.0))
        .unwrap_or_else(|| "...".into());
    let lock = if lobby.password { "locked" } else { "" };
    p.spawn(row_node()).with_children(|row| {
        row.spawn(cell(0)).with_children(|c| {
            c.spawn(ui::title(f, lobby.name.clone(), 19.0, color));
        });
        let cells = [
            seats_text(lobby),
            ping,
            match lobby.place {
                LobbyPlace::Lan { .. } => "LAN".to_string(),
                LobbyPlace::Online { .. } => "online".to_string(),
            },
        ];
        for (i, value) in cells.into_iter().enumerate() {
            row.spawn(cell(i + 1)).with_children(|c| {
                c.spawn(ui::text(f, value, 17.0, color));
            });
        }
        row.spawn(cell(4)).with_children(|c| {
            c.spawn(ui::text(f, lock, 17.0, ui::WARN));
        });
        row.spawn(cell(5)).with_children(|c| {
            let lan = matches!(lobby.place, LobbyPlace::Lan { .. });
            let seat_free = match lobby.stage {
                LobbyStage::Open | LobbyStage::LateJoin => lobby.players < lobby.max_players,
                LobbyStage::InMatch => !lobby.vacant_seats.is_empty(),
            };
            if compatible && seat_free {
                c.spawn(ui::small_button(f, "Join", ButtonAction::JoinLobby(index)));
            } else if compatible && !lan {
                c.spawn(ui::text(f, "full", 15.0, ui::DIM));
            }
            if compatible && lan {
                c.spawn(ui::small_button(
                    f,
                    "Watch",
                    ButtonAction::WatchLobby(index),
                ));
            } else if !compatible {
                c.spawn(ui::text(f, lobby.compatibility.to_string(), 13.0, ui::DIM));
            }
        });
    });
}

/// The seats cell: "2/4" while the lobby takes joins; during a match
/// "in match - Bo's seat free" (vacant seats wait for their players),
/// "in match - 1 seat free" (late join) or "in match".
fn seats_text(lobby: &LobbyEntry) -> String {
    let open = lobby.max_players.saturating_sub(lobby.players);
    match (lobby.stage, lobby.vacant_seats.as_slice()) {
        (LobbyStage::Open, _) => format!("{}/{}", lobby.players, lobby.max_players),
        (_, [one]) => format!("in match - {one}'s seat free"),
        (_, [first, rest @ ..]) => format!("in match - {first}'s seat free (+{})", rest.len()),
        (LobbyStage::LateJoin, []) if open > 0 => {
            format!(
                "in match - {open} seat{} free",
                if open == 1 { "" } else { "s" }
            )
        }
        (_, []) => "in match".to_string(),
    }
}

fn edit_password(
    mut keys: MessageReader<KeyboardInput>,
    browsing: Option<ResMut<Browsing>>,
    mut field: Query<&mut Text, With<PasswordField>>,
) {
    let Some(mut browsing) = browsing else { return };
    if edit_line(&mut keys, &mut browsing.password, 32) == Edit::Changed {
        let masked = format!("{}_", "*".repeat(browsing.password.chars().count()));
        for mut text in &mut field {
            text.0.clone_from(&masked);
        }
    }
}

fn browser_buttons(
    buttons: Query<(&Interaction, &ButtonAction), Changed<Interaction>>,
    browsing: Option<Res<Browsing>>,
    prefs: Res<Prefs>,
    mut lobby: LobbyCommands,
    mut next: ResMut<NextState<Screen>>,
) {
    for action in ui::pressed(&buttons) {
        match action {
            ButtonAction::BackToMenu => next.set(Screen::Menu),
            ButtonAction::JoinLobby(i) | ButtonAction::WatchLobby(i) => {
                let Some(browsing) = browsing.as_deref() else {
                    continue;
                };
                let Some(entry) = browsing.shown.get(*i) else {
                    continue;
                };
                let password =
                    (!browsing.password.is_empty()).then_some(browsing.password.as_str());
                let watch = matches!(action, ButtonAction::WatchLobby(_));
                join_lobby(&mut lobby, entry, &prefs, password, watch);
                next.set(Screen::Lobby);
            }
            _ => {}
        }
    }
}
