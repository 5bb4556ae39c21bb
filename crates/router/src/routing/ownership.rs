//! Who owns which name: the control plane's domain map as owners, so that the routing table
//! never lets one customer's subscription answer a name another customer owns.
//!
//! An owner is a public key (berth makes one key pair per customer, and the key is what a
//! subscription proves): the same key is the same owner, under every name.

use std::collections::HashMap;
use std::sync::Arc;

use berth_wire::VerifyingKey;

use crate::routing::host::dotsplit;

/// An owner, stable for the life of the router (one per distinct public key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OwnerId(pub u32);

/// One snapshot of the domain map: routing key (`example.org`, or `.example.org` for a
/// wildcard) → owner, and each owner's key.
#[derive(Debug, Default)]
pub struct Ownership {
    names: HashMap<String, OwnerId>,
    keys: HashMap<OwnerId, Arc<VerifyingKey>>,
}

impl Ownership {
    /// A snapshot of `entries`: (routing key, owner, the owner's key).
    pub fn new(entries: impl IntoIterator<Item = (String, OwnerId, Arc<VerifyingKey>)>) -> Self {
        let mut ownership = Ownership::default();
        for (name, owner, key) in entries {
            ownership.names.insert(name, owner);
            ownership.keys.insert(owner, key);
        }
        ownership
    }

    /// A snapshot of names and owners without keys (tests of routing, which never sign).
    #[cfg(test)]
    pub fn of_owners(entries: impl IntoIterator<Item = (String, OwnerId)>) -> Self {
        Ownership {
            names: entries.into_iter().collect(),
            keys: HashMap::new(),
        }
    }

    /// Whether the map is empty (no control plane, or nothing owned): then nobody owns
    /// anything and routing follows uWSGI alone.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// How many names the map holds.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// The owner of a routing key: the nearest entry on its dotsplit walk. For each name of
    /// the walk (`b.example.org`, `.example.org`, `.org`), the name itself is looked up and,
    /// for a wildcard, its apex (`example.org`): the owner of `example.org` may subscribe
    /// `.example.org`. So `b.example.org` belongs to whoever owns it exactly, else to the
    /// owner of `.example.org`, else of `example.org`, and so on up. No allocation.
    pub fn owner_of(&self, key: &str) -> Option<OwnerId> {
        if self.is_empty() {
            return None;
        }
        dotsplit(key).find_map(|name| {
            self.names.get(name).copied().or_else(|| {
                name.strip_prefix('.')
                    .and_then(|apex| self.names.get(apex).copied())
            })
        })
    }

    /// Who may subscribe `key`, with the key that must sign for it.
    pub fn grant(&self, key: &str) -> Option<(OwnerId, Arc<VerifyingKey>)> {
        let owner = self.owner_of(key)?;
        Some((owner, self.keys.get(&owner)?.clone()))
    }
}

/// Hands out [`OwnerId`]s: one per distinct public key (by its PEM text, whitespace
/// ignored), the same id for the same key across every revision of the map.
#[derive(Debug, Default)]
pub struct Owners {
    by_pem: HashMap<String, (OwnerId, Arc<VerifyingKey>)>,
}

impl Owners {
    /// The owner of the PEM public key `pem`, parsed once; `None` if it is not a usable key.
    pub fn intern(&mut self, pem: &str) -> Option<(OwnerId, Arc<VerifyingKey>)> {
        let canonical: String = pem.chars().filter(|c| !c.is_whitespace()).collect();
        if let Some(known) = self.by_pem.get(&canonical) {
            return Some(known.clone());
        }
        let key = Arc::new(VerifyingKey::from_pem(pem).ok()?);
        let id = OwnerId(u32::try_from(self.by_pem.len()).ok()?);
        self.by_pem.insert(canonical, (id, key.clone()));
        Some((id, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(&str, u32)]) -> Ownership {
        Ownership::of_owners(entries.iter().map(|(n, o)| ((*n).to_owned(), OwnerId(*o))))
    }

    #[test]
    fn the_nearest_entry_owns_a_name() {
        let o = map(&[
            (".example.org", 1),
            ("shop.example.org", 2),
            ("apex.org", 3),
            (".x.apex.org", 4),
        ]);
        assert_eq!(o.owner_of("shop.example.org"), Some(OwnerId(2)));
        assert_eq!(o.owner_of("b.example.org"), Some(OwnerId(1)));
        assert_eq!(
            o.owner_of("a.shop.example.org"),
            Some(OwnerId(2)),
            "the owner of a name may take its wildcard, so its subnames are theirs"
        );
        assert_eq!(o.owner_of(".example.org"), Some(OwnerId(1)));
        assert_eq!(
            o.owner_of("example.org"),
            None,
            "the wildcard is not its apex"
        );
        assert_eq!(
            o.owner_of(".apex.org"),
            Some(OwnerId(3)),
            "the apex's wildcard"
        );
        assert_eq!(o.owner_of("www.apex.org"), Some(OwnerId(3)));
        assert_eq!(o.owner_of("y.x.apex.org"), Some(OwnerId(4)));
        assert_eq!(o.owner_of("x.apex.org"), Some(OwnerId(3)));
        assert_eq!(o.owner_of("other.net"), None);
        assert_eq!(Ownership::default().owner_of("example.org"), None);
    }
}
