//! The lift result tables (columns documented in `docs/results.md`).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date32Builder, Decimal128Builder, Float64Builder, Int64Builder, RecordBatch,
    StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

use super::fit::WINDOWS;
use super::settings::Settings;
use super::{Estimates, stats};
use crate::builtin::Table;
use crate::error::Result;

fn utc() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn money() -> DataType {
    DataType::Decimal128(18, 2)
}

fn table(fields: Vec<Field>, cols: Vec<ArrayRef>) -> Result<Table> {
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), cols)?;
    Ok(Table::new(schema, vec![batch]))
}

/// `post_lift`: one row per post, signal and window, for posts published in
/// the rolling range `[date − rolling, date]` (local dates); `dt` is the
/// publication date.
pub fn post_lift(e: &Estimates, date: chrono::NaiveDate, rolling: usize) -> Result<Table> {
    let run_day = crate::time::days_since_epoch(date);
    let first = run_day - rolling as i32;
    let mut c = (
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
        TimestampMicrosecondBuilder::new().with_timezone("UTC"),
        StringBuilder::new(),
        StringBuilder::new(),
    );
    let mut f: Vec<Float64Builder> = (0..9).map(|_| Float64Builder::new()).collect();
    let mut orders = Float64Builder::new();
    let mut revenue = Decimal128Builder::new().with_data_type(money());
    let mut status = StringBuilder::new();
    let mut dt = Date32Builder::new();
    let mut rows: Vec<&super::PostSignal> = e
        .rows
        .iter()
        .filter(|r| e.local_date[r.post] >= first && e.local_date[r.post] <= run_day)
        .collect();
    rows.sort_by(|a, b| {
        (
            e.posts[a.post].published_at,
            &e.posts[a.post].content_id,
            &a.signal,
        )
            .cmp(&(
                e.posts[b.post].published_at,
                &e.posts[b.post].content_id,
                &b.signal,
            ))
    });
    for r in rows {
        let p = &e.posts[r.post];
        for (w, name) in WINDOWS.iter().enumerate() {
            let x = &r.windows[w];
            c.0.append_value(&p.content_id);
            c.1.append_value(&p.creator_id);
            c.2.append_value(&p.platform);
            c.3.append_value(&p.format);
            c.4.append_value(p.published_at);
            c.5.append_value(&r.signal);
            c.6.append_value(name);
            for (b, v) in f.iter_mut().zip([
                x.observed,
                x.baseline,
                x.lift,
                x.lift_low,
                x.lift_high,
                x.p_value,
                r.q[w],
                x.min_detectable_lift,
                x.overlap_share,
            ]) {
                b.append_value(v);
            }
            orders.append_option(r.orders.map(|o| o[w]));
            revenue.append_option(r.revenue_cents.map(|v| v[w]));
            status.append_value(if e.final_[r.post] {
                "final"
            } else {
                "provisional"
            });
            dt.append_value(e.local_date[r.post]);
        }
    }
    let names = [
        "observed",
        "baseline",
        "lift",
        "lift_low",
        "lift_high",
        "p_value",
        "q_value",
        "min_detectable_lift",
        "overlap_share",
    ];
    let mut fields = vec![
        Field::new("content_id", DataType::Utf8, false),
        Field::new("creator_id", DataType::Utf8, false),
        Field::new("platform", DataType::Utf8, false),
        Field::new("format", DataType::Utf8, false),
        Field::new("published_at", utc(), false),
        Field::new("signal", DataType::Utf8, false),
        Field::new("window", DataType::Utf8, false),
    ];
    fields.extend(
        names
            .iter()
            .map(|n| Field::new(*n, DataType::Float64, false)),
    );
    fields.extend([
        Field::new("incremental_orders", DataType::Float64, true),
        Field::new("incremental_revenue", money(), true),
        Field::new("status", DataType::Utf8, false),
        Field::new(crate::tables::PARTITION_COL, DataType::Date32, false),
    ]);
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(c.0.finish()),
        Arc::new(c.1.finish()),
        Arc::new(c.2.finish()),
        Arc::new(c.3.finish()),
        Arc::new(c.4.finish()),
        Arc::new(c.5.finish()),
        Arc::new(c.6.finish()),
    ];
    cols.extend(f.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    cols.push(Arc::new(orders.finish()));
    cols.push(Arc::new(revenue.finish()));
    cols.push(Arc::new(status.finish()));
    cols.push(Arc::new(dt.finish()));
    table(fields, cols)
}

/// `traffic_baseline`: every minute of the run date, per signal and country
/// ("ALL" = every country together, the series lift is measured on).
pub fn traffic_baseline(e: &Estimates) -> Result<Table> {
    let mut minute = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    let (mut signal, mut country) = (StringBuilder::new(), StringBuilder::new());
    let (mut obs, mut base, mut exc) = (
        Float64Builder::new(),
        Float64Builder::new(),
        Float64Builder::new(),
    );
    for (m, s, c, y, b) in &e.traffic {
        minute.append_value(m * 60_000_000);
        signal.append_value(s);
        country.append_value(c);
        obs.append_value(*y);
        base.append_value(*b);
        exc.append_value(y - b);
    }
    table(
        vec![
            Field::new("minute", utc(), false),
            Field::new("signal", DataType::Utf8, false),
            Field::new("country", DataType::Utf8, false),
            Field::new("observed", DataType::Float64, false),
            Field::new("baseline", DataType::Float64, false),
            Field::new("excess", DataType::Float64, false),
        ],
        vec![
            Arc::new(minute.finish()),
            Arc::new(signal.finish()),
            Arc::new(country.finish()),
            Arc::new(obs.finish()),
            Arc::new(base.finish()),
            Arc::new(exc.finish()),
        ],
    )
}

