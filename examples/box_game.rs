//! bevy_ggrs's box game (its `examples/box_game`), matched over the LAN by
//! nearplay instead of addresses typed by hand.
//!
//! On two machines of one LAN (or twice on one machine):
//!
//! ```text
//! cargo run --example box_game --features bevy -- host
//! cargo run --example box_game --features bevy
//! ```
//!
//! The first hosts a lobby; the second joins the first lobby it finds;
//! both ready up and the match starts when two players are ready. WASD
//! moves your box. Run with `RUST_LOG=nearplay=info` (the default shows
//! it) to follow the lobby on the terminal.
//!
//! Next to bevy_ggrs's `box_game_p2p`, nearplay replaces the command-line
//! addresses, the session builder and the socket with the plugin, one
//! system that hosts or joins (`matchmake`), and `OnEnter(NetState::InMatch)`
//! for what the original ran at `Startup`.
//!
//! Ported to 2D (sprites seen from above: the original's x and -z are x and
//! y here) because the workspace builds Bevy without its 3D renderer.

use bevy::platform::collections::HashMap;
use bevy::prelude::*;
use bevy::window::WindowResolution;
use bevy_ggrs::prelude::*;
use bevy_ggrs::{LocalInputs, LocalPlayers};
use nearplay::bevy::prelude::*;
use serde::{Deserialize, Serialize};

const BLUE: Color = Color::srgb(0.8, 0.6, 0.2);
const ORANGE: Color = Color::srgb(0., 0.35, 0.8);
const MAGENTA: Color = Color::srgb(0.9, 0.2, 0.2);
const GREEN: Color = Color::srgb(0.35, 0.7, 0.35);
const PLAYER_COLORS: [Color; 4] = [BLUE, ORANGE, MAGENTA, GREEN];

const INPUT_UP: u8 = 1 << 0;
const INPUT_DOWN: u8 = 1 << 1;
const INPUT_LEFT: u8 = 1 << 2;
const INPUT_RIGHT: u8 = 1 << 3;

const ACCELERATION: f32 = 18.0;
const MAX_SPEED: f32 = 3.0;
const FRICTION: f32 = 0.0018;
const PLANE_SIZE: f32 = 5.0;
const CUBE_SIZE: f32 = 0.2;
/// Pixels per world unit (the plane fills most of the window).
const PIXELS_PER_UNIT: f32 = 130.0;

/// The GGRS config: bevy_ggrs's default with nearplay's peer address.
type BoxConfig = GgrsConfig<BoxInput, PeerAddr>;

#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
struct BoxInput(u8);

#[derive(Default, Component)]
#[require(Rollback)]
struct Player {
    handle: usize,
}

#[derive(Default, Reflect, Component, Clone, Copy, Deref, DerefMut)]
struct Velocity(Vec3);

#[derive(Resource, Default, Reflect, Hash, Clone, Copy)]
#[reflect(Hash)]
struct FrameCount {
    frame: u32,
}

/// `host` on the command line: host the lobby; otherwise join one.
#[derive(Resource)]
struct Hosting(bool);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let hosting = std::env::args().nth(1).as_deref() == Some("host");
    let config = MatchmakerConfig::new("box_game", "0.22");
    App::new()
        .add_plugins(DefaultPlugins.set(WindowPlugin {
            primary_window: Some(Window {
                resolution: WindowResolution::new(720, 720),
                title: "GGRS Box Game (nearplay)".to_owned(),
                ..default()
            }),
            ..default()
        }))
        .add_plugins(
            NearplayPlugin::<BoxConfig>::new(config)?
                .auto_ready(true)
                .start_when_ready(2),
        )
        .add_systems(ReadInputs, read_local_inputs)
        .rollback_resource_with_copy::<FrameCount>()
        .rollback_component_with_copy::<Velocity>()
        .rollback_component_with_clone::<Transform>()
        .checksum_resource_with_hash::<FrameCount>()
        .insert_resource(FrameCount { frame: 0 })
        .insert_resource(Hosting(hosting))
        .add_systems(Update, matchmake.run_if(in_state(NetState::Browsing)))
        .add_systems(OnEnter(NetState::InMatch), setup_system)
        .add_systems(GgrsSchedule, (move_cube_system, increase_frame_system))
        .run();
    Ok(())
}

