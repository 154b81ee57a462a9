//! Runs a job for one date or a range of dates.
//!
//! The flow of one invocation:
//! 1. roll back any run that did not finish (see `tables`);
//! 2. load and validate the input once (`catalog`), staging clean tables
//!    under a private temporary folder;
//! 3. per date: run every step into staging, then commit all of the date's
//!    tables (each step's output and `rejects`) as one pending-guarded group,
//!    and append the date's row to `runs`.
//!
//! Dates commit independently: a backfill keeps going past a failed date and
//! reports it; re-running any date replaces exactly its partitions.

pub mod job;
pub mod memory;
pub mod rejects;
pub mod runs;
pub mod session;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::Array;
use chrono::{DateTime, NaiveDate, Utc};
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::datasource::MemTable;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{DataFrame, Expr, ParquetReadOptions, SessionContext, col, lit};
use serde::Serialize;
use url::Url;

use crate::catalog::{self, LoadedInput};
use crate::error::{Error, ExitKind, Result};
use crate::sqltext::quote_ident;
use crate::storage::Storage;
use crate::tables::{AS_OF_COL, PARTITION_COL, Pending, ResultStore};
use job::{Job, Step, StepKind};

/// Which dates to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dates {
    /// The last complete day in the input.
    LastComplete,
    /// One date.
    One(NaiveDate),
    /// An inclusive range.
    Range(NaiveDate, NaiveDate),
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The job.
    pub job: Job,
    /// Input root.
    pub input: Url,
    /// Output root.
    pub output: Url,
    /// Dates to run.
    pub dates: Dates,
    /// Plan only.
    pub dry_run: bool,
    /// The run's wall-clock time; events after it are rejected.
    pub now: DateTime<Utc>,
    /// Object stores.
    pub storage: Storage,
    /// Session knobs.
    pub session: session::SessionOptions,
}

/// The outcome of one step for one date.
#[derive(Debug, Clone, Serialize)]
pub struct StepOutcome {
    /// Step name.
    pub step: String,
    /// Table written.
    pub output: String,
    /// `ok`, `skipped` or `planned`.
    pub status: String,
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
    fn idle(step: &Step, status: &str, reason: Option<String>) -> Self {
        StepOutcome {
            step: step.name.clone(),
            output: step.outputs.join(","),
            status: status.into(),
            reason,
            rows_in: 0,
            rows_out: 0,
            duration_ms: 0,
        }
    }

    fn skipped(step: &Step, reason: String) -> Self {
        Self::idle(step, "skipped", Some(reason))
    }

    fn planned(step: &Step) -> Self {
        Self::idle(step, "planned", None)
    }
}

/// The outcome of one date.
#[derive(Debug, Clone, Serialize)]
pub struct DateOutcome {
    /// The date.
    pub date: NaiveDate,
    /// The attempt's id.
    pub run_id: String,
    /// `success`, `failed` or `dry_run`.
    pub status: String,
    /// Exit code this date alone would have.
    pub exit_code: i32,
    /// The error, if it failed.
    pub error: Option<String>,
    /// Per step.
    pub steps: Vec<StepOutcome>,
    /// Table versions committed.
    pub committed: BTreeMap<String, u64>,
}

/// The one-line JSON summary printed at the end of `halo run`.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// Job name.
    pub job: String,
    /// `success`, `failed` or `dry_run`.
    pub status: String,
    /// Process exit code.
    pub exit_code: i32,
    /// Input root.
    pub input: String,
    /// Output root.
    pub output: String,
    /// halo version.
    pub halo_version: String,
    /// Per date.
    pub dates: Vec<DateOutcome>,
    /// Per input table: files, rows, rejects by reason.
    pub inputs: Vec<catalog::TableReport>,
    /// Total rejected rows.
    pub rejected_rows: u64,
    /// Runs rolled back before this one started.
    pub recovered_runs: Vec<String>,
    /// Wall time of loading and validating the input.
    pub load_ms: u64,
    /// Wall time.
    pub duration_ms: u64,
    /// For dry runs: the input files that would be read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub input_files: Vec<catalog::InputFile>,
    /// For dry runs: the tables that would be written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<String>,
}

