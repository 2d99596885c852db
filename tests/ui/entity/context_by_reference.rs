use durable::prelude::*;

#[entity_trigger]
async fn counter(ctx: &DurableEntityContext, extra: u32) {
    let _ = (ctx, extra);
}

fn main() {}
