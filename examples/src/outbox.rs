//! A stand-in for the Twilio SMS output binding the C# samples use (`[TwilioSms]`): "sending"
//! a text message logs it and keeps it in an in-process outbox, where a test (or a curious
//! user) can read what was sent to a number. The device provisioning sample sends its
//! notifications to devices here too, addressed to the device id.
//!
//! The outbox keeps the last [`OUTBOX_CAPACITY`] messages of the process, so a long-running
//! `serve` does not grow without bound. Swap [`send_sms`] for a real SMS client to go live.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

/// How many messages the outbox keeps; older ones are forgotten.
pub const OUTBOX_CAPACITY: usize = 10_000;

/// One text message that was "sent".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    /// The recipient's phone number (or other address).
    pub to: String,
    /// The text.
    pub body: String,
}

static OUTBOX: Mutex<VecDeque<Sms>> = Mutex::new(VecDeque::new());

/// "Sends" a text message: logs it and appends it to the outbox.
pub fn send_sms(to: &str, body: impl Into<String>) {
    let body = body.into();
    tracing::info!(to, body, "SMS sent");
    // Nothing can leave the outbox half-updated, so a poisoned lock still holds a valid queue.
    let mut outbox = OUTBOX.lock().unwrap_or_else(PoisonError::into_inner);
    if outbox.len() == OUTBOX_CAPACITY {
        outbox.pop_front();
    }
    outbox.push_back(Sms { to: to.to_owned(), body });
}

/// The bodies of the messages sent to `to`, oldest first.
pub fn messages_to(to: &str) -> Vec<String> {
    let outbox = OUTBOX.lock().unwrap_or_else(PoisonError::into_inner);
    outbox.iter().filter(|sms| sms.to == to).map(|sms| sms.body.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_kept_per_recipient_in_order() {
        send_sms("+1 555 0100 outbox-test", "first");
        send_sms("+1 555 0199 outbox-test", "other");
        send_sms("+1 555 0100 outbox-test", "second");
        assert_eq!(messages_to("+1 555 0100 outbox-test"), ["first", "second"]);
    }
}