/// halo's version string.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs the job. Errors that stop the whole invocation (bad input files,
/// missing tables, bad config) are returned; per-date failures are reported in
/// the summary with their exit code.
pub async fn run(opts: RunOptions) -> Result<RunSummary> {
    let started = Instant::now();
    let ctx = session::session(opts.session)?;
    opts.storage.register(&ctx, &opts.input)?;
    let mut summary = RunSummary {
        job: opts.job.name.clone(),
        status: "success".into(),
        exit_code: 0,
        input: opts.input.to_string(),
        output: opts.output.to_string(),
        halo_version: VERSION.into(),
        dates: Vec::new(),
        inputs: Vec::new(),
        rejected_rows: 0,
        recovered_runs: Vec::new(),
        load_ms: 0,
        duration_ms: 0,
        input_files: Vec::new(),
        outputs: Vec::new(),
    };
    if opts.dry_run {
        dry_run(&ctx, &opts, &mut summary).await?;
        summary.duration_ms = started.elapsed().as_millis() as u64;
        return Ok(summary);
    }
    let results = ResultStore::new(opts.storage.clone(), opts.output.clone())?;
    opts.storage.register(&ctx, &opts.output)?;
    let recovered = results.recover().await?;
    for p in &recovered {
        runs::record_aborted(&ctx, &results, p).await?;
    }
    summary.recovered_runs = recovered.into_iter().map(|p| p.run_id).collect();

    let staging = tempfile::Builder::new().prefix("halo-staging-").tempdir()?;
    let now_micros = opts.now.timestamp_micros();
    let load_started = Instant::now();
    let loaded =
        catalog::load_validated(&ctx, &opts.storage, &opts.input, now_micros, staging.path())
            .await?;
    summary.load_ms = load_started.elapsed().as_millis() as u64;
    summary.rejected_rows = loaded.rejected();
    summary.inputs = loaded.tables.clone();
    let dates = resolve_dates(&ctx, &opts).await?;
    let rejects = rejects::stage(&ctx, &loaded, staging.path()).await?;
    // Decisions people took on payouts; a ledger that was edited stops the run.
    let ledger = crate::payouts::ledger::Ledger::load(&opts.storage, &opts.output).await?;
    let invocation = Invocation {
        ctx: &ctx,
        opts: &opts,
        loaded: &loaded,
        results: &results,
        staging: staging.path(),
        rejects: &rejects,
        ledger: &ledger,
    };

    for date in dates {
        let run_id = uuid::Uuid::now_v7().to_string();
        let date_started = Utc::now();
        let outcome = invocation.run_date(date, &run_id).await;
        let (status, code, error, steps, committed) = match outcome {
            Ok((steps, committed)) => ("success", 0, None, steps, committed),
            Err((e, steps)) => {
                tracing::error!(%date, error = %e, "date failed");
                (
                    "failed",
                    e.exit_code(),
                    Some(e.to_string()),
                    steps,
                    BTreeMap::new(),
                )
            }
        };
        let outcome = DateOutcome {
            date,
            run_id: run_id.clone(),
            status: status.into(),
            exit_code: code,
            error,
            steps,
            committed,
        };
        if status == "failed" {
            runs::record(&ctx, &results, &opts, &loaded, &outcome, date_started).await?;
        }
        summary.dates.push(outcome);
    }
    let worst = summary.dates.iter().map(|d| d.exit_code).find(|c| *c != 0);
    if let Some(code) = worst {
        summary.status = "failed".into();
        summary.exit_code = code;
    }
    summary.duration_ms = started.elapsed().as_millis() as u64;
    Ok(summary)
}

