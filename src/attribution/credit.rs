//! Per-touch credit, money split and the result tables.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Decimal128Builder, Float64Builder, Int32Builder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use rayon::prelude::*;

use crate::builtin::Table;
use crate::error::Result;
use crate::money::allocate_largest_remainder;

use super::bootstrap::Intervals;
use super::models::{Fitted, Model};
use super::{Journeys, Prepared, Settings, touch_fractions};

/// The bucket of orders without any touch.
pub const NO_TOUCH: &str = "(no touch)";
/// The key of touches without a creator, platform or format.
pub const NONE: &str = "(none)";
/// Summary levels.
pub const LEVELS: [&str; 4] = ["channel", "creator", "platform", "format"];

/// One model's credit: per conversion, per touch.
pub struct ModelCredit {
    /// Credit fractions (sum to 1 per order with touches).
    pub fractions: Vec<Vec<f64>>,
    /// Revenue credit in minor units (sums to the order's value).
    pub revenue: Vec<Vec<i128>>,
}

/// Scale of the integer weights handed to the largest-remainder split.
const WEIGHT_SCALE: f64 = 1e12;

/// Splits `value_minor` by `fractions` (largest remainder, ties to the
/// earlier touch).
pub fn split_money(value_minor: i128, fractions: &[f64]) -> Vec<i128> {
    let weights: Vec<u128> = fractions
        .iter()
        .map(|f| (f.max(0.0) * WEIGHT_SCALE).round() as u128)
        .collect();
    allocate_largest_remainder(value_minor, &weights)
}

/// Every model's per-touch credit for every converting journey.
pub fn credits(
    j: &Journeys,
    prepared: &[Prepared],
    s: &Settings,
    fitted: &[Fitted],
    excluded: &[bool],
) -> Vec<ModelCredit> {
    let non_direct = |c: u32| excluded[c as usize];
    fitted
        .iter()
        .map(|f| {
            let (fractions, revenue): (Vec<_>, Vec<_>) = j
                .conversions
                .par_iter()
                .zip(prepared)
                .map(|(c, p)| {
                    let fr = touch_fractions(f, p, s, &non_direct, &j.channels);
                    let rev = split_money(c.value_minor, &fr);
                    (fr, rev)
                })
                .unzip();
            ModelCredit { fractions, revenue }
        })
        .collect()
}

/// The key of touch `t` of conversion `c` at `level` (0..4).
pub fn level_key(j: &Journeys, c: usize, t: usize, level: usize) -> &str {
    let touch = &j.conversions[c].touches[t];
    match level {
        0 => j.channels.name(touch.channel),
        1 => touch.creator.as_deref().unwrap_or(NONE),
        2 => touch.platform.as_deref().unwrap_or(NONE),
        _ => touch.format.as_deref().unwrap_or(NONE),
    }
}

