//! Port of `Monitor.cs`: the monitor pattern. `E3_Monitor` checks the weather at a location
//! every 30 minutes and texts a phone number as soon as the sky is clear; it gives up six
//! hours after it started.
//!
//! Stand-ins: Azure asks the Weather Underground API for the current conditions; this port
//! reads them from an in-process table that [`set_weather`] fills (a location nobody set
//! reports `"Clear"`). The alert goes to the SMS [outbox](crate::outbox) instead of Twilio.
//!
//! Run with:
//! `cargo run -p durable-examples -- start E3_Monitor --input '{"Location": {"State": "WA", "City": "Redmond"}, "Phone": "+1 425 555 0100"}'`
//! (the weather is clear, so it texts at once and prints `null`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use chrono::Duration;
use durable::prelude::*;
use serde::{Deserialize, Serialize};

/// What to monitor and whom to tell (C#'s `MonitorRequest`; the JSON keeps its field names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MonitorRequest {
    /// Where to watch the weather.
    #[serde(alias = "location")]
    pub location: Location,
    /// The phone number to text when the weather is clear.
    #[serde(alias = "phone")]
    pub phone: String,
}

/// A place, as the weather service knows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Location {
    /// The state (or region).
    #[serde(alias = "state")]
    pub state: String,
    /// The city.
    #[serde(alias = "city")]
    pub city: String,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, {}", self.city, self.state)
    }
}

/// Why `E3_Monitor` refused its request (C#'s `VerifyRequest` throws `ArgumentNullException`).
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// A field of the request is empty.
    #[error("a {0} input is required")]
    MissingInput(&'static str),
    /// A weather check or the alert failed.
    #[error(transparent)]
    Call(#[from] FunctionFailed),
}

/// Checks the weather every 30 minutes until it is clear (then texts the phone) or until six
/// hours have passed.
#[orchestration_trigger(name = "E3_Monitor")]
pub async fn monitor(
    monitor_context: DurableOrchestrationContext,
    input: MonitorRequest,
) -> Result<(), MonitorError> {
    let MonitorRequest { location, phone } = &input;
    if !monitor_context.is_replaying() {
        tracing::info!("Received monitor request. Location: {location}. Phone: {phone}.");
    }

    verify_request(&input)?;

    let end_time = monitor_context.current_utc_date_time() + Duration::hours(6);
    if !monitor_context.is_replaying() {
        tracing::info!("Instantiating monitor for {location}. Expires: {end_time}.");
    }

    while monitor_context.current_utc_date_time() < end_time {
        // Is it clear at the location right now?
        if !monitor_context.is_replaying() {
            tracing::info!(
                "Checking current weather conditions for {location} at {}.",
                monitor_context.current_utc_date_time()
            );
        }
        let is_clear = monitor_context.call_activity::<bool>("E3_GetIsClear", location).await?;

        if is_clear {
            // No rain, snow or mist: text the user while it lasts, and stop monitoring.
            if !monitor_context.is_replaying() {
                tracing::info!("Detected clear weather for {location}. Notifying {phone}.");
            }
            monitor_context.call_activity::<()>("E3_SendGoodWeatherAlert", phone).await?;
            break;
        }

        // Not yet: sleep on a durable timer until the next check.
        let next_checkpoint = monitor_context.current_utc_date_time() + Duration::minutes(30);
        if !monitor_context.is_replaying() {
            tracing::info!("Next check for {location} at {next_checkpoint}.");
        }
        monitor_context.create_timer(next_checkpoint).await?;
    }

    tracing::info!("Monitor expiring.");
    Ok(())
}

/// Whether the current weather at `location` is clear.
#[activity_trigger(name = "E3_GetIsClear")]
pub fn get_is_clear(location: Location) -> bool {
    current_conditions(&location) == WeatherCondition::Clear
}

/// Texts `phone_number` that the weather is clear.
#[activity_trigger(name = "E3_SendGoodWeatherAlert")]
pub fn send_good_weather_alert(phone_number: String) {
    crate::outbox::send_sms(&phone_number, "The weather's clear outside! Go take a walk!");
}

fn verify_request(request: &MonitorRequest) -> Result<(), MonitorError> {
    if request.location.city.trim().is_empty() || request.location.state.trim().is_empty() {
        return Err(MonitorError::MissingInput("location"));
    }
    if request.phone.trim().is_empty() {
        return Err(MonitorError::MissingInput("phone number"));
    }
    Ok(())
}

/// The weather, as the monitor cares about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeatherCondition {
    /// Anything the table below does not name.
    Other,
    /// Good enough for a walk.
    Clear,
    /// Rain, snow, hail and the like.
    Precipitation,
}

