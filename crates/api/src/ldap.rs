//! Logging in with a directory account (LDAP), as uncloud does with django-auth-ldap.
//!
//! A login searches the directory for the user (bound as a service account when one is
//! configured, else anonymously), then binds as the entry it found with the password the
//! client sent: the directory, not berth, checks the password. [`crate::auth`] decides when
//! to ask, creates the local account on the first successful login and caches the outcome.
//!
//! Every login opens its own connection and closes it afterwards; the whole exchange has one
//! deadline ([`LdapConfig::with_timeout`], 5 s by default), so a directory that is down or
//! hangs costs a client at most that long and ends in 401, never in a hung request.

use std::fmt;
use std::time::Duration;

use berth_model::ldap::{self, UserFilter};
use berth_model::ValidationError;
use ldap3::{LdapConnAsync, LdapConnSettings, Scope, SearchEntry, SearchOptions};

/// How long a whole directory login may take, by default: connecting, the service bind,
/// the search and the user's bind together.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// LDAP result code for wrong credentials.
const INVALID_CREDENTIALS: u32 = 49;
/// LDAP result code for a search that matched more entries than its size limit.
const SIZE_LIMIT_EXCEEDED: u32 = 4;

/// Where and how to look users up. Built with [`LdapConfig::new`] and the `with_` methods,
/// which check every value.
#[derive(Clone)]
pub struct LdapConfig {
    url: String,
    base_dn: String,
    bind: Option<(String, String)>,
    user_filter: UserFilter,
    username_attribute: String,
    email_attribute: String,
    timeout: Duration,
}

