//! Results: the winner and scores; rematch, watch the replay, or back to
//! the menu.

use bevy::prelude::*;
use nearplay::bevy::{LastReplay, LobbyCommands, ReplayRecording};

use super::{Notice, Screen};
use crate::local::start_local_versus;
use crate::match_setup::{MatchInfo, end_match};
use crate::prefs::Prefs;
use crate::sim::{ArenaState, Phase, PlayerInput};
use crate::ui::{self, ButtonAction, Fonts};

/// The results screen.
pub struct ResultsPlugin;

impl Plugin for ResultsPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(OnEnter(Screen::Results), spawn_results)
            .add_systems(Update, results_buttons.run_if(in_state(Screen::Results)));
    }
}

fn spawn_results(
    mut lobby: LobbyCommands,
    fonts: Res<Fonts>,
    state: Option<Res<ArenaState>>,
    info: Option<Res<MatchInfo>>,
    recording: Option<Res<ReplayRecording<PlayerInput>>>,
    last: Option<Res<LastReplay<PlayerInput>>>,
) {
    let f = &*fonts;
    // The match just ended is saved when its session goes (below), or was.
    let replay = recording.is_some() || last.is_some();
    let (Some(state), Some(info)) = (state, info) else {
        let commands = lobby.commands();
        commands.spawn((ui::screen_root(), DespawnOnExit(Screen::Results)));
        return;
    };
    let headline = match state.phase {
        Phase::MatchOver { winner } => {
            let name = info
                .seats
                .get(usize::from(winner))
                .map(|s| s.name.as_str())
                .unwrap_or("?");
            (
                format!("{name} wins!"),
                ui::player_color(usize::from(winner)),
            )
        }
        _ => ("Match abandoned".to_string(), ui::DIM),
    };
    let mut ranking: Vec<(usize, u8)> = state.scores.iter().copied().enumerate().collect();
    ranking.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    lobby
        .commands()
        .spawn((ui::screen_root(), DespawnOnExit(Screen::Results)))
        .with_children(|root| {
            root.spawn(ui::title(f, headline.0, 64.0, headline.1));
            root.spawn(Node {
                height: px(16),
                ..default()
            });
            for (handle, score) in ranking {
                let name = info
                    .seats
                    .get(handle)
                    .map(|s| s.name.clone())
                    .unwrap_or_default();
                root.spawn(ui::title(
                    f,
                    format!("{name}   {score}"),
                    28.0,
                    ui::player_color(handle),
                ));
            }
            root.spawn(ui::text(
                f,
                format!("{} frames played", state.frame),
                16.0,
                ui::DIM,
            ));
            root.spawn(Node {
                height: px(16),
                ..default()
            });
            root.spawn(ui::button(f, "Rematch", ButtonAction::Rematch));
            if replay {
                root.spawn(ui::button(f, "Watch replay", ButtonAction::WatchReplay));
            }
            root.spawn(ui::button(f, "Back to menu", ButtonAction::BackToMenu));
        });
    end_match(&mut lobby);
}

fn results_buttons(
    mut lobby: LobbyCommands,
    buttons: Query<(&Interaction, &ButtonAction), Changed<Interaction>>,
    mut next: ResMut<NextState<Screen>>,
    info: Option<Res<MatchInfo>>,
    prefs: Res<Prefs>,
    mut notice: ResMut<Notice>,
) {
    let networked = info.as_ref().is_some_and(|i| i.networked);
    for action in ui::pressed(&buttons) {
        match action {
            ButtonAction::BackToMenu => {
                lobby.leave();
                next.set(Screen::Menu);
            }
            ButtonAction::Rematch if networked => {
                // Same members, a new match derived from the last plan: every
                // member who presses Rematch computes the same one, and the
                // arena opens when the lobby hands it over.
                if let Err(e) = lobby.rematch() {
                    notice.0 = Some(format!("The rematch could not start: {e}."));
                    lobby.leave();
                    next.set(Screen::Menu);
                }
            }
            ButtonAction::Rematch
                if start_local_versus(lobby.commands(), &mut next, &prefs).is_err() =>
            {
                next.set(Screen::Menu);
            }
            ButtonAction::WatchReplay => lobby.commands().queue(watch_last_replay),
            _ => {}
        }
    }
}

/// Plays the last match recorded, if there is one.
fn watch_last_replay(world: &mut World) {
    let Some(last) = world.remove_resource::<LastReplay<PlayerInput>>() else {
        return;
    };
    let file = last.file.clone();
    world.insert_resource(last);
    crate::replays::watch(world, file);
}
