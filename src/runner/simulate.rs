//! `halo payouts simulate`: what a proposed set of commission plans would have
//! paid on past orders, beside the current plans. The data is set up as a run
//! sets it up (session, validated input, views, the committed attribution as
//! `<table>_history`); the candidates SQL is the first input of the job's
//! `payouts` step, rendered once with the current plans and once with the
//! proposed ones; the payouts domain computes and compares.

use std::path::PathBuf;

use arrow::array::RecordBatch;
use chrono::{DateTime, NaiveDate, Utc};
use datafusion::prelude::ParquetReadOptions;
use url::Url;

use super::job::{Job, StepKind};
use super::{history, render, setup, step};
use crate::builtin;
use crate::error::{Error, Result};
use crate::payouts::simulate::{commissions, compare};
use crate::session::SessionOptions;
use crate::storage::Storage;
use crate::tables::ResultStore;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimulateOptions {
    /// The job (its payouts step's candidates SQL and its parameters).
    pub job: Job,
    /// Input root.
    pub input: Url,
    /// Output root (committed attribution is read from it).
    pub output: Url,
    /// Object stores.
    pub storage: Storage,
    /// A Parquet file of proposed plans, in the `commission_plans` contract.
    pub plans: PathBuf,
    /// First order date (local).
    pub from: NaiveDate,
    /// Last order date (local), inclusive.
    pub to: NaiveDate,
    /// Wall-clock time (future events are rejected as in a run).
    pub now: DateTime<Utc>,
}

/// Per creator and currency: orders and commissions under the current and
/// the proposed plans (commissions net of refunds up to `to`).
pub async fn simulate(o: &SimulateOptions) -> Result<RecordBatch> {
    if o.from > o.to {
        return Err(Error::Usage(format!(
            "--from {} is after --to {}",
            o.from, o.to
        )));
    }
    let Some(candidates) = o.job.steps.iter().find_map(|s| match &s.kind {
        StepKind::Builtin { name, inputs } if name == "payouts" => Some(inputs[0].clone()),
        _ => None,
    }) else {
        return Err(Error::Config(format!(
            "job {} has no payouts step whose candidates SQL could be simulated",
            o.job.origin
        )));
    };
    let ctx = setup::open_session(
        &o.storage,
        SessionOptions::default(),
        &[&o.input, &o.output],
    )?;
    let _loaded = setup::load(&ctx, &o.storage, &o.input, o.now, "simulate").await?;
    let results = ResultStore::new(o.storage.clone(), o.output.clone())?;
    for name in ["journeys", "touch_credit"] {
        let Some(hidden) = history::register_committed(&ctx, &results, name).await? else {
            return Err(Error::MissingInput(format!(
                "result table {name} does not exist under {}: run the nightly job over the dates first",
                o.output
            )));
        };
        let df = ctx
            .sql(&format!(
                "SELECT * FROM {hidden} WHERE dt <= DATE '{}'",
                o.to
            ))
            .await?;
        ctx.register_table(format!("{name}_history").as_str(), df.into_view())?;
    }
    // The decisions people took (a confirmed leak changes what a code pays).
    let anchors = crate::ledger::recorded_heads(&results).await?;
    let providers = super::prepare_providers(&o.job, &o.storage, &o.output, &anchors).await?;
    super::register_provided(&ctx, &providers, o.to)?;
    setup::register_views(&ctx, &o.job, o.to, "simulate", None).await?;
    let mut params = o.job.params.clone();
    let days = (o.to - o.from).num_days() + 2;
    params.extra.insert(
        crate::payouts::HISTORY_DAYS.name.into(),
        toml::Value::Integer(days),
    );
    let label = o.job.label(&candidates);
    let sql = render::render(&o.job.read(&candidates)?, &label, &params, o.to, "simulate")?;
    let current = builtin::collect(step::plan_sql(&ctx, &sql, &label).await?).await?;
    let current = commissions(&current, o.from, o.to)?;

    let plans = std::path::absolute(&o.plans)?;
    if !plans.exists() {
        return Err(Error::MissingInput(format!(
            "--plans {} does not exist",
            plans.display()
        )));
    }
    ctx.register_parquet(
        "_proposed_plans",
        plans.to_string_lossy().as_ref(),
        ParquetReadOptions::default(),
    )
    .await?;
    let has_leaked = ctx
        .table("_proposed_plans")
        .await?
        .schema()
        .has_column_with_unqualified_name("leaked_redemptions");
    let typed = ctx.sql(&typed_plans_sql(has_leaked)).await.map_err(|e| {
        Error::InvalidInput(format!(
            "--plans {}: not a commission_plans file (see docs/data-contract.md): {e}",
            plans.display()
        ))
    })?;
    ctx.deregister_table("commission_plans")?;
    ctx.register_table("commission_plans", typed.into_view())?;
    let proposed = builtin::collect(step::plan_sql(&ctx, &sql, &label).await?).await?;
    let proposed = commissions(&proposed, o.from, o.to)?;
    compare(&current, &proposed)
}

/// The proposed plans cast to the types the candidates SQL reads.
fn typed_plans_sql(has_leaked: bool) -> String {
    let leaked = if has_leaked {
        "CAST(leaked_redemptions AS VARCHAR)"
    } else {
        "CAST(NULL AS VARCHAR)"
    };
    format!(
        "SELECT CAST(plan_id AS VARCHAR) AS plan_id, CAST(creator_id AS VARCHAR) AS creator_id, \
     CAST(campaign_id AS VARCHAR) AS campaign_id, \
     arrow_cast(valid_from, 'Timestamp(Microsecond, Some(\"UTC\"))') AS valid_from, \
     arrow_cast(valid_to, 'Timestamp(Microsecond, Some(\"UTC\"))') AS valid_to, \
     CAST(rate_percent AS DECIMAL(9, 4)) AS rate_percent, \
     CAST(flat_per_order AS DECIMAL(18, 2)) AS flat_per_order, \
     CAST(new_customer_rate_percent AS DECIMAL(9, 4)) AS new_customer_rate_percent, \
     tiers, CAST(lock_days AS INT) AS lock_days, \
     CAST(credit_basis AS VARCHAR) AS credit_basis, CAST(currency AS VARCHAR) AS currency, \
     {leaked} AS leaked_redemptions \
     FROM _proposed_plans"
    )
}
