//! Authentication: HTTP Basic or uwsgi.it's hex-encoded `X-uwsgi-it-username` /
//! `X-uwsgi-it-password` headers, checked against argon2 hashes; for raising alarms only,
//! also a container's alarm key; for news, no credentials at all.
//!
//! Verifying argon2 on every request would cost tens of milliseconds, so verified
//! credentials are remembered for a few minutes. The cache key is an HMAC (with a per-process
//! secret) over the stored hash, the username and the password: a password change replaces
//! the stored hash, so old entries can never match again — on every replica at once.
//!
//! Reading the user on every request would cost a query, so the user a credential logs in as
//! is also remembered, filed under the store's revision read before the user was: every write
//! bumps the revision, so while it stays the same nothing about the user (password, active
//! flag, profile) can have changed, whichever process wrote. A request then costs one
//! revision read, which concurrent requests share (`Store::revision`), and the handler can
//! reuse that revision to check its own cached answers ([`crate::rendered`]).

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::hmac;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use base64::Engine;
use berth_store::logins::{Login, Profile};
use berth_store::{passwords, Store};

use crate::error::ApiError;
use crate::ApiState;

/// How long a verified credential is remembered.
const CACHE_TTL: Duration = Duration::from_secs(300);
/// How many verified credentials are remembered at most.
const CACHE_CAPACITY: u64 = 100_000;

/// A hash to verify against when the user does not exist, so that unknown usernames take as
/// long as wrong passwords.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2HKHWqRgZ5kXqV2rFZ1tNHzXrBh2iWwPqnD0bS0ZYbM";

/// Checks credentials and remembers the ones it verified.
#[derive(Clone)]
pub struct Authenticator {
    store: Store,
    verified: moka::future::Cache<[u8; 32], ()>,
    /// The user each credential logged in as, and the revision it was read at.
    current: moka::future::Cache<[u8; 32], Arc<(i64, Login)>>,
    key: hmac::Key,
}

/// A user whose credentials were checked, and the store's revision read before the check:
/// answers cached at that revision are current for this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The user.
    pub login: Login,
    /// The store's revision, read before the user was.
    pub revision: i64,
}

/// A username and password as a client sent them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
}

impl Credentials {
    /// The credentials of a request: Basic first, then the hex headers; `None` when the
    /// request carries neither (or carries them malformed).
    pub fn from_headers(headers: &HeaderMap) -> Option<Credentials> {
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            let value = value.to_str().ok()?;
            let (scheme, encoded) = value.split_once(' ')?;
            if !scheme.eq_ignore_ascii_case("basic") {
                return None;
            }
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            let (username, password) = decoded.split_once(':')?;
            return Some(Credentials {
                username: username.to_owned(),
                password: password.to_owned(),
            });
        }
        let hex_header = |name: &str| -> Option<String> {
            let bytes = hex::decode(headers.get(name)?.to_str().ok()?.trim()).ok()?;
            String::from_utf8(bytes).ok()
        };
        Some(Credentials {
            username: hex_header("x-uwsgi-it-username")?,
            password: hex_header("x-uwsgi-it-password")?,
        })
    }
}

impl Authenticator {
    /// An authenticator over `store` with an empty cache and a fresh secret.
    pub fn new(store: Store) -> Result<Self, ApiError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng)
            .map_err(|_| ApiError::bare(StatusCode::INTERNAL_SERVER_ERROR))?;
        Ok(Self {
            store,
            verified: moka::future::Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .time_to_live(CACHE_TTL)
                .build(),
            current: moka::future::Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .time_to_live(CACHE_TTL)
                .build(),
            key,
        })
    }

    /// An HMAC over `parts`, each prefixed with its length.
    fn cache_key(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut context = hmac::Context::with_key(&self.key);
        for part in parts {
            context.update(&(part.len() as u64).to_le_bytes());
            context.update(part);
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(context.sign().as_ref());
        key
    }

    /// The active user these credentials belong to, or 401.
    pub async fn authenticate(&self, credentials: &Credentials) -> Result<Authenticated, ApiError> {
        if berth_model::account::username(&credentials.username).is_err() {
            return Err(ApiError::unauthorized());
        }
        let revision = self.store.revision().await?;
        let credential_key = self.cache_key(&[
            credentials.username.as_bytes(),
            credentials.password.as_bytes(),
        ]);
        if let Some(known) = self.current.get(&credential_key).await {
            if known.0 == revision {
                return Ok(Authenticated {
                    login: known.1.clone(),
                    revision,
                });
            }
        }
        let login = self.verify(credentials).await?;
        self.current
            .insert(credential_key, Arc::new((revision, login.clone())))
            .await;
        Ok(Authenticated { login, revision })
    }

    /// Reads the user and checks the password against its stored hash (argon2, unless this
    /// hash and password were verified recently).
    async fn verify(&self, credentials: &Credentials) -> Result<Login, ApiError> {
        let login = self.store.login(&credentials.username).await?;
        let Some(login) = login.filter(|login| login.is_active) else {
            let password = credentials.password.clone();
            let _ =
                tokio::task::spawn_blocking(move || passwords::verify(&password, DUMMY_HASH)).await;
            return Err(ApiError::unauthorized());
        };
        let key = self.cache_key(&[
            login.password_hash.as_bytes(),
            credentials.username.as_bytes(),
            credentials.password.as_bytes(),
        ]);
        let password = credentials.password.clone();
        let stored = login.password_hash.clone();
        // Single flight: concurrent requests with the same credentials share one argon2 run
        // (a burst of new connections would otherwise run dozens at once).
        self.verified
            .try_get_with(key, async move {
                let matches =
                    tokio::task::spawn_blocking(move || passwords::verify(&password, &stored))
                        .await
                        .unwrap_or(false);
                if matches {
                    Ok(())
                } else {
                    Err(())
                }
            })
            .await
            .map_err(|_| ApiError::unauthorized())?;
        Ok(login)
    }
}

