//! Login throttling: failed logins are counted per client address and per username, and
//! the argon2 work they cost is bounded, so that password guessing is slow and guessers
//! cannot starve the users who know their password.
//!
//! - **Per address** (IPv6 by /64): after [`LoginLimits::failures_per_address`] failures,
//!   that address is refused with 429 (`Retry-After`) until its count leaks below the limit,
//!   one failure every [`LoginLimits::address_forgives_every`]. Credentials verified
//!   recently (the authenticator's cache) still work from there.
//! - **Per username**, for attempts from addresses that failed recently (a guesser's after
//!   its first): [`LoginLimits::failures_per_username`] failures, then one more every
//!   [`LoginLimits::username_forgives_every`], whichever address they come from, so that
//!   guessing from many addresses is slow too. An address with no recent failure, and an
//!   address the username logged in from successfully within [`TRUST_FOR`], is never limited
//!   per username: someone else's guessing cannot lock a user out.
//! - **Verification** runs on a small pool ([`LoginLimits::verifications`], by default one
//!   per core); attempts from addresses with failures may take at most half of it and wait
//!   at most [`LoginLimits::suspect_queue`] for a place, else 429.
//! - A success clears the username's counts and the address's, and trusts the pair.
//!
//! Counts are in the memory of each API process: replicas count separately.

use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::error::ApiError;

/// How long a successful login trusts its (username, address) pair.
pub const TRUST_FOR: Duration = Duration::from_secs(30 * 86_400);
/// How many counters and trusted pairs are kept at most, each.
const CAPACITY: u64 = 200_000;

/// The limits of login attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Failures an address may make before it is refused.
    pub failures_per_address: u32,
    /// How often an address is forgiven one failure.
    pub address_forgives_every: Duration,
    /// Failures a username may take from addresses with failures before attempts on it
    /// from such addresses are slowed.
    pub failures_per_username: u32,
    /// How often a username is forgiven one failure.
    pub username_forgives_every: Duration,
    /// How many password verifications (argon2) run at once.
    pub verifications: usize,
    /// How long an attempt from an address with failures waits for a verification.
    pub suspect_queue: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            failures_per_address: 10,
            address_forgives_every: Duration::from_secs(10),
            failures_per_username: 10,
            username_forgives_every: Duration::from_secs(5),
            verifications: std::thread::available_parallelism().map_or(2, |n| n.get()),
            suspect_queue: Duration::from_secs(1),
        }
    }
}

/// A leaky bucket of failures.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    level: f64,
    at: Instant,
}

impl Bucket {
    fn new() -> Self {
        Bucket {
            level: 0.0,
            at: Instant::now(),
        }
    }

    fn level(&self, now: Instant, forgive_every: Duration) -> f64 {
        let leaked = now.duration_since(self.at).as_secs_f64() / forgive_every.as_secs_f64();
        (self.level - leaked).max(0.0)
    }

    /// How long until the count is below `limit`; `None` when it is.
    fn wait(&self, limit: u32, forgive_every: Duration) -> Option<Duration> {
        let level = self.level(Instant::now(), forgive_every);
        let limit = f64::from(limit.max(1));
        (level > limit - 1.0).then(|| forgive_every.mul_f64(level - (limit - 1.0)))
    }

    /// Counts one failure.
    fn add(&mut self, forgive_every: Duration) {
        let now = Instant::now();
        self.level = self.level(now, forgive_every) + 1.0;
        self.at = now;
    }
}

type Shared = Arc<Mutex<Bucket>>;

fn lock(bucket: &Shared) -> std::sync::MutexGuard<'_, Bucket> {
    bucket
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Whether an attempt is limited per username and waits in the suspects' queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    /// The address logged in as this username before, or has no recent failure.
    Clear,
    /// The address failed recently.
    Suspect,
}

/// The counters and the verification pool, shared by every request of the process.
#[derive(Clone)]
pub struct Throttle {
    limits: LoginLimits,
    addresses: moka::future::Cache<IpAddr, Shared>,
    usernames: moka::future::Cache<String, Shared>,
    trusted: moka::future::Cache<(String, IpAddr), ()>,
    verifications: Arc<Semaphore>,
    suspect_verifications: Arc<Semaphore>,
}

/// The key an address is counted under: IPv4 as is, IPv6 by its /64 (one subscriber's
/// network), IPv4-mapped IPv6 as IPv4.
fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// The 429 of a throttled attempt.
fn too_many(wait: Duration, reason: &str) -> ApiError {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, reason).retry_after(seconds.max(1))
}

