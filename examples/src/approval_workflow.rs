//! Port of the `ApprovalWorkflow` of the Durable Functions overview ("Pattern #5: Human
//! interaction"): ask for an approval, then wait up to 72 hours for an `ApprovalEvent`;
//! process the decision if it comes in time, escalate to a manager if it does not.
//!
//! The C# original takes no input and returns nothing. This port takes the subject of the
//! request as its input (so the messages can name it) and returns what happened, as an
//! [`ApprovalOutcome`]; its custom status says what it waits for and until when.
//!
//! Stand-ins: `RequestApproval` and `Escalate` text [`APPROVER`] and [`MANAGER`] through the
//! SMS [outbox](crate::outbox); each message names the instance to raise `ApprovalEvent` on.
//! `ProcessApproval` only logs the decision.
//!
//! Run with:
//! `cargo run -p durable-examples -- start ApprovalWorkflow --input '"purchase order 17"' --no-wait`
//! (it prints the instance id; a client then decides with
//! `raise_event(&instance_id, "ApprovalEvent", true)`, or 72 hours pass).

use durable::prelude::*;
use futures::TryFutureExt;
use futures::future::Either;
use serde::{Deserialize, Serialize};

/// Who is asked to approve.
pub const APPROVER: &str = "approver";

/// Who hears about requests nobody approved in time.
pub const MANAGER: &str = "manager";

/// How long the approver has to decide.
pub const APPROVAL_TIMEOUT: chrono::Duration = chrono::Duration::hours(72);

/// How an approval workflow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApprovalOutcome {
    /// The approver said yes in time.
    Approved,
    /// The approver said no in time.
    Rejected,
    /// Nobody decided within 72 hours; the manager was told.
    Escalated,
}

/// What the instance is waiting for, as its custom status shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AwaitingApproval {
    /// The approver asked.
    pub approver: String,
    /// When the request is escalated unless decided.
    pub due_time: chrono::DateTime<chrono::Utc>,
}

/// Asks for an approval of `subject` and waits 72 hours for the decision.
#[orchestration_trigger(name = "ApprovalWorkflow")]
pub async fn approval_workflow(
    context: DurableOrchestrationContext,
    subject: String,
) -> Result<ApprovalOutcome, FunctionFailed> {
    context.call_activity::<()>("RequestApproval", &subject).await?;

    let due_time = context.current_utc_date_time() + APPROVAL_TIMEOUT;
    let durable_timeout = context.create_timer(due_time);
    let approval_event = context.wait_for_external_event::<bool>("ApprovalEvent");
    context.set_custom_status(AwaitingApproval { approver: APPROVER.to_owned(), due_time });

    // `Some(decision)` when the event wins, `None` when the timer does.
    let (_, decision) = when_any([
        Either::Left(approval_event.map_ok(Some)),
        Either::Right(durable_timeout.map_ok(|()| None)),
    ])
    .await;
    match decision? {
        Some(approved) => {
            context.call_activity::<()>("ProcessApproval", (&subject, approved)).await?;
            Ok(if approved { ApprovalOutcome::Approved } else { ApprovalOutcome::Rejected })
        }
        None => {
            context.call_activity::<()>("Escalate", &subject).await?;
            Ok(ApprovalOutcome::Escalated)
        }
    }
}

/// Asks [`APPROVER`] to approve the request.
#[activity_trigger(name = "RequestApproval")]
pub fn request_approval(context: DurableActivityContext) -> Result<(), InputError> {
    let subject: String = context.get_input()?;
    crate::outbox::send_sms(
        APPROVER,
        format!(
            "Please approve {subject}: raise ApprovalEvent (true or false) on instance {} within 72 hours.",
            context.instance_id()
        ),
    );
    Ok(())
}

/// Acts on the approver's decision.
#[activity_trigger(name = "ProcessApproval")]
pub fn process_approval(decision: (String, bool)) {
    let (subject, approved) = decision;
    let verdict = if approved { "approved" } else { "rejected" };
    tracing::info!("{subject} was {verdict}.");
}

/// Tells [`MANAGER`] that nobody decided on the request in time.
#[activity_trigger(name = "Escalate")]
pub fn escalate(context: DurableActivityContext) -> Result<(), InputError> {
    let subject: String = context.get_input()?;
    crate::outbox::send_sms(
        MANAGER,
        format!("Nobody approved {subject} within 72 hours (instance {}).", context.instance_id()),
    );
    Ok(())
}
