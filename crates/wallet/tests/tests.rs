//! Integration tests of the wallet service: Llavero's issuer and identity provider run
//! in-process as the other side, reached through the wallet's outbound HTTP seam.

// Test code: panics are how tests fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::single_match_else,
    clippy::doc_markdown,
    missing_docs,
    unreachable_pub
)]

#[path = "../../issuer/tests/harness/mod.rs"]
mod harness;

mod support;

mod attacks;
mod presenting;
mod receiving;
