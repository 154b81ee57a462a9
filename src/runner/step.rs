//! One step of one date, in the stages the run and the dry run share:
//!
//! 1. [`prepare`]: skip the step (a required input is absent, or a step it
//!    requires was skipped) or render its SQL files;
//! 2. [`plan`]: plan its checks and inputs, and hold the tables the plans
//!    scan against the step's `requires` (a step that reads an earlier step's
//!    output it does not list, or lists a table it never reads, is exit 78);
//! 3. (run only) [`execute`]: run the checks (a row is exit 65), run the SQL or
//!    the built-in, check each output against its declared table, and stage
//!    it for the commit.
//!
//! The dry run stops after 2 and registers empty tables of the declared
//! schemas in place of the outputs, so that later steps plan against them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::datasource::MemTable;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{DataFrame, ParquetReadOptions, SessionContext, lit};
use serde::Serialize;

use super::builtins;
use super::job::{Job, Step, StepKind};
use crate::builtin::Context;
use crate::catalog::contract as inputs;
use crate::error::{Error, Result};
use crate::sqltext::quote_ident;
use crate::tables::{AS_OF_COL, PARTITION_COL};
use crate::time::days_since_epoch;

/// What became of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// It ran and its outputs are staged.
    Ok,
    /// It did not run (see the reason).
    Skipped,
    /// Dry run: it was planned.
    Planned,
}

/// The outcome of one step for one date (in the summary and `runs`).
#[derive(Debug, Clone, Serialize)]
pub struct StepOutcome {
    /// Step name (`view:<name>` for a materialized view).
    pub step: String,
    /// Tables written, comma-separated.
    pub output: String,
    /// What became of it.
    pub status: StepStatus,
    /// Why it was skipped.
    pub reason: Option<String>,
    /// Rows of the tables it read.
    pub rows_in: u64,
    /// Rows it wrote.
    pub rows_out: u64,
    /// Wall time.
    pub duration_ms: u64,
}

impl StepOutcome {
    fn idle(step: &Step, status: StepStatus, reason: Option<String>) -> Self {
        StepOutcome {
            step: step.name.clone(),
            output: step.outputs.join(","),
            status,
            reason,
            rows_in: 0,
            rows_out: 0,
            duration_ms: 0,
        }
    }

    /// A step that was skipped.
    pub fn skipped(step: &Step, reason: String) -> Self {
        Self::idle(step, StepStatus::Skipped, Some(reason))
    }

    /// A step the dry run planned.
    pub fn planned(step: &Step) -> Self {
        Self::idle(step, StepStatus::Planned, None)
    }

    /// A step that ran.
    pub fn done(step: &Step, rows_in: u64, rows_out: u64, duration_ms: u64) -> Self {
        StepOutcome {
            rows_in,
            rows_out,
            duration_ms,
            ..Self::idle(step, StepStatus::Ok, None)
        }
    }

    /// A materialized view that was computed.
    pub fn view(name: &str, rows_out: u64, duration_ms: u64) -> Self {
        StepOutcome {
            step: format!("view:{name}"),
            output: String::new(),
            status: StepStatus::Ok,
            reason: None,
            rows_in: 0,
            rows_out,
            duration_ms,
        }
    }
}

/// A rendered SQL file.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// How the file is named in messages.
    pub label: String,
    /// The SQL.
    pub sql: String,
}

/// What a step will do for a date.
#[derive(Debug)]
pub enum Prepared {
    /// It is skipped, for this reason.
    Skip(String),
    /// It runs these inputs (in order) and checks.
    Ready {
        /// The SQL of its inputs.
        inputs: Vec<Rendered>,
        /// The SQL of its checks.
        checks: Vec<Rendered>,
    },
}

/// The one skip-and-render path: `present` says whether an input table was
/// found, `skipped` holds the outputs of the steps skipped so far.
pub fn prepare(
    job: &Job,
    step: &Step,
    date: NaiveDate,
    run_id: &str,
    present: &dyn Fn(&str) -> bool,
    skipped: &BTreeSet<String>,
) -> Result<Prepared> {
    if let Some(t) = step
        .requires
        .iter()
        .find(|t| inputs::table(t).is_some() && !present(t))
    {
        return Ok(Prepared::Skip(format!("input table {t} is absent")));
    }
    if let Some(t) = step.requires.iter().find(|t| skipped.contains(*t)) {
        return Ok(Prepared::Skip(format!(
            "it reads {t}, whose step was skipped"
        )));
    }
    let render = |f: &PathBuf| -> Result<Rendered> {
        let label = job.label(f);
        let sql = super::render::render(&job.read(f)?, &label, &job.params, date, run_id)?;
        Ok(Rendered { label, sql })
    };
    Ok(Prepared::Ready {
        inputs: step
            .input_files()
            .iter()
            .map(render)
            .collect::<Result<_>>()?,
        checks: step.checks.iter().map(render).collect::<Result<_>>()?,
    })
}

