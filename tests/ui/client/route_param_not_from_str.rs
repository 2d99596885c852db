use durable::prelude::*;

struct Id(u32);

#[http_trigger(route = "items/{id}")]
async fn item(id: Id) -> HttpResponse {
    let _ = id.0;
    HttpResponse::new(StatusCode::OK)
}

fn main() {}
