//! Port of `SMSReminder.cs`: a long durable timer. `SetReminder` waits 24 hours, then
//! `SendSMS` texts a reminder to finish the task given as input.
//!
//! Stand-in: the text goes to the SMS [outbox](crate::outbox) instead of Twilio, addressed to
//! `$DURABLE_REMINDER_TO` (C#'s `TwilioPhoneNumberTo` setting), default [`DEFAULT_REMINDER_TO`].
//!
//! Run with:
//! `cargo run -p durable-examples -- start SetReminder --input '"the expense report"' --no-wait`
//! (the reminder goes out 24 hours later, while the app is serving).

use durable::prelude::*;

/// How long after the start the reminder is sent.
pub const REMINDER_DELAY: chrono::Duration = chrono::Duration::hours(24);

/// Who gets reminders when `DURABLE_REMINDER_TO` is not set.
pub const DEFAULT_REMINDER_TO: &str = "reminders";

/// Waits 24 hours, then sends the reminder for `task`.
#[orchestration_trigger(name = "SetReminder")]
pub async fn set_reminder(
    context: DurableOrchestrationContext,
    task: String,
) -> Result<(), FunctionFailed> {
    let fire_at = context.current_utc_date_time() + REMINDER_DELAY;
    context.create_timer(fire_at).await?;

    context.call_activity::<()>("SendSMS", &task).await
}

/// Texts a reminder to finish `task_name`.
#[activity_trigger(name = "SendSMS")]
pub fn send_sms(task_name: String) {
    crate::outbox::send_sms(&reminder_recipient(), format!("Make sure to finish {task_name}"));
}

/// The number reminders are sent to.
pub fn reminder_recipient() -> String {
    std::env::var("DURABLE_REMINDER_TO").unwrap_or_else(|_| DEFAULT_REMINDER_TO.to_owned())
}
