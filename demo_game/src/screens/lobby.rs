//! Lobby: roster in player colours with ready marks, chat, ready toggle;
//! the host kicks and starts. Opening a hosted lobby happens on entry when
//! none is open yet (menu "Host LAN game").

use bevy::clipboard::Clipboard;
use bevy::input::keyboard::KeyboardInput;
use bevy::prelude::*;

use nearplay::bevy::prelude::*;

use super::Screen;
use crate::lobby_flow::{LobbyLog, host_lobby};
use crate::prefs::Prefs;
use crate::text_entry::{Edit, edit_line};
use crate::ui::{self, ButtonAction, Fonts};

/// The lobby screen.
pub struct LobbyPlugin;

impl Plugin for LobbyPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<ChatDraft>()
            .add_systems(OnEnter(Screen::Lobby), (ensure_lobby, spawn_lobby).chain())
            .add_systems(
                Update,
                (
                    draw_roster,
                    draw_log,
                    draw_ready,
                    lobby_buttons,
                    type_chat,
                    leave_on_escape,
                )
                    .run_if(in_state(Screen::Lobby)),
            );
    }
}

#[derive(Resource, Default)]
struct ChatDraft(String);

#[derive(Component)]
struct RosterPanel;

#[derive(Component)]
struct LogText;

#[derive(Component)]
struct ChatLine;

/// The menu's "Host LAN game" shows this screen with no lobby yet: open one.
fn ensure_lobby(current: Option<Res<CurrentLobby>>, mut lobby: LobbyCommands, prefs: Res<Prefs>) {
    if current.is_none() {
        host_lobby(&mut lobby, &prefs);
    }
}

/// Whether we said we are ready (our row of the roster).
fn we_are_ready(current: Option<&CurrentLobby>, roster: &Roster) -> bool {
    let you = current.and_then(|c| c.you);
    roster.iter().any(|m| Some(m.id) == you && m.ready)
}

#[derive(Component)]
struct ReadyLabel;

fn spawn_lobby(
    mut commands: Commands,
    fonts: Res<Fonts>,
    prefs: Res<Prefs>,
    current: Option<Res<CurrentLobby>>,
) {
    // The menu's "Host LAN game" opens the lobby as this screen appears.
    let hosting = current.as_ref().is_none_or(|c| c.is_host);
    let f = &*fonts;
    commands
        .spawn((ui::screen_root(), DespawnOnExit(Screen::Lobby)))
        .with_children(|root| {
            root.spawn(ui::title(f, "Lobby", 44.0, ui::TEXT));
            if let Some(code) = current.as_ref().and_then(|c| c.code) {
                root.spawn(Node {
                    column_gap: px(12),
                    align_items: AlignItems::Center,
                    ..default()
                })
                .with_children(|row| {
                    row.spawn(ui::text(f, "Room code", 20.0, ui::DIM));
                    row.spawn(ui::title(f, code.to_string(), 40.0, ui::player_color(3)));
                    row.spawn(ui::small_button(f, "Copy", ButtonAction::CopyCode));
                });
            }
            if prefs.password.is_some() {
                root.spawn(ui::text(
                    f,
                    "Private: joiners need the password.",
                    16.0,
                    ui::DIM,
                ));
            }
            root.spawn(Node {
                column_gap: px(20),
                ..default()
            })
            .with_children(|row| {
                row.spawn((ui::panel(420.0), RosterPanel));
                row.spawn(ui::panel(420.0)).with_children(|chat| {
                    chat.spawn((ui::text(f, "", 16.0, ui::TEXT), LogText));
                    chat.spawn((ui::text(f, "Say: _", 16.0, ui::DIM), ChatLine));
                });
            });
            root.spawn(Node {
                column_gap: px(8),
                ..default()
            })
            .with_children(|row| {
                row.spawn(ui::button(f, "Ready up", ButtonAction::ToggleReady))
                    .insert(ReadyLabel);
                if hosting {
                    row.spawn(ui::button(f, "Start match", ButtonAction::StartMatch));
                }
                row.spawn(ui::button(f, "Leave", ButtonAction::BackToMenu));
            });
            root.spawn(ui::text(
                f,
                "Type and press Enter to chat. The host starts when everyone is ready.\n\
                 Your key and your row's key on the host's screen match unless someone \
                 listens in between: compare all 16 characters.",
                14.0,
                ui::DIM,
            ));
        });
}

/// One roster line: member id, name, ready, spectator.
type RosterRow = (u32, String, bool, bool);

