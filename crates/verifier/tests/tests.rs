//! Integration tests of the verifier.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::too_many_lines,
    missing_docs,
    unreachable_pub,
    reason = "test helpers fail loudly on broken fixtures; inputs here are ours"
)]
mod fixture;
mod never_panics;
mod rejections;
mod x509;
