//! The fastrouter: uwsgi requests from the other members on this server's cluster address,
//! routed by their `HTTP_HOST` (else `SERVER_NAME`) to this server's own cluster
//! subscriptions. Connections from any other address are closed unread.

use std::sync::Arc;

use berth_wire::{Header, Vars};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::cluster::peers::Peers;
use crate::config::Timeouts;
use crate::routing::host::routing_key;
use crate::routing::table::RoutingTable;
use crate::upstream::connection::connect;

/// Serve the cluster listener until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    peers: Arc<Peers>,
    table: Arc<RoutingTable>,
    timeouts: Timeouts,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let (stream, from) = tokio::select! {
            r = listener.accept() => match r {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::debug!(error = %e, "cluster accept failed");
                    continue;
                }
            },
            _ = crate::stopped(&mut shutdown) => return,
        };
        if !peers.is_member(from.ip()) {
            tracing::debug!(%from, "cluster connection from a non-member closed");
            continue;
        }
        let (table, timeouts) = (table.clone(), timeouts.clone());
        tokio::spawn(async move {
            if let Err(e) = relay(stream, &table, &timeouts).await {
                tracing::debug!(%from, error = %e, "cluster request failed");
            }
        });
    }
}

/// The host a uwsgi vars block asks for.
fn host_of(vars: &[u8]) -> Option<String> {
    let entries: Vec<_> = Vars::new(vars).filter_map(Result::ok).collect();
    let value = |name: &[u8]| {
        entries
            .iter()
            .find(|e| e.key == name)
            .map(|e| String::from_utf8_lossy(e.value).into_owned())
    };
    value(b"HTTP_HOST").or_else(|| value(b"SERVER_NAME"))
}

/// Read one request's head, pick a local backend for its host, and relay both ways.
async fn relay(
    mut client: TcpStream,
    table: &RoutingTable,
    timeouts: &Timeouts,
) -> std::io::Result<()> {
    let invalid =
        |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let head_deadline = timeouts.header_read;
    let mut head = [0u8; 4];
    let mut vars = Vec::new();
    tokio::time::timeout(head_deadline, async {
        client.read_exact(&mut head).await?;
        let header = Header::parse(&head).map_err(|_| invalid("bad uwsgi header"))?;
        vars.resize(usize::from(header.datasize), 0);
        client.read_exact(&mut vars).await.map(|_| ())
    })
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "request head"))??;
    let key = host_of(&vars)
        .and_then(|h| routing_key(&h))
        .ok_or_else(|| invalid("no host"))?;
    let (_, backend) = table
        .route(&key)
        .ok_or_else(|| invalid("no cluster node for the host"))?;
    let mut upstream = connect(&backend.target, timeouts.upstream_connect).await?;
    upstream.write_all(&head).await?;
    upstream.write_all(&vars).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}
