//! Reads the step's two input tables into journeys.

use std::collections::HashMap;

use arrow::array::{
    Array, AsArray, Date32Array, Decimal128Array, Int32Array, Int64Array, RecordBatch,
    StringArray, TimestampMicrosecondArray,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, TimeUnit};

use crate::error::{Error, Result};
use crate::transforms::Table;

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
    /// sorted by path.
    pub nulls: Vec<(Vec<u32>, f64)>,
    /// Channel names.
    pub channels: Interner,
}

fn column<'a>(b: &'a RecordBatch, table: &str, name: &str) -> Result<&'a dyn Array> {
    b.column_by_name(name).map(|c| c.as_ref()).ok_or_else(|| {
        Error::Config(format!("attribution input '{table}' has no column {name}"))
    })
}

fn strings(b: &RecordBatch, table: &str, name: &str) -> Result<StringArray> {
    Ok(cast(column(b, table, name)?, &DataType::Utf8)?.as_string::<i32>().clone())
}

fn opt(a: &StringArray, i: usize) -> Option<String> {
    a.is_valid(i).then(|| a.value(i).to_string())
}

/// Parses the inputs: [0] one row per touch of each converting journey of
/// the window (an order without touches has one row with touch_seq null),
/// [1] one row per distinct non-converting path with its journey count.
pub fn read(inputs: &[Table]) -> Result<Journeys> {
    let [conv, nulls] = inputs else {
        return Err(Error::Internal("attribution takes two inputs".into()));
    };
    let t = "converting touches";
    let mut by_order: HashMap<String, Conversion> = HashMap::new();
    let mut raw_touches: Vec<(String, Touch, String)> = Vec::new();
    for b in &conv.batches {
        let order_id = strings(b, t, "order_id")?;
        let ordered_at = cast(column(b, t, "ordered_at")?, &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())))?;
        let ordered_at: &TimestampMicrosecondArray = ordered_at.as_primitive();
        let order_date = cast(column(b, t, "order_date")?, &DataType::Date32)?;
        let order_date: &Date32Array = order_date.as_primitive();
        let value = cast(column(b, t, "value")?, &DataType::Decimal128(18, 2))?;
        let value: &Decimal128Array = value.as_primitive();
        let seq = cast(column(b, t, "touch_seq")?, &DataType::Int32)?;
        let seq: &Int32Array = seq.as_primitive();
        let touch_at = cast(column(b, t, "touch_at")?, &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())))?;
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

    let t = "non-converting paths";
    let mut null_rows: Vec<(Vec<String>, f64)> = Vec::new();
    let list_type = DataType::List(std::sync::Arc::new(Field::new("item", DataType::Utf8, true)));
    for b in &nulls.batches {
        let path = cast(column(b, t, "path")?, &list_type)?;
        let path = path.as_list::<i32>();
        let count = cast(column(b, t, "journeys")?, &DataType::Int64)?;
        let count: &Int64Array = count.as_primitive();
        for i in 0..b.num_rows() {
            let p = path.value(i);
            let p = p.as_string::<i32>();
            let chans: Vec<String> = (0..p.len()).map(|k| p.value(k).to_string()).collect();
            null_rows.push((chans, count.value(i) as f64));
        }
    }
    null_rows.sort_by(|a, b| a.0.cmp(&b.0));
    let mut nulls_out: Vec<(Vec<u32>, f64)> = Vec::with_capacity(null_rows.len());
    for (p, n) in null_rows {
        let ids: Vec<u32> = p.iter().map(|c| channels.id(c)).collect();
        match nulls_out.last_mut() {
            Some(last) if last.0 == ids => last.1 += n,
            _ => nulls_out.push((ids, n)),
        }
    }
    Ok(Journeys {
        conversions,
        nulls: nulls_out,
        channels,
    })
}
