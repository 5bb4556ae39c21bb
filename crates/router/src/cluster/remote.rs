//! A cluster subscription forwarded by another member, applied to the routing table: the
//! vassal's signature and freshness checked as for a local subscription (the replay state
//! keyed by the member's backend), the member's cluster address subscribed as a uwsgi
//! backend, and the TLS material it carried given to the domain.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use berth_wire::{Subscription, SubscriptionKind};

use crate::cluster::envelope::Envelope;
use crate::routing::domain_tls::DomainTls;
use crate::routing::host::routing_key;
use crate::routing::table::{NodeAnnounce, Subscribed};
use crate::routing::tls_material::Material;
use crate::subscription::apply::{Refused, Subscriptions};
use crate::upstream::connection::Target;

/// Apply `envelope` from a member to `subs`' table; refusals are counted and logged as
/// local ones are.
pub fn apply(subs: &Subscriptions, envelope: Envelope) -> Result<Subscribed, Refused> {
    let result = apply_inner(subs, envelope);
    let counter = match &result {
        Ok(_) => &subs.counters.accepted,
        Err(e) => {
            subs.refusals.record(
                e.reason(),
                || tracing::info!(error = %e, "cluster subscription refused"),
            );
            &subs.counters.refused
        }
    };
    counter.fetch_add(1, Ordering::Relaxed);
    result
}

fn apply_inner(subs: &Subscriptions, envelope: Envelope) -> Result<Subscribed, Refused> {
    let mut sub = Subscription::parse(&envelope.subscription)?;
    let key = routing_key(&sub.key).ok_or_else(|| Refused::BadKey(sub.key.clone()))?;
    let backend: std::net::SocketAddr = envelope
        .backend
        .parse()
        .map_err(|_| Refused::BadAddress(envelope.backend.clone()))?;
    // The signature covers the vassal's bytes, not these fields: the backend is the member's.
    sub.address = envelope.backend.clone();
    let owner = subs.authenticate(&sub, &key)?;
    if sub.kind == SubscriptionKind::Unsubscribe {
        if subs.table.unsubscribe(&key, &sub.address) {
            tracing::info!(%key, address = %sub.address, "cluster member unsubscribed");
        }
        return Ok(Subscribed::Refreshed);
    }
    let outcome = subs.table.subscribe(
        &key,
        NodeAnnounce {
            address: sub.address.clone(),
            target: Target::UwsgiTcp(backend),
            modifier1: sub.modifier1,
            modifier2: sub.modifier2,
            weight: sub.effective_weight(),
            cores: sub.cores,
            load: sub.load,
        },
        owner,
    );
    if outcome != Subscribed::Refreshed {
        tracing::info!(%key, address = %sub.address, "{key} => new cluster node: {}", sub.address);
        subs.replay.save_soon();
    }
    if let Some(tls) = envelope.tls {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let ca = tls
            .ca
            .as_ref()
            .map(|(pem, m)| format!("{}{}", if *m { "!" } else { "" }, text(pem)));
        let material = Material::of(&text(&tls.key), &text(&tls.crt), ca.as_deref());
        if subs.table.wants_tls(&key, &sub.address, material) {
            let ca = tls.ca.as_ref().map(|(pem, m)| (pem.as_slice(), *m));
            match DomainTls::from_pem(&tls.crt, &tls.key, ca) {
                Ok(domain) => {
                    if subs.table.set_tls(&key, material, Arc::new(domain)) {
                        tracing::info!(%key, "new SSL context for {key} (cluster)");
                    }
                }
                Err(e) => tracing::info!(%key, error = %e, "cluster TLS material unusable"),
            }
        }
    }
    Ok(outcome)
}
