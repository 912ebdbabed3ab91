//! One module per command group.

pub mod auth;
pub mod browse;
pub mod catalog;
pub mod databases;
pub mod demo;
pub mod doctor;
pub mod fix;
pub mod generate;
pub mod graph;
pub mod installations;
pub mod knex;
pub mod migrate;
pub mod profile;
pub mod scaffolder;
pub mod sql;
pub mod why;
