//! The subscription sockets: datagrams from vassals over UDP and a unix socket (with the
//! sender's uid), handed to [`Subscriptions::apply`], and the expiry of silent nodes.

use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::socket::{recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, UnixAddr};
use tokio::io::Interest;
use tokio::net::{UdpSocket, UnixDatagram};
use tokio::sync::watch;

use crate::subscription::apply::Subscriptions;
use crate::subscription::pem_source::Sender;
use crate::subscription::replay::now_unix;

/// Receive buffer: the largest uwsgi packet (uWSGI itself truncates at 4 KiB).
const MAX_DATAGRAM: usize = 4 + 65535;

/// Serve subscriptions arriving on UDP until `shutdown` turns true.
pub async fn serve_udp(
    sock: UdpSocket,
    subs: Arc<Subscriptions>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        tokio::select! {
            r = sock.recv_from(&mut buf) => match r {
                Ok((n, from)) => {
                    let _ = subs.apply(&buf[..n], Sender::Udp(from));
                }
                Err(e) => tracing::debug!(error = %e, "subscription recv failed"),
            },
            _ = crate::stopped(&mut shutdown) => return,
        }
    }
}

/// Ask for a 4 MiB receive buffer, so bursts of announces (thousands of vassals starting
/// together) are queued rather than dropped; the kernel caps it at `net.core.rmem_max`.
pub fn enlarge_receive_buffer(sock: &impl std::os::fd::AsFd) {
    if let Err(e) = setsockopt(sock, sockopt::RcvBuf, &(4 << 20)) {
        tracing::debug!(error = %e, "cannot enlarge the subscription receive buffer");
    }
}

/// Bind the unix subscription socket (mode 0666) with SO_PASSCRED, so the kernel attaches
/// each sender's credentials.
pub fn bind_unix(path: &Path) -> std::io::Result<UnixDatagram> {
    if path.exists() {
        std::fs::remove_file(path)?;
    }
    let sock = UnixDatagram::bind(path)?;
    setsockopt(&sock, sockopt::PassCred, &true).map_err(std::io::Error::from)?;
    enlarge_receive_buffer(&sock);
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o666))?;
    Ok(sock)
}

fn recv_with_uid(
    sock: &UnixDatagram,
    buf: &mut [u8],
) -> std::io::Result<(usize, Option<u32>, bool)> {
    let mut iov = [std::io::IoSliceMut::new(buf)];
    let mut space = nix::cmsg_space!(nix::sys::socket::UnixCredentials);
    let msg = recvmsg::<UnixAddr>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_DONTWAIT,
    )
    .map_err(std::io::Error::from)?;
    let mut uid = None;
    if let Ok(cmsgs) = msg.cmsgs() {
        for c in cmsgs {
            if let ControlMessageOwned::ScmCredentials(cred) = c {
                uid = Some(cred.uid());
            }
        }
    }
    Ok((msg.bytes, uid, msg.flags.contains(MsgFlags::MSG_TRUNC)))
}

/// Serve subscriptions arriving on the unix socket until `shutdown` turns true.
pub async fn serve_unix(
    sock: UnixDatagram,
    subs: Arc<Subscriptions>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let received = tokio::select! {
            r = sock.async_io(Interest::READABLE, || recv_with_uid(&sock, &mut buf)) => r,
            _ = crate::stopped(&mut shutdown) => return,
        };
        match received {
            Ok((_, uid, true)) => subs.refuse_oversize(Sender::Unix { uid }),
            Ok((n, uid, false)) => {
                let _ = subs.apply(&buf[..n], Sender::Unix { uid });
            }
            Err(e) => tracing::debug!(error = %e, "subscription recv failed"),
        }
    }
}

/// Drop silent nodes (and old replay state) every second until `shutdown` turns true.
pub async fn expire_loop(
    subs: Arc<Subscriptions>,
    tolerance: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                subs.table.expire(tolerance);
                subs.replay.purge(now_unix(), subs.sign_tolerance);
                subs.refusals.tick();
            }
            _ = crate::stopped(&mut shutdown) => return,
        }
    }
}