/// Weather descriptions, by the word they contain; the first match wins.
const WEATHER_MAPPING: [(&str, WeatherCondition); 15] = [
    ("Clear", WeatherCondition::Clear),
    ("Overcast", WeatherCondition::Clear),
    ("Cloudy", WeatherCondition::Clear),
    ("Clouds", WeatherCondition::Clear),
    ("Drizzle", WeatherCondition::Precipitation),
    ("Hail", WeatherCondition::Precipitation),
    ("Ice", WeatherCondition::Precipitation),
    ("Mist", WeatherCondition::Precipitation),
    ("Precipitation", WeatherCondition::Precipitation),
    ("Rain", WeatherCondition::Precipitation),
    ("Showers", WeatherCondition::Precipitation),
    ("Snow", WeatherCondition::Precipitation),
    ("Spray", WeatherCondition::Precipitation),
    ("Squall", WeatherCondition::Precipitation),
    ("Thunderstorm", WeatherCondition::Precipitation),
];

/// Maps a weather description such as `"Light Rain"` to a condition.
pub fn map_to_weather_condition(weather: &str) -> WeatherCondition {
    WEATHER_MAPPING
        .iter()
        .find(|(word, _)| weather.contains(word))
        .map_or(WeatherCondition::Other, |(_, condition)| *condition)
}

/// The stand-in weather service: the current description per location.
static WEATHER: Mutex<BTreeMap<Location, String>> = Mutex::new(BTreeMap::new());

/// Sets the current weather description at `location` (such as `"Rain"` or `"Clear"`), as
/// the stand-in weather service reports it from now on.
pub fn set_weather(location: &Location, weather: &str) {
    // A plain map insert cannot leave the table half-updated, so a poisoned lock is still usable.
    let mut table = WEATHER.lock().unwrap_or_else(PoisonError::into_inner);
    table.insert(location.clone(), weather.to_owned());
}

/// The current conditions at `location`; clear where nobody set the weather.
fn current_conditions(location: &Location) -> WeatherCondition {
    let table = WEATHER.lock().unwrap_or_else(PoisonError::into_inner);
    let weather = table.get(location).map_or("Clear", String::as_str);
    map_to_weather_condition(weather)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_map_to_conditions_by_their_first_known_word() {
        assert_eq!(map_to_weather_condition("Clear"), WeatherCondition::Clear);
        assert_eq!(map_to_weather_condition("Mostly Cloudy"), WeatherCondition::Clear);
        assert_eq!(map_to_weather_condition("Light Rain Showers"), WeatherCondition::Precipitation);
        assert_eq!(map_to_weather_condition("Haze"), WeatherCondition::Other);
    }

    #[test]
    fn the_request_keeps_the_csharp_field_names() {
        let request: MonitorRequest = serde_json::from_value(serde_json::json!({
            "Location": { "State": "WA", "City": "Redmond" },
            "Phone": "+1 425 555 0100",
        }))
        .unwrap();
        assert_eq!(request.location.to_string(), "Redmond, WA");
        let lower: MonitorRequest = serde_json::from_value(serde_json::json!({
            "location": { "state": "WA", "city": "Redmond" },
            "phone": "+1 425 555 0100",
        }))
        .unwrap();
        assert_eq!(lower, request);
    }
}
