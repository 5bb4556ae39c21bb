//! Applying a subscription: a datagram from a vassal parsed, checked (signature, replay,
//! file ownership) and applied to the routing table, its TLS material loaded and its ack
//! sent.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use berth_wire::{Subscription, SubscriptionKind, WireError};

use crate::cluster::forward::Forwarder;
use crate::routing::host::routing_key;
use crate::routing::ownership::OwnerId;
use crate::routing::table::{NodeAnnounce, RoutingTable, Subscribed};
use crate::routing::tls_material::Material;
use crate::subscription::domain_keys::DomainKeys;
use crate::subscription::path_worker::PathWorker;
use crate::subscription::pem_source::Sender;
use crate::subscription::refusal_log::RefusalLog;
use crate::subscription::replay::{now_unix, ReplayError, ReplayGuard};
use crate::subscription::sni_loader::{SniFiles, SniLoader};
use crate::upstream::connection::Target;

/// Why a subscription was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// Not a well-formed subscription packet.
    #[error("malformed packet: {0}")]
    Malformed(#[from] WireError),
    /// The key is not a usable host name.
    #[error("key {0:?} is not a host name")]
    BadKey(String),
    /// The address is neither `ip:port` nor a path (or `proto=http` with a path).
    #[error("address {0:?} is not ip:port or a unix socket path")]
    BadAddress(String),
    /// Signing is required and no public key is known for the key.
    #[error("no public key is known for {0:?}")]
    NoKey(String),
    /// Signing is required and the packet is unsigned.
    #[error("unsigned subscription for {0:?}")]
    Unsigned(String),
    /// The signature does not verify.
    #[error("bad signature for {0:?}")]
    BadSignature(String),
    /// The packet's time is replayed or out of the window.
    #[error(transparent)]
    Replay(#[from] ReplayError),
}

impl Refused {
    /// A short name of the reason, for the stats and the log summary.
    pub fn reason(&self) -> &'static str {
        match self {
            Refused::Malformed(_) => "malformed",
            Refused::BadKey(_) => "bad_key",
            Refused::BadAddress(_) => "bad_address",
            Refused::NoKey(_) => "no_key",
            Refused::Unsigned(_) => "unsigned",
            Refused::BadSignature(_) => "bad_signature",
            Refused::Replay(_) => "replay",
        }
    }
}

/// Counters of the subscription server.
#[derive(Debug, Default)]
pub struct SubscriptionCounters {
    /// Packets applied.
    pub accepted: AtomicU64,
    /// Packets refused.
    pub refused: AtomicU64,
}

/// Applies subscription datagrams to the routing table.
#[derive(Debug)]
pub struct Subscriptions {
    /// The table subscriptions feed.
    pub table: Arc<RoutingTable>,
    /// Public keys, when signing is required.
    pub keys: Option<Arc<DomainKeys>>,
    /// Per-node anti-replay state.
    pub replay: Arc<ReplayGuard>,
    /// Allowed distance of a packet's `unix` from now.
    pub sign_tolerance: Duration,
    /// Counters.
    pub counters: SubscriptionCounters,
    /// Refusals by reason, and which of them get a log line.
    pub refusals: Arc<RefusalLog>,
    /// Runs the blocking work on sender-named paths (key files, acks).
    pub worker: Arc<PathWorker>,
    /// Loads subscriptions' TLS material in the background.
    pub sni: SniLoader,
    /// For cluster subscriptions: sends each accepted one on to the other legion members.
    pub forward: Option<Arc<Forwarder>>,
}

