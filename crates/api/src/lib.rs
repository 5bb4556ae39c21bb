//! berth-api: the HTTP control plane of berth.
//!
//! `/api` is the uwsgi.it-compatible customer API that existing clients speak unchanged;
//! `/v1/admin` is the staff API. Both are stateless over the store, so replicas scale out on
//! PostgreSQL.

pub mod admin;
pub mod auth;
pub mod body;
pub mod customer;
pub mod dns_proof;
pub mod error;
pub mod input;
pub mod openapi;
pub mod rendered;
pub mod response;

use std::future::Future;

use axum::Router;
use berth_model::billing::ProviderCountry;
use berth_store::Store;
use tokio::net::TcpListener;

use crate::auth::Authenticator;
use crate::dns_proof::DnsProofConfig;
use crate::error::ApiError;

/// How the API is set up, beyond its store.
#[derive(Debug, Clone, Default)]
pub struct ApiOptions {
    /// How domains are proved.
    pub dns: DnsProofConfig,
    /// The provider's country, which decides VAT.
    pub provider_country: ProviderCountry,
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
    /// The provider's country code, which decides VAT.
    pub provider_country: String,
}

/// The whole HTTP application over `store`.
pub fn app(store: Store, options: ApiOptions) -> Result<Router, ApiError> {
    let state = ApiState {
        auth: Authenticator::new(store.clone())?,
        rendered: rendered::RenderedCache::new(),
        store,
        dns: options.dns,
        provider_country: options.provider_country.0,
    };
    Ok(Router::new()
        .nest("/api", customer::routes())
        .nest("/v1/admin", admin::routes())
        .merge(customer::billing::routes())
        .fallback(|| async { ApiError::no_such_endpoint() })
        .layer(axum::middleware::from_fn(response::shape))
        .with_state(state))
}

/// Serves the API on `listener` until `shutdown` completes.
pub async fn serve(
    store: Store,
    options: ApiOptions,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = app(store, options).map_err(|error| std::io::Error::other(format!("{error:?}")))?;
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
