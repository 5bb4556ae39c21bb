//! News: announcements staff publish to customers (public ones also to visitors).

use crate::{text, ValidationError};

/// How many news items `/api/news` shows: the newest ten.
pub const LATEST: i64 = 10;

/// Checks a news text: not blank, at most [`text::NOTE_MAX`] characters, no control
/// characters but newlines and tabs.
pub fn content(value: &str) -> Result<String, ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new("content", "must not be empty"));
    }
    text::note("content", value, text::NOTE_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_must_be_text() {
        assert_eq!(
            content("Maintenance tonight\n").as_deref(),
            Ok("Maintenance tonight\n")
        );
        assert!(content("  ").is_err());
        assert!(content("a\u{0}b").is_err());
    }
}