fn bucket_cache<K>(idle: Duration) -> moka::future::Cache<K, Shared>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
{
    moka::future::Cache::builder()
        .max_capacity(CAPACITY)
        .time_to_idle(idle)
        .build()
}

impl Throttle {
    /// Counters under `limits`, all empty.
    pub fn new(limits: LoginLimits) -> Self {
        let verifications = limits.verifications.max(1);
        Throttle {
            addresses: bucket_cache(
                limits.address_forgives_every * limits.failures_per_address.max(1),
            ),
            usernames: bucket_cache(
                limits.username_forgives_every * limits.failures_per_username.max(1),
            ),
            trusted: moka::future::Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(TRUST_FOR)
                .build(),
            verifications: Arc::new(Semaphore::new(verifications)),
            suspect_verifications: Arc::new(Semaphore::new((verifications / 2).max(1))),
            limits,
        }
    }

    /// Admits an attempt from `address` (as `username`, for a login), or refuses it with 429
    /// when that address or username is over its limit. Nothing is counted until the
    /// attempt is settled: [`Attempt::failed`] counts it, [`Attempt::succeeded`] clears the
    /// counts, and dropping it (neither, e.g. a store error) leaves them as they were; so
    /// concurrent logins with the right password never refuse each other.
    pub async fn admit(
        &self,
        username: Option<&str>,
        address: IpAddr,
    ) -> Result<Attempt, ApiError> {
        let key = address_key(address);
        let address_bucket = self
            .addresses
            .get_with(key, async { Arc::new(Mutex::new(Bucket::new())) })
            .await;
        // Clean: every failure it made is forgiven.
        let was_clean =
            lock(&address_bucket).level(Instant::now(), self.limits.address_forgives_every) <= 0.0;
        let wait = lock(&address_bucket).wait(
            self.limits.failures_per_address,
            self.limits.address_forgives_every,
        );
        if let Some(wait) = wait {
            return Err(too_many(
                wait,
                "too many failed logins from your address; try again later",
            ));
        }
        let mut attempt = Attempt {
            throttle: self.clone(),
            address: key,
            address_bucket,
            username: username.map(str::to_owned),
            username_bucket: None,
            lane: Lane::Suspect,
        };
        let Some(username) = username else {
            return Ok(attempt);
        };
        attempt.lane = if was_clean || self.trusted.contains_key(&(username.to_owned(), key)) {
            Lane::Clear
        } else {
            Lane::Suspect
        };
        if attempt.lane == Lane::Suspect {
            let bucket = self
                .usernames
                .get_with(username.to_owned(), async {
                    Arc::new(Mutex::new(Bucket::new()))
                })
                .await;
            let wait = lock(&bucket).wait(
                self.limits.failures_per_username,
                self.limits.username_forgives_every,
            );
            if let Some(wait) = wait {
                return Err(too_many(
                    wait,
                    "too many failed logins for this username; try again later",
                ));
            }
            attempt.username_bucket = Some(bucket);
        }
        Ok(attempt)
    }
}

/// An admitted attempt, to be settled as a success or a failure.
pub struct Attempt {
    throttle: Throttle,
    address: IpAddr,
    address_bucket: Shared,
    username: Option<String>,
    username_bucket: Option<Shared>,
    lane: Lane,
}

/// A place in the verification pool, held while one password is verified.
pub struct VerificationPermit {
    _suspect: Option<OwnedSemaphorePermit>,
    _permit: OwnedSemaphorePermit,
}

