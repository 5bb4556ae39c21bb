//! Tags: short labels a customer attaches to containers, domains and loopboxes.

use crate::text;
use crate::ValidationError;

/// The longest tag name.
pub const TAG_NAME_MAX: usize = 64;

/// Checks a tag name: 1–64 characters, no control characters and no comma, because list
/// filters take comma-separated tag names (`?tags=a,b`).
pub fn name(value: &str) -> Result<String, ValidationError> {
    let value = text::required_line("name", value, TAG_NAME_MAX)?;
    if value.contains(',') {
        return Err(ValidationError::new(
            "name",
            "must not contain a comma (tag filters are comma-separated)",
        ));
    }
    Ok(value)
}

/// Splits a `?tags=a,b` filter into its names, dropping empty ones and ones no tag can
/// have (control characters, over-long).
pub fn filter_names(filter: &str) -> Vec<String> {
    filter
        .split(',')
        .filter_map(|candidate| name(candidate).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_refuse_commas() {
        assert!(name("web").is_ok());
        assert!(name("a,b").is_err());
        assert!(name("").is_err());
    }

    #[test]
    fn filters_split_on_commas() {
        assert_eq!(filter_names("a, b,,c"), vec!["a", "b", "c"]);
        assert!(filter_names("").is_empty());
        assert_eq!(filter_names("a,\u{0},b"), vec!["a", "b"]);
    }
}
