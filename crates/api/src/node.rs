//! The node API under `/node/v1`: what servers (`berth node` and its router) pull from the
//! control plane, and what they report back. Servers pull, they are never pushed to.
//!
//! A server joins once with a one-time token (`POST /join`) and then authenticates every
//! call with `Authorization: Bearer <credential>`; it sees only its own data. Wrong join
//! tokens count as failed logins of the client's address: past the limit, that address is
//! refused with 429 ([`crate::auth::throttle`]). Credentials are 256-bit secrets checked by
//! one lookup, not throttled.
//!
//! The two watch endpoints (`/state` and `/domain-keys`) take the revision the caller has and
//! answer at once when the current one differs; otherwise they hold the request until it
//! changes or the hold time (30 s by default, `?wait=<seconds>` asks for less) runs out, and
//! then answer **200 with the unchanged document** (same revision) rather than 304: the
//! router's client reads every 2xx answer as JSON. A commit in this process wakes waiters at
//! once; writes of other processes sharing the database are noticed within a second.

use std::future::Future;
use std::time::Duration;

use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_model::node::{self, DesiredState, DomainKey, NodeReport};
use berth_store::servers::Server;
use berth_store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::auth::ClientAddress;
use crate::body::{JsonObject, RawBody};
use crate::error::{ApiError, ApiResult};
use crate::{input, ApiState};

/// How long a watch is held by default.
pub const DEFAULT_HOLD: Duration = Duration::from_secs(30);

/// How often a held watch re-reads the database, for writes made by other processes.
const FALLBACK_POLL: Duration = Duration::from_secs(1);

/// The node API's routes. Their 401s challenge for a bearer credential, not for Basic.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/join", post(join))
        .route("/state", get(state))
        .route("/domain-keys", get(domain_keys))
        .route("/report", post(report))
        .layer(axum::middleware::map_response(bearer_challenge))
}

async fn bearer_challenge(mut response: Response) -> Response {
    if response.status() == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"berth node\""),
        );
    }
    response
}

/// The refusal of a missing, malformed, unknown or spent credential or join token.
fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "a valid server credential (Authorization: Bearer) or join token is required",
    )
}

/// A request made by a server with a valid credential.
#[derive(Debug, Clone)]
pub struct NodeCaller {
    /// The server the credential belongs to.
    pub server: Server,
}

impl FromRequestParts<ApiState> for NodeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let credential = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .and_then(|(_, credential)| node::secret("credential", credential).ok());
        match credential {
            Some(credential) => match state.store.server_by_credential(credential).await? {
                Some(server) => Ok(NodeCaller { server }),
                None => Err(unauthorized()),
            },
            None => Err(unauthorized()),
        }
    }
}

/// `POST /join {"token"}`: spends a join token and answers the server's new credential,
/// `{"server", "credential"}` (shown once). An unknown or spent token is 401; too many of
/// them from one address, 429 (checked before the token: joining is a write).
pub async fn join(
    State(state): State<ApiState>,
    ClientAddress(address): ClientAddress,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let attempt = state.auth.throttle().admit(None, address).await?;
    let token = input::as_str("token", input::required(&body, "token")?)?;
    let token = node::secret("token", token)?;
    match state.store.join_server(token).await {
        Ok((server, credential)) => {
            attempt.succeeded().await;
            tracing::info!(server = %server.name, "server joined");
            Ok(Json(
                json!({"server": server.name, "credential": credential}),
            ))
        }
        Err(StoreError::NotFound(_)) => {
            attempt.failed();
            Err(unauthorized())
        }
        Err(other) => Err(other.into()),
    }
}

/// The query of the watch endpoints.
#[derive(Debug, Deserialize)]
pub struct WatchQuery {
    revision: Option<String>,
    wait: Option<String>,
}