impl Attempt {
    /// A place to verify one password: for a trusted address or one without failures, as
    /// soon as one is free (suspects hold at most half of them); else within the suspects'
    /// queue wait, or 429.
    pub async fn verification(&self) -> Result<VerificationPermit, ApiError> {
        let throttle = &self.throttle;
        let busy = || {
            too_many(
                Duration::from_secs(1),
                "too many logins are being checked; try again",
            )
        };
        if self.lane == Lane::Clear {
            let permit = throttle
                .verifications
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| busy())?;
            return Ok(VerificationPermit {
                _suspect: None,
                _permit: permit,
            });
        }
        let queued = async {
            let suspect = throttle
                .suspect_verifications
                .clone()
                .acquire_owned()
                .await
                .ok()?;
            let permit = throttle.verifications.clone().acquire_owned().await.ok()?;
            Some(VerificationPermit {
                _suspect: Some(suspect),
                _permit: permit,
            })
        };
        tokio::time::timeout(throttle.limits.suspect_queue, queued)
            .await
            .ok()
            .flatten()
            .ok_or_else(busy)
    }

    /// The credentials were right: the username's and the address's counts are cleared and
    /// the pair is trusted.
    pub async fn succeeded(mut self) {
        lock(&self.address_bucket).level = 0.0;
        if let Some(username) = self.username.take() {
            self.throttle.usernames.invalidate(&username).await;
            self.throttle
                .trusted
                .insert((username, self.address), ())
                .await;
        }
    }

    /// The credentials were wrong: the failure counts against the address and, for an
    /// address with failures, the username.
    pub fn failed(self) {
        let limits = &self.throttle.limits;
        lock(&self.address_bucket).add(limits.address_forgives_every);
        if let Some(bucket) = &self.username_bucket {
            lock(bucket).add(limits.username_forgives_every);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> LoginLimits {
        LoginLimits {
            failures_per_address: 3,
            address_forgives_every: Duration::from_millis(400),
            failures_per_username: 2,
            username_forgives_every: Duration::from_secs(5),
            verifications: 2,
            suspect_queue: Duration::from_millis(100),
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    #[tokio::test]
    async fn an_address_is_refused_after_its_failures_and_forgiven_with_time() {
        let throttle = Throttle::new(limits());
        for _ in 0..3 {
            throttle
                .admit(None, ip("192.0.2.1"))
                .await
                .expect("admitted")
                .failed();
        }
        let refused = throttle
            .admit(None, ip("192.0.2.1"))
            .await
            .err()
            .expect("refused");
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.retry_after, Some(1));
        assert!(
            throttle.admit(None, ip("192.0.2.2")).await.is_ok(),
            "another address"
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(throttle.admit(None, ip("192.0.2.1")).await.is_ok());
    }

    #[tokio::test]
    async fn ipv6_is_counted_by_its_64() {
        let throttle = Throttle::new(limits());
        for host in 1..=3 {
            let address = ip(&format!("2001:db8:1:2::{host}"));
            throttle
                .admit(None, address)
                .await
                .expect("admitted")
                .failed();
        }
        assert!(throttle.admit(None, ip("2001:db8:1:2::99")).await.is_err());
        assert!(throttle.admit(None, ip("2001:db8:1:3::1")).await.is_ok());
    }

    #[tokio::test]
    async fn a_guessed_username_stays_open_to_clean_and_trusted_addresses() {
        let throttle = Throttle::new(limits());
        // Guessers: their first failures are from clean addresses, the next ones count
        // against the username, from any address.
        for guesser in ["192.0.2.66", "192.0.2.67"] {
            throttle
                .admit(Some("alice"), ip(guesser))
                .await
                .expect("first")
                .failed();
        }
        throttle
            .admit(Some("alice"), ip("192.0.2.66"))
            .await
            .expect("second")
            .failed();
        throttle
            .admit(Some("alice"), ip("192.0.2.67"))
            .await
            .expect("second")
            .failed();
        let refused = throttle
            .admit(Some("alice"), ip("192.0.2.66"))
            .await
            .err()
            .expect("refused");
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.retry_after, Some(5));
        assert!(
            throttle.admit(Some("bob"), ip("192.0.2.66")).await.is_ok(),
            "another user"
        );
        // Alice, from a clean address: admitted, and her success clears the counts.
        let alice = throttle
            .admit(Some("alice"), ip("192.0.2.7"))
            .await
            .expect("clean lane");
        alice.succeeded().await;
        // Her address is now trusted for alice: never limited per username.
        for _ in 0..2 {
            throttle
                .admit(Some("alice"), ip("192.0.2.7"))
                .await
                .expect("trusted")
                .failed();
        }
        assert!(throttle.admit(Some("alice"), ip("192.0.2.7")).await.is_ok());
    }

    #[tokio::test]
    async fn an_unsettled_attempt_counts_nothing() {
        let throttle = Throttle::new(limits());
        for _ in 0..10 {
            drop(
                throttle
                    .admit(Some("bob"), ip("192.0.2.1"))
                    .await
                    .expect("admitted"),
            );
        }
        assert!(throttle.admit(Some("bob"), ip("192.0.2.1")).await.is_ok());
    }
}
