//! The Azure Durable Functions C# samples, ported to `durable`. Each module names the C# file
//! it ports (from `samples/precompiled` of Azure/azure-functions-durable-extension) and keeps
//! its function names, so the same orchestrations can be started by the same names.
//!
//! Run the app with `cargo run -p durable-examples -- start E1_HelloSequence`.

pub mod backup_site_content;
pub mod hello_sequence;
