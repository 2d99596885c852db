//! Instance queries and purges: what [`Backend::list_instances`](super::Backend::list_instances)
//! and [`Backend::purge_instances`](super::Backend::purge_instances) take and return, and the
//! continuation-token format every backend shares.
//!
//! A listing is ordered by `(created_at, instance_id)`, and a continuation token holds the key
//! of the last instance of the page it ends: the next page starts strictly after it. Paging is
//! thus stable under concurrent writes: an instance that exists when the listing starts and
//! still matches is returned exactly once, and instances created meanwhile may appear on a
//! later page (they sort last, created now) but never shift the others.

use chrono::{DateTime, Utc};

use super::{BackendError, InstanceRecord, Result};
use crate::history::OrchestrationRuntimeStatus;

/// The page size of a listing when none is given (Azure's `PageSize` default).
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// What starts the id of every entity instance (`@name@key`), and of no orchestration's: an
/// orchestration instance id never starts with it.
pub const ENTITY_ID_PREFIX: char = '@';

/// Which kind of instance a listing returns: orchestrations and entities are instances
/// alike in the store, told apart by the [`ENTITY_ID_PREFIX`] of entity ids.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InstanceKind {
    /// Every instance.
    #[default]
    All,
    /// Orchestration instances only (ids not starting with `@`).
    Orchestrations,
    /// Entity instances only (ids starting with `@`).
    Entities,
}

/// The statuses of finished instances: the only ones a purge deletes.
pub const PURGEABLE_STATUSES: [OrchestrationRuntimeStatus; 4] = [
    OrchestrationRuntimeStatus::Completed,
    OrchestrationRuntimeStatus::Failed,
    OrchestrationRuntimeStatus::Canceled,
    OrchestrationRuntimeStatus::Terminated,
];

/// Which instances [`Backend::list_instances`](super::Backend::list_instances) returns, and
/// from where. Every filter is optional; they combine with *and*.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceQuery {
    /// Only instances with one of these statuses; empty for every status.
    pub runtime_status: Vec<OrchestrationRuntimeStatus>,
    /// Only instances created at or after this time.
    pub created_from: Option<DateTime<Utc>>,
    /// Only instances created at or before this time.
    pub created_to: Option<DateTime<Utc>>,
    /// Only instances whose id starts with this (case-sensitive); `None` or empty for all.
    pub instance_id_prefix: Option<String>,
    /// Only instances last updated at or after this time.
    pub updated_from: Option<DateTime<Utc>>,
    /// Only instances last updated at or before this time.
    pub updated_to: Option<DateTime<Utc>>,
    /// Only orchestrations, or only entities; [`InstanceKind::All`] by default.
    pub kind: InstanceKind,
    /// The most instances a page holds; at least 1. [`DEFAULT_PAGE_SIZE`] by default.
    pub page_size: usize,
    /// Where to continue: the token of the previous page, or `None` for the first page. Pass
    /// the same filters with it.
    pub continuation_token: Option<String>,
}

impl Default for InstanceQuery {
    fn default() -> Self {
        InstanceQuery {
            runtime_status: Vec::new(),
            created_from: None,
            created_to: None,
            instance_id_prefix: None,
            updated_from: None,
            updated_to: None,
            kind: InstanceKind::All,
            page_size: DEFAULT_PAGE_SIZE,
            continuation_token: None,
        }
    }
}

impl InstanceQuery {
    /// Checks the query and decodes its continuation token; `None` for the first page.
    ///
    /// Errors with [`BackendError::InvalidQuery`] when the page size is 0 or the token is
    /// malformed.
    pub(crate) fn validate(&self) -> Result<Option<PageKey>> {
        if self.page_size == 0 {
            return Err(BackendError::InvalidQuery {
                message: "the page size must be at least 1".to_owned(),
            });
        }
        self.continuation_token.as_deref().map(PageKey::decode).transpose()
    }

