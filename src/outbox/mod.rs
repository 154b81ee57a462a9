//! Communications: the messages halo writes to creators, in one outbox that
//! people control (docs/communications.md).
//!
//! SQL finds what calls for a message and gathers its facts
//! (`sql/outbox/010_followups.sql`); this domain renders each from the
//! templates users edit, in the creator's locale, and decides its status
//! from the job's rules and the ledger: a person approves what needs it
//! (`halo outbox approve`), and `halo outbox send` ([`delivery`]) delivers
//! what is approved, recording every attempt so that nothing is sent twice.
//! The machine never approves what commits the brand.

pub mod decisions;
pub mod delivery;
pub mod locale;
pub mod message;
pub mod templates;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use chrono::{DateTime, NaiveDate, Utc};
use datafusion::prelude::DataFrame;
use serde_json::{Map, Value};

use crate::builtin::{self, Context, Table};
use crate::error::{Error, Result};
use crate::params::Param;
use crate::time::days_since_epoch;
use locale::Locale;
use message::Message;

/// Every kind of message the outbox writes today.
pub const KINDS: &[&str] = &[
    "reminder",
    "overdue",
    "checkin",
    "compliance",
    "leaked_code",
];

/// Kinds that commit the brand: a person always approves them.
pub const ALWAYS_APPROVED_BY_A_PERSON: &[&str] = &["outreach", "proposal"];

/// `outbox_reminder_days` (read by the follow-ups SQL).
pub const REMINDER_DAYS: Param = Param::int(
    "outbox_reminder_days",
    3,
    1,
    "a reminder is built this many days before a deliverable is due, if it is not submitted by then",
);

/// `outbox_checkin_days` (read by the follow-ups SQL).
pub const CHECKIN_DAYS: Param = Param::int(
    "outbox_checkin_days",
    7,
    1,
    "a check-in is built this many days after a campaign's launch for a participant with no post, click or code redemption for it",
);

/// `outbox_stale_days`.
pub const STALE_DAYS: Param = Param::int(
    "outbox_stale_days",
    2,
    1,
    "a message not sent within this many days after the date it was built for is suppressed as stale (so a backfill never floods creators)",
);

/// `outbox_auto_kinds`.
pub const AUTO_KINDS: Param = Param::strings(
    "outbox_auto_kinds",
    &["reminder", "overdue"],
    "kinds that are sent without a person's approval (`reminder`, `overdue`, `checkin`, `compliance`, `leaked_code`; `[]`: a person approves every message); outreach and proposals always need one",
);

/// `outbox_opt_out`.
pub const OPT_OUT: Param = Param::strings(
    "outbox_opt_out",
    &[],
    "creator ids or email addresses that get no message: theirs are suppressed",
);

/// `outbox_default_locale`.
pub const DEFAULT_LOCALE: Param = Param::string(
    "outbox_default_locale",
    "en",
    "the locale (`en`, `de`, `fr`, `es`) for a creator whose country has none of them",
);

/// `outbox_brand`.
pub const BRAND: Param = Param::string(
    "outbox_brand",
    "",
    "the brand's name as messages write it (empty: the first of `brand_terms`, capitalised)",
);

/// `outbox_sender`.
pub const SENDER: Param = Param::string(
    "outbox_sender",
    "",
    "who signs the messages (empty: `The <brand> creator team`)",
);

/// The parameters of the outbox.
pub const PARAMS: &[Param] = &[
    REMINDER_DAYS,
    CHECKIN_DAYS,
    STALE_DAYS,
    AUTO_KINDS,
    OPT_OUT,
    DEFAULT_LOCALE,
    BRAND,
    SENDER,
];

/// The job's outbox rules.
struct Rules {
    stale_days: i64,
    auto: BTreeSet<String>,
    opt_out: BTreeSet<String>,
    default_locale: Locale,
    brand: String,
    sender: String,
}

