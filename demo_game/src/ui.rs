//! Shared look: palette, fonts, and small widget builders used by every screen.

use bevy::prelude::*;

/// Window clear colour: deep night blue.
pub const BACKGROUND: Color = Color::srgb(0.05, 0.07, 0.12);
/// Panel colour behind lists.
pub const PANEL: Color = Color::srgba(0.12, 0.16, 0.25, 0.92);
/// Plain text.
pub const TEXT: Color = Color::srgb(0.92, 0.94, 0.98);
/// Secondary text.
pub const DIM: Color = Color::srgb(0.55, 0.6, 0.7);
/// Warnings and errors.
pub const WARN: Color = Color::srgb(1.0, 0.45, 0.35);
/// Buttons at rest, hovered, pressed.
pub const BUTTON: [Color; 3] = [
    Color::srgb(0.16, 0.22, 0.36),
    Color::srgb(0.22, 0.32, 0.52),
    Color::srgb(0.32, 0.55, 0.8),
];
/// One colour per player handle.
pub const PLAYER_COLORS: [Color; 4] = [
    Color::srgb(0.25, 0.8, 1.0),
    Color::srgb(1.0, 0.55, 0.15),
    Color::srgb(0.95, 0.3, 0.75),
    Color::srgb(0.55, 0.95, 0.3),
];

/// The colour of a player handle.
pub fn player_color(handle: usize) -> Color {
    PLAYER_COLORS[handle % PLAYER_COLORS.len()]
}

/// The game's fonts (loaded once from `assets/fonts`).
#[derive(Resource, Clone)]
pub struct Fonts {
    /// Titles and buttons.
    pub bold: Handle<Font>,
    /// Body text.
    pub regular: Handle<Font>,
}

/// What a button does when pressed; each screen matches on its own actions.
#[derive(Component, Clone, Debug, PartialEq)]
pub enum ButtonAction {
    /// Main menu: host a LAN lobby.
    HostLan,
    /// Main menu: open the LAN browser.
    FindLan,
    /// Main menu: two players on one keyboard.
    LocalVersus,
    /// Main menu: settings.
    Settings,
    /// Main menu: quit.
    Quit,
    /// Back to the main menu.
    BackToMenu,
    /// Browser: join the lobby at this index of the list.
    JoinLobby(usize),
    /// Watch the match of the n-th lobby of the browser as a spectator.
    WatchLobby(usize),
    /// Lobby: toggle ready.
    ToggleReady,
    /// Lobby (host): start the match.
    StartMatch,
    /// Lobby (host): kick a player by id.
    Kick(u32),
    /// Settings: change the input delay.
    CycleInputDelay,
    /// Settings: sound on/off.
    ToggleSound,
    /// Settings: change the player count of hosted lobbies.
    CyclePlayers,
    /// Results: play again in the same lobby.
    Rematch,
    /// Results: watch the match just played.
    WatchReplay,
    /// Main menu: host a room on a rendezvous server.
    HostOnline,
    /// Main menu: join a room by its code.
    JoinByCode,
    /// Online screen: create the room.
    CreateRoom,
    /// Online screen: join the typed code.
    JoinRoom,
    /// Online screen: watch the typed code's match as a spectator.
    WatchRoom,
    /// Online screen: type into this field (0 server, 1 code).
    Focus(usize),
    /// Lobby: copy the room code.
    CopyCode,
}

/// Registers fonts and button hover/press colours.
pub struct UiPlugin;

impl Plugin for UiPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(ClearColor(BACKGROUND))
            .init_resource::<Fonts>()
            .add_systems(Update, button_colors);
    }
}

impl FromWorld for Fonts {
    fn from_world(world: &mut World) -> Self {
        let assets = world.resource::<AssetServer>();
        Fonts {
            bold: assets.load("fonts/DejaVuSans-Bold.ttf"),
            regular: assets.load("fonts/DejaVuSans.ttf"),
        }
    }
}

fn button_colors(
    mut buttons: Query<(&Interaction, &mut BackgroundColor), (Changed<Interaction>, With<Button>)>,
) {
    for (interaction, mut color) in &mut buttons {
        color.0 = match interaction {
            Interaction::None => BUTTON[0],
            Interaction::Hovered => BUTTON[1],
            Interaction::Pressed => BUTTON[2],
        };
    }
}

/// Text with the given font, size and colour.
pub fn text(fonts: &Fonts, value: impl Into<String>, size: f32, color: Color) -> impl Bundle {
    (
        Text::new(value),
        TextFont {
            font: fonts.regular.clone().into(),
            font_size: FontSize::Px(size),
            ..default()
        },
        TextColor(color),
    )
}

/// Bold text, for titles.
pub fn title(fonts: &Fonts, value: impl Into<String>, size: f32, color: Color) -> impl Bundle {
    (
        Text::new(value),
        TextFont {
            font: fonts.bold.clone().into(),
            font_size: FontSize::Px(size),
            ..default()
        },
        TextColor(color),
    )
}

/// A rounded button with a label.
pub fn button(fonts: &Fonts, label: impl Into<String>, action: ButtonAction) -> impl Bundle {
    (
        Button,
        action,
        Node {
            width: px(300),
            height: px(52),
            margin: UiRect::all(px(6)),
            justify_content: JustifyContent::Center,
            align_items: AlignItems::Center,
            border_radius: BorderRadius::all(px(10)),
            ..default()
        },
        BackgroundColor(BUTTON[0]),
        children![title(fonts, label, 22.0, TEXT)],
    )
}

/// A small button (lists, toggles).
pub fn small_button(fonts: &Fonts, label: impl Into<String>, action: ButtonAction) -> impl Bundle {
    (
        Button,
        action,
        Node {
            padding: UiRect::axes(px(14), px(6)),
            margin: UiRect::all(px(4)),
            justify_content: JustifyContent::Center,
            align_items: AlignItems::Center,
            border_radius: BorderRadius::all(px(8)),
            ..default()
        },
        BackgroundColor(BUTTON[0]),
        children![title(fonts, label, 16.0, TEXT)],
    )
}

/// A full-window column that centres its children: the root of a screen.
pub fn screen_root() -> Node {
    Node {
        width: percent(100),
        height: percent(100),
        flex_direction: FlexDirection::Column,
        align_items: AlignItems::Center,
        justify_content: JustifyContent::Center,
        row_gap: px(8),
        ..default()
    }
}

/// A panel box for lists.
pub fn panel(width: f32) -> impl Bundle {
    (
        Node {
            width: px(width),
            flex_direction: FlexDirection::Column,
            padding: UiRect::all(px(14)),
            row_gap: px(6),
            border_radius: BorderRadius::all(px(12)),
            ..default()
        },
        BackgroundColor(PANEL),
    )
}

/// Returns the actions of buttons pressed this frame.
pub fn pressed<'a>(
    query: &'a Query<(&Interaction, &ButtonAction), Changed<Interaction>>,
) -> impl Iterator<Item = &'a ButtonAction> + 'a {
    query
        .iter()
        .filter(|(i, _)| **i == Interaction::Pressed)
        .map(|(_, a)| a)
}
