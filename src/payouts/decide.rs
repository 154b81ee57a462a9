//! What people do with payouts: list and inspect them, approve or reject
//! them (into the ledger), verify the ledger, and export what was approved.
//!
//! The figures come from the newest `payouts` partition; the decision state
//! comes from the ledger, so a payout approved after the last run already
//! shows as approved.

use arrow::array::RecordBatch;
use chrono::{DateTime, NaiveDate, Utc};
use datafusion::prelude::SessionContext;
use url::Url;

use super::approval::{Decision, KIND};
use super::arrow_io::{lines_batch, payouts_batch, read_lines, read_payouts};
use super::book::{Line, Payout};
use super::snapshot::to_json;
use crate::error::{Error, Result};
use crate::ledger::{Entry, Ledger, NewEntry};
use crate::session::{SessionOptions, session};
use crate::storage::Storage;
use crate::tables::ResultStore;

/// The newest computed payouts and their lines, with ledger decisions applied.
#[derive(Debug, Clone)]
pub struct Book {
    /// The run date of the partition read.
    pub as_of: NaiveDate,
    /// Payouts (decided ones as the ledger recorded them).
    pub payouts: Vec<Payout>,
    /// Their lines.
    pub lines: Vec<Line>,
}

async fn results_session(storage: &Storage, output: &Url) -> Result<SessionContext> {
    let ctx = session(SessionOptions::default())?;
    let results = ResultStore::new(storage.clone(), output.clone())?;
    let names = results.register_all(&ctx).await?;
    if !names.iter().any(|n| n == "payouts") || !names.iter().any(|n| n == "payout_lines") {
        return Err(Error::MissingInput(format!(
            "no payouts table under {output}: run the nightly job with commission_plans first"
        )));
    }
    Ok(ctx)
}

async fn collect(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>> {
    Ok(ctx.sql(sql).await?.collect().await?)
}

/// Reads the newest partition of `payouts` and `payout_lines` and overlays
/// the ledger's decisions.
pub async fn load_book(storage: &Storage, output: &Url, ledger: &Ledger) -> Result<Book> {
    let ctx = results_session(storage, output).await?;
    // A run whose months have not ended writes lines but no payout: the
    // newest run date is then the one of payout_lines.
    let dt = collect(
        &ctx,
        "SELECT max(dt) AS dt FROM (SELECT dt FROM payouts UNION ALL SELECT dt FROM payout_lines)",
    )
    .await?;
    let as_of = super::arrow_io::Cols {
        batch: &dt[0],
        input: "payouts",
    }
    .dates("dt")?
    .first()
    .copied()
    .flatten()
    .ok_or_else(|| Error::MissingInput("the payouts tables are empty".into()))?;
    let p = collect(
        &ctx,
        &format!("SELECT * FROM payouts WHERE dt = DATE '{as_of}' ORDER BY payout_id"),
    )
    .await?;
    let l = collect(
        &ctx,
        &format!("SELECT * FROM payout_lines WHERE dt = DATE '{as_of}' ORDER BY line_id"),
    )
    .await?;
    let mut payouts = read_payouts(&p, "payouts")?;
    let mut lines = read_lines(&l, "payout_lines")?;
    // Decisions taken since (or on) that run win.
    let decided = super::snapshot::decided(ledger, NaiveDate::MAX)?;
    for d in decided {
        let id = d.payout.payout_id.clone();
        payouts.retain(|p| p.payout_id != id);
        lines.retain(|l| l.payout_id.as_deref() != Some(id.as_str()));
        payouts.push(d.payout);
        lines.extend(d.lines);
    }
    payouts.sort_by(|a, b| a.payout_id.cmp(&b.payout_id));
    lines.sort_by(|a, b| a.line_id.cmp(&b.line_id));
    Ok(Book {
        as_of,
        payouts,
        lines,
    })
}

/// Payouts as a batch, optionally only those with `status`.
pub fn payouts_table(book: &Book, status: Option<&str>) -> Result<RecordBatch> {
    let rows: Vec<Payout> = book
        .payouts
        .iter()
        .filter(|p| status.is_none_or(|s| p.status == s))
        .cloned()
        .collect();
    payouts_batch(&rows)
}

/// One payout and its lines.
pub fn show(book: &Book, payout_id: &str) -> Result<(RecordBatch, RecordBatch)> {
    let p: Vec<Payout> = book
        .payouts
        .iter()
        .filter(|p| p.payout_id == payout_id)
        .cloned()
        .collect();
    if p.is_empty() {
        return Err(Error::Usage(format!(
            "no payout {payout_id} in the run of {} (halo payouts list shows them)",
            book.as_of
        )));
    }
    let l: Vec<Line> = book
        .lines
        .iter()
        .filter(|l| l.payout_id.as_deref() == Some(payout_id))
        .cloned()
        .collect();
    Ok((payouts_batch(&p)?, lines_batch(&l)?))
}

/// The payouts ledger under `output`, verified against its head record and
/// every head a run recorded in `runs` (exit 65 when it was edited).
pub async fn verified_ledger(storage: &Storage, output: &Url) -> Result<Ledger> {
    Ledger::verified(storage, output, KIND).await
}

/// A decision a person takes on a payout.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The payout.
    pub payout_id: &'a str,
    /// Approve or reject.
    pub decision: Decision,
    /// Who decides.
    pub by: &'a str,
    /// Why (required to reject).
    pub note: Option<String>,
    /// When.
    pub now: DateTime<Utc>,
    /// How long a silent lease on the output root is waited for.
    pub lease_timeout: std::time::Duration,
}

