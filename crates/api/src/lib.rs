//! berth-api: the HTTP control plane of berth.
//!
//! `/api` is the uwsgi.it-compatible customer API that existing clients speak unchanged;
//! `/v1/admin` is the staff API; `/node/v1` is what servers pull their desired state from.
//! All are stateless over the store, so replicas scale out on PostgreSQL.

pub mod admin;
pub mod auth;
pub mod body;
pub mod connections;
pub mod customer;
pub mod dns_proof;
pub mod error;
pub mod input;
pub mod ldap;
pub mod local;
pub mod node;
pub mod openapi;
pub mod rendered;
pub mod response;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use berth_model::billing::ProviderCountry;
use berth_store::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::throttle::LoginLimits;
use crate::auth::Authenticator;
use crate::connections::ConnectionLimits;
use crate::dns_proof::DnsProofConfig;
use crate::error::ApiError;
use crate::ldap::LdapConfig;

/// How the API is set up, beyond its store.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    /// How domains are proved.
    pub dns: DnsProofConfig,
    /// How long the node API's watches hold a request when nothing changes.
    pub node_hold: Duration,
    /// The provider's country, which decides VAT.
    pub provider_country: ProviderCountry,
    /// The LDAP directory customers may also log in with; `None`: local accounts only.
    pub ldap: Option<LdapConfig>,
    /// How long a verified password (local or LDAP) is remembered; also how long a password
    /// changed or removed in the directory may keep working.
    pub credential_cache_ttl: Duration,
    /// The deadlines and the cap connections are served under.
    pub connections: ConnectionLimits,
    /// The limits of failed logins and of password verification.
    pub logins: LoginLimits,
}

impl Default for ApiOptions {
    fn default() -> Self {
        ApiOptions {
            dns: DnsProofConfig::default(),
            node_hold: node::DEFAULT_HOLD,
            provider_country: ProviderCountry::default(),
            ldap: None,
            credential_cache_ttl: auth::CACHE_TTL,
            connections: ConnectionLimits::default(),
            logins: LoginLimits::default(),
        }
    }
}

/// What every request handler shares.
#[derive(Clone)]
pub struct ApiState {
    /// The database.
    pub store: Store,
    /// The credential checker and its cache.
    pub auth: Authenticator,
    /// Rendered answers, valid while the store's revision stays the same.
    pub rendered: rendered::RenderedCache,
    /// How domains are proved.
    pub dns: DnsProofConfig,
    /// How long the node API's watches hold a request.
    pub node_hold: Duration,
    /// Turns true when the API is stopping, so that held watches answer at once.
    pub stopping: Arc<watch::Sender<bool>>,
    /// The provider's country code, which decides VAT.
    pub provider_country: String,
}

fn state(store: Store, options: ApiOptions) -> Result<ApiState, ApiError> {
    Ok(ApiState {
        auth: Authenticator::new(
            store.clone(),
            options.ldap,
            options.credential_cache_ttl,
            options.logins,
        )?,
        rendered: rendered::RenderedCache::new(),
        store,
        dns: options.dns,
        node_hold: options.node_hold,
        stopping: Arc::new(watch::Sender::new(false)),
        provider_country: options.provider_country.0,
    })
}

fn router(state: ApiState) -> Router {
    Router::new()
        .nest("/api", customer::routes())
        .nest("/v1/admin", admin::routes())
        .nest("/node/v1", node::routes())
        .merge(customer::billing::routes())
        .merge(customer::vpn::routes())
        .fallback(|| async { ApiError::no_such_endpoint() })
        .layer(axum::middleware::from_fn(response::shape))
        .with_state(state)
}

/// The whole HTTP application over `store`.
pub fn app(store: Store, options: ApiOptions) -> Result<Router, ApiError> {
    Ok(router(state(store, options)?))
}

/// Serves the API on `listener` until `shutdown` completes, under the connection limits of
/// `options` ([`connections`]).
pub async fn serve(
    store: Store,
    options: ApiOptions,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = options.connections;
    let state =
        state(store, options).map_err(|error| std::io::Error::other(format!("{error:?}")))?;
    let stopping = state.stopping.clone();
    connections::serve(listener, router(state), limits, async move {
        shutdown.await;
        stopping.send_replace(true);
    })
    .await
}