/// The dates a run covers; the default is the last complete day: the last day
/// (in the job's time zone) that ends no later than one hour after the newest
/// session.
async fn resolve_dates(ctx: &SessionContext, opts: &RunOptions) -> Result<Vec<NaiveDate>> {
    match opts.dates {
        Dates::One(d) => Ok(vec![d]),
        Dates::Range(a, b) if a <= b => Ok(a.iter_days().take_while(|d| *d <= b).collect()),
        Dates::Range(a, b) => Err(Error::Usage(format!("--from {a} is after --to {b}"))),
        Dates::LastComplete => {
            let m = scalar_i64(ctx, "SELECT CAST(max(started_at) AS BIGINT) FROM sessions").await?;
            let Some(micros) = m else {
                return Err(Error::MissingInput("table sessions has no valid rows, so there is no complete day to run; pass --date".into()));
            };
            let tz = opts.job.tz()?;
            let newest = DateTime::from_timestamp_micros(micros + 3_600_000_000)
                .ok_or_else(|| Error::InvalidInput("sessions.started_at is out of range".into()))?;
            let day = newest
                .with_timezone(&tz)
                .date_naive()
                .pred_opt()
                .expect("date in range");
            tracing::info!(%day, "no date given: running the last complete day");
            Ok(vec![day])
        }
    }
}

type DateResult =
    std::result::Result<(Vec<StepOutcome>, BTreeMap<String, u64>), (Error, Vec<StepOutcome>)>;

/// What every date of one invocation shares.
struct Invocation<'a> {
    ctx: &'a SessionContext,
    opts: &'a RunOptions,
    loaded: &'a LoadedInput,
    results: &'a ResultStore,
    staging: &'a Path,
    rejects: &'a rejects::Staged,
    ledger: &'a crate::payouts::ledger::Ledger,
}

impl Invocation<'_> {
    async fn run_date(&self, date: NaiveDate, run_id: &str) -> DateResult {
        let Invocation {
            ctx,
            opts,
            loaded,
            staging,
            ..
        } = *self;
        tracing::info!(%date, run_id, job = %opts.job.name, "running");
        let mut steps = Vec::new();
        let dir = staging.join("runs").join(run_id);
        let mut row_counts: HashMap<String, u64> = loaded
            .tables
            .iter()
            .map(|t| (t.table.clone(), t.counts.clean))
            .collect();
        let mut skipped_outputs: HashSet<String> = HashSet::new();
        let mut written: Vec<(String, PathBuf)> = Vec::new();
        if let Err(e) = register_decisions(ctx, self.ledger, date) {
            return Err((e, steps));
        }
        match register_views(ctx, &opts.job, date, run_id, Some(&dir)).await {
            Ok(materialized) => steps.extend(materialized),
            Err(e) => return Err((e, steps)),
        }
        for step in &opts.job.steps {
            match self
                .run_step(step, date, run_id, &dir, &row_counts, &skipped_outputs)
                .await
            {
                Ok(StepResult::Skipped(reason)) => {
                    tracing::warn!(step = %step.name, %reason, "step skipped");
                    skipped_outputs.extend(step.outputs.iter().cloned());
                    steps.push(StepOutcome::skipped(step, reason));
                }
                Ok(StepResult::Done {
                    rows_in,
                    outputs,
                    duration_ms,
                }) => {
                    let rows_out: u64 = outputs.iter().map(|(_, _, n)| n).sum();
                    tracing::info!(step = %step.name, rows_in, rows_out, duration_ms, "step done");
                    for (table, path, n) in outputs {
                        row_counts.insert(table.clone(), n);
                        if !step.scratch {
                            written.push((table, path));
                        }
                    }
                    steps.push(StepOutcome {
                        step: step.name.clone(),
                        output: step.outputs.join(","),
                        status: "ok".into(),
                        reason: None,
                        rows_in,
                        rows_out,
                        duration_ms,
                    });
                }
                Err(e) => return Err((e.context(format!("step {}", step.name)), steps)),
            }
        }
        match self.commit(&written, date, run_id, &steps).await {
            Ok(c) => Ok((steps, c)),
            Err(e) => Err((e, steps)),
        }
    }
}