impl Subscriptions {
    /// Check and apply one datagram from `sender`.
    pub fn apply(&self, datagram: &[u8], sender: Sender) -> Result<Subscribed, Refused> {
        let result = self.apply_inner(datagram, sender);
        if let (Ok(_), Some(forward)) = (&result, &self.forward) {
            forward.forward(datagram, sender, &self.table);
        }
        let counter = match &result {
            Ok(_) => &self.counters.accepted,
            Err(e) => {
                self.refusals.record(
                    e.reason(),
                    || tracing::info!(?sender, error = %e, "subscription refused"),
                );
                &self.counters.refused
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
        result
    }

    /// Count (and maybe log) a datagram too large to be a subscription.
    pub fn refuse_oversize(&self, sender: Sender) {
        self.counters.refused.fetch_add(1, Ordering::Relaxed);
        self.refusals.record("oversize", || {
            tracing::info!(?sender, "oversize subscription datagram dropped")
        });
    }

    /// Check the signature and freshness of `sub` (routing key `key`); the owner it proves,
    /// `None` when signing is off.
    pub(crate) fn authenticate(
        &self,
        sub: &Subscription,
        key: &str,
    ) -> Result<Option<OwnerId>, Refused> {
        let Some(keys) = &self.keys else {
            return Ok(None);
        };
        let (owner, public) = keys
            .key_for(&sub.key, key)
            .ok_or_else(|| Refused::NoKey(sub.key.clone()))?;
        let signature = sub
            .signature
            .as_ref()
            .ok_or_else(|| Refused::Unsigned(sub.key.clone()))?;
        if !public.verify(&signature.signed_bytes, &signature.signature) {
            return Err(Refused::BadSignature(sub.key.clone()));
        }
        self.replay.check_and_record(
            key,
            &sub.address,
            sub.unix,
            now_unix(),
            self.sign_tolerance,
        )?;
        Ok(Some(owner))
    }

    fn apply_inner(&self, datagram: &[u8], sender: Sender) -> Result<Subscribed, Refused> {
        let sub = Subscription::parse(datagram)?;
        let key = routing_key(&sub.key).ok_or_else(|| Refused::BadKey(sub.key.clone()))?;
        let owner = self.authenticate(&sub, &key)?;
        if sub.kind == SubscriptionKind::Unsubscribe {
            if self.table.unsubscribe(&key, &sub.address) {
                tracing::info!(%key, address = %sub.address, "node unsubscribed");
            }
            self.replay.save_soon();
            return Ok(Subscribed::Refreshed);
        }
        let target = Target::from_subscription(&sub.address, sub.proto.as_deref())
            .ok_or_else(|| Refused::BadAddress(sub.address.clone()))?;
        let outcome = self.table.subscribe(
            &key,
            NodeAnnounce {
                address: sub.address.clone(),
                target,
                modifier1: sub.modifier1,
                modifier2: sub.modifier2,
                weight: sub.effective_weight(),
                cores: sub.cores,
                load: sub.load,
            },
            owner,
        );
        match outcome {
            Subscribed::NewSlot => {
                tracing::info!(%key, "new pool: {key}");
                tracing::info!(%key, address = %sub.address, "{key} => new node: {}", sub.address);
            }
            Subscribed::NewNode => {
                tracing::info!(%key, address = %sub.address, "{key} => new node: {}", sub.address)
            }
            Subscribed::Refreshed => {}
        }
        if outcome != Subscribed::Refreshed {
            self.replay.save_soon();
            if let Some(path) = &sub.notify {
                let message = format!(
                    "[subscription ack] {} => new node: {}",
                    sub.key, sub.address
                );
                self.spawn_ack(path.clone(), sender, message);
            }
        }
        if let Some(files) = SniFiles::of(&sub) {
            let material = Material::of(&files.key, &files.crt, files.ca.as_deref());
            if self.table.wants_tls(&key, &sub.address, material) {
                let (table, slot) = (self.table.clone(), key.clone());
                let apply = move |tls| {
                    if table.set_tls(&slot, material, Arc::new(tls)) {
                        tracing::info!(key = %slot, "new SSL context for {slot}");
                    }
                };
                self.sni
                    .spawn(key.clone(), files, sender, self.refusals.clone(), apply);
            }
        }
        Ok(outcome)
    }

    /// Send the ack to the sender's `notify` socket in the background (unix senders only).
    fn spawn_ack(&self, path: String, sender: Sender, message: String) {
        if !matches!(sender, Sender::Unix { uid: Some(_) }) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let worker = self.worker.clone();
        runtime.spawn(async move {
            let sent = worker
                .run(move || crate::subscription::notify::send_ack(&path, sender, &message))
                .await;
            match sent {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(?sender, error = %e, "subscription ack not sent"),
                Err(e) => tracing::debug!(?sender, error = %e, "subscription ack not sent"),
            }
        });
    }
}
