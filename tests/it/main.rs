//! halo's integration tests: one binary, a module per area.

mod bridge;
mod common;
mod contract;
mod generate;
mod run;
mod sql;
mod stores;
mod transforms;
mod docs;
