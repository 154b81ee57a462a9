//! ROI reconciles: cost components against the cost rows converted by hand,
//! attributed revenue against touch_credit net of refunds (every model),
//! commissions against payout_lines, and performance_by's dimensions against
//! each other. The export has stable columns and exact decimals.

use std::collections::BTreeMap;

use halo::money::div_pow10_half_even;

use crate::common::{halo_ok_on, run_nightly, sql_csv, tiny};

/// "12.34" / "-0.05" → cents.
fn cents(x: &str) -> i128 {
    let neg = x.starts_with('-');
    let x = x.trim_start_matches('-');
    let (a, b) = x.split_once('.').unwrap_or((x, "0"));
    let b = format!("{b:0<2}");
    let v = a.parse::<i128>().unwrap() * 100 + b[..2].parse::<i128>().unwrap();
    if neg { -v } else { v }
}

/// "1.08364704" → units of 1e-8.
fn rate_units(x: &str) -> i128 {
    let (a, b) = x.split_once('.').unwrap_or((x, "0"));
    let b = format!("{b:0<8}");
    a.parse::<i128>().unwrap() * 100_000_000 + b[..8].parse::<i128>().unwrap()
}

/// round_half_even(num / den), integers.
fn div_half_even(num: i128, den: i128) -> i128 {
    let q = num / den;
    let r = num % den;
    let twice = 2 * r.abs();
    let up = twice > den.abs() || (twice == den.abs() && q % 2 != 0);
    if up {
        q + num.signum() * den.signum()
    } else {
        q
    }
}