fn draw_roster(
    mut commands: Commands,
    current: Option<Res<CurrentLobby>>,
    roster: Res<Roster>,
    log: Res<LobbyLog>,
    fonts: Res<Fonts>,
    panel: Query<Entity, With<RosterPanel>>,
    mut drawn: Local<Option<(Vec<RosterRow>, usize, String)>>,
) {
    let Some(current) = current else { return };
    // Players first (in seat colours), then spectators apart.
    let mut now: Vec<RosterRow> = roster
        .iter()
        .map(|m| (m.id, m.name.clone(), m.ready, m.spectator))
        .collect();
    now.sort_by_key(|row| row.3);
    let watching = now.iter().filter(|row| row.3).count();
    let key = (now.clone(), log.fingerprints.len(), current.name.clone());
    if drawn.as_ref() == Some(&key) && !panel.is_empty() {
        return;
    }
    let f = &*fonts;
    for entity in &panel {
        commands.entity(entity).despawn_children();
        commands.entity(entity).with_children(|p| {
            p.spawn(ui::title(f, current.name.clone(), 22.0, ui::TEXT));
            p.spawn(ui::text(
                f,
                format!("{} playing, {watching} watching", roster.len() - watching),
                15.0,
                ui::DIM,
            ));
            if roster.is_empty() {
                p.spawn(ui::text(f, "Connecting...", 16.0, ui::DIM));
            }
            for (i, (id, name, ready, spectator)) in now.iter().enumerate() {
                p.spawn(Node {
                    column_gap: px(12),
                    align_items: AlignItems::Center,
                    ..default()
                })
                .with_children(|row| {
                    let color = match spectator {
                        true => ui::DIM,
                        false => ui::player_color(i),
                    };
                    row.spawn(ui::title(f, name.clone(), 20.0, color));
                    let (mark, color) = if *spectator {
                        ("watching", ui::DIM)
                    } else if *ready {
                        ("ready", ui::player_color(3))
                    } else {
                        ("not ready", ui::DIM)
                    };
                    row.spawn(ui::text(f, mark, 16.0, color));
                    // The channel's fingerprint: the member's row on the
                    // host's screen and on that member's own show the same
                    // four groups unless someone sits in between.
                    if let Some(fp) = log.fingerprints.get(id) {
                        row.spawn(ui::text(f, format!("key {fp}"), 14.0, ui::DIM));
                    }
                    if current.is_host && i > 0 {
                        row.spawn(ui::small_button(f, "Kick", ButtonAction::Kick(*id)));
                    }
                });
            }
        });
    }
    *drawn = Some(key);
}

fn draw_ready(
    current: Option<Res<CurrentLobby>>,
    roster: Res<Roster>,
    buttons: Query<&Children, With<ReadyLabel>>,
    mut texts: Query<&mut Text>,
) {
    if !roster.is_changed() && !current.as_ref().is_some_and(|c| c.is_changed()) {
        return;
    }
    let label = if we_are_ready(current.as_deref(), &roster) {
        "Ready \u{2713} (undo)"
    } else {
        "Ready up"
    };
    for children in &buttons {
        for child in children.iter() {
            if let Ok(mut text) = texts.get_mut(child) {
                text.0 = label.to_string();
            }
        }
    }
}

fn draw_log(log: Res<LobbyLog>, mut text: Query<&mut Text, With<LogText>>) {
    if !log.is_changed() {
        return;
    }
    let tail: Vec<&str> = log
        .lines
        .iter()
        .rev()
        .take(10)
        .rev()
        .map(String::as_str)
        .collect();
    for mut t in &mut text {
        t.0 = tail.join("\n");
    }
}

fn type_chat(
    mut keys: MessageReader<KeyboardInput>,
    mut draft: ResMut<ChatDraft>,
    mut lobby: LobbyCommands,
    mut log: ResMut<LobbyLog>,
    mut line: Query<&mut Text, With<ChatLine>>,
) {
    let edit = edit_line(&mut keys, &mut draft.0, 120);
    if edit == Edit::Submitted && !draft.0.trim().is_empty() {
        let text = std::mem::take(&mut draft.0);
        if let Err(e) = lobby.chat(text.trim()) {
            log.note(format!("Not sent: {e}."));
        }
    }
    if edit != Edit::None {
        for mut t in &mut line {
            t.0 = format!("Say: {}_", draft.0);
        }
    }
}

fn leave_on_escape(
    keys: Res<ButtonInput<KeyCode>>,
    mut lobby: LobbyCommands,
    mut next: ResMut<NextState<Screen>>,
) {
    if keys.just_pressed(KeyCode::Escape) {
        lobby.leave();
        next.set(Screen::Menu);
    }
}

fn lobby_buttons(
    buttons: Query<(&Interaction, &ButtonAction), Changed<Interaction>>,
    mut lobby: LobbyCommands,
    current: Option<Res<CurrentLobby>>,
    roster: Res<Roster>,
    mut log: ResMut<LobbyLog>,
    mut next: ResMut<NextState<Screen>>,
    mut clipboard: Option<ResMut<Clipboard>>,
) {
    for action in ui::pressed(&buttons) {
        let refused = match action {
            ButtonAction::ToggleReady => {
                lobby.set_ready(!we_are_ready(current.as_deref(), &roster))
            }
            ButtonAction::StartMatch => lobby.start(),
            ButtonAction::Kick(id) => lobby.kick(*id),
            ButtonAction::CopyCode => {
                if let (Some(code), Some(clipboard)) = (
                    current.as_ref().and_then(|c| c.code),
                    clipboard.as_deref_mut(),
                ) {
                    let copied = clipboard.set_text(code.to_string()).is_ok();
                    log.note(if copied {
                        format!("Copied {code}.")
                    } else {
                        format!("Could not copy; the code is {code}.")
                    });
                }
                Ok(())
            }
            ButtonAction::BackToMenu => {
                lobby.leave();
                next.set(Screen::Menu);
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(e) = refused {
            log.note(format!("Cannot do that yet: {e}."));
        }
    }
}
