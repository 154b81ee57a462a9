//! The outbox's two chains in the engine's one decision ledger
//! (`crate::ledger`): `outbox`, where a person approves or rejects a message
//! (an approval freezes the message as the person saw it), and
//! `outbox_delivery`, where `halo outbox send` records each attempt before
//! it talks to the mail server and the outcome after. Both reach every
//! date's SQL as tables (`outbox_decisions`, `outbox_deliveries`).

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, NaiveDate, Utc};
use datafusion::prelude::SessionContext;
use url::Url;

use super::message::Message;
use crate::builtin::{Provider, Setup};
use crate::error::{Error, Result};
use crate::ledger::{Entry, Head, Kind, Ledger, NewEntry};
use crate::storage::Storage;
use crate::tables::ResultStore;

/// Approvals and rejections.
pub const DECISIONS: Kind = Kind {
    name: "outbox",
    subject_field: "message_id",
    decisions: &["approve", "reject"],
};

/// Delivery attempts and their outcomes: `attempt` is written before the
/// message is handed to the server, then `accepted`, `deferred` (a
/// transient failure: tried again by the next send) or `failed` (the server
/// refused it for good). A ledger subject is recorded once, so each entry's
/// subject is `<message_id>#<attempt>:<event>` ([`delivery_subject`]), and
/// the message id is in its content.
pub const DELIVERIES: Kind = Kind {
    name: "outbox_delivery",
    subject_field: "delivery",
    decisions: &["attempt", "accepted", "deferred", "failed"],
};

/// The ledger subject of one delivery event.
pub fn delivery_subject(message_id: &str, attempt: i64, event: &str) -> String {
    format!("{message_id}#{attempt}:{event}")
}

/// The message a delivery entry is about.
pub fn delivered_message(e: &Entry) -> &str {
    e.content
        .get("message_id")
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| e.subject_id.split('#').next().unwrap_or_default())
}

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// The schema of `outbox_decisions`.
pub fn decisions_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("message_id", DataType::Utf8, false),
        Field::new("decision", DataType::Utf8, false),
        Field::new("decided_by", DataType::Utf8, false),
        Field::new("decided_at", ts(), false),
        Field::new("note", DataType::Utf8, true),
        Field::new("message", DataType::Utf8, true),
        Field::new("ledger_seq", DataType::Int64, false),
    ]))
}

/// The schema of `outbox_deliveries`.
pub fn deliveries_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("message_id", DataType::Utf8, false),
        Field::new("event", DataType::Utf8, false),
        Field::new("at", ts(), false),
        Field::new("attempt", DataType::Int64, false),
        Field::new("provider_message_id", DataType::Utf8, true),
        Field::new("error", DataType::Utf8, true),
        Field::new("message", DataType::Utf8, true),
        Field::new("ledger_seq", DataType::Int64, false),
    ]))
}

fn text(e: &Entry, key: &str) -> Option<String> {
    e.content
        .get(key)
        .and_then(|v| v.as_str())
        .map(String::from)
}

fn frozen(e: &Entry) -> Option<String> {
    e.content.contains_key("subject").then(|| {
        let mut m = e.content.clone();
        m.remove("message_id");
        m.remove("attempt");
        serde_json::Value::Object(m).to_string()
    })
}

fn batch(schema: SchemaRef, entries: &[&Entry], decisions: bool) -> Result<RecordBatch> {
    let s = |f: &dyn Fn(&Entry) -> Option<String>| -> ArrayRef {
        Arc::new(entries.iter().map(|e| f(e)).collect::<StringArray>())
    };
    let at: ArrayRef = Arc::new(
        entries
            .iter()
            .map(|e| Some(e.at.timestamp_micros()))
            .collect::<TimestampMicrosecondArray>()
            .with_timezone("UTC"),
    );
    let seq: ArrayRef = Arc::new(
        entries
            .iter()
            .map(|e| Some(e.seq as i64))
            .collect::<Int64Array>(),
    );
    let cols: Vec<ArrayRef> = if decisions {
        vec![
            s(&|e| Some(e.subject_id.clone())),
            s(&|e| Some(e.decision.clone())),
            s(&|e| Some(e.by.clone())),
            at,
            s(&|e| e.note.clone()),
            s(&frozen),
            seq,
        ]
    } else {
        vec![
            s(&|e| Some(delivered_message(e).to_string())),
            s(&|e| Some(e.decision.clone())),
            at,
            Arc::new(
                entries
                    .iter()
                    .map(|e| e.content.get("attempt").and_then(|v| v.as_i64()))
                    .map(|a| Some(a.unwrap_or(0)))
                    .collect::<Int64Array>(),
            ),
            s(&|e| text(e, "provider_message_id")),
            s(&|e| text(e, "error")),
            s(&frozen),
            seq,
        ]
    };
    Ok(RecordBatch::try_new(schema, cols)?)
}

