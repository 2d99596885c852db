//! Listing entities page by page (`ListEntitiesAsync` in C#) and cleaning entity storage
//! (`CleanEntityStorageAsync`): removing entities that hold nothing and releasing locks whose
//! owner is gone.

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::{DurableError, DurableOrchestrationClient};
use crate::backend::{
    DEFAULT_PAGE_SIZE, ENTITY_ID_PREFIX, InstanceKind, InstanceQuery, InstanceRecord, PurgeFilter,
};
use crate::entity::{EntityId, EntityMessage, EntityRecord, LockRelease};

/// Which entities [`DurableOrchestrationClient::list_entities`] returns (`EntityQuery` in
/// C#). Every filter is optional; they combine with *and*. `Default` lists every entity that
/// has a state, 100 per page, without their states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityQuery {
    /// Only entities of this name (any case; the whole name, as Azure's `EntityName`).
    pub entity_name: Option<String>,
    /// Only entities whose last operation ran at or after this time.
    pub last_operation_from: Option<DateTime<Utc>>,
    /// Only entities whose last operation ran at or before this time.
    pub last_operation_to: Option<DateTime<Utc>>,
    /// The most entities a page holds; at least 1, 100 by default. A page may hold fewer
    /// even when more follow (entities without a state are left out of pages): check
    /// [`EntityQueryResult::continuation_token`].
    pub page_size: usize,
    /// The token of the previous page, to fetch the next one with the same filters; `None`
    /// for the first page.
    pub continuation_token: Option<String>,
    /// Whether the results carry each entity's state (`false` by default).
    pub fetch_state: bool,
    /// Whether entities without a state (never given one, or deleted) are listed too
    /// (`false` by default).
    pub include_deleted: bool,
}

impl Default for EntityQuery {
    fn default() -> Self {
        EntityQuery {
            entity_name: None,
            last_operation_from: None,
            last_operation_to: None,
            page_size: DEFAULT_PAGE_SIZE,
            continuation_token: None,
            fetch_state: false,
            include_deleted: false,
        }
    }
}

/// One page of entities (`EntityQueryResult` in C#).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityQueryResult {
    /// The entities, ordered by creation time, then id.
    pub entities: Vec<EntityStatus>,
    /// Pass it as [`EntityQuery::continuation_token`] to fetch the next page; `None` when
    /// this is the last one.
    pub continuation_token: Option<String>,
}

/// An entity as a listing shows it (`DurableEntityStatus` in C#); serializes as Azure's HTTP
/// API shows it: `{"entityId": {"name": …, "key": …}, "lastOperationTime": …, "state": …}`,
/// then `lockedBy` (when locked) and `backlog`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityStatus {
    /// The entity.
    #[serde(serialize_with = "name_and_key")]
    pub entity_id: EntityId,
    /// When its last operation batch committed.
    pub last_operation_time: DateTime<Utc>,
    /// Its state, when it has one and the query asked for states.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<Value>,
    /// The orchestration instance whose critical section holds its lock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_by: Option<String>,
    /// How many messages it has received that wait to run (behind the lock, or for its
    /// next batch).
    pub backlog: usize,
}

/// Writes an entity id as Azure's JSON does: `{"name": …, "key": …}`.
fn name_and_key<S: Serializer>(id: &EntityId, serializer: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct NameAndKey<'a> {
        name: &'a str,
        key: &'a str,
    }
    NameAndKey { name: id.name(), key: id.key() }.serialize(serializer)
}

/// What [`DurableOrchestrationClient::clean_entity_storage`] did
/// (`CleanEntityStorageResult` in C#).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CleanEntityStorageResult {
    /// How many entities without state, lock or waiting messages were removed.
    pub num_of_empty_entities_removed: u64,
    /// How many locks held for orchestrations that no longer run were released.
    pub num_of_orphaned_locks_removed: u64,
}

/// An entity instance read from the store.
struct StoredEntity {
    id: EntityId,
    instance: InstanceRecord,
    record: EntityRecord,
}

impl StoredEntity {
    fn read(instance: InstanceRecord) -> Result<Self, DurableError> {
        let id: EntityId = instance.instance_id.parse()?;
        let record = EntityRecord::read(&instance.input).map_err(|source| {
            DurableError::EntityState { entity_id: instance.instance_id.clone(), source }
        })?;
        Ok(StoredEntity { id, instance, record })
    }

    fn status(self, fetch_state: bool) -> EntityStatus {
        EntityStatus {
            state: self.record.state().filter(|_| fetch_state).cloned(),
            locked_by: self.record.lock.map(|lock| lock.owner),
            backlog: self.record.backlog.len() + self.record.queue.len(),
            last_operation_time: self.instance.last_updated_at,
            entity_id: self.id,
        }
    }

