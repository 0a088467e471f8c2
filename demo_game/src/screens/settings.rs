//! Settings: input delay, players per hosted lobby, sound.

use bevy::prelude::*;

use super::Screen;
use crate::prefs::Prefs;
use crate::ui::{self, ButtonAction, Fonts};

/// The settings screen.
pub struct SettingsPlugin;

impl Plugin for SettingsPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(OnEnter(Screen::Settings), spawn_settings)
            .add_systems(Update, settings_buttons.run_if(in_state(Screen::Settings)));
    }
}

#[derive(Component)]
struct SettingLabel(ButtonAction);

fn label(action: &ButtonAction, prefs: &Prefs) -> String {
    match action {
        ButtonAction::CycleInputDelay => format!("Input delay: {} frames", prefs.input_delay),
        ButtonAction::CyclePlayers => format!("Players when hosting: {}", prefs.players),
        ButtonAction::ToggleSound => format!("Sound: {}", if prefs.sound { "on" } else { "off" }),
        _ => String::new(),
    }
}

fn spawn_settings(mut commands: Commands, fonts: Res<Fonts>, prefs: Res<Prefs>) {
    let f = &*fonts;
    commands
        .spawn((ui::screen_root(), DespawnOnExit(Screen::Settings)))
        .with_children(|root| {
            root.spawn(ui::title(f, "Settings", 48.0, ui::TEXT));
            for action in [
                ButtonAction::CycleInputDelay,
                ButtonAction::CyclePlayers,
                ButtonAction::ToggleSound,
            ] {
                root.spawn(ui::button(f, label(&action, &prefs), action.clone()))
                    .insert(SettingLabel(action));
            }
            root.spawn(ui::text(
                f,
                "Input delay hides network latency: 2 frames suit a LAN, 3-4 a busy Wi-Fi.",
                16.0,
                ui::DIM,
            ));
            root.spawn(ui::button(f, "Back", ButtonAction::BackToMenu));
        });
}

fn settings_buttons(
    buttons: Query<(&Interaction, &ButtonAction), Changed<Interaction>>,
    mut prefs: ResMut<Prefs>,
    mut next: ResMut<NextState<Screen>>,
    labels: Query<(&SettingLabel, &Children)>,
    mut texts: Query<&mut Text>,
) {
    let mut changed = false;
    for action in ui::pressed(&buttons) {
        match action {
            ButtonAction::CycleInputDelay => prefs.input_delay = (prefs.input_delay + 1) % 6,
            ButtonAction::CyclePlayers => {
                prefs.players = if prefs.players >= 4 {
                    2
                } else {
                    prefs.players + 1
                }
            }
            ButtonAction::ToggleSound => prefs.sound = !prefs.sound,
            ButtonAction::BackToMenu => next.set(Screen::Menu),
            _ => continue,
        }
        changed = true;
    }
    if changed {
        for (setting, children) in &labels {
            for child in children.iter() {
                if let Ok(mut text) = texts.get_mut(child) {
                    text.0 = label(&setting.0, &prefs);
                }
            }
        }
    }
}
