//! The civil registry anchor: a person exists because the registry says so, keyed by a RUN
//! with a valid check digit.

mod csv_records;
pub mod demo;
pub mod import;
pub mod record;
pub use llavero_platform::run::{Run, RunError};