/// Records a decision on a pending payout. Refused (exit 77) when the payout
/// was already decided or is not pending; the ledger is verified first. The
/// decision is a write to the output root, so it takes the root's lease
/// (exit 75 while a run holds it).
pub async fn decide(storage: &Storage, output: &Url, r: Request<'_>) -> Result<Entry> {
    let Request {
        payout_id,
        decision,
        by,
        note,
        now,
        lease_timeout,
    } = r;
    if by.trim().is_empty() {
        return Err(Error::Usage("--by must name the person deciding".into()));
    }
    if decision == Decision::Reject && note.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(Error::Usage(
            "a rejection needs --note saying why (the creator sees it)".into(),
        ));
    }
    crate::lease::holding(
        storage,
        output,
        &format!("payouts {} {payout_id}", decision.as_str()),
        lease_timeout,
        decide_holding(storage, output, payout_id, decision, by, note, now),
    )
    .await
}

async fn decide_holding(
    storage: &Storage,
    output: &Url,
    payout_id: &str,
    decision: Decision,
    by: &str,
    note: Option<String>,
    now: DateTime<Utc>,
) -> Result<Entry> {
    let mut ledger = verified_ledger(storage, output).await?;
    if let Some(e) = ledger.decision(payout_id) {
        return Err(Error::Refused(format!(
            "payout {payout_id} was already {} by {} at {} (ledger entry {}); a decision is final",
            Decision::parse(&e.decision)?.status(),
            e.by,
            e.at.to_rfc3339(),
            e.seq
        )));
    }
    let book = load_book(storage, output, &ledger).await?;
    let (p, l) = show(&book, payout_id)?;
    let payout = read_payouts(std::slice::from_ref(&p), "payouts")?.remove(0);
    if payout.status != "pending_approval" {
        return Err(Error::Refused(format!(
            "payout {payout_id} is {}, not pending_approval",
            payout.status
        )));
    }
    let mut content = serde_json::Map::new();
    content.insert("payout".into(), to_json(&[p])?.remove(0));
    content.insert("lines".into(), serde_json::Value::Array(to_json(&[l])?));
    let entry = NewEntry {
        at: now,
        decision: decision.as_str().into(),
        subject_id: payout_id.to_string(),
        by: by.trim().to_string(),
        note,
        as_of: book.as_of,
        content,
    };
    ledger.append(storage, output, entry).await
}