/// Plans SQL; a SQL error is a job error (exit 78) naming the file.
pub async fn plan_sql(ctx: &SessionContext, sql: &str, label: &str) -> Result<DataFrame> {
    ctx.sql(sql)
        .await
        .map_err(|e| Error::Config(format!("{label}: {e}")))
}

/// Names of the tables a plan scans, with halo's hidden names mapped back to
/// the tables they hold (`_validated_orders` is `orders`, `_committed_x` and
/// `x_history` are `x`).
pub fn scanned_tables(plan: &LogicalPlan) -> Vec<String> {
    let mut names = Vec::new();
    let _ = plan.apply(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            let t = scan.table_name.table();
            let t = ["_validated_", "_typed_", "_committed_"]
                .iter()
                .find_map(|p| t.strip_prefix(p))
                .unwrap_or(t);
            names.push(t.to_string());
        }
        Ok(TreeNodeRecursion::Continue)
    });
    names.sort();
    names.dedup();
    names
}

/// A step's plans.
pub struct Planned {
    /// One DataFrame per input, in order.
    pub inputs: Vec<DataFrame>,
    /// The checks, with their labels.
    pub checks: Vec<(String, DataFrame)>,
    /// Every table the inputs and checks read.
    pub scanned: BTreeSet<String>,
}

/// Plans a prepared step's SQL and checks what it reads against `requires`.
/// `view_scans` holds what each materialized view reads.
pub async fn plan(
    ctx: &SessionContext,
    job: &Job,
    step: &Step,
    inputs_sql: &[Rendered],
    checks_sql: &[Rendered],
    view_scans: &BTreeMap<String, Vec<String>>,
) -> Result<Planned> {
    let mut scanned = BTreeSet::new();
    let mut add = |df: &DataFrame| {
        for t in scanned_tables(df.logical_plan()) {
            if let Some(inner) = view_scans.get(&t) {
                scanned.extend(inner.iter().cloned());
            }
            scanned.insert(t);
        }
    };
    let mut checks = Vec::with_capacity(checks_sql.len());
    for c in checks_sql {
        let df = plan_sql(ctx, &c.sql, &c.label).await?;
        add(&df);
        checks.push((c.label.clone(), df));
    }
    let mut planned = Vec::with_capacity(inputs_sql.len());
    for r in inputs_sql {
        let df = plan_sql(ctx, &r.sql, &r.label).await?;
        add(&df);
        planned.push(df);
    }
    check_requires(job, step, &scanned)?;
    Ok(Planned {
        inputs: planned,
        checks,
        scanned,
    })
}

/// A step reads an earlier step's output only if it requires it, and
/// requires only what it reads: the dependency between steps has one source.
fn check_requires(job: &Job, step: &Step, scanned: &BTreeSet<String>) -> Result<()> {
    let mut read: BTreeSet<&str> = BTreeSet::new();
    for t in scanned {
        let table = t
            .strip_suffix("_history")
            .filter(|base| job.writer_of(base).is_some())
            .unwrap_or(t);
        read.insert(table);
    }
    for t in &read {
        if let Some(writer) = job.writer_of(t)
            && writer.name != step.name
            && !step.requires.iter().any(|r| r == t)
        {
            return Err(Error::Config(format!(
                "job {}: step {} reads {t}, written by step {}, but its `requires` does not list {t}; \
                 add it, so that the step is skipped when {} is",
                job.origin, step.name, writer.name, writer.name
            )));
        }
    }
    if let Some(r) = step.requires.iter().find(|r| !read.contains(r.as_str())) {
        return Err(Error::Config(format!(
            "job {}: step {} requires {r}, but its SQL never reads {r}; remove it from `requires`",
            job.origin, step.name
        )));
    }
    Ok(())
}

