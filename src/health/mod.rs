//! Program health: the watch a program team keeps on its creators' codes
//! (docs/health.md). `code_usage` is SQL (`sql/health/010_code_usage.sql`);
//! this domain turns its history into `code_leaks` and keeps the decisions
//! people take on codes in the ledger. Every flag is for a person to review:
//! only a confirmed leak changes what a code's redemptions pay.

pub mod codes;
pub mod decisions;

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, Decimal128Array, Float64Array, Int64Array, RecordBatch,
    StringArray,
};
use arrow::datatypes::{DataType, Date32Type, Decimal128Type, Int64Type};
use datafusion::prelude::DataFrame;

use crate::builtin::{self, Context, Table};
use crate::error::{Error, Result};
use crate::params::Param;
use crate::time::days_since_epoch;

/// `code_coupon_domains` (read by `sql/health/010_code_usage.sql`).
pub const COUPON_DOMAINS: Param = Param::strings(
    "code_coupon_domains",
    &[
        "retailmenot.com",
        "couponfollow.com",
        "slickdeals.net",
        "joinhoney.com",
        "honey.com",
        "rakuten.com",
        "capitaloneshopping.com",
        "topcashback.com",
        "befrugal.com",
        "groupon.com",
        "coupons.com",
        "couponcabin.com",
        "couponbirds.com",
        "offers.com",
        "dealnews.com",
        "dealspotr.com",
        "knoji.com",
        "wethrift.com",
        "karmanow.com",
        "vouchercodes.co.uk",
        "myvouchercodes.co.uk",
        "quidco.com",
        "mydealz.de",
        "igraal.com",
    ],
    "coupon, cashback and deal sites (and their subdomains): a buyer arriving from one in the 24 hours before the order counts as `coupon` in `code_usage`",
);

/// `code_post_window_days`.
pub const POST_WINDOW_DAYS: Param = Param::int(
    "code_post_window_days",
    7,
    1,
    "a redemption with no post of the creator in this many days before it counts as `no_recent_post`",
);

/// `code_audience_min_share`.
pub const AUDIENCE_MIN_SHARE: Param = Param::float(
    "code_audience_min_share",
    0.05,
    0.0,
    1.0,
    "an audience country counts as the creator's when it holds at least this share of their audience",
);

/// `code_history_days` (read by `sql/health/020_code_history.sql`).
pub const HISTORY_DAYS: Param = Param::int(
    "code_history_days",
    120,
    7,
    "days of `code_usage` history `code_leaks` reads",
);

/// `code_recent_days`.
pub const RECENT_DAYS: Param = Param::int(
    "code_recent_days",
    28,
    1,
    "the recent window whose shares `code_leaks` reports and shrinks",
);

/// `code_cusum_threshold`.
pub const CUSUM_THRESHOLD: Param = Param::float(
    "code_cusum_threshold",
    6.0,
    0.5,
    1000.0,
    "alarm threshold of the untouched-redemption CUSUM (log-likelihood ratio)",
);

/// `code_cusum_shift`.
pub const CUSUM_SHIFT: Param = Param::float(
    "code_cusum_shift",
    0.5,
    0.05,
    0.95,
    "the change the CUSUM looks for: untouched share from the program's p0 to `p0 + shift · (1 − p0)`",
);

/// `code_coupon_share`.
pub const COUPON_SHARE: Param = Param::float(
    "code_coupon_share",
    0.1,
    0.0,
    1.0,
    "a shrunk coupon-site share at least this high is evidence of a leak",
);

/// `code_outside_excess`.
pub const OUTSIDE_EXCESS: Param = Param::float(
    "code_outside_excess",
    0.2,
    0.0,
    1.0,
    "a shrunk outside-audience share this far above the program's is evidence of a leak",
);

/// `code_min_redemptions`.
pub const MIN_REDEMPTIONS: Param = Param::int(
    "code_min_redemptions",
    5,
    1,
    "recent redemptions a code needs for coupon evidence and to be `likely_leaked`; codes with this many redemptions in the whole history set the reference's starting point",
);

/// The parameters of program health.
pub const PARAMS: &[Param] = &[
    COUPON_DOMAINS,
    POST_WINDOW_DAYS,
    AUDIENCE_MIN_SHARE,
    HISTORY_DAYS,
    RECENT_DAYS,
    CUSUM_THRESHOLD,
    CUSUM_SHIFT,
    COUPON_SHARE,
    OUTSIDE_EXCESS,
    MIN_REDEMPTIONS,
];

