//! Integration tests of the credential formats, one module per area.
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
mod sd_jwt_attacks;
mod sd_jwt_properties;
mod sd_jwt_vectors;
mod status_lists;
mod vc_jose_cose;
mod vcdm_rules;