/// Runs a check: any row it returns is a violation (exit 65), and the first
/// five are shown.
pub async fn run_check(label: &str, df: DataFrame, date: NaiveDate) -> Result<()> {
    let batches = df.limit(0, Some(5))?.collect().await?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    if rows == 0 {
        return Ok(());
    }
    let shown = arrow::util::pretty::pretty_format_batches(&batches)
        .map(|t| t.to_string())
        .unwrap_or_default();
    Err(Error::InvalidInput(format!(
        "data check {label} failed for {date}; first violations:\n{shown}"
    )))
}

/// One staged output of a step.
#[derive(Debug)]
pub struct StagedOutput {
    /// The result table.
    pub table: String,
    /// Its staged folder.
    pub path: PathBuf,
    /// Its rows.
    pub rows: u64,
}

/// What [`execute`] needs besides the plans.
pub struct Execution<'a> {
    /// The session.
    pub ctx: &'a SessionContext,
    /// The job.
    pub job: &'a Job,
    /// The run date.
    pub date: NaiveDate,
    /// The date's staging folder.
    pub dir: &'a Path,
    /// Rows of every table so far (for `rows_in`).
    pub row_counts: &'a HashMap<String, u64>,
}

/// Runs a planned step and stages its outputs, each checked against its
/// declared table. Returns the outcome and the staged outputs.
pub async fn execute(
    x: &Execution<'_>,
    step: &Step,
    planned: Planned,
) -> Result<(StepOutcome, Vec<StagedOutput>)> {
    let started = Instant::now();
    let Execution { ctx, job, date, .. } = *x;
    for (label, df) in planned.checks {
        run_check(&label, df, date).await?;
    }
    let rows_in: u64 = planned
        .scanned
        .iter()
        .filter_map(|t| x.row_counts.get(t))
        .sum();
    let main_label = job.label(&step.input_files()[0]);
    let (results, is_builtin): (Vec<DataFrame>, bool) = match &step.kind {
        StepKind::Sql(_) => (planned.inputs, false),
        StepKind::Builtin { name, .. } => {
            let builtin = builtins::lookup(name)
                .ok_or_else(|| Error::Config(format!("unknown built-in {name}")))?;
            let bctx = Context {
                date,
                params: job.params.clone(),
                rolling_days: step.rolling_days.clone(),
                data: step.data.clone(),
            };
            let out = (builtin.run)(planned.inputs, bctx).await?;
            let mut dfs = Vec::with_capacity(out.len());
            for t in out {
                dfs.push(ctx.read_table(Arc::new(MemTable::try_new(t.schema, vec![t.batches])?))?);
            }
            (dfs, true)
        }
    };
    let mut outputs = Vec::with_capacity(results.len());
    for (df, table) in results.into_iter().zip(&step.outputs) {
        let df = with_partition(df, step, table, date, &main_label)?;
        if let Some(decl) = job.table(table) {
            decl.check(df.schema().as_arrow())
                .map_err(|e| drift(e, is_builtin, &step.name, &main_label))?;
        }
        let path = x.dir.join(table);
        let rows = stage(ctx, df, &path, table)
            .await
            .map_err(|e| e.context(&main_label))?;
        if let Some(days) = step.rolling_days.get(table) {
            check_rolling(ctx, table, date, *days).await?;
        }
        outputs.push(StagedOutput {
            table: table.clone(),
            path,
            rows,
        });
    }
    let rows_out = outputs.iter().map(|o| o.rows).sum();
    let duration_ms = started.elapsed().as_millis() as u64;
    tracing::info!(step = %step.name, rows_in, rows_out, duration_ms, "step done");
    Ok((
        StepOutcome::done(step, rows_in, rows_out, duration_ms),
        outputs,
    ))
}

/// An output that differs from its declaration: a bug in halo when a
/// built-in wrote it (exit 1), a job error when a SQL step did (exit 78).
fn drift(e: Error, is_builtin: bool, step: &str, label: &str) -> Error {
    if is_builtin {
        let msg = match e {
            Error::Config(m) => m,
            other => other.to_string(),
        };
        Error::Internal(format!(
            "built-in {step} wrote a table unlike its declaration: {msg}"
        ))
    } else {
        e.context(label)
    }
}

