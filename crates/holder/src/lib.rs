//! # Llavero holder
//!
//! The holder's side, as pure functions a phone app or the citizen's wallet service can call:
//! OpenID4VCI credential offers parsed into plain values ([`offer`]), proof-of-possession JWTs
//! ([`proof`]), and presentations of held credentials ([`present`]). Keys stay wherever the
//! caller keeps them: everything signs through [`llavero_credentials::crypto::Signer`], which a
//! phone implements over its secure hardware ([`signature::from_platform`] turns the DER
//! signatures those keystores return into JOSE's `R || S`).

#![forbid(unsafe_code)]

pub mod dcql;
pub mod offer;
pub mod present;
pub mod proof;
pub mod signature;
