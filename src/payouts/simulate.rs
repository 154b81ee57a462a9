//! What-if for commission plans: what a proposed set of plans would have paid
//! on past orders, beside what the current plans pay, with the same rules and
//! the same attribution (the committed `journeys` and `touch_credit`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{ArrayRef, Decimal128Array, Int64Array, RecordBatch, StringArray};
use chrono::{DateTime, NaiveDate, Utc};
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use url::Url;

use super::rules::{Commission, evaluate};
use crate::error::{Error, Result};
use crate::runner::job::{Job, render};
use crate::runner::session::{SessionOptions, session};
use crate::storage::Storage;
use crate::tables::ResultStore;
use crate::transforms::Table;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimulateOptions {
    /// The job (its candidates SQL and parameters).
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

const CANDIDATES: &str = "sql/payouts/010_candidates.sql";

async fn commissions(
    ctx: &SessionContext,
    sql: &str,
    o: &SimulateOptions,
) -> Result<Vec<Commission>> {
    let df = ctx
        .sql(sql)
        .await
        .map_err(|e| Error::Config(format!("{CANDIDATES}: {e}")))?;
    let schema = df.schema().inner().clone();
    let t = Table::new(schema, df.collect().await?);
    let cands = super::read_candidates(&t)?;
    let mut out = evaluate(&cands)?;
    out.retain(|c| c.order_date >= o.from && c.order_date <= o.to);
    Ok(out)
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
    let ctx = session(SessionOptions::default())?;
    o.storage.register(&ctx, &o.input)?;
    let staging = tempfile::Builder::new()
        .prefix("halo-simulate-")
        .tempdir()?;
    crate::catalog::load_validated(
        &ctx,
        &o.storage,
        &o.input,
        o.now.timestamp_micros(),
        staging.path(),
    )
    .await?;
    let results = ResultStore::new(o.storage.clone(), o.output.clone())?;
    o.storage.register(&ctx, &o.output)?;
    for name in ["journeys", "touch_credit"] {
        let Some(hidden) = crate::runner::register_committed(&ctx, &results, name).await? else {
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
    crate::runner::register_views(&ctx, &o.job, o.to, "simulate", None).await?;
    let mut job = o.job.clone();
    let days = (o.to - o.from).num_days() + 2;
    job.params
        .extra
        .insert("payout_history_days".into(), toml::Value::Integer(days));
    let file = job.root.join(CANDIDATES);
    let text = std::fs::read_to_string(&file)
        .map_err(|e| Error::Config(format!("cannot read {}: {e}", file.display())))?;
    let sql = render(&text, &file, &job, o.to, "simulate")?;
    let current = commissions(&ctx, &sql, o).await?;

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
    let typed = ctx
        .sql(
            "SELECT CAST(plan_id AS VARCHAR) AS plan_id, CAST(creator_id AS VARCHAR) AS creator_id, \
             CAST(campaign_id AS VARCHAR) AS campaign_id, \
             arrow_cast(valid_from, 'Timestamp(Microsecond, Some(\"UTC\"))') AS valid_from, \
             arrow_cast(valid_to, 'Timestamp(Microsecond, Some(\"UTC\"))') AS valid_to, \
             CAST(rate_percent AS DECIMAL(9, 4)) AS rate_percent, \
             CAST(flat_per_order AS DECIMAL(18, 2)) AS flat_per_order, \
             CAST(new_customer_rate_percent AS DECIMAL(9, 4)) AS new_customer_rate_percent, \
             tiers, CAST(lock_days AS INT) AS lock_days, \
             CAST(credit_basis AS VARCHAR) AS credit_basis, CAST(currency AS VARCHAR) AS currency \
             FROM _proposed_plans",
        )
        .await
        .map_err(|e| {
            Error::InvalidInput(format!(
                "--plans {}: not a commission_plans file (see docs/data-contract.md): {e}",
                plans.display()
            ))
        })?;
    ctx.deregister_table("commission_plans")?;
    ctx.register_table("commission_plans", typed.into_view())?;
    let proposed = commissions(&ctx, &sql, o).await?;
    summarize(&current, &proposed)
}

fn summarize(current: &[Commission], proposed: &[Commission]) -> Result<RecordBatch> {
    // (creator, currency) → [orders, amount] for current and proposed.
    let mut by: BTreeMap<(String, String), [i128; 4]> = BTreeMap::new();
    for (i, set) in [current, proposed].into_iter().enumerate() {
        for c in set.iter().filter(|c| c.commissionable) {
            let cur = c
                .plan
                .as_ref()
                .map(|p| p.currency.clone())
                .unwrap_or_default();
            let e = by.entry((c.creator_id.clone(), cur)).or_insert([0; 4]);
            e[i * 2] += 1;
            e[i * 2 + 1] += c.amount;
        }
    }
    let keys: Vec<_> = by.keys().cloned().collect();
    let vals: Vec<_> = by.values().copied().collect();
    let money = |j: usize| -> Result<ArrayRef> {
        Ok(Arc::new(
            vals.iter()
                .map(|v| Some(v[j]))
                .collect::<Decimal128Array>()
                .with_precision_and_scale(18, 2)?,
        ))
    };
    let diff: ArrayRef = Arc::new(
        vals.iter()
            .map(|v| Some(v[3] - v[1]))
            .collect::<Decimal128Array>()
            .with_precision_and_scale(18, 2)?,
    );
    Ok(RecordBatch::try_from_iter(vec![
        (
            "creator_id",
            Arc::new(
                keys.iter()
                    .map(|k| Some(k.0.as_str()))
                    .collect::<StringArray>(),
            ) as ArrayRef,
        ),
        (
            "currency",
            Arc::new(
                keys.iter()
                    .map(|k| Some(k.1.as_str()))
                    .collect::<StringArray>(),
            ),
        ),
        (
            "current_orders",
            Arc::new(
                vals.iter()
                    .map(|v| Some(v[0] as i64))
                    .collect::<Int64Array>(),
            ),
        ),
        ("current_commission", money(1)?),
        (
            "proposed_orders",
            Arc::new(
                vals.iter()
                    .map(|v| Some(v[2] as i64))
                    .collect::<Int64Array>(),
            ),
        ),
        ("proposed_commission", money(3)?),
        ("difference", diff),
    ])?)
}
