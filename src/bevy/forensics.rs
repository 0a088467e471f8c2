//! [`ForensicsPlugin`]: on a desync, every peer writes what it had.
//!
//! The game registers the rollback state worth comparing
//! (`app.forensic_resource::<ArenaState>()`, `app.forensic_component::<Pos>()`:
//! `Clone + Serialize`) and chooses a directory
//! ([`NearplayPlugin::desync_reports`](super::NearplayPlugin::desync_reports)
//! or [`ForensicsOptions`]). While a match runs the plugin clones the
//! registered values at every `SaveWorld` (the state GGRS checksums as that
//! frame) and the inputs of every `AdvanceWorld` into bounded
//! [`FrameRing`]s: `max_prediction + desync_interval +`
//! [`DETECTION_SLACK_FRAMES`](nearplay_netcode::forensics::DETECTION_SLACK_FRAMES)
//! frames, since bevy_ggrs drops its own snapshots before GGRS detects a
//! desync (bevy_ggrs issue 117). Values are serialised only for a report.
//!
//! Rings are opened by [`MatchStarted`], so matches the lobby starts are
//! covered (a session inserted by hand is not). On the match's first
//! `NetEvent::DesyncDetected` (GGRS compares
//! checksums only when the plan's `settings.desync_interval` is not 0; the
//! default is every 10 frames) it writes a
//! [`DesyncReport`](nearplay_netcode::forensics::DesyncReport) and sends
//! [`DesyncReported`] saying where. Compare two peers' reports with
//! [`diff_reports`](nearplay_netcode::forensics::diff_reports).

use std::any::type_name;
use std::collections::{BTreeMap, HashMap};
use std::marker::PhantomData;
use std::path::PathBuf;

use bevy::ecs::message::Message;
use bevy::prelude::*;
use bevy_ggrs::ggrs::{Config, InputStatus};
use bevy_ggrs::{
    AdvanceWorld, ConfirmedFrameCount, PlayerInputs, RollbackFrameCount, RollbackId,
    RollbackOrdered, SaveWorld, SaveWorldSystems,
};
use nearplay_netcode::bevy::NetMessage;
use nearplay_netcode::forensics::{
    DesyncReport, EntityState, ForensicsError, FrameInputs, FrameRing, FrameState,
    MAX_REPORT_FRAMES, PlanSummary, PlayerInputRecord, REPORT_FORMAT, REPORT_VERSION, ring_frames,
};
use nearplay_netcode::{NetEvent, PeerAddr};
use serde::Serialize;
use serde_json::Value;

use super::matches::CurrentMatch;
use super::messages::MatchStarted;

/// A registered value cloned at one frame, serialised on demand.
type Snapshot = Box<dyn Fn() -> Result<Value, String> + Send + Sync>;

/// Every rollback entity's value of one component, by stable order.
type ComponentCapture = fn(&mut World, &HashMap<RollbackId, u64>) -> Vec<(u64, Snapshot)>;

