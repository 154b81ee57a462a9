//! halo: a batch analytics engine for creator affiliate programs.
//!
//! An orchestrator runs `halo run` nightly: it loads raw events from Parquet
//! in object storage, checks them against the data contract ([`catalog`]),
//! runs the job's SQL and built-in steps ([`runner`], [`transforms`]) on
//! DataFusion, and commits Delta Lake result tables ([`tables`]) that
//! analysts query with `halo sql` ([`query`]). `docs/ARCHITECTURE.md` has the
//! bird's-eye view.

#![warn(missing_docs)]

pub mod attribution;
pub mod bridge;
pub mod catalog;
pub mod error;
pub mod generate;
pub mod lift;
pub mod money;
pub mod payouts;
pub mod query;
pub mod roi;
pub mod runner;
pub mod sqltext;
pub mod storage;
pub mod tables;
pub mod transforms;

pub use error::{Error, ExitKind, Result};
