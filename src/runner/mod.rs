//! Runs a job for one date or a range of dates.
//!
//! The flow of one invocation ([`run`]):
//! 1. take the output root's lease (`crate::lease`; exit 75 while another
//!    writer holds it), remove the staging folders of runs that are gone,
//!    and roll back any run that did not finish (`tables::store`), recording
//!    it in `runs`;
//! 2. load and validate the input once (`setup`), staging clean tables in a
//!    private folder, and prepare what built-ins bring from outside the input
//!    (the decisions people took, from the ledger);
//! 3. per date: register the views, take each step through its one path
//!    (`step`: skip or render, plan and check its reads, execute, stage), then
//!    commit all of the date's tables as one pending-guarded group (`commit`)
//!    and append the date's row to `runs`.
//!
//! Dates commit independently: a backfill keeps going past a failed date and
//! reports it; re-running any date replaces exactly its partitions. The dry
//! run (`dry_run`) goes through the same step path without executing.

pub mod builtins;
pub mod commit;
pub mod dry_run;
pub mod history;
pub mod job;
pub mod rejects;
pub mod render;
pub mod runs;
pub mod setup;
pub mod simulate;
pub mod step;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use serde::Serialize;
use url::Url;

use crate::builtin::{Provider, Setup};
use crate::catalog::{self, LoadedInput};
use crate::error::{Error, Result};
use crate::faults;
use crate::lease::Lease;
use crate::ledger::Head;
use crate::session::SessionOptions;
use crate::storage::Storage;
use crate::tables::ResultStore;
use job::{Job, Step};
pub use step::{StepOutcome, StepStatus};

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
    pub session: SessionOptions,
    /// A lease without heartbeats for this long is taken over.
    pub lease_timeout: Duration,
}

/// How a date, or the whole invocation, ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DateStatus {
    /// Committed.
    Success,
    /// Stopped by an error.
    Failed,
    /// Planned only.
    DryRun,
}