/// `outbox_decisions` as a run for `date` sees it.
pub fn decisions_table(ledger: &Ledger, date: NaiveDate) -> Result<RecordBatch> {
    let e: Vec<&Entry> = ledger.as_of(date).collect();
    batch(decisions_schema(), &e, true)
}

/// `outbox_deliveries` as a run for `date` sees it.
pub fn deliveries_table(ledger: &Ledger, date: NaiveDate) -> Result<RecordBatch> {
    let e: Vec<&Entry> = ledger.as_of(date).collect();
    batch(deliveries_schema(), &e, false)
}

/// Both chains, for every date of a run. Preparing it verifies them, so a
/// run stops (exit 65) before reading an edited ledger.
pub struct OutboxLedgers {
    decisions: Ledger,
    deliveries: Ledger,
}

impl Provider for OutboxLedgers {
    fn tables(&self, date: NaiveDate) -> Result<Vec<(&'static str, RecordBatch)>> {
        Ok(vec![
            ("outbox_decisions", decisions_table(&self.decisions, date)?),
            (
                "outbox_deliveries",
                deliveries_table(&self.deliveries, date)?,
            ),
        ])
    }

    fn heads(&self) -> Vec<Head> {
        vec![self.decisions.head(), self.deliveries.head()]
    }
}

/// Reads and verifies both chains for a run.
pub async fn provider(setup: Setup<'_>) -> Result<Box<dyn Provider>> {
    let decisions = Ledger::load(setup.storage, setup.output, DECISIONS, setup.anchors).await?;
    let deliveries = Ledger::load(setup.storage, setup.output, DELIVERIES, setup.anchors).await?;
    Ok(Box::new(OutboxLedgers {
        decisions,
        deliveries,
    }))
}

/// A session over the result tables, with both chains as they stand now.
pub async fn session(
    storage: &Storage,
    output: &Url,
    decisions: &Ledger,
    deliveries: &Ledger,
) -> Result<SessionContext> {
    let ctx = crate::session::session(crate::session::SessionOptions::default())?;
    let results = ResultStore::new(storage.clone(), output.clone())?;
    let names = results.register_all(&ctx).await?;
    if !names.iter().any(|n| n == "outbox") {
        return Err(Error::MissingInput(format!(
            "no outbox table under {output}: run the nightly job first"
        )));
    }
    ctx.register_batch(
        "outbox_decisions",
        decisions_table(decisions, NaiveDate::MAX)?,
    )?;
    ctx.register_batch(
        "outbox_deliveries",
        deliveries_table(deliveries, NaiveDate::MAX)?,
    )?;
    Ok(ctx)
}

/// The run date (`dt`) of rows read from one outbox partition.
pub fn partition_date(rows: &[RecordBatch]) -> Option<NaiveDate> {
    rows.iter()
        .find(|b| b.num_rows() > 0)
        .and_then(|b| b.column_by_name("dt").cloned())
        .and_then(|c| {
            c.as_any()
                .downcast_ref::<arrow::array::Date32Array>()
                .and_then(|a| a.value_as_date(0))
        })
}

