//! Built-in transforms: small per-series numerics that are clearer in Polars
//! or plain Rust than in SQL. The heavy lifting (scans, joins, aggregation)
//! happens in the step's input SQL; a transform receives that small result as
//! a Polars DataFrame and returns its output table.

mod creator_momentum;

use chrono::NaiveDate;

use crate::error::Result;
use crate::runner::job::Params;

/// What a transform knows about the run.
#[derive(Debug, Clone, Copy)]
pub struct TransformContext<'a> {
    /// The date being computed.
    pub date: NaiveDate,
    /// The job's parameters.
    pub params: &'a Params,
}

/// A built-in transform.
pub type Transform =
    fn(polars::prelude::DataFrame, &TransformContext<'_>) -> Result<polars::prelude::DataFrame>;

const BUILTINS: &[(&str, Transform)] = &[("creator_momentum", creator_momentum::run)];

/// The transform called `name`.
pub fn lookup(name: &str) -> Option<Transform> {
    BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Names of all built-in transforms.
pub fn names() -> Vec<&'static str> {
    BUILTINS.iter().map(|(n, _)| *n).collect()
}
