//! Property tests of what comes from outside: instance ids and entity ids as users type them,
//! and the JSON of history events, orchestration messages, entity messages and entity records
//! as a store hands it back. Nothing panics; whatever decodes encodes and decodes to itself.
//!
//! Each property runs `PROPTEST_CASES` cases (proptest's 256 when unset).

use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{EntityId, EntityMessage, FailureDetails, HistoryEvent, OrchestrationMessage};
use super::{MAX_INSTANCE_ID_LEN, check_instance_id};
use crate::client::{DurableError, validate_instance_id};
use crate::entity::EntityRecord;

/// Field names and values the decoded types use, so that random objects often come close to
/// valid ones.
const WORDS: &[&str] = &[
    "EventId",
    "Timestamp",
    "EventType",
    "Name",
    "ExecutionId",
    "Input",
    "Version",
    "ParentInstance",
    "TaskScheduledId",
    "Result",
    "FailureDetails",
    "InstanceId",
    "FireAt",
    "TimerId",
    "ScheduledTime",
    "OrchestrationStatus",
    "ErrorType",
    "ErrorMessage",
    "Causes",
    "Event",
    "VisibleAt",
    "ExecutionStarted",
    "TaskScheduled",
    "TaskCompleted",
    "TaskFailed",
    "TimerCreated",
    "TimerFired",
    "EventSent",
    "EventRaised",
    "ExecutionCompleted",
    "SubOrchestrationInstanceCreated",
    "Completed",
    "Failed",
    "ContinuedAsNew",
    "op",
    "lock",
    "release",
    "operation",
    "input",
    "sender",
    "requestId",
    "owner",
    "lockSet",
    "position",
    "chain",
    "exists",
    "state",
    "queue",
    "backlog",
    "message",
    "at",
    "2026-01-02T03:04:05Z",
    "+262143-12-31T23:59:59.999999999Z",
    "@counter@k",
    "@@",
    "",
];

/// A string: one of [`WORDS`], any text, or a near-timestamp.
pub(crate) fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(WORDS).prop_map(str::to_owned),
        any::<String>(),
        "[+-]?[0-9]{1,6}-[0-9]{1,2}-[0-9]{1,2}[T ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\\.[0-9]{0,12})?(Z|[+-][0-9]{2}:?[0-9]{2})?",
    ]
}

/// Any JSON value: nested arrays and objects of strings, booleans, null, and numbers of every
/// size and sign.
pub(crate) fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // NaN and infinities have no JSON form: they become `null`.
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// Valid encodings: an event of every kind, messages, entity messages and records.
fn valid_documents() -> Vec<Value> {
    let at = "2026-01-02T03:04:05.123456789Z";
    let failure = json!({ "ErrorType": "Panic", "ErrorMessage": "boom", "Causes": ["a"] });
    let parent = json!({
        "Name": "P", "InstanceId": "p", "ExecutionId": "e", "TaskScheduledId": 2
    });
    let event = |kind: &str, fields: Value| {
        let mut event = json!({ "EventId": -1, "Timestamp": at, "EventType": kind });
        if let (Some(event), Value::Object(fields)) = (event.as_object_mut(), fields) {
            event.extend(fields);
        }
        event
    };
    let events = vec![
        event(
            "ExecutionStarted",
            json!({ "Name": "O", "ExecutionId": "x", "Input": [1, "a"], "Version": "1",
                "ParentInstance": parent }),
        ),
        event("OrchestratorStarted", json!({})),
        event("TaskScheduled", json!({ "Name": "A", "Input": { "k": 1.5 } })),
        event("TaskCompleted", json!({ "TaskScheduledId": 0, "Result": "r" })),
        event("TaskFailed", json!({ "TaskScheduledId": 0, "FailureDetails": failure })),
        event(
            "SubOrchestrationInstanceCreated",
            json!({ "Name": "C", "InstanceId": "c", "Input": null }),
        ),
        event("SubOrchestrationInstanceCompleted", json!({ "TaskScheduledId": 1, "Result": 7 })),
        event(
            "SubOrchestrationInstanceFailed",
            json!({ "TaskScheduledId": 1, "FailureDetails": failure }),
        ),
        event("TimerCreated", json!({ "FireAt": at })),
        event("TimerFired", json!({ "TimerId": 3, "FireAt": at })),
        event(
            "EventSent",
            json!({ "InstanceId": "@counter@k", "Name": "op", "Input": {}, "ScheduledTime": at }),
        ),
        event("EventRaised", json!({ "Name": "Go", "Input": true })),
        event("ExecutionSuspended", json!({ "Input": "why" })),
        event("ExecutionResumed", json!({})),
        event("ExecutionRewound", json!({ "Input": null })),
        event("ExecutionTerminated", json!({ "Input": "stop" })),
        event(
            "ExecutionCompleted",
            json!({ "OrchestrationStatus": "Failed", "Result": null, "FailureDetails": failure }),
        ),
    ];
    let lock = json!({
        "owner": "o", "requestId": "r", "lockSet": ["@a@1", "@b@2"], "position": 1
    });
    let operation =
        json!({ "op": { "operation": "add", "input": 5, "sender": "o", "requestId": "r" } });
    let release = json!({ "release": { "owner": "o", "requestId": "r", "chain": true } });
    let mut documents = vec![
        operation.clone(),
        json!({ "lock": lock }),
        release.clone(),
        json!({
            "exists": true, "state": { "n": 1 }, "lock": lock,
            "queue": [{ "message": operation, "at": at }], "backlog": [release]
        }),
    ];
    for event in events {
        documents.push(json!({ "InstanceId": "i", "ExecutionId": "x", "Event": event,
            "VisibleAt": at }));
        documents.push(event);
    }
    documents
}