fn rules(ctx: &Context) -> Result<Rules> {
    let p = &ctx.params;
    let auto: BTreeSet<String> = p.strings(&AUTO_KINDS)?.into_iter().collect();
    for k in &auto {
        if ALWAYS_APPROVED_BY_A_PERSON.contains(&k.as_str()) {
            return Err(Error::Config(format!(
                "params.extra.outbox_auto_kinds: {k} always needs a person's approval"
            )));
        }
        if !KINDS.contains(&k.as_str()) {
            return Err(Error::Config(format!(
                "params.extra.outbox_auto_kinds: unknown kind {k:?} (known: {})",
                KINDS.join(", ")
            )));
        }
    }
    let loc = p.string(&DEFAULT_LOCALE)?;
    let default_locale = Locale::parse(&loc).ok_or_else(|| {
        Error::Config(format!(
            "params.extra.outbox_default_locale: {loc:?} is not one of en, de, fr, es"
        ))
    })?;
    let mut brand = p.string(&BRAND)?.trim().to_string();
    if brand.is_empty() {
        let term = p.brand_terms.first().map(String::as_str).unwrap_or("");
        let mut c = term.chars();
        brand = match c.next() {
            Some(f) => f.to_uppercase().chain(c).collect(),
            None => {
                return Err(Error::Config(
                    "params.extra.outbox_brand is empty and the job has no brand_terms: messages need the brand's name".into(),
                ));
            }
        };
    }
    let mut sender = p.string(&SENDER)?.trim().to_string();
    if sender.is_empty() {
        sender = format!("The {brand} creator team");
    }
    Ok(Rules {
        stale_days: p.int(&STALE_DAYS)?,
        auto,
        opt_out: p
            .strings(&OPT_OUT)?
            .into_iter()
            .map(|s| s.trim().to_lowercase())
            .collect(),
        default_locale,
        brand,
        sender,
    })
}

/// A creator as the outbox addresses them.
struct Recipient {
    name: String,
    email: Option<String>,
    status: String,
    country: Option<String>,
}

/// A person's decision on a message, from the ledger.
struct Decision {
    /// `approve` or `reject`.
    decision: String,
    by: String,
    /// Ledger time, in microseconds.
    at: i64,
    note: Option<String>,
    /// What an approval froze.
    message: Option<Message>,
}

/// Decisions and deliveries of one message, from the ledger.
#[derive(Default)]
struct History {
    decision: Option<Decision>,
    attempts: i64,
    accepted: Option<(i64, Option<String>)>,
    failed: Option<String>,
    last_error: Option<String>,
    /// The newest attempt, when no outcome followed it.
    unconfirmed: Option<i64>,
    attempted: Option<Message>,
}

/// The status a message has, and why.
fn status(
    m: &Message,
    h: &History,
    needs_approval: bool,
    send_by: NaiveDate,
    date: NaiveDate,
    recipient: Option<&Recipient>,
    rules: &Rules,
) -> (&'static str, Option<String>) {
    if h.accepted.is_some() {
        return ("sent", None);
    }
    if let Some(at) = h.unconfirmed {
        let at = DateTime::<Utc>::from_timestamp_micros(at).unwrap_or_default();
        return (
            "sent",
            Some(format!(
                "the attempt at {} has no recorded outcome: treated as sent and never resent automatically (docs/communications.md)",
                at.to_rfc3339()
            )),
        );
    }
    if let Some(e) = &h.failed {
        return ("failed", Some(e.clone()));
    }
    if let Some(d) = &h.decision
        && d.decision == "reject"
    {
        return ("rejected", d.note.clone());
    }
    let suppressed = match recipient {
        None => Some("the creator is not in creators".to_string()),
        Some(r) if r.status == "ended" => Some("the creator's status is ended".into()),
        Some(r)
            if rules.opt_out.contains(&m.creator_id.to_lowercase())
                || r.email
                    .as_deref()
                    .is_some_and(|e| rules.opt_out.contains(&e.trim().to_lowercase())) =>
        {
            Some("on the job's opt-out list (outbox_opt_out)".into())
        }
        Some(r) if r.email.as_deref().is_none_or(|e| e.trim().is_empty()) => {
            Some("the creator has no email address".into())
        }
        _ if send_by < date => Some(format!(
            "stale: built for {}, not sent by {send_by} (outbox_stale_days = {})",
            m.built_for, rules.stale_days
        )),
        _ => None,
    };
    if let Some(why) = suppressed {
        return ("suppressed", Some(why));
    }
    if h.decision.is_some() || !needs_approval {
        ("approved", None)
    } else {
        ("needs_approval", None)
    }
}

