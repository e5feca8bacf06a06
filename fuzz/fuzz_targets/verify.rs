//! The verifier's one entry point on arbitrary input, with the fixture's bundle loaded: every
//! input gets a verdict, with or without key binding expected, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use llavero_fuzz::fixture::{AUD, NONCE, NOW};
use llavero_fuzz::world;
use llavero_verifier::Expectations;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let verifier = &world().verifier;
    let _ = verifier.verify(input, NOW, &Expectations::default());
    let _ = verifier.verify(input, NOW, &Expectations::key_binding(AUD, NONCE));
});