    /// The instance id prefix, when it filters anything.
    pub(crate) fn prefix(&self) -> Option<&str> {
        self.instance_id_prefix.as_deref().filter(|p| !p.is_empty())
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct InstancePage {
    /// The instances, ordered by creation time, then id.
    pub instances: Vec<InstanceRecord>,
    /// The token to fetch the next page with; `None` when this is the last page.
    pub continuation_token: Option<String>,
}

/// Which instances [`Backend::purge_instances`](super::Backend::purge_instances) deletes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PurgeFilter {
    /// One instance, by id. Deletes nothing (returns 0) when there is no such instance, and
    /// errors with [`BackendError::InstanceNotFinished`] when it has not finished.
    Instance(String),
    /// Every finished orchestration instance created in a range, optionally only with some
    /// statuses. Unfinished instances in the range are skipped, as Azure does, and so are
    /// entities (ids starting with [`ENTITY_ID_PREFIX`]), which Azure keeps apart.
    Created {
        /// Only instances created at or after this time.
        created_from: Option<DateTime<Utc>>,
        /// Only instances created at or before this time.
        created_to: Option<DateTime<Utc>>,
        /// Only instances with one of these statuses, which must all be among
        /// [`PURGEABLE_STATUSES`]; empty for all of those.
        runtime_status: Vec<OrchestrationRuntimeStatus>,
        /// Only instances last updated (for a finished one: when it finished) at or before
        /// this time.
        finished_before: Option<DateTime<Utc>>,
        /// At most this many instances (any of those that match); all when `None`. A purge
        /// of many is done in such chunks, each its own short write.
        limit: Option<usize>,
    },
    /// One entity instance, whatever its status, provided it is idle: deleted only while its
    /// current execution is still `execution_id` (no turn committed since the caller read
    /// it) and no message waits in its inbox. Deletes nothing (returns 0) otherwise, or when
    /// there is no such instance.
    IdleEntity {
        /// The entity's instance id (`@name@key`).
        instance_id: String,
        /// The execution the caller found idle.
        execution_id: String,
    },
    /// Every instance of the task hub, finished or not, entities too, with everything stored
    /// for them (`func durable delete-task-hub`). Dispatchers lose their locks and leases.
    Everything,
}

impl PurgeFilter {
    /// Checks the filter.
    ///
    /// Errors with [`BackendError::InvalidQuery`] when the statuses name one of an
    /// unfinished instance (such instances are never purged, so the filter is a mistake).
    pub(crate) fn validate(&self) -> Result<()> {
        if let PurgeFilter::Created { runtime_status, .. } = self
            && let Some(status) = runtime_status.iter().find(|s| !s.is_terminal())
        {
            return Err(BackendError::InvalidQuery {
                message: format!(
                    "cannot purge {status} instances: only Completed, Failed, Canceled and \
                     Terminated instances can be purged"
                ),
            });
        }
        Ok(())
    }

    /// The statuses to purge: those named, or every purgeable one.
    pub(crate) fn statuses(&self) -> Vec<OrchestrationRuntimeStatus> {
        match self {
            PurgeFilter::Created { runtime_status, .. } if !runtime_status.is_empty() => {
                let mut statuses = runtime_status.clone();
                statuses.sort_by_key(|s| s.as_str());
                statuses.dedup();
                statuses
            }
            _ => PURGEABLE_STATUSES.to_vec(),
        }
    }
}

/// The position a continuation token stands for: the sort key of the last instance returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PageKey {
    /// The instance's creation time.
    pub(crate) created_at: DateTime<Utc>,
    /// The instance id.
    pub(crate) instance_id: String,
}

/// Marks the token format, so a later format can tell old tokens apart.
const TOKEN_VERSION: &str = "v1.";

impl PageKey {
    /// The key of a record.
    pub(crate) fn of(record: &InstanceRecord) -> PageKey {
        PageKey { created_at: record.created_at, instance_id: record.instance_id.clone() }
    }