enum StepResult {
    Skipped(String),
    Done {
        rows_in: u64,
        /// (table, staged folder, rows) of each output.
        outputs: Vec<(String, PathBuf, u64)>,
        duration_ms: u64,
    },
}

fn mentions(sql: &str, name: &str) -> bool {
    sql.match_indices(name).any(|(i, _)| {
        let before = sql[..i].chars().next_back();
        let after = sql[i + name.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        !word(before) && !word(after)
    })
}

/// Names of the tables a plan scans.
fn scanned_tables(plan: &LogicalPlan) -> Vec<String> {
    let mut names = Vec::new();
    let _ = plan.apply(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            // Views are inlined: a clean input table shows as its validated source.
            let t = scan.table_name.table();
            names.push(t.strip_prefix("_validated_").unwrap_or(t).to_string());
        }
        Ok(TreeNodeRecursion::Continue)
    });
    names.sort();
    names.dedup();
    names
}

fn read_file(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))
}

async fn plan_sql(ctx: &SessionContext, sql: &str, file: &Path) -> Result<DataFrame> {
    ctx.sql(sql)
        .await
        .map_err(|e| Error::Config(format!("{}: {e}", file.display())))
}

impl Invocation<'_> {
    async fn run_step(
        &self,
        step: &Step,
        date: NaiveDate,
        run_id: &str,
        dir: &Path,
        row_counts: &HashMap<String, u64>,
        skipped: &HashSet<String>,
    ) -> Result<StepResult> {
        let Invocation {
            ctx, opts, loaded, ..
        } = *self;
        if let Some(missing) = step.requires.iter().find(|t| !loaded.present(t)) {
            return Ok(StepResult::Skipped(format!(
                "input table {missing} is absent"
            )));
        }
        let job = &opts.job;
        let files = job.files_of(step);
        let (inputs, checks) = files.split_at(step.input_count());
        let main_file = &inputs[0];
        let mut sqls = Vec::with_capacity(inputs.len());
        for f in inputs {
            sqls.push(job::render(&read_file(f)?, f, job, date, run_id)?);
        }
        if let Some(dep) = skipped
            .iter()
            .find(|s| sqls.iter().any(|sql| mentions(sql, s)))
        {
            return Ok(StepResult::Skipped(format!(
                "it reads {dep}, whose step was skipped"
            )));
        }
        let started = Instant::now();
        for check in checks {
            run_check(ctx, job, check, date, run_id).await?;
        }
        let mut dfs = Vec::with_capacity(inputs.len());
        let mut scanned = Vec::new();
        for (sql, f) in sqls.iter().zip(inputs) {
            let df = plan_sql(ctx, sql, f).await?;
            scanned.extend(scanned_tables(df.logical_plan()));
            dfs.push(df);
        }
        scanned.sort();
        scanned.dedup();
        let rows_in: u64 = scanned.iter().filter_map(|t| row_counts.get(t)).sum();
        let results: Vec<DataFrame> = match &step.kind {
            StepKind::Sql(_) => dfs,
            StepKind::Builtin { name, .. } => {
                let builtin = crate::transforms::lookup(name)
                    .ok_or_else(|| Error::Config(format!("unknown built-in {name}")))?;
                let mut tables = Vec::with_capacity(dfs.len());
                for df in dfs {
                    let schema = df.schema().inner().clone();
                    tables.push(crate::transforms::Table::new(schema, df.collect().await?));
                }
                let tctx = crate::transforms::TransformContext {
                    date,
                    params: &job.params,
                    rolling_days: Some(&step.rolling_days),
                };
                let out = (builtin.run)(tables, &tctx)?;
                let mut dfs = Vec::with_capacity(out.len());
                for t in out {
                    dfs.push(
                        ctx.read_table(Arc::new(MemTable::try_new(t.schema, vec![t.batches])?))?,
                    );
                }
                dfs
            }
        };
        let mut outputs = Vec::with_capacity(results.len());
        for (df, table) in results.into_iter().zip(&step.outputs) {
            let has_dt = df.schema().has_column_with_unqualified_name(PARTITION_COL);
            let df = match step.rolling_days.get(table) {
                None if has_dt => {
                    return Err(Error::Config(format!(
                        "{}: the step's result has a column named {PARTITION_COL}; halo adds the partition column itself",
                        main_file.display()
                    )));
                }
                None => df.with_column(
                    PARTITION_COL,
                    lit(datafusion::common::ScalarValue::Date32(Some(
                        days_since_epoch(date),
                    ))),
                )?,
                Some(_) if !has_dt => {
                    return Err(Error::Config(format!(
                        "{}: {table} is declared with rolling_days, so its result must carry its own {PARTITION_COL} column (Date32)",
                        main_file.display()
                    )));
                }
                Some(_) if df.schema().has_column_with_unqualified_name(AS_OF_COL) => {
                    return Err(Error::Config(format!(
                        "{}: the step's result has a column named {AS_OF_COL}; halo adds it to rolling tables itself",
                        main_file.display()
                    )));
                }
                Some(_) => df.with_column(
                    AS_OF_COL,
                    lit(datafusion::common::ScalarValue::Date32(Some(
                        days_since_epoch(date),
                    ))),
                )?,
            };
            let path = dir.join(table);
            let rows_out = stage(ctx, df, &path, table)
                .await
                .map_err(|e| e.context(format!("{}", main_file.display())))?;
            if let Some(days) = step.rolling_days.get(table) {
                check_rolling(ctx, table, date, *days).await?;
            }
            if !step.scratch {
                register_history(
                    ctx,
                    self.results,
                    table,
                    date,
                    step.rolling_days.get(table).copied(),
                )
                .await?;
            }
            outputs.push((table.clone(), path, rows_out));
        }
        Ok(StepResult::Done {
            rows_in,
            outputs,
            duration_ms: started.elapsed().as_millis() as u64,
        })
    }
}

