//! The `rejects` result table: every row that broke the contract, with its
//! table, reason, file, row number and the row itself as JSON.
//!
//! Rejects are found once per invocation (validation covers the whole input)
//! and written into the partition of every date the invocation runs, so a
//! backfill gives the same `rejects` as running each date alone.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use chrono::NaiveDate;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use futures::StreamExt;
use parquet::arrow::ArrowWriter;

use crate::catalog::LoadedInput;
use crate::catalog::contract;
use crate::catalog::load::{FILE_COL, ROW_COL};
use crate::catalog::validate::{REASON_COL, validated_name};
use crate::error::{Error, Result};
use crate::sqltext::{date_literal, quote_ident, quote_str};

/// The table's name.
pub const TABLE: &str = "rejects";
const STAGED: &str = "_rejects_staged";

/// Rejected rows staged for the run's dates.
#[derive(Debug)]
pub struct Staged {
    /// Where they are.
    pub path: PathBuf,
    /// How many.
    pub rows: u64,
}

fn staged_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("table", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("file", DataType::Utf8, true),
        Field::new("row_number", DataType::Int64, true),
        Field::new("row", DataType::Utf8, true),
    ]))
}

/// Streams every rejected row into one staged Parquet file, row as JSON.
pub async fn stage(ctx: &SessionContext, loaded: &LoadedInput, staging: &Path) -> Result<Staged> {
    let dir = staging.join("rejects");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("part-0.parquet");
    let schema = staged_schema();
    let mut writer = ArrowWriter::try_new(File::create(&path)?, schema.clone(), None)?;
    let mut rows = 0u64;
    for t in loaded
        .tables
        .iter()
        .filter(|t| t.counts.rows > t.counts.clean)
    {
        let spec = contract::table(&t.table).ok_or_else(|| Error::Internal(t.table.clone()))?;
        let cols: Vec<String> = spec.columns.iter().map(|c| quote_ident(c.name)).collect();
        let sql = format!(
            "SELECT {}, {FILE_COL}, {ROW_COL}, {REASON_COL} FROM {} WHERE {REASON_COL} IS NOT NULL ORDER BY {FILE_COL}, {ROW_COL}",
            cols.join(", "),
            quote_ident(&validated_name(spec.name))
        );
        // `_file` is an index into the table's path-ordered files.
        let urls: Vec<&str> = loaded
            .files
            .iter()
            .filter(|f| f.table == t.table)
            .map(|f| f.url.as_str())
            .collect();
        let mut stream = ctx.sql(&sql).await?.execute_stream().await?;
        let n = spec.columns.len();
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            if batch.num_rows() == 0 {
                continue;
            }
            let row_part = batch.project(&(0..n).collect::<Vec<_>>())?;
            let mut json = arrow::json::LineDelimitedWriter::new(Vec::new());
            json.write_batches(&[&row_part])?;
            json.finish()?;
            let buf = json.into_inner();
            let text = String::from_utf8(buf).map_err(|e| Error::Internal(e.to_string()))?;
            let lines: Vec<&str> = text.lines().collect();
            if lines.len() != batch.num_rows() {
                return Err(Error::Internal("one JSON line per rejected row".into()));
            }
            let cast = |i: usize| arrow::compute::cast(batch.column(i), &DataType::Utf8);
            let out = RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from(vec![spec.name; batch.num_rows()])) as ArrayRef,
                    cast(n + 2)?,
                    file_urls(batch.column(n), &urls)?,
                    arrow::compute::cast(batch.column(n + 1), &DataType::Int64)?,
                    Arc::new(StringArray::from(lines)),
                ],
            )?;
            rows += out.num_rows() as u64;
            writer.write(&out)?;
        }
    }
    writer.close()?;
    ctx.register_parquet(
        quote_ident(STAGED),
        path.to_str()
            .ok_or_else(|| Error::Internal("staging path is not UTF-8".into()))?,
        ParquetReadOptions::default().schema(&schema),
    )
    .await?;
    Ok(Staged { path, rows })
}

impl Staged {
    /// The rows of `rejects` for one date and run.
    pub async fn plan_for(
        &self,
        ctx: &SessionContext,
        date: NaiveDate,
        run_id: &str,
    ) -> Result<LogicalPlan> {
        let sql = format!(
            "SELECT {run} AS run_id, \"table\", reason, file, row_number, \"row\", {d} AS dt FROM {STAGED}",
            run = quote_str(run_id),
            d = date_literal(date),
        );
        Ok(ctx.sql(&sql).await?.into_unoptimized_plan())
    }
}

/// Turns `_file` indexes back into URLs.
fn file_urls(index: &ArrayRef, urls: &[&str]) -> Result<ArrayRef> {
    let index = arrow::compute::cast(index, &DataType::Int64)?;
    let index = index
        .as_any()
        .downcast_ref::<arrow::array::Int64Array>()
        .ok_or_else(|| Error::Internal("_file is not an integer".into()))?;
    let out: StringArray = index
        .iter()
        .map(|i| i.and_then(|i| urls.get(i as usize).copied()))
        .collect();
    Ok(Arc::new(out))
}
