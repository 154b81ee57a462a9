//! What reviewers decide about compliance flags, in the engine's decision
//! ledger (`crate::ledger`, chain `review`): a flag resolved `ok` (no
//! breach) or `violation`, by a named person. Each entry keeps the
//! `compliance_flags` row the reviewer saw. Flag ids are stable across runs
//! (a hash of the post, the rule, the jurisdiction and the subject), so a
//! resolved flag keeps its verdict on every re-run and backfill.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, NaiveDate, Utc};
use datafusion::prelude::SessionContext;
use url::Url;

use crate::builtin::{Provider, Setup};
use crate::error::{Error, Result};
use crate::ledger::{Entry, Head, Kind, Ledger, NewEntry};
use crate::storage::Storage;
use crate::tables::ResultStore;

/// The review chain in the decision ledger.
pub const KIND: Kind = Kind {
    name: "review",
    subject_field: "flag_id",
    decisions: &["ok", "violation"],
};

/// The schema of `review_decisions`, the table every date's SQL can read.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("flag_id", DataType::Utf8, false),
        Field::new("decision", DataType::Utf8, false),
        Field::new("decided_by", DataType::Utf8, false),
        Field::new(
            "decided_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("note", DataType::Utf8, true),
        Field::new("ledger_seq", DataType::Int64, false),
    ]))
}

/// `review_decisions` as a run for `date` sees it (decisions on results
/// of that date or earlier).
pub fn table(ledger: &Ledger, date: NaiveDate) -> Result<RecordBatch> {
    let mut e: Vec<&Entry> = ledger.as_of(date).collect();
    e.sort_by(|a, b| a.subject_id.cmp(&b.subject_id));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(
            e.iter()
                .map(|x| Some(x.subject_id.as_str()))
                .collect::<StringArray>(),
        ),
        Arc::new(
            e.iter()
                .map(|x| Some(x.decision.as_str()))
                .collect::<StringArray>(),
        ),
        Arc::new(
            e.iter()
                .map(|x| Some(x.by.as_str()))
                .collect::<StringArray>(),
        ),
        Arc::new(
            e.iter()
                .map(|x| Some(x.at.timestamp_micros()))
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC"),
        ),
        Arc::new(e.iter().map(|x| x.note.as_deref()).collect::<StringArray>()),
        Arc::new(e.iter().map(|x| Some(x.seq as i64)).collect::<Int64Array>()),
    ];
    Ok(RecordBatch::try_new(schema(), cols)?)
}

/// The review decisions, for every date of a run. Preparing it verifies the
/// chain, so a run stops (exit 65) before reading an edited ledger.
pub struct ReviewDecisions {
    ledger: Ledger,
}

impl Provider for ReviewDecisions {
    fn tables(&self, date: NaiveDate) -> Result<Vec<(&'static str, RecordBatch)>> {
        Ok(vec![("review_decisions", table(&self.ledger, date)?)])
    }

    fn heads(&self) -> Vec<Head> {
        vec![self.ledger.head()]
    }
}

/// Reads and verifies the review ledger for a run.
pub async fn provider(setup: Setup<'_>) -> Result<Box<dyn Provider>> {
    let ledger = Ledger::load(setup.storage, setup.output, KIND, setup.anchors).await?;
    Ok(Box::new(ReviewDecisions { ledger }))
}

async fn flags_session(storage: &Storage, output: &Url, ledger: &Ledger) -> Result<SessionContext> {
    let ctx = crate::session::session(crate::session::SessionOptions::default())?;
    let results = ResultStore::new(storage.clone(), output.clone())?;
    let names = results.register_all(&ctx).await?;
    if !names.iter().any(|n| n == "compliance_flags") {
        return Err(Error::MissingInput(format!(
            "no compliance_flags table under {output}: run the nightly job first"
        )));
    }
    ctx.register_batch("review_decisions", table(ledger, NaiveDate::MAX)?)?;
    Ok(ctx)
}

/// Which flags `halo review list` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Flagged or needing review, and not resolved.
    Open,
    /// Resolved by a person.
    Resolved,
    /// Every flag that is not a pass.
    All,
}

