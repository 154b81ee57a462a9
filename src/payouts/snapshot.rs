//! Payouts as the ledger stores them: the rows a person saw when deciding,
//! as JSON with decimals as text (never a float), and back to Arrow so that a
//! run can emit a decided payout exactly as it was decided.

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use chrono::NaiveDate;

use super::approval::{Decision, KIND};
use super::arrow_io::{
    lines_batch, lines_schema, payouts_batch, payouts_schema, read_lines, read_payouts,
};
use super::book::Decided;
use crate::builtin::{Provider, Setup};
use crate::error::{Error, Result};
use crate::ledger::{Head, Ledger};

/// Rows of `batches` as JSON objects: decimals as text, `dt` dropped.
pub fn to_json(batches: &[RecordBatch]) -> Result<Vec<serde_json::Value>> {
    crate::ledger::rows_json(batches)
}

fn from_json(rows: &[serde_json::Value], schema: SchemaRef) -> Result<RecordBatch> {
    let mut d = arrow::json::ReaderBuilder::new(schema.clone()).build_decoder()?;
    d.serialize(rows)?;
    Ok(d.flush()?.unwrap_or_else(|| RecordBatch::new_empty(schema)))
}

/// The decisions a run for `date` sees, as (`payout_decisions`,
/// `payout_decided_lines`) batches.
pub fn decided_tables(ledger: &Ledger, date: NaiveDate) -> Result<(RecordBatch, RecordBatch)> {
    let decided = decided(ledger, date)?;
    let payouts: Vec<_> = decided.iter().map(|d| d.payout.clone()).collect();
    let lines: Vec<_> = decided.iter().flat_map(|d| d.lines.clone()).collect();
    Ok((payouts_batch(&payouts)?, lines_batch(&lines)?))
}

/// The decided payouts a run for `date` sees, with the decision stamped on.
pub fn decided(ledger: &Ledger, date: NaiveDate) -> Result<Vec<Decided>> {
    let mut out = Vec::new();
    for e in ledger.as_of(date) {
        let bad = |what: &str, err: Error| {
            Error::InvalidInput(format!(
                "payouts ledger entry {} ({}): its {what} cannot be read: {err}",
                e.seq, e.subject_id
            ))
        };
        let payout = e.content.get("payout").cloned().ok_or_else(|| {
            Error::InvalidInput(format!("payouts ledger entry {} has no payout", e.seq))
        })?;
        let p = from_json(std::slice::from_ref(&payout), payouts_schema())
            .map_err(|err| bad("payout", err))?;
        let mut payout = read_payouts(&[p], "payout ledger")?.pop().ok_or_else(|| {
            Error::InvalidInput(format!("payouts ledger entry {} has no payout", e.seq))
        })?;
        payout.status = Decision::parse(&e.decision)?.status().into();
        payout.decided_by = Some(e.by.clone());
        payout.decided_at = Some(e.at.timestamp_micros());
        payout.note = e.note.clone();
        payout.ledger_seq = Some(e.seq as i64);
        let lines: Vec<serde_json::Value> = match e.content.get("lines") {
            Some(serde_json::Value::Array(a)) => a.clone(),
            _ => Vec::new(),
        };
        let l = from_json(&lines, lines_schema()).map_err(|err| bad("lines", err))?;
        let mut lines = read_lines(&[l], "payout ledger")?;
        for l in &mut lines {
            l.status = payout.status.clone();
        }
        out.push(Decided { payout, lines });
    }
    Ok(out)
}

/// The decisions people took on payouts, as the tables every date's SQL
/// reads (`payout_decisions`, `payout_decided_lines`): the payouts domain's
/// contribution to a run. Preparing it verifies the ledger, so a run stops
/// (exit 65) before anything is computed from an edited one.
pub struct Decisions {
    ledger: Ledger,
}

impl Provider for Decisions {
    fn tables(&self, date: NaiveDate) -> Result<Vec<(&'static str, RecordBatch)>> {
        let (payouts, lines) = decided_tables(&self.ledger, date)?;
        Ok(vec![
            ("payout_decisions", payouts),
            ("payout_decided_lines", lines),
        ])
    }

    fn heads(&self) -> Vec<Head> {
        vec![self.ledger.head()]
    }
}

/// Reads and verifies the payouts ledger for a run.
pub async fn provider(setup: Setup<'_>) -> Result<Box<dyn Provider>> {
    let ledger = Ledger::load(setup.storage, setup.output, KIND, setup.anchors).await?;
    Ok(Box::new(Decisions { ledger }))
}
