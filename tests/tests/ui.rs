//! Compile tests of the trigger macros: every accepted form compiles, and every rejected form
//! fails with its message on the span the user wrote (`tests/ui/<kind>/*.stderr`; `client` holds
//! the HTTP and timer functions and `#[orchestration_client]`).
//!
//! Regenerate the expected output with `TRYBUILD=overwrite cargo test -p durable-tests --test ui`
//! and review every changed `.stderr`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui/pass/*.rs");
    t.compile_fail("ui/activity/*.rs");
    t.compile_fail("ui/orchestrator/*.rs");
    t.compile_fail("ui/entity/*.rs");
    t.compile_fail("ui/client/*.rs");
}
