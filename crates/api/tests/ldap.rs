//! Logging in with LDAP accounts, against a real slapd: the first login creates the customer
//! account, wrong passwords, unknown users and filter tricks are 401, local accounts keep
//! their local passwords, a directory that is down or hangs is a quick 401, and a verified
//! login is cached (one bind for a burst of requests, still valid while the directory is down).

mod support;

use std::ops::Deref;
use std::time::{Duration, Instant};

use berth_api::ldap::LdapConfig;
use berth_store::Backend;
use reqwest::StatusCode;
use support::slapd::{Person, Slapd, BASE_DN, PEOPLE_DN, READER_DN, READER_PASSWORD};
use support::{Login, TestApi};

/// The deadline of one directory login in these tests.
const TIMEOUT: Duration = Duration::from_secs(2);

const PEOPLE: &[Person] = &[
    Person {
        uid: "nico",
        password: "nico-ldap-password",
        mail: Some("nico@example.org"),
    },
    Person {
        uid: "mara",
        password: "mara-ldap-password",
        mail: Some("mara@example.org"),
    },
    Person {
        uid: "quiet",
        password: "quiet-ldap-password",
        mail: None,
    },
];

/// The API with LDAP logins against a slapd holding [`PEOPLE`] (or, for `start_hanging`,
/// against a server that accepts connections and never answers).
struct LdapApi {
    api: TestApi,
    slapd: Option<Slapd>,
    hang: Option<tokio::task::JoinHandle<()>>,
}

impl Deref for LdapApi {
    type Target = TestApi;

    fn deref(&self) -> &TestApi {
        &self.api
    }
}

impl LdapApi {
    async fn start(backend: Backend) -> LdapApi {
        LdapApi::start_caching_for(backend, berth_api::auth::CACHE_TTL).await
    }

    async fn start_caching_for_3s(backend: Backend) -> LdapApi {
        LdapApi::start_caching_for(backend, Duration::from_secs(3)).await
    }

    async fn start_caching_for(backend: Backend, ttl: Duration) -> LdapApi {
        let slapd = Slapd::start(PEOPLE).await;
        let api = start_api(backend, &slapd.url, ttl).await;
        LdapApi {
            api,
            slapd: Some(slapd),
            hang: None,
        }
    }

    async fn start_hanging(backend: Backend) -> LdapApi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("ldap://{}", listener.local_addr().expect("address"));
        let hang = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        LdapApi {
            api: start_api(backend, &url, berth_api::auth::CACHE_TTL).await,
            slapd: None,
            hang: Some(hang),
        }
    }

    fn slapd(&self) -> &Slapd {
        self.slapd.as_ref().expect("slapd")
    }

    async fn finish(self) {
        self.api.finish().await;
        if let Some(hang) = self.hang {
            hang.abort();
        }
        // slapd is killed when dropped.
    }

    /// The status of `GET /api/me` as `username` / `password`.
    async fn me_status(&self, username: &str, password: &str) -> StatusCode {
        self.get("/api/me", &login(username, password)).await.0
    }
}

async fn start_api(backend: Backend, url: &str, ttl: Duration) -> TestApi {
    let config = LdapConfig::new(url, BASE_DN)
        .and_then(|config| config.with_bind(READER_DN, READER_PASSWORD))
        .expect("LDAP config")
        .with_timeout(TIMEOUT);
    TestApi::start_configured(backend, None, |options| {
        options.ldap = Some(config);
        options.credential_cache_ttl = ttl;
    })
    .await
}

fn login(username: &str, password: &str) -> Login {
    Login {
        username: username.into(),
        password: password.into(),
    }
}

fn dn_of(uid: &str) -> String {
    format!("uid={uid},{PEOPLE_DN}")
}

