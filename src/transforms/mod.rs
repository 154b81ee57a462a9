//! Built-in transforms: work that is clearer in Polars or plain Rust than in
//! SQL. The heavy lifting (scans, joins, aggregation) happens in the step's
//! input SQL; a transform receives those (much smaller) results as Arrow
//! tables and returns its output tables.

pub mod creator_momentum;

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::datatypes::SchemaRef;
use chrono::NaiveDate;

use crate::error::{Error, Result};
use crate::runner::job::Params;

/// What a transform knows about the run.
#[derive(Debug, Clone, Copy)]
pub struct TransformContext<'a> {
    /// The date being computed.
    pub date: NaiveDate,
    /// The job's parameters.
    pub params: &'a Params,
    /// The step's `rolling_days` (outputs partitioned by a date the
    /// transform computes; see `Step::rolling_days`).
    pub rolling_days: Option<&'a std::collections::BTreeMap<String, u32>>,
}

impl TransformContext<'_> {
    /// The rolling range, in days, of output `name`, if it has one.
    pub fn rolling_days(&self, name: &str) -> Option<u32> {
        self.rolling_days.and_then(|m| m.get(name).copied())
    }
}

/// One table going into or out of a transform.
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

/// A built-in transform: its inputs in order, its outputs in order.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// Name used in job files.
    pub name: &'static str,
    /// What each input holds (for error messages; the job lists the SQL files
    /// in this order).
    pub inputs: &'static [&'static str],
    /// The result tables it writes, in this order.
    pub outputs: &'static [&'static str],
    /// The computation.
    pub run: fn(Vec<Table>, &TransformContext<'_>) -> Result<Vec<Table>>,
}

const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "creator_momentum",
        inputs: &["daily clicks and code orders per creator"],
        outputs: &["creator_momentum"],
        run: creator_momentum::run_tables,
    },
    Builtin {
        name: "attribution",
        inputs: &[
            "touches of the journeys that converted in the window",
            "touches of the open journeys, in journey and touch order",
        ],
        outputs: &[
            "touch_credit",
            "attribution_summary",
            "markov_transitions",
            "attribution_paths",
        ],
        run: crate::attribution::run_tables,
    },
    Builtin {
        name: "lift",
        inputs: &[
            "signal counts per minute and country",
            "posts",
            "orders with their last dark-social-eligible visit",
        ],
        outputs: &["post_lift", "traffic_baseline", "lift_summary"],
        run: crate::lift::run_tables,
    },
    Builtin {
        name: "payouts",
        inputs: &[
            "(order, creator, valid plan) candidates",
            "decided payouts (payout_decisions)",
            "their lines (payout_decided_lines)",
        ],
        outputs: &["payout_lines", "payouts"],
        run: crate::payouts::run_tables,
    },
];

/// The transform called `name`.
pub fn lookup(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// Names of all built-in transforms.
pub fn names() -> Vec<&'static str> {
    BUILTINS.iter().map(|b| b.name).collect()
}
