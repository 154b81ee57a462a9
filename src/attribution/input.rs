//! Reads the step's two input tables into journeys.

use std::collections::HashMap;

use arrow::array::{
    Array, AsArray, Date32Array, Decimal128Array, Int32Array, Int64Array, StringArray,
    TimestampMicrosecondArray,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, TimeUnit};

use crate::builtin::{Table, column, strings};
use crate::error::{Error, Result};

use super::path::Interner;

/// One touch of a converting journey.
#[derive(Debug, Clone)]
pub struct Touch {
    /// 1-based position in the journey.
    pub seq: i32,
    /// Touch time (µs since the epoch, UTC).
    pub at: i64,
    /// The source event's id.
    pub id: String,
    /// click, session, code or exposure.
    pub kind: String,
    /// Channel id (in `Journeys::channels`).
    pub channel: u32,
    /// Creator, content, platform, format (absent = None).
    pub creator: Option<String>,
    /// See `creator`.
    pub content: Option<String>,
    /// See `creator`.
    pub platform: Option<String>,
    /// See `creator`.
    pub format: Option<String>,
}

/// An order of the window and the touches of its journey.
#[derive(Debug, Clone)]
pub struct Conversion {
    /// The order.
    pub order_id: String,
    /// Order time (µs, UTC).
    pub at: i64,
    /// The order's local date (days since the epoch).
    pub date: i32,
    /// Revenue in the base currency, minor units (cents).
    pub value_minor: i128,
    /// Touches by `seq` (empty: no touch).
    pub touches: Vec<Touch>,
}

/// Everything the models read.
#[derive(Debug, Default)]
pub struct Journeys {
    /// Orders of the window, by order_id.
    pub conversions: Vec<Conversion>,
    /// Non-converting raw paths (channel ids) with their journey counts,
    /// sorted by channel names.
    pub nulls: Vec<(Vec<u32>, f64)>,
    /// Channel names.
    pub channels: Interner,
}

fn opt(a: &StringArray, i: usize) -> Option<String> {
    a.is_valid(i).then(|| a.value(i).to_string())
}

/// Parses the inputs: [0] one row per touch of each converting journey of
/// the window (an order without touches has one row with touch_seq null),
/// [1] the touches of the open journeys ordered by (person_id, journey_no,
/// touch_seq).
pub fn read(inputs: &[Table]) -> Result<Journeys> {
    let [conv, nulls] = inputs else {
        return Err(Error::Internal("attribution takes two inputs".into()));
    };
    let t = "attribution input 'converting touches'";
    let mut by_order: HashMap<String, Conversion> = HashMap::new();
    let mut raw_touches: Vec<(String, Touch, String)> = Vec::new();
    for b in &conv.batches {
        let order_id = strings(b, t, "order_id")?;
        let ordered_at = cast(
            column(b, t, "ordered_at")?,
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        )?;
        let ordered_at: &TimestampMicrosecondArray = ordered_at.as_primitive();
        let order_date = cast(column(b, t, "order_date")?, &DataType::Date32)?;
        let order_date: &Date32Array = order_date.as_primitive();
        let value = cast(column(b, t, "value")?, &DataType::Decimal128(18, 2))?;
        let value: &Decimal128Array = value.as_primitive();
        let seq = cast(column(b, t, "touch_seq")?, &DataType::Int32)?;
        let seq: &Int32Array = seq.as_primitive();
        let touch_at = cast(
            column(b, t, "touch_at")?,
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        )?;
        let touch_at: &TimestampMicrosecondArray = touch_at.as_primitive();
        let touch_id = strings(b, t, "touch_id")?;
        let kind = strings(b, t, "touch_kind")?;
        let channel = strings(b, t, "channel")?;
        let creator = strings(b, t, "creator_id")?;
        let content = strings(b, t, "content_id")?;
        let platform = strings(b, t, "platform")?;
        let format = strings(b, t, "format")?;
        for i in 0..b.num_rows() {
            if value.is_null(i) {
                return Err(Error::Config(format!(
                    "attribution: order {} has no value in the base currency",
                    order_id.value(i)
                )));
            }
            let id = order_id.value(i).to_string();
            by_order.entry(id.clone()).or_insert_with(|| Conversion {
                order_id: id.clone(),
                at: ordered_at.value(i),
                date: order_date.value(i),
                value_minor: value.value(i),
                touches: Vec::new(),
            });
            if seq.is_valid(i) {
                raw_touches.push((
                    id,
                    Touch {
                        seq: seq.value(i),
                        at: touch_at.value(i),
                        id: touch_id.value(i).to_string(),
                        kind: kind.value(i).to_string(),
                        channel: 0,
                        creator: opt(&creator, i),
                        content: opt(&content, i),
                        platform: opt(&platform, i),
                        format: opt(&format, i),
                    },
                    channel.value(i).to_string(),
                ));
            }
        }
    }
    // Deterministic order whatever the batch order: orders by id, touches by seq.
    raw_touches.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.seq.cmp(&b.1.seq)));
    let mut conversions: Vec<Conversion> = by_order.into_values().collect();
    conversions.sort_by(|a, b| a.order_id.cmp(&b.order_id));
    let index: HashMap<String, usize> = conversions
        .iter()
        .enumerate()
        .map(|(i, c)| (c.order_id.clone(), i))
        .collect();
    let mut channels = Interner::default();
    for (order, mut touch, ch) in raw_touches {
        touch.channel = channels.id(&ch);
        conversions[index[&order]].touches.push(touch);
    }

    // Open journeys arrive as touches ordered by (person, journey, seq):
    // fold consecutive rows of one journey into a path, count paths.
    let t = "attribution input 'open journey touches'";
    let mut counts: HashMap<Vec<u32>, f64> = HashMap::new();
    let mut current: Option<(String, i64)> = None;
    let mut path: Vec<u32> = Vec::new();
    for b in &nulls.batches {
        let person = strings(b, t, "person_id")?;
        let journey = cast(column(b, t, "journey_no")?, &DataType::Int64)?;
        let journey: &Int64Array = journey.as_primitive();
        let channel = strings(b, t, "channel")?;
        for i in 0..b.num_rows() {
            let same = current
                .as_ref()
                .is_some_and(|(p, n)| p == person.value(i) && *n == journey.value(i));
            if !same {
                if !path.is_empty() {
                    *counts.entry(std::mem::take(&mut path)).or_insert(0.0) += 1.0;
                }
                current = Some((person.value(i).to_string(), journey.value(i)));
            }
            path.push(channels.id(channel.value(i)));
        }
    }
    if !path.is_empty() {
        *counts.entry(path).or_insert(0.0) += 1.0;
    }
    // Sorted by channel names, so the order never depends on interning.
    let mut nulls_out: Vec<(Vec<u32>, f64)> = counts.into_iter().collect();
    nulls_out.sort_by(|a, b| {
        let na = a.0.iter().map(|&c| channels.name(c));
        let nb = b.0.iter().map(|&c| channels.name(c));
        na.cmp(nb)
    });
    Ok(Journeys {
        conversions,
        nulls: nulls_out,
        channels,
    })
}
