//! What every command that computes starts from: a session that knows the
//! roots' stores, the input loaded and validated into a private staging
//! folder, and the job's views for a date. `halo run`, `halo validate` and
//! `halo payouts simulate` all come through here.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use datafusion::prelude::SessionContext;
use url::Url;

use super::job::Job;
use super::step::{StepOutcome, scanned_tables, stage};
use crate::catalog::{self, LoadedInput};
use crate::error::Result;
use crate::session::{SessionOptions, session};
use crate::sqltext::quote_ident;
use crate::staging::Staging;
use crate::storage::Storage;

/// A session whose object stores know `roots`.
pub fn open_session(
    storage: &Storage,
    opts: SessionOptions,
    roots: &[&Url],
) -> Result<SessionContext> {
    let ctx = session(opts)?;
    for root in roots {
        storage.register(&ctx, root)?;
    }
    Ok(ctx)
}

/// The input, validated and staged.
#[derive(Debug)]
pub struct Loaded {
    /// What was found and rejected.
    pub input: LoadedInput,
    /// Where the validated tables are staged (removed when dropped).
    pub staging: Staging,
    /// Wall time of loading and validating.
    pub load_ms: u64,
}

/// Loads and validates every input table under `input` into a new staging
/// folder (`halo-<purpose>-*`); events after `now` are rejected.
pub async fn load(
    ctx: &SessionContext,
    storage: &Storage,
    input: &Url,
    now: DateTime<Utc>,
    purpose: &str,
) -> Result<Loaded> {
    let staging = Staging::create(purpose)?;
    let started = Instant::now();
    let loaded =
        catalog::load_validated(ctx, storage, input, now.timestamp_micros(), staging.path())
            .await?;
    Ok(Loaded {
        input: loaded,
        staging,
        load_ms: started.elapsed().as_millis() as u64,
    })
}

/// `halo validate`: a default session and the loaded input.
pub async fn validate(storage: &Storage, input: &Url, now: DateTime<Utc>) -> Result<LoadedInput> {
    let ctx = open_session(storage, SessionOptions::default(), &[input])?;
    Ok(load(&ctx, storage, input, now, "validate").await?.input)
}

/// The job's views as registered for one date.
#[derive(Debug, Default)]
pub struct Views {
    /// The materialized views, reported like steps (`view:<name>`).
    pub outcomes: Vec<StepOutcome>,
    /// The tables each materialized view reads: a step that reads the view
    /// reads them.
    pub scans: BTreeMap<String, Vec<String>>,
}

/// Registers the job's views for `date`. Views marked `materialize` are
/// computed into `staging` (when given) and reported like steps, named
/// `view:<name>`, so their cost shows in the summary and `runs`.
pub async fn register_views(
    ctx: &SessionContext,
    job: &Job,
    date: NaiveDate,
    run_id: &str,
    staging: Option<&Path>,
) -> Result<Views> {
    let mut views = Views::default();
    for v in &job.views {
        let label = job.label(&v.sql);
        let sql = super::render::render(&job.read(&v.sql)?, &label, &job.params, date, run_id)?;
        let df = super::step::plan_sql(ctx, &sql, &label).await?;
        ctx.deregister_table(v.name.as_str())?;
        if v.materialize {
            let mut reads = scanned_tables(df.logical_plan());
            // A view reading an earlier materialized view reads its tables.
            for t in reads.clone() {
                if let Some(inner) = views.scans.get(&t) {
                    reads.extend(inner.iter().cloned());
                }
            }
            reads.sort();
            reads.dedup();
            views.scans.insert(v.name.clone(), reads);
        }
        match staging {
            Some(dir) if v.materialize => {
                let started = Instant::now();
                let rows_out = stage(ctx, df, &dir.join("_views").join(&v.name), &v.name)
                    .await
                    .map_err(|e| e.context(format!("view {}", v.name)))?;
                let duration_ms = started.elapsed().as_millis() as u64;
                tracing::info!(view = %v.name, rows_out, duration_ms, "view materialized");
                views
                    .outcomes
                    .push(StepOutcome::view(&v.name, rows_out, duration_ms));
            }
            _ => {
                ctx.register_table(quote_ident(&v.name), df.into_view())?;
            }
        }
    }
    Ok(views)
}