/// Writes `df` to the staging folder `path` and registers it as `name`
/// (replacing whatever an earlier date registered under it). Returns its rows.
async fn stage(ctx: &SessionContext, df: DataFrame, path: &Path, name: &str) -> Result<u64> {
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

/// Registers `<name>_history`: the committed partitions of result table
/// `name` before the ones this run replaces, plus what the run just staged.
/// Later steps read it for figures over past dates (payouts over months of
/// orders, ROI to date) without recomputing them. Partitions of later dates
/// are left out, so a backfill sees the state as of its date.
async fn register_history(
    ctx: &SessionContext,
    results: &ResultStore,
    name: &str,
    date: NaiveDate,
    rolling: Option<u32>,
) -> Result<()> {
    let first = date - chrono::Duration::days(i64::from(rolling.unwrap_or(0)));
    let staged = ctx.table(quote_ident(name)).await?;
    let cols: Vec<String> = staged
        .schema()
        .fields()
        .iter()
        .map(|f| quote_ident(f.name()))
        .collect();
    let cols = cols.join(", ");
    let sql = match register_committed(ctx, results, name).await? {
        Some(hidden) => format!(
            "SELECT {cols} FROM {hidden} WHERE {PARTITION_COL} < DATE '{first}' UNION ALL SELECT {cols} FROM {}",
            quote_ident(name)
        ),
        None => format!("SELECT {cols} FROM {}", quote_ident(name)),
    };
    let view = format!("{name}_history");
    ctx.deregister_table(view.as_str())?;
    let df = ctx
        .sql(&sql)
        .await
        .map_err(|e| Error::Config(format!("history of result table {name}: {e}")))?;
    ctx.register_table(quote_ident(&view), df.into_view())?;
    Ok(())
}

/// Registers the committed Delta table `name` (its newest version) as
/// `_committed_<name>` and returns that name quoted, or None when the table
/// does not exist yet.
pub(crate) async fn register_committed(
    ctx: &SessionContext,
    results: &ResultStore,
    name: &str,
) -> Result<Option<String>> {
    let hidden = format!("_committed_{name}");
    ctx.deregister_table(hidden.as_str())?;
    let Some(table) = results.open(name).await? else {
        return Ok(None);
    };
    table.update_datafusion_session(&ctx.state())?;
    ctx.register_table(hidden.as_str(), table.table_provider().await?)?;
    Ok(Some(quote_ident(&hidden)))
}

/// Registers the ledger's decisions a run for `date` sees as
/// `payout_decisions` and `payout_decided_lines`.
fn register_decisions(
    ctx: &SessionContext,
    ledger: &crate::payouts::ledger::Ledger,
    date: NaiveDate,
) -> Result<()> {
    let (payouts, lines) = crate::payouts::snapshot::decided_tables(ledger, date)?;
    for (name, batch) in [
        ("payout_decisions", payouts),
        ("payout_decided_lines", lines),
    ] {
        ctx.deregister_table(name)?;
        ctx.register_table(
            name,
            Arc::new(MemTable::try_new(batch.schema(), vec![vec![batch]])?),
        )?;
    }
    Ok(())
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
    let batches = ctx.sql(&sql).await?.collect().await?;
    let n = batches
        .first()
        .and_then(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<arrow::array::Int64Array>()
                .map(|a| a.value(0))
        })
        .unwrap_or(0);
    if n > 0 {
        return Err(Error::Internal(format!(
            "{table}: {n} row(s) have {PARTITION_COL} outside [{first}, {date}], the partitions this run may replace"
        )));
    }
    Ok(())
}

