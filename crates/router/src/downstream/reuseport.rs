//! Listeners that share one address (`SO_REUSEPORT`), one per listener thread: the kernel
//! spreads incoming connections over them.

use std::io;
use std::net::{SocketAddr, TcpListener};

use nix::sys::socket::{
    self, sockopt, AddressFamily, Backlog, SockFlag, SockType, SockaddrStorage,
};

/// Pending connections each listener queues.
const BACKLOG: i32 = 1024;

/// A non-blocking TCP listener on `addr` with `SO_REUSEPORT` (and `SO_REUSEADDR`) set,
/// so that more listeners can bind the same address.
pub fn listener(addr: SocketAddr) -> io::Result<TcpListener> {
    let family = if addr.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let fd = socket::socket(
        family,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        None,
    )?;
    socket::setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    socket::setsockopt(&fd, sockopt::ReusePort, &true)?;
    socket::bind(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &SockaddrStorage::from(addr),
    )?;
    socket::listen(&fd, Backlog::new(BACKLOG)?)?;
    Ok(TcpListener::from(fd))
}

/// `n` listeners sharing `addr` (port 0: the port the first one got).
pub fn group(addr: SocketAddr, n: usize) -> io::Result<Vec<TcpListener>> {
    let first = listener(addr)?;
    let addr = first.local_addr()?;
    let mut all = vec![first];
    for _ in 1..n {
        all.push(listener(addr)?);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_shares_one_port() {
        let group = group("127.0.0.1:0".parse().expect("addr"), 3).expect("bind");
        let addrs: Vec<SocketAddr> = group
            .iter()
            .map(|l| l.local_addr().expect("addr"))
            .collect();
        assert_eq!(addrs.len(), 3);
        assert_ne!(addrs[0].port(), 0);
        assert!(addrs.iter().all(|a| *a == addrs[0]));
        assert!(
            std::net::TcpListener::bind(addrs[0]).is_err(),
            "a listener without SO_REUSEPORT cannot join"
        );
    }
}
