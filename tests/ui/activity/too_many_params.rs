use durable::prelude::*;

#[activity_trigger]
async fn say_hello(context: DurableActivityContext, name: String, greeting: String) -> String {
    format!("{greeting} {name} from {}!", context.instance_id())
}

fn main() {}
