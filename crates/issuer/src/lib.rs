//! Llavero's issuer service: agencies (the civil registry, the licensing authority, the
//! criminal-records office…) issue citizens verifiable versions of their public documents over
//! OpenID4VCI 1.0, as SD-JWT VC and W3C `vc+jwt`, with revocation and suspension published in
//! status lists any relying party can cache and check offline.
//!
//! Like the identity provider, the service is stateless: offers, nonces, issued credentials and
//! status allocations live in the shared database.

#![forbid(unsafe_code)]

pub mod proof;
pub mod qr;
pub mod types;
