//! Backstage Inspector's core: everything the CLI (`bsi`) and the desktop app share, and
//! nothing of either. It knows no Tauri and no terminal.
//!
//! Data flows one way: a [`profile::Profile`] (with its password from [`secrets`]) becomes
//! pools in [`connect`]; [`discovery`] reads what each database holds.

pub mod ansi;
pub mod appconfig;
pub mod area;
pub mod auth;
pub mod catalog;
pub mod cloudauth;
pub mod cmdline;
pub mod connect;
pub mod conninfo;
pub mod console;
pub mod crosslinks;
pub mod demo;
mod diagnose;
pub mod discovery;
pub mod doctor;
pub mod eras;
pub mod error;
pub mod export;
pub mod fixes;
pub mod graph;
pub mod installations;
pub mod knex;
pub mod logging;
pub mod migrate;
pub mod overview;
pub mod page;
pub mod profile;
pub mod redact;
pub mod refs;
pub mod scaffolder;
pub mod schema;
pub mod search;
pub mod secrets;
pub mod sql;
pub mod tables;
pub mod techdocs;
pub mod tls;

pub use error::{CoreError, ErrorCode, ErrorPayload, Result};

/// The name PostgreSQL sees as `application_name` and the product's name everywhere.
pub const PRODUCT_NAME: &str = "Backstage Inspector";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
