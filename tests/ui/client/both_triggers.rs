use durable::prelude::*;

#[orchestration_client]
#[http_trigger]
#[timer_trigger(schedule = "0 0 * * * *")]
async fn both(starter: DurableOrchestrationClient) -> HttpResponse {
    let _ = starter;
    HttpResponse::new(StatusCode::OK)
}

#[timer_trigger(schedule = "0 0 * * * *")]
#[http_trigger]
async fn also_both() {}

#[http_trigger]
#[http_trigger(route = "twice")]
async fn twice() -> HttpResponse {
    HttpResponse::new(StatusCode::OK)
}

fn main() {}
