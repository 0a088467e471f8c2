//! Rollback *entities* in a resume state: the components registered with
//! [`ResumeAppExt::resume_component`](super::resume::ResumeAppExt::resume_component)
//! of every live entity marked [`Rollback`], keyed by bevy_ggrs's stable
//! order ([`RollbackOrdered`]), so the entity that is the 3rd rollback entity
//! ever spawned on the provider is the 3rd on the newcomer too.
//!
//! **Why the order must match, not only the values:** bevy_ggrs checksums
//! and snapshots rollback entities in that order, and an entity spawned
//! after the switch takes the next index; a newcomer whose order differs
//! would report a desync at its first checksum. So the reader rebuilds
//! [`RollbackOrdered`] to the writer's length: its own entities that match a
//! written index are kept (their values overwritten), missing ones are
//! spawned, ids of entities the writer has since despawned are registered by
//! short-lived filler entities, and rollback entities the writer did not
//! have at the switch frame are despawned.
//!
//! Not carried: components that hold an [`Entity`] (an id means nothing in
//! another process), hierarchy, and non-rollback entities. Entities waiting
//! for a confirmed despawn (`RollbackDespawned`) count as gone.

use std::any::type_name;
use std::collections::{BTreeMap, HashMap};

use bevy::prelude::*;
use bevy_ggrs::{Rollback, RollbackDespawned, RollbackId, RollbackOrdered};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::resume::ResumeError;

/// Most rollback entities a resume state carries.
pub const MAX_RESUME_ENTITIES: usize = 65_536;

/// Most component types a resume state names.
pub const MAX_RESUME_COMPONENTS: usize = 64;

/// Most rollback ids (entities ever marked [`Rollback`], despawned ones
/// included) a resume state may claim: the reader registers that many.
pub const MAX_ROLLBACK_IDS: u64 = 1 << 20;

type Write = fn(&World, Entity) -> Option<Result<Vec<u8>, ResumeError>>;
type Check = fn(&[u8]) -> Result<(), ResumeError>;
type Read = fn(&mut World, Entity, &[u8]) -> Result<(), ResumeError>;
type Remove = fn(&mut World, Entity);

/// One registered component type.
#[derive(Clone, Copy)]
pub(super) struct ComponentEntry {
    pub(super) name: &'static str,
    write: Write,
    check: Check,
    read: Read,
    remove: Remove,
}

impl ComponentEntry {
    /// The entry of component `C`.
    pub(super) fn of<C: Component + Serialize + DeserializeOwned>() -> Self {
        ComponentEntry {
            name: type_name::<C>(),
            write: write_one::<C>,
            check: check_one::<C>,
            read: read_one::<C>,
            remove: remove_one::<C>,
        }
    }
}

fn write_one<C: Component + Serialize>(
    world: &World,
    entity: Entity,
) -> Option<Result<Vec<u8>, ResumeError>> {
    let value = world.get::<C>(entity)?;
    Some(postcard::to_allocvec(value).map_err(|_| ResumeError::Malformed))
}

fn check_one<C: DeserializeOwned>(bytes: &[u8]) -> Result<(), ResumeError> {
    postcard::from_bytes::<C>(bytes)
        .map(drop)
        .map_err(|_| ResumeError::Malformed)
}

fn read_one<C: Component + DeserializeOwned>(
    world: &mut World,
    entity: Entity,
    bytes: &[u8],
) -> Result<(), ResumeError> {
    let value: C = postcard::from_bytes(bytes).map_err(|_| ResumeError::Malformed)?;
    if let Ok(mut e) = world.get_entity_mut(entity) {
        e.insert(value);
    }
    Ok(())
}

fn remove_one<C: Component>(world: &mut World, entity: Entity) {
    if let Ok(mut e) = world.get_entity_mut(entity) {
        e.remove::<C>();
    }
}

/// One written rollback entity: its order index, then its registered
/// components (index into [`EntityState::components`], postcard bytes),
/// indices rising.
type WrittenEntity = (u64, Vec<(u16, Vec<u8>)>);

/// The rollback entities of a resume state.
#[derive(Serialize, Deserialize, Debug, Default, PartialEq, Eq)]
pub(super) struct EntityState {
    /// How many rollback ids the writer had registered.
    ids: u64,
    /// The component types, by name; entities name them by index here.
    components: Vec<String>,
    /// Each live rollback entity, order indices rising.
    entities: Vec<WrittenEntity>,
}

/// Live (not despawned, not disabled) rollback entities by order index.
fn live_by_order(world: &World) -> BTreeMap<u64, Entity> {
    let Some(ordered) = world.get_resource::<RollbackOrdered>() else {
        return BTreeMap::new();
    };
    let order: HashMap<RollbackId, u64> = ordered
        .iter_sorted()
        .enumerate()
        .map(|(i, id)| (id, i as u64))
        .collect();
    let Some(mut query) = world.try_query::<(Entity, &RollbackId)>() else {
        return BTreeMap::new();
    };
    query
        .iter(world)
        .filter_map(|(e, id)| order.get(id).map(|o| (*o, e)))
        .collect()
}

