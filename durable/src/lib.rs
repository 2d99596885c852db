#![doc = include_str!("../README.md")]

// Lets this crate's own tests and doc examples use the macros, whose output names `::durable`.
extern crate self as durable;

pub mod activity;
pub mod app;
pub mod backend;
pub mod client;
pub mod clock;
pub mod error;
pub mod history;
pub mod logging;
pub mod orchestration;
pub mod registry;
pub mod testing;
mod worker;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use activity::{ActivityHandle, DurableActivityContext};
pub use app::{Error, FunctionApp, RunningApp};
pub use client::{DurableError, DurableOrchestrationClient, DurableOrchestrationStatus};
pub use client::{
    OrchestrationStatusQueryCondition, OrchestrationStatusQueryResult, PurgeHistoryResult,
};
pub use durable_macros::{activity_trigger, orchestration_trigger};
pub use error::{FunctionFailed, InputError};
pub use history::{FailureDetails, OrchestrationRuntimeStatus};
pub use orchestration::{
    DurableFuture, DurableOrchestrationContext, DurableTask, OrchestratorHandle, RetryOptions,
    when_all, when_any,
};
pub use worker::{RuntimeStats, WorkerOptions};

/// Everything a function app needs: `use durable::prelude::*;`.
pub mod prelude {
    pub use crate::{
        ActivityHandle, DurableActivityContext, DurableError, DurableFuture,
        DurableOrchestrationClient, DurableOrchestrationContext, DurableOrchestrationStatus,
        DurableTask, FailureDetails, FunctionFailed, InputError, OrchestrationRuntimeStatus,
        OrchestratorHandle, RetryOptions, activity_trigger, orchestration_trigger, when_all,
        when_any,
    };
}
