//! The cluster UDP socket: sealed subscriptions from the other members, opened with the
//! legion's key and applied; anything from a non-member, or that does not open, is dropped.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio::sync::watch;

use crate::cluster::envelope::Envelope;
use crate::cluster::peers::Peers;
use crate::subscription::apply::Subscriptions;

/// Receive buffer: the largest UDP datagram.
const MAX_DATAGRAM: usize = 65536;

/// Serve the cluster socket until `shutdown` turns true.
pub async fn serve(
    socket: Arc<UdpSocket>,
    peers: Arc<Peers>,
    subs: Arc<Subscriptions>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (n, from) = tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok(received) => received,
                Err(e) => {
                    tracing::debug!(error = %e, "cluster recv failed");
                    continue;
                }
            },
            _ = crate::stopped(&mut shutdown) => return,
        };
        let envelope = peers
            .current()
            .filter(|set| set.is_member(from.ip()))
            .and_then(|set| set.key.open(&buf[..n]))
            .and_then(|plain| Envelope::from_bytes(&plain));
        match envelope {
            Some(envelope) => {
                let _ = crate::cluster::remote::apply(&subs, envelope);
            }
            None => {
                subs.counters.refused.fetch_add(1, Ordering::Relaxed);
                subs.refusals.record("not_member", || {
                    tracing::info!(%from, "cluster datagram from a non-member or not sealed with the legion key")
                });
            }
        }
    }
}