const HISTORY: &str = "code usage history";

fn settings(ctx: &Context) -> Result<codes::Settings> {
    let p = &ctx.params;
    Ok(codes::Settings {
        recent_days: p.int(&RECENT_DAYS)?,
        cusum_threshold: p.float(&CUSUM_THRESHOLD)?,
        cusum_shift: p.float(&CUSUM_SHIFT)?,
        coupon_share: p.float(&COUPON_SHARE)?,
        outside_excess: p.float(&OUTSIDE_EXCESS)?,
        min_redemptions: p.int(&MIN_REDEMPTIONS)?,
    })
}

fn int_col<'a>(b: &'a RecordBatch, name: &str) -> Result<ArrayRef> {
    Ok(arrow::compute::cast(
        builtin::column(b, HISTORY, name)?,
        &DataType::Int64,
    )?)
}

fn cents(b: &RecordBatch, name: &str) -> Result<ArrayRef> {
    Ok(arrow::compute::cast(
        builtin::column(b, HISTORY, name)?,
        &DataType::Decimal128(38, 2),
    )?)
}

/// The history rows, one series per code in code order, days in order.
pub fn read_history(t: &Table) -> Result<Vec<codes::Series>> {
    let mut by_code: BTreeMap<String, codes::Series> = BTreeMap::new();
    for b in &t.batches {
        let code = builtin::strings(b, HISTORY, "code")?;
        let creator = builtin::strings(b, HISTORY, "creator_id")?;
        let dt = arrow::compute::cast(builtin::column(b, HISTORY, "dt")?, &DataType::Date32)?;
        let dt = dt.as_primitive::<Date32Type>();
        let ints: Vec<ArrayRef> = [
            "redemptions",
            "touched",
            "coupon",
            "outside_audience",
            "country_known",
            "new_customers",
        ]
        .iter()
        .map(|n| int_col(b, n))
        .collect::<Result<_>>()?;
        let ints: Vec<&arrow::array::PrimitiveArray<Int64Type>> =
            ints.iter().map(|a| a.as_primitive::<Int64Type>()).collect();
        let rev = cents(b, "untouched_revenue")?;
        let com = cents(b, "untouched_commission")?;
        let rev = rev.as_primitive::<Decimal128Type>();
        let com = com.as_primitive::<Decimal128Type>();
        for i in 0..b.num_rows() {
            let date = dt
                .value_as_date(i)
                .ok_or_else(|| Error::Config(format!("{HISTORY}: a row has no dt")))?;
            let v = |k: usize| {
                if ints[k].is_valid(i) {
                    ints[k].value(i)
                } else {
                    0
                }
            };
            let s = by_code
                .entry(code.value(i).to_string())
                .or_insert_with(|| codes::Series {
                    code: code.value(i).to_string(),
                    creator_id: creator.value(i).to_string(),
                    days: Vec::new(),
                });
            s.days.push(codes::Day {
                date,
                redemptions: v(0),
                touched: v(1),
                coupon: v(2),
                outside: v(3),
                country_known: v(4),
                new_customers: v(5),
                untouched_revenue: if rev.is_valid(i) { rev.value(i) } else { 0 },
                untouched_commission: if com.is_valid(i) { com.value(i) } else { 0 },
            });
        }
    }
    let mut out: Vec<codes::Series> = by_code.into_values().collect();
    for s in &mut out {
        s.days.sort_by_key(|d| d.date);
    }
    Ok(out)
}

/// The decisions (`code_decisions`) the run registered from the ledger.
pub fn read_decisions(t: &Table) -> Result<BTreeMap<String, codes::Decision>> {
    const INPUT: &str = "code decisions";
    let mut out = BTreeMap::new();
    for b in &t.batches {
        let code = builtin::strings(b, INPUT, "code")?;
        let decision = builtin::strings(b, INPUT, "decision")?;
        let by = builtin::strings(b, INPUT, "decided_by")?;
        let from =
            arrow::compute::cast(builtin::column(b, INPUT, "leaked_from")?, &DataType::Date32)?;
        let from = from.as_primitive::<Date32Type>();
        for i in 0..b.num_rows() {
            out.insert(
                code.value(i).to_string(),
                codes::Decision {
                    decision: decision.value(i).to_string(),
                    by: by.value(i).to_string(),
                    leaked_from: from.is_valid(i).then(|| from.value_as_date(i)).flatten(),
                },
            );
        }
    }
    Ok(out)
}

