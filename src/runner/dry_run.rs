//! `halo run --dry-run`: every step of every date through the same path as a
//! run (skip or render, plan, check what it reads against `requires`, check a
//! SQL step's result against its declared table), on the typed raw tables,
//! without validating, executing or writing anything. In place of each
//! output, an empty table of its declared schema is registered, so later
//! steps plan against exactly what a run would give them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

use super::job::StepKind;
use super::step::{self, Prepared, StepOutcome};
use super::{DateOutcome, DateStatus, RunOptions, RunSummary, rejects, runs, setup};
use crate::catalog;
use crate::error::{Error, Result};
use crate::sqltext::quote_ident;
use crate::tables::PARTITION_COL;

/// Plans the run of `opts` into `summary`.
pub async fn run(opts: &RunOptions, summary: &mut RunSummary) -> Result<()> {
    summary.status = DateStatus::DryRun;
    let ctx = setup::open_session(&opts.storage, opts.session, &[&opts.input])?;
    let found = catalog::register_raw(&ctx, &opts.storage, &opts.input).await?;
    let present: BTreeSet<&str> = found
        .iter()
        .filter(|d| !d.files.is_empty())
        .map(|d| d.spec.name)
        .collect();
    for d in &found {
        // Plans need only the clean tables' schema, as a run has it (a
        // present table's columns are nullable, like its validated rows; an
        // absent one is the contract's): nothing is validated, read or
        // written. The files were checked against the contract when found.
        let fields = d
            .spec
            .arrow_fields()
            .into_iter()
            .map(|f| {
                if d.files.is_empty() {
                    f
                } else {
                    f.with_nullable(true)
                }
            })
            .collect::<Vec<_>>();
        let schema = Arc::new(arrow::datatypes::Schema::new(fields));
        ctx.register_table(
            d.spec.name,
            Arc::new(MemTable::try_new(schema, vec![vec![]])?),
        )?;
        summary.input_files.extend(d.files.iter().cloned());
    }
    let dates = super::resolve_dates(&ctx, opts, "raw.sessions").await?;
    let providers = super::prepare_providers(&opts.job, &opts.storage, &opts.output, &[]).await?;
    let job = &opts.job;
    for date in dates {
        let run_id = "dry-run";
        let mut steps = Vec::new();
        let mut skipped: BTreeSet<String> = BTreeSet::new();
        super::register_provided(&ctx, &providers, date)?;
        let views = setup::register_views(&ctx, job, date, run_id, None).await?;
        let is_present = |t: &str| present.contains(t);
        for s in &job.steps {
            let planned = match step::prepare(job, s, date, run_id, &is_present, &skipped)? {
                Prepared::Skip(reason) => {
                    skipped.extend(s.outputs.iter().cloned());
                    steps.push(StepOutcome::skipped(s, reason));
                    continue;
                }
                Prepared::Ready { inputs, checks } => {
                    step::plan(&ctx, job, s, &inputs, &checks, &BTreeMap::new())
                        .await
                        .map_err(|e| e.context(format!("step {}", s.name)))?
                }
            };
            for (i, table) in s.outputs.iter().enumerate() {
                let schema = match (&s.kind, job.table(table)) {
                    (StepKind::Sql(_), decl) => {
                        let label = job.label(&s.input_files()[0]);
                        let df = step::with_partition(
                            planned.inputs[i].clone(),
                            s,
                            table,
                            date,
                            &label,
                        )?;
                        if let Some(decl) = decl {
                            decl.check(df.schema().as_arrow())
                                .map_err(|e| e.context(format!("step {}: {label}", s.name)))?;
                        }
                        Arc::new(df.schema().as_arrow().clone())
                    }
                    (StepKind::Builtin { .. }, Some(decl)) => decl.schema()?,
                    (StepKind::Builtin { name, .. }, None) => {
                        return Err(Error::Internal(format!(
                            "built-in {name} writes {table}, which has no declaration"
                        )));
                    }
                };
                register_empty(&ctx, table, schema)?;
                if !s.scratch {
                    let url = opts
                        .output
                        .join(&format!("{table}/"))
                        .map_err(|e| Error::Internal(e.to_string()))?;
                    summary
                        .outputs
                        .push(format!("{url} (partition {PARTITION_COL}={date})"));
                }
            }
            steps.push(StepOutcome::planned(s));
        }
        let _ = views;
        for t in [rejects::TABLE, runs::TABLE] {
            let url = opts
                .output
                .join(&format!("{t}/"))
                .map_err(|e| Error::Internal(e.to_string()))?;
            summary.outputs.push(url.to_string());
        }
        summary.dates.push(DateOutcome {
            date,
            run_id: run_id.into(),
            status: DateStatus::DryRun,
            exit_code: 0,
            error: None,
            steps,
            committed: BTreeMap::new(),
        });
    }
    Ok(())
}

/// Registers an empty `table` and `<table>_history` of `schema`.
fn register_empty(
    ctx: &SessionContext,
    table: &str,
    schema: arrow::datatypes::SchemaRef,
) -> Result<()> {
    for name in [table.to_string(), format!("{table}_history")] {
        ctx.deregister_table(name.as_str())?;
        ctx.register_table(
            quote_ident(&name),
            Arc::new(MemTable::try_new(schema.clone(), vec![vec![]])?),
        )?;
    }
    Ok(())
}
