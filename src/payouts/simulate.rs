//! What-if for commission plans: what a proposed set of plans would have paid
//! on past orders, beside what the current plans pay, with the same rules and
//! the same attribution (the committed `journeys` and `touch_credit`). The
//! runner sets the data up (`runner::simulate`); this module only computes.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Decimal128Array, Int64Array, RecordBatch, StringArray};
use chrono::NaiveDate;

use super::rules::{Commission, evaluate};
use crate::builtin::Table;
use crate::error::Result;

/// The commissions of the candidates (the rows of the payouts step's
/// candidates SQL) on orders dated `from..=to`.
pub fn commissions(candidates: &Table, from: NaiveDate, to: NaiveDate) -> Result<Vec<Commission>> {
    let cands = super::read_candidates(candidates)?;
    let mut out = evaluate(&cands)?;
    out.retain(|c| c.order_date >= from && c.order_date <= to);
    Ok(out)
}

/// Per creator and currency: orders and commissions under the current and
/// the proposed plans, and the difference.
pub fn compare(current: &[Commission], proposed: &[Commission]) -> Result<RecordBatch> {
    summarize(current, proposed)
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
