//! Commission payouts (built-in `payouts`): what each creator is owed, line by
//! line, and the payouts people approve before anything is paid.
//!
//! The SQL input joins orders, refunds, codes, last clicks, model credit,
//! exchange rates and every plan valid for each (order, creator) pair;
//! [`rules`] picks the plan and computes the commission, [`book`] turns
//! commissions and the decisions of the [`ledger`] into `payout_lines` and
//! `payouts`. See docs/payouts.md.

pub mod approval;
pub mod arrow_io;
pub mod book;
pub mod decide;
pub mod rules;
pub mod simulate;
pub mod snapshot;

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, ListArray, StructArray};
use bigdecimal::BigDecimal;

use datafusion::prelude::DataFrame;

use crate::builtin::{self, Context, Table};
use crate::error::{Error, Result};
use crate::money::big;
use crate::params::Param;
use arrow_io::Cols;
use book::Decided;
use rules::{Candidate, Plan};

/// The label of the candidates input in error messages.
const CANDIDATES: &str = "the payouts step's candidates input";

/// `payout_history_days` (read by `sql/payouts/010_candidates.sql`).
pub const HISTORY_DAYS: Param = Param::int(
    "payout_history_days",
    120,
    1,
    "orders of this many days up to the run date have their commissions (re)computed each run",
);

/// The parameters of payouts.
pub const PARAMS: &[Param] = &[HISTORY_DAYS];

fn tiers_at(list: &ListArray, i: usize) -> Result<Vec<(BigDecimal, BigDecimal)>> {
    if list.is_null(i) {
        return Ok(Vec::new());
    }
    let v = list.value(i);
    let s: &StructArray = v.as_struct();
    let from = s
        .column_by_name("monthly_revenue_from")
        .ok_or_else(|| Error::Config(format!("{CANDIDATES}: tiers need monthly_revenue_from")))?;
    let rate = s
        .column_by_name("rate_percent")
        .ok_or_else(|| Error::Config(format!("{CANDIDATES}: tiers need rate_percent")))?;
    let scale = |a: &dyn Array| match a.data_type() {
        arrow::datatypes::DataType::Decimal128(_, s) => Ok(*s),
        other => Err(Error::Config(format!(
            "{CANDIDATES}: tier values must be decimals, found {other}"
        ))),
    };
    let (fs, rs) = (scale(from.as_ref())?, scale(rate.as_ref())?);
    let f = from.as_primitive::<arrow::datatypes::Decimal128Type>();
    let r = rate.as_primitive::<arrow::datatypes::Decimal128Type>();
    Ok((0..s.len())
        .filter(|j| f.is_valid(*j) && r.is_valid(*j))
        .map(|j| (big(f.value(j), fs), big(r.value(j), rs)))
        .collect())
}