on_both_stores! {
    fixture = LdapApi::start;

    async fn the_first_ldap_login_creates_the_customer_account(api) {
        assert!(!api.store.user_exists("nico").await.expect("lookup"));
        let nico = login("nico", "nico-ldap-password");
        let (status, me) = api.get("/api/me", &nico).await;
        assert_eq!(status, StatusCode::OK, "{me}");
        assert_eq!(me["email"], "nico@example.org");
        let customer = api.store.customer_by_username("nico").await.expect("account created");
        assert_eq!(me["uuid"], customer.uuid.as_str());
        // The local account is a plain customer: staff flags stay local.
        let (status, _) = api.get("/v1/admin/customers", &nico).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // Logging in again uses the same account.
        let (status, again) = api.get("/api/me", &nico).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(again["uuid"], me["uuid"]);
        // An entry without an e-mail address gets an account without one.
        let (status, quiet) = api.get("/api/me", &login("quiet", "quiet-ldap-password")).await;
        assert_eq!(status, StatusCode::OK, "{quiet}");
        assert_eq!(quiet["email"], "");
    }

    async fn a_wrong_ldap_password_is_401_and_creates_nothing(api) {
        assert_eq!(api.me_status("nico", "not-nicos-password").await, StatusCode::UNAUTHORIZED);
        assert_eq!(api.me_status("nico", "nico-ldap-passwor").await, StatusCode::UNAUTHORIZED);
        assert!(!api.store.user_exists("nico").await.expect("lookup"));
        assert_eq!(api.slapd().binds_as(&dn_of("nico")), 2, "the directory checked both");
        // After a successful login, a wrong password is still refused.
        assert_eq!(api.me_status("nico", "nico-ldap-password").await, StatusCode::OK);
        assert_eq!(api.me_status("nico", "not-nicos-password").await, StatusCode::UNAUTHORIZED);
    }

    async fn an_unknown_user_is_401(api) {
        assert_eq!(api.me_status("nobody", "nobodys-password").await, StatusCode::UNAUTHORIZED);
        assert!(!api.store.user_exists("nobody").await.expect("lookup"));
    }

    async fn an_empty_password_never_logs_in(api) {
        // This slapd accepts a DN with an empty password (an unauthenticated bind): berth
        // must refuse before asking.
        assert_eq!(api.me_status("nico", "").await, StatusCode::UNAUTHORIZED);
        assert_eq!(api.slapd().binds_as(&dn_of("nico")), 0);
        assert!(!api.store.user_exists("nico").await.expect("lookup"));
    }

    async fn filter_tricks_and_other_spellings_are_401(api) {
        let tricks = ["*", "nic*", "*)(uid=*", "nico)(|(uid=*", "nico\\2a"];
        let spellings = ["NICO", "Nico", " nico"];
        for username in tricks.into_iter().chain(spellings) {
            assert_eq!(
                api.me_status(username, "nico-ldap-password").await,
                StatusCode::UNAUTHORIZED,
                "{username:?}"
            );
        }
        // The directory matches uid ignoring case, but berth's usernames are exact: "NICO"
        // was found and refused, and no account was made for any spelling.
        assert_eq!(api.slapd().binds_as(&dn_of("nico")), 0);
        for username in ["NICO", "Nico", "nico"] {
            assert!(!api.store.user_exists(username).await.expect("lookup"), "{username}");
        }
    }

    async fn local_customers_keep_their_local_passwords(api) {
        let alice = api.customer("alice").await;
        let (status, me) = api.get("/api/me", &alice.login).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["uuid"], alice.uuid.as_str());
        assert_eq!(api.me_status("alice", "not-alices-password").await, StatusCode::UNAUTHORIZED);
        // Staff log in locally too.
        let (status, _) = api.get("/v1/admin/customers", &api.staff).await;
        assert_eq!(status, StatusCode::OK);
    }

    async fn a_local_account_named_like_a_directory_user_accepts_both_passwords(api) {
        let mara = api.customer("mara").await;
        let (status, by_local) = api.get("/api/me", &mara.login).await;
        assert_eq!(status, StatusCode::OK);
        let (status, by_ldap) = api.get("/api/me", &login("mara", "mara-ldap-password")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(by_ldap["uuid"], by_local["uuid"]);
        // The local account's own e-mail address stays.
        assert_eq!(by_ldap["email"], "mara@example.com");
    }

    async fn a_deactivated_local_account_stays_locked_out(api) {
        assert_eq!(api.me_status("nico", "nico-ldap-password").await, StatusCode::OK);
        let pool = sqlx::AnyPool::connect(&api.url).await.expect("connect");
        sqlx::query("UPDATE users SET is_active = 0 WHERE username = 'nico'")
            .execute(&pool)
            .await
            .expect("deactivate");
        pool.close().await;
        // A raw update does not move the store's revision; a write through the store does.
        api.customer("mara").await;
        assert_eq!(api.me_status("nico", "nico-ldap-password").await, StatusCode::UNAUTHORIZED);
    }

    async fn a_directory_that_is_down_is_a_quick_401(api) {
        let alice = api.customer("alice").await;
        api.slapd().stop();
        let started = Instant::now();
        assert_eq!(api.me_status("nico", "nico-ldap-password").await, StatusCode::UNAUTHORIZED);
        assert!(started.elapsed() < Duration::from_secs(4), "took {:?}", started.elapsed());
        assert!(!api.store.user_exists("nico").await.expect("lookup"));
        // Local customers are not affected; their wrong passwords are still plain 401s.
        assert_eq!(api.get("/api/me", &alice.login).await.0, StatusCode::OK);
        assert_eq!(api.me_status("alice", "not-alices-password").await, StatusCode::UNAUTHORIZED);
    }

    async fn a_verified_ldap_login_is_cached(api) {
        let nico = login("nico", "nico-ldap-password");
        // A burst of concurrent first requests binds once and creates one account.
        let mut burst = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let request = api
                .http
                .get(format!("{}/api/me", api.base))
                .basic_auth(&nico.username, Some(&nico.password));
            burst.spawn(async move { request.send().await.expect("request").status() });
        }
        while let Some(status) = burst.join_next().await {
            assert_eq!(status.expect("task"), StatusCode::OK);
        }
        for _ in 0..5 {
            assert_eq!(api.get("/api/me", &nico).await.0, StatusCode::OK);
        }
        assert_eq!(api.slapd().binds_as(&dn_of("nico")), 1);
        // Within the cache's lifetime the login survives the directory going down, and a
        // write (a new revision, so the user is read again) does not need the directory.
        api.slapd().stop();
        assert_eq!(api.get("/api/me", &nico).await.0, StatusCode::OK);
        let (status, me) = api.post("/api/me", &nico, r#"{"company": "Nico AG"}"#).await;
        assert_eq!(status, StatusCode::OK, "{me}");
        let (status, me) = api.get("/api/me", &nico).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["company"], "Nico AG");
        // Only the verified password is cached.
        assert_eq!(api.me_status("nico", "another-password").await, StatusCode::UNAUTHORIZED);
    }
}