impl WatchQuery {
    /// The revision the caller has (0: none) and how long to hold at most.
    fn parse(&self, hold: Duration) -> ApiResult<(i64, Duration)> {
        let known = input::query_int("revision", self.revision.as_deref())?.unwrap_or(0);
        let wait = match input::query_int("wait", self.wait.as_deref())? {
            Some(seconds) if seconds < 0 => {
                return Err(ApiError::bad_request("wait must not be negative"))
            }
            Some(seconds) => Duration::from_secs(seconds.unsigned_abs()).min(hold),
            None => hold,
        };
        Ok((known, wait))
    }
}

/// Waits until `revision()` differs from `known`, `wait` runs out or the API stops.
async fn long_poll<F, Fut>(
    state: &ApiState,
    known: i64,
    wait: Duration,
    mut revision: F,
) -> ApiResult<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = berth_store::Result<i64>>,
{
    let deadline = Instant::now() + wait;
    let mut commits = state.store.commits();
    let mut stopping = state.stopping.subscribe();
    loop {
        commits.borrow_and_update();
        if revision().await? != known || *stopping.borrow_and_update() {
            return Ok(());
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(());
        }
        let nap = (deadline - now).min(FALLBACK_POLL);
        tokio::select! {
            _ = commits.changed() => {}
            _ = stopping.changed() => {}
            _ = tokio::time::sleep(nap) => {}
        }
    }
}

/// `GET /state?revision=N[&wait=S]`: the caller's [`DesiredState`], at once when its
/// revision differs from N, else after a change or the hold time.
pub async fn state(
    State(state): State<ApiState>,
    caller: NodeCaller,
    Query(query): Query<WatchQuery>,
) -> ApiResult<Json<DesiredState>> {
    let (known, wait) = query.parse(state.node_hold)?;
    let id = caller.server.id;
    long_poll(&state, known, wait, || {
        state.store.server_state_revision(id)
    })
    .await?;
    Ok(Json(state.store.desired_state(id).await?))
}

/// The answer of `GET /domain-keys`.
#[derive(Debug, Serialize)]
pub struct DomainKeysAnswer {
    /// The map's revision.
    pub revision: i64,
    /// Every domain with its owner's public key.
    pub domains: Vec<DomainKey>,
}

/// `GET /domain-keys?revision=N[&wait=S]`: every domain with its owner's public key
/// (`{"revision", "domains": [{"name", "public_key_pem"}]}`), watched like `/state`.
pub async fn domain_keys(
    State(state): State<ApiState>,
    _caller: NodeCaller,
    Query(query): Query<WatchQuery>,
) -> ApiResult<Json<DomainKeysAnswer>> {
    let (known, wait) = query.parse(state.node_hold)?;
    long_poll(&state, known, wait, || state.store.domain_keys_revision()).await?;
    let (revision, domains) = state.store.domain_keys().await?;
    Ok(Json(DomainKeysAnswer { revision, domains }))
}

/// `POST /report` with a [`NodeReport`]: stores container statuses, raises system alarms
/// and records metric points. A malformed report is refused whole (400); entries about
/// containers that are not the caller's are dropped and their uids listed in `refused`,
/// the rest stored: `{"statuses", "alarms", "metrics", "refused"}` (200).
pub async fn report(
    State(state): State<ApiState>,
    caller: NodeCaller,
    RawBody(body): RawBody,
) -> ApiResult<Json<Value>> {
    let report: NodeReport = serde_json::from_slice(&body)
        .map_err(|error| ApiError::bad_request(format!("malformed report: {error}")))?;
    let outcome = state
        .store
        .record_node_report(caller.server.id, &report)
        .await?;
    if !outcome.refused.is_empty() {
        tracing::warn!(server = %caller.server.name, refused = ?outcome.refused, "report about containers of other servers");
    }
    Ok(Json(json!({
        "statuses": outcome.statuses,
        "alarms": outcome.alarms,
        "metrics": outcome.metrics,
        "refused": outcome.refused,
    })))
}
