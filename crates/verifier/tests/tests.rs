//! Integration tests of the verifier.
