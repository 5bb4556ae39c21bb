//! berth-model: the domain types and rules of berth, pure: no I/O, no async.
//!
//! Everything a client can send is validated here, so that the API, the admin tooling and
//! the store agree on one set of rules.

pub mod account;
pub mod alarm;
pub mod billing;
pub mod capacity;
pub mod container;
pub mod distro;
pub mod domain;
pub mod error;
pub mod ldap;
pub mod legion;
pub mod loopbox;
pub mod metrics;
pub mod news;
pub mod node;
pub mod portmap;
pub mod server;
pub mod ssh_keys;
pub mod tag;
pub mod text;
pub mod vpn;

pub use error::ValidationError;