    /// Encodes the key as a token: `v1.` then the hex of the JSON array
    /// `[created_at (RFC 3339), instance_id]`, so it is safe in URLs and HTTP headers.
    pub(crate) fn encode(&self) -> String {
        let json = serde_json::json!([
            self.created_at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            self.instance_id
        ])
        .to_string();
        let mut token = String::with_capacity(TOKEN_VERSION.len() + 2 * json.len());
        token.push_str(TOKEN_VERSION);
        for byte in json.bytes() {
            token.push(char::from(HEX[usize::from(byte >> 4)]));
            token.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        token
    }

    /// Decodes a token made by [`PageKey::encode`].
    ///
    /// Errors with [`BackendError::InvalidQuery`] for anything else.
    pub(crate) fn decode(token: &str) -> Result<PageKey> {
        let invalid = |why: &str| BackendError::InvalidQuery {
            message: format!("malformed continuation token: {why}"),
        };
        let hex = token.strip_prefix(TOKEN_VERSION).ok_or_else(|| invalid("unknown format"))?;
        if hex.len() % 2 != 0 {
            return Err(invalid("odd length"));
        }
        let bytes = hex
            .as_bytes()
            .chunks(2)
            .map(|pair| match pair {
                [high, low] => Some(hex_value(*high)? << 4 | hex_value(*low)?),
                _ => None,
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| invalid("not hexadecimal"))?;
        let (created_at, instance_id): (String, String) =
            serde_json::from_slice(&bytes).map_err(|_| invalid("unreadable position"))?;
        let created_at = DateTime::parse_from_rfc3339(&created_at)
            .map_err(|_| invalid("unreadable time"))?
            .with_timezone(&Utc);
        if instance_id.is_empty() {
            return Err(invalid("empty instance id"));
        }
        Ok(PageKey { created_at, instance_id })
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// How many instances one write of a purge by filter deletes.
pub const PURGE_CHUNK: usize = 500;

/// Runs a purge by filter in chunks of [`PURGE_CHUNK`] instances, each its own short write,
/// so that a purge of many never holds the store's writer for long; any other purge runs
/// as one. Returns how many instances were deleted in all; `progress` hears the count so far
/// after each chunk.
pub async fn purge_in_chunks(
    backend: &dyn super::Backend,
    filter: &PurgeFilter,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<u64> {
    let PurgeFilter::Created { limit: None, .. } = filter else {
        return backend.purge_instances(filter).await;
    };
    let mut chunk = filter.clone();
    if let PurgeFilter::Created { limit, .. } = &mut chunk {
        *limit = Some(PURGE_CHUNK);
    }
    let mut deleted = 0;
    loop {
        let purged = backend.purge_instances(&chunk).await?;
        deleted += purged;
        progress(deleted);
        if purged < PURGE_CHUNK as u64 {
            return Ok(deleted);
        }
        // Let the writers in between two chunks.
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        let key = PageKey {
            created_at: DateTime::parse_from_rfc3339("2026-01-01T00:00:00.123456789Z")
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default(),
            instance_id: "id with \"quotes\" and ü".to_owned(),
        };
        let token = key.encode();
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.'));
        assert_eq!(PageKey::decode(&token).ok(), Some(key));
    }

    #[test]
    fn malformed_tokens_are_rejected() {
        let valid = PageKey { created_at: Utc::now(), instance_id: "x".to_owned() }.encode();
        for token in [
            "",
            "v1.",
            "v2.00",
            "v1.0",
            "v1.zz",
            &valid[..valid.len() - 2],
            "v1.5b22222c22225d", // ["",""]
            "v1.5b5d",           // []
        ] {
            assert!(
                matches!(PageKey::decode(token), Err(BackendError::InvalidQuery { .. })),
                "{token:?}"
            );
        }
    }

    #[test]
    fn purge_filters_refuse_unfinished_statuses() {
        let filter = PurgeFilter::Created {
            created_from: None,
            created_to: None,
            runtime_status: vec![
                OrchestrationRuntimeStatus::Completed,
                OrchestrationRuntimeStatus::Running,
            ],
            finished_before: None,
            limit: None,
        };
        let error = filter.validate().err().map(|e| e.to_string());
        assert!(error.as_deref().is_some_and(|e| e.contains("Running")), "{error:?}");
    }

    proptest::proptest! {
        #[test]
        fn any_token_decodes_or_is_refused(
            token in "(v1\\.)?[0-9a-fA-F]{0,80}|.{0,40}",
            hex_of in crate::history::fuzz_tests::json(),
        ) {
            let hex_token = PageKey { created_at: Utc::now(), instance_id: "x".to_owned() }
                .encode()
                .get(..3)
                .map(|prefix| {
                    let json = hex_of.to_string();
                    let hex: String = json.bytes().map(|b| format!("{b:02x}")).collect();
                    format!("{prefix}{hex}")
                })
                .unwrap_or_default();
            for token in [token, hex_token] {
                match PageKey::decode(&token) {
                    Ok(key) => proptest::prop_assert_eq!(PageKey::decode(&key.encode()).ok(), Some(key)),
                    Err(error) => proptest::prop_assert!(
                        matches!(error, BackendError::InvalidQuery { .. }),
                        "{error:?}"
                    ),
                }
            }
        }

        /// Any position RFC 3339 can write: years 0000 to 9999 (creation times come from the
        /// clock).
        #[test]
        fn tokens_of_any_position_round_trip(
            seconds in -62_167_219_200i64..253_402_300_800,
            nanos in 0u32..1_000_000_000,
            instance_id in ".+",
        ) {
            let created_at = DateTime::from_timestamp(seconds, nanos);
            proptest::prop_assume!(created_at.is_some());
            let key = PageKey { created_at: created_at.unwrap_or_default(), instance_id };
            proptest::prop_assert_eq!(PageKey::decode(&key.encode()).ok(), Some(key));
        }
    }
}
