use durable::prelude::*;

#[orchestration_trigger(name = "E1_HelloSequence")]
impl Default for Sequence {
    fn default() -> Self {
        Sequence
    }
}

struct Sequence;

fn main() {}
