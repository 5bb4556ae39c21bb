//! Distros: the read-only root filesystems containers boot from.

use crate::{text, ValidationError};

/// Checks a distro name (1–64 characters, one line).
pub fn name(value: &str) -> Result<String, ValidationError> {
    text::required_line("name", value, 64)
}

/// Checks a distro's root directory: an absolute path without `..`, `.` or empty components.
pub fn path(value: &str) -> Result<String, ValidationError> {
    let value = value.trim();
    let clean = value.starts_with('/')
        && value.len() <= 4096
        && !value.contains(char::is_control)
        && (value == "/"
            || value
                .trim_end_matches('/')
                .split('/')
                .skip(1)
                .all(|part| !part.is_empty() && part != "." && part != ".."));
    if clean {
        Ok(value.to_owned())
    } else {
        Err(ValidationError::new(
            "path",
            "must be an absolute directory path without '.', '..' or '//'",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_be_clean_and_absolute() {
        assert!(path("/distros/bookworm").is_ok());
        assert!(path("/").is_ok());
        assert!(path("distros/bookworm").is_err());
        assert!(path("/distros/../etc").is_err());
        assert!(path("/distros//x").is_err());
    }
}