/// Hosts, or joins the first lobby with a free seat the LAN shows.
fn matchmake(mut lobby: LobbyCommands, list: Res<AvailableLobbies>, hosting: Res<Hosting>) {
    let found = list.joinable().next();
    if hosting.0 {
        lobby.host(LobbySettings::new("box game", "host"));
    } else if let Some(entry) = found {
        lobby.join(entry, PlayerSettings::new("guest"));
    }
}

fn read_local_inputs(
    mut commands: Commands,
    keyboard_input: Res<ButtonInput<KeyCode>>,
    local_players: Res<LocalPlayers>,
) {
    let mut local_inputs = HashMap::new();
    for handle in &local_players.0 {
        let mut input: u8 = 0;
        if keyboard_input.pressed(KeyCode::KeyW) {
            input |= INPUT_UP;
        }
        if keyboard_input.pressed(KeyCode::KeyA) {
            input |= INPUT_LEFT;
        }
        if keyboard_input.pressed(KeyCode::KeyS) {
            input |= INPUT_DOWN;
        }
        if keyboard_input.pressed(KeyCode::KeyD) {
            input |= INPUT_RIGHT;
        }
        local_inputs.insert(*handle, BoxInput(input));
    }
    commands.insert_resource(LocalInputs::<BoxConfig>(local_inputs));
}

/// The box game's `setup_system`, run when the match starts (the session
/// is there from then on) instead of at `Startup`.
fn setup_system(mut commands: Commands, session: Res<Session<BoxConfig>>) {
    let num_players = match &*session {
        Session::SyncTest(s) => s.num_players(),
        Session::P2P(s) => s.num_players(),
        Session::Spectator(s) => s.num_players(),
    };
    // A ground plane
    commands.spawn(Sprite::from_color(
        Color::srgb(0.3, 0.5, 0.3),
        Vec2::splat(PLANE_SIZE),
    ));
    let r = PLANE_SIZE / 4.;
    for handle in 0..num_players {
        let rot = handle as f32 / num_players as f32 * 2. * std::f32::consts::PI;
        let transform = Transform::from_xyz(r * rot.cos(), r * rot.sin(), 1.0);
        let color = PLAYER_COLORS[handle % PLAYER_COLORS.len()];
        commands.spawn((
            Sprite::from_color(color, Vec2::splat(CUBE_SIZE)),
            transform,
            Player { handle },
            Velocity::default(),
        ));
    }
    // camera, looking down at the plane
    commands.spawn((
        Camera2d,
        Projection::Orthographic(OrthographicProjection {
            scale: 1.0 / PIXELS_PER_UNIT,
            ..OrthographicProjection::default_2d()
        }),
    ));
}

fn increase_frame_system(mut frame_count: ResMut<FrameCount>) {
    frame_count.frame += 1;
}

fn move_cube_system(
    mut query: Query<(&mut Transform, &mut Velocity, &Player), With<Rollback>>,
    inputs: Res<PlayerInputs<BoxConfig>>,
    time: Res<Time>,
) {
    let dt = time.delta().as_secs_f32();
    for (mut t, mut v, p) in query.iter_mut() {
        let input = inputs[p.handle].0.0;
        if input & INPUT_UP != 0 && input & INPUT_DOWN == 0 {
            v.y += ACCELERATION * dt;
        }
        if input & INPUT_UP == 0 && input & INPUT_DOWN != 0 {
            v.y -= ACCELERATION * dt;
        }
        if input & INPUT_LEFT != 0 && input & INPUT_RIGHT == 0 {
            v.x -= ACCELERATION * dt;
        }
        if input & INPUT_LEFT == 0 && input & INPUT_RIGHT != 0 {
            v.x += ACCELERATION * dt;
        }
        if input & INPUT_UP == 0 && input & INPUT_DOWN == 0 {
            v.y *= FRICTION.powf(dt);
        }
        if input & INPUT_LEFT == 0 && input & INPUT_RIGHT == 0 {
            v.x *= FRICTION.powf(dt);
        }
        **v = v.clamp_length_max(MAX_SPEED);
        t.translation += **v * dt;
        let half_width = (PLANE_SIZE - CUBE_SIZE) * 0.5;
        t.translation.x = t.translation.x.clamp(-half_width, half_width);
        t.translation.y = t.translation.y.clamp(-half_width, half_width);
    }
}
