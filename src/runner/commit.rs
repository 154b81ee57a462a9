//! Commits one date's staged outputs as one pending-guarded group: the pending
//! marker, one Delta commit per table (checking the lease before each), the
//! date's `rejects`, its `runs` row, then the marker removed. Until the marker
//! goes, halo's readers see every table as it was before the run, and a run
//! that dies in between is rolled back by the next one (`recover`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use datafusion::prelude::{Expr, col, lit};

use super::rejects;
use super::runs;
use super::{DateOutcome, DateStatus, Invocation, StepOutcome};
use crate::error::{ExitKind, Result};
use crate::faults;
use crate::sqltext::quote_ident;
use crate::tables::{PARTITION_COL, Pending};
use crate::time::days_since_epoch;

impl Invocation<'_> {
    /// Commits the date's `written` outputs (table, staged folder), its
    /// rejects and its `runs` row. Returns each table's new version.
    pub(super) async fn commit(
        &self,
        written: &[(String, PathBuf)],
        date: NaiveDate,
        run_id: &str,
        started_at: DateTime<Utc>,
        steps: &[StepOutcome],
    ) -> Result<BTreeMap<String, u64>> {
        let Invocation {
            ctx,
            opts,
            loaded,
            results,
            rejects,
            lease,
            ..
        } = *self;
        faults::check("before_commit")?;
        faults::point("before_commit");
        lease.check().await?;
        let mut names: Vec<String> = written.iter().map(|(n, _)| n.clone()).collect();
        names.push(rejects::TABLE.into());
        names.push(runs::TABLE.into());
        let before = results.versions(&names).await?;
        results
            .begin(&Pending {
                run_id: run_id.into(),
                job: opts.job.name.clone(),
                before,
                date: Some(date),
                started_at: Some(started_at),
                lease: Some(lease.holder.lease),
            })
            .await?;
        let mut committed = BTreeMap::new();
        for (name, _) in written {
            faults::point("before_commit_table");
            lease.check().await?;
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
            faults::point("after_commit");
        }
        lease.check().await?;
        let plan = rejects.plan_for(ctx, date, run_id).await?;
        let v = results
            .replace(ctx, rejects::TABLE, plan, Some(date))
            .await?;
        committed.insert(rejects::TABLE.into(), v);
        faults::point("before_runs_row");
        let outcome = DateOutcome {
            date,
            run_id: run_id.into(),
            status: DateStatus::Success,
            exit_code: ExitKind::Success as i32,
            error: None,
            steps: steps.to_vec(),
            committed: committed.clone(),
        };
        runs::record(
            ctx,
            results,
            opts,
            loaded,
            &outcome,
            started_at,
            &self.heads,
        )
        .await?;
        results.finish(run_id).await?;
        Ok(committed)
    }
}