fn utc() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// `touch_credit` for the orders dated `date`.
pub fn touch_credit_table(
    j: &Journeys,
    s: &Settings,
    credit: &[ModelCredit],
    date: i32,
) -> Result<Table> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("order_id", DataType::Utf8, false),
        Field::new("ordered_at", utc(), false),
        Field::new("touch_seq", DataType::Int32, true),
        Field::new("touch_at", utc(), true),
        Field::new("touch_id", DataType::Utf8, true),
        Field::new("touch_kind", DataType::Utf8, true),
        Field::new("channel", DataType::Utf8, false),
        Field::new("creator_id", DataType::Utf8, true),
        Field::new("content_id", DataType::Utf8, true),
        Field::new("platform", DataType::Utf8, true),
        Field::new("format", DataType::Utf8, true),
        Field::new("model", DataType::Utf8, false),
        Field::new("credit", DataType::Float64, false),
        Field::new("revenue_credit", DataType::Decimal128(18, 2), false),
    ]));
    let mut order_id = StringBuilder::new();
    let mut ordered_at = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    let mut seq = Int32Builder::new();
    let mut touch_at = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    let mut touch_id = StringBuilder::new();
    let mut kind = StringBuilder::new();
    let mut channel = StringBuilder::new();
    let mut creator = StringBuilder::new();
    let mut content = StringBuilder::new();
    let mut platform = StringBuilder::new();
    let mut format = StringBuilder::new();
    let mut model = StringBuilder::new();
    let mut frac = Float64Builder::new();
    let mut revenue = Decimal128Builder::new();
    for (ci, c) in j.conversions.iter().enumerate() {
        if c.date != date {
            continue;
        }
        for (m, mc) in s.models.iter().zip(credit) {
            let name = m.name();
            if c.touches.is_empty() {
                order_id.append_value(&c.order_id);
                ordered_at.append_value(c.at);
                seq.append_null();
                touch_at.append_null();
                touch_id.append_null();
                kind.append_null();
                channel.append_value(NO_TOUCH);
                creator.append_null();
                content.append_null();
                platform.append_null();
                format.append_null();
                model.append_value(&name);
                frac.append_value(1.0);
                revenue.append_value(c.value_minor);
                continue;
            }
            for (ti, t) in c.touches.iter().enumerate() {
                order_id.append_value(&c.order_id);
                ordered_at.append_value(c.at);
                seq.append_value(t.seq);
                touch_at.append_value(t.at);
                touch_id.append_value(&t.id);
                kind.append_value(&t.kind);
                channel.append_value(j.channels.name(t.channel));
                creator.append_option(t.creator.as_deref());
                content.append_option(t.content.as_deref());
                platform.append_option(t.platform.as_deref());
                format.append_option(t.format.as_deref());
                model.append_value(&name);
                frac.append_value(mc.fractions[ci][ti]);
                revenue.append_value(mc.revenue[ci][ti]);
            }
        }
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(order_id.finish()),
        Arc::new(ordered_at.finish()),
        Arc::new(seq.finish()),
        Arc::new(touch_at.finish()),
        Arc::new(touch_id.finish()),
        Arc::new(kind.finish()),
        Arc::new(channel.finish()),
        Arc::new(creator.finish()),
        Arc::new(content.finish()),
        Arc::new(platform.finish()),
        Arc::new(format.finish()),
        Arc::new(model.finish()),
        Arc::new(frac.finish()),
        Arc::new(revenue.finish().with_precision_and_scale(18, 2)?),
    ];
    let batch = RecordBatch::try_new(schema.clone(), cols)?;
    Ok(Table::new(schema, vec![batch]))
}

/// Credit totals per (model, level, key) over every order of the window.
pub fn totals(j: &Journeys, credit: &[ModelCredit]) -> Vec<[BTreeMap<String, (f64, i128)>; 4]> {
    credit
        .iter()
        .map(|mc| {
            let mut levels: [BTreeMap<String, (f64, i128)>; 4] = Default::default();
            for (ci, c) in j.conversions.iter().enumerate() {
                if c.touches.is_empty() {
                    for l in &mut levels {
                        let e = l.entry(NO_TOUCH.to_string()).or_insert((0.0, 0));
                        e.0 += 1.0;
                        e.1 += c.value_minor;
                    }
                    continue;
                }
                for ti in 0..c.touches.len() {
                    for (li, l) in levels.iter_mut().enumerate() {
                        let key = level_key(j, ci, ti, li);
                        let e = match l.get_mut(key) {
                            Some(e) => e,
                            None => l.entry(key.to_string()).or_insert((0.0, 0)),
                        };
                        e.0 += mc.fractions[ci][ti];
                        e.1 += mc.revenue[ci][ti];
                    }
                }
            }
            levels
        })
        .collect()
}