mod hanging {
    use super::*;

    on_both_stores! {
        fixture = LdapApi::start_hanging;

        async fn a_directory_that_never_answers_is_a_401_within_the_timeout(api) {
            let alice = api.customer("alice").await;
            let started = Instant::now();
            assert_eq!(api.me_status("nico", "nico-ldap-password").await, StatusCode::UNAUTHORIZED);
            let took = started.elapsed();
            let expected = TIMEOUT / 2..TIMEOUT + Duration::from_secs(2);
            assert!(expected.contains(&took), "took {took:?}");
            assert_eq!(api.get("/api/me", &alice.login).await.0, StatusCode::OK);
        }
    }
}

mod short_cache {
    use super::*;

    on_both_stores! {
        fixture = LdapApi::start_caching_for_3s;

        async fn a_password_changed_in_the_directory_stops_working_when_the_cache_expires(api) {
            let started = Instant::now();
            assert_eq!(api.me_status("nico", "nico-ldap-password").await, StatusCode::OK);
            api.slapd().set_password(&dn_of("nico"), "nico-new-password");
            // Within the lifetime, the old password is still the cached one; the new one
            // works at once.
            tokio::time::sleep(Duration::from_millis(1500).saturating_sub(started.elapsed())).await;
            assert_eq!(api.me_status("nico", "nico-ldap-password").await, StatusCode::OK);
            assert_eq!(api.me_status("nico", "nico-new-password").await, StatusCode::OK);
            assert!(started.elapsed() < Duration::from_millis(2500), "too slow to test the cache");
            // Past the lifetime of the first bind, the old password is asked again and refused,
            // although the request at 1.5 s was remembered later than that.
            tokio::time::sleep(Duration::from_millis(3600).saturating_sub(started.elapsed())).await;
            assert_eq!(api.me_status("nico", "nico-ldap-password").await, StatusCode::UNAUTHORIZED);
            assert_eq!(api.me_status("nico", "nico-new-password").await, StatusCode::OK);
        }
    }
}