fn read_recipients(t: &Table) -> Result<BTreeMap<String, Recipient>> {
    let mut out = BTreeMap::new();
    for b in &t.batches {
        let id = builtin::strings(b, "recipients", "creator_id")?;
        let name = builtin::strings(b, "recipients", "display_name")?;
        let email = builtin::strings(b, "recipients", "email")?;
        let status = builtin::strings(b, "recipients", "status")?;
        let country = builtin::strings(b, "recipients", "country")?;
        use arrow::array::Array;
        for i in 0..b.num_rows() {
            out.insert(
                id.value(i).to_string(),
                Recipient {
                    name: name.value(i).to_string(),
                    email: email.is_valid(i).then(|| email.value(i).to_string()),
                    status: status.value(i).to_string(),
                    country: country.is_valid(i).then(|| country.value(i).to_string()),
                },
            );
        }
    }
    Ok(out)
}

fn micros(v: Option<&Value>) -> Option<i64> {
    templates::instant(v?.as_str()?).map(|t| t.timestamp_micros())
}

fn frozen(id: &str, v: Option<&Value>) -> Option<Message> {
    let text = v?.as_str()?;
    match serde_json::from_str::<Value>(text).ok()? {
        Value::Object(m) => Message::from_content(id, &m),
        _ => None,
    }
}

fn read_history(decided: &Table, delivered: &Table) -> Result<BTreeMap<String, History>> {
    let mut out: BTreeMap<String, History> = BTreeMap::new();
    for row in crate::ledger::rows_json(&decided.batches)? {
        let id = row["message_id"].as_str().unwrap_or_default().to_string();
        let h = out.entry(id.clone()).or_default();
        if h.decision.is_none() {
            h.decision = Some(Decision {
                decision: row["decision"].as_str().unwrap_or_default().to_string(),
                by: row["decided_by"].as_str().unwrap_or_default().to_string(),
                at: micros(row.get("decided_at")).unwrap_or_default(),
                note: row.get("note").and_then(|v| v.as_str()).map(String::from),
                message: frozen(&id, row.get("message")),
            });
        }
    }
    let mut rows = crate::ledger::rows_json(&delivered.batches)?;
    rows.sort_by_key(|r| r.get("ledger_seq").and_then(|v| v.as_i64()));
    for row in rows {
        let id = row["message_id"].as_str().unwrap_or_default().to_string();
        let h = out.entry(id.clone()).or_default();
        let at = micros(row.get("at")).unwrap_or_default();
        let error = row.get("error").and_then(|v| v.as_str()).map(String::from);
        match row["event"].as_str().unwrap_or_default() {
            "attempt" => {
                h.attempts += 1;
                h.unconfirmed = Some(at);
                if let Some(m) = frozen(&id, row.get("message")) {
                    h.attempted = Some(m);
                }
            }
            "accepted" => {
                h.unconfirmed = None;
                h.accepted = Some((
                    at,
                    row.get("provider_message_id")
                        .and_then(|v| v.as_str())
                        .map(String::from),
                ));
            }
            "deferred" => {
                h.unconfirmed = None;
                h.last_error = error;
            }
            _ => {
                h.unconfirmed = None;
                h.failed = error.clone();
                h.last_error = error;
            }
        }
    }
    Ok(out)
}