/// The newest outbox partition's row of `message_id`, as a message, with
/// its status, whether it needs approval and the run date.
pub async fn newest_row(
    ctx: &SessionContext,
    message_id: &str,
) -> Result<Option<(Message, serde_json::Value)>> {
    let sql = format!(
        "SELECT * FROM outbox WHERE dt = (SELECT max(dt) FROM outbox) AND message_id = {}",
        crate::sqltext::quote_str(message_id)
    );
    let rows = ctx.sql(&sql).await?.collect().await?;
    let mut json = crate::ledger::rows_json(&rows)?;
    let Some(mut row) = json.pop() else {
        return Ok(None);
    };
    if let (Some(dt), serde_json::Value::Object(m)) = (partition_date(&rows), &mut row) {
        m.insert("dt".into(), serde_json::Value::String(dt.to_string()));
    }
    let message: Message = serde_json::from_value(row.clone())
        .map_err(|e| Error::Internal(format!("outbox row {message_id} is not a message: {e}")))?;
    Ok(Some((message, row)))
}

/// A person's decision on a message.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The message.
    pub message_id: &'a str,
    /// `approve` or `reject`.
    pub decision: &'static str,
    /// Who decides.
    pub by: &'a str,
    /// Why (needed to reject).
    pub note: Option<String>,
    /// When.
    pub now: DateTime<Utc>,
    /// How long a silent lease on the output root is waited for.
    pub lease_timeout: std::time::Duration,
}

/// Records an approval or a rejection, under the output root's lease. An
/// approval freezes the message as the newest outbox shows it. Refused
/// (exit 77) when the message was decided or sent before; a usage error
/// (exit 2) when the newest outbox does not hold it or it is suppressed.
pub async fn decide(storage: &Storage, output: &Url, r: Request<'_>) -> Result<Entry> {
    if r.by.trim().is_empty() {
        return Err(Error::Usage("--by must name who decides".into()));
    }
    if r.decision == "reject" && r.note.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(Error::Usage("a rejection needs --note saying why".into()));
    }
    crate::lease::holding(
        storage,
        output,
        &format!("outbox {} {}", r.decision, r.message_id),
        r.lease_timeout,
        decide_holding(storage, output, &r),
    )
    .await
}

async fn decide_holding(storage: &Storage, output: &Url, r: &Request<'_>) -> Result<Entry> {
    let mut decisions = Ledger::verified(storage, output, DECISIONS).await?;
    let deliveries = Ledger::verified(storage, output, DELIVERIES).await?;
    if let Some(e) = decisions.decision(r.message_id) {
        return Err(Error::Refused(format!(
            "message {} was already {} by {} at {} (ledger entry {}); a decision is final",
            r.message_id,
            if e.decision == "approve" {
                "approved"
            } else {
                "rejected"
            },
            e.by,
            e.at.to_rfc3339(),
            e.seq
        )));
    }
    if let Some(e) = deliveries
        .as_of(NaiveDate::MAX)
        .find(|e| delivered_message(e) == r.message_id)
    {
        return Err(Error::Refused(format!(
            "message {} was handed to the mail server at {} (delivery entry {}): it can no longer be decided",
            r.message_id,
            e.at.to_rfc3339(),
            e.seq
        )));
    }
    let ctx = session(storage, output, &decisions, &deliveries).await?;
    let Some((message, row)) = newest_row(&ctx, r.message_id).await? else {
        return Err(Error::Usage(format!(
            "message {} is not in the newest outbox partition",
            r.message_id
        )));
    };
    let status = row.get("status").and_then(|v| v.as_str()).unwrap_or("");
    if status == "suppressed" {
        return Err(Error::Usage(format!(
            "message {} is suppressed ({}): there is nothing to decide",
            r.message_id,
            row.get("status_reason")
                .and_then(|v| v.as_str())
                .unwrap_or("no reason recorded")
        )));
    }
    let as_of = row
        .get("dt")
        .and_then(|v| v.as_str())
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .ok_or_else(|| Error::Internal("outbox row without dt".into()))?;
    let content = if r.decision == "approve" {
        message.to_content()
    } else {
        let mut m = serde_json::Map::new();
        m.insert(
            "content_sha256".into(),
            serde_json::Value::String(message.content_sha256()),
        );
        m
    };
    decisions
        .append(
            storage,
            output,
            NewEntry {
                at: r.now,
                decision: r.decision.into(),
                subject_id: r.message_id.to_string(),
                by: r.by.trim().to_string(),
                note: r.note.clone(),
                as_of,
                content,
            },
        )
        .await
}