/// `attribution_summary`.
pub fn summary_table(
    j: &Journeys,
    s: &Settings,
    credit: &[ModelCredit],
    fitted: &[Fitted],
    intervals: &Intervals,
) -> Result<Table> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("model", DataType::Utf8, false),
        Field::new("level", DataType::Utf8, false),
        Field::new("key", DataType::Utf8, false),
        Field::new("conversions", DataType::Float64, false),
        Field::new("revenue", DataType::Decimal128(18, 2), false),
        Field::new("share", DataType::Float64, true),
        Field::new("removal_effect", DataType::Float64, true),
        Field::new("value_removal_effect", DataType::Float64, true),
        Field::new("ci_low", DataType::Float64, true),
        Field::new("ci_high", DataType::Float64, true),
        Field::new("revenue_ci_low", DataType::Decimal128(18, 2), true),
        Field::new("revenue_ci_high", DataType::Decimal128(18, 2), true),
    ]));
    let channel_ids: HashMap<&str, u32> = (0..j.channels.len() as u32)
        .map(|c| (j.channels.name(c), c))
        .collect();
    let mut model = StringBuilder::new();
    let mut level = StringBuilder::new();
    let mut key = StringBuilder::new();
    let mut conv = Float64Builder::new();
    let mut rev = Decimal128Builder::new();
    let mut share = Float64Builder::new();
    let mut re = Float64Builder::new();
    let mut vre = Float64Builder::new();
    let mut lo = Float64Builder::new();
    let mut hi = Float64Builder::new();
    let mut rlo = Decimal128Builder::new();
    let mut rhi = Decimal128Builder::new();
    let total_orders = j.conversions.len() as f64;
    let all = totals(j, credit);
    for (mi, (m, levels)) in s.models.iter().zip(&all).enumerate() {
        let name = m.name();
        for (li, l) in levels.iter().enumerate() {
            for (k, &(c, r)) in l {
                model.append_value(&name);
                level.append_value(LEVELS[li]);
                key.append_value(k);
                conv.append_value(c);
                rev.append_value(r);
                share.append_option((total_orders > 0.0).then(|| c / total_orders));
                let markov = match (&fitted[mi], li, channel_ids.get(k.as_str())) {
                    (Fitted::Markov(f), 0, Some(&id)) => Some((f, id as usize)),
                    _ => None,
                };
                re.append_option(markov.map(|(f, id)| f.removal[id]));
                vre.append_option(markov.map(|(f, id)| f.value_removal[id]));
                match intervals.get(&(mi, li, k.clone())) {
                    Some(iv) => {
                        lo.append_value(iv.low);
                        hi.append_value(iv.high);
                        rlo.append_value(iv.revenue_low_minor);
                        rhi.append_value(iv.revenue_high_minor);
                    }
                    None => {
                        lo.append_null();
                        hi.append_null();
                        rlo.append_null();
                        rhi.append_null();
                    }
                }
            }
        }
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(model.finish()),
        Arc::new(level.finish()),
        Arc::new(key.finish()),
        Arc::new(conv.finish()),
        Arc::new(rev.finish().with_precision_and_scale(18, 2)?),
        Arc::new(share.finish()),
        Arc::new(re.finish()),
        Arc::new(vre.finish()),
        Arc::new(lo.finish()),
        Arc::new(hi.finish()),
        Arc::new(rlo.finish().with_precision_and_scale(18, 2)?),
        Arc::new(rhi.finish().with_precision_and_scale(18, 2)?),
    ];
    let batch = RecordBatch::try_new(schema.clone(), cols)?;
    Ok(Table::new(schema, vec![batch]))
}

