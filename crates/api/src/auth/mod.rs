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
//! its users' logins 401, with a warning in the log (and is not counted as a failure).
//!
//! Wrong credentials are counted and limited per client address and per username, and the
//! argon2 work is bounded: see [`throttle`].

mod callers;
mod credentials;
pub mod throttle;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::hmac;
use axum::http::StatusCode;
use berth_store::customers::NewCustomer;
use berth_store::logins::Login;
use berth_store::{passwords, Store, StoreError};

pub use callers::{
    client_address, AlarmRaiser, ClientAddress, CustomerCaller, MaybeCustomer, StaffCaller,
};
pub use credentials::Credentials;
use throttle::{Attempt, LoginLimits, Throttle};

use crate::error::ApiError;
use crate::ldap::{DirectoryError, DirectoryUser, LdapConfig};

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
    /// The counters of failed logins and the verification pool.
    throttle: Throttle,
}

/// What checking a password found.
enum Verdict {
    /// The password is right: the user, and until when a directory's approval holds.
    Accepted(Login, Option<Instant>),
    /// The password is wrong, or the user unknown or inactive.
    Wrong,
    /// The directory could not be asked.
    Unavailable,
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

impl Authenticator {
    /// An authenticator over `store` (and `directory`, when users may also log in with their
    /// LDAP accounts) with an empty cache that remembers verified credentials for `ttl`, and
    /// a fresh secret.
    pub fn new(
        store: Store,
        directory: Option<LdapConfig>,
        ttl: Duration,
        limits: LoginLimits,
    ) -> Result<Self, ApiError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng)
            .map_err(|_| ApiError::bare(StatusCode::INTERNAL_SERVER_ERROR))?;
        Ok(Self {
            store,
            throttle: Throttle::new(limits),
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

    /// The counters of failed logins and the verification pool.
    pub fn throttle(&self) -> &Throttle {
        &self.throttle
    }

    /// The active user these credentials, sent from `address`, belong to; 401 when they are
    /// wrong, 429 when that address or username made too many wrong attempts
    /// ([`throttle`]). Credentials verified recently are answered from the cache, never
    /// throttled.
    pub async fn authenticate(
        &self,
        credentials: &Credentials,
        address: IpAddr,
    ) -> Result<Authenticated, ApiError> {
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
        let attempt = self
            .throttle
            .admit(Some(&credentials.username), address)
            .await?;
        let (login, until) = match self.verify(credentials, &attempt).await? {
            Verdict::Accepted(login, until) => {
                attempt.succeeded().await;
                (login, until)
            }
            Verdict::Wrong => {
                attempt.failed();
                return Err(ApiError::unauthorized());
            }
            // Not the client's failure: the attempt is given back.
            Verdict::Unavailable => return Err(ApiError::unauthorized()),
        };
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
        attempt: &Attempt,
    ) -> Result<Verdict, ApiError> {
        let login = self.store.login(&credentials.username).await?;
        let login = match login {
            Some(login) if !login.is_active => {
                self.spend_a_verification(credentials, attempt).await?;
                return Ok(Verdict::Wrong);
            }
            login => login,
        };
        let Some(directory) = &self.directory else {
            let Some(login) = login else {
                self.spend_a_verification(credentials, attempt).await?;
                return Ok(Verdict::Wrong);
            };
            return Ok(
                if self
                    .local_password_matches(&login, credentials, attempt)
                    .await?
                {
                    Verdict::Accepted(login, None)
                } else {
                    Verdict::Wrong
                },
            );
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
                return Ok(Verdict::Accepted(login.clone(), Some(known.0 + self.ttl)));
            }
            if self
                .local_password_matches(login, credentials, attempt)
                .await?
            {
                return Ok(Verdict::Accepted(login.clone(), None));
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
            .await;
        let approved = match approved {
            Ok(approved) => approved,
            Err(error) => match &*error {
                DirectoryError::Refused(reason) => {
                    tracing::debug!(username = %credentials.username, %reason, "LDAP login refused");
                    return Ok(Verdict::Wrong);
                }
                DirectoryError::Unavailable(reason) => {
                    tracing::warn!(
                        username = %credentials.username,
                        url = directory.url(),
                        %reason,
                        "LDAP directory unavailable; login refused"
                    );
                    return Ok(Verdict::Unavailable);
                }
            },
        };
        let until = Some(approved.0 + self.ttl);
        match login {
            Some(login) => Ok(Verdict::Accepted(login, until)),
            None => Ok(Verdict::Accepted(
                self.first_login(credentials, &approved.1).await?,
                until,
            )),
        }
    }

    /// Whether `credentials` carry the password of `login`'s stored hash; an argon2 run
    /// waits for its place in the verification pool (429 when it waits too long).
    async fn local_password_matches(
        &self,
        login: &Login,
        credentials: &Credentials,
        attempt: &Attempt,
    ) -> Result<bool, ApiError> {
        let key = self.cache_key(&[
            login.password_hash.as_bytes(),
            credentials.username.as_bytes(),
            credentials.password.as_bytes(),
        ]);
        let password = credentials.password.clone();
        let stored = login.password_hash.clone();
        // Single flight: concurrent requests with the same credentials share one argon2 run
        // (a burst of new connections would otherwise run dozens at once).
        let verified = self
            .verified
            .try_get_with(key, async move {
                let _permit = attempt.verification().await.map_err(Some)?;
                let matches =
                    tokio::task::spawn_blocking(move || passwords::verify(&password, &stored))
                        .await
                        .unwrap_or(false);
                if matches {
                    Ok(())
                } else {
                    Err(None::<ApiError>)
                }
            })
            .await;
        match verified {
            Ok(()) => Ok(true),
            Err(error) => match &*error {
                Some(busy) => Err(busy.clone()),
                None => Ok(false),
            },
        }
    }

    /// Runs one argon2 verification for nothing, so that unknown and inactive usernames take
    /// as long as wrong passwords (and wait for the same pool).
    async fn spend_a_verification(
        &self,
        credentials: &Credentials,
        attempt: &Attempt,
    ) -> Result<(), ApiError> {
        let _permit = attempt.verification().await?;
        let password = credentials.password.clone();
        let _ = tokio::task::spawn_blocking(move || passwords::verify(&password, DUMMY_HASH)).await;
        Ok(())
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
