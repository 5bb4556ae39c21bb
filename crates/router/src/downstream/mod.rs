//! Downstream: the clients' side. Listeners (one per thread with `SO_REUSEPORT`), the TLS
//! acceptor and client certificates, and the proxy that answers a request: its head for the
//! backend, hop-by-hop headers, the response.

pub mod client_cert;
pub mod hop_by_hop;
pub mod listener;
pub mod proxy;
pub mod request_head;
pub mod response;
pub mod reuseport;
pub mod tls_acceptor;
