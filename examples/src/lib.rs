//! The Azure Durable Functions C# samples, ported to `durable`. Each module names the C# file
//! it ports (from `samples/precompiled` of Azure/azure-functions-durable-extension, or the
//! Durable Functions documentation) and keeps its function names, so the same orchestrations
//! can be started by the same names. Where the originals call Twilio, Weather Underground or
//! blob storage, the ports use local stand-ins, which each module describes.
//!
//! Run the app with `cargo run -p durable-examples -- start E1_HelloSequence`.

pub mod approval_workflow;
pub mod backup_site_content;
pub mod bank_transfer;
pub mod counter;
pub mod counter_class;
pub mod device_provisioning;
pub mod hello_sequence;
pub mod http_start;
pub mod monitor;
pub mod outbox;
pub mod periodic_cleanup;
pub mod phone_verification;
pub mod sms_reminder;
