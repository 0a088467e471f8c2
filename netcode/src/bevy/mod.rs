//! Bevy integration over bevy_ggrs (feature `bevy`): work in progress.
