use durable::prelude::*;

#[entity_trigger]
async fn counter(ctx: DurableEntityContext) -> i64 {
    ctx.get_state().unwrap_or_default()
}

fn main() {}
