//! Sending a locally accepted cluster subscription to every other member, sealed: the
//! vassal's datagram as signed, this server's cluster address as its backend, and the TLS
//! material it names read here (the only place its files can be read).

use std::net::SocketAddr;
use std::sync::Arc;

use berth_wire::{Subscription, SubscriptionKind};
use tokio::net::UdpSocket;

use crate::cluster::envelope::{Envelope, TlsPems};
use crate::cluster::peers::Peers;
use crate::routing::host::routing_key;
use crate::routing::table::RoutingTable;
use crate::subscription::path_worker::PathWorker;
use crate::subscription::pem_source::{read_pem, Sender};
use crate::subscription::sni_loader::SniFiles;

/// The largest datagram UDP carries.
const MAX_UDP: usize = 65507;

/// Forwards cluster subscriptions to the other members.
#[derive(Debug)]
pub struct Forwarder {
    /// The members and key.
    pub peers: Arc<Peers>,
    /// The cluster UDP socket (bound to this server's cluster address).
    pub socket: Arc<UdpSocket>,
    /// This server's cluster address: the backend the others subscribe.
    pub own: SocketAddr,
    /// Reads the TLS files off the apply path.
    pub worker: Arc<PathWorker>,
}

impl Forwarder {
    /// Forward `datagram` (accepted from `sender` into the local cluster `table`). An
    /// unsubscribe goes on only when no local node of the domain is left.
    pub fn forward(&self, datagram: &[u8], sender: Sender, table: &RoutingTable) {
        let Ok(sub) = Subscription::parse(datagram) else {
            return;
        };
        if sub.kind == SubscriptionKind::Unsubscribe {
            let left = routing_key(&sub.key)
                .and_then(|k| table.slot(&k))
                .is_some_and(|slot| !slot.nodes().is_empty());
            if left {
                return;
            }
        }
        let Some(set) = self.peers.current() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (socket, own, worker) = (self.socket.clone(), self.own, self.worker.clone());
        let datagram = datagram.to_vec();
        let files = SniFiles::of(&sub);
        runtime.spawn(async move {
            let tls = match files {
                Some(files) => match worker.run(move || read_tls(&files, sender)).await {
                    Ok(Ok(pems)) => Some(pems),
                    Ok(Err(e)) => {
                        tracing::info!(error = %e, "cluster TLS material not forwarded");
                        None
                    }
                    Err(e) => {
                        tracing::info!(error = %e, "cluster TLS material not forwarded");
                        None
                    }
                },
                None => None,
            };
            let envelope = Envelope {
                backend: own.to_string(),
                subscription: datagram,
                tls,
            };
            let Some(sealed) = set.key.seal(&envelope.to_bytes()) else {
                return;
            };
            if sealed.len() > MAX_UDP {
                tracing::info!("cluster subscription too large to forward");
                return;
            }
            for member in set.members.iter().filter(|m| **m != own) {
                if let Err(e) = socket.send_to(&sealed, *member).await {
                    tracing::debug!(%member, error = %e, "cluster subscription not sent");
                }
            }
        });
    }
}

/// Read the PEM material `files` names, as `sender` may.
fn read_tls(
    files: &SniFiles,
    sender: Sender,
) -> Result<TlsPems, crate::subscription::pem_source::PemSourceError> {
    let ca = match &files.ca {
        Some(ca) => {
            let (mandatory, value) = match ca.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, ca.as_str()),
            };
            Some((read_pem(value, sender)?, mandatory))
        }
        None => None,
    };
    Ok(TlsPems {
        key: read_pem(&files.key, sender)?,
        crt: read_pem(&files.crt, sender)?,
        ca,
    })
}
