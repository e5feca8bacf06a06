//! The llavero binary.
fn main() {}
