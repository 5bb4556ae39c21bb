//! Routing: which backend answers a host. The routing table (subscription key → slot of
//! backends, with the slot's TLS settings), host names as keys and the dotsplit walk, who owns
//! a name, the balancer, and a domain's TLS material.

pub mod balancer;
pub mod domain_tls;
pub mod host;
pub mod ownership;
#[cfg(test)]
mod ownership_property;
pub mod table;
pub mod tls_material;
