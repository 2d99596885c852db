//! Every accepted activity form: input, context, nothing; async and plain fns; values,
//! `()`, and `Result`s with a custom `Display` error.

use std::fmt;

use durable::ActivityHandle;
use durable::prelude::*;

#[activity_trigger(name = "E1_SayHello")]
async fn say_hello(name: String) -> String {
    format!("Hello {name}!")
}

#[activity_trigger]
async fn with_context(context: DurableActivityContext) -> Result<String, InputError> {
    let name: String = context.get_input()?;
    Ok(format!("{name} from {}", context.instance_id()))
}

#[activity_trigger(name = "Limited", max_concurrency = 4)]
async fn limited(value: u32) -> u32 {
    value
}

#[activity_trigger(max_concurrency = 1_000)]
async fn no_input() -> u32 {
    42
}

#[activity_trigger]
fn sync_double(value: u64) -> u64 {
    value * 2
}

#[activity_trigger]
fn sync_unit() {}

#[activity_trigger]
async fn async_unit(_: (String, u32)) -> () {}

#[derive(Debug)]
struct TooLong(usize);

impl fmt::Display for TooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} characters is too long", self.0)
    }
}

#[activity_trigger]
pub async fn check_length(text: String) -> Result<usize, TooLong> {
    if text.len() > 10 {
        Err(TooLong(text.len()))
    } else {
        Ok(text.len())
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Words(Vec<String>);

#[activity_trigger(name = "Sync-Result")]
pub(crate) fn sync_result(Words(words): Words) -> std::result::Result<Vec<String>, std::io::Error> {
    Ok(words)
}

#[activity_trigger]
fn r#type() -> std::io::Result<bool> {
    Ok(true)
}

fn assert_handle<H: ActivityHandle<Input = I, Output = O>, I, O>(_: H, name: &str) {
    assert_eq!(H::NAME, name);
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        // The annotated fns stay directly callable.
        assert_eq!(say_hello("Tokyo".into()).await, "Hello Tokyo!");
        assert_eq!(no_input().await, 42);
        assert_eq!(sync_double(2), 4);
        assert_eq!(
            check_length("a".repeat(11)).await.unwrap_err().to_string(),
            "11 characters is too long"
        );
        async_unit((String::new(), 1)).await;
        sync_unit();
        assert!(r#type().unwrap());
        let context = DurableActivityContext::new("WithContext", "abc", serde_json::json!("Kyoto"));
        assert_eq!(with_context(context).await.unwrap(), "Kyoto from abc");
        assert_eq!(sync_result(Words(vec!["a".into()])).unwrap(), ["a"]);
    });

    assert_handle::<_, String, String>(SayHello, "E1_SayHello");
    assert_handle::<_, serde_json::Value, String>(WithContext, "with_context");
    assert_handle::<_, (), u32>(NoInput, "no_input");
    assert_handle::<_, u64, u64>(SyncDouble, "sync_double");
    assert_handle::<_, (), ()>(SyncUnit, "sync_unit");
    assert_handle::<_, (String, u32), ()>(AsyncUnit, "async_unit");
    assert_handle::<_, String, usize>(CheckLength, "check_length");
    assert_handle::<_, Words, Vec<String>>(SyncResult, "Sync-Result");
    assert_handle::<_, (), bool>(Type, "type");
    // Handles are plain values.
    let handle = SayHello;
    let copy = handle;
    assert_eq!(format!("{:?}", copy.clone()), "SayHello");
    let _ = SayHello::default();
}
