//! `creator_momentum`: how unusual a creator's tracked clicks and code orders
//! were on the run date, against the creator's own recent days.
//!
//! Input (one row per creator and active day; absent days count as zero):
//! `creator_id`, `day_index` (0 = the run date, 1 = the day before, ... up to
//! `momentum_window_days - 1`), `clicks`, `code_orders`.
//!
//! Output, one row per creator: `clicks_today`, `clicks_7d`, `baseline_mean`
//! and `baseline_std` (sample mean and standard deviation of the previous
//! `momentum_window_days - 1` days, absent days as zeros), `clicks_z` (null
//! when the baseline does not vary), `code_orders_today`, `code_orders_7d`.

use arrow::array::RecordBatch;
use polars::prelude::*;

use crate::builtin::{self, Context, Table};
use crate::error::Result;
use crate::params::Param;

/// Length of the window, today included.
pub const WINDOW_DAYS: Param = Param::int(
    "momentum_window_days",
    28,
    3,
    "length of the window `creator_momentum` compares the run date against, the run date included",
);

/// The parameters this module reads.
pub const PARAMS: &[Param] = &[WINDOW_DAYS];

/// The built-in: input [daily clicks and code orders per creator], output
/// [creator_momentum]. Arrow in and out through the C Data Interface bridge,
/// Polars inside.
pub async fn run(
    inputs: Vec<datafusion::dataframe::DataFrame>,
    ctx: Context,
) -> Result<Vec<Table>> {
    let window = ctx.params.int(&WINDOW_DAYS)?;
    let mut inputs = builtin::collect_all(inputs).await?;
    let table = inputs.remove(0);
    let input = if table.batches.is_empty() {
        crate::bridge::to_polars(&[RecordBatch::new_empty(table.schema.clone())])?
    } else {
        crate::bridge::to_polars(&table.batches)?
    };
    let mut out = compute(input, window)?;
    let batches = crate::bridge::from_polars(&mut out)?;
    Ok(vec![Table::new(batches[0].schema(), batches)])
}

/// The computation on a Polars frame (see the module docs), over a window of
/// `n` days.
pub fn compute(input: DataFrame, n: i64) -> Result<DataFrame> {
    let prior = (n - 1) as f64;
    let idx = col("day_index").cast(DataType::Int64);
    let clicks = col("clicks").cast(DataType::Float64);
    let sum_where = |cond: Expr, value: Expr| when(cond).then(value).otherwise(lit(0.0)).sum();
    let out = input
        .lazy()
        .filter(col("day_index").cast(DataType::Int64).lt(lit(n)))
        .group_by([col("creator_id")])
        .agg([
            sum_where(idx.clone().eq(lit(0i64)), clicks.clone()).alias("clicks_today"),
            sum_where(idx.clone().lt(lit(7i64)), clicks.clone()).alias("clicks_7d"),
            sum_where(idx.clone().gt(lit(0i64)), clicks.clone()).alias("_prior_sum"),
            sum_where(idx.clone().gt(lit(0i64)), clicks.clone() * clicks.clone())
                .alias("_prior_sumsq"),
            sum_where(
                idx.clone().eq(lit(0i64)),
                col("code_orders").cast(DataType::Float64),
            )
            .alias("code_orders_today"),
            sum_where(
                idx.lt(lit(7i64)),
                col("code_orders").cast(DataType::Float64),
            )
            .alias("code_orders_7d"),
        ])
        .with_column((col("_prior_sum") / lit(prior)).alias("baseline_mean"))
        .with_column(
            ((col("_prior_sumsq") - lit(prior) * col("baseline_mean") * col("baseline_mean"))
                / lit(prior - 1.0))
            .alias("_prior_var"),
        )
        // Rounding can leave a flat series a hair below zero.
        .with_column(
            when(col("_prior_var").gt(lit(0.0)))
                .then(col("_prior_var"))
                .otherwise(lit(0.0))
                .sqrt()
                .alias("baseline_std"),
        )
        .with_column(
            when(col("baseline_std").gt(lit(0.0)))
                .then((col("clicks_today") - col("baseline_mean")) / col("baseline_std"))
                .otherwise(lit(NULL).cast(DataType::Float64))
                .alias("clicks_z"),
        )
        .select([
            col("creator_id"),
            col("clicks_today").cast(DataType::Int64),
            col("clicks_7d").cast(DataType::Int64),
            col("baseline_mean"),
            col("baseline_std"),
            col("clicks_z"),
            col("code_orders_today").cast(DataType::Int64),
            col("code_orders_7d").cast(DataType::Int64),
        ])
        .sort(["creator_id"], SortMultipleOptions::default())
        .collect()?;
    Ok(out)
}
