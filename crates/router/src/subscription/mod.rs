//! Subscriptions: vassals announcing themselves. The sockets, applying a subscription, who may
//! subscribe a name (domain keys), anti-replay (kept across restarts), the files a sender names
//! (opened as the sender, off the apply path), its TLS material loaded in the background, acks,
//! and refusals counted and logged at a bounded rate.

pub mod apply;
pub mod domain_keys;
pub mod notify;
pub mod path_worker;
pub mod pem_source;
pub mod refusal_log;
pub mod replay;
pub mod replay_state;
pub mod sender_path;
pub mod sni_loader;
pub mod sockets;