impl fmt::Debug for LdapConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LdapConfig")
            .field("url", &self.url)
            .field("base_dn", &self.base_dn)
            .field("bind_dn", &self.bind.as_ref().map(|(dn, _)| dn))
            .field("user_filter", &self.user_filter.as_str())
            .field("username_attribute", &self.username_attribute)
            .field("email_attribute", &self.email_attribute)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl LdapConfig {
    /// A directory at `url` (`ldap://host[:port]` or `ldaps://host[:port]`) whose users are
    /// searched under `base_dn`, anonymously, with `(uid={username})`; e-mail from `mail`.
    pub fn new(url: &str, base_dn: &str) -> Result<Self, ValidationError> {
        Ok(LdapConfig {
            url: ldap::url(url)?,
            base_dn: ldap::dn("ldap-base-dn", base_dn)?,
            bind: None,
            user_filter: UserFilter::default(),
            username_attribute: ldap::DEFAULT_USERNAME_ATTRIBUTE.to_owned(),
            email_attribute: ldap::DEFAULT_EMAIL_ATTRIBUTE.to_owned(),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Searches bound as `dn` with `password` (which must not be empty) instead of
    /// anonymously.
    pub fn with_bind(mut self, dn: &str, password: &str) -> Result<Self, ValidationError> {
        self.bind = Some((
            ldap::dn("ldap-bind-dn", dn)?,
            ldap::bind_password(password)?,
        ));
        Ok(self)
    }

    /// Finds users with `filter`, a template with `{username}` such as
    /// `(&(objectClass=inetOrgPerson)(uid={username}))`.
    pub fn with_user_filter(mut self, filter: &str) -> Result<Self, ValidationError> {
        let filter = UserFilter::parse(filter)?;
        if ldap3::parse_filter(filter.render("nico")).is_err() {
            return Err(ValidationError::new(
                "ldap-user-filter",
                "is not a valid LDAP search filter",
            ));
        }
        self.user_filter = filter;
        Ok(self)
    }

    /// The attribute of the user's entry that must hold the username exactly (case
    /// included): directories usually match `uid` ignoring case, berth's usernames do not.
    pub fn with_username_attribute(mut self, attribute: &str) -> Result<Self, ValidationError> {
        self.username_attribute = ldap::attribute("ldap-username-attribute", attribute)?;
        Ok(self)
    }

    /// The attribute the e-mail address of new accounts is read from.
    pub fn with_email_attribute(mut self, attribute: &str) -> Result<Self, ValidationError> {
        self.email_attribute = ldap::attribute("ldap-email-attribute", attribute)?;
        Ok(self)
    }

    /// How long one login may take in all (default [`DEFAULT_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The directory's URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// A user the directory vouched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    /// The entry's DN.
    pub dn: String,
    /// The first value of the e-mail attribute, if the entry has one.
    pub email: Option<String>,
}

/// Why a directory login did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// No such user, several, or a wrong password: the client's credentials are refused.
    #[error("credentials refused: {0}")]
    Refused(String),
    /// The directory could not be asked (down, slow, misconfigured service bind, …).
    #[error("directory unavailable: {0}")]
    Unavailable(String),
}

/// Aborts the task driving an LDAP connection when the login is over (or abandoned).
struct Driver(tokio::task::JoinHandle<()>);

impl Drop for Driver {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl LdapConfig {
    /// Checks `username` and `password` against the directory. Refuses an empty password
    /// outright: a bind with a DN and no password is an unauthenticated bind, which many
    /// servers answer with success.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<DirectoryUser, DirectoryError> {
        if password.is_empty() {
            return Err(DirectoryError::Refused("empty password".into()));
        }
        if berth_model::account::username(username).is_err() {
            return Err(DirectoryError::Refused("not a berth username".into()));
        }
        let config = self.clone();
        let username = username.to_owned();
        let password = password.to_owned();
        // In a task of its own, so that a panic in the LDAP client (it panics on malformed
        // entries) is a failed login, and so that the deadline can abort it wherever it is.
        let task = tokio::spawn(async move { config.exchange(&username, &password).await });
        let abort = task.abort_handle();
        match tokio::time::timeout(self.timeout, task).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(error)) => Err(DirectoryError::Unavailable(format!(
                "the LDAP client failed: {error}"
            ))),
            Err(_) => {
                abort.abort();
                Err(DirectoryError::Unavailable(format!(
                    "no answer within {:?}",
                    self.timeout
                )))
            }
        }
    }

    async fn exchange(
        &self,
        username: &str,
        password: &str,
    ) -> Result<DirectoryUser, DirectoryError> {
        let unavailable = |what: &str, error: ldap3::LdapError| {
            DirectoryError::Unavailable(format!("{what}: {error}"))
        };
        let settings = LdapConnSettings::new().set_conn_timeout(self.timeout);
        let (connection, mut ldap) = LdapConnAsync::with_settings(settings, &self.url)
            .await
            .map_err(|error| unavailable("cannot connect", error))?;
        let _driver = Driver(tokio::spawn(async move {
            if let Err(error) = connection.drive().await {
                tracing::debug!(%error, "LDAP connection ended");
            }
        }));
        if let Some((dn, bind_password)) = &self.bind {
            ldap.with_timeout(self.timeout)
                .simple_bind(dn, bind_password)
                .await
                .map_err(|error| unavailable("service bind failed", error))?
                .success()
                .map_err(|error| unavailable("service bind refused", error))?;
        }
        let filter = self.user_filter.render(username);
        let result = ldap
            .with_timeout(self.timeout)
            .with_search_options(SearchOptions::new().sizelimit(2))
            .search(
                &self.base_dn,
                Scope::Subtree,
                &filter,
                vec![
                    self.username_attribute.as_str(),
                    self.email_attribute.as_str(),
                ],
            )
            .await
            .map_err(|error| unavailable("search failed", error))?;
        if result.1.rc == SIZE_LIMIT_EXCEEDED {
            return Err(DirectoryError::Refused(format!(
                "{filter} matches several entries"
            )));
        }
        let (entries, _) = result
            .success()
            .map_err(|error| unavailable("search refused", error))?;
        let mut entries = entries.into_iter().map(SearchEntry::construct);
        let entry = match (entries.next(), entries.next()) {
            (Some(entry), None) => entry,
            (None, _) => return Err(DirectoryError::Refused(format!("{filter} matches nothing"))),
            (Some(_), Some(_)) => {
                return Err(DirectoryError::Refused(format!(
                    "{filter} matches several entries"
                )))
            }
        };
        let values = |attribute: &str| -> Vec<String> {
            entry
                .attrs
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(attribute))
                .map(|(_, values)| values.clone())
                .unwrap_or_default()
        };
        if !values(&self.username_attribute)
            .iter()
            .any(|value| value == username)
        {
            return Err(DirectoryError::Refused(format!(
                "{} has no {} exactly {username}",
                entry.dn, self.username_attribute
            )));
        }
        if entry.dn.is_empty() {
            return Err(DirectoryError::Refused("the entry has an empty DN".into()));
        }
        let bound = ldap
            .with_timeout(self.timeout)
            .simple_bind(&entry.dn, password)
            .await
            .map_err(|error| unavailable("bind failed", error))?;
        if bound.rc != 0 {
            return Err(if bound.rc == INVALID_CREDENTIALS {
                DirectoryError::Refused(format!("wrong password for {}", entry.dn))
            } else {
                DirectoryError::Refused(format!(
                    "bind as {} refused with code {}: {}",
                    entry.dn, bound.rc, bound.text
                ))
            });
        }
        let _ = ldap.unbind().await;
        Ok(DirectoryUser {
            email: values(&self.email_attribute).into_iter().next(),
            dn: entry.dn,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        assert!(LdapConfig::new("ldap://127.0.0.1:389", "dc=example,dc=org").is_ok());
        assert!(LdapConfig::new("http://127.0.0.1", "dc=example,dc=org").is_err());
        assert!(LdapConfig::new("ldap://127.0.0.1", "").is_err());
        let config =
            LdapConfig::new("ldaps://ldap.example.org", "dc=example,dc=org").expect("config");
        assert!(config
            .clone()
            .with_bind("cn=reader,dc=example,dc=org", "")
            .is_err());
        assert!(config
            .clone()
            .with_bind("cn=reader,dc=example,dc=org", "secret")
            .is_ok());
        assert!(config
            .clone()
            .with_user_filter("(&(objectClass=inetOrgPerson)(uid={username}))")
            .is_ok());
        assert!(config.clone().with_user_filter("(uid={username}").is_err());
        assert!(config.clone().with_user_filter("(={username})").is_err());
        assert!(config.clone().with_email_attribute("mail)").is_err());
    }

    #[test]
    fn debug_output_hides_the_bind_password() {
        let config = LdapConfig::new("ldap://127.0.0.1", "dc=example,dc=org")
            .and_then(|config| config.with_bind("cn=reader,dc=example,dc=org", "hunter22"))
            .expect("config");
        let shown = format!("{config:?}");
        assert!(shown.contains("cn=reader"));
        assert!(!shown.contains("hunter22"));
    }

    #[tokio::test]
    async fn a_failed_tls_handshake_is_an_unavailable_directory() {
        // Something that is not an LDAPS server: it closes every connection at once.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        let closer = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                drop(stream);
            }
        });
        let config = LdapConfig::new(&format!("ldaps://127.0.0.1:{port}"), "dc=example,dc=org")
            .expect("config");
        assert!(matches!(
            config.login("nico", "pw").await,
            Err(DirectoryError::Unavailable(_))
        ));
        closer.abort();
    }

    #[tokio::test]
    async fn empty_passwords_never_reach_the_directory() {
        // Nothing listens on port 1: were the directory asked, this would be Unavailable.
        let config = LdapConfig::new("ldap://127.0.0.1:1", "dc=example,dc=org").expect("config");
        assert!(matches!(
            config.login("nico", "").await,
            Err(DirectoryError::Refused(_))
        ));
        assert!(matches!(
            config.login("nico", "pw").await,
            Err(DirectoryError::Unavailable(_))
        ));
    }
}
