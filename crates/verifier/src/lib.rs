//! Offline verification of Llavero credentials.
#![forbid(unsafe_code)]
