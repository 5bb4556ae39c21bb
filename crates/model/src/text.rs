//! Free-text fields: names, notes and channel settings, bounded and free of control characters.

use crate::ValidationError;

/// Checks a single-line text field: at most `max` characters, no control characters.
/// Empty strings are allowed; use [`required_line`] where a value must be present.
pub fn line(field: &str, value: &str, max: usize) -> Result<String, ValidationError> {
    if value.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(value.to_owned())
}

/// Checks a single-line text field that must not be empty (after trimming).
pub fn required_line(field: &str, value: &str, max: usize) -> Result<String, ValidationError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    line(field, value, max)
}

/// Checks a multi-line note: at most `max` characters, no control characters but newlines and tabs.
pub fn note(field: &str, value: &str, max: usize) -> Result<String, ValidationError> {
    if value.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(value.to_owned())
}

/// The longest note berth stores.
pub const NOTE_MAX: usize = 65_536;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused() {
        assert!(line("name", "a\u{0}b", 10).is_err());
        assert!(line("name", "a\nb", 10).is_err());
        assert!(note("note", "a\nb", 10).is_ok());
        assert!(note("note", "a\u{1b}[2J", 10).is_err());
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(line("name", "éééé", 4).is_ok());
        assert!(line("name", "ééééé", 4).is_err());
    }

    #[test]
    fn required_line_trims_and_refuses_blank() {
        assert_eq!(required_line("name", "  web  ", 10).as_deref(), Ok("web"));
        assert!(required_line("name", "   ", 10).is_err());
    }
}
