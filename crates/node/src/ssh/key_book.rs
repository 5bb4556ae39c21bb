//! The key book: which public keys open which container, straight from the desired state.
//! The reconciler refreshes it after each reconciliation; the ssh server reads it at each
//! authentication, so a key added or removed in the control plane applies to the next login.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use berth_model::node::{ContainerState, ContainerStatus, DesiredState};
use russh::keys::ssh_key::authorized_keys::Entry;
use russh::keys::PublicKey;

use super::consoles::Consoles;

/// `authorized_keys` options berth knows it does not need to enforce: they only forbid
/// features berth's ssh server never offers (forwarding, agents, X11, `~/.ssh/rc`).
const HARMLESS_OPTIONS: &[&str] = &[
    "no-agent-forwarding",
    "no-port-forwarding",
    "no-X11-forwarding",
    "no-user-rc",
];

/// One line of a container's `ssh_keys` as the server understands it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizedKey {
    key: PublicKey,
    no_pty: bool,
}

impl AuthorizedKey {
    /// Parse an `authorized_keys` line: `[options] type base64 [comment]`. `None` for a line
    /// that is not a key, or whose options berth cannot enforce (`command=`, `from=`,
    /// `restrict`, …): ignoring those would grant more than the line says. `no-pty` is
    /// honoured; forwarding options are accepted (berth forwards nothing).
    pub fn parse(line: &str) -> Option<AuthorizedKey> {
        let entry: Entry = line.trim().parse().ok()?;
        let mut no_pty = false;
        for option in entry.config_opts().iter() {
            match option {
                "no-pty" => no_pty = true,
                o if HARMLESS_OPTIONS.iter().any(|h| h.eq_ignore_ascii_case(o)) => {}
                _ => return None,
            }
        }
        Some(AuthorizedKey {
            key: entry.public_key().clone(),
            no_pty,
        })
    }

    /// Whether this is the same key as `key` (comments aside).
    pub fn matches(&self, key: &PublicKey) -> bool {
        self.key.key_data() == key.key_data()
    }

    /// Whether sessions opened with this key may have a terminal.
    pub fn allows_pty(&self) -> bool {
        !self.no_pty
    }
}

/// What the ssh server knows about one container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ContainerKeys {
    /// Its authorized keys (unusable lines left out).
    pub keys: Vec<AuthorizedKey>,
    /// Whether the container runs: nobody logs into a stopped or failed one.
    pub running: bool,
}

/// uid → the container's keys, shared between the reconciler (writer) and the ssh server
/// (reader). Cloning gives another handle on the same book.
#[derive(Debug, Clone, Default)]
pub struct KeyBook {
    inner: Arc<RwLock<HashMap<u32, ContainerKeys>>>,
    /// The terminals of the sessions these keys opened, where alarms are broadcast.
    consoles: Consoles,
}

impl KeyBook {
    /// An empty book: nobody can log in.
    pub fn new() -> KeyBook {
        KeyBook::default()
    }

    /// The open terminals of the sessions logged in with this book.
    pub fn consoles(&self) -> &Consoles {
        &self.consoles
    }

    /// Replace the whole book with the containers of `desired` and whether each runs
    /// according to `statuses` (those of a reconciliation). Containers absent from
    /// `desired` are forgotten.
    pub fn update(&self, desired: &DesiredState, statuses: &[ContainerStatus]) {
        let mut book = HashMap::new();
        for spec in &desired.containers {
            let Ok(uid) = u32::try_from(spec.uid) else {
                continue;
            };
            let keys = spec
                .ssh_keys
                .iter()
                .filter_map(|line| {
                    let key = AuthorizedKey::parse(line);
                    if key.is_none() {
                        tracing::warn!(
                            uid,
                            "ssh key ignored: not a key, or options berth cannot enforce"
                        );
                    }
                    key
                })
                .collect();
            let running = statuses
                .iter()
                .any(|s| s.uid == spec.uid && s.state == ContainerState::Running);
            book.insert(uid, ContainerKeys { keys, running });
        }
        *self.inner.write().unwrap_or_else(PoisonError::into_inner) = book;
    }

    /// The key of a running container `uid` that matches `key`, if any: what a login as
    /// `uid` with `key` is allowed.
    pub fn authorize(&self, uid: u32, key: &PublicKey) -> Option<AuthorizedKey> {
        let book = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let container = book.get(&uid).filter(|c| c.running)?;
        container.keys.iter().find(|k| k.matches(key)).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPD6u4hDiiVsVWCUEbwFaSGUAfSvQufEKX3zWv033B+u";

    fn key(line: &str) -> PublicKey {
        line.parse().expect("a key")
    }

    #[test]
    fn lines_with_comments_and_harmless_options_parse_and_match_ignoring_comments() {
        let plain = AuthorizedKey::parse(ED25519).expect("plain");
        assert!(plain.matches(&key(&format!("{ED25519} other comment"))));
        assert!(plain.allows_pty());
        let commented =
            AuthorizedKey::parse(&format!("  {ED25519} me@laptop with spaces ")).expect("comment");
        assert!(commented.matches(&key(ED25519)));
        let options = AuthorizedKey::parse(&format!("no-pty,no-port-forwarding {ED25519} me"))
            .expect("options");
        assert!(options.matches(&key(ED25519)));
        assert!(!options.allows_pty());
    }

    #[test]
    fn garbage_and_unenforceable_options_are_refused() {
        for line in [
            "",
            "ssh-ed25519",
            "ssh-ed25519 notbase64!",
            "hello world",
            &format!("command=\"/bin/true\" {ED25519}"),
            &format!("from=\"10.0.0.1\" {ED25519}"),
            &format!("restrict {ED25519}"),
        ] {
            assert_eq!(AuthorizedKey::parse(line), None, "{line}");
        }
    }

    impl KeyBook {
        fn set(&self, uid: u32, keys: ContainerKeys) {
            self.inner.write().expect("lock").insert(uid, keys);
        }
    }

    #[test]
    fn only_running_containers_with_the_key_authorize() {
        let book = KeyBook::new();
        let k = key(ED25519);
        assert_eq!(book.authorize(30001, &k), None);
        book.set(
            30001,
            ContainerKeys {
                keys: vec![AuthorizedKey::parse(ED25519).expect("key")],
                running: false,
            },
        );
        assert_eq!(book.authorize(30001, &k), None);
        book.set(
            30001,
            ContainerKeys {
                keys: vec![AuthorizedKey::parse(ED25519).expect("key")],
                running: true,
            },
        );
        assert!(book.authorize(30001, &k).is_some());
        assert_eq!(book.authorize(30002, &k), None);
    }
}
