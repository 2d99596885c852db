use durable::prelude::*;

#[entity_trigger]
fn counter(ctx: DurableEntityContext) {
    ctx.delete_state();
}

fn main() {}
