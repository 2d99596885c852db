#![doc = include_str!("../README.md")]

// Lets this crate's own tests and doc examples use the macros, whose output names `::durable`.
extern crate self as durable;

pub mod activity;
pub mod app;
pub mod backend;
pub mod client;
pub mod clock;
pub mod entity;
pub mod error;
pub mod function;
pub mod history;
pub mod http;
pub mod logging;
pub mod orchestration;
pub mod registry;
mod telemetry;
pub mod testing;
pub mod timer_trigger;
mod worker;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use activity::{ActivityHandle, DurableActivityContext};
pub use app::{Error, FunctionApp, RunningApp, app_setting};
pub use client::{
    CleanEntityStorageResult, EntityQuery, EntityQueryResult, EntityStatus,
    OrchestrationStatusQueryCondition, OrchestrationStatusQueryResult, PurgeHistoryResult,
    StartOrchestrationOptions,
};
pub use client::{DurableError, DurableOrchestrationClient, DurableOrchestrationStatus};
pub use durable_macros::{
    activity_trigger, entity_trigger, http_trigger, orchestration_client, orchestration_trigger,
    timer_trigger,
};
pub use entity::{DurableEntityContext, EntityError, EntityId};
pub use error::{FunctionFailed, InputError};
pub use function::{EntityChannel, EntityType};
pub use history::{
    FailureDetails, FailureKind, Limit, LimitExceeded, Limits, OrchestrationRuntimeStatus,
};
pub use http::{AuthLevel, HttpRequest, HttpResponse, StatusCode};
pub use orchestration::{
    DurableFuture, DurableOrchestrationContext, DurableTask, EntityLock, OrchestratorHandle,
    RetryOptions, when_all, when_any,
};
pub use timer_trigger::TimerInfo;
pub use worker::{RuntimeStats, WorkerOptions};

/// Everything a function app needs: `use durable::prelude::*;`.
pub mod prelude {
    pub use crate::{
        ActivityHandle, AuthLevel, DurableActivityContext, DurableEntityContext, DurableError,
        DurableFuture, DurableOrchestrationClient, DurableOrchestrationContext,
        DurableOrchestrationStatus, DurableTask, EntityError, EntityId, EntityLock, EntityType,
        FailureDetails, FailureKind, FunctionFailed, HttpRequest, HttpResponse, InputError,
        OrchestrationRuntimeStatus, OrchestratorHandle, RetryOptions, StatusCode, TimerInfo,
        activity_trigger, entity_trigger, http_trigger, orchestration_client,
        orchestration_trigger, timer_trigger, when_all, when_any,
    };
}