/// Adds the partition columns halo owns: `dt` (the run date) to a dated
/// output, `as_of` (the run date) to a rolling one, which brings its own `dt`.
pub fn with_partition(
    df: DataFrame,
    step: &Step,
    table: &str,
    date: NaiveDate,
    label: &str,
) -> Result<DataFrame> {
    let has_dt = df.schema().has_column_with_unqualified_name(PARTITION_COL);
    let today = lit(datafusion::common::ScalarValue::Date32(Some(
        days_since_epoch(date),
    )));
    Ok(match step.rolling_days.get(table) {
        None if has_dt => {
            return Err(Error::Config(format!(
                "{label}: the step's result has a column named {PARTITION_COL}; halo adds the partition column itself"
            )));
        }
        None => df.with_column(PARTITION_COL, today)?,
        Some(_) if !has_dt => {
            return Err(Error::Config(format!(
                "{label}: {table} is declared with rolling_days, so its result must carry its own {PARTITION_COL} column (Date32)"
            )));
        }
        Some(_) if df.schema().has_column_with_unqualified_name(AS_OF_COL) => {
            return Err(Error::Config(format!(
                "{label}: the step's result has a column named {AS_OF_COL}; halo adds it to rolling tables itself"
            )));
        }
        Some(_) => df.with_column(AS_OF_COL, today)?,
    })
}

/// Writes `df` to the staging folder `path` and registers it as `name`
/// (replacing whatever an earlier date registered under it). Returns its rows.
pub async fn stage(ctx: &SessionContext, df: DataFrame, path: &Path, name: &str) -> Result<u64> {
    // An empty result writes no file, so the schema is kept from the plan.
    let schema = Arc::new(df.schema().as_arrow().clone());
    std::fs::create_dir_all(path)?;
    let path_str = format!("{}/", path.display());
    df.write_parquet(&path_str, DataFrameWriteOptions::new(), None)
        .await?;
    ctx.deregister_table(name)?;
    ctx.register_parquet(
        quote_ident(name),
        &path_str,
        ParquetReadOptions::default().schema(&schema),
    )
    .await?;
    count_rows(ctx, name).await
}

/// Stops the run when a rolling output has a `dt` outside `[date − days, date]`:
/// committing it would replace partitions the run does not own.
async fn check_rolling(
    ctx: &SessionContext,
    table: &str,
    date: NaiveDate,
    days: u32,
) -> Result<()> {
    let first = date - chrono::Duration::days(i64::from(days));
    let sql = format!(
        "SELECT count(*) AS n FROM {} WHERE {PARTITION_COL} IS NULL OR {PARTITION_COL} < DATE '{first}' OR {PARTITION_COL} > DATE '{date}'",
        quote_ident(table)
    );
    let n = scalar_i64(ctx, &sql).await?.unwrap_or(0);
    if n > 0 {
        return Err(Error::Internal(format!(
            "{table}: {n} row(s) have {PARTITION_COL} outside [{first}, {date}], the partitions this run may replace"
        )));
    }
    Ok(())
}

async fn count_rows(ctx: &SessionContext, table: &str) -> Result<u64> {
    let n = scalar_i64(ctx, &format!("SELECT count(*) FROM {}", quote_ident(table))).await?;
    Ok(n.unwrap_or(0) as u64)
}

/// The single BIGINT a query returns (None when it is null or there is no row).
pub async fn scalar_i64(ctx: &SessionContext, sql: &str) -> Result<Option<i64>> {
    use arrow::array::Array;
    let batches = ctx.sql(sql).await?.collect().await?;
    let column = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .map(|b| b.column(0).clone());
    Ok(column.and_then(|c| {
        let a = c.as_any().downcast_ref::<arrow::array::Int64Array>()?;
        a.is_valid(0).then(|| a.value(0))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drifted_output_is_a_bug_from_a_built_in_and_a_job_error_from_sql() {
        let decl = crate::tables::contract::table("creator_momentum").unwrap();
        let wrong = arrow::datatypes::Schema::new(vec![arrow::datatypes::Field::new(
            "creator_id",
            arrow::datatypes::DataType::Int64,
            true,
        )]);
        let e = decl.check(&wrong).unwrap_err();
        let from_builtin = drift(e, true, "creator_momentum", "x.sql");
        assert_eq!(from_builtin.exit_code(), 1);
        assert!(
            from_builtin.to_string().contains(
                "built-in creator_momentum wrote a table unlike its declaration: \
                 result table creator_momentum: column clicks_today (int64) is missing"
            ),
            "{from_builtin}"
        );
        let e = decl.check(&wrong).unwrap_err();
        let from_sql = drift(e, false, "momentum", "sql/x.sql");
        assert_eq!(from_sql.exit_code(), 78);
        assert!(
            from_sql
                .to_string()
                .contains("sql/x.sql: result table creator_momentum")
        );
    }
}