    /// Holds nothing: no state, no lock, nothing waiting.
    fn is_empty(&self) -> bool {
        self.record.state().is_none()
            && self.record.lock.is_none()
            && self.record.backlog.is_empty()
            && self.record.queue.is_empty()
    }
}

impl DurableOrchestrationClient {
    /// Lists one page of the entities matching `query` (`ListEntitiesAsync` in C#), ordered
    /// by creation time, then id. Follow the result's continuation token for the next page.
    ///
    /// Errors with [`DurableError::InvalidQuery`] when the page size is 0 or the continuation
    /// token is malformed, and with [`DurableError::InvalidEntityId`] for an entity name
    /// containing `@`.
    pub async fn list_entities(
        &self,
        query: &EntityQuery,
    ) -> Result<EntityQueryResult, DurableError> {
        let prefix = match &query.entity_name {
            Some(name) => {
                let any = EntityId::new(name, "")?;
                format!("{ENTITY_ID_PREFIX}{}{ENTITY_ID_PREFIX}", any.name())
            }
            None => ENTITY_ID_PREFIX.to_string(),
        };
        let instances = InstanceQuery {
            instance_id_prefix: Some(prefix),
            updated_from: query.last_operation_from,
            updated_to: query.last_operation_to,
            kind: InstanceKind::Entities,
            page_size: query.page_size,
            continuation_token: query.continuation_token.clone(),
            ..InstanceQuery::default()
        };
        let page =
            self.backend.list_instances(&instances).await.map_err(super::query::query_error)?;
        let mut entities = Vec::with_capacity(page.instances.len());
        for instance in page.instances {
            let entity = StoredEntity::read(instance)?;
            if query.include_deleted || entity.record.state().is_some() {
                entities.push(entity.status(query.fetch_state));
            }
        }
        Ok(EntityQueryResult { entities, continuation_token: page.continuation_token })
    }

    /// Cleans the entity storage (`CleanEntityStorageAsync` in C#): with
    /// `remove_empty_entities`, deletes every entity that has no state, holds no lock and has
    /// no message waiting (one that receives a message or runs meanwhile is kept); with
    /// `release_orphaned_locks`, sends every entity locked for an orchestration instance that
    /// no longer exists or has finished the release of that lock, which the entity applies
    /// at its next turn (then running the messages the lock held back).
    pub async fn clean_entity_storage(
        &self,
        remove_empty_entities: bool,
        release_orphaned_locks: bool,
    ) -> Result<CleanEntityStorageResult, DurableError> {
        let mut result = CleanEntityStorageResult::default();
        let mut query = InstanceQuery {
            instance_id_prefix: Some(ENTITY_ID_PREFIX.to_string()),
            kind: InstanceKind::Entities,
            ..InstanceQuery::default()
        };
        loop {
            let page =
                self.backend.list_instances(&query).await.map_err(super::query::query_error)?;
            for instance in page.instances {
                let entity = StoredEntity::read(instance)?;
                if remove_empty_entities && entity.is_empty() {
                    let idle = PurgeFilter::IdleEntity {
                        instance_id: entity.instance.instance_id.clone(),
                        execution_id: entity.instance.execution_id.clone(),
                    };
                    result.num_of_empty_entities_removed +=
                        self.backend.purge_instances(&idle).await?;
                }
                if release_orphaned_locks && self.release_if_orphaned(&entity).await? {
                    result.num_of_orphaned_locks_removed += 1;
                }
            }
            match page.continuation_token {
                Some(token) => query.continuation_token = Some(token),
                None => return Ok(result),
            }
        }
    }

    /// Sends the entity the release of its lock when the lock's owner no longer exists or
    /// has finished; whether it did.
    async fn release_if_orphaned(&self, entity: &StoredEntity) -> Result<bool, DurableError> {
        let Some(lock) = &entity.record.lock else {
            return Ok(false);
        };
        let owner = self.backend.get_instance(&lock.owner).await?;
        if owner.is_some_and(|owner| !owner.runtime_status.is_terminal()) {
            return Ok(false);
        }
        let release = EntityMessage::Release(LockRelease {
            owner: lock.owner.clone(),
            request_id: lock.request_id.clone(),
            chain: false,
        });
        let message = release.to_message(&entity.id, None, self.clock.now());
        self.backend.send_message(message).await?;
        Ok(true)
    }

    /// Refuses an entity name no entity function of this app answers to, with Azure's words.
    pub(crate) fn check_entity_registered(&self, name: &str) -> Result<(), DurableError> {
        if self.registry.entity(name).is_some() {
            return Ok(());
        }
        Err(DurableError::UnknownEntity {
            name: name.to_owned(),
            known: self.registry.entity_names(),
        })
    }
}
