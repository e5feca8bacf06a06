//! The `llavero` service and command line as a library, so the binary stays a few lines and
//! tests drive the same router and commands in-process.
//!
//! The server owns configuration, wiring and the CLI; all credential logic lives in
//! `llavero-credentials` and `llavero-verifier`.

#![forbid(unsafe_code)]

pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
pub mod error_report;
pub mod files;
pub mod http;
pub mod identity;
pub mod issuance;
pub mod listen;
pub mod presentations;
pub mod wallet;
