//! Cluster domains across a legion (uwsgi.it's fastrouter role): each member's router
//! listens on its cluster address for uwsgi traffic from the other members and routes it to
//! its own cluster subscriptions (`listener`); a cluster subscription accepted locally is
//! sealed with the legion's key and sent to every other member (`forward`, `seal`,
//! `envelope`), which adds this server's cluster address as a backend of the domain
//! (`remote`, fed by `receive`). Who the members are and the key come from a file the
//! operator or the node writes (`peers`).

pub mod envelope;
pub mod forward;
pub mod listener;
pub mod peers;
pub mod receive;
pub mod remote;
pub mod seal;
pub mod server;
