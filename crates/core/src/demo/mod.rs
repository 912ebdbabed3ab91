//! The demo: a local PostgreSQL ([`cluster`]) filled with generated Backstage data
//! ([`generate`]).

pub mod cluster;
pub mod generate;
mod names;
