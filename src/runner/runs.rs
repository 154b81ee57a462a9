//! The `runs` result table: one row per date a run attempted, appended, never
//! replaced, so it is the audit log of every run: successful, failed, rolled
//! back after being killed mid-commit, or abandoned (killed before its first
//! commit; found and recorded by the next run, which takes over its lease).

use std::io::Cursor;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, Utc};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use serde_json::json;

use super::{DateOutcome, RunOptions, VERSION};
use crate::catalog::LoadedInput;
use crate::error::{Error, Result};
use crate::lease::Abandoned;
use crate::ledger::Head;
use crate::tables::{Pending, ResultStore};

/// What a `runs` row says of its attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Committed.
    Success,
    /// Stopped by an error; nothing of the date was committed.
    Failed,
    /// Killed mid-commit; the next run rolled its commits back.
    RolledBack,
    /// Killed before its first commit; found by the next run.
    Abandoned,
}

/// The table's name.
pub const TABLE: &str = "runs";

fn list_of(fields: Vec<Field>) -> DataType {
    DataType::List(Arc::new(Field::new(
        "item",
        DataType::Struct(Fields::from(fields)),
        true,
    )))
}

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// The schema of `runs`.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("run_id", DataType::Utf8, false),
        Field::new("job", DataType::Utf8, false),
        Field::new("date", DataType::Date32, true),
        Field::new("started_at", ts(), false),
        Field::new("finished_at", ts(), false),
        Field::new("status", DataType::Utf8, false),
        Field::new("exit_code", DataType::Int32, false),
        Field::new("error", DataType::Utf8, true),
        Field::new("halo_version", DataType::Utf8, false),
        Field::new("input", DataType::Utf8, true),
        Field::new("output", DataType::Utf8, true),
        Field::new(
            "steps",
            list_of(vec![
                Field::new("step", DataType::Utf8, true),
                Field::new("output", DataType::Utf8, true),
                Field::new("status", DataType::Utf8, true),
                Field::new("reason", DataType::Utf8, true),
                Field::new("rows_in", DataType::Int64, true),
                Field::new("rows_out", DataType::Int64, true),
                Field::new("duration_ms", DataType::Int64, true),
            ]),
            true,
        ),
        Field::new(
            "rejects",
            list_of(vec![
                Field::new("table", DataType::Utf8, true),
                Field::new("reason", DataType::Utf8, true),
                Field::new("rows", DataType::Int64, true),
            ]),
            true,
        ),
        Field::new(
            "input_files",
            list_of(vec![
                Field::new("table", DataType::Utf8, true),
                Field::new("url", DataType::Utf8, true),
                Field::new("bytes", DataType::Int64, true),
            ]),
            true,
        ),
        Field::new(
            "versions",
            list_of(vec![
                Field::new("table", DataType::Utf8, true),
                Field::new("version", DataType::Int64, true),
            ]),
            true,
        ),
        Field::new(
            "ledger_heads",
            list_of(vec![
                Field::new("kind", DataType::Utf8, true),
                Field::new("seq", DataType::Int64, true),
                Field::new("hash", DataType::Utf8, true),
            ]),
            true,
        ),
    ]))
}

async fn append(ctx: &SessionContext, results: &ResultStore, row: serde_json::Value) -> Result<()> {
    let schema = schema();
    let line = serde_json::to_vec(&row).map_err(|e| Error::Internal(e.to_string()))?;
    let mut reader = arrow::json::ReaderBuilder::new(schema.clone()).build(Cursor::new(line))?;
    let batch = reader
        .next()
        .ok_or_else(|| Error::Internal("runs row did not decode".into()))??;
    let table = MemTable::try_new(schema, vec![vec![batch]])?;
    let plan = ctx.read_table(Arc::new(table))?.into_unoptimized_plan();
    results.append(ctx, TABLE, plan).await?;
    Ok(())
}

