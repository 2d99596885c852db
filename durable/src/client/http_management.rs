//! The management URLs of an instance (`CreateHttpManagementPayload` in C#): absolute URLs of
//! Azure's HTTP API for it, carrying the task hub, the connection and, when keys are on, the
//! system key.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;

use super::DurableOrchestrationClient;

/// Where the management API is served, as clients should reach it.
#[derive(Clone, Default)]
pub(crate) struct Webhook {
    /// Scheme and authority, e.g. `http://localhost:7071`.
    pub(crate) origin: String,
    /// The task hub name.
    pub(crate) hub_name: String,
    /// The connection name (Azure's default is `Storage`).
    pub(crate) connection: String,
    /// The key the URLs carry as `code=`.
    pub(crate) code: Option<String>,
}

/// The path of the management API.
pub(crate) const WEBHOOK_PATH: &str = "/runtime/webhooks/durabletask";

/// What a URL component keeps unescaped: RFC 3986's unreserved characters.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Percent-encodes one URL component.
pub(crate) fn encode(component: &str) -> String {
    utf8_percent_encode(component, COMPONENT).to_string()
}

/// The URLs to manage one instance (`HttpManagementPayload` in C#), with Azure's field names.
/// `{eventName}` and `{text}` are placeholders for the caller to fill in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpManagementPayload {
    /// The instance id.
    pub id: String,
    /// `GET` it for the instance's status.
    pub status_query_get_uri: String,
    /// `POST` an event to it (replace `{eventName}`).
    pub send_event_post_uri: String,
    /// `POST` to it to terminate the instance (replace `{text}` with the reason).
    pub terminate_post_uri: String,
    /// `POST` to it to rewind a failed instance (replace `{text}` with the reason).
    pub rewind_post_uri: String,
    /// `DELETE` it to purge the instance's history.
    pub purge_history_delete_uri: String,
    /// `POST` to it to restart the instance.
    pub restart_post_uri: String,
    /// `POST` to it to suspend the instance (replace `{text}` with the reason).
    pub suspend_post_uri: String,
    /// `POST` to it to resume the instance (replace `{text}` with the reason).
    pub resume_post_uri: String,
}

impl Webhook {
    /// The payload for `instance_id`, with URLs under `origin`.
    pub(crate) fn payload(&self, origin: &str, instance_id: &str) -> HttpManagementPayload {
        let instance = format!("{origin}{WEBHOOK_PATH}/instances/{}", encode(instance_id));
        let mut query =
            format!("taskHub={}&connection={}", encode(&self.hub_name), encode(&self.connection));
        if let Some(code) = &self.code {
            query.push_str("&code=");
            query.push_str(&encode(code));
        }
        let with_reason =
            |operation: &str| format!("{instance}/{operation}?reason={{text}}&{query}");
        HttpManagementPayload {
            id: instance_id.to_owned(),
            status_query_get_uri: format!("{instance}?{query}"),
            send_event_post_uri: format!("{instance}/raiseEvent/{{eventName}}?{query}"),
            terminate_post_uri: with_reason("terminate"),
            rewind_post_uri: with_reason("rewind"),
            purge_history_delete_uri: format!("{instance}?{query}"),
            restart_post_uri: format!("{instance}/restart?{query}"),
            suspend_post_uri: with_reason("suspend"),
            resume_post_uri: with_reason("resume"),
        }
    }
}

impl DurableOrchestrationClient {
    /// The management URLs of an instance, under the address the app serves
    /// (`CreateHttpManagementPayload` in C#): absolute, carrying `taskHub`, `connection` and,
    /// when keys are on, the system key as `code`.
    ///
    /// ```no_run
    /// # async fn example(client: durable::DurableOrchestrationClient) {
    /// let payload = client.create_http_management_payload("order-42");
    /// assert!(payload.status_query_get_uri.contains("/runtime/webhooks/durabletask/instances/order-42?taskHub="));
    /// # }
    /// ```
    pub fn create_http_management_payload(&self, instance_id: &str) -> HttpManagementPayload {
        self.webhook.payload(&self.webhook.origin, instance_id)
    }

    /// The same payload under another origin (the one a request came in on).
    pub(crate) fn http_management_payload_at(
        &self,
        origin: &str,
        instance_id: &str,
    ) -> HttpManagementPayload {
        self.webhook.payload(origin, instance_id)
    }

    /// The same client, giving management URLs for this webhook.
    pub(crate) fn with_webhook(self, webhook: Webhook) -> Self {
        DurableOrchestrationClient { webhook: std::sync::Arc::new(webhook), ..self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_azures_templates() {
        let webhook = Webhook {
            origin: "http://localhost:7071".into(),
            hub_name: "TestHubName".into(),
            connection: "Storage".into(),
            code: Some("k/1".into()),
        };
        let payload = webhook.payload("http://h:1", "a b");
        let base = "http://h:1/runtime/webhooks/durabletask/instances/a%20b";
        let query = "taskHub=TestHubName&connection=Storage&code=k%2F1";
        assert_eq!(payload.status_query_get_uri, format!("{base}?{query}"));
        assert_eq!(payload.send_event_post_uri, format!("{base}/raiseEvent/{{eventName}}?{query}"));
        assert_eq!(payload.terminate_post_uri, format!("{base}/terminate?reason={{text}}&{query}"));
        assert_eq!(payload.restart_post_uri, format!("{base}/restart?{query}"));
    }
}