/// `lift_summary`: average lift per post by creator, platform and format over
/// the posts published in the last `summary_days` local days whose window has
/// closed, with an interval that treats posts as independent.
pub fn lift_summary(e: &Estimates, date: chrono::NaiveDate, s: &Settings) -> Result<Table> {
    let run_day = crate::time::days_since_epoch(date);
    let first = run_day - s.summary_days as i32 + 1;
    let z = stats::normal_quantile(0.5 + s.confidence / 2.0);
    // (level, key, signal, window) -> (posts, Σ lift, Σ se², detected, orders, revenue, any orders)
    type Acc = (usize, f64, f64, usize, f64, i128, bool);
    let mut groups: BTreeMap<(&str, &str, &str, usize), Acc> = BTreeMap::new();
    for r in &e.rows {
        let p = &e.posts[r.post];
        if e.local_date[r.post] < first || e.local_date[r.post] > run_day {
            continue;
        }
        for w in 0..2 {
            let x = &r.windows[w];
            if !x.complete {
                continue;
            }
            for (level, key) in [
                ("creator", &p.creator_id),
                ("platform", &p.platform),
                ("format", &p.format),
            ] {
                let a = groups
                    .entry((level, key.as_str(), r.signal.as_str(), w))
                    .or_default();
                a.0 += 1;
                a.1 += x.lift;
                a.2 += x.se * x.se;
                a.3 += usize::from(r.q[w] < s.fdr);
                if let (Some(o), Some(v)) = (r.orders, r.revenue_cents) {
                    a.4 += o[w];
                    a.5 += v[w];
                    a.6 = true;
                }
            }
        }
    }
    let (mut level, mut key, mut signal, mut window) = (
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
    );
    let mut posts = Int64Builder::new();
    let (mut mean, mut lo, mut hi) = (
        Float64Builder::new(),
        Float64Builder::new(),
        Float64Builder::new(),
    );
    let mut total = Float64Builder::new();
    let mut detected = Int64Builder::new();
    let mut orders = Float64Builder::new();
    let mut revenue = Decimal128Builder::new().with_data_type(money());
    for ((l, k, sig, w), a) in &groups {
        let n = a.0 as f64;
        let m = a.1 / n;
        let se = a.2.sqrt() / n;
        level.append_value(l);
        key.append_value(k);
        signal.append_value(sig);
        window.append_value(WINDOWS[*w]);
        posts.append_value(a.0 as i64);
        mean.append_value(m);
        lo.append_value(m - z * se);
        hi.append_value(m + z * se);
        total.append_value(a.1);
        detected.append_value(a.3 as i64);
        orders.append_option(a.6.then_some(a.4));
        revenue.append_option(a.6.then_some(a.5));
    }
    table(
        vec![
            Field::new("level", DataType::Utf8, false),
            Field::new("key", DataType::Utf8, false),
            Field::new("signal", DataType::Utf8, false),
            Field::new("window", DataType::Utf8, false),
            Field::new("posts", DataType::Int64, false),
            Field::new("lift_per_post", DataType::Float64, false),
            Field::new("lift_low", DataType::Float64, false),
            Field::new("lift_high", DataType::Float64, false),
            Field::new("total_lift", DataType::Float64, false),
            Field::new("detected_posts", DataType::Int64, false),
            Field::new("incremental_orders", DataType::Float64, true),
            Field::new("incremental_revenue", money(), true),
        ],
        vec![
            Arc::new(level.finish()),
            Arc::new(key.finish()),
            Arc::new(signal.finish()),
            Arc::new(window.finish()),
            Arc::new(posts.finish()),
            Arc::new(mean.finish()),
            Arc::new(lo.finish()),
            Arc::new(hi.finish()),
            Arc::new(total.finish()),
            Arc::new(detected.finish()),
            Arc::new(orders.finish()),
            Arc::new(revenue.finish()),
        ],
    )
}

/// `lift_priors`: the amplitude prior each creator's posts in a format were
/// fitted under, per signal, on the run date.
pub fn lift_priors(e: &Estimates) -> Result<Table> {
    let (mut signal, mut creator, mut format) = (
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
    );
    let (mut posts, mut mean, mut format_mean) = (
        Int64Builder::new(),
        Float64Builder::new(),
        Float64Builder::new(),
    );
    let mut pseudo = Float64Builder::new();
    for p in &e.priors {
        signal.append_value(&p.signal);
        creator.append_value(&p.creator_id);
        format.append_value(&p.format);
        posts.append_value(p.posts as i64);
        mean.append_value(p.mean);
        format_mean.append_value(p.format_mean);
        pseudo.append_value(super::fit::GROUP_PRIOR_POSTS);
    }
    table(
        vec![
            Field::new("signal", DataType::Utf8, false),
            Field::new("creator_id", DataType::Utf8, false),
            Field::new("format", DataType::Utf8, false),
            Field::new("posts", DataType::Int64, false),
            Field::new("prior_mean", DataType::Float64, false),
            Field::new("format_mean", DataType::Float64, false),
            Field::new("pseudo_posts", DataType::Float64, false),
        ],
        vec![
            Arc::new(signal.finish()),
            Arc::new(creator.finish()),
            Arc::new(format.finish()),
            Arc::new(posts.finish()),
            Arc::new(mean.finish()),
            Arc::new(format_mean.finish()),
            Arc::new(pseudo.finish()),
        ],
    )
}
