//! The uwsgi wire protocol as real uWSGI speaks it.
//!
//! - [`packet`]: the 4-byte header (modifier1, little-endian datasize, modifier2);
//! - [`vars`]: the vars block of `u16le` length-prefixed keys and values;
//! - [`subscription`]: the subscribe/unsubscribe datagrams vassals send to routers;
//! - [`signing`]: RSASSA-PKCS1-v1_5 over SHA-1, exactly the bytes uWSGI signs.
//!
//! Every parser here takes arbitrary bytes and never panics: malformed input is an
//! [`WireError`].

pub mod error;
pub mod packet;
pub mod signing;
pub mod subscription;
pub mod vars;

pub use error::WireError;
pub use packet::{Header, Packet};
pub use signing::{SigningError, SigningKey, VerifyingKey};
pub use subscription::{Signature, SignedEncodeError, Subscription, SubscriptionKind};
pub use vars::{Vars, VarsBuilder};