fn batch(rows: &[codes::Assessment]) -> Result<RecordBatch> {
    let s = |f: &dyn Fn(&codes::Assessment) -> Option<String>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<StringArray>())
    };
    let f = |f: &dyn Fn(&codes::Assessment) -> Option<f64>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<Float64Array>())
    };
    let i = |f: &dyn Fn(&codes::Assessment) -> i64| -> ArrayRef {
        Arc::new(rows.iter().map(|r| Some(f(r))).collect::<Int64Array>())
    };
    let d = |f: &dyn Fn(&codes::Assessment) -> Option<chrono::NaiveDate>| -> ArrayRef {
        Arc::new(
            rows.iter()
                .map(|r| f(r).map(days_since_epoch))
                .collect::<Date32Array>(),
        )
    };
    let money = |f: &dyn Fn(&codes::Assessment) -> i128| -> Result<ArrayRef> {
        Ok(Arc::new(
            rows.iter()
                .map(|r| Some(f(r)))
                .collect::<Decimal128Array>()
                .with_precision_and_scale(18, 2)?,
        ))
    };
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("code", s(&|r| Some(r.code.clone()))),
        ("creator_id", s(&|r| Some(r.creator_id.clone()))),
        ("status", s(&|r| Some(r.status.to_string()))),
        (
            "decision",
            s(&|r| r.decision.as_ref().map(|d| d.decision.clone())),
        ),
        (
            "decided_by",
            s(&|r| r.decision.as_ref().map(|d| d.by.clone())),
        ),
        (
            "leaked_from",
            d(&|r| r.decision.as_ref().and_then(|d| d.leaked_from)),
        ),
        ("first_flagged_on", d(&|r| r.first_flagged_on)),
        ("change_started_on", d(&|r| r.change_started_on)),
        ("history_days", i(&|r| r.history_days)),
        ("redemptions", i(&|r| r.redemptions)),
        ("recent_redemptions", i(&|r| r.recent_redemptions)),
        ("untouched_share", f(&|r| r.untouched_share)),
        ("untouched_share_shrunk", f(&|r| r.untouched_share_shrunk)),
        ("untouched_share_change", f(&|r| r.untouched_share_change)),
        ("coupon_share_shrunk", f(&|r| r.coupon_share_shrunk)),
        (
            "outside_audience_share_shrunk",
            f(&|r| r.outside_audience_share_shrunk),
        ),
        ("new_customer_share", f(&|r| r.new_customer_share)),
        (
            "program_untouched_share",
            f(&|r| Some(r.program_untouched_share)),
        ),
        ("prior_strength", f(&|r| Some(r.prior_strength))),
        ("cusum", f(&|r| Some(r.cusum))),
        ("cusum_threshold", f(&|r| Some(r.cusum_threshold))),
        ("leaked_redemptions", f(&|r| Some(r.leaked_redemptions))),
        ("leaked_revenue", money(&|r| r.leaked_revenue)?),
        ("leaked_commission", money(&|r| r.leaked_commission)?),
    ];
    // Nullability as declared, not as the day's data happens to be: the
    // first run's batch creates the Delta table.
    let declared = crate::tables::contract::table("code_leaks")
        .ok_or_else(|| Error::Internal("code_leaks is not declared".into()))?;
    let nullable = |n: &str| declared.column(n).is_none_or(|c| c.nullable);
    Ok(RecordBatch::try_from_iter_with_nullable(
        cols.into_iter().map(|(n, a)| (n, a, nullable(n))),
    )?)
}

/// The built-in: code usage history, code decisions → `code_leaks`.
pub async fn run(inputs: Vec<DataFrame>, ctx: Context) -> Result<Vec<Table>> {
    let [history, decided]: [Table; 2] = builtin::collect_all(inputs)
        .await?
        .try_into()
        .map_err(|_| Error::Config("the code_leaks built-in takes two inputs".into()))?;
    let series = read_history(&history)?;
    let decisions = read_decisions(&decided)?;
    let rows = codes::assess(&series, ctx.date, &settings(&ctx)?, &decisions);
    tracing::info!(
        codes = rows.len(),
        suspected = rows.iter().filter(|r| r.status == "suspected").count(),
        likely_leaked = rows.iter().filter(|r| r.status == "likely_leaked").count(),
        "code leaks assessed"
    );
    let b = batch(&rows)?;
    Ok(vec![Table::new(b.schema(), vec![b])])
}
