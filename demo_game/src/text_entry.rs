//! A one-line text entry fed by the keyboard (names, passwords, chat).

use bevy::input::keyboard::{Key, KeyboardInput};
use bevy::prelude::*;

/// What happened to a line of text this frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Edit {
    /// Nothing typed.
    None,
    /// The text changed.
    Changed,
    /// Enter was pressed.
    Submitted,
}

/// Applies this frame's key presses to `text`, at most `max` characters.
pub fn edit_line(keys: &mut MessageReader<KeyboardInput>, text: &mut String, max: usize) -> Edit {
    let mut edit = Edit::None;
    for key in keys.read().filter(|k| k.state.is_pressed()) {
        match &key.logical_key {
            Key::Enter => return Edit::Submitted,
            Key::Backspace => {
                text.pop();
                edit = Edit::Changed;
            }
            Key::Space if text.chars().count() < max => {
                text.push(' ');
                edit = Edit::Changed;
            }
            Key::Character(c) if text.chars().count() < max => {
                text.extend(c.chars().filter(|c| !c.is_control()));
                edit = Edit::Changed;
            }
            _ => {}
        }
    }
    edit
}
