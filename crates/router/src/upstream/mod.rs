//! Upstream: the backends' side. A backend (an address subscribed under a key) and its
//! counters, connections to it and the idle pool, one exchange with it, the response body read
//! from it, and the CGI vars a uwsgi request carries.

pub mod backend;
pub mod body;
pub mod cgi;
pub mod connection;
pub mod exchange;
