//! halo: a batch analytics engine for creator affiliate programs.
//!
//! An orchestrator runs `halo run` nightly: it loads raw events from Parquet
//! in object storage, checks them against the data contract ([`catalog`]),
//! runs the job's SQL and built-in steps ([`runner`]) on DataFusion, and
//! commits Delta Lake result tables ([`tables`]) that analysts query with
//! `halo sql` ([`query`]).
//!
//! The modules form layers, and imports only run downward:
//! `main` (the binary) → [`runner`] → the domains ([`attribution`], [`lift`],
//! [`payouts`], [`roi`], [`momentum`], [`health`], [`generate`]) → the engine (everything
//! else). `docs/ARCHITECTURE.md` has the table and the bird's-eye view; a test
//! keeps the two true.

#![warn(missing_docs)]

pub mod attribution;
pub mod bridge;
pub mod builtin;
pub mod bundled;
pub mod catalog;
pub mod compliance;
pub mod error;
pub mod faults;
pub mod generate;
pub mod health;
pub mod lease;
pub mod ledger;
pub mod lift;
pub mod memory;
pub mod momentum;
pub mod money;
pub mod outbox;
pub mod params;
pub mod payouts;
pub mod query;
pub mod roi;
pub mod runner;
pub mod session;
pub mod sqltext;
pub mod staging;
pub mod storage;
pub mod tables;
pub mod time;

pub use error::{Error, ExitKind, Result};
