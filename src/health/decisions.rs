//! What people decide about codes, in the engine's decision ledger
//! (`crate::ledger`, chain `codes`): a leak confirmed from a date, or the
//! evidence dismissed with a note. Each entry keeps the `code_leaks` row the
//! person saw. A code is decided once; only a confirmation changes money
//! (through `commission_plans.leaked_redemptions`).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, NaiveDate, Utc};
use datafusion::prelude::SessionContext;
use url::Url;

use super::codes::Decision;
use crate::builtin::{Provider, Setup};
use crate::error::{Error, Result};
use crate::ledger::{Entry, Head, Kind, Ledger, NewEntry};
use crate::storage::Storage;
use crate::tables::ResultStore;
use crate::time::days_since_epoch;

/// The codes' chain in the decision ledger.
pub const KIND: Kind = Kind {
    name: "codes",
    subject_field: "code",
    decisions: &["confirm_leak", "dismiss"],
};

/// The word `code_leaks.decision` shows for a ledger decision.
fn shown(decision: &str) -> &'static str {
    match decision {
        "confirm_leak" => "confirmed",
        _ => "dismissed",
    }
}

/// The code as every table spells it: trimmed, upper-case.
pub fn normalise(code: &str) -> String {
    code.trim().to_uppercase()
}

/// The decided codes a run for `date` sees.
pub fn decided(ledger: &Ledger, date: NaiveDate) -> Result<BTreeMap<String, (Decision, &Entry)>> {
    let mut out = BTreeMap::new();
    for e in ledger.as_of(date) {
        let leaked_from = match e.content.get("leaked_from") {
            Some(serde_json::Value::String(s)) => {
                Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|err| {
                    Error::InvalidInput(format!(
                        "codes ledger entry {} ({}): leaked_from '{s}' is not a date: {err}",
                        e.seq, e.subject_id
                    ))
                })?)
            }
            _ => None,
        };
        out.insert(
            e.subject_id.clone(),
            (
                Decision {
                    decision: shown(&e.decision).into(),
                    by: e.by.clone(),
                    leaked_from,
                },
                e,
            ),
        );
    }
    Ok(out)
}

/// The schema of `code_decisions`, the table every date's SQL can read.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("code", DataType::Utf8, false),
        Field::new("decision", DataType::Utf8, false),
        Field::new("decided_by", DataType::Utf8, false),
        Field::new(
            "decided_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("leaked_from", DataType::Date32, true),
        Field::new("note", DataType::Utf8, true),
        Field::new("ledger_seq", DataType::Int64, false),
        // The run date whose results the person decided on: what a message
        // about the decision is built for (a date of the data, not the
        // wall clock, so backfills agree).
        Field::new("decided_on", DataType::Date32, false),
    ]))
}

/// `code_decisions` as a run for `date` sees it.
pub fn table(ledger: &Ledger, date: NaiveDate) -> Result<RecordBatch> {
    let d = decided(ledger, date)?;
    let cols: Vec<ArrayRef> = vec![
        Arc::new(d.keys().map(|k| Some(k.as_str())).collect::<StringArray>()),
        Arc::new(
            d.values()
                .map(|(x, _)| Some(x.decision.as_str()))
                .collect::<StringArray>(),
        ),
        Arc::new(
            d.values()
                .map(|(x, _)| Some(x.by.as_str()))
                .collect::<StringArray>(),
        ),
        Arc::new(
            d.values()
                .map(|(_, e)| Some(e.at.timestamp_micros()))
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC"),
        ),
        Arc::new(
            d.values()
                .map(|(x, _)| x.leaked_from.map(days_since_epoch))
                .collect::<Date32Array>(),
        ),
        Arc::new(
            d.values()
                .map(|(_, e)| e.note.as_deref())
                .collect::<StringArray>(),
        ),
        Arc::new(
            d.values()
                .map(|(_, e)| Some(e.seq as i64))
                .collect::<Int64Array>(),
        ),
        Arc::new(
            d.values()
                .map(|(_, e)| Some(days_since_epoch(e.as_of)))
                .collect::<Date32Array>(),
        ),
    ];
    Ok(RecordBatch::try_new(schema(), cols)?)
}