/// Reads the candidate rows (one per order, creator and valid plan; plan
/// columns null when no plan is valid) into candidates, in key order.
pub fn read_candidates(t: &Table) -> Result<Vec<Candidate>> {
    let mut by_key: BTreeMap<(String, String), Candidate> = BTreeMap::new();
    for b in &t.batches {
        let c = Cols {
            batch: b,
            input: CANDIDATES,
        };
        let order = c.strings("order_id")?;
        let creator = c.strings("creator_id")?;
        let ordered_at = c.micros("ordered_at")?;
        let order_date = c.dates("order_date")?;
        let revenue = c.decimals("revenue")?;
        let currency = c.strings("currency")?;
        let order_rate = c.decimals("order_rate")?;
        let is_new = c.bools("is_new_customer")?;
        let refunded = c.decimals("refunded")?;
        let last_refund = c.micros("last_refund_at")?;
        let has_code = c.bools("has_code")?;
        let has_link = c.bools("has_link")?;
        let model_credit = c.decimals("model_credit")?;
        let model_value = c.decimals("model_value")?;
        let touch_campaign = c.strings("touch_campaign")?;
        let leaked_code = c.strings("leaked_code")?;
        let leaked_redemptions = c.strings("leaked_redemptions")?;
        let plan_id = c.strings("plan_id")?;
        let plan_campaign = c.strings("plan_campaign_id")?;
        let valid_from = c.micros("plan_valid_from")?;
        let rate = c.decimals("rate_percent")?;
        let flat = c.decimals("flat_per_order")?;
        let new_rate = c.decimals("new_customer_rate_percent")?;
        let tiers = c.array("tiers")?;
        let tiers = arrow::compute::cast(
            tiers,
            &arrow::datatypes::DataType::List(std::sync::Arc::new(arrow::datatypes::Field::new(
                "item",
                match tiers.data_type() {
                    arrow::datatypes::DataType::List(f)
                    | arrow::datatypes::DataType::LargeList(f)
                    | arrow::datatypes::DataType::ListView(f) => f.data_type().clone(),
                    other => {
                        return Err(Error::Config(format!(
                            "{CANDIDATES}: tiers must be a list, found {other}"
                        )));
                    }
                },
                true,
            ))),
        )?;
        let tiers = tiers.as_list::<i32>();
        let lock_days = c.ints("lock_days")?;
        let basis = c.strings("credit_basis")?;
        let plan_currency = c.strings("plan_currency")?;
        let plan_rate = c.decimals("plan_rate")?;
        for i in 0..b.num_rows() {
            let key = (order.value(i).to_string(), creator.value(i).to_string());
            let cand = by_key.entry(key.clone()).or_insert_with(|| Candidate {
                order_id: key.0.clone(),
                creator_id: key.1.clone(),
                ordered_at: ordered_at[i].unwrap_or(0),
                order_date: order_date[i].unwrap_or_default(),
                revenue: revenue[i].clone().unwrap_or_default(),
                currency: currency.value(i).to_string(),
                order_rate: order_rate[i].clone(),
                is_new_customer: is_new.is_valid(i) && is_new.value(i),
                refunded: refunded[i].clone().unwrap_or_default(),
                last_refund_at: last_refund[i],
                has_code: has_code.is_valid(i) && has_code.value(i),
                has_link: has_link.is_valid(i) && has_link.value(i),
                model_credit: model_credit[i].clone(),
                model_value: model_value[i].clone(),
                touch_campaign: touch_campaign
                    .is_valid(i)
                    .then(|| touch_campaign.value(i).to_string()),
                leaked_code: leaked_code
                    .is_valid(i)
                    .then(|| leaked_code.value(i).to_string()),
                plans: Vec::new(),
            });
            if plan_id.is_null(i) {
                continue;
            }
            cand.plans.push(Plan {
                plan_id: plan_id.value(i).to_string(),
                campaign_id: plan_campaign
                    .is_valid(i)
                    .then(|| plan_campaign.value(i).to_string()),
                valid_from: valid_from[i].unwrap_or(i64::MIN),
                rate_percent: rate[i].clone(),
                flat_per_order: flat[i].clone(),
                new_customer_rate_percent: new_rate[i].clone(),
                tiers: tiers_at(tiers, i)?,
                lock_days: lock_days[i].unwrap_or(0) as i32,
                credit_basis: basis.value(i).to_string(),
                currency: plan_currency.value(i).to_string(),
                leaked_redemptions: if leaked_redemptions.is_valid(i) {
                    leaked_redemptions.value(i).to_string()
                } else {
                    "pay".into()
                },
                rate_to_base: plan_rate[i].clone(),
            });
        }
    }
    Ok(by_key.into_values().collect())
}

/// Reads the decided payouts (the `payout_decisions` and
/// `payout_decided_lines` tables the runner registers from the ledger).
pub fn read_decided(decisions: &Table, lines: &Table) -> Result<Vec<Decided>> {
    let payouts = arrow_io::read_payouts(&decisions.batches, "payout decisions")?;
    let mut lines_by: BTreeMap<String, Vec<book::Line>> = BTreeMap::new();
    for l in arrow_io::read_lines(&lines.batches, "payout decided lines")? {
        lines_by
            .entry(l.payout_id.clone().unwrap_or_default())
            .or_default()
            .push(l);
    }
    Ok(payouts
        .into_iter()
        .map(|p| Decided {
            lines: lines_by.remove(&p.payout_id).unwrap_or_default(),
            payout: p,
        })
        .collect())
}

/// The built-in: candidates, decisions, decided lines → payout_lines, payouts.
pub async fn run(inputs: Vec<DataFrame>, ctx: Context) -> Result<Vec<Table>> {
    let [cands, decisions, decided_lines]: [Table; 3] = builtin::collect_all(inputs)
        .await?
        .try_into()
        .map_err(|_| Error::Config("the payouts built-in takes three inputs".into()))?;
    let candidates = read_candidates(&cands)?;
    let decided = read_decided(&decisions, &decided_lines)?;
    let commissions = rules::evaluate(&candidates)?;
    let (lines, payouts) = book::book(&commissions, &decided, ctx.date);
    tracing::info!(
        lines = lines.len(),
        payouts = payouts.len(),
        decided = decided.len(),
        "payouts booked"
    );
    let l = arrow_io::lines_batch(&lines)?;
    let p = arrow_io::payouts_batch(&payouts)?;
    Ok(vec![
        Table::new(l.schema(), vec![l]),
        Table::new(p.schema(), vec![p]),
    ])
}
