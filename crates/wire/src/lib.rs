//! The uwsgi wire protocol as real uWSGI speaks it.
//!
//! - [`packet`]: the 4-byte header (modifier1, little-endian datasize, modifier2);
//! - [`vars`]: the vars block of `u16le` length-prefixed keys and values;
//! - [`subscription`]: the subscribe/unsubscribe datagrams vassals send to routers;
//! - [`signing`]: RSASSA-PKCS1-v1_5 over SHA-1, exactly the bytes uWSGI signs;
//! - [`response_head`] and [`chunked`]: the HTTP/1.x response a node answers with (raw
//!   after a uwsgi request, or as a plain HTTP node), its head and its chunked body.
//!
//! Every parser here takes arbitrary bytes and never panics: malformed input is a
//! [`WireError`] or an [`Http1Error`].

pub mod chunked;
pub mod error;
pub mod packet;
pub mod response_head;
pub mod signing;
pub mod subscription;
pub mod vars;

pub use chunked::{ChunkedDecoder, Decoded};
pub use error::{Http1Error, WireError};
pub use packet::{Header, Packet};
pub use response_head::{Framing, HeaderRange, ResponseHead};
pub use signing::{SigningError, SigningKey, VerifyingKey};
pub use subscription::{Signature, SignedEncodeError, Subscription, SubscriptionKind};
pub use vars::{Vars, VarsBuilder};