/// The decisions on codes, for every date of a run. Preparing it verifies
/// the chain, so a run stops (exit 65) before reading an edited ledger.
pub struct CodeDecisions {
    ledger: Ledger,
}

impl Provider for CodeDecisions {
    fn tables(&self, date: NaiveDate) -> Result<Vec<(&'static str, RecordBatch)>> {
        Ok(vec![("code_decisions", table(&self.ledger, date)?)])
    }

    fn heads(&self) -> Vec<Head> {
        vec![self.ledger.head()]
    }
}

/// Reads and verifies the codes ledger for a run.
pub async fn provider(setup: Setup<'_>) -> Result<Box<dyn Provider>> {
    let ledger = Ledger::load(setup.storage, setup.output, KIND, setup.anchors).await?;
    Ok(Box::new(CodeDecisions { ledger }))
}

/// The codes ledger, verified against its head record and the heads the
/// runs recorded (exit 65 when it was edited).
pub async fn verified_ledger(storage: &Storage, output: &Url) -> Result<Ledger> {
    Ledger::verified(storage, output, KIND).await
}

async fn leaks_session(storage: &Storage, output: &Url) -> Result<SessionContext> {
    let ctx = crate::session::session(crate::session::SessionOptions::default())?;
    let results = ResultStore::new(storage.clone(), output.clone())?;
    let names = results.register_all(&ctx).await?;
    if !names.iter().any(|n| n == "code_leaks") {
        return Err(Error::MissingInput(format!(
            "no code_leaks table under {output}: run the nightly job first"
        )));
    }
    Ok(ctx)
}

/// The newest `code_leaks` partition (or one code's row of it, or the codes
/// of one status), with the decisions taken since applied, most suspicious
/// first.
pub async fn list(
    storage: &Storage,
    output: &Url,
    code: Option<&str>,
    status: Option<&str>,
) -> Result<Vec<RecordBatch>> {
    let ledger = verified_ledger(storage, output).await?;
    let ctx = leaks_session(storage, output).await?;
    let decided = decided(&ledger, NaiveDate::MAX)?;
    ctx.register_batch("code_decisions", table(&ledger, NaiveDate::MAX)?)?;
    let mut filter = String::new();
    if let Some(c) = code {
        let c = crate::sqltext::quote_str(&normalise(c));
        filter.push_str(&format!(" AND l.code = {c}"));
    }
    if let Some(st) = status {
        let st = crate::sqltext::quote_str(st);
        filter.push_str(&format!(" AND l.status = {st}"));
    }
    let sql = format!(
        "SELECT l.code, l.creator_id, l.status,
                coalesce(d.decision, l.decision) AS decision,
                coalesce(d.decided_by, l.decided_by) AS decided_by,
                coalesce(d.leaked_from, l.leaked_from) AS leaked_from,
                l.first_flagged_on, l.change_started_on, l.recent_redemptions,
                l.untouched_share_shrunk, l.coupon_share_shrunk,
                l.outside_audience_share_shrunk, l.cusum, l.leaked_redemptions,
                l.leaked_revenue, l.leaked_commission, l.dt
         FROM code_leaks l
         LEFT JOIN code_decisions d ON d.code = l.code
         WHERE l.dt = (SELECT max(dt) FROM code_leaks) {filter}
         ORDER BY CASE l.status WHEN 'likely_leaked' THEN 0 WHEN 'suspected' THEN 1 ELSE 2 END,
                  l.cusum DESC, l.code"
    );
    let rows = ctx.sql(&sql).await?.collect().await?;
    if let Some(c) = code
        && rows.iter().all(|b| b.num_rows() == 0)
        && !decided.contains_key(&normalise(c))
    {
        return Err(Error::Usage(format!(
            "code {} is not in the newest code_leaks partition",
            normalise(c)
        )));
    }
    Ok(rows)
}

