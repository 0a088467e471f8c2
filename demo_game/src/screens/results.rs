//! Results: the winner and scores; rematch or back to the menu.

use bevy::prelude::*;

use super::{Notice, Screen};
use crate::local::start_local_versus;
use crate::match_setup::{MatchInfo, end_match};
use crate::net::{LobbyConn, NetOptions, leave_lobby, start_lan_match};
use crate::prefs::Prefs;
use crate::sim::{ArenaState, Phase};
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
    mut commands: Commands,
    fonts: Res<Fonts>,
    state: Option<Res<ArenaState>>,
    info: Option<Res<MatchInfo>>,
) {
    let f = &*fonts;
    let (Some(state), Some(info)) = (state, info) else {
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
    commands
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
            root.spawn(ui::button(f, "Back to menu", ButtonAction::BackToMenu));
        });
    end_match(&mut commands);
}

#[allow(clippy::too_many_arguments)]
fn results_buttons(
    mut commands: Commands,
    buttons: Query<(&Interaction, &ButtonAction), Changed<Interaction>>,
    mut next: ResMut<NextState<Screen>>,
    info: Option<Res<MatchInfo>>,
    prefs: Res<Prefs>,
    mut conn: Option<ResMut<LobbyConn>>,
    options: Res<NetOptions>,
    mut notice: ResMut<Notice>,
) {
    let plan = info.as_ref().and_then(|i| i.plan.clone());
    for action in ui::pressed(&buttons) {
        match action {
            ButtonAction::BackToMenu => {
                leave_lobby(&mut commands, conn.as_deref_mut());
                next.set(Screen::Menu);
            }
            ButtonAction::Rematch if plan.is_some() => {
                // Same members, a new match derived from the last plan: every
                // member who presses Rematch computes the same one.
                let (Some(plan), Some(conn)) = (plan.as_ref(), conn.as_deref_mut()) else {
                    notice.0 = Some("The lobby is gone: host or join a new game.".into());
                    next.set(Screen::Menu);
                    continue;
                };
                if let Err(e) =
                    start_lan_match(&mut commands, &mut next, conn, &plan.rematch(), &options)
                {
                    notice.0 = Some(format!("The rematch could not start: {e}"));
                    next.set(Screen::Menu);
                }
            }
            ButtonAction::Rematch
                if start_local_versus(&mut commands, &mut next, &prefs).is_err() =>
            {
                next.set(Screen::Menu);
            }
            _ => {}
        }
    }
}