/// The registered components of `world`'s live rollback entities.
pub(super) fn write_entities(
    world: &World,
    registry: &[ComponentEntry],
) -> Result<EntityState, ResumeError> {
    let Some(ordered) = world.get_resource::<RollbackOrdered>() else {
        return Ok(EntityState::default());
    };
    let live = live_by_order(world);
    if live.len() > MAX_RESUME_ENTITIES {
        return Err(ResumeError::Invalid("too many rollback entities"));
    }
    let mut entities = Vec::with_capacity(live.len());
    for (order, entity) in live {
        let mut comps = Vec::new();
        for (i, entry) in registry.iter().enumerate() {
            if let Some(bytes) = (entry.write)(world, entity) {
                comps.push((i as u16, bytes?));
            }
        }
        entities.push((order, comps));
    }
    Ok(EntityState {
        ids: ordered.len() as u64,
        components: registry.iter().map(|e| e.name.to_string()).collect(),
        entities,
    })
}

/// Checks `state` (from the network) against `registry` without touching a
/// world: bounds, order, names, and that every value decodes. Returns, for
/// each of the state's component names, its registry entry.
pub(super) fn check_entities(
    state: &EntityState,
    registry: &[ComponentEntry],
) -> Result<Vec<ComponentEntry>, ResumeError> {
    if state.components.len() > MAX_RESUME_COMPONENTS {
        return Err(ResumeError::Invalid("too many component types"));
    }
    if state.entities.len() > MAX_RESUME_ENTITIES {
        return Err(ResumeError::Invalid("too many rollback entities"));
    }
    if state.ids > MAX_ROLLBACK_IDS {
        return Err(ResumeError::Invalid("too many rollback ids"));
    }
    let mut named = Vec::with_capacity(state.components.len());
    for (i, name) in state.components.iter().enumerate() {
        if state.components[..i].contains(name) {
            return Err(ResumeError::Invalid("a component twice"));
        }
        let entry = registry
            .iter()
            .find(|e| e.name == name)
            .ok_or(ResumeError::Invalid("an unregistered component"))?;
        named.push(*entry);
    }
    let mut last_order = None;
    for (order, comps) in &state.entities {
        if *order >= state.ids || last_order.is_some_and(|l| *order <= l) {
            return Err(ResumeError::Invalid("rollback entity order"));
        }
        last_order = Some(*order);
        let mut last_comp = None;
        for (c, bytes) in comps {
            if last_comp.is_some_and(|l| *c <= l) {
                return Err(ResumeError::Invalid("component order"));
            }
            last_comp = Some(*c);
            let entry = named
                .get(usize::from(*c))
                .ok_or(ResumeError::Invalid("component index"))?;
            (entry.check)(bytes)?;
        }
    }
    Ok(named)
}

/// Makes `world`'s rollback entities those of `state` (checked by
/// [`check_entities`], which returned `named`).
pub(super) fn apply_entities(
    world: &mut World,
    state: &EntityState,
    named: &[ComponentEntry],
    registry: &[ComponentEntry],
) -> Result<(), ResumeError> {
    world.init_resource::<RollbackOrdered>();
    // Every local rollback entity, disabled ones included, by local order.
    let order: HashMap<RollbackId, u64> = world
        .resource::<RollbackOrdered>()
        .iter_sorted()
        .enumerate()
        .map(|(i, id)| (id, i as u64))
        .collect();
    let mut local: BTreeMap<u64, Entity> = BTreeMap::new();
    let mut stray = Vec::new();
    for e in world.iter_entities() {
        if let Some(id) = e.get::<RollbackId>() {
            match order.get(id) {
                Some(o) => {
                    local.insert(*o, e.id());
                }
                None => stray.push(e.id()),
            }
        }
    }
    // Rebuild the order: index i gets the written entity i (kept or new),
    // or a filler that is despawned below.
    world.insert_resource(RollbackOrdered::default());
    let written: BTreeMap<u64, &Vec<(u16, Vec<u8>)>> =
        state.entities.iter().map(|(o, c)| (*o, c)).collect();
    let mut targets = Vec::with_capacity(written.len());
    let mut fillers = Vec::new();
    for i in 0..state.ids {
        let entity = match written.get(&i) {
            Some(comps) => {
                let e = match local.remove(&i) {
                    Some(e) => {
                        world
                            .entity_mut(e)
                            .remove::<(Rollback, RollbackId, RollbackDespawned)>();
                        e
                    }
                    None => world.spawn_empty().id(),
                };
                targets.push((e, *comps));
                e
            }
            None => {
                let e = world.spawn_empty().id();
                fillers.push(e);
                e
            }
        };
        // `Rollback`'s hook registers the entity at the next index.
        world.entity_mut(entity).insert(Rollback);
    }
    world.flush();
    for e in fillers.into_iter().chain(local.into_values()).chain(stray) {
        world.despawn(e);
    }
    for (entity, comps) in targets {
        for (i, entry) in named.iter().enumerate() {
            match comps.iter().find(|(c, _)| usize::from(*c) == i) {
                Some((_, bytes)) => (entry.read)(world, entity, bytes)?,
                None => (entry.remove)(world, entity),
            }
        }
        // Registered components the writer did not name are not on it.
        for entry in registry
            .iter()
            .filter(|r| !named.iter().any(|n| n.name == r.name))
        {
            (entry.remove)(world, entity);
        }
    }
    Ok(())
}