/// Renders one follow-up row into a message.
fn build(
    row: &Map<String, Value>,
    recipients: &BTreeMap<String, Recipient>,
    templates: &templates::Templates,
    rules: &Rules,
) -> Result<Message> {
    let text = |k: &str| -> Result<String> {
        row.get(k)
            .and_then(|v| v.as_str())
            .map(String::from)
            .ok_or_else(|| Error::Config(format!("the outbox's follow-ups have no {k}")))
    };
    let kind = text("kind")?;
    let subject_key = text("subject_key")?;
    let period = text("period")?;
    let creator_id = text("creator_id")?;
    let built_for = NaiveDate::parse_from_str(&text("built_for")?, "%Y-%m-%d")
        .map_err(|e| Error::Config(format!("the outbox's built_for is not a date: {e}")))?;
    let who = recipients.get(&creator_id);
    let locale = Locale::for_country(who.and_then(|r| r.country.as_deref()), rules.default_locale);
    let mut facts = Map::new();
    for (k, v) in row {
        if !matches!(k.as_str(), "kind" | "subject_key" | "period") && !v.is_null() {
            facts.insert(k.clone(), v.clone());
        }
    }
    // The template sees every fact column (null where this kind has none),
    // the creator, and the job's brand and signature.
    let mut context = row.clone();
    context.insert(
        "creator".into(),
        serde_json::json!({
            "id": creator_id,
            "name": who.map(|r| r.name.clone()).unwrap_or_else(|| creator_id.clone()),
        }),
    );
    context.insert("brand".into(), Value::String(rules.brand.clone()));
    context.insert("sender".into(), Value::String(rules.sender.clone()));
    let r = templates.render(locale, &kind, &Value::Object(context))?;
    let recipient = who.and_then(|w| {
        w.email
            .as_deref()
            .filter(|e| !e.trim().is_empty())
            .map(|e| format!("{} <{}>", w.name.replace(['<', '>', '"'], ""), e.trim()))
    });
    Ok(Message {
        message_id: message::message_id(&kind, &subject_key, &period),
        kind,
        creator_id,
        campaign_id: row
            .get("campaign_id")
            .and_then(|v| v.as_str())
            .map(String::from),
        subject_key,
        period,
        built_for,
        recipient,
        locale: locale.code().into(),
        subject: r.subject,
        body_text: r.text,
        body_html: r.html,
        facts: Value::Object(facts).to_string(),
    })
}

/// One row of `outbox`.
struct Row {
    m: Message,
    send_by: NaiveDate,
    needs_approval: bool,
    status: &'static str,
    reason: Option<String>,
    decided_by: Option<String>,
    decided_at: Option<i64>,
    note: Option<String>,
    attempts: i64,
    sent_at: Option<i64>,
    provider_id: Option<String>,
    last_error: Option<String>,
}

/// The built-in: follow-ups, recipients, decisions, deliveries → `outbox`.
pub async fn run(inputs: Vec<DataFrame>, ctx: Context) -> Result<Vec<Table>> {
    let [followups, recipients, decided, delivered]: [Table; 4] = builtin::collect_all(inputs)
        .await?
        .try_into()
        .map_err(|_| Error::Config("the outbox built-in takes four inputs".into()))?;
    let rules = rules(&ctx)?;
    let templates = templates::Templates::load(&ctx.data, KINDS, ctx.params.tz()?)?;
    let recipients = read_recipients(&recipients)?;
    let history = read_history(&decided, &delivered)?;

    // Arrow's JSON leaves out nulls; a template sees every column, null
    // where its kind has none.
    let columns: Vec<String> = followups
        .schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut messages: BTreeMap<String, Message> = BTreeMap::new();
    for row in crate::ledger::rows_json(&followups.batches)? {
        let Value::Object(mut row) = row else {
            continue;
        };
        for c in &columns {
            row.entry(c.clone()).or_insert(Value::Null);
        }
        let m = build(&row, &recipients, &templates, &rules)?;
        messages.entry(m.message_id.clone()).or_insert(m);
    }
    // What a person approved, or the server received, is kept exactly as it
    // was: even when today's facts would build it differently or not at all.
    for (id, h) in &history {
        let kept = h
            .decision
            .as_ref()
            .filter(|d| d.decision == "approve")
            .and_then(|d| d.message.clone())
            .or_else(|| h.attempted.clone());
        if let Some(m) = kept {
            messages.insert(id.clone(), m);
        }
    }
    let empty = History::default();
    let mut rows = Vec::with_capacity(messages.len());
    for m in messages.into_values() {
        let h = history.get(&m.message_id).unwrap_or(&empty);
        let needs_approval = !rules.auto.contains(&m.kind);
        let send_by = m.built_for + chrono::Duration::days(rules.stale_days);
        let (status, reason) = status(
            &m,
            h,
            needs_approval,
            send_by,
            ctx.date,
            recipients.get(&m.creator_id),
            &rules,
        );
        let (decided_by, decided_at, note) = match &h.decision {
            Some(d) => (Some(d.by.clone()), Some(d.at), d.note.clone()),
            None if !needs_approval => (Some("auto".into()), None, None),
            None => (None, None, None),
        };
        rows.push(Row {
            send_by,
            needs_approval,
            status,
            reason,
            decided_by,
            decided_at,
            note,
            attempts: h.attempts,
            sent_at: h.accepted.as_ref().map(|a| a.0).or(h.unconfirmed),
            provider_id: h.accepted.as_ref().and_then(|a| a.1.clone()),
            last_error: h.last_error.clone(),
            m,
        });
    }
    rows.sort_by(|a, b| {
        (a.m.built_for, &a.m.kind, &a.m.message_id).cmp(&(
            b.m.built_for,
            &b.m.kind,
            &b.m.message_id,
        ))
    });
    tracing::info!(
        messages = rows.len(),
        needs_approval = rows.iter().filter(|r| r.status == "needs_approval").count(),
        suppressed = rows.iter().filter(|r| r.status == "suppressed").count(),
        "outbox built"
    );
    let b = batch(&rows)?;
    Ok(vec![Table::new(b.schema(), vec![b])])
}

