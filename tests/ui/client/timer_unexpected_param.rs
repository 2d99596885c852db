use durable::prelude::*;

#[orchestration_client]
#[timer_trigger(schedule = "0 0 * * * *")]
async fn hourly(timer: TimerInfo, req: HttpRequest, starter: DurableOrchestrationClient, count: u32) {
    let _ = (timer, req, starter, count);
}

#[timer_trigger(schedule = "0 0 * * * *")]
async fn by_reference(timer: &TimerInfo) -> u32 {
    let _ = timer;
    0
}

fn main() {}