/// The outcome of one date.
#[derive(Debug, Clone, Serialize)]
pub struct DateOutcome {
    /// The date.
    pub date: NaiveDate,
    /// The attempt's id.
    pub run_id: String,
    /// How it ended.
    pub status: DateStatus,
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
    /// How it ended (`failed` when any date failed).
    pub status: DateStatus,
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
    /// Date attempts killed before their first commit, found before this run
    /// started.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub abandoned_runs: Vec<String>,
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

impl RunSummary {
    fn new(opts: &RunOptions) -> Self {
        RunSummary {
            job: opts.job.name.clone(),
            status: DateStatus::Success,
            exit_code: 0,
            input: opts.input.to_string(),
            output: opts.output.to_string(),
            halo_version: VERSION.into(),
            dates: Vec::new(),
            inputs: Vec::new(),
            rejected_rows: 0,
            recovered_runs: Vec::new(),
            abandoned_runs: Vec::new(),
            load_ms: 0,
            duration_ms: 0,
            input_files: Vec::new(),
            outputs: Vec::new(),
        }
    }
}

/// Runs the job. Errors that stop the whole invocation (bad input files,
/// missing tables, bad config, a busy output root) are returned; per-date
/// failures are reported in the summary with their exit code.
pub async fn run(opts: RunOptions) -> Result<RunSummary> {
    let started = Instant::now();
    let mut summary = RunSummary::new(&opts);
    if opts.dry_run {
        dry_run::run(&opts, &mut summary).await?;
        summary.duration_ms = started.elapsed().as_millis() as u64;
        return Ok(summary);
    }
    let results = ResultStore::new(opts.storage.clone(), opts.output.clone())?;
    let invocation_id = uuid::Uuid::now_v7().to_string();
    let acquired = Lease::acquire(
        &opts.storage,
        &opts.output,
        &format!("run {}", opts.job.name),
        &invocation_id,
        opts.lease_timeout,
    )
    .await?;
    let lease = acquired.lease;
    let outcome = run_holding(&opts, &results, &lease, acquired.abandoned, &mut summary).await;
    let released = lease.release().await;
    outcome?;
    released?;
    summary.duration_ms = started.elapsed().as_millis() as u64;
    Ok(summary)
}

async fn run_holding(
    opts: &RunOptions,
    results: &ResultStore,
    lease: &Lease,
    abandoned: Option<crate::lease::Abandoned>,
    summary: &mut RunSummary,
) -> Result<()> {
    let ctx = setup::open_session(&opts.storage, opts.session, &[&opts.input, &opts.output])?;
    crate::staging::remove_abandoned()?;
    // A marker's tables are restored before its run is recorded (`runs` is
    // one of them), so an interrupted recovery that recorded already records
    // again after its row was rolled back with the rest: once in the end.
    let recovered = results
        .recover(|p| {
            let ctx = &ctx;
            async move { runs::record_rolled_back(ctx, results, &p).await }
        })
        .await?;
    summary.recovered_runs = recovered.iter().map(|p| p.run_id.clone()).collect();
    if let Some(a) = abandoned
        && let Some(id) = a.heartbeat.date_run_id.clone()
        && !runs::recorded(&ctx, results).await?.contains(&id)
    {
        runs::record_abandoned(&ctx, results, &a, &opts.job.name).await?;
        summary.abandoned_runs.push(id);
    }

    let loaded = setup::load(&ctx, &opts.storage, &opts.input, opts.now, "run").await?;
    summary.load_ms = loaded.load_ms;
    summary.rejected_rows = loaded.input.rejected();
    summary.inputs = loaded.input.tables.clone();
    let dates = resolve_dates(&ctx, opts, "sessions").await?;
    let rejects = rejects::stage(&ctx, &loaded.input, loaded.staging.path()).await?;
    let anchors = crate::ledger::recorded_heads(results).await?;
    let providers = prepare_providers(&opts.job, &opts.storage, &opts.output, &anchors).await?;
    let heads: Vec<Head> = providers.iter().flat_map(|p| p.heads()).collect();
    let invocation = Invocation {
        ctx: &ctx,
        opts,
        loaded: &loaded.input,
        results,
        staging: loaded.staging.path(),
        rejects: &rejects,
        lease,
        providers: &providers,
        heads,
    };

    for date in dates {
        let run_id = uuid::Uuid::now_v7().to_string();
        let date_started = Utc::now();
        lease
            .working_on(Some((date, &run_id, date_started)))
            .await?;
        let outcome = invocation.run_date(date, &run_id, date_started).await;
        let outcome = match outcome {
            Ok((steps, committed)) => DateOutcome {
                date,
                run_id,
                status: DateStatus::Success,
                exit_code: 0,
                error: None,
                steps,
                committed,
            },
            Err((e, steps)) => {
                tracing::error!(%date, error = %e, "date failed");
                let failed = DateOutcome {
                    date,
                    run_id,
                    status: DateStatus::Failed,
                    exit_code: e.exit_code(),
                    error: Some(e.to_string()),
                    steps,
                    committed: BTreeMap::new(),
                };
                // A run that lost its lease records nothing more: the
                // writer that took over owns the root now.
                if e.exit_code() != 75 || lease.check().await.is_ok() {
                    runs::record(
                        &ctx,
                        results,
                        opts,
                        &loaded.input,
                        &failed,
                        date_started,
                        &invocation.heads,
                    )
                    .await?;
                }
                failed
            }
        };
        summary.dates.push(outcome);
        lease.working_on(None).await?;
        faults::point("after_date");
    }
    if let Some(code) = summary.dates.iter().map(|d| d.exit_code).find(|c| *c != 0) {
        summary.status = DateStatus::Failed;
        summary.exit_code = code;
    }
    Ok(())
}

/// Prepares, once per invocation, what the job's built-ins bring from outside
/// the input root.
pub async fn prepare_providers(
    job: &Job,
    storage: &Storage,
    output: &Url,
    anchors: &[Head],
) -> Result<Vec<Box<dyn Provider>>> {
    let setup = Setup {
        storage,
        output,
        anchors,
    };
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for s in &job.steps {
        let job::StepKind::Builtin { name, .. } = &s.kind else {
            continue;
        };
        let Some(b) = builtins::lookup(name) else {
            continue;
        };
        if let Some(prepare) = b.prepare
            && seen.insert(b.name)
        {
            out.push(prepare(setup).await?);
        }
    }
    Ok(out)
}

/// Registers the tables the providers bring for `date`.
pub fn register_provided(
    ctx: &SessionContext,
    providers: &[Box<dyn Provider>],
    date: NaiveDate,
) -> Result<()> {
    for p in providers {
        for (name, batch) in p.tables(date)? {
            ctx.deregister_table(name)?;
            ctx.register_table(
                name,
                std::sync::Arc::new(MemTable::try_new(batch.schema(), vec![vec![batch]])?),
            )?;
        }
    }
    Ok(())
}

/// The dates a run covers; the default is the last complete day: the last day
/// (in the job's time zone) that ends no later than one hour after the newest
/// session of `sessions` (the clean table in a run, `raw.sessions` in a dry
/// run).
pub async fn resolve_dates(
    ctx: &SessionContext,
    opts: &RunOptions,
    sessions: &str,
) -> Result<Vec<NaiveDate>> {
    match opts.dates {
        Dates::One(d) => Ok(vec![d]),
        Dates::Range(a, b) if a <= b => Ok(a.iter_days().take_while(|d| *d <= b).collect()),
        Dates::Range(a, b) => Err(Error::Usage(format!("--from {a} is after --to {b}"))),
        Dates::LastComplete => {
            let m = step::scalar_i64(
                ctx,
                &format!("SELECT CAST(max(started_at) AS BIGINT) FROM {sessions}"),
            )
            .await?;
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
pub(crate) struct Invocation<'a> {
    ctx: &'a SessionContext,
    opts: &'a RunOptions,
    loaded: &'a LoadedInput,
    results: &'a ResultStore,
    staging: &'a Path,
    rejects: &'a rejects::Staged,
    lease: &'a Lease,
    providers: &'a [Box<dyn Provider>],
    heads: Vec<Head>,
}

impl Invocation<'_> {
    async fn run_date(
        &self,
        date: NaiveDate,
        run_id: &str,
        started_at: DateTime<Utc>,
    ) -> DateResult {
        let mut steps = Vec::new();
        match self.compute_date(date, run_id, &mut steps).await {
            Ok(written) => match self
                .commit(&written, date, run_id, started_at, &steps)
                .await
            {
                Ok(c) => Ok((steps, c)),
                Err(e) => Err((e, steps)),
            },
            Err(e) => Err((e, steps)),
        }
    }

    /// Runs every step of the date into staging; returns the outputs to commit.
    async fn compute_date(
        &self,
        date: NaiveDate,
        run_id: &str,
        steps: &mut Vec<StepOutcome>,
    ) -> Result<Vec<(String, PathBuf)>> {
        let Invocation {
            ctx, opts, loaded, ..
        } = *self;
        let job = &opts.job;
        tracing::info!(%date, run_id, job = %job.name, "running");
        let dir = self.staging.join("runs").join(run_id);
        let mut row_counts: HashMap<String, u64> = loaded
            .tables
            .iter()
            .map(|t| (t.table.clone(), t.counts.clean))
            .collect();
        let mut skipped: BTreeSet<String> = BTreeSet::new();
        let mut written: Vec<(String, PathBuf)> = Vec::new();
        register_provided(ctx, self.providers, date)?;
        let views = setup::register_views(ctx, job, date, run_id, Some(&dir)).await?;
        steps.extend(views.outcomes);
        let present = |t: &str| loaded.present(t);
        for s in &job.steps {
            let outcome = self
                .run_step(
                    s,
                    date,
                    run_id,
                    &dir,
                    &present,
                    &skipped,
                    &views.scans,
                    &row_counts,
                )
                .await
                .map_err(|e| e.context(format!("step {}", s.name)))?;
            match outcome {
                Ran::Skipped(reason) => {
                    tracing::warn!(step = %s.name, %reason, "step skipped");
                    skipped.extend(s.outputs.iter().cloned());
                    steps.push(StepOutcome::skipped(s, reason));
                }
                Ran::Done(outcome, outputs) => {
                    for o in outputs {
                        row_counts.insert(o.table.clone(), o.rows);
                        if !s.scratch {
                            history::register(
                                ctx,
                                self.results,
                                &o.table,
                                date,
                                s.rolling_days.get(&o.table).copied(),
                            )
                            .await
                            .map_err(|e| e.context(format!("step {}", s.name)))?;
                            written.push((o.table, o.path));
                        }
                    }
                    steps.push(outcome);
                }
            }
        }
        Ok(written)
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_step(
        &self,
        s: &Step,
        date: NaiveDate,
        run_id: &str,
        dir: &Path,
        present: &dyn Fn(&str) -> bool,
        skipped: &BTreeSet<String>,
        view_scans: &BTreeMap<String, Vec<String>>,
        row_counts: &HashMap<String, u64>,
    ) -> Result<Ran> {
        let job = &self.opts.job;
        let (inputs, checks) = match step::prepare(job, s, date, run_id, present, skipped)? {
            step::Prepared::Skip(reason) => return Ok(Ran::Skipped(reason)),
            step::Prepared::Ready { inputs, checks } => (inputs, checks),
        };
        let planned = step::plan(self.ctx, job, s, &inputs, &checks, view_scans).await?;
        let x = step::Execution {
            ctx: self.ctx,
            job,
            date,
            dir,
            row_counts,
        };
        let (outcome, outputs) = step::execute(&x, s, planned).await?;
        Ok(Ran::Done(outcome, outputs))
    }
}

enum Ran {
    Skipped(String),
    Done(StepOutcome, Vec<step::StagedOutput>),
}
