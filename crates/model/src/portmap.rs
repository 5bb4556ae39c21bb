//! Port mappings: a public port of a dedicated server forwarded (DNAT) to a port of one of
//! its containers, for services that are not HTTP.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// The lowest port a mapping may use on either side: lower ports are the system's.
pub const LOWEST_PORT: i64 = 1024;

/// Public ports the platform itself listens on, which no mapping may take.
pub const RESERVED_PUBLIC_PORTS: [i64; 3] = [1999, 3022, 3026];

/// The transport a mapping forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    /// Its name in the API: `tcp` or `udp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

impl FromStr for Protocol {
    type Err = ValidationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "tcp" => Ok(Protocol::Tcp),
            "udp" => Ok(Protocol::Udp),
            _ => Err(ValidationError::new("proto", "must be tcp or udp")),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn port(field: &str, value: i64) -> Result<i64, ValidationError> {
    if (LOWEST_PORT..=65_535).contains(&value) {
        Ok(value)
    } else {
        Err(ValidationError::new(
            field,
            format!("must be a port between {LOWEST_PORT} and 65535"),
        ))
    }
}

/// A public port a mapping may listen on.
pub fn public_port(value: i64) -> Result<i64, ValidationError> {
    let value = port("public_port", value)?;
    if RESERVED_PUBLIC_PORTS.contains(&value) {
        return Err(ValidationError::new(
            "public_port",
            format!("{value} is reserved for the platform"),
        ));
    }
    Ok(value)
}

/// A container port a mapping may forward to.
pub fn private_port(value: i64) -> Result<i64, ValidationError> {
    port("private_port", value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_are_tcp_or_udp() {
        assert_eq!("TCP".parse(), Ok(Protocol::Tcp));
        assert_eq!(" udp".parse(), Ok(Protocol::Udp));
        for bad in ["", "icmp", "tcp6", "t cp"] {
            assert!(bad.parse::<Protocol>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ports_are_unprivileged_and_not_the_platforms() {
        assert_eq!(public_port(8080), Ok(8080));
        assert_eq!(private_port(65_535), Ok(65_535));
        for bad in [0, 22, 1023, 65_536, -1, i64::MAX] {
            assert!(public_port(bad).is_err(), "{bad}");
            assert!(private_port(bad).is_err(), "{bad}");
        }
        for reserved in RESERVED_PUBLIC_PORTS {
            assert_eq!(
                public_port(reserved).expect_err("reserved").field,
                "public_port"
            );
            assert_eq!(private_port(reserved), Ok(reserved));
        }
    }
}
