//! The one small interface between the runner and a built-in transform (work
//! that is clearer in Rust or Polars than in SQL: attribution, lift, payouts,
//! creator momentum).
//!
//! A built-in receives its inputs as DataFusion [`DataFrame`]s, the plans of
//! the SQL files its step names, unexecuted: it decides itself whether to
//! stream them or to [`collect`] them. It also receives a [`Context`] (the
//! run date, the job's parameters, the step's rolling ranges) and returns its
//! output tables in the order it declares them. A built-in that needs tables
//! from outside the input root (the decisions people took, from the ledger)
//! declares a [`Provider`], which the runner prepares once per invocation and
//! asks for each date's tables before it registers the views.
//!
//! The domains implement this interface; the runner holds the registry of
//! built-ins and calls them. Neither depends on the other's internals.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::datatypes::SchemaRef;
use chrono::NaiveDate;
use datafusion::prelude::DataFrame;
use url::Url;

use crate::error::{Error, Result};
use crate::ledger::Head;
use crate::params::Params;
use crate::storage::Storage;

/// What a built-in knows about the run.
#[derive(Debug, Clone)]
pub struct Context {
    /// The date being computed.
    pub date: NaiveDate,
    /// The job's parameters.
    pub params: Params,
    /// The step's `rolling_days`: outputs partitioned by a date the built-in
    /// computes (see the job docs).
    pub rolling_days: BTreeMap<String, u32>,
    /// The data files the step names (`data = [...]`), by how they are
    /// named in messages: rules a built-in applies that users edit.
    pub data: BTreeMap<String, String>,
}

impl Context {
    /// The rolling range, in days, of output `name`, if it has one.
    pub fn rolling_days(&self, name: &str) -> Option<u32> {
        self.rolling_days.get(name).copied()
    }
}

/// A table a built-in holds in memory: an input it collected, or an output.
#[derive(Debug, Clone)]
pub struct Table {
    /// Its schema (kept even when there are no batches).
    pub schema: SchemaRef,
    /// Its rows.
    pub batches: Vec<RecordBatch>,
}

impl Table {
    /// A table from batches that all share `schema`.
    pub fn new(schema: SchemaRef, batches: Vec<RecordBatch>) -> Self {
        Table { schema, batches }
    }

    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// Runs an input's plan and holds its rows, for a built-in whose numerics
/// need the whole input at once (the plan's aggregation keeps it small).
pub async fn collect(df: DataFrame) -> Result<Table> {
    let schema = df.schema().inner().clone();
    Ok(Table::new(schema, df.collect().await?))
}

/// [`collect`] for every input, in order.
pub async fn collect_all(inputs: Vec<DataFrame>) -> Result<Vec<Table>> {
    let mut out = Vec::with_capacity(inputs.len());
    for df in inputs {
        out.push(collect(df).await?);
    }
    Ok(out)
}

/// Column `name` of a batch of a built-in's input (`input` names it in the
/// error: the SQL feeding a built-in must produce the columns it reads).
pub fn column<'a>(b: &'a RecordBatch, input: &str, name: &str) -> Result<&'a dyn Array> {
    b.column_by_name(name)
        .map(|c| c.as_ref())
        .ok_or_else(|| Error::Config(format!("{input} has no column {name}")))
}

/// Column `name` as plain UTF-8 strings (view and large strings are cast).
pub fn strings(b: &RecordBatch, input: &str, name: &str) -> Result<StringArray> {
    Ok(
        arrow::compute::cast(column(b, input, name)?, &arrow::datatypes::DataType::Utf8)?
            .as_string::<i32>()
            .clone(),
    )
}

/// What a [`Provider`] is prepared with.
#[derive(Debug, Clone, Copy)]
pub struct Setup<'a> {
    /// Object stores.
    pub storage: &'a Storage,
    /// The output root.
    pub output: &'a Url,
    /// The ledger heads runs recorded in `runs` (see `ledger`).
    pub anchors: &'a [Head],
}

/// Tables a built-in brings from outside the input root, for each date.
pub trait Provider: Send + Sync {
    /// The tables a run for `date` reads, by name (registered before the
    /// views, so any SQL of the date can read them).
    fn tables(&self, date: NaiveDate) -> Result<Vec<(&'static str, RecordBatch)>>;

    /// Ledger heads to record in the `runs` row of each date.
    fn heads(&self) -> Vec<Head> {
        Vec::new()
    }
}
