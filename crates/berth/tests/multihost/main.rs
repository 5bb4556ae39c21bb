//! Multi-server tests: every host is a network namespace (see [`hosts`]) running its own
//! `berth` processes, joined by a bridge; the control plane has a host of its own. Needs
//! root, iproute2, nftables, runc, keepalived, uWSGI, python3 and curl.

#[path = "../support/mod.rs"]
mod support;

mod cluster;
mod hosts;
mod legion;
mod links;
