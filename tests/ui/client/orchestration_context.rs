use durable::prelude::*;

#[orchestration_client]
#[http_trigger]
async fn ping(context: DurableOrchestrationContext, req: &mut HttpRequest, starter: &DurableOrchestrationClient) -> HttpResponse {
    let _ = (context, req, starter);
    HttpResponse::new(StatusCode::OK)
}

#[orchestration_client(x)]
#[http_trigger(route = "x", nmae = "y")]
async fn args() -> HttpResponse {
    HttpResponse::new(StatusCode::OK)
}

fn main() {}
