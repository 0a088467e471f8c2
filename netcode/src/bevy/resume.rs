//! The Bevy side of a resume (issue 13), for registered rollback
//! resources and components: the game's state as
//! [`ResumePoint`](crate::resume::ResumePoint) bytes, and the swap to the
//! next epoch's session with its frame offset.
//!
//! ```ignore
//! app.rollback_resource_with_clone::<Arena>()
//!    .resume_resource::<Arena>()              // Arena: Serialize + DeserializeOwned
//!    .rollback_component_with_copy::<Disc>()
//!    .resume_component::<Disc>();             // on entities marked `Rollback`
//! // provider, at the switch frame:  let bytes = write_resume_state(world)?;
//! // newcomer, from the ResumePoint:  read_resume_state(world, &point.state)?;
//! // everyone, at the switch frame:   world.swap_net_session(session, monitor, FrameOffset(f));
//! ```
//!
//! Rollback entities keep bevy_ggrs's order across the move (see
//! [`resume_entities`](super::resume_entities)). Not done here: holding
//! bevy_ggrs's session at the switch frame (see [`resume`](crate::resume)
//! for what the game must do; the facade's `ResumePlugin` does it).

use std::any::type_name;

use bevy::prelude::*;
use bevy_ggrs::{ConfirmedFrameCount, RollbackFrameCount, Session};
use ggrs::{Config, P2PSession};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::NetCommandsExt;
use super::resume_entities::{
    ComponentEntry, EntityState, apply_entities, check_entities, write_entities,
};
use crate::addr::PeerAddr;
use crate::resume::{FrameOffset, MAX_STATE_BYTES, ResumeError};
use crate::stats::NetMonitor;

/// Most resources a resume state holds.
pub const MAX_RESUME_RESOURCES: usize = 256;

type Write = fn(&World) -> Option<Result<Vec<u8>, ResumeError>>;
type Read = fn(&mut World, &[u8]) -> Result<(), ResumeError>;

/// The resources and components a resume carries, registered with
/// [`ResumeAppExt::resume_resource`] and
/// [`ResumeAppExt::resume_component`].
#[derive(Resource, Default)]
pub struct ResumeRegistry {
    entries: Vec<(&'static str, Write, Read)>,
    components: Vec<ComponentEntry>,
}

/// The game frame at which the running session's frame 0 lies: bevy_ggrs's
/// [`RollbackFrameCount`] counts from 0 in every session, so the game's
/// frame is `offset + RollbackFrameCount`.
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq, Eq, Deref)]
pub struct NetFrameOffset(pub FrameOffset);

/// Registering what a resume carries.
pub trait ResumeAppExt {
    /// Carries resource `T` in resume states (serde, postcard).
    fn resume_resource<T: Resource + Serialize + DeserializeOwned>(&mut self) -> &mut Self;

    /// Carries component `C` of every live entity marked
    /// [`Rollback`](bevy_ggrs::Rollback) in resume states (serde, postcard),
    /// with the entities themselves in bevy_ggrs's order. `C` must not hold
    /// an [`Entity`].
    fn resume_component<C: Component + Serialize + DeserializeOwned>(&mut self) -> &mut Self;
}

impl ResumeAppExt for App {
    fn resume_resource<T: Resource + Serialize + DeserializeOwned>(&mut self) -> &mut Self {
        let mut registry = self
            .world_mut()
            .get_resource_or_insert_with(ResumeRegistry::default);
        let name = type_name::<T>();
        if !registry.entries.iter().any(|(n, ..)| *n == name) {
            registry.entries.push((name, write_one::<T>, read_one::<T>));
        }
        self
    }

    fn resume_component<C: Component + Serialize + DeserializeOwned>(&mut self) -> &mut Self {
        let mut registry = self
            .world_mut()
            .get_resource_or_insert_with(ResumeRegistry::default);
        let entry = ComponentEntry::of::<C>();
        if !registry.components.iter().any(|c| c.name == entry.name) {
            registry.components.push(entry);
        }
        self
    }
}

fn write_one<T: Resource + Serialize>(world: &World) -> Option<Result<Vec<u8>, ResumeError>> {
    let value = world.get_resource::<T>()?;
    Some(postcard::to_allocvec(value).map_err(|_| ResumeError::Malformed))
}

