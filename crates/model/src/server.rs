//! Servers: the machines containers run on.

use std::net::IpAddr;

use crate::ValidationError;

/// Checks a server name: a DNS-style name of letters, digits, dots and dashes (1–253).
pub fn name(value: &str) -> Result<String, ValidationError> {
    let value = value.trim();
    if value.is_empty() || value.len() > 253 {
        return Err(ValidationError::new("name", "must be 1 to 253 characters"));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err(ValidationError::new(
            "name",
            "may contain only letters, digits, dots and dashes",
        ));
    }
    Ok(value.to_owned())
}

/// Checks a server address: an IPv4 or IPv6 address, returned in canonical form.
pub fn address(value: &str) -> Result<String, ValidationError> {
    value
        .trim()
        .parse::<IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| ValidationError::new("address", "must be an IPv4 or IPv6 address"))
}

/// Checks a server's capacity in MB: zero or more.
pub fn capacity_mb(field: &str, value: i64) -> Result<i64, ValidationError> {
    if (0..=crate::container::MAX_RESOURCE_MB * 1024).contains(&value) {
        Ok(value)
    } else {
        Err(ValidationError::new(
            field,
            "must be a non-negative number of MB",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_addresses() {
        assert!(name("node-1.example.net").is_ok());
        assert!(name("node 1").is_err());
        assert_eq!(address(" 127.0.0.1 ").as_deref(), Ok("127.0.0.1"));
        assert_eq!(address("::0001").as_deref(), Ok("::1"));
        assert!(address("localhost").is_err());
        assert!(capacity_mb("memory", -1).is_err());
    }
}
