//! Reads the lift step's input tables.

use std::collections::BTreeMap;

use arrow::array::{
    Array, AsArray, Decimal128Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, TimeUnit};

use crate::builtin::{Table, column, strings};
use crate::error::{Error, Result};

/// Minute counts per (signal, country); country "ALL" is the total.
pub type SeriesRows = BTreeMap<(String, String), Vec<(i64, f64)>>;

/// A post as read.
#[derive(Debug, Clone)]
pub struct Post {
    /// content_id.
    pub content_id: String,
    /// creator_id.
    pub creator_id: String,
    /// platform.
    pub platform: String,
    /// format (the kernel class).
    pub format: String,
    /// published_at, µs since the epoch (UTC).
    pub published_at: i64,
}

/// An order and the last dark-social-eligible visit before it.
#[derive(Debug, Clone)]
pub struct VisitOrder {
    /// order_id.
    pub order_id: String,
    /// Minute of the visit (minutes since the epoch).
    pub visit_minute: i64,
    /// Signal of the visit.
    pub signal: String,
    /// Order value in the base currency, cents.
    pub value_cents: i128,
}

fn micros(b: &RecordBatch, table: &str, name: &str) -> Result<TimestampMicrosecondArray> {
    let c = cast(
        column(b, table, name)?,
        &DataType::Timestamp(TimeUnit::Microsecond, None),
    )?;
    Ok(c.as_primitive().clone())
}

fn required(a: &dyn Array, i: usize, table: &str, name: &str) -> Result<()> {
    if a.is_null(i) {
        return Err(Error::Internal(format!(
            "{table}: column {name} is null in row {i}"
        )));
    }
    Ok(())
}

/// Series rows: `minute`, `signal`, `country`, `visits`.
pub fn series(t: &Table) -> Result<SeriesRows> {
    const T: &str = "lift input 'series'";
    let mut out: SeriesRows = BTreeMap::new();
    for b in &t.batches {
        let minute = micros(b, T, "minute")?;
        let signal = strings(b, T, "signal")?;
        let country = strings(b, T, "country")?;
        let visits = cast(column(b, T, "visits")?, &DataType::Int64)?;
        let visits: &Int64Array = visits.as_primitive();
        for i in 0..b.num_rows() {
            required(&minute, i, T, "minute")?;
            required(&signal, i, T, "signal")?;
            required(&country, i, T, "country")?;
            out.entry((signal.value(i).to_string(), country.value(i).to_string()))
                .or_default()
                .push((
                    minute.value(i).div_euclid(60_000_000),
                    visits.value(i) as f64,
                ));
        }
    }
    Ok(out)
}

/// Posts: `content_id`, `creator_id`, `platform`, `format`, `published_at`,
/// sorted by time then id.
pub fn posts(t: &Table) -> Result<Vec<Post>> {
    const T: &str = "lift input 'posts'";
    let mut out = Vec::new();
    for b in &t.batches {
        let id = strings(b, T, "content_id")?;
        let creator = strings(b, T, "creator_id")?;
        let platform = strings(b, T, "platform")?;
        let format = strings(b, T, "format")?;
        let at = micros(b, T, "published_at")?;
        for i in 0..b.num_rows() {
            required(&id, i, T, "content_id")?;
            required(&at, i, T, "published_at")?;
            let s = |a: &StringArray| {
                if a.is_valid(i) {
                    a.value(i).to_string()
                } else {
                    "unknown".into()
                }
            };
            out.push(Post {
                content_id: id.value(i).to_string(),
                creator_id: s(&creator),
                platform: s(&platform),
                format: s(&format),
                published_at: at.value(i),
            });
        }
    }
    out.sort_by(|a, b| {
        a.published_at
            .cmp(&b.published_at)
            .then(a.content_id.cmp(&b.content_id))
    });
    Ok(out)
}

/// Visit orders: `order_id`, `visit_at`, `signal`, `value` (decimal, 2 places).
pub fn visit_orders(t: &Table) -> Result<Vec<VisitOrder>> {
    const T: &str = "lift input 'visit_orders'";
    let mut out = Vec::new();
    for b in &t.batches {
        let id = strings(b, T, "order_id")?;
        let at = micros(b, T, "visit_at")?;
        let signal = strings(b, T, "signal")?;
        let value = cast(column(b, T, "value")?, &DataType::Decimal128(38, 2))?;
        let value: &Decimal128Array = value.as_primitive();
        for i in 0..b.num_rows() {
            required(&id, i, T, "order_id")?;
            required(&at, i, T, "visit_at")?;
            required(&value, i, T, "value")?;
            out.push(VisitOrder {
                order_id: id.value(i).to_string(),
                visit_minute: at.value(i).div_euclid(60_000_000),
                signal: signal.value(i).to_string(),
                value_cents: value.value(i),
            });
        }
    }
    out.sort_by(|a, b| a.order_id.cmp(&b.order_id));
    Ok(out)
}

/// A known marketing event as read.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownEvent {
    /// event_id.
    pub event_id: String,
    /// kind (the kernel class of an instant event).
    pub kind: String,
    /// starts_at, minutes since the epoch.
    pub starts_minute: i64,
    /// ends_at, minutes since the epoch, when after the start (an event
    /// that lasts); None: an instant.
    pub ends_minute: Option<i64>,
}

/// Known events: `event_id`, `kind`, `starts_at`, `ends_at`, sorted by start
/// then id.
pub fn events(t: &Table) -> Result<Vec<KnownEvent>> {
    const T: &str = "lift input 'events'";
    let mut out = Vec::new();
    for b in &t.batches {
        let id = strings(b, T, "event_id")?;
        let kind = strings(b, T, "kind")?;
        let starts = micros(b, T, "starts_at")?;
        let ends = micros(b, T, "ends_at")?;
        for i in 0..b.num_rows() {
            required(&id, i, T, "event_id")?;
            required(&starts, i, T, "starts_at")?;
            let s = starts.value(i).div_euclid(60_000_000);
            let e = ends
                .is_valid(i)
                .then(|| ends.value(i).div_euclid(60_000_000))
                .filter(|e| *e > s);
            out.push(KnownEvent {
                event_id: id.value(i).to_string(),
                kind: if kind.is_valid(i) {
                    kind.value(i).to_string()
                } else {
                    "other".into()
                },
                starts_minute: s,
                ends_minute: e,
            });
        }
    }
    out.sort_by(|a, b| {
        a.starts_minute
            .cmp(&b.starts_minute)
            .then(a.event_id.cmp(&b.event_id))
    });
    Ok(out)
}
