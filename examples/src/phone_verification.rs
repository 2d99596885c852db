//! Port of `PhoneVerification.cs`: human interaction with a timeout. `E4_SmsPhoneVerification`
//! texts a four-digit code to a phone number, then waits for the user to send it back as an
//! `SmsChallengeResponse` event; it returns `true` when a response matches within 90 seconds,
//! `false` on timeout or after three wrong codes.
//!
//! Stand-in: the code goes to the SMS [outbox](crate::outbox) instead of Twilio (and to the
//! log). The C# loop (`retryCount <= 3`) takes up to four responses; this port takes
//! [`MAX_ATTEMPTS`] (three).
//!
//! Run with:
//! `cargo run -p durable-examples -- start E4_SmsPhoneVerification --input '"+1 425 555 0100"'`
//! (the code is logged; with nobody to answer, it prints `false` after 90 seconds).

use durable::prelude::*;
use futures::TryFutureExt;
use futures::future::Either;

/// How many responses the user may send before verification fails.
pub const MAX_ATTEMPTS: usize = 3;

/// How long the user has to answer, counted from when the code was sent.
pub const RESPONSE_TIMEOUT: chrono::Duration = chrono::Duration::seconds(90);

/// Why `E4_SmsPhoneVerification` failed.
#[derive(Debug, thiserror::Error)]
pub enum PhoneVerificationError {
    /// The input was null or blank.
    #[error("a phone number input is required")]
    MissingPhoneNumber,
    /// Sending the code failed, or a response was not a number.
    #[error(transparent)]
    Call(#[from] FunctionFailed),
}

/// Which of the raced tasks finished first.
enum Reply {
    Code(u16),
    TimedOut,
}

/// Texts a code to the phone number given as input and waits for it to come back.
#[orchestration_trigger(name = "E4_SmsPhoneVerification")]
pub async fn sms_phone_verification(
    context: DurableOrchestrationContext,
    phone_number: Option<String>,
) -> Result<bool, PhoneVerificationError> {
    let phone_number = phone_number
        .filter(|number| !number.trim().is_empty())
        .ok_or(PhoneVerificationError::MissingPhoneNumber)?;

    let challenge_code: u16 = context.call_activity("E4_SendSmsChallenge", &phone_number).await?;

    // One deadline for all attempts: 90 seconds after the code was sent.
    let expiration = context.current_utc_date_time() + RESPONSE_TIMEOUT;
    let mut timeout_task = context.create_timer(expiration);

    let mut authorized = false;
    for _ in 0..MAX_ATTEMPTS {
        let challenge_response_task =
            context.wait_for_external_event::<u16>("SmsChallengeResponse");

        // Race the response against the timeout (`Task.WhenAny` in C#). The timer is only
        // borrowed, so it keeps running into the next attempt.
        let response = challenge_response_task.map_ok(Reply::Code);
        let timeout = (&mut timeout_task).map_ok(|()| Reply::TimedOut);
        let (_, winner) = when_any([Either::Left(response), Either::Right(timeout)]).await;
        match winner? {
            // The user answered with the code that was sent: verified.
            Reply::Code(code) if code == challenge_code => {
                authorized = true;
                break;
            }
            // A wrong code: wait for the next attempt.
            Reply::Code(_) => {}
            Reply::TimedOut => break,
        }
    }

    // Unlike C# (`timeoutCts.Cancel()`), a pending timer needs no cancelling: the instance
    // completes when this function returns, and a timer that fires later is ignored.
    Ok(authorized)
}

/// Texts a new random four-digit code to the phone number and returns it.
#[activity_trigger(name = "E4_SendSmsChallenge")]
pub fn send_sms_challenge(phone_number: String) -> u16 {
    // A v4 UUID comes from the operating system's random generator.
    let challenge_code = (uuid::Uuid::new_v4().as_u128() % 10_000) as u16;
    tracing::info!("Sending verification code {challenge_code:04} to {phone_number}.");
    crate::outbox::send_sms(
        &phone_number,
        format!("Your verification code is {challenge_code:04}"),
    );
    challenge_code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_texted_as_four_digits() {
        let phone = "+1 555 0100 challenge-test";
        let code = send_sms_challenge(phone.to_owned());
        assert!(code < 10_000);
        assert_eq!(
            crate::outbox::messages_to(phone),
            [format!("Your verification code is {code:04}")]
        );
    }
}
