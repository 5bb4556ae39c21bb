//! Who may subscribe a domain: its owner's public key, from the control plane's
//! domain-key map or from a `<key>.pem` directory (uWSGI's `subscriptions-sign-check`).
//! The map also tells the routing table who owns which name (see [`Ownership`]).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use berth_wire::VerifyingKey;
use serde::Deserialize;
use tokio::sync::watch;

use crate::config::ControlPlane;
use crate::routing::ownership::{OwnerId, Owners, Ownership};
use crate::routing::table::RoutingTable;

/// The public keys subscriptions are checked against.
#[derive(Debug)]
pub struct DomainKeys {
    dir: Option<PathBuf>,
    table: Arc<RoutingTable>,
    owners: Mutex<Owners>,
    revision: RwLock<i64>,
}

/// The file name uWSGI looks for: every byte outside `[0-9A-Za-z._-]` becomes `_`.
pub fn pem_file_name(key: &str) -> String {
    let name: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{name}.pem")
}

impl DomainKeys {
    /// Keys from `dir` (if any) and from whatever the control plane later supplies, whose
    /// ownership map goes to `table`.
    pub fn new(dir: Option<PathBuf>, table: Arc<RoutingTable>) -> DomainKeys {
        DomainKeys {
            dir,
            table,
            owners: Mutex::new(Owners::default()),
            revision: RwLock::new(0),
        }
    }

    /// The owner that may sign subscriptions for `raw_key` (as sent) whose routing key is
    /// `routing_key`, and its key. The control plane's map is asked first, by routing key
    /// ([`Ownership::grant`]: the exact name, else the nearest wildcard up the labels, a
    /// wildcard's apex counting as the wildcard). Then the directory, by the sanitised raw
    /// key, as uWSGI names its files.
    pub fn key_for(
        &self,
        raw_key: &str,
        routing_key: &str,
    ) -> Option<(OwnerId, Arc<VerifyingKey>)> {
        if let Some(granted) = self.table.ownership().grant(routing_key) {
            return Some(granted);
        }
        let dir = self.dir.as_ref()?;
        let pem = std::fs::read_to_string(dir.join(pem_file_name(raw_key))).ok()?;
        let interned = self.owners.lock().ok()?.intern(&pem);
        if interned.is_none() {
            tracing::warn!(
                key = raw_key,
                "unusable public key in the sign-check directory"
            );
        }
        interned
    }

    /// Apply a revision of the control plane's map: (domain name, owner's PEM public key).
    pub fn replace(&self, revision: i64, domains: Vec<(String, String)>) {
        let mut entries = Vec::with_capacity(domains.len());
        if let Ok(mut owners) = self.owners.lock() {
            for (name, pem) in domains {
                match (
                    crate::routing::host::routing_key(&name),
                    owners.intern(&pem),
                ) {
                    (Some(key), Some((owner, public))) => entries.push((key, owner, public)),
                    _ => {
                        tracing::warn!(domain = %name, "control plane sent an unusable domain key")
                    }
                }
            }
        }
        let ownership = Ownership::new(entries);
        tracing::info!(revision, domains = ownership.len(), "domain keys updated");
        self.table.set_ownership(Arc::new(ownership));
        if let Ok(mut r) = self.revision.write() {
            *r = revision;
        }
    }

    /// The control plane revision last applied (0 before the first answer).
    pub fn revision(&self) -> i64 {
        self.revision.read().map(|r| *r).unwrap_or(0)
    }
}

/// The control plane's answer to `GET /node/v1/domain-keys`.
#[derive(Debug, Deserialize)]
struct DomainKeysAnswer {
    revision: i64,
    domains: Vec<DomainKeyEntry>,
}

#[derive(Debug, Deserialize)]
struct DomainKeyEntry {
    name: String,
    public_key_pem: String,
}

/// Follow the control plane's domain-key map: long-poll
/// `GET {url}/node/v1/domain-keys?revision=N` with the bearer token and apply every new
/// revision, backing off on errors, until `shutdown` turns true. With several URLs
/// (comma-separated API replicas), a failed request moves on to the next one.
pub async fn follow_control_plane(
    keys: Arc<DomainKeys>,
    plane: ControlPlane,
    mut shutdown: watch::Receiver<bool>,
) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(45))
        .connect_timeout(Duration::from_secs(5))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the control plane client");
            return;
        }
    };
    let urls: Vec<String> = plane
        .url
        .split(',')
        .map(|base| base.trim().trim_end_matches('/'))
        .filter(|base| !base.is_empty())
        .map(|base| format!("{base}/node/v1/domain-keys"))
        .collect();
    if urls.is_empty() {
        tracing::error!("no control plane URL given");
        return;
    }
    let mut at = 0;
    let mut backoff = Duration::from_millis(250);
    loop {
        let request = client
            .get(&urls[at])
            .query(&[("revision", keys.revision())])
            .bearer_auth(&plane.token)
            .send();
        let outcome = tokio::select! {
            r = request => r,
            _ = crate::stopped(&mut shutdown) => return,
        };
        let answer = match outcome.and_then(|r| r.error_for_status()) {
            Ok(r) => r.json::<DomainKeysAnswer>().await,
            Err(e) => Err(e),
        };
        match answer {
            Ok(answer) => {
                backoff = Duration::from_millis(250);
                if answer.revision != keys.revision() {
                    let domains = answer
                        .domains
                        .into_iter()
                        .map(|d| (d.name, d.public_key_pem))
                        .collect();
                    keys.replace(answer.revision, domains);
                }
            }
            Err(e) => {
                tracing::warn!(url = %urls[at], error = %e, retry_in_ms = backoff.as_millis() as u64, "domain keys poll failed");
                at = (at + 1) % urls.len();
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = crate::stopped(&mut shutdown) => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_sanitised_like_uwsgi() {
        assert_eq!(
            pem_file_name("test.uwsgi.it:8000"),
            "test.uwsgi.it_8000.pem"
        );
        assert_eq!(pem_file_name(".example.org"), ".example.org.pem");
        assert_eq!(pem_file_name("../etc/x"), ".._etc_x.pem");
    }
}
