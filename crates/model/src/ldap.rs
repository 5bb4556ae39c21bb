//! LDAP login settings: the directory's URL, DNs, attribute names and the user search filter,
//! and how a username is put into that filter (RFC 4515 escaping).
//!
//! These values come from the operator (flags of `berth api` / `berth up`); checking them
//! here turns a typo into an error at start-up instead of every login failing later.

use crate::text;
use crate::ValidationError;

/// The placeholder a user filter must contain; each occurrence is replaced by the escaped
/// username.
pub const USERNAME_PLACEHOLDER: &str = "{username}";

/// The filter used when the operator sets none (django-auth-ldap's `uid=%(user)s`).
pub const DEFAULT_USER_FILTER: &str = "(uid={username})";

/// The attribute whose value must equal the username exactly, by default.
pub const DEFAULT_USERNAME_ATTRIBUTE: &str = "uid";

/// The attribute the customer's e-mail address is read from, by default.
pub const DEFAULT_EMAIL_ATTRIBUTE: &str = "mail";

/// The longest DN, filter or URL berth accepts.
const MAX: usize = 1024;

/// Checks a directory URL: `ldap://host[:port]` or `ldaps://host[:port]` (an optional
/// trailing `/`), where host is a name, an IPv4 address or a bracketed IPv6 address. No DN,
/// attributes or extensions: those are separate settings.
pub fn url(value: &str) -> Result<String, ValidationError> {
    const FIELD: &str = "ldap-url";
    let value = text::required_line(FIELD, value, MAX)?;
    let rest = value
        .strip_prefix("ldap://")
        .or_else(|| value.strip_prefix("ldaps://"))
        .ok_or_else(|| ValidationError::new(FIELD, "must start with ldap:// or ldaps://"))?;
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| ValidationError::new(FIELD, "has an unclosed [ in its host"))?;
        if host.is_empty()
            || !host
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(ValidationError::new(FIELD, "has a malformed IPv6 address"));
        }
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(ValidationError::new(FIELD, "has text after its host")),
            },
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(ValidationError::new(FIELD, "must name a host"));
    }
    if !authority.starts_with('[')
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
    {
        return Err(ValidationError::new(
            FIELD,
            "must be ldap://host[:port] or ldaps://host[:port], without a path or query",
        ));
    }
    if let Some(port) = port {
        if !port.parse::<u16>().is_ok_and(|port| port > 0) {
            return Err(ValidationError::new(
                FIELD,
                "has a port that is not 1 to 65535",
            ));
        }
    }
    Ok(value)
}

/// Checks a distinguished name (base DN, bind DN): not empty, one line, with at least one
/// `attribute=value` part.
pub fn dn(field: &str, value: &str) -> Result<String, ValidationError> {
    let value = text::required_line(field, value, MAX)?;
    if !value.contains('=') {
        return Err(ValidationError::new(
            field,
            "must be a DN like dc=example,dc=org",
        ));
    }
    Ok(value)
}

/// Checks the password berth binds with before searching: an empty one would make the bind
/// an unauthenticated (anonymous) one, which servers answer with success.
pub fn bind_password(value: &str) -> Result<String, ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::new(
            "ldap-bind-password",
            "must not be empty",
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ValidationError::new(
            "ldap-bind-password",
            "must not contain control characters",
        ));
    }
    Ok(value.to_owned())
}

/// Checks an attribute name: a descriptor (a letter, then letters, digits and `-`) or a
/// numeric OID.
pub fn attribute(field: &str, value: &str) -> Result<String, ValidationError> {
    let descriptor = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let oid = !value.is_empty()
        && value
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()));
    if (descriptor || oid) && value.len() <= 128 {
        Ok(value.to_owned())
    } else {
        Err(ValidationError::new(
            field,
            "must be an attribute name like mail or uid",
        ))
    }
}

/// A search filter with a `{username}` placeholder, checked: parenthesised and balanced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFilter(String);

impl UserFilter {
    /// Checks a filter template such as `(&(objectClass=inetOrgPerson)(uid={username}))`.
    pub fn parse(value: &str) -> Result<UserFilter, ValidationError> {
        const FIELD: &str = "ldap-user-filter";
        let value = text::required_line(FIELD, value, MAX)?;
        if !value.contains(USERNAME_PLACEHOLDER) {
            return Err(ValidationError::new(
                FIELD,
                format!("must contain {USERNAME_PLACEHOLDER}"),
            ));
        }
        if !value.starts_with('(') || !value.ends_with(')') {
            return Err(ValidationError::new(
                FIELD,
                "must be enclosed in parentheses, like (uid={username})",
            ));
        }
        let mut depth = 0usize;
        for (index, c) in value.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth = depth
                        .checked_sub(1)
                        .ok_or_else(|| ValidationError::new(FIELD, "has unbalanced parentheses"))?;
                    // One filter, not several side by side: only the last `)` closes the
                    // outermost one.
                    if depth == 0 && index + 1 != value.len() {
                        return Err(ValidationError::new(
                            FIELD,
                            "must be one filter; combine several with (&…) or (|…)",
                        ));
                    }
                }
                _ => {}
            }
        }
        if depth != 0 {
            return Err(ValidationError::new(FIELD, "has unbalanced parentheses"));
        }
        Ok(UserFilter(value))
    }

    /// The filter that finds `username`: every placeholder replaced by the username,
    /// escaped so that it can only ever be matched literally.
    pub fn render(&self, username: &str) -> String {
        self.0
            .replace(USERNAME_PLACEHOLDER, &escape_filter_value(username))
    }

    /// The template as the operator gave it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for UserFilter {
    fn default() -> Self {
        UserFilter(DEFAULT_USER_FILTER.to_owned())
    }
}

