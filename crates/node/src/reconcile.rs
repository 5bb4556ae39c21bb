//! The reconciler: the desired state made real on this machine (the network, VPN interfaces
//! and legions first, then one container at a time), and what it did.

use std::collections::{BTreeMap, BTreeSet};

use berth_model::node::{ContainerState, ContainerStatus, DesiredState, SystemAlarm};

use crate::checked::{check, Checked};
use crate::error::NodeError;
use crate::runc::{uid_of_container_id, RuncState};
use crate::runtime::Runtime;

/// One thing [`Runtime::reconcile`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A container that did not run was started.
    Started(u32),
    /// A running container was restarted: its `last_reboot` was bumped, or its init had died.
    Restarted(u32),
    /// The authorized keys of a running container were rewritten (no restart).
    KeysUpdated(u32),
    /// A container no longer desired was stopped (its home is kept).
    Stopped(u32),
}

/// The outcome of one reconciliation.
#[derive(Debug, Default)]
pub struct Reconciliation {
    /// What changed; empty when the machine already matched.
    pub changes: Vec<Change>,
    /// The observed state of every desired container, for the node report.
    pub statuses: Vec<ContainerStatus>,
    /// Containers that could not be realised (or stopped), by uid as sent; uid 0 when runc
    /// itself could not list the containers (then nothing was done).
    pub errors: Vec<(i64, NodeError)>,
    /// System alarms raised this round (quota threshold, out of memory), already appended to
    /// the containers' `logs/emperor.log`; the node report carries them to the control plane.
    pub alarms: Vec<SystemAlarm>,
}

impl Runtime {
    /// Make the machine match `desired`: start missing containers, restart those whose
    /// `last_reboot` is newer than the one they run with (or whose init died), rewrite changed
    /// ssh keys without a restart, stop the containers no longer desired (keeping their
    /// homes). Running it again with the same state changes nothing. One container's failure
    /// does not stop the others. The [key book](Runtime::key_book) follows: the desired keys
    /// of the containers that run.
    pub fn reconcile(&self, desired: &DesiredState) -> Reconciliation {
        let result = self.realise(desired);
        self.keys.update(desired, &result.statuses);
        result
    }

    fn realise(&self, desired: &DesiredState) -> Reconciliation {
        let mut result = Reconciliation::default();
        let existing: BTreeMap<u32, RuncState> = match self.runc.list() {
            Ok(list) => list
                .into_iter()
                .filter_map(|s| uid_of_container_id(&s.id).map(|uid| (uid, s)))
                .collect(),
            Err(e) => {
                result.errors.push((0, e));
                return result;
            }
        };
        if let Some(network) = &self.network {
            // Before any container starts, so that a new link or mapping works at once.
            if let Err(e) = network.apply(desired) {
                result.errors.push((0, e));
            }
        }
        if let Some(vpn) = &self.vpn {
            if let Err(e) = vpn.converge(&desired.vpn_interfaces) {
                result.errors.push((0, e));
            }
        }
        if let Some(legions) = &self.legions {
            if let Err(e) = legions.converge(&desired.server, &desired.legion_peers) {
                result.errors.push((0, e));
            }
        }
        let mut wanted = BTreeSet::new();
        for spec in &desired.containers {
            // A desired container is never stopped, even when its spec is refused.
            let listed_twice = u32::try_from(spec.uid).is_ok_and(|uid| !wanted.insert(uid));
            let outcome = if listed_twice {
                Err(NodeError::InvalidSpec {
                    uid: spec.uid,
                    reason: "listed twice".to_owned(),
                })
            } else {
                check(spec).and_then(|checked| {
                    self.converge(&checked, desired, existing.get(&checked.uid))
                        .map(|changes| (checked, changes))
                })
            };
            match outcome {
                Ok((checked, changes)) => {
                    result.changes.extend(changes);
                    let mut status = self.status(checked.uid);
                    self.upkeep(&checked, &mut status, &mut result.alarms);
                    result.statuses.push(status);
                }
                Err(e) => {
                    tracing::warn!(uid = spec.uid, error = %e, "container not realised");
                    result.statuses.push(ContainerStatus {
                        uid: spec.uid,
                        state: ContainerState::Failed,
                        running_since_reboot: 0,
                        detail: Some(e.to_string()),
                        disk_used: None,
                    });
                    result.errors.push((spec.uid, e));
                }
            }
        }
        // As uwsgi.it's console broadcast: the alarm shows in the container's open terminals.
        for alarm in &result.alarms {
            if let Ok(uid) = u32::try_from(alarm.uid) {
                self.keys.consoles().broadcast(uid, &alarm.msg);
            }
        }
        self.loopbox_notes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|uid, _| wanted.contains(uid));
        for (&uid, _) in existing.iter().filter(|(uid, _)| !wanted.contains(uid)) {
            match self.stop(uid) {
                Ok(()) => result.changes.push(Change::Stopped(uid)),
                Err(e) => result.errors.push((i64::from(uid), e)),
            }
        }
        result
    }

    fn converge(
        &self,
        checked: &Checked<'_>,
        desired: &DesiredState,
        existing: Option<&RuncState>,
    ) -> Result<Vec<Change>, NodeError> {
        let uid = checked.uid;
        let change = match existing {
            None => Some(Change::Started(uid)),
            Some(state) if !state.is_running() => Some(Change::Restarted(uid)),
            Some(_) => match self.recorded_reboot(uid) {
                Some(running) if running >= checked.spec.last_reboot => None,
                _ => Some(Change::Restarted(uid)),
            },
        };
        let mut changes = Vec::new();
        if let Some(change) = change {
            if existing.is_some() {
                self.stop(uid)?;
            }
            self.start(checked, desired)?;
            changes.push(change);
        } else if self.write_keys(checked)? {
            changes.push(Change::KeysUpdated(uid));
        }
        Ok(changes)
    }
}