/// A request made by a customer (rejects anonymous requests with 401, staff-only users with 403).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerCaller {
    /// The customer's database id.
    pub customer_id: i64,
    /// The customer's profile, as read while authenticating.
    pub profile: Profile,
    /// The store's revision read at the start of the request: answers rendered at this
    /// revision are current for it.
    pub revision: i64,
}

/// A request made by platform staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaffCaller {
    /// The staff user's database id.
    pub user_id: i64,
}

async fn login_of(parts: &Parts, state: &ApiState) -> Result<Authenticated, ApiError> {
    let credentials =
        Credentials::from_headers(&parts.headers).ok_or_else(ApiError::unauthorized)?;
    state.auth.authenticate(&credentials).await
}

impl FromRequestParts<ApiState> for CustomerCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let Authenticated { login, revision } = login_of(parts, state).await?;
        login
            .customer_id
            .zip(login.profile)
            .map(|(customer_id, profile)| CustomerCaller {
                customer_id,
                profile,
                revision,
            })
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    "this account is not a customer account",
                )
            })
    }
}

/// A request that may or may not come from a customer, for pages anyone may read
/// (`/api/news`). Missing, wrong or non-customer credentials all count as anonymous: a
/// logged-out uwsgiit-console sends `None:None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaybeCustomer(pub Option<CustomerCaller>);

impl FromRequestParts<ApiState> for MaybeCustomer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, std::convert::Infallible> {
        Ok(MaybeCustomer(
            CustomerCaller::from_request_parts(parts, state).await.ok(),
        ))
    }
}

/// Who raises an alarm: a customer by credentials or, only when the request carries no
/// credential headers at all, whoever holds the container's alarm key (`?key=`), as the
/// uWSGI alarm plugins do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlarmRaiser {
    /// Credentials of a customer.
    Customer(CustomerCaller),
    /// An alarm key, not yet checked against the container.
    Key(String),
}

#[derive(serde::Deserialize)]
struct AlarmKeyParam {
    key: Option<String>,
}

impl AlarmRaiser {
    /// The customer on whose behalf an alarm is raised on container `uid`: the caller, or the
    /// container's owner when the key is that container's current alarm key (else 401).
    pub async fn customer_id(&self, state: &ApiState, uid: i64) -> Result<i64, ApiError> {
        match self {
            AlarmRaiser::Customer(caller) => Ok(caller.customer_id),
            AlarmRaiser::Key(key) => {
                state
                    .store
                    .alarm_key_holder(uid, key)
                    .await?
                    .ok_or_else(|| {
                        ApiError::new(
                            StatusCode::UNAUTHORIZED,
                            format!("the key is not the alarm key of container {uid}"),
                        )
                    })
            }
        }
    }
}

impl FromRequestParts<ApiState> for AlarmRaiser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let has_credentials = [
            header::AUTHORIZATION.as_str(),
            "x-uwsgi-it-username",
            "x-uwsgi-it-password",
        ]
        .iter()
        .any(|name| parts.headers.contains_key(*name));
        if has_credentials {
            return CustomerCaller::from_request_parts(parts, state)
                .await
                .map(AlarmRaiser::Customer);
        }
        let Query(AlarmKeyParam { key }) = Query::try_from_uri(&parts.uri)
            .map_err(|_| ApiError::bad_request("malformed query string"))?;
        key.filter(|key| !key.is_empty())
            .map(AlarmRaiser::Key)
            .ok_or_else(ApiError::unauthorized)
    }
}

impl FromRequestParts<ApiState> for StaffCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let login = login_of(parts, state).await?.login;
        if login.is_staff {
            Ok(StaffCaller {
                user_id: login.user_id,
            })
        } else {
            Err(ApiError::new(StatusCode::FORBIDDEN, "staff only"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn basic_credentials_are_decoded() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic a3JhdG9zOnNwYXJ0YTpvZg=="),
        );
        let credentials = Credentials::from_headers(&headers).expect("credentials");
        assert_eq!(credentials.username, "kratos");
        assert_eq!(credentials.password, "sparta:of");
    }

    #[test]
    fn hex_headers_are_decoded() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-uwsgi-it-username",
            HeaderValue::from_static("6b7261746f73"),
        );
        headers.insert(
            "x-uwsgi-it-password",
            HeaderValue::from_static("7370617274"),
        );
        let credentials = Credentials::from_headers(&headers).expect("credentials");
        assert_eq!(credentials.username, "kratos");
        assert_eq!(credentials.password, "spart");
    }

    #[test]
    fn malformed_credentials_are_none() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert_eq!(Credentials::from_headers(&headers), None);
        let mut headers = HeaderMap::new();
        headers.insert("x-uwsgi-it-username", HeaderValue::from_static("zz"));
        headers.insert("x-uwsgi-it-password", HeaderValue::from_static("00"));
        assert_eq!(Credentials::from_headers(&headers), None);
        assert_eq!(Credentials::from_headers(&HeaderMap::new()), None);
    }
}