/// One code's `code_usage` history, oldest first.
pub async fn history(storage: &Storage, output: &Url, code: &str) -> Result<Vec<RecordBatch>> {
    let ctx = leaks_session(storage, output).await?;
    let sql = format!(
        "SELECT dt, redemptions, touched, coupon, outside_audience, country_known, no_recent_post,
                new_customers, revenue, untouched_revenue, commission
         FROM code_usage WHERE code = {} ORDER BY dt",
        crate::sqltext::quote_str(&normalise(code))
    );
    Ok(ctx.sql(&sql).await?.collect().await?)
}

/// A decision a person takes on a code.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The code.
    pub code: &'a str,
    /// `confirm_leak` or `dismiss`.
    pub decision: &'static str,
    /// Who decides.
    pub by: &'a str,
    /// Why (required to dismiss).
    pub note: Option<String>,
    /// For a confirmation: from when its redemptions count as leaked
    /// (default: when the evidence says the change began).
    pub from: Option<NaiveDate>,
    /// When.
    pub now: DateTime<Utc>,
    /// How long a silent lease on the output root is waited for.
    pub lease_timeout: std::time::Duration,
}

/// Records a decision on a code, under the output root's lease. Refused
/// (exit 77) when the code was decided before; a usage error (exit 2) when
/// `code_leaks` does not know it.
pub async fn decide(storage: &Storage, output: &Url, r: Request<'_>) -> Result<Entry> {
    if r.by.trim().is_empty() {
        return Err(Error::Usage("--by must name the person deciding".into()));
    }
    if r.decision == "dismiss" && r.note.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(Error::Usage(
            "a dismissal needs --note saying why the evidence does not show a leak".into(),
        ));
    }
    let code = normalise(r.code);
    crate::lease::holding(
        storage,
        output,
        &format!("codes {} {code}", r.decision),
        r.lease_timeout,
        decide_holding(storage, output, &code, &r),
    )
    .await
}

async fn decide_holding(
    storage: &Storage,
    output: &Url,
    code: &str,
    r: &Request<'_>,
) -> Result<Entry> {
    let mut ledger = verified_ledger(storage, output).await?;
    if let Some(e) = ledger.decision(code) {
        return Err(Error::Refused(format!(
            "code {code} was already {} by {} at {} (ledger entry {}); a decision is final",
            shown(&e.decision),
            e.by,
            e.at.to_rfc3339(),
            e.seq
        )));
    }
    let ctx = leaks_session(storage, output).await?;
    let sql = format!(
        "SELECT * FROM code_leaks WHERE dt = (SELECT max(dt) FROM code_leaks) AND code = {}",
        crate::sqltext::quote_str(code)
    );
    let rows = ctx.sql(&sql).await?.collect().await?;
    let seen = crate::ledger::rows_json(&rows)?;
    let Some(row) = seen.into_iter().next() else {
        return Err(Error::Usage(format!(
            "code {code} is not in the newest code_leaks partition; halo decides only on codes it assessed"
        )));
    };
    // rows_json drops the partition column: the run date comes from the batch.
    let dt = rows
        .iter()
        .find_map(|b| {
            b.column_by_name("dt")
                .and_then(|c| c.as_any().downcast_ref::<Date32Array>())
                .and_then(|a| a.value_as_date(0))
        })
        .ok_or_else(|| Error::Internal("code_leaks row without dt".into()))?;
    let mut content = serde_json::Map::new();
    if r.decision == "confirm_leak" {
        let started = row
            .get("change_started_on")
            .and_then(|v| v.as_str())
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
        let from = r.from.or(started).unwrap_or(dt);
        content.insert(
            "leaked_from".into(),
            serde_json::Value::String(from.format("%Y-%m-%d").to_string()),
        );
    }
    content.insert("evidence".into(), row);
    ledger
        .append(
            storage,
            output,
            NewEntry {
                at: r.now,
                decision: r.decision.into(),
                subject_id: code.to_string(),
                by: r.by.trim().to_string(),
                note: r.note.clone(),
                as_of: dt,
                content,
            },
        )
        .await
}
