//! halo's integration tests: one binary, a module per area.

mod bridge;
mod common;
mod contract;
mod docs;
mod generate;
mod run;
mod sql;
mod stores;
mod transforms;