/// `markov_transitions` of every Markov model.
pub fn transitions_table(j: &Journeys, s: &Settings, fitted: &[Fitted]) -> Result<Table> {
    use super::markov::State;
    let schema = Arc::new(Schema::new(vec![
        Field::new("model", DataType::Utf8, false),
        Field::new("from_state", DataType::Utf8, false),
        Field::new("to_state", DataType::Utf8, false),
        Field::new("count", DataType::Float64, false),
        Field::new("probability", DataType::Float64, false),
    ]));
    let name = |st: &State| match st {
        State::Start => "(start)".to_string(),
        State::Conversion => "(conversion)".to_string(),
        State::Null => "(null)".to_string(),
        State::Channels(cs) => cs
            .iter()
            .map(|&c| j.channels.name(c))
            .collect::<Vec<_>>()
            .join(" > "),
    };
    let mut rows: Vec<(String, String, String, f64, f64)> = Vec::new();
    for (m, f) in s.models.iter().zip(fitted) {
        if let (Model::Markov(_), Fitted::Markov(fit)) = (m, f) {
            for (from, to, count, p) in &fit.transitions {
                rows.push((m.name(), name(from), name(to), *count, *p));
            }
        }
    }
    rows.sort_by(|a, b| (&a.0, &a.1, &a.2).cmp(&(&b.0, &b.1, &b.2)));
    let mut model = StringBuilder::new();
    let mut from = StringBuilder::new();
    let mut to = StringBuilder::new();
    let mut count = Float64Builder::new();
    let mut prob = Float64Builder::new();
    for (m, f, t, c, p) in rows {
        model.append_value(m);
        from.append_value(f);
        to.append_value(t);
        count.append_value(c);
        prob.append_value(p);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(model.finish()),
        Arc::new(from.finish()),
        Arc::new(to.finish()),
        Arc::new(count.finish()),
        Arc::new(prob.finish()),
    ];
    let batch = RecordBatch::try_new(schema.clone(), cols)?;
    Ok(Table::new(schema, vec![batch]))
}

/// The display form of a path key: channels joined by " > ", with the count
/// in parentheses under the `frequency` transform.
pub fn path_string(j: &Journeys, key: &[u64], frequency: bool) -> String {
    key.iter()
        .map(|&k| {
            let name = j.channels.name(super::path::key_channel(k));
            if frequency {
                format!("{name}({})", k & 0xffff_ffff)
            } else {
                name.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" > ")
}

/// `attribution_paths`: the transformed paths the global models were fitted
/// on, with conversions, exact value and non-conversions.
pub fn paths_table(
    j: &Journeys,
    prepared: &[Prepared],
    s: &Settings,
    rows: &[super::PathRow],
) -> Result<Table> {
    let frequency = s.transform == super::path::PathTransform::Frequency;
    let mut value_minor: HashMap<&[u64], i128> = HashMap::new();
    for (c, p) in j.conversions.iter().zip(prepared) {
        *value_minor.entry(p.key.as_slice()).or_insert(0) += c.value_minor;
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("path", DataType::Utf8, false),
        Field::new("positions", DataType::Int32, false),
        Field::new("conversions", DataType::Float64, false),
        Field::new("value", DataType::Decimal128(18, 2), false),
        Field::new("non_conversions", DataType::Float64, false),
        Field::new("conversion_rate", DataType::Float64, false),
    ]));
    let mut out: Vec<(String, i32, f64, i128, f64)> = rows
        .iter()
        .map(|r| {
            (
                path_string(j, &r.key, frequency),
                r.key.len() as i32,
                r.conversions,
                value_minor.get(r.key.as_slice()).copied().unwrap_or(0),
                r.nulls,
            )
        })
        .collect();
    // Orders without touches: the empty path.
    let untouched: Vec<&super::Conversion> = j
        .conversions
        .iter()
        .filter(|c| c.touches.is_empty())
        .collect();
    if !untouched.is_empty() {
        out.push((
            NO_TOUCH.to_string(),
            0,
            untouched.len() as f64,
            untouched.iter().map(|c| c.value_minor).sum(),
            0.0,
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    let mut path = StringBuilder::new();
    let mut positions = Int32Builder::new();
    let mut conv = Float64Builder::new();
    let mut value = Decimal128Builder::new();
    let mut nulls = Float64Builder::new();
    let mut rate = Float64Builder::new();
    for (p, n, c, v, z) in out {
        path.append_value(p);
        positions.append_value(n);
        conv.append_value(c);
        value.append_value(v);
        nulls.append_value(z);
        rate.append_value(if c + z > 0.0 { c / (c + z) } else { 0.0 });
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(path.finish()),
        Arc::new(positions.finish()),
        Arc::new(conv.finish()),
        Arc::new(value.finish().with_precision_and_scale(18, 2)?),
        Arc::new(nulls.finish()),
        Arc::new(rate.finish()),
    ];
    let batch = RecordBatch::try_new(schema.clone(), cols)?;
    Ok(Table::new(schema, vec![batch]))
}