fn micros(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Appends the row of one date's attempt.
pub async fn record(
    ctx: &SessionContext,
    results: &ResultStore,
    opts: &RunOptions,
    loaded: &LoadedInput,
    outcome: &DateOutcome,
    started_at: DateTime<Utc>,
    heads: &[Head],
) -> Result<()> {
    let rejects: Vec<_> = loaded
        .tables
        .iter()
        .flat_map(|t| {
            t.counts
                .rejected
                .iter()
                .map(|(r, n)| json!({"table": t.table, "reason": r, "rows": n}))
        })
        .collect();
    let files: Vec<_> = loaded
        .files
        .iter()
        .map(|f| json!({"table": f.table, "url": f.url, "bytes": f.bytes}))
        .collect();
    let versions: Vec<_> = outcome
        .committed
        .iter()
        .map(|(t, v)| json!({"table": t, "version": v}))
        .collect();
    let row = json!({
        "run_id": outcome.run_id,
        "job": opts.job.name,
        "date": outcome.date.format("%Y-%m-%d").to_string(),
        "started_at": micros(started_at),
        "finished_at": micros(Utc::now()),
        "status": outcome.status,
        "exit_code": outcome.exit_code,
        "error": outcome.error,
        "halo_version": VERSION,
        "input": opts.input.as_str(),
        "output": opts.output.as_str(),
        "steps": outcome.steps,
        "rejects": rejects,
        "input_files": files,
        "versions": versions,
        "ledger_heads": heads,
    });
    append(ctx, results, row).await
}

/// Appends the row of a run that was rolled back because it never finished.
pub async fn record_rolled_back(
    ctx: &SessionContext,
    results: &ResultStore,
    p: &Pending,
) -> Result<()> {
    let now = Utc::now();
    let row = json!({
        "run_id": p.run_id,
        "job": p.job,
        "date": p.date.map(|d| d.format("%Y-%m-%d").to_string()),
        "started_at": micros(p.started_at.unwrap_or(now)),
        "finished_at": micros(now),
        "status": RunStatus::RolledBack,
        "exit_code": 1,
        "error": "the run stopped before it finished committing; its commits were rolled back",
        "halo_version": VERSION,
    });
    append(ctx, results, row).await
}

/// Appends the row of a date attempt whose process was killed before its
/// first commit (seen in the heartbeat of the lease it left behind).
pub async fn record_abandoned(
    ctx: &SessionContext,
    results: &ResultStore,
    a: &Abandoned,
    job: &str,
) -> Result<()> {
    let Some(run_id) = &a.heartbeat.date_run_id else {
        return Ok(());
    };
    let last = a.heartbeat.at.unwrap_or(a.holder.started_at);
    let row = json!({
        "run_id": run_id,
        "job": job,
        "date": a.heartbeat.date.map(|d| d.format("%Y-%m-%d").to_string()),
        "started_at": micros(a.heartbeat.date_started_at.unwrap_or(a.holder.started_at)),
        "finished_at": micros(last),
        "status": RunStatus::Abandoned,
        "exit_code": 1,
        "error": format!(
            "the process ({} on {} pid {}) ended before committing anything; its last heartbeat was at {}",
            a.holder.command, a.holder.host, a.holder.pid, last.to_rfc3339()
        ),
        "halo_version": VERSION,
    });
    append(ctx, results, row).await
}

/// The run ids already in `runs` (to record an attempt once, even when a
/// recovery is itself interrupted).
pub async fn recorded(ctx: &SessionContext, results: &ResultStore) -> Result<Vec<String>> {
    let Some(hidden) = super::history::register_committed(ctx, results, TABLE).await? else {
        return Ok(Vec::new());
    };
    let batches = ctx
        .sql(&format!("SELECT DISTINCT run_id FROM {hidden}"))
        .await?
        .collect()
        .await?;
    let mut ids = Vec::new();
    for b in &batches {
        let c = arrow::compute::cast(b.column(0), &DataType::Utf8)?;
        let c = c
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .ok_or_else(|| Error::Internal("runs.run_id".into()))?;
        ids.extend(c.iter().flatten().map(str::to_string));
    }
    Ok(ids)
}
