use durable::prelude::*;

#[activity_trigger]
const fn one() -> u32 {
    1
}

#[activity_trigger]
unsafe fn two() -> u32 {
    2
}

#[activity_trigger]
extern "C" fn three() -> u32 {
    3
}

fn main() {}
