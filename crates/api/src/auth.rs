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
//!
//! With a directory configured ([`crate::ldap`]), a username and password are checked in this
//! order: an active local account's own password first, then the directory. A directory login
//! that succeeds for a username without a local account creates a customer account of that
//! name (e-mail from the directory, a random local password nobody is told), as uncloud does
//! on first login; from then on the user is that local account, with its local flags (staff,
//! active). A deactivated local account stays locked out whatever the directory says. What
//! the directory accepted is remembered like a verified local password, for [`CACHE_TTL`] (by
//! default) from the bind, and the remembered user only until then too, whatever the
//! revision: a password changed or an entry removed in the directory stops working within
//! that time. A directory that is down or slow (see [`crate::ldap::DEFAULT_TIMEOUT`]) makes
//! its users' logins 401, with a warning in the log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::hmac;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use base64::Engine;
use berth_store::customers::NewCustomer;
use berth_store::logins::{Login, Profile};
use berth_store::{passwords, Store, StoreError};

use crate::error::ApiError;
use crate::ldap::{DirectoryError, DirectoryUser, LdapConfig};
use crate::ApiState;

/// How long a verified credential is remembered (a local password or a directory bind), by
/// default ([`crate::ApiOptions::credential_cache_ttl`]).
pub const CACHE_TTL: Duration = Duration::from_secs(300);
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
    current: moka::future::Cache<[u8; 32], Arc<Current>>,
    key: hmac::Key,
    /// The directory users may also log in with, if any.
    directory: Option<LdapConfig>,
    /// Credentials the directory accepted, and when it did.
    directory_verified: moka::future::Cache<[u8; 32], Arc<(Instant, DirectoryUser)>>,
    /// How long a verified credential is remembered.
    ttl: Duration,
}

/// What a credential logged in as, remembered.
struct Current {
    /// The store's revision read before the user was.
    revision: i64,
    /// The user.
    login: Login,
    /// Until when the directory's word is good, when the directory vouched for the password.
    until: Option<Instant>,
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
    /// An authenticator over `store` (and `directory`, when users may also log in with their
    /// LDAP accounts) with an empty cache that remembers verified credentials for `ttl`, and
    /// a fresh secret.
    pub fn new(
        store: Store,
        directory: Option<LdapConfig>,
        ttl: Duration,
    ) -> Result<Self, ApiError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng)
            .map_err(|_| ApiError::bare(StatusCode::INTERNAL_SERVER_ERROR))?;
        Ok(Self {
            store,
            verified: moka::future::Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .time_to_live(ttl)
                .build(),
            current: moka::future::Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .time_to_live(ttl)
                .build(),
            key,
            directory,
            ttl,
            directory_verified: moka::future::Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .time_to_live(ttl)
                .build(),
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
            if known.revision == revision && known.until.is_none_or(|until| Instant::now() < until)
            {
                return Ok(Authenticated {
                    login: known.login.clone(),
                    revision,
                });
            }
        }
        let (login, until) = self.verify(credentials).await?;
        self.current
            .insert(
                credential_key,
                Arc::new(Current {
                    revision,
                    login: login.clone(),
                    until,
                }),
            )
            .await;
        Ok(Authenticated { login, revision })
    }

    /// Reads the user and checks the password: against its stored hash first (argon2, unless
    /// this hash and password were verified recently), then, when a directory is configured,
    /// against the directory. Also says until when a directory's approval holds.
    async fn verify(
        &self,
        credentials: &Credentials,
    ) -> Result<(Login, Option<Instant>), ApiError> {
        let login = self.store.login(&credentials.username).await?;
        let login = match login {
            Some(login) if !login.is_active => {
                self.spend_a_verification(credentials).await;
                return Err(ApiError::unauthorized());
            }
            login => login,
        };
        let Some(directory) = &self.directory else {
            let Some(login) = login else {
                self.spend_a_verification(credentials).await;
                return Err(ApiError::unauthorized());
            };
            return if self.local_password_matches(&login, credentials).await {
                Ok((login, None))
            } else {
                Err(ApiError::unauthorized())
            };
        };
        let directory_key = self.cache_key(&[
            b"ldap",
            credentials.username.as_bytes(),
            credentials.password.as_bytes(),
        ]);
        if let Some(login) = &login {
            // The directory's recent word first: its users' local passwords are random, and a
            // failed argon2 run is not cached.
            if let Some(known) = self.directory_verified.get(&directory_key).await {
                return Ok((login.clone(), Some(known.0 + self.ttl)));
            }
            if self.local_password_matches(login, credentials).await {
                return Ok((login.clone(), None));
            }
        }
        let username = credentials.username.clone();
        let password = credentials.password.clone();
        // Single flight, like argon2: a burst of requests with the same new credentials binds
        // once. Failures are not remembered.
        let approved = self
            .directory_verified
            .try_get_with(directory_key, async move {
                directory
                    .login(&username, &password)
                    .await
                    .map(|user| Arc::new((Instant::now(), user)))
            })
            .await
            .map_err(|error| {
                match &*error {
                    DirectoryError::Refused(reason) => {
                        tracing::debug!(
                            username = %credentials.username,
                            %reason,
                            "LDAP login refused"
                        );
                    }
                    DirectoryError::Unavailable(reason) => {
                        tracing::warn!(
                            username = %credentials.username,
                            url = directory.url(),
                            %reason,
                            "LDAP directory unavailable; login refused"
                        );
                    }
                }
                ApiError::unauthorized()
            })?;
        let until = Some(approved.0 + self.ttl);
        match login {
            Some(login) => Ok((login, until)),
            None => Ok((self.first_login(credentials, &approved.1).await?, until)),
        }
    }

    /// Whether `credentials` carry the password of `login`'s stored hash.
    async fn local_password_matches(&self, login: &Login, credentials: &Credentials) -> bool {
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
            .is_ok()
    }

    /// Runs one argon2 verification for nothing, so that unknown and inactive usernames take
    /// as long as wrong passwords.
    async fn spend_a_verification(&self, credentials: &Credentials) {
        let password = credentials.password.clone();
        let _ = tokio::task::spawn_blocking(move || passwords::verify(&password, DUMMY_HASH)).await;
    }

    /// Creates the customer account of a directory user logging in for the first time
    /// (unless a concurrent login just did) and reads it.
    async fn first_login(
        &self,
        credentials: &Credentials,
        user: &DirectoryUser,
    ) -> Result<Login, ApiError> {
        let email = match user.email.as_deref().map(berth_model::account::email) {
            Some(Ok(email)) => email,
            Some(Err(error)) => {
                tracing::warn!(
                    dn = %user.dn,
                    %error,
                    "the directory's e-mail address is not valid here; the account gets none"
                );
                String::new()
            }
            None => String::new(),
        };
        let created = self
            .store
            .create_customer(NewCustomer {
                username: credentials.username.clone(),
                password: passwords::generate(),
                email,
                ..NewCustomer::default()
            })
            .await;
        match created {
            Ok(customer) => tracing::info!(
                username = %customer.username,
                dn = %user.dn,
                "created the customer account of an LDAP user on first login"
            ),
            // Another request (or replica) created it meanwhile.
            Err(StoreError::Conflict(_)) => {}
            Err(error) => return Err(error.into()),
        }
        self.store
            .login(&credentials.username)
            .await?
            .filter(|login| login.is_active)
            .ok_or_else(ApiError::unauthorized)
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