fn batch(rows: &[Row]) -> Result<RecordBatch> {
    let s = |f: &dyn Fn(&Row) -> Option<String>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<StringArray>())
    };
    let d = |f: &dyn Fn(&Row) -> NaiveDate| -> ArrayRef {
        Arc::new(
            rows.iter()
                .map(|r| Some(days_since_epoch(f(r))))
                .collect::<Date32Array>(),
        )
    };
    let t = |f: &dyn Fn(&Row) -> Option<i64>| -> ArrayRef {
        Arc::new(
            rows.iter()
                .map(f)
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC"),
        )
    };
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("message_id", s(&|r| Some(r.m.message_id.clone()))),
        ("kind", s(&|r| Some(r.m.kind.clone()))),
        ("creator_id", s(&|r| Some(r.m.creator_id.clone()))),
        ("campaign_id", s(&|r| r.m.campaign_id.clone())),
        ("subject_key", s(&|r| Some(r.m.subject_key.clone()))),
        ("period", s(&|r| Some(r.m.period.clone()))),
        ("built_for", d(&|r| r.m.built_for)),
        ("send_by", d(&|r| r.send_by)),
        ("recipient", s(&|r| r.m.recipient.clone())),
        ("locale", s(&|r| Some(r.m.locale.clone()))),
        ("subject", s(&|r| Some(r.m.subject.clone()))),
        ("body_text", s(&|r| Some(r.m.body_text.clone()))),
        ("body_html", s(&|r| Some(r.m.body_html.clone()))),
        ("facts", s(&|r| Some(r.m.facts.clone()))),
        ("content_sha256", s(&|r| Some(r.m.content_sha256()))),
        (
            "needs_approval",
            Arc::new(
                rows.iter()
                    .map(|r| Some(r.needs_approval))
                    .collect::<BooleanArray>(),
            ),
        ),
        ("status", s(&|r| Some(r.status.to_string()))),
        ("status_reason", s(&|r| r.reason.clone())),
        ("decided_by", s(&|r| r.decided_by.clone())),
        ("decided_at", t(&|r| r.decided_at)),
        ("decision_note", s(&|r| r.note.clone())),
        (
            "attempts",
            Arc::new(
                rows.iter()
                    .map(|r| Some(r.attempts))
                    .collect::<Int64Array>(),
            ),
        ),
        ("sent_at", t(&|r| r.sent_at)),
        ("provider_message_id", s(&|r| r.provider_id.clone())),
        ("last_error", s(&|r| r.last_error.clone())),
    ];
    let declared = crate::tables::contract::table("outbox")
        .ok_or_else(|| Error::Internal("outbox is not declared".into()))?;
    let nullable = |n: &str| declared.column(n).is_none_or(|c| c.nullable);
    Ok(RecordBatch::try_from_iter_with_nullable(
        cols.into_iter().map(|(n, a)| (n, a, nullable(n))),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            stale_days: 2,
            auto: BTreeSet::new(),
            opt_out: ["cr_9".to_string(), "no@ex.com".to_string()]
                .into_iter()
                .collect(),
            default_locale: Locale::En,
            brand: "B".into(),
            sender: "S".into(),
        }
    }

    fn message(creator: &str, built_for: NaiveDate) -> Message {
        Message {
            message_id: "m1".into(),
            kind: "reminder".into(),
            creator_id: creator.into(),
            campaign_id: None,
            subject_key: "d1".into(),
            period: "reminder".into(),
            built_for,
            recipient: Some("A <a@ex.com>".into()),
            locale: "en".into(),
            subject: "s".into(),
            body_text: "t".into(),
            body_html: "h".into(),
            facts: "{}".into(),
        }
    }

    fn who(email: Option<&str>, status: &str) -> Recipient {
        Recipient {
            name: "A".into(),
            email: email.map(String::from),
            status: status.into(),
            country: None,
        }
    }

    #[test]
    fn every_reason_to_hold_a_message_back_is_named() {
        let d = NaiveDate::from_ymd_opt(2026, 10, 20).unwrap();
        let fresh = d - chrono::Duration::days(2);
        let h = History::default();
        let r = rules();
        let st = |m: &Message, w: Option<&Recipient>, h: &History, needs: bool| {
            status(
                m,
                h,
                needs,
                m.built_for + chrono::Duration::days(2),
                d,
                w,
                &r,
            )
        };
        let ok = who(Some("a@ex.com"), "active");
        assert_eq!(
            st(&message("cr_1", fresh), Some(&ok), &h, true).0,
            "needs_approval"
        );
        assert_eq!(
            st(&message("cr_1", fresh), Some(&ok), &h, false).0,
            "approved"
        );
        let stale = st(
            &message("cr_1", fresh - chrono::Duration::days(1)),
            Some(&ok),
            &h,
            false,
        );
        assert_eq!(stale.0, "suppressed");
        assert!(
            stale
                .1
                .unwrap()
                .starts_with("stale: built for 2026-10-17, not sent by 2026-10-19")
        );
        let why = |m: Message, w: Option<&Recipient>| st(&m, w, &h, false).1.unwrap();
        assert_eq!(
            why(message("cr_1", fresh), Some(&who(None, "active"))),
            "the creator has no email address"
        );
        assert_eq!(
            why(
                message("cr_1", fresh),
                Some(&who(Some("a@ex.com"), "ended"))
            ),
            "the creator's status is ended"
        );
        assert_eq!(
            why(message("CR_9", fresh), Some(&ok)),
            "on the job's opt-out list (outbox_opt_out)"
        );
        assert_eq!(
            why(
                message("cr_1", fresh),
                Some(&who(Some(" No@Ex.com "), "active"))
            ),
            "on the job's opt-out list (outbox_opt_out)"
        );
        assert_eq!(
            why(message("cr_1", fresh), None),
            "the creator is not in creators"
        );
        // What the ledger says wins over everything the data says.
        let sent = History {
            accepted: Some((1, Some("250 ok".into()))),
            ..History::default()
        };
        assert_eq!(
            st(
                &message("cr_1", fresh - chrono::Duration::days(9)),
                None,
                &sent,
                true
            )
            .0,
            "sent"
        );
        let unconfirmed = History {
            attempts: 1,
            unconfirmed: Some(0),
            ..History::default()
        };
        let (s, why) = st(&message("cr_1", fresh), Some(&ok), &unconfirmed, false);
        assert_eq!(s, "sent");
        assert!(why.unwrap().contains("no recorded outcome"));
        let rejected = History {
            decision: Some(Decision {
                decision: "reject".into(),
                by: "ana".into(),
                at: 0,
                note: Some("spoke on the phone".into()),
                message: None,
            }),
            ..History::default()
        };
        assert_eq!(
            st(&message("cr_1", fresh), Some(&ok), &rejected, true),
            ("rejected", Some("spoke on the phone".into()))
        );
    }
}