fn read_one<T: Resource + DeserializeOwned>(
    world: &mut World,
    bytes: &[u8],
) -> Result<(), ResumeError> {
    let value: T = postcard::from_bytes(bytes).map_err(|_| ResumeError::Malformed)?;
    world.insert_resource(value);
    Ok(())
}

/// The registered resources present in `world`, and the registered
/// components of its rollback entities, as resume state bytes (at most
/// [`MAX_STATE_BYTES`]).
pub fn write_resume_state(world: &World) -> Result<Vec<u8>, ResumeError> {
    let mut resources: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut entities = EntityState::default();
    if let Some(registry) = world.get_resource::<ResumeRegistry>() {
        for (name, write, _) in &registry.entries {
            if let Some(bytes) = write(world) {
                resources.push((name, bytes?));
            }
        }
        if !registry.components.is_empty() {
            entities = write_entities(world, &registry.components)?;
        }
    }
    let out = postcard::to_allocvec(&(resources, entities)).map_err(|_| ResumeError::Malformed)?;
    if out.len() > MAX_STATE_BYTES {
        return Err(ResumeError::StateTooLarge { len: out.len() });
    }
    Ok(out)
}

/// Reads resume state bytes (from the network: checked) into `world`. Every
/// resource entry must name a registered resource, once, and every
/// component a registered component; nothing is changed unless every entry
/// decodes.
pub fn read_resume_state(world: &mut World, bytes: &[u8]) -> Result<(), ResumeError> {
    if bytes.len() > MAX_STATE_BYTES {
        return Err(ResumeError::TooLarge { len: bytes.len() });
    }
    type State = (Vec<(String, Vec<u8>)>, EntityState);
    let ((entries, entities), rest): (State, &[u8]) =
        postcard::take_from_bytes(bytes).map_err(|_| ResumeError::Malformed)?;
    if !rest.is_empty() {
        return Err(ResumeError::Malformed);
    }
    if entries.len() > MAX_RESUME_RESOURCES {
        return Err(ResumeError::Invalid("too many resources"));
    }
    let empty = ResumeRegistry::default();
    let registry = world.get_resource::<ResumeRegistry>().unwrap_or(&empty);
    let components = registry.components.clone();
    let named = check_entities(&entities, &components)?;
    let readers: Vec<(Read, &[u8])> = {
        let mut readers = Vec::new();
        for (i, (name, value)) in entries.iter().enumerate() {
            if entries[..i].iter().any(|(n, _)| n == name) {
                return Err(ResumeError::Invalid("a resource twice"));
            }
            let (_, _, read) = registry
                .entries
                .iter()
                .find(|(n, ..)| n == name)
                .ok_or(ResumeError::Invalid("an unregistered resource"))?;
            readers.push((*read, value.as_slice()));
        }
        readers
    };
    // Decode every resource into a scratch world first (components were
    // decoded by `check_entities`), so a bad entry leaves the game's world
    // untouched.
    let mut scratch = World::new();
    for (read, value) in &readers {
        read(&mut scratch, value)?;
    }
    for (read, value) in readers {
        read(world, value)?;
    }
    if !components.is_empty() {
        apply_entities(world, &entities, &named, &components)?;
    }
    Ok(())
}

/// Swapping to the next epoch's session at the switch frame.
pub trait SwapSessionExt {
    /// Replaces the running session with `session` (whose frame 0 is game
    /// frame `offset`) and its monitor, and restarts bevy_ggrs's frame
    /// counters at 0 (its snapshots of the old session are dropped at the
    /// new session's first save of frame 0).
    fn swap_net_session<C: Config<Address = PeerAddr>>(
        &mut self,
        session: P2PSession<C>,
        monitor: NetMonitor,
        offset: FrameOffset,
    );
}

impl SwapSessionExt for World {
    fn swap_net_session<C: Config<Address = PeerAddr>>(
        &mut self,
        session: P2PSession<C>,
        monitor: NetMonitor,
        offset: FrameOffset,
    ) {
        self.remove_resource::<Session<C>>();
        self.insert_resource(RollbackFrameCount(0));
        self.insert_resource(ConfirmedFrameCount(-1));
        self.insert_resource(NetFrameOffset(offset));
        self.start_net_session(session, monitor);
    }
}