/// A change to a JSON document.
#[derive(Debug, Clone)]
enum Mutation {
    /// Remove the field with this name, wherever it appears.
    Remove(String),
    /// Set the field with this name to a value, wherever it appears (adding it at the top).
    Set(String, Value),
    /// Replace the `n`-th value (in depth-first order) with another.
    Replace(usize, Value),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        text().prop_map(Mutation::Remove),
        (text(), json()).prop_map(|(name, value)| Mutation::Set(name, value)),
        (0usize..40, json()).prop_map(|(n, value)| Mutation::Replace(n, value)),
    ]
}

impl Mutation {
    fn apply(&self, document: &mut Value) {
        match self {
            Mutation::Remove(name) => visit(document, &mut |value| {
                if let Value::Object(fields) = value {
                    fields.remove(name);
                }
            }),
            Mutation::Set(name, new) => {
                set(document, name, new);
                if let Value::Object(fields) = document {
                    fields.entry(name.clone()).or_insert_with(|| new.clone());
                }
            }
            Mutation::Replace(n, new) => {
                let mut seen = 0;
                visit(document, &mut |value| {
                    if seen == *n {
                        *value = new.clone();
                    }
                    seen += 1;
                });
            }
        }
    }
}

/// Sets every field `name` inside `value` to `new` (not looking into `new`).
fn set(value: &mut Value, name: &str, new: &Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(|item| set(item, name, new)),
        Value::Object(fields) => {
            for (field, item) in fields.iter_mut() {
                if field == name {
                    *item = new.clone();
                } else {
                    set(item, name, new);
                }
            }
        }
        _ => {}
    }
}

/// Calls `f` on `value` and then on each value inside it, depth first.
fn visit(value: &mut Value, f: &mut impl FnMut(&mut Value)) {
    f(value);
    match value {
        Value::Array(items) => items.iter_mut().for_each(|item| visit(item, f)),
        Value::Object(fields) => fields.values_mut().for_each(|item| visit(item, f)),
        _ => {}
    }
}

/// Decodes `document` as a `T`; when it decodes, its encoding decodes to the same value, as
/// JSON values and as text.
fn decodes_stably<T>(document: &Value) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let Ok(decoded) = serde_json::from_value::<T>(document.clone()) else {
        return Ok(());
    };
    let encoded = serde_json::to_value(&decoded).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let again = serde_json::from_value::<T>(encoded.clone());
    prop_assert_eq!(again.as_ref().ok(), Some(&decoded), "{} from {}", encoded, document);
    // Text keeps every number that did not come from a float exactly.
    let text = encoded.to_string();
    let reread = serde_json::from_str::<Value>(&text);
    if reread.as_ref().ok() == Some(&encoded) {
        prop_assert_eq!(serde_json::from_str::<T>(&text).ok(), Some(decoded));
    }
    Ok(())
}

