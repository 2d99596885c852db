use durable::prelude::*;

#[activity_trigger]
async fn echo<T: serde::de::DeserializeOwned>(value: T) -> T {
    value
}

#[activity_trigger]
async fn show(value: u32) -> String
where
    u32: std::fmt::Display,
{
    value.to_string()
}

fn main() {}