/// The newest outbox partition, with what was decided and sent since the
/// run applied (`status` as of now), oldest first; filtered by status,
/// kind or one message.
pub async fn list(
    storage: &Storage,
    output: &Url,
    status: Option<&str>,
    kind: Option<&str>,
    message_id: Option<&str>,
    full: bool,
) -> Result<Vec<RecordBatch>> {
    let decisions = Ledger::verified(storage, output, DECISIONS).await?;
    let deliveries = Ledger::verified(storage, output, DELIVERIES).await?;
    let ctx = session(storage, output, &decisions, &deliveries).await?;
    let q = crate::sqltext::quote_str;
    let mut filter = String::new();
    if let Some(s) = status {
        filter.push_str(&format!(" AND status = {}", q(s)));
    }
    if let Some(k) = kind {
        filter.push_str(&format!(" AND kind = {}", q(k)));
    }
    if let Some(id) = message_id {
        filter.push_str(&format!(" AND message_id = {}", q(id)));
    }
    let columns = if full {
        "*"
    } else {
        "message_id, kind, creator_id, recipient, locale, built_for, send_by, status, \
         status_reason, decided_by, attempts, sent_at, subject"
    };
    let sql = format!(
        "WITH last_event AS (
             SELECT message_id, event, at, provider_message_id, error
             FROM (SELECT *, row_number() OVER (PARTITION BY message_id ORDER BY ledger_seq DESC) AS r
                   FROM outbox_deliveries) WHERE r = 1
         ),
         tries AS (
             SELECT message_id, count(*) AS n FROM outbox_deliveries
             WHERE event = 'attempt' GROUP BY message_id
         ),
         live AS (
             SELECT o.message_id, o.kind, o.creator_id, o.campaign_id, o.subject_key, o.period,
                    o.built_for, o.send_by, o.recipient, o.locale, o.subject, o.body_text,
                    o.body_html, o.facts, o.content_sha256, o.needs_approval,
                    CASE
                        WHEN e.event IN ('accepted', 'attempt') THEN 'sent'
                        WHEN e.event = 'failed' THEN 'failed'
                        WHEN o.status IN ('sent', 'failed', 'suppressed', 'rejected') THEN o.status
                        WHEN d.decision = 'reject' THEN 'rejected'
                        WHEN d.decision = 'approve' THEN 'approved'
                        ELSE o.status
                    END AS status,
                    CASE WHEN d.decision = 'reject' THEN d.note
                         WHEN e.event = 'failed' THEN e.error
                         ELSE o.status_reason END AS status_reason,
                    coalesce(d.decided_by, o.decided_by) AS decided_by,
                    coalesce(d.decided_at, o.decided_at) AS decided_at,
                    coalesce(d.note, o.decision_note) AS decision_note,
                    coalesce(t.n, 0) AS attempts,
                    CASE WHEN e.event IN ('accepted', 'attempt') THEN e.at ELSE o.sent_at END AS sent_at,
                    CASE WHEN e.event = 'accepted' THEN e.provider_message_id
                         ELSE o.provider_message_id END AS provider_message_id,
                    coalesce(e.error, o.last_error) AS last_error,
                    o.dt
             FROM outbox o
             LEFT JOIN outbox_decisions d ON d.message_id = o.message_id
             LEFT JOIN last_event e ON e.message_id = o.message_id
             LEFT JOIN tries t ON t.message_id = o.message_id
             WHERE o.dt = (SELECT max(dt) FROM outbox)
         )
         SELECT {columns} FROM live WHERE true {filter}
         ORDER BY built_for, kind, message_id"
    );
    let rows = ctx.sql(&sql).await?.collect().await?;
    if let Some(id) = message_id
        && rows.iter().all(|b| b.num_rows() == 0)
    {
        return Err(Error::Usage(format!(
            "message {id} is not in the newest outbox partition"
        )));
    }
    Ok(rows)
}
