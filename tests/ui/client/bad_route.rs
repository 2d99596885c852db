use durable::prelude::*;

#[http_trigger(route = "items/{id:int}")]
async fn constrained(id: u32) -> HttpResponse {
    let _ = id;
    HttpResponse::new(StatusCode::OK)
}

#[http_trigger(route = "items//{id}")]
async fn empty_segment(id: u32) -> HttpResponse {
    let _ = id;
    HttpResponse::new(StatusCode::OK)
}

#[http_trigger(route = "{id?}/items")]
async fn optional_not_last(id: Option<u32>) -> HttpResponse {
    let _ = id;
    HttpResponse::new(StatusCode::OK)
}

#[http_trigger(route = "{id}/{id}")]
async fn duplicate_param(id: u32) -> HttpResponse {
    let _ = id;
    HttpResponse::new(StatusCode::OK)
}

fn main() {}
