//! # Llavero credentials
//!
//! The data model and wire formats of Llavero's verifiable credentials, as pure functions from
//! bytes to values or typed errors. No sockets, files, databases, system clock reads or OS
//! randomness on the verification path: time comes from a [`time::Clock`], randomness from a
//! [`crypto::SecureRandom`], cryptography from a [`crypto::CryptoBackend`] (ring by default,
//! pure Rust with the `pure-rust` feature), so the crate compiles for phones and tests are
//! deterministic.
//!
//! One standard, one module:
//!
//! | module | standard |
//! |---|---|
//! | [`jwk`], [`jws`] | RFC 7517/7518/7638, RFC 7515 (compact, allow-listed algorithms) |
//! | [`sd_jwt`] | RFC 9901 Selective Disclosure for JWTs |
//! | [`sd_jwt_vc`] | SD-JWT-based Verifiable Credentials (`dc+sd-jwt`) |
//! | [`vc_jwt`] | W3C VC Data Model 2.0 secured with JOSE (`vc+jwt`, `vp+jwt`) |
//! | [`vcdm`] | W3C VC Data Model 2.0 conformance (§4, §5 rules checked offline) |
//! | [`status`] | IETF Token Status List, W3C Bitstring Status List |
//! | [`did`] | `did:jwk`, `did:key` (P-256), `did:web` URL mapping |
//!
//! What it refuses to do: trust a key because a token carries it, accept `alg: none` or HMAC,
//! fetch anything, or read input past the size limits named in each module.

#![forbid(unsafe_code)]

pub mod b64;
pub mod crypto;
pub mod did;
pub mod json;
pub mod jwk;
pub mod jws;
pub mod jwt;
pub mod sd_jwt;
pub mod sd_jwt_vc;
pub mod status;
pub mod time;
pub mod vc_jwt;
pub mod vcdm;