/// Escapes a value for an LDAP search filter (RFC 4515 §3): `*`, `(`, `)`, `\` and NUL
/// become `\2a`, `\28`, `\29`, `\5c` and `\00`, so that a value never adds wildcards or
/// filter terms.
pub fn escape_filter_value(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '*' => escaped.push_str("\\2a"),
            '(' => escaped.push_str("\\28"),
            ')' => escaped.push_str("\\29"),
            '\\' => escaped.push_str("\\5c"),
            '\0' => escaped.push_str("\\00"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_ldap_or_ldaps_with_a_host() {
        for good in [
            "ldap://127.0.0.1:389",
            "ldaps://ldap.example.org",
            "ldaps://ldap.example.org:636/",
            "ldap://[::1]:3890",
            "ldap://[2001:db8::1]",
        ] {
            assert_eq!(url(good).as_deref(), Ok(good), "{good}");
        }
        for bad in [
            "",
            "http://ldap.example.org",
            "ldap://",
            "ldap://:389",
            "ldap://host:0",
            "ldap://host:65536",
            "ldap://host:port",
            "ldap://host/dc=example,dc=org",
            "ldap://host?uid",
            "ldap://user@host",
            "ldap://[::1",
            "ldap://[::1]x",
            "ldap://ho\nst",
        ] {
            assert!(url(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(url(" ldap://host\n").as_deref(), Ok("ldap://host"));
    }

    #[test]
    fn dns_need_an_attribute_value_pair() {
        assert!(dn("ldap-base-dn", "dc=example,dc=org").is_ok());
        assert!(dn("ldap-base-dn", "").is_err());
        assert!(dn("ldap-base-dn", "example.org").is_err());
        assert!(dn("ldap-base-dn", "dc=a\ndc=b").is_err());
    }

    #[test]
    fn bind_passwords_must_not_be_empty() {
        assert!(bind_password("").is_err());
        assert!(bind_password("secret").is_ok());
    }

    #[test]
    fn attributes_are_descriptors_or_oids() {
        assert!(attribute("a", "mail").is_ok());
        assert!(attribute("a", "x-custom-Mail2").is_ok());
        assert!(attribute("a", "0.9.2342.19200300.100.1.3").is_ok());
        for bad in ["", "2mail", "mail)", "ma il", "1..2", "*"] {
            assert!(attribute("a", bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn filters_need_the_placeholder_and_balanced_parentheses() {
        assert!(UserFilter::parse("(uid={username})").is_ok());
        assert!(UserFilter::parse(
            "(&(objectClass=inetOrgPerson)(|(uid={username})(mail={username})))"
        )
        .is_ok());
        for bad in [
            "",
            "(uid=nico)",
            "uid={username}",
            "(uid={username}",
            "(uid={username}))",
            "(uid={username})(cn=x)",
            "(&(uid={username})",
        ] {
            assert!(UserFilter::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn rendering_escapes_what_would_widen_the_filter() {
        let filter = UserFilter::default();
        assert_eq!(filter.render("nico"), "(uid=nico)");
        assert_eq!(filter.render("*"), "(uid=\\2a)");
        assert_eq!(filter.render("x)(uid=*"), "(uid=x\\29\\28uid=\\2a)");
        assert_eq!(filter.render("a\\b\0"), "(uid=a\\5cb\\00)");
        let twice = UserFilter::parse("(|(uid={username})(mail={username}))").expect("filter");
        assert_eq!(twice.render("n*"), "(|(uid=n\\2a)(mail=n\\2a))");
    }

    #[test]
    fn escaped_values_contain_no_filter_syntax() {
        let nasty: String = (0u8..128).map(char::from).collect();
        let escaped = escape_filter_value(&nasty);
        assert!(!escaped.contains(['*', '(', ')', '\0']));
        // Every backslash starts a two-digit hex escape.
        let mut rest = escaped.as_str();
        while let Some(at) = rest.find('\\') {
            let hex = &rest[at + 1..at + 3];
            assert!(hex.chars().all(|c| c.is_ascii_hexdigit()), "{hex}");
            rest = &rest[at + 3..];
        }
    }
}