/// Every type a store or a peer hands over as JSON.
fn decodes_stably_as_anything(document: &Value) -> Result<(), TestCaseError> {
    decodes_stably::<HistoryEvent>(document)?;
    decodes_stably::<OrchestrationMessage>(document)?;
    decodes_stably::<EntityMessage>(document)?;
    decodes_stably::<EntityRecord>(document)?;
    decodes_stably::<FailureDetails>(document)?;
    decodes_stably::<EntityId>(document)?;
    for name in ["op", "lock", "release"] {
        if let Some(Ok(message)) = EntityMessage::from_event(name, document) {
            let super::EventKind::EventRaised { name: sent, input } = message.to_event() else {
                return Err(TestCaseError::fail("an entity message is not an EventRaised"));
            };
            prop_assert_eq!(sent.as_str(), name);
            let back = EntityMessage::from_event(name, &input).and_then(Result::ok);
            prop_assert_eq!(back, Some(message));
        }
    }
    Ok(())
}

/// Text as an id typist or attacker might write it: any string, path tricks, entity-like
/// forms, controls, overlong ones.
fn id_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[@a-zA-Z0-9 ./\\\\#?%\t\n\u{0}\u{7f}\u{85}\u{200b}é-]{0,12}",
        "@[^@]{0,8}@.{0,8}",
        (prop::sample::select(vec!["x", "é", "@", " "]), 250usize..300)
            .prop_map(|(c, n)| c.repeat(n)),
    ]
}

proptest! {
    #[test]
    fn arbitrary_json_never_panics_and_what_decodes_round_trips(document in json()) {
        decodes_stably_as_anything(&document)?;
    }

    #[test]
    fn mutated_valid_documents_never_panic_and_what_decodes_round_trips(
        index in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let documents = valid_documents();
        let mut document = index.get(&documents).clone();
        for mutation in &mutations {
            mutation.apply(&mut document);
        }
        decodes_stably_as_anything(&document)?;
    }

    #[test]
    fn arbitrary_text_and_bytes_never_panic(text in text(), bytes in any::<Vec<u8>>()) {
        for input in [text.as_bytes(), bytes.as_slice()] {
            let _ = serde_json::from_slice::<HistoryEvent>(input);
            let _ = serde_json::from_slice::<OrchestrationMessage>(input);
            let _ = serde_json::from_slice::<EntityMessage>(input);
            let _ = serde_json::from_slice::<EntityRecord>(input);
        }
    }

    #[test]
    fn instance_ids_are_checked_without_panics(id in id_text()) {
        let checked = check_instance_id(&id);
        if checked.is_ok() {
            prop_assert!(!id.is_empty() && id.len() <= MAX_INSTANCE_ID_LEN);
            prop_assert!(!id.chars().any(char::is_control));
            prop_assert!(!id.contains(['/', '\\', '#', '?']) && !id.starts_with('@'));
            prop_assert_eq!(id.trim(), id.as_str());
        }
        match validate_instance_id(&id) {
            Ok(()) => prop_assert!(checked.is_ok()),
            Err(DurableError::InvalidInstanceId { instance_id, reason }) => {
                prop_assert_eq!(Err(reason), checked);
                prop_assert!(instance_id.chars().count() <= 64 && id.starts_with(&instance_id));
            }
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }

    #[test]
    fn entity_ids_parse_without_panics_and_round_trip(text in id_text()) {
        if let Ok(id) = text.parse::<EntityId>() {
            prop_assert_eq!(id.to_string().parse::<EntityId>(), Ok(id.clone()));
            let json = serde_json::to_string(&id).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(serde_json::from_str::<EntityId>(&json).ok(), Some(id.clone()));
            prop_assert!(text.eq_ignore_ascii_case(&id.to_string()) || !text.is_ascii());
        }
    }

    #[test]
    fn entity_ids_from_any_name_and_key_round_trip(name in id_text(), key in id_text()) {
        if let Ok(id) = EntityId::new(&name, key.clone()) {
            prop_assert_eq!(id.key(), key.as_str());
            prop_assert_eq!(id.to_string().parse::<EntityId>(), Ok(id.clone()));
        }
    }
}

/// The mutations start from documents that decode, so the round trips are exercised.
#[test]
fn every_valid_document_decodes() {
    for document in valid_documents() {
        let decodes = serde_json::from_value::<HistoryEvent>(document.clone()).is_ok()
            || serde_json::from_value::<OrchestrationMessage>(document.clone()).is_ok()
            || serde_json::from_value::<EntityMessage>(document.clone()).is_ok()
            || serde_json::from_value::<EntityRecord>(document.clone()).is_ok();
        assert!(decodes, "{document}");
    }
}