fn csv_rows(csv: &str) -> Vec<Vec<String>> {
    csv.lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn roi_totals_reconcile_with_their_sources() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in"), dir.path().join("out"));
    tiny(&input, 7).await;
    run_nightly(
        &input,
        &output,
        &["--from", "2026-10-22", "--to", "2026-10-31"],
    );
    let last = "DATE '2026-10-31'";
    let to_date = format!(
        "FROM creator_roi WHERE dt = {last} AND period = 'to_date' AND campaign_id IS NULL"
    );

    // Costs: every row converted at its day's rate, rounded once per row.
    let rows = csv_rows(&sql_csv(
        &input,
        &output,
        "SELECT k.kind, k.amount, k.currency, r.rate_to_base FROM raw.costs k \
         LEFT JOIN raw.fx_rates r ON r.currency = k.currency AND r.\"date\" = k.incurred_on \
         WHERE k.incurred_on <= DATE '2026-10-31'",
    ));
    let generated: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(input.join("_generator.json")).unwrap())
            .unwrap();
    assert_eq!(
        rows.len() as u64,
        generated["rows"]["costs"].as_u64().unwrap(),
        "every cost row the generator wrote is summed"
    );
    // (Conversion itself is checked by hand in payouts.rs: this data is all USD.)
    let mut want: BTreeMap<String, i128> = BTreeMap::new();
    for r in &rows {
        let amount = cents(&r[1]);
        let v = if r[2] == "USD" {
            amount
        } else {
            div_pow10_half_even(amount * rate_units(&r[3]), 8)
        };
        *want.entry(r[0].clone()).or_default() += v;
    }
    // One creator_roi column per contract cost kind (`other` is other_cost).
    let kinds = halo::catalog::contract::COST_KINDS;
    let sums: Vec<String> = kinds
        .iter()
        .map(|k| match *k {
            "other" => "sum(other_cost)".to_string(),
            k => format!("sum({k})"),
        })
        .collect();
    let got = csv_rows(&sql_csv(
        &input,
        &output,
        &format!("SELECT {} {to_date}", sums.join(", ")),
    ));
    for (i, k) in kinds.iter().enumerate() {
        assert_eq!(
            cents(&got[0][i]),
            want.get(*k).copied().unwrap_or(0),
            "cost component {k}"
        );
    }

    // Commissions: the payout lines that count as cost (all USD plans here).
    let lines = csv_rows(&sql_csv(
        &input,
        &output,
        &format!(
            "SELECT coalesce(sum(amount), 0), count(DISTINCT currency) FROM payout_lines WHERE dt = {last} \
             AND status NOT IN ('rejected', 'not_commissionable') AND ordered_at IS NOT NULL"
        ),
    ));
    assert_eq!(lines[0][1], "1", "one plan currency in the tiny data");
    let roi_commission = csv_rows(&sql_csv(
        &input,
        &output,
        &format!("SELECT sum(commission) {to_date}"),
    ));
    assert_eq!(cents(&roi_commission[0][0]), cents(&lines[0][0]));
    assert!(cents(&lines[0][0]) > 0, "commissions were computed");

    // Attributed revenue: touch credit net of (clean) refunds, per model.
    let credit = csv_rows(&sql_csv(
        &input,
        &output,
        "WITH clean_refunds AS ( \
           SELECT r.order_id, sum(r.amount) AS refunded FROM raw.refunds r \
           WHERE r.refunded_at < TIMESTAMP '2026-11-01T04:00:00Z' AND NOT EXISTS ( \
             SELECT 1 FROM rejects j WHERE j.\"table\" = 'refunds' AND strpos(j.\"row\", '\"' || r.refund_id || '\"') > 0) \
           GROUP BY r.order_id) \
         SELECT t.model, t.revenue_credit, o.revenue, coalesce(f.refunded, 0) \
         FROM touch_credit t JOIN raw.orders o ON o.order_id = t.order_id \
         LEFT JOIN clean_refunds f ON f.order_id = t.order_id \
         WHERE t.creator_id IS NOT NULL",
    ));
    assert!(credit.len() > 50);
    let mut want: BTreeMap<String, i128> = BTreeMap::new();
    for r in &credit {
        let (rc, rev, refd) = (cents(&r[1]), cents(&r[2]), cents(&r[3]));
        let net = if rev > 0 {
            div_half_even(rc * (rev - refd), rev)
        } else {
            rc
        };
        *want.entry(r[0].clone()).or_default() += net;
    }
    let got: BTreeMap<String, i128> = csv_rows(&sql_csv(
        &input,
        &output,
        &format!(
            "SELECT model, sum(revenue) FROM (SELECT unnest(map_keys(attributed_revenue_by_model)) AS model, \
             unnest(map_values(attributed_revenue_by_model)) AS revenue {to_date}) GROUP BY model"
        ),
    ))
    .into_iter()
    .map(|r| (r[0].clone(), cents(&r[1])))
    .collect();
    assert_eq!(got, want, "attributed revenue by model");
    let default = csv_rows(&sql_csv(
        &input,
        &output,
        &format!("SELECT sum(attributed_revenue) {to_date}"),
    ));
    assert_eq!(
        cents(&default[0][0]),
        want["markov_o1"],
        "the default model is markov_o1"
    );

    // performance_by: every dimension splits the same facts; ranks are 1..n.
    let perf = csv_rows(&sql_csv(
        &input,
        &output,
        &format!(
            "SELECT dimension, sum(total_cost), sum(combined_revenue), count(*), min(rank), max(rank), count(DISTINCT rank) \
             FROM performance_by WHERE dt = {last} AND period = 'to_date' GROUP BY dimension ORDER BY dimension"
        ),
    ));
    assert_eq!(perf.len(), 4);
    for p in &perf {
        assert_eq!(p[1], perf[0][1], "total cost by {}", p[0]);
        assert_eq!(p[2], perf[0][2], "combined revenue by {}", p[0]);
        assert_eq!(
            (p[4].as_str(), &p[5], &p[6]),
            ("1", &p[3], &p[3]),
            "ranks of {}",
            p[0]
        );
    }
    let creator_total = csv_rows(&sql_csv(
        &input,
        &output,
        &format!("SELECT sum(total_cost) {to_date}"),
    ));
    assert_eq!(cents(&perf[0][1]), cents(&creator_total[0][0]));
    // The shrunk ROAS lies between the key's own and the pooled one, and the rank follows it.
    let ranked = csv_rows(&sql_csv(
        &input,
        &output,
        &format!(
            "SELECT key, roas, roas_shrunk, credibility, rank FROM performance_by \
             WHERE dt = {last} AND period = 'to_date' AND dimension = 'creator' ORDER BY rank"
        ),
    ));
    let shrunk: Vec<Option<f64>> = ranked.iter().map(|r| r[2].parse().ok()).collect();
    for w in shrunk.windows(2) {
        if let (Some(a), Some(b)) = (w[0], w[1]) {
            assert!(a >= b, "ranked by shrunk ROAS: {ranked:?}");
        }
    }

    // creator_platform: each creator's rows sum, to the cent, to its
    // performance_by totals (shared costs split by largest remainder), and
    // its reach to the posts and clicks of the input.
    let mismatched = sql_csv(
        &input,
        &output,
        &format!(
            "WITH cp AS (SELECT period, creator_id, sum(total_cost) AS cost, sum(combined_revenue) AS revenue \
                         FROM creator_platform WHERE dt = {last} GROUP BY period, creator_id) \
             SELECT p.period, p.key, p.total_cost, cp.cost, p.combined_revenue, cp.revenue FROM performance_by p \
             LEFT JOIN cp ON cp.period = p.period AND cp.creator_id = p.key \
             WHERE p.dt = {last} AND p.dimension = 'creator' \
               AND (cp.cost IS NULL OR cp.cost <> p.total_cost OR cp.revenue <> p.combined_revenue)"
        ),
    );
    assert_eq!(csv_rows(&mismatched).len(), 0, "{mismatched}");
    let reach = csv_rows(&sql_csv(
        &input,
        &output,
        &format!(
            "SELECT (SELECT sum(posts) FROM creator_platform WHERE dt = {last} AND period = 'month') AS posts, \
                    (SELECT count(*) FROM raw.content WHERE published_at >= TIMESTAMP '2026-10-01T04:00:00Z' \
                       AND published_at < TIMESTAMP '2026-11-01T04:00:00Z') AS content, \
                    (SELECT sum(clicks) FROM creator_platform WHERE dt = {last} AND period = 'month') AS clicks"
        ),
    ));
    assert_eq!(
        reach[0][0], reach[0][1],
        "every post of the month counted once"
    );
    assert!(reach[0][2].parse::<i64>().unwrap() > 0, "clicks counted");

    // recommendations: one row per creator and per creator_platform row, an
    // action from the documented set, its probability behind it.
    let recs = csv_rows(&sql_csv(
        &input,
        &output,
        &format!(
            "SELECT (SELECT count(*) FROM recommendations WHERE dt = {last} AND level = 'creator') AS recs, \
                    (SELECT count(*) FROM performance_by WHERE dt = {last} AND dimension = 'creator') AS creators, \
                    (SELECT count(*) FROM recommendations WHERE dt = {last} AND level = 'creator_platform_format') AS cross_recs, \
                    (SELECT count(*) FROM creator_platform WHERE dt = {last}) AS rows, \
                    (SELECT count(*) FROM recommendations WHERE dt = {last} AND (action NOT IN \
                        ('scale', 'keep', 'rework_content', 'renegotiate_terms', 'pause', 'investigate') \
                        OR (action = 'scale' AND p_meets_target < 0.8) \
                        OR (action = 'pause' AND p_loses_money < 0.8) \
                        OR (action = 'investigate' AND high_flags + likely_leaked_codes + suspected_codes = 0) \
                        OR (action <> 'investigate' AND action <> performance_action))) AS broken"
        ),
    ));
    assert_eq!(recs[0][0], recs[0][1], "a recommendation per creator");
    assert_eq!(
        recs[0][2], recs[0][3],
        "a recommendation per creator_platform row"
    );
    assert_eq!(recs[0][4], "0", "actions follow their rules");

    // The finance export: one row per creator, stable columns, exact decimals.
    let csv = halo_ok_on(
        &input,
        &output,
        &[
            "export",
            "creator_roi",
            "--period",
            "2026-10",
            "--format",
            "csv",
        ],
    );
    let header = csv.lines().next().unwrap();
    // Spelled out: finance sheets key on these, so a change must be deliberate.
    assert_eq!(
        header,
        "creator_id,display_name,period,period_start,as_of,orders,attributed_orders,\
         incremental_orders,new_customers,attributed_revenue,incremental_revenue,\
         incremental_revenue_low,incremental_revenue_high,combined_revenue,creator_fee,\
         free_product,shipping,production,platform_spend,platform_fee,other_cost,commission,\
         total_cost,cost_of_goods,contribution_margin,cpa,roas,roas_low,roas_high,roi"
    );
    let body = csv_rows(&csv);
    let creators: std::collections::BTreeSet<&str> = body.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(creators.len(), body.len(), "one row per creator");
    let total_cost = header.split(',').position(|c| c == "total_cost").unwrap();
    assert!(body.iter().all(|r| {
        r[total_cost]
            .split('.')
            .nth(1)
            .is_some_and(|d| d.len() == 2)
    }));
    let parquet = dir.path().join("roi.parquet");
    halo_ok_on(
        &input,
        &output,
        &[
            "export",
            "creator_roi",
            "--period",
            "2026-10",
            "--format",
            "parquet",
            "--to",
            parquet.to_str().unwrap(),
        ],
    );
    let f = std::fs::File::open(&parquet).unwrap();
    let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f).unwrap();
    let field = r.schema().field_with_name("total_cost").unwrap().clone();
    assert_eq!(
        field.data_type(),
        &arrow::datatypes::DataType::Decimal128(18, 2)
    );
}
