//! Online: the rendezvous server to use, and a room code to join; or create
//! a room and share its code. Tab switches the field being typed into.

use bevy::input::keyboard::KeyboardInput;
use bevy::prelude::*;
use nearplay::bevy::LobbyCommands;

use super::{Notice, Screen};
use crate::online::{host_online, join_online};
use crate::prefs::Prefs;
use crate::text_entry::{Edit, edit_line};
use crate::ui::{self, ButtonAction, Fonts};

/// The online screen.
pub struct OnlinePlugin;

impl Plugin for OnlinePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<OnlineForm>()
            .add_systems(OnEnter(Screen::Online), spawn_online)
            .add_systems(
                Update,
                (type_in_form, online_buttons).run_if(in_state(Screen::Online)),
            );
    }
}

/// What the player typed: the room code, and which field takes the keys
/// (0 the server address, kept in `Prefs::rendezvous`; 1 the code).
#[derive(Resource, Default)]
pub struct OnlineForm {
    /// The room code typed so far.
    pub code: String,
    /// The field being typed into.
    pub field: usize,
}

#[derive(Component)]
struct FieldText(usize);

fn field_label(index: usize, value: &str, focused: bool) -> String {
    let cursor = if focused { "_" } else { "" };
    match index {
        0 => format!("Server: {value}{cursor}"),
        _ => format!("Room code: {value}{cursor}"),
    }
}

fn spawn_online(
    mut commands: Commands,
    fonts: Res<Fonts>,
    prefs: Res<Prefs>,
    form: Res<OnlineForm>,
    mut notice: ResMut<Notice>,
) {
    let f = &*fonts;
    commands
        .spawn((ui::screen_root(), DespawnOnExit(Screen::Online)))
        .with_children(|root| {
            root.spawn(ui::title(f, "Play online", 48.0, ui::TEXT));
            root.spawn(ui::text(
                f,
                "Friends on other networks meet through a rendezvous server (make rendezvous).",
                16.0,
                ui::DIM,
            ));
            for (i, value) in [prefs.rendezvous.as_str(), form.code.as_str()]
                .into_iter()
                .enumerate()
            {
                root.spawn(ui::small_button(
                    f,
                    field_label(i, value, i == form.field),
                    ButtonAction::Focus(i),
                ))
                .insert(FieldText(i));
            }
            root.spawn(ui::text(
                f,
                "Click a field or press Tab, then type.",
                14.0,
                ui::DIM,
            ));
            root.spawn(ui::button(f, "Create a room", ButtonAction::CreateRoom));
            root.spawn(ui::button(f, "Join the room", ButtonAction::JoinRoom));
            root.spawn(ui::button(f, "Watch the room", ButtonAction::WatchRoom));
            if let Some(message) = notice.0.take() {
                root.spawn(ui::text(f, message, 18.0, ui::WARN));
            }
            root.spawn(ui::button(f, "Back", ButtonAction::BackToMenu));
        });
}

fn redraw(
    form: &OnlineForm,
    prefs: &Prefs,
    fields: &Query<(&FieldText, &Children)>,
    texts: &mut Query<&mut Text>,
) {
    for (FieldText(i), children) in fields {
        let value = if *i == 0 {
            prefs.rendezvous.as_str()
        } else {
            form.code.as_str()
        };
        for child in children.iter() {
            if let Ok(mut text) = texts.get_mut(child) {
                text.0 = field_label(*i, value, *i == form.field);
            }
        }
    }
}

fn type_in_form(
    mut keys: MessageReader<KeyboardInput>,
    tab: Res<ButtonInput<KeyCode>>,
    mut form: ResMut<OnlineForm>,
    mut prefs: ResMut<Prefs>,
    fields: Query<(&FieldText, &Children)>,
    mut texts: Query<&mut Text>,
) {
    let mut changed = false;
    if tab.just_pressed(KeyCode::Tab) {
        form.field = 1 - form.field.min(1);
        changed = true;
    }
    let edit = if form.field == 0 {
        edit_line(&mut keys, &mut prefs.rendezvous, 64)
    } else {
        let edit = edit_line(&mut keys, &mut form.code, 8);
        form.code = form.code.to_uppercase();
        edit
    };
    if changed || edit == Edit::Changed {
        redraw(&form, &prefs, &fields, &mut texts);
    }
}

#[allow(clippy::too_many_arguments)]
fn online_buttons(
    mut lobby: LobbyCommands,
    buttons: Query<(&Interaction, &ButtonAction), Changed<Interaction>>,
    mut form: ResMut<OnlineForm>,
    prefs: Res<Prefs>,
    mut next: ResMut<NextState<Screen>>,
    mut notice: ResMut<Notice>,
    fields: Query<(&FieldText, &Children)>,
    mut texts: Query<&mut Text>,
) {
    for action in ui::pressed(&buttons) {
        let outcome = match action {
            ButtonAction::Focus(i) => {
                form.field = *i;
                redraw(&form, &prefs, &fields, &mut texts);
                continue;
            }
            ButtonAction::BackToMenu => {
                next.set(Screen::Menu);
                continue;
            }
            ButtonAction::CreateRoom => host_online(&mut lobby, &prefs.rendezvous, &prefs),
            ButtonAction::JoinRoom | ButtonAction::WatchRoom => join_online(
                &mut lobby,
                &prefs.rendezvous,
                form.code.trim(),
                &prefs,
                prefs.password.as_deref(),
                *action == ButtonAction::WatchRoom,
            ),
            _ => continue,
        };
        match outcome {
            Ok(()) => next.set(Screen::Lobby),
            // Enter this screen again to show the message.
            Err(message) => {
                notice.0 = Some(message);
                next.set(Screen::Online);
            }
        }
    }
}