/// The newest `compliance_flags` partition's flags (not passes), with the
/// decisions taken since applied, most severe first.
pub async fn list(
    storage: &Storage,
    output: &Url,
    status: Status,
    rule: Option<&str>,
    flag: Option<&str>,
) -> Result<Vec<RecordBatch>> {
    let ledger = Ledger::verified(storage, output, KIND).await?;
    let ctx = flags_session(storage, output, &ledger).await?;
    let mut filter = String::new();
    match status {
        Status::Open => filter.push_str(" AND d.flag_id IS NULL"),
        Status::Resolved => filter.push_str(" AND d.flag_id IS NOT NULL"),
        Status::All => {}
    }
    if let Some(r) = rule {
        filter.push_str(&format!(
            " AND f.rule_id = {}",
            crate::sqltext::quote_str(r)
        ));
    }
    if let Some(id) = flag {
        filter.push_str(&format!(
            " AND f.flag_id = {}",
            crate::sqltext::quote_str(id)
        ));
    } else {
        filter.push_str(" AND f.verdict <> 'pass'");
    }
    let sql = format!(
        "SELECT f.flag_id, f.content_id, f.creator_id, f.rule_id, f.jurisdiction, f.subject,
                f.verdict, f.severity, f.evidence, f.matched_text, f.matched_offset, f.surface,
                d.decision, d.decided_by, d.note, f.dt
         FROM compliance_flags f
         LEFT JOIN review_decisions d ON d.flag_id = f.flag_id
         WHERE f.dt = (SELECT max(dt) FROM compliance_flags) {filter}
         ORDER BY CASE f.severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 WHEN 'low' THEN 2 ELSE 3 END,
                  f.content_id, f.rule_id, f.jurisdiction, f.flag_id"
    );
    let rows = ctx.sql(&sql).await?.collect().await?;
    if let Some(id) = flag
        && rows.iter().all(|b| b.num_rows() == 0)
    {
        return Err(Error::Usage(format!(
            "flag {id} is not in the newest compliance_flags partition"
        )));
    }
    Ok(rows)
}

/// The post behind a flag: its caption, transcript and compliance row.
pub async fn post_of(storage: &Storage, output: &Url, flag: &str) -> Result<Vec<RecordBatch>> {
    let ledger = Ledger::verified(storage, output, KIND).await?;
    let ctx = flags_session(storage, output, &ledger).await?;
    let sql = format!(
        "SELECT p.content_id, p.platform, p.format, p.disclosure_class, p.label, p.label_offset,
                p.language, p.language_source, p.jurisdictions, p.open_flags
         FROM post_compliance p
         JOIN compliance_flags f ON f.content_id = p.content_id AND f.dt = p.dt
         WHERE f.flag_id = {} AND p.dt = (SELECT max(dt) FROM post_compliance)",
        crate::sqltext::quote_str(flag)
    );
    Ok(ctx.sql(&sql).await?.collect().await?)
}

/// A reviewer's decision on a flag.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The flag.
    pub flag_id: &'a str,
    /// `ok` or `violation`.
    pub verdict: &'static str,
    /// Who decides.
    pub by: &'a str,
    /// Why.
    pub note: Option<String>,
    /// When.
    pub now: DateTime<Utc>,
    /// How long a silent lease on the output root is waited for.
    pub lease_timeout: std::time::Duration,
}

/// Records a reviewer's verdict on a flag, under the output root's lease.
/// Refused (exit 77) when the flag was resolved before; a usage error (exit
/// 2) when the newest `compliance_flags` does not hold it or it passed.
pub async fn resolve(storage: &Storage, output: &Url, r: Request<'_>) -> Result<Entry> {
    if r.by.trim().is_empty() {
        return Err(Error::Usage("--by must name the reviewer".into()));
    }
    crate::lease::holding(
        storage,
        output,
        &format!("review resolve {}", r.flag_id),
        r.lease_timeout,
        resolve_holding(storage, output, &r),
    )
    .await
}

async fn resolve_holding(storage: &Storage, output: &Url, r: &Request<'_>) -> Result<Entry> {
    let mut ledger = Ledger::verified(storage, output, KIND).await?;
    if let Some(e) = ledger.decision(r.flag_id) {
        return Err(Error::Refused(format!(
            "flag {} was already resolved {} by {} at {} (ledger entry {}); a verdict is final",
            r.flag_id,
            e.decision,
            e.by,
            e.at.to_rfc3339(),
            e.seq
        )));
    }
    let ctx = flags_session(storage, output, &ledger).await?;
    let sql = format!(
        "SELECT * FROM compliance_flags WHERE dt = (SELECT max(dt) FROM compliance_flags) AND flag_id = {}",
        crate::sqltext::quote_str(r.flag_id)
    );
    let rows = ctx.sql(&sql).await?.collect().await?;
    let dt = rows.iter().find_map(|b| {
        b.column_by_name("dt")
            .and_then(|c| c.as_any().downcast_ref::<Date32Array>())
            .and_then(|a| (!a.is_empty()).then(|| a.value_as_date(0)).flatten())
    });
    let seen = crate::ledger::rows_json(&rows)?;
    let (Some(row), Some(dt)) = (seen.into_iter().next(), dt) else {
        return Err(Error::Usage(format!(
            "flag {} is not in the newest compliance_flags partition; halo resolves only flags it raised",
            r.flag_id
        )));
    };
    if row.get("verdict").and_then(|v| v.as_str()) == Some("pass") {
        return Err(Error::Usage(format!(
            "flag {} is a pass: there is nothing to resolve",
            r.flag_id
        )));
    }
    let mut content = serde_json::Map::new();
    content.insert("evidence".into(), row);
    ledger
        .append(
            storage,
            output,
            NewEntry {
                at: r.now,
                decision: r.verdict.into(),
                subject_id: r.flag_id.to_string(),
                by: r.by.trim().to_string(),
                note: r.note.clone(),
                as_of: dt,
                content,
            },
        )
        .await
}