/// Days from 1970-01-01, the Arrow `Date32` value of a date.
pub fn days_since_epoch(date: NaiveDate) -> i32 {
    (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

async fn count_rows(ctx: &SessionContext, table: &str) -> Result<u64> {
    let n = scalar_i64(ctx, &format!("SELECT count(*) FROM {}", quote_ident(table))).await?;
    Ok(n.unwrap_or(0) as u64)
}

/// The single BIGINT a query returns (None when it is null or there is no row).
async fn scalar_i64(ctx: &SessionContext, sql: &str) -> Result<Option<i64>> {
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

async fn run_check(
    ctx: &SessionContext,
    job: &Job,
    file: &Path,
    date: NaiveDate,
    run_id: &str,
) -> Result<()> {
    let sql = job::render(&read_file(file)?, file, job, date, run_id)?;
    let batches = plan_sql(ctx, &sql, file)
        .await?
        .limit(0, Some(5))?
        .collect()
        .await?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    if rows == 0 {
        return Ok(());
    }
    let shown = arrow::util::pretty::pretty_format_batches(&batches)
        .map(|t| t.to_string())
        .unwrap_or_default();
    Err(Error::InvalidInput(format!(
        "data check {} failed for {date}; first violations:\n{shown}",
        file.display()
    )))
}

impl Invocation<'_> {
    async fn commit(
        &self,
        written: &[(String, PathBuf)],
        date: NaiveDate,
        run_id: &str,
        steps: &[StepOutcome],
    ) -> Result<BTreeMap<String, u64>> {
        let Invocation {
            ctx,
            opts,
            loaded,
            results,
            rejects,
            ..
        } = *self;
        let mut names: Vec<String> = written.iter().map(|(n, _)| n.clone()).collect();
        names.push(rejects::TABLE.into());
        names.push(runs::TABLE.into());
        let before = results.versions(&names).await?;
        results
            .begin(&Pending {
                run_id: run_id.into(),
                job: opts.job.name.clone(),
                before,
            })
            .await?;
        let fail_after: Option<usize> = std::env::var("HALO_FAIL_AFTER_COMMITS")
            .ok()
            .and_then(|v| v.parse().ok());
        let mut committed = BTreeMap::new();
        for (name, _) in written {
            let plan = ctx.table(quote_ident(name)).await?.into_unoptimized_plan();
            let v = match opts.job.rolling_days(name) {
                None => results.replace(ctx, name, plan, Some(date)).await?,
                Some(days) => {
                    let first = date - chrono::Duration::days(i64::from(days));
                    let newer = results.newer_partitions(name, first, date).await?;
                    let owned: Vec<NaiveDate> = first
                        .iter_days()
                        .take_while(|d| *d <= date)
                        .filter(|d| !newer.contains(d))
                        .collect();
                    if !newer.is_empty() {
                        tracing::info!(table = %name, kept = newer.len(), "rolling partitions computed by a later date are kept");
                    }
                    if owned.is_empty() {
                        continue;
                    }
                    let keep: Vec<Expr> = owned
                        .iter()
                        .map(|d| {
                            lit(datafusion::common::ScalarValue::Date32(Some(
                                days_since_epoch(*d),
                            )))
                        })
                        .collect();
                    let plan = ctx
                        .table(quote_ident(name))
                        .await?
                        .filter(col(PARTITION_COL).in_list(keep, false))?
                        .into_unoptimized_plan();
                    results.replace_dates(ctx, name, plan, &owned).await?
                }
            };
            committed.insert(name.clone(), v);
            if fail_after.is_some_and(|n| committed.len() >= n) {
                // Test hook: die like a killed process, mid-commit.
                tracing::error!("HALO_FAIL_AFTER_COMMITS reached: aborting");
                std::process::abort();
            }
        }
        let plan = rejects.plan_for(ctx, date, run_id).await?;
        let v = results
            .replace(ctx, rejects::TABLE, plan, Some(date))
            .await?;
        committed.insert(rejects::TABLE.into(), v);
        let outcome = DateOutcome {
            date,
            run_id: run_id.into(),
            status: "success".into(),
            exit_code: ExitKind::Success as i32,
            error: None,
            steps: steps.to_vec(),
            committed: committed.clone(),
        };
        runs::record(ctx, results, opts, loaded, &outcome, Utc::now()).await?;
        results.finish(run_id).await?;
        Ok(committed)
    }
}

/// Registers the job's views for `date`. Views marked `materialize` are
/// computed into staging (when `staging` is given) and reported like steps,
/// named `view:<name>`, so their cost shows in the summary and `runs`.
pub(crate) async fn register_views(
    ctx: &SessionContext,
    job: &Job,
    date: NaiveDate,
    run_id: &str,
    staging: Option<&Path>,
) -> Result<Vec<StepOutcome>> {
    let mut outcomes = Vec::new();
    for v in &job.views {
        let file = job.root.join(&v.sql);
        let sql = job::render(&read_file(&file)?, &file, job, date, run_id)?;
        let df = plan_sql(ctx, &sql, &file).await?;
        ctx.deregister_table(v.name.as_str())?;
        match staging {
            Some(dir) if v.materialize => {
                let started = Instant::now();
                let rows_out = stage(ctx, df, &dir.join("_views").join(&v.name), &v.name)
                    .await
                    .map_err(|e| e.context(format!("view {}", v.name)))?;
                let duration_ms = started.elapsed().as_millis() as u64;
                tracing::info!(view = %v.name, rows_out, duration_ms, "view materialized");
                outcomes.push(StepOutcome {
                    step: format!("view:{}", v.name),
                    output: String::new(),
                    status: "ok".into(),
                    reason: None,
                    rows_in: 0,
                    rows_out,
                    duration_ms,
                });
            }
            _ => {
                ctx.register_table(quote_ident(&v.name), df.into_view())?;
            }
        }
    }
    Ok(outcomes)
}

async fn dry_run(ctx: &SessionContext, opts: &RunOptions, summary: &mut RunSummary) -> Result<()> {
    summary.status = "dry_run".into();
    let found = catalog::register_raw(ctx, &opts.storage, &opts.input).await?;
    let present: HashSet<&str> = found
        .iter()
        .filter(|d| !d.files.is_empty())
        .map(|d| d.spec.name)
        .collect();
    for d in &found {
        // Plans read the typed raw tables: nothing is validated or written.
        ctx.register_table(
            d.spec.name,
            ctx.table(format!("raw.{}", d.spec.name)).await?.into_view(),
        )?;
        summary.input_files.extend(d.files.iter().cloned());
    }
    let dates = resolve_dates(ctx, opts).await?;
    let results_root = &opts.output;
    for date in dates {
        let run_id = "dry-run";
        let mut steps = Vec::new();
        let mut skipped: HashSet<String> = HashSet::new();
        register_decisions(ctx, &crate::payouts::ledger::Ledger::default(), date)?;
        register_views(ctx, &opts.job, date, run_id, None).await?;
        // Outputs of built-ins have no schema before they run.
        let mut unplanned: HashSet<String> = HashSet::new();
        for step in &opts.job.steps {
            let files = opts.job.files_of(step);
            let (inputs, checks) = files.split_at(step.input_count());
            let mut sqls = Vec::new();
            for f in inputs {
                sqls.push(job::render(&read_file(f)?, f, &opts.job, date, run_id)?);
            }
            let skip = step
                .requires
                .iter()
                .find(|t| !present.contains(t.as_str()))
                .map(|t| format!("input table {t} is absent"))
                .or_else(|| {
                    skipped
                        .iter()
                        .find(|s| sqls.iter().any(|sql| mentions(sql, s)))
                        .map(|s| format!("it reads {s}, whose step was skipped"))
                });
            if let Some(reason) = skip {
                skipped.extend(step.outputs.iter().cloned());
                steps.push(StepOutcome::skipped(step, reason));
                continue;
            }
            if let StepKind::Builtin { .. } = &step.kind {
                for t in &step.outputs {
                    unplanned.insert(t.clone());
                    unplanned.insert(format!("{t}_history"));
                }
            }
            if unplanned
                .iter()
                .any(|t| sqls.iter().any(|sql| mentions(sql, t)))
            {
                // It reads a built-in's output: planned for real at run time,
                // and so are the steps that read its own outputs.
                for t in &step.outputs {
                    unplanned.insert(t.clone());
                    unplanned.insert(format!("{t}_history"));
                }
                steps.push(StepOutcome::planned(step));
                continue;
            }
            for check in checks {
                let c = job::render(&read_file(check)?, check, &opts.job, date, run_id)?;
                plan_sql(ctx, &c, check).await?.into_optimized_plan()?;
            }
            let mut schema = None;
            for (sql, f) in sqls.iter().zip(inputs) {
                let plan = plan_sql(ctx, sql, f).await?.into_optimized_plan()?;
                schema = Some(Arc::new(plan.schema().as_arrow().clone()));
            }
            for table in &step.outputs {
                ctx.deregister_table(table.as_str())?;
                // Later steps may read a SQL output: register an empty table of its shape.
                if let (StepKind::Sql(_), Some(schema)) = (&step.kind, &schema) {
                    for name in [table.clone(), format!("{table}_history")] {
                        ctx.deregister_table(name.as_str())?;
                        ctx.register_table(
                            quote_ident(&name),
                            Arc::new(MemTable::try_new(schema.clone(), vec![vec![]])?),
                        )?;
                    }
                }
                let url = results_root
                    .join(&format!("{table}/"))
                    .map_err(|e| Error::Internal(e.to_string()))?;
                summary
                    .outputs
                    .push(format!("{} (partition {PARTITION_COL}={date})", url));
            }
            steps.push(StepOutcome::planned(step));
        }
        for t in [rejects::TABLE, runs::TABLE] {
            let url = results_root
                .join(&format!("{t}/"))
                .map_err(|e| Error::Internal(e.to_string()))?;
            summary.outputs.push(url.to_string());
        }
        summary.dates.push(DateOutcome {
            date,
            run_id: run_id.into(),
            status: "dry_run".into(),
            exit_code: 0,
            error: None,
            steps,
            committed: BTreeMap::new(),
        });
    }
    Ok(())
}
