//! halo's integration tests: one binary, a module per area.

mod attribution;
mod bridge;
mod cli;
mod common;
mod compliance;
mod contract;
mod docs;
mod generate;
mod health;
mod layers;
mod lease;
mod ledger;
mod lift;
mod lift_accuracy;
mod lift_reference;
mod nightly_sql;
mod outputs;
mod payouts;
mod placement;
mod recovery;
mod roi;
mod run;
mod slt;
mod sql;
mod stores;
mod transforms;
