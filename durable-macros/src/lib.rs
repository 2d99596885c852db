//! Trigger attribute macros for `durable`.
use proc_macro::TokenStream;

/// Registers an activity function.
#[proc_macro_attribute]
pub fn activity_trigger(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}

/// Registers an orchestrator function.
#[proc_macro_attribute]
pub fn orchestration_trigger(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}