/// The approved payouts to pay, for `period` (or all), as one batch:
/// refused (exit 77) when there is nothing approved, or when `payout_id`
/// names a payout nobody approved.
pub async fn export_approved(
    storage: &Storage,
    output: &Url,
    period: Option<&str>,
    payout_id: Option<&str>,
) -> Result<RecordBatch> {
    let ledger = verified_ledger(storage, output).await?;
    if let Some(id) = payout_id {
        match ledger.decision(id) {
            Some(e) if e.decision == Decision::Approve.as_str() => {}
            Some(e) => {
                return Err(Error::Refused(format!(
                    "payout {id} was {} by {}; only approved payouts are exported",
                    Decision::parse(&e.decision)?.status(),
                    e.by
                )));
            }
            None => {
                return Err(Error::Refused(format!(
                    "payout {id} has not been approved; run halo payouts approve {id} --by NAME first"
                )));
            }
        }
    }
    let decided = super::snapshot::decided(&ledger, NaiveDate::MAX)?;
    let mut rows: Vec<(Payout, String)> = Vec::new();
    for d in decided {
        let p = d.payout;
        if p.status != "approved"
            || period.is_some_and(|x| p.period != x)
            || payout_id.is_some_and(|x| p.payout_id != x)
        {
            continue;
        }
        let hash = ledger
            .decision(&p.payout_id)
            .map(|e| e.hash.clone())
            .unwrap_or_default();
        rows.push((p, hash));
    }
    if rows.is_empty() {
        return Err(Error::Refused(format!(
            "no approved payout{} to export; nothing is exported for payment without approval",
            period.map(|p| format!(" for {p}")).unwrap_or_default()
        )));
    }
    rows.sort_by(|a, b| a.0.payout_id.cmp(&b.0.payout_id));
    export_batch(&rows)
}

fn export_batch(rows: &[(Payout, String)]) -> Result<RecordBatch> {
    use arrow::array::{ArrayRef, Decimal128Array, Int64Array, StringArray};
    use std::sync::Arc;
    let s = |f: &dyn Fn(&Payout) -> String| -> ArrayRef {
        Arc::new(
            rows.iter()
                .map(|(p, _)| Some(f(p)))
                .collect::<StringArray>(),
        )
    };
    let money = |f: &dyn Fn(&Payout) -> i128| -> Result<ArrayRef> {
        Ok(Arc::new(
            rows.iter()
                .map(|(p, _)| Some(f(p)))
                .collect::<Decimal128Array>()
                .with_precision_and_scale(18, 2)?,
        ))
    };
    let payable: ArrayRef = Arc::new(
        rows.iter()
            .map(|(p, _)| {
                Some(if p.net > 0 {
                    "yes"
                } else {
                    "no: net is not positive"
                })
            })
            .collect::<StringArray>(),
    );
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("payout_id", s(&|p| p.payout_id.clone())),
        ("creator_id", s(&|p| p.creator_id.clone())),
        ("period", s(&|p| p.period.clone())),
        ("currency", s(&|p| p.currency.clone())),
        ("gross", money(&|p| p.gross)?),
        ("reversals", money(&|p| p.reversals)?),
        ("clawbacks", money(&|p| p.clawbacks)?),
        ("adjustments", money(&|p| p.adjustments)?),
        ("net", money(&|p| p.net)?),
        (
            "lines",
            Arc::new(
                rows.iter()
                    .map(|(p, _)| Some(p.lines))
                    .collect::<Int64Array>(),
            ),
        ),
        ("payable", payable),
        (
            "approved_by",
            s(&|p| p.decided_by.clone().unwrap_or_default()),
        ),
        (
            "approved_at",
            s(&|p| {
                p.decided_at
                    .and_then(DateTime::from_timestamp_micros)
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default()
            }),
        ),
        (
            "ledger_seq",
            Arc::new(
                rows.iter()
                    .map(|(p, _)| p.ledger_seq)
                    .collect::<Int64Array>(),
            ),
        ),
        (
            "ledger_hash",
            Arc::new(
                rows.iter()
                    .map(|(_, h)| Some(h.as_str()))
                    .collect::<StringArray>(),
            ),
        ),
    ];
    Ok(RecordBatch::try_from_iter(cols)?)
}
