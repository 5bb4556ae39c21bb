//! The boundary to the control plane: where the desired state comes from and where reports
//! go. The HTTP client of `/node/v1` implements [`ControlPlane`]; the node loop is [`step`]
//! repeated.

use berth_model::node::{DesiredState, NodeReport};

use crate::error::NodeError;
use crate::runtime::Runtime;

/// The control plane as a node sees it.
pub trait ControlPlane {
    /// This server's desired state: at once when `after` is `None` or older than the current
    /// revision, otherwise when it changes (a long poll may also return the same revision).
    fn desired_state(&self, after: Option<i64>) -> Result<DesiredState, NodeError>;

    /// Send what the node observed.
    fn report(&self, report: &NodeReport) -> Result<(), NodeError>;
}

/// One round of the node loop: fetch the desired state newer than `after`, realise it, report
/// the containers' states and the system alarms raised. Returns the revision realised, to give
/// back as the next `after`. Per-container failures are reported (as `failed` statuses), not
/// returned.
pub fn step(
    control: &impl ControlPlane,
    runtime: &Runtime,
    after: Option<i64>,
) -> Result<i64, NodeError> {
    let desired = control.desired_state(after)?;
    let done = runtime.reconcile(&desired);
    for (uid, error) in &done.errors {
        tracing::warn!(uid, %error, "reconcile");
    }
    let metrics = runtime.usage(&done.statuses);
    control.report(&NodeReport {
        containers: done.statuses,
        alarms: done.alarms,
        metrics,
    })?;
    Ok(desired.revision)
}
