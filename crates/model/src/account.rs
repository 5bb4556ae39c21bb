//! Accounts: usernames, passwords and the customer's contact fields.

use crate::text;
use crate::ValidationError;

/// The shortest password berth accepts.
pub const PASSWORD_MIN: usize = 8;
/// The longest password berth accepts (argon2 has no limit, but a body must).
pub const PASSWORD_MAX: usize = 1024;

/// Checks a login name: 1–150 characters of letters, digits and `@ . + - _` (Django's rule),
/// so that it survives HTTP Basic (no `:`) and shells.
pub fn username(value: &str) -> Result<String, ValidationError> {
    if value.is_empty() || value.chars().count() > 150 {
        return Err(ValidationError::new(
            "username",
            "must be 1 to 150 characters",
        ));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "@.+-_".contains(c))
    {
        return Err(ValidationError::new(
            "username",
            "may contain only letters, digits and @ . + - _",
        ));
    }
    Ok(value.to_owned())
}

/// Checks a new password: 8 to 1024 characters, no control characters.
pub fn password(value: &str) -> Result<String, ValidationError> {
    let len = value.chars().count();
    if len < PASSWORD_MIN {
        return Err(ValidationError::new(
            "password",
            format!("must be at least {PASSWORD_MIN} characters"),
        ));
    }
    if len > PASSWORD_MAX {
        return Err(ValidationError::new(
            "password",
            format!("must be at most {PASSWORD_MAX} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ValidationError::new(
            "password",
            "must not contain control characters",
        ));
    }
    Ok(value.to_owned())
}

/// Checks an e-mail address loosely: one `@` with text on both sides and a dot in the domain.
/// An empty string clears the address.
pub fn email(value: &str) -> Result<String, ValidationError> {
    let value = text::line("email", value.trim(), 254)?;
    if value.is_empty() {
        return Ok(value);
    }
    let valid = match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.contains(char::is_whitespace)
        }
        None => false,
    };
    if valid {
        Ok(value)
    } else {
        Err(ValidationError::new(
            "email",
            "must be an address like name@example.com",
        ))
    }
}

/// Checks a company name.
pub fn company(value: &str) -> Result<String, ValidationError> {
    text::line("company", value.trim(), 255)
}

/// Checks a VAT number: letters, digits, spaces, dots and dashes, at most 32 characters.
pub fn vat(value: &str) -> Result<String, ValidationError> {
    let value = text::line("vat", value.trim(), 32)?;
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || " .-".contains(c))
    {
        Ok(value)
    } else {
        Err(ValidationError::new(
            "vat",
            "may contain only letters, digits, spaces, dots and dashes",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_refuse_colons_and_spaces() {
        assert!(username("kratos").is_ok());
        assert!(username("a.b+c@d").is_ok());
        assert!(username("a:b").is_err());
        assert!(username("a b").is_err());
        assert!(username("").is_err());
        assert!(username(&"x".repeat(151)).is_err());
    }

    #[test]
    fn passwords_have_a_floor() {
        assert!(password("short").is_err());
        assert!(password("long enough").is_ok());
        assert!(password("with\nnewline").is_err());
    }

    #[test]
    fn emails_are_checked_loosely() {
        assert!(email("a@example.com").is_ok());
        assert!(email("").is_ok());
        assert!(email("nope").is_err());
        assert!(email("a@b").is_err());
        assert!(email("a@@b.c").is_err());
        assert!(email("a b@c.d").is_err());
    }

    #[test]
    fn vat_numbers_keep_their_shape() {
        assert_eq!(vat(" IT 0123-4.5 ").as_deref(), Ok("IT 0123-4.5"));
        assert!(vat("<script>").is_err());
    }
}
