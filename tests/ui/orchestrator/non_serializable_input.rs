use durable::prelude::*;

struct Trip {
    cities: Vec<String>,
}

#[orchestration_trigger]
async fn greet_trip(context: DurableOrchestrationContext, trip: Trip) -> usize {
    let _ = context;
    trip.cities.len()
}

fn main() {}
