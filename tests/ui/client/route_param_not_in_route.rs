use durable::prelude::*;

#[http_trigger(route = "orchestrators/{function_name}/{instance_id?}")]
async fn start(req: HttpRequest, function: String) -> HttpResponse {
    let _ = (req, function);
    HttpResponse::new(StatusCode::OK)
}

#[http_trigger(route = "ping")]
async fn ping(count: u32) -> HttpResponse {
    let _ = count;
    HttpResponse::new(StatusCode::OK)
}

fn main() {}
