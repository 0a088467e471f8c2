//! F3 network overlay (ping, kbps, rollbacks, input delay per peer) and the
//! banners for "X disconnected", "desync at frame N" and "reconnecting".

use bevy::prelude::*;
use nearplay::bevy::{DesyncReported, MatchControlReceived};
use nearplay::matchmaker::MatchControl;
use nearplay_netcode::bevy::{NetMessage, NetStatsRes};
use nearplay_netcode::{NetEvent, PeerAddr};

use crate::match_setup::MatchInfo;
use crate::screen::Screen;
use crate::ui::{self, Fonts};

/// Seconds a banner stays up.
const BANNER_SECONDS: f32 = 4.0;

/// The overlay and the banners.
pub struct OverlayPlugin;

impl Plugin for OverlayPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<OverlayVisible>()
            .add_systems(OnEnter(Screen::Match), spawn_overlay)
            .add_systems(
                Update,
                (toggle_overlay, update_overlay, show_banners, fade_banners)
                    .run_if(in_state(Screen::Match)),
            );
    }
}

/// Whether the F3 overlay is shown (kept between matches).
#[derive(Resource, Default)]
pub struct OverlayVisible(pub bool);

#[derive(Component)]
struct OverlayText;

#[derive(Component)]
struct BannerList;

#[derive(Component)]
struct NetBanner(f32);

/// The name of the seat a peer address belongs to.
pub fn seat_name(info: &MatchInfo, peer: PeerAddr) -> String {
    info.seats
        .iter()
        .find(|s| s.addr == Some(peer))
        .map(|s| s.name.clone())
        .unwrap_or_else(|| peer.to_string())
}

fn spawn_overlay(
    mut commands: Commands,
    fonts: Res<Fonts>,
    visible: Res<OverlayVisible>,
    replay: Option<Res<nearplay::bevy::ReplayPlaybackState<crate::sim::PlayerInput>>>,
) {
    // A replay has no network to show (and its viewer's status sits there).
    if replay.is_none() {
        commands.spawn((
            ui::text(&fonts, "", 15.0, ui::TEXT),
            OverlayText,
            Node {
                position_type: PositionType::Absolute,
                left: px(12),
                bottom: px(40),
                padding: UiRect::all(px(10)),
                ..default()
            },
            BackgroundColor(Color::srgba(0.0, 0.0, 0.0, 0.6)),
            if visible.0 {
                Visibility::Inherited
            } else {
                Visibility::Hidden
            },
            DespawnOnExit(Screen::Match),
        ));
    }
    commands.spawn((
        Node {
            position_type: PositionType::Absolute,
            top: px(90),
            width: percent(100),
            flex_direction: FlexDirection::Column,
            align_items: AlignItems::Center,
            row_gap: px(6),
            ..default()
        },
        BannerList,
        DespawnOnExit(Screen::Match),
    ));
}

fn toggle_overlay(
    keys: Res<ButtonInput<KeyCode>>,
    mut visible: ResMut<OverlayVisible>,
    mut overlay: Query<&mut Visibility, With<OverlayText>>,
) {
    if keys.just_pressed(KeyCode::F3) {
        visible.0 = !visible.0;
        for mut v in &mut overlay {
            *v = if visible.0 {
                Visibility::Inherited
            } else {
                Visibility::Hidden
            };
        }
    }
}

fn update_overlay(
    stats: Option<Res<NetStatsRes>>,
    info: Option<Res<MatchInfo>>,
    visible: Res<OverlayVisible>,
    mut overlay: Query<&mut Text, With<OverlayText>>,
) {
    let (Some(stats), Some(info), true) = (stats, info, visible.0) else {
        return;
    };
    let mut lines = vec![format!(
        "frame {}  confirmed {}  ahead {}  input delay {}",
        stats.current_frame, stats.confirmed_frame, stats.frames_ahead, info.input_delay
    )];
    lines.push(format!(
        "rollbacks {}  mean {:.1}  max {} frames  stalled {}",
        stats.rollbacks.rollbacks,
        stats.rollbacks.mean_depth(),
        stats.rollbacks.max_depth,
        stats.frames_stalled
    ));
    for peer in &stats.peers {
        let name = info
            .seats
            .get(peer.handle)
            .map(|s| s.name.as_str())
            .unwrap_or("?");
        let ping = peer
            .ping_ms
            .map(|p| format!("{p} ms"))
            .unwrap_or_else(|| "-".into());
        lines.push(format!(
            "{name}: ping {ping}  up {:.1} kbps  down {:.1} kbps  behind {}",
            peer.kbps_up, peer.kbps_down, peer.remote_frames_behind
        ));
    }
    if info.seats.iter().all(|s| s.local) {
        lines.push("local match: no network".into());
    }
    lines.push(format!("dropped datagrams {}", stats.drops.total()));
    for mut text in &mut overlay {
        text.0 = lines.join("\n");
    }
}

fn show_banners(
    mut commands: Commands,
    (mut events, mut news): (
        MessageReader<NetMessage>,
        MessageReader<MatchControlReceived>,
    ),
    mut reports: MessageReader<DesyncReported>,
    info: Option<Res<MatchInfo>>,
    fonts: Res<Fonts>,
    list: Query<Entity, With<BannerList>>,
) {
    let Some(info) = info else { return };
    let mut reports: Vec<String> = reports.read().map(crate::desync::describe).collect();
    // Our own connection: the lobby takes our seat back by itself.
    reports.extend(news.read().filter_map(|MatchControlReceived(n)| match n {
        MatchControl::Reconnecting { attempt } => {
            Some(format!("connection lost: reconnecting... (try {attempt})"))
        }
        MatchControl::Reconnected { .. } => Some("reconnected: catching up".into()),
        MatchControl::ReconnectGaveUp { error, .. } => {
            Some(format!("could not reconnect: {error}"))
        }
        _ => None,
    }));
    for text in reports {
        for parent in &list {
            commands.entity(parent).with_children(|l| {
                l.spawn((
                    ui::title(&fonts, text.clone(), 18.0, ui::WARN),
                    NetBanner(BANNER_SECONDS * 3.0),
                ));
            });
        }
    }
    for NetMessage(event) in events.read() {
        let text = match *event {
            NetEvent::PeerDisconnected { peer } => {
                format!("{} disconnected", seat_name(&info, peer))
            }
            NetEvent::NetworkInterrupted { peer, .. } => {
                format!("{}: connection interrupted", seat_name(&info, peer))
            }
            NetEvent::NetworkResumed { peer } => format!("{} is back", seat_name(&info, peer)),
            NetEvent::DesyncDetected { frame, peer, .. } => {
                format!("desync at frame {frame} with {}", seat_name(&info, peer))
            }
            NetEvent::SignalingClosed => "rendezvous server closing: the match goes on".into(),
            _ => continue,
        };
        for parent in &list {
            commands.entity(parent).with_children(|l| {
                l.spawn((
                    ui::title(&fonts, text.clone(), 22.0, ui::WARN),
                    NetBanner(BANNER_SECONDS),
                ));
            });
        }
    }
}

fn fade_banners(
    mut commands: Commands,
    time: Res<Time>,
    mut banners: Query<(Entity, &mut NetBanner)>,
) {
    for (entity, mut banner) in &mut banners {
        banner.0 -= time.delta_secs();
        if banner.0 <= 0.0 {
            commands.entity(entity).despawn();
        }
    }
}
