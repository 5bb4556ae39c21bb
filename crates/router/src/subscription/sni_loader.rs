//! A subscription's own TLS material (`sni_key`, `sni_crt`, `sni_ca`), read and parsed in
//! the background by the [`PathWorker`], one load per domain at a time, and given to the
//! domain when it arrives. A bad or slow file costs that domain its certificate (one log
//! line, rate-limited with the refusals), never the subscription or anyone else's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use berth_wire::Subscription;

use crate::routing::domain_tls::{DomainTls, TlsError};
use crate::subscription::path_worker::{PathWorkError, PathWorker};
use crate::subscription::pem_source::{read_pem, PemSourceError, Sender};
use crate::subscription::refusal_log::RefusalLog;

/// Why a subscription's SNI files could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SniError {
    /// A file was refused or unreadable.
    #[error(transparent)]
    Source(#[from] PemSourceError),
    /// The PEM is not a usable certificate, key or CA.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The read did not finish (busy, deadline).
    #[error(transparent)]
    Work(#[from] PathWorkError),
}

/// The TLS values of a subscription.
#[derive(Debug, Clone)]
pub struct SniFiles {
    /// `sni_key`.
    pub key: String,
    /// `sni_crt`.
    pub crt: String,
    /// `sni_ca`, with its leading `!` when the client certificate is mandatory.
    pub ca: Option<String>,
}

impl SniFiles {
    /// The TLS values of `sub`, when it has both a key and a certificate.
    pub fn of(sub: &Subscription) -> Option<SniFiles> {
        Some(SniFiles {
            key: sub.sni_key.clone()?,
            crt: sub.sni_crt.clone()?,
            ca: sub.sni_ca.clone(),
        })
    }

    /// Read and parse the files (blocking).
    fn load(&self, sender: Sender) -> Result<DomainTls, SniError> {
        let key_pem = read_pem(&self.key, sender)?;
        let crt_pem = read_pem(&self.crt, sender)?;
        let ca = match &self.ca {
            Some(ca) => {
                let (mandatory, value) = match ca.strip_prefix('!') {
                    Some(rest) => (true, rest),
                    None => (false, ca.as_str()),
                };
                Some((read_pem(value, sender)?, mandatory))
            }
            None => None,
        };
        Ok(DomainTls::from_pem(
            &crt_pem,
            &key_pem,
            ca.as_ref().map(|(pem, m)| (pem.as_slice(), *m)),
        )?)
    }
}

/// Loads TLS material in the background, one load per routing key at a time; a request
/// that arrives while its key loads waits, replacing any request waiting before it, so the
/// newest material of a domain is always the last one applied.
#[derive(Debug)]
pub struct SniLoader {
    worker: Arc<PathWorker>,
    pending: Arc<Mutex<HashMap<String, Option<Job>>>>,
}

/// One load to do: the files, who named them, and what to do with the result.
struct Job {
    files: SniFiles,
    sender: Sender,
    refusals: Arc<RefusalLog>,
    apply: Box<dyn FnOnce(DomainTls) + Send>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("files", &self.files).finish()
    }
}

/// Removes a key from the pending map when its loads end, however they end.
struct Pending {
    map: Arc<Mutex<HashMap<String, Option<Job>>>>,
    key: String,
    /// The key was removed by [`Pending::next`]; it may be another task's now.
    released: bool,
}

impl Pending {
    /// The job that waited for this key, or `None` (and the key is no longer pending).
    fn next(&mut self) -> Option<Job> {
        let mut map = self.map.lock().ok()?;
        match map.get_mut(&self.key).and_then(Option::take) {
            Some(job) => Some(job),
            None => {
                map.remove(&self.key);
                self.released = true;
                None
            }
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        if let Ok(mut map) = self.map.lock() {
            map.remove(&self.key);
        }
    }
}

impl SniLoader {
    /// A loader that reads through `worker`.
    pub fn new(worker: Arc<PathWorker>) -> SniLoader {
        SniLoader {
            worker,
            pending: Arc::default(),
        }
    }

    /// Read `files` for the domain `key` in the background and hand the settings to
    /// `apply` (which gives them to the routing table). While a load for `key` is under way
    /// this one waits for it (replacing any other waiting one). Nothing happens outside a
    /// tokio runtime.
    pub fn spawn(
        &self,
        key: String,
        files: SniFiles,
        sender: Sender,
        refusals: Arc<RefusalLog>,
        apply: impl FnOnce(DomainTls) + Send + 'static,
    ) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let job = Job {
            files,
            sender,
            refusals,
            apply: Box::new(apply),
        };
        let pending = {
            let Ok(mut map) = self.pending.lock() else {
                return;
            };
            if let Some(waiting) = map.get_mut(&key) {
                *waiting = Some(job);
                return;
            }
            map.insert(key.clone(), None);
            Pending {
                map: self.pending.clone(),
                key: key.clone(),
                released: false,
            }
        };
        let worker = self.worker.clone();
        runtime.spawn(async move {
            let mut pending = pending;
            let mut job = Some(job);
            while let Some(Job {
                files,
                sender,
                refusals,
                apply,
            }) = job.take()
            {
                let loaded = worker
                    .run(move || files.load(sender))
                    .await
                    .map_err(SniError::from)
                    .and_then(|r| r);
                match loaded {
                    Ok(tls) => apply(tls),
                    Err(e) => {
                        refusals.record("sni_files", || {
                            tracing::warn!(%key, ?sender, error = %e, "SNI certificate of the subscription not used")
                        });
                    }
                }
                job = pending.next();
            }
        });
    }
}
