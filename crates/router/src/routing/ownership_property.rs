//! Property test of the routing table's ownership rule: an owned name is never answered by
//! another owner's slot, and an owner's own exact subscription always answers its name.
//! Names, owned entries (exact names, wildcards, apexes), subscriptions (from any owner, as
//! after the map changed hands) and dead nodes are all random.

use std::collections::HashMap;
use std::sync::Arc;

use proptest::prelude::*;

use crate::routing::balancer::Balancing;
use crate::routing::host::dotsplit;
use crate::routing::ownership::{OwnerId, Ownership};
use crate::routing::table::{NodeAnnounce, RoutingTable};
use crate::upstream::connection::Target;

/// A host name under `ex.org` from up to three labels of a small alphabet, so that random
/// names collide with each other's suffixes often.
fn name() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec!["a", "b", "c"]), 0..4).prop_map(|labels| {
        let mut name = labels.join(".");
        if !name.is_empty() {
            name.push('.');
        }
        name.push_str("ex.org");
        name
    })
}

/// A routing key: a name, or its wildcard.
fn key() -> impl Strategy<Value = String> {
    (name(), any::<bool>()).prop_map(|(n, wild)| if wild { format!(".{n}") } else { n })
}

fn owner() -> impl Strategy<Value = Option<OwnerId>> {
    prop::option::weighted(0.9, (0u32..4).prop_map(OwnerId))
}

fn announce(address: String) -> NodeAnnounce {
    NodeAnnounce {
        target: Target::UwsgiUnix(address.clone().into()),
        address,
        modifier1: 0,
        modifier2: 0,
        weight: 1,
        cores: 1,
        load: 0,
    }
}

/// The owner of `name` by definition, without the dotsplit walk: of every entry covering the
/// name (itself exactly, a wildcard `.s` or an apex `s` of one of its suffixes), the one with
/// the longest suffix wins; on the same suffix the exact name, then the wildcard, then the
/// apex.
fn model_owner(owned: &HashMap<String, OwnerId>, name: &str) -> Option<OwnerId> {
    owned
        .iter()
        .filter_map(|(entry, owner)| {
            let (suffix, rank) = if entry == name {
                (entry.as_str(), 2)
            } else if let Some(s) = entry.strip_prefix('.') {
                (s, 1)
            } else {
                (entry.as_str(), 0)
            };
            let covers = rank == 2 || name.ends_with(&format!(".{suffix}"));
            covers.then_some((suffix.len(), rank, *owner))
        })
        .max_by_key(|(len, rank, _)| (*len, *rank))
        .map(|(_, _, owner)| owner)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn an_owned_name_is_never_answered_by_another_owner(
        owned in prop::collection::vec((key(), 0u32..4), 0..8),
        subscriptions in prop::collection::vec((key(), owner(), any::<bool>()), 0..12),
        lookups in prop::collection::vec(name(), 1..16),
    ) {
        let table = RoutingTable::new(Balancing::WeightedRoundRobin);
        let owned: HashMap<String, OwnerId> =
            owned.into_iter().map(|(k, o)| (k, OwnerId(o))).collect();
        let ownership = Arc::new(Ownership::of_owners(owned.clone()));
        table.set_ownership(ownership.clone());
        for (i, (key, owner, dead)) in subscriptions.iter().enumerate() {
            table.subscribe(key, announce(format!("/n{i}")), *owner);
            if *dead {
                if let Some(node) = table.slot(key).and_then(|s| s.nodes().pop()) {
                    node.mark_dead();
                }
            }
        }
        for name in lookups {
            let name_owner = model_owner(&owned, &name);
            prop_assert_eq!(ownership.owner_of(&name), name_owner, "owner of {}", name);
            let answer = table.route(&name);
            if let (Some(o), Some((slot, _))) = (name_owner, &answer) {
                prop_assert_eq!(slot.owner(), Some(o), "{} owned by {:?} answered by {}", name, o, slot.key);
            }
            // The first live slot of the name's owner on the walk answers (nothing may hide
            // it), and an unowned name is routed as uWSGI routes it.
            let expected = dotsplit(&name).find(|candidate| {
                table.slot(candidate).is_some_and(|s| {
                    (name_owner.is_none() || s.owner() == name_owner)
                        && s.nodes().iter().any(|n| n.is_live())
                })
            });
            let answered = answer.map(|(s, _)| s.key.clone());
            prop_assert_eq!(answered.as_deref(), expected);
        }
    }
}
