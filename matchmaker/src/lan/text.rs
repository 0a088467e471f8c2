//! Cleaning strings that came from the network before a person or a terminal
//! sees them: lobby names, TXT values, reasons quoting them.
//!
//! A stranger chooses every byte of a lobby record. Left raw, an ESC starts a
//! terminal escape sequence (colours, cursor moves, window titles), a BEL
//! rings, CR/LF fake extra lines, and bidirectional overrides reorder what a
//! screen shows ("Trojan source"). [`printable`] removes all of them.

/// Longest cleaned string, in characters (a DNS label is at most 63 bytes, a
/// TXT string at most 255).
pub const MAX_SHOWN_CHARS: usize = 255;

/// `text` without control characters (C0 such as ESC, BEL, CR, LF; DEL; C1)
/// and without bidirectional formatting characters, cut to
/// [`MAX_SHOWN_CHARS`] characters. Everything else is kept as it came.
pub fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| !is_hidden_control(*c))
        .take(MAX_SHOWN_CHARS)
        .collect()
}

/// `true` if `text` is already what [`printable`] would make of it.
pub fn is_printable(text: &str) -> bool {
    text.chars().count() <= MAX_SHOWN_CHARS && !text.chars().any(is_hidden_control)
}

/// Whether `c` is a control character (C0, DEL, C1), a bidirectional
/// formatting character or a line/paragraph separator: what a stranger
/// could use to reorder, recolour or fake lines on a screen. The lobby's
/// names and chat are cleaned with it too.
pub(crate) fn is_hidden_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_bells_newlines_and_bidi_are_removed() {
        let dirty = "Bo\u{1b}[31mb\u{7}\r\n\u{9b}2J \u{202e}evil\u{2066}";
        let clean = printable(dirty);
        assert_eq!(clean, "Bo[31mb2J evil");
        assert!(is_printable(&clean) && !is_printable(dirty));
        assert_eq!(printable("Hana's den ünï 🎮"), "Hana's den ünï 🎮");
        assert_eq!(printable(&"x".repeat(300)).len(), MAX_SHOWN_CHARS);
    }
}
