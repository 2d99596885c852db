use durable::prelude::*;

#[http_trigger(route = "start/{function_name}")]
async fn start(starter: DurableOrchestrationClient, function_name: String) -> HttpResponse {
    let _ = (starter, function_name);
    HttpResponse::new(StatusCode::OK)
}

#[timer_trigger(schedule = "0 0 * * * *")]
async fn hourly(timer: TimerInfo, starter: DurableOrchestrationClient) {
    let _ = (timer, starter);
}

fn main() {}