/// What one frame's capture holds.
#[derive(Default)]
struct FrameCapture {
    resources: Vec<(&'static str, Snapshot)>,
    components: Vec<(u64, &'static str, Snapshot)>,
}

/// How a registered type is captured from the world.
#[derive(Clone, Copy)]
enum Capture {
    Resource(fn(&World) -> Option<Snapshot>),
    Component(ComponentCapture),
}

/// The types the game registered, by short type name.
#[derive(Resource, Default, Clone)]
struct ForensicRegistry(Vec<(&'static str, Capture)>);

/// Where reports go. Default: nowhere (nothing is captured).
#[derive(Resource, Clone, Debug, Default)]
pub struct ForensicsOptions {
    /// The directory reports are written to (created when needed);
    /// `None` turns capture off.
    pub dir: Option<PathBuf>,
    /// The game and its version, written into reports.
    pub game: String,
}

/// A desync was detected and this peer's report written (or not: why).
#[derive(Message, Debug)]
pub struct DesyncReported {
    /// The frame whose checksums differed.
    pub frame: i32,
    /// Where the report is, or why it could not be written.
    pub result: Result<PathBuf, ForensicsError>,
}

/// This match's rings (inserted at its start while reports are on).
#[derive(Resource)]
struct ForensicRings<C: Config> {
    states: FrameRing<FrameCapture>,
    inputs: FrameRing<Vec<(C::Input, InputStatus)>>,
    reported: bool,
}

/// Registration of forensic state on the `App`.
pub trait ForensicsAppExt {
    /// Captures resource `R` at every saved frame (a rollback resource).
    fn forensic_resource<R: Resource + Clone + Serialize>(&mut self) -> &mut Self;
    /// Captures component `T` of every rollback entity at every saved frame.
    fn forensic_component<T: Component + Clone + Serialize>(&mut self) -> &mut Self;
}

fn short_name<T>() -> &'static str {
    let full = type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

fn snapshot<T: Clone + Serialize + Send + Sync + 'static>(value: &T) -> Snapshot {
    let value = value.clone();
    Box::new(move || serde_json::to_value(&value).map_err(|e| e.to_string()))
}

impl ForensicsAppExt for App {
    fn forensic_resource<R: Resource + Clone + Serialize>(&mut self) -> &mut Self {
        let capture = Capture::Resource(|world| world.get_resource::<R>().map(snapshot));
        self.init_resource::<ForensicRegistry>();
        let mut registry = self.world_mut().resource_mut::<ForensicRegistry>();
        registry.0.push((short_name::<R>(), capture));
        self
    }

    fn forensic_component<T: Component + Clone + Serialize>(&mut self) -> &mut Self {
        let capture = Capture::Component(|world, order| {
            let mut query = world.query::<(&RollbackId, &T)>();
            query
                .iter(world)
                .filter_map(|(id, value)| order.get(id).map(|o| (*o, snapshot(value))))
                .collect()
        });
        self.init_resource::<ForensicRegistry>();
        let mut registry = self.world_mut().resource_mut::<ForensicRegistry>();
        registry.0.push((short_name::<T>(), capture));
        self
    }
}

/// The forensics sub-plugin of [`NearplayPlugin`](super::NearplayPlugin).
pub struct ForensicsPlugin<C> {
    _config: PhantomData<fn() -> C>,
}

impl<C> Default for ForensicsPlugin<C> {
    fn default() -> Self {
        ForensicsPlugin {
            _config: PhantomData,
        }
    }
}

impl<C: Config<Address = PeerAddr>> Plugin for ForensicsPlugin<C> {
    fn build(&self, app: &mut App) {
        app.init_resource::<ForensicRegistry>()
            .init_resource::<ForensicsOptions>()
            .add_message::<DesyncReported>()
            .add_systems(
                SaveWorld,
                capture_frame::<C>.after(SaveWorldSystems::Snapshot),
            )
            .add_systems(AdvanceWorld, record_inputs::<C>)
            .add_systems(PostUpdate, (open_rings::<C>, write_report::<C>).chain());
    }
}

/// A new match: fresh rings sized from its plan, if reports are on.
fn open_rings<C: Config>(
    mut commands: Commands,
    mut started: MessageReader<MatchStarted>,
    options: Res<ForensicsOptions>,
) {
    let Some(MatchStarted { plan }) = started.read().last() else {
        return;
    };
    commands.remove_resource::<ForensicRings<C>>();
    if options.dir.is_some() {
        let frames = ring_frames(plan.settings.max_prediction, plan.settings.desync_interval);
        commands.insert_resource(ForensicRings::<C> {
            states: FrameRing::new(frames),
            inputs: FrameRing::new(frames),
            reported: false,
        });
    }
}

/// In `SaveWorld`: clones every registered value of the frame being saved.
fn capture_frame<C: Config>(world: &mut World) {
    if !world.contains_resource::<ForensicRings<C>>() {
        return;
    }
    let frame = world
        .get_resource::<RollbackFrameCount>()
        .map_or(0, |f| f.0);
    let registry = world.resource::<ForensicRegistry>().clone();
    let order: HashMap<RollbackId, u64> = world
        .get_resource::<RollbackOrdered>()
        .map(|o| o.iter_sorted().zip(0u64..).collect())
        .unwrap_or_default();
    let mut capture = FrameCapture::default();
    for (name, how) in registry.0 {
        match how {
            Capture::Resource(take) => capture.resources.extend(take(world).map(|s| (name, s))),
            Capture::Component(take) => capture.components.extend(
                take(world, &order)
                    .into_iter()
                    .map(|(entity, s)| (entity, name, s)),
            ),
        }
    }
    if let Some(mut rings) = world.get_resource_mut::<ForensicRings<C>>() {
        rings.states.insert(frame, capture);
    }
}

/// In `AdvanceWorld`: the inputs that advance frame `count - 1`.
fn record_inputs<C: Config>(
    frame: Res<RollbackFrameCount>,
    inputs: Option<Res<PlayerInputs<C>>>,
    rings: Option<ResMut<ForensicRings<C>>>,
) {
    if let (Some(inputs), Some(mut rings)) = (inputs, rings) {
        rings.inputs.insert(frame.0 - 1, inputs.to_vec());
    }
}

/// On the match's first desync: write the report, say where.
fn write_report<C: Config>(
    mut events: MessageReader<NetMessage>,
    rings: Option<ResMut<ForensicRings<C>>>,
    current: Option<Res<CurrentMatch>>,
    confirmed: Option<Res<ConfirmedFrameCount>>,
    options: Res<ForensicsOptions>,
    mut reported: MessageWriter<DesyncReported>,
) {
    let desync = events.read().find_map(|NetMessage(e)| match *e {
        NetEvent::DesyncDetected { .. } => Some(*e),
        _ => None,
    });
    let (Some(event), Some(mut rings), Some(current), Some(dir)) =
        (desync, rings, current, options.dir.as_ref())
    else {
        return;
    };
    let NetEvent::DesyncDetected {
        frame,
        local_checksum,
        remote_checksum,
        peer,
    } = event
    else {
        return;
    };
    if std::mem::replace(&mut rings.reported, true) {
        return;
    }
    let plan = &current.plan;
    let mut report = DesyncReport {
        format: REPORT_FORMAT.into(),
        version: REPORT_VERSION,
        game: options.game.clone(),
        frame,
        detected_at: rings.states.iter().last().map_or(frame, |(f, _)| f),
        local_checksum: format!("{local_checksum:032x}"),
        remote_checksum: format!("{remote_checksum:032x}"),
        peer: peer.to_string(),
        seed: plan.seed,
        plan: PlanSummary::from(plan),
        states: Vec::new(),
        inputs: Vec::new(),
        notes: Vec::new(),
    };
    let confirmed = confirmed.map_or(-1, |c| c.0);
    fill_report::<C>(
        &mut report,
        &rings,
        plan.settings.desync_interval,
        confirmed,
    );
    let name = format!(
        "desync-{}-frame{frame}-player{}.json",
        plan.match_id, plan.local_handle
    );
    let result = report.write_atomic(dir, &name);
    match &result {
        Ok(path) => info!(
            "nearplay: desync at frame {frame}: report {}",
            path.display()
        ),
        Err(e) => warn!("nearplay: desync at frame {frame}: no report: {e}"),
    }
    reported.write(DesyncReported { frame, result });
}

/// States from the previous check (which agreed) to the desync frame;
/// inputs from there to the newest frame held.
///
/// An input recorded as predicted is final once its frame is confirmed:
/// GGRS resimulates (and the ring re-records) only mispredicted frames, so
/// a prediction never overwritten was right.
fn fill_report<C: Config>(
    report: &mut DesyncReport,
    rings: &ForensicRings<C>,
    interval: u32,
    confirmed: i32,
) {
    let back = i32::try_from(interval.max(1))
        .unwrap_or(i32::MAX)
        .min(MAX_REPORT_FRAMES as i32 / 2);
    let from = report.frame.saturating_sub(back);
    for (frame, capture) in rings.states.range(from, report.frame) {
        let mut state = FrameState {
            frame,
            ..FrameState::default()
        };
        for (name, snap) in &capture.resources {
            match snap() {
                Ok(value) => {
                    state.resources.insert((*name).to_string(), value);
                }
                Err(e) => note(report, format!("{name} at frame {frame}: {e}")),
            }
        }
        let mut entities: BTreeMap<u64, EntityState> = BTreeMap::new();
        for (entity, name, snap) in &capture.components {
            match snap() {
                Ok(value) => {
                    let e = entities.entry(*entity).or_insert_with(|| EntityState {
                        entity: *entity,
                        ..EntityState::default()
                    });
                    e.components.insert((*name).to_string(), value);
                }
                Err(e) => note(
                    report,
                    format!("{name} of entity {entity} at frame {frame}: {e}"),
                ),
            }
        }
        state.entities = entities.into_values().collect();
        report.states.push(state);
    }
    if report.state(report.frame).is_none() {
        note(
            report,
            format!("the state of frame {} was no longer held", report.frame),
        );
    }
    let newest = rings.inputs.iter().last().map_or(report.frame, |(f, _)| f);
    let to = newest.min(from.saturating_add(MAX_REPORT_FRAMES as i32 - 1));
    for (frame, inputs) in rings.inputs.range(from, to) {
        let players = inputs
            .iter()
            .map(|(input, status)| PlayerInputRecord {
                input: serde_json::to_value(input).unwrap_or(Value::Null),
                status: match status {
                    InputStatus::Confirmed => "confirmed",
                    InputStatus::Predicted if frame <= confirmed => "confirmed",
                    InputStatus::Predicted => "predicted",
                    InputStatus::Disconnected => "disconnected",
                }
                .into(),
            })
            .collect();
        report.inputs.push(FrameInputs { frame, players });
    }
}

fn note(report: &mut DesyncReport, text: String) {
    if report.notes.len() < 32 {
        report.notes.push(text);
    }
}
