//! Commissions and payouts against hand-computed cases, the approval ledger
//! (approve, re-run, approve twice, tampering, export), and a simulation.
//!
//! The case (T0 = 2026-10-01 08:00 New York):
//! - c1 has a creator-wide plan P1 (code_or_link, 10 %, new customers 20 %,
//!   lock 14 days) and a campaign plan P2 for cmp1 (code_or_link, 15 % +
//!   2.00 per order, valid 10-01..10-10).
//! - c2 has P3 (code, EUR, tiers 0 → 10 %, 1,000.00 → 12 %, lock 7 days),
//!   valid from 10-02.
//! - c3 has P4 (model credit, 10 %).
//!
//! | order | when (NY) | what | expected |
//! |---|---|---|---|
//! | o1 | 10-01 08:00 | 100.00 USD, c1's code and, last click, c1's cmp1 link | P2 (campaign wins) via code+link: 15 % × 100 + 2 = 17.00 |
//! | o2 | 10-12 | 200.00 USD, c1's code, new customer | P2 expired → P1, new-customer rate: 40.00; refunded in full on 11-03, after approval → clawback −40.00 |
//! | o3 | 10-02 23:30 (10-03 UTC) | 1,000.00 USD, c2's code | EUR at 10-02's rate 1.25 (not 10-03's 1.30): base 800.00 EUR |
//! | o4 | 10-03 | 250.00 EUR, c2's code, 50.00 refunded 10-05 | month total under P3 = 800 + 200 = 1,000.00: the 12 % tier exactly; o3 96.00, o4 gross 30.00, reversal 6.00, net 24.00 |
//! | o5 | 10-01 | 40.00 USD, c2's code | before P3 is valid: not commissionable |
//! | o6 | 10-02 | 80.00 USD, clicks on c1's then c3's bio link | c3 via model credit (share from touch_credit) at 10 %; c1 not commissionable (its last click is c3's) |
//! | o7 | 10-20 | 0.00 USD with c1's code: product sent through the shop, 2 × 12.50 at cost | a 0.00 commission (lock 11-03); 25.00 of free product in c1's ROI |

use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Decimal128Array, Int32Array, ListArray, StructArray, TimestampMicrosecondArray,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Fields};

use crate::common::{halo, halo_ok_on, nightly_args, run_nightly, sql_csv, write_parquet};
use crate::contract::{T0, money, s, str_lists, ts};

const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;

fn dec(v: &[Option<i128>], p: u8, sc: i8) -> ArrayRef {
    Arc::new(
        Decimal128Array::from(v.to_vec())
            .with_precision_and_scale(p, sc)
            .unwrap(),
    )
}

fn opt_ts(v: &[Option<i64>]) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(v.to_vec()).with_timezone("UTC"))
}

/// tiers: list<struct<monthly_revenue_from decimal(18,2), rate_percent decimal(9,4)>>.
fn tiers(v: &[Option<&[(i128, i128)]>]) -> ArrayRef {
    let fields = Fields::from(vec![
        Field::new("monthly_revenue_from", DataType::Decimal128(18, 2), true),
        Field::new("rate_percent", DataType::Decimal128(9, 4), true),
    ]);
    let (mut from, mut rate, mut lens, mut valid) = (vec![], vec![], vec![], vec![]);
    for t in v {
        let items = t.unwrap_or(&[]);
        for (f, r) in items {
            from.push(Some(*f));
            rate.push(Some(*r));
        }
        lens.push(items.len());
        valid.push(t.is_some());
    }
    let values = StructArray::new(
        fields.clone(),
        vec![dec(&from, 18, 2), dec(&rate, 9, 4)],
        None,
    );
    Arc::new(ListArray::new(
        Arc::new(Field::new("item", DataType::Struct(fields), true)),
        OffsetBuffer::from_lengths(lens),
        Arc::new(values),
        Some(valid.into()),
    ))
}

/// 2026-10-01 00:00 UTC + `d` days, as a timestamp.
fn day(d: i64) -> i64 {
    T0 - 12 * HOUR + d * DAY
}

fn write_case(input: &Path) {
    write_parquet(
        &input.join("creators/part-0.parquet"),
        vec![
            ("creator_id", s(&[Some("c1"), Some("c2"), Some("c3")])),
            (
                "display_name",
                s(&[Some("One"), Some("Two"), Some("Three")]),
            ),
            (
                "status",
                s(&[Some("active"), Some("active"), Some("active")]),
            ),
        ],
    );
    write_parquet(
        &input.join("campaigns/part-0.parquet"),
        vec![
            ("campaign_id", s(&[Some("cmp1")])),
            ("name", s(&[Some("Drop 1")])),
            ("starts_at", ts(&[day(0)])),
            ("ends_at", ts(&[day(10)])),
            ("structure", s(&[Some("affiliate")])),
        ],
    );
    write_parquet(
        &input.join("content/part-0.parquet"),
        vec![
            ("content_id", s(&[Some("p1")])),
            ("creator_id", s(&[Some("c1")])),
            ("campaign_id", s(&[Some("cmp1")])),
            ("platform", s(&[Some("instagram")])),
            ("format", s(&[Some("reel")])),
            ("published_at", ts(&[T0 - 3 * HOUR])),
        ],
    );
    write_parquet(
        &input.join("links/part-0.parquet"),
        vec![
            ("link_id", s(&[Some("l1"), Some("b1"), Some("b3")])),
            ("creator_id", s(&[Some("c1"), Some("c1"), Some("c3")])),
            ("campaign_id", s(&[Some("cmp1"), None, None])),
            ("content_id", s(&[Some("p1"), None, None])),
            (
                "destination_url",
                s(&[Some("https://x"), Some("https://x"), Some("https://x")]),
            ),
        ],
    );
    write_parquet(
        &input.join("clicks/part-0.parquet"),
        vec![
            ("click_id", s(&[Some("k1"), Some("k6a"), Some("k6b")])),
            ("link_id", s(&[Some("l1"), Some("b1"), Some("b3")])),
            ("anonymous_id", s(&[Some("a1"), Some("a6"), Some("a6")])),
            ("clicked_at", ts(&[T0 - HOUR, T0 + DAY, T0 + DAY + HOUR])),
        ],
    );
    write_parquet(
        &input.join("sessions/part-0.parquet"),
        vec![
            ("session_id", s(&[Some("s1"), Some("s6a"), Some("s6b")])),
            ("anonymous_id", s(&[Some("a1"), Some("a6"), Some("a6")])),
            ("started_at", ts(&[T0 - HOUR, T0 + DAY, T0 + DAY + HOUR])),
            (
                "channel",
                s(&[Some("affiliate"), Some("affiliate"), Some("affiliate")]),
            ),
            ("click_id", s(&[Some("k1"), Some("k6a"), Some("k6b")])),
        ],
    );
    write_parquet(
        &input.join("codes/part-0.parquet"),
        vec![
            ("code", s(&[Some("ONE10"), Some("TWO10")])),
            ("creator_id", s(&[Some("c1"), Some("c2")])),
        ],
    );
    let o3_at = T0 + DAY + 15 * HOUR + 30 * 60_000_000; // 10-02 23:30 New York
    write_parquet(
        &input.join("orders/part-0.parquet"),
        vec![
            (
                "order_id",
                s(&[
                    Some("o1"),
                    Some("o2"),
                    Some("o3"),
                    Some("o4"),
                    Some("o5"),
                    Some("o6"),
                    Some("o7"),
                ]),
            ),
            (
                "ordered_at",
                ts(&[
                    T0,
                    T0 + 11 * DAY,
                    o3_at,
                    T0 + 2 * DAY,
                    T0 + HOUR,
                    T0 + DAY + 2 * HOUR,
                    T0 + 19 * DAY,
                ]),
            ),
            (
                "anonymous_id",
                s(&[
                    Some("a1"),
                    Some("a2"),
                    Some("a3"),
                    Some("a4"),
                    Some("a5"),
                    Some("a6"),
                    Some("a7"),
                ]),
            ),
            (
                "revenue",
                money(&[10000, 20000, 100000, 25000, 4000, 8000, 0]),
            ),
            (
                "currency",
                s(&[
                    Some("USD"),
                    Some("USD"),
                    Some("USD"),
                    Some("EUR"),
                    Some("USD"),
                    Some("USD"),
                    Some("USD"),
                ]),
            ),
            (
                "discount_codes",
                str_lists(&[
                    &["one10"],
                    &["ONE10"],
                    &["TWO10"],
                    &["two10"],
                    &["TWO10"],
                    &[],
                    &["ONE10"],
                ]),
            ),
            (
                "is_new_customer",
                Arc::new(arrow::array::BooleanArray::from(vec![
                    false, true, false, false, false, false, false,
                ])) as ArrayRef,
            ),
        ],
    );
    // o7 is free product shipped through the shop: 2 units at 12.50.
    write_parquet(
        &input.join("order_lines/part-0.parquet"),
        vec![
            ("order_id", s(&[Some("o7")])),
            ("line_no", Arc::new(Int32Array::from(vec![1])) as ArrayRef),
            ("sku", s(&[Some("S1")])),
            ("quantity", Arc::new(Int32Array::from(vec![2])) as ArrayRef),
            ("net_amount", money(&[0])),
            ("unit_cost", money(&[1250])),
        ],
    );
    write_parquet(
        &input.join("refunds/part-0.parquet"),
        vec![
            ("refund_id", s(&[Some("r4"), Some("r2")])),
            ("order_id", s(&[Some("o4"), Some("o2")])),
            ("refunded_at", ts(&[T0 + 4 * DAY, T0 + 33 * DAY])),
            ("amount", money(&[5000, 20000])),
            ("currency", s(&[Some("EUR"), Some("USD")])),
        ],
    );
    // EUR is worth 1.25 USD on 10-02 and 1.30 from 10-03 on.
    let mut dates = Vec::new();
    let mut rates = Vec::new();
    for d in 0..40 {
        dates.push(20_727 + d); // 2026-10-01 = day 20727
        rates.push(Some(if d < 2 { 125_000_000 } else { 130_000_000 }));
    }
    write_parquet(
        &input.join("fx_rates/part-0.parquet"),
        vec![
            (
                "date",
                Arc::new(arrow::array::Date32Array::from(dates.clone())) as ArrayRef,
            ),
            ("currency", s(&vec![Some("EUR"); dates.len()])),
            ("rate_to_base", dec(&rates, 18, 8)),
        ],
    );
    write_plans(&input.join("commission_plans/part-0.parquet"), false);
    write_costs(input, "EUR");
}

/// c1's costs: a 100.00 fee in `fee_currency` on 10-02 and 30.00 USD of free product.
fn write_costs(input: &Path, fee_currency: &str) {
    write_parquet(
        &input.join("costs/part-0.parquet"),
        vec![
            ("cost_id", s(&[Some("k1"), Some("k2")])),
            ("creator_id", s(&[Some("c1"), Some("c1")])),
            ("campaign_id", s(&[Some("cmp1"), None])),
            ("kind", s(&[Some("creator_fee"), Some("free_product")])),
            ("amount", money(&[10000, 3000])),
            ("currency", s(&[Some(fee_currency), Some("USD")])),
            (
                "incurred_on",
                Arc::new(arrow::array::Date32Array::from(vec![20_728, 20_728])) as ArrayRef,
            ),
        ],
    );
}

/// The plans; `proposed` raises c1's new-customer rate to 25 % (simulation).
fn write_plans(path: &Path, proposed: bool) {
    write_plans_with(path, proposed, None);
}

/// [`write_plans`], with `leaked_redemptions` set on c1's plans when given.
fn write_plans_with(path: &Path, proposed: bool, leaked: Option<&str>) {
    let new_rate = if proposed { 250_000 } else { 200_000 };
    let mut cols = vec![
        (
            "plan_id",
            s(&[Some("P1"), Some("P2"), Some("P3"), Some("P4")]),
        ),
        (
            "creator_id",
            s(&[Some("c1"), Some("c1"), Some("c2"), Some("c3")]),
        ),
        ("campaign_id", s(&[None, Some("cmp1"), None, None])),
        ("valid_from", ts(&[day(-300), day(0), day(1), day(-300)])),
        ("valid_to", opt_ts(&[None, Some(day(10) - 1), None, None])),
        (
            "rate_percent",
            dec(
                &[Some(100_000), Some(150_000), Some(100_000), Some(100_000)],
                9,
                4,
            ),
        ),
        ("flat_per_order", dec(&[None, Some(200), None, None], 18, 2)),
        (
            "new_customer_rate_percent",
            dec(&[Some(new_rate), None, None, None], 9, 4),
        ),
        (
            "tiers",
            tiers(&[None, None, Some(&[(0, 100_000), (100_000, 120_000)]), None]),
        ),
        (
            "lock_days",
            Arc::new(Int32Array::from(vec![14, 14, 7, 14])) as ArrayRef,
        ),
        (
            "credit_basis",
            s(&[
                Some("code_or_link"),
                Some("code_or_link"),
                Some("code"),
                Some("model"),
            ]),
        ),
        (
            "currency",
            s(&[Some("USD"), Some("USD"), Some("EUR"), Some("USD")]),
        ),
    ];
    if let Some(l) = leaked {
        cols.push(("leaked_redemptions", s(&[Some(l), Some(l), None, None])));
    }
    write_parquet(path, cols);
}

fn lines(input: &Path, output: &Path, dt: &str) -> Vec<Vec<String>> {
    sql_csv(
        input,
        output,
        &format!(
            "SELECT line_id, kind, plan_id, via, base, rate_percent, gross, reversal, amount, currency, status, payout_id \
             FROM payout_lines WHERE dt = DATE '{dt}' ORDER BY line_id"
        ),
    )
    .lines()
    .skip(1)
    .map(|l| l.split(',').map(str::to_owned).collect())
    .collect()
}

fn line<'a>(rows: &'a [Vec<String>], id: &str) -> &'a [String] {
    rows.iter()
        .find(|r| r[0] == id)
        .unwrap_or_else(|| panic!("no line {id} in {rows:?}"))
}

fn payouts(input: &Path, output: &Path, dt: &str) -> String {
    sql_csv(
        input,
        output,
        &format!(
            "SELECT payout_id, period, currency, gross, reversals, clawbacks, adjustments, net, lines, status, decided_by \
             FROM payouts WHERE dt = DATE '{dt}' ORDER BY payout_id"
        ),
    )
}

fn cli(output: &Path, args: &[&str]) -> std::process::Output {
    let mut a = vec!["payouts"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--output", output.to_str().unwrap()]);
    halo(&a, &[])
}

/// Writes the case under `dir` and runs every order date (10-01..10-03, then
/// 10-12), so later runs find their journeys and credit; `after_oct_3` looks
/// at the results in between.
fn case_run_through_order_dates(
    dir: &Path,
    after_oct_3: impl FnOnce(&Path, &Path),
) -> (std::path::PathBuf, std::path::PathBuf) {
    let (input, output) = (dir.join("in"), dir.join("out"));
    write_case(&input);
    run_nightly(
        &input,
        &output,
        &["--from", "2026-10-01", "--to", "2026-10-03"],
    );
    after_oct_3(&output, &input);
    run_nightly(&input, &output, &["--date", "2026-10-12"]);
    (input, output)
}

#[test]
fn commissions_and_payouts_follow_the_hand_computed_case() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = case_run_through_order_dates(dir.path(), |output, input| {
        // Before the locks end: o3 (lock 10-09) and o4 (lock 10-10) are locked,
        // and o4's partial refund (10-05) has not happened yet.
        let l = lines(input, output, "2026-10-03");
        assert_eq!(line(&l, "o3/c2")[10], "locked");
        assert_eq!(line(&l, "o4/c2")[7], "0.00");
    });

    run_nightly(&input, &output, &["--date", "2026-10-31"]);
    let l = lines(&input, &output, "2026-10-31");
    // line_id, kind, plan, via, base, rate, gross, reversal, amount, currency, status, payout
    assert_eq!(
        line(&l, "o1/c1")[1..12],
        [
            "commission",
            "P2",
            "code+link",
            "100.00",
            "15.0000",
            "17.00",
            "0.00",
            "17.00",
            "USD",
            "pending_approval",
            "c1-USD-2026-10"
        ]
    );
    assert_eq!(
        line(&l, "o2/c1")[2..11],
        [
            "P1",
            "code",
            "200.00",
            "20.0000",
            "40.00",
            "0.00",
            "40.00",
            "USD",
            "pending_approval"
        ]
    );
    assert_eq!(
        line(&l, "o3/c2")[2..11],
        [
            "P3",
            "code",
            "800.00",
            "12.0000",
            "96.00",
            "0.00",
            "96.00",
            "EUR",
            "pending_approval"
        ],
        "10-02's rate (1.25) and the 12 % tier at exactly 1,000.00 of net revenue"
    );
    assert_eq!(
        line(&l, "o4/c2")[2..11],
        [
            "P3",
            "code",
            "250.00",
            "12.0000",
            "30.00",
            "6.00",
            "24.00",
            "EUR",
            "pending_approval"
        ]
    );
    assert_eq!(line(&l, "o5/c2")[10], "not_commissionable");
    assert_eq!(
        line(&l, "o7/c1")[6..11],
        ["0.00", "0.00", "0.00", "USD", "locked"]
    );
    assert_eq!(line(&l, "o6/c1")[10], "not_commissionable");
    // c3 is paid on its model credit: base = 80.00 × credit / value.
    let credit = sql_csv(
        &input,
        &output,
        "SELECT sum(CASE WHEN creator_id = 'c3' THEN revenue_credit END) AS c3, sum(revenue_credit) AS v \
         FROM touch_credit WHERE order_id = 'o6' AND model = 'markov_o1'",
    );
    let v = crate::common::first_row_f64(&credit);
    let o6 = line(&l, "o6/c3");
    assert_eq!(o6[3], "model");
    let base: f64 = o6[4].parse().unwrap();
    assert!(
        (base - 80.0 * v[0] / v[1]).abs() <= 0.005,
        "{base} vs {v:?}"
    );
    let amount: f64 = o6[8].parse().unwrap();
    assert!((amount - (base * 0.10 * 100.0).round() / 100.0).abs() <= 0.011);

    let p = payouts(&input, &output, "2026-10-31");
    assert!(
        p.contains("c1-USD-2026-10,2026-10,USD,57.00,0.00,0.00,0.00,57.00,2,pending_approval,"),
        "{p}"
    );
    assert!(
        p.contains("c2-EUR-2026-10,2026-10,EUR,126.00,6.00,0.00,0.00,120.00,2,pending_approval,"),
        "{p}"
    );

    // ROI for c1 in October: the EUR fee at 10-02's rate (125.00), free
    // product (30.00 of cost rows + o7's 25.00), and the commissions (57.00);
    // revenue from the default model.
    let roi = sql_csv(
        &input,
        &output,
        "SELECT creator_fee, free_product, commission, total_cost, attributed_revenue, combined_revenue, roas \
         FROM creator_roi WHERE dt = DATE '2026-10-31' AND period = 'month' AND creator_id = 'c1'",
    );
    let r: Vec<&str> = roi.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(r[..4], ["125.00", "55.00", "57.00", "237.00"], "{roi}");
    // o1 (100.00) and o2 (200.00) are c1's alone; o6 (80.00) is shared
    // with c3, to the cent.
    let by_order = sql_csv(
        &input,
        &output,
        "SELECT order_id, CAST(sum(CASE WHEN creator_id = 'c1' THEN revenue_credit END) AS VARCHAR) AS c1, \
                CAST(sum(CASE WHEN creator_id IN ('c1', 'c3') THEN revenue_credit END) AS VARCHAR) AS shared \
         FROM touch_credit WHERE model = 'markov_o1' AND order_id IN ('o1', 'o2', 'o6') \
         GROUP BY order_id ORDER BY order_id",
    );
    let rows: Vec<&str> = by_order.lines().skip(1).collect();
    assert_eq!(
        rows[..2],
        ["o1,100.00,100.00", "o2,200.00,200.00"],
        "{by_order}"
    );
    let o6: Vec<&str> = rows[2].split(',').collect();
    assert_eq!(o6[2], "80.00", "o6 is c1's and c3's: {by_order}");
    let c1 = 300.0 + o6[1].parse::<f64>().unwrap();
    assert_eq!(
        r[4].parse::<f64>().unwrap(),
        c1,
        "nothing refunded by 10-31"
    );
    let roas: f64 = r[6].parse().unwrap();
    let combined: f64 = r[5].parse().unwrap();
    assert!((roas - combined / 237.0).abs() < 1e-12);
    let campaign = sql_csv(
        &input,
        &output,
        "SELECT campaign_id, creator_fee, commission FROM creator_roi \
         WHERE dt = DATE '2026-10-31' AND period = 'campaign' AND creator_id = 'c1'",
    );
    assert_eq!(
        campaign.lines().nth(1),
        Some("cmp1,125.00,17.00"),
        "the campaign's fee and its plan's commission"
    );

    // Nothing leaves without approval.
    let out = cli(&output, &["export", "--approved"]);
    assert_eq!(out.status.code(), Some(77));
    let out = cli(&output, &["export", "--format", "csv"]);
    assert_eq!(out.status.code(), Some(77));

    // Approve c1, re-run the same date: the payout is the same, and approved.
    let ok = cli(
        &output,
        &[
            "approve",
            "c1-USD-2026-10",
            "--by",
            "ana",
            "--note",
            "checked",
        ],
    );
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let twice = cli(&output, &["approve", "c1-USD-2026-10", "--by", "bob"]);
    assert_eq!(twice.status.code(), Some(77), "approving twice is refused");
    let before = payouts(&input, &output, "2026-10-31");
    run_nightly(&input, &output, &["--date", "2026-10-31"]);
    let after = payouts(&input, &output, "2026-10-31");
    assert_eq!(
        after,
        before.replace(
            "c1-USD-2026-10,2026-10,USD,57.00,0.00,0.00,0.00,57.00,2,pending_approval,",
            "c1-USD-2026-10,2026-10,USD,57.00,0.00,0.00,0.00,57.00,2,approved,ana"
        )
    );
    let out = cli(
        &output,
        &["export", "--approved", "--payout", "c2-EUR-2026-10"],
    );
    assert_eq!(out.status.code(), Some(77), "c2's payout is not approved");
    let csv = String::from_utf8(cli(&output, &["export", "--approved"]).stdout).unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with("c1-USD-2026-10,c1,2026-10,USD,57.00,0.00,0.00,0.00,57.00,2,yes,ana,")
    );

    // o2 is refunded in full on 11-03, after its payout was approved: the
    // approved payout stays, and November's takes the 40.00 back.
    run_nightly(&input, &output, &["--date", "2026-11-30"]);
    let p = payouts(&input, &output, "2026-11-30");
    assert!(
        p.contains("c1-USD-2026-10,2026-10,USD,57.00,0.00,0.00,0.00,57.00,2,approved,ana"),
        "{p}"
    );
    assert!(
        p.contains("c1-USD-2026-11,2026-11,USD,0.00,0.00,40.00,0.00,-40.00,2,pending_approval,"),
        "{p}"
    );
    let l = lines(&input, &output, "2026-11-30");
    assert_eq!(
        line(&l, "o2/c1~1")[1..12],
        [
            "clawback",
            "P1",
            "code",
            "200.00",
            "20.0000",
            "0.00",
            "0.00",
            "-40.00",
            "USD",
            "pending_approval",
            "c1-USD-2026-11"
        ]
    );
    // The negative November payout, once approved, carries to December.
    let ok = cli(&output, &["approve", "c1-USD-2026-11", "--by", "ana"]);
    assert_eq!(ok.status.code(), Some(0));
    run_nightly(&input, &output, &["--date", "2026-12-31"]);
    let p = payouts(&input, &output, "2026-12-31");
    assert!(
        p.contains("c1-USD-2026-12,2026-12,USD,0.00,0.00,0.00,-40.00,-40.00,1,pending_approval,"),
        "{p}"
    );

    // The ledger verifies; an edit anywhere is detected, and runs stop.
    let v = cli(&output, &["verify"]);
    assert_eq!(v.status.code(), Some(0));
    let first = output.join("_ledger/payouts/0000000001.json");
    let text = std::fs::read_to_string(&first).unwrap();
    assert!(text.contains("\"57.00\""));
    std::fs::write(&first, text.replacen("\"57.00\"", "\"75.00\"", 1)).unwrap();
    let v = cli(&output, &["verify"]);
    assert_eq!(v.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&v.stderr).contains("entry 1"));
    let run = halo(
        &nightly_args(&input, &output, &["--date", "2026-12-31"]),
        &[],
    );
    assert_eq!(
        run.status.code(),
        Some(65),
        "no payout is computed from an edited ledger"
    );
}

#[test]
fn a_simulation_shows_current_and_proposed_commissions() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = case_run_through_order_dates(dir.path(), |_, _| {});
    let plans = dir.path().join("proposed.parquet");
    write_plans(&plans, true);
    let out = halo_ok_on(
        &input,
        &output,
        &[
            "payouts",
            "simulate",
            "--plans",
            plans.to_str().unwrap(),
            "--from",
            "2026-10-01",
            "--to",
            "2026-10-31",
            "--job",
            crate::common::nightly(),
            "--format",
            "csv",
        ],
    );
    // c1: o1 stays on the campaign plan (17.00); o2, a new customer, earns
    // 25 % instead of 20 % (50.00 instead of 40.00); o7 earns 0.00 under
    // both. Refunds count up to --to (10-31), so o2's refund of 11-03 does not.
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(
        rows[0],
        "creator_id,currency,current_orders,current_commission,proposed_orders,proposed_commission,difference"
    );
    assert!(rows.contains(&"c1,USD,3,57.00,3,67.00,10.00"), "{out}");
    assert!(rows.contains(&"c2,EUR,2,120.00,2,120.00,0.00"), "{out}");
}

#[test]
fn a_cost_without_its_days_rate_stops_the_run_naming_currency_and_date() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in"), dir.path().join("out"));
    write_case(&input);
    write_costs(&input, "GBP");
    let out = halo(
        &nightly_args(&input, &output, &["--date", "2026-10-02"]),
        &[],
    );
    assert_eq!(out.status.code(), Some(65));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("GBP") && text.contains("2026-10-02") && text.contains("fx_rates_costs"),
        "{text}"
    );
}

#[test]
fn payouts_are_listed_shown_and_rejected_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = case_run_through_order_dates(dir.path(), |_, _| {});
    run_nightly(&input, &output, &["--date", "2026-10-31"]);
    let stdout = |o: std::process::Output| {
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    };
    // list: the month's payouts, pending (the figures of the hand case).
    let list = stdout(cli(&output, &["list", "--format", "csv"]));
    let rows: Vec<&str> = list.lines().collect();
    assert!(rows[0].starts_with("payout_id,creator_id,period,currency,gross,reversals,clawbacks,adjustments,net,lines,status"), "{list}");
    let short: Vec<String> = rows[1..]
        .iter()
        .map(|r| r.split(',').take(11).collect::<Vec<_>>().join(","))
        .collect();
    assert_eq!(
        short,
        [
            "c1-USD-2026-10,c1,2026-10,USD,57.00,0.00,0.00,0.00,57.00,2,pending_approval",
            "c2-EUR-2026-10,c2,2026-10,EUR,126.00,6.00,0.00,0.00,120.00,2,pending_approval",
            "c3-USD-2026-10,c3,2026-10,USD,2.67,0.00,0.00,0.00,2.67,1,pending_approval",
        ],
        "{list}"
    );
    let none = stdout(cli(
        &output,
        &["list", "--status", "rejected", "--format", "csv"],
    ));
    assert_eq!(none.lines().count(), 1, "only the header: {none}");
    // show: the payout row, then its two lines (o3 and o4).
    let show = stdout(cli(
        &output,
        &["show", "c2-EUR-2026-10", "--format", "json"],
    ));
    let v = crate::common::json_lines(show.as_bytes());
    assert_eq!(v.len(), 3, "{show}");
    assert_eq!(v[0]["net"].as_f64(), Some(120.0));
    let mut ids: Vec<&str> = v[1..]
        .iter()
        .map(|l| l["line_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["o3/c2", "o4/c2"]);
    let missing = cli(&output, &["show", "c9-USD-2026-10"]);
    assert_eq!(missing.status.code(), Some(2));
    // reject: a note is required; then it is final.
    let no_note = cli(&output, &["reject", "c2-EUR-2026-10", "--by", "bob"]);
    assert_eq!(no_note.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_note.stderr).contains("a rejection needs --note"));
    let done = stdout(cli(
        &output,
        &[
            "reject",
            "c2-EUR-2026-10",
            "--by",
            "bob",
            "--note",
            "codes shared on a deal site",
        ],
    ));
    let d = crate::common::only_json(done.as_bytes());
    assert_eq!(
        (
            d["status"].as_str(),
            d["by"].as_str(),
            d["ledger_seq"].as_i64()
        ),
        (Some("rejected"), Some("bob"), Some(1))
    );
    let again = cli(
        &output,
        &["reject", "c2-EUR-2026-10", "--by", "bob", "--note", "x"],
    );
    assert_eq!(again.status.code(), Some(77));
    let rejected = stdout(cli(
        &output,
        &["list", "--status", "rejected", "--format", "csv"],
    ));
    let r: Vec<&str> = rejected.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(
        (r[0], r[10], r[11], r[13]),
        (
            "c2-EUR-2026-10",
            "rejected",
            "bob",
            "codes shared on a deal site"
        ),
        "{rejected}"
    );
    // A rejected payout is never exported.
    let export = cli(
        &output,
        &["export", "--approved", "--payout", "c2-EUR-2026-10"],
    );
    assert_eq!(export.status.code(), Some(77));
}

/// A person confirms that c1's code ONE10 leaked, from 2026-10-13; c1's plans
/// exclude leaked redemptions. o8 (11-05, the code alone) is no longer
/// commissionable (reason `leaked_code`); o9 (11-06, the code and a click on
/// c1's bio link) still pays, through the link; October's payout, approved
/// before the decision (o1, o2 used the code before the leak date anyway),
/// is exactly as approved, and the November refund of o2 still claws back.
#[test]
fn a_confirmed_leak_stops_commissions_and_leaves_approved_payouts_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in"), dir.path().join("out"));
    write_case(&input);
    write_plans_with(
        &input.join("commission_plans/part-0.parquet"),
        false,
        Some("exclude"),
    );
    let nov = |d: i64, h: i64| T0 + (35 + d) * DAY + h * HOUR;
    write_parquet(
        &input.join("orders/part-1.parquet"),
        vec![
            ("order_id", s(&[Some("o8"), Some("o9")])),
            ("ordered_at", ts(&[nov(0, 0), nov(1, 0)])),
            ("anonymous_id", s(&[Some("a8"), Some("a9")])),
            ("revenue", money(&[6000, 5000])),
            ("currency", s(&[Some("USD"), Some("USD")])),
            ("discount_codes", str_lists(&[&["ONE10"], &["one10"]])),
            (
                "is_new_customer",
                Arc::new(arrow::array::BooleanArray::from(vec![false, false])) as ArrayRef,
            ),
        ],
    );
    write_parquet(
        &input.join("clicks/part-1.parquet"),
        vec![
            ("click_id", s(&[Some("k9")])),
            ("link_id", s(&[Some("b1")])),
            ("anonymous_id", s(&[Some("a9")])),
            ("clicked_at", ts(&[nov(1, -1)])),
        ],
    );
    run_nightly(
        &input,
        &output,
        &["--from", "2026-10-01", "--to", "2026-10-03"],
    );
    run_nightly(&input, &output, &["--date", "2026-10-12"]);
    run_nightly(&input, &output, &["--date", "2026-10-31"]);
    let ok = cli(&output, &["approve", "c1-USD-2026-10", "--by", "ana"]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let october = payouts(&input, &output, "2026-10-31");

    let codes = |args: &[&str]| {
        let mut a = vec!["codes"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--output", output.to_str().unwrap()]);
        halo(&a, &[])
    };
    let no_note = codes(&["dismiss", "TWO10", "--by", "bob"]);
    assert_eq!(no_note.status.code(), Some(2), "a dismissal needs a note");
    let unknown = codes(&["confirm-leak", "NOPE", "--by", "ana"]);
    assert_eq!(
        unknown.status.code(),
        Some(2),
        "only assessed codes are decided"
    );
    let confirm = codes(&[
        "confirm-leak",
        " one10",
        "--by",
        "ana",
        "--from",
        "2026-10-13",
    ]);
    assert_eq!(
        confirm.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&confirm.stderr)
    );
    let said = crate::common::only_json(&confirm.stdout);
    assert_eq!(said["code"], "ONE10");
    assert_eq!(said["leaked_from"], "2026-10-13");
    let twice = codes(&["dismiss", "ONE10", "--by", "bob", "--note", "fine"]);
    assert_eq!(twice.status.code(), Some(77), "a decision is final");
    let listed = String::from_utf8(codes(&["list", "--format", "csv"]).stdout).unwrap();
    let one = listed
        .lines()
        .find(|l| l.starts_with("ONE10,"))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(one.contains(",confirmed,ana,2026-10-13,"), "{one}");
    let shown = codes(&["show", "ONE10", "--format", "csv"]);
    assert_eq!(shown.status.code(), Some(0));

    // The order dates, so that their journeys exist, then the month's end.
    run_nightly(
        &input,
        &output,
        &["--from", "2026-11-05", "--to", "2026-11-06"],
    );
    run_nightly(&input, &output, &["--date", "2026-11-30"]);
    let p = payouts(&input, &output, "2026-11-30");
    let approved_row = october
        .lines()
        .find(|l| l.starts_with("c1-USD-2026-10,"))
        .unwrap()
        .replace("pending_approval,", "approved,ana");
    let approved_row = approved_row.trim_end_matches(',');
    assert!(
        p.contains(approved_row),
        "October as approved:\n{approved_row}\n{p}"
    );
    let why = sql_csv(
        &input,
        &output,
        "SELECT line_id, status, via, amount, reason FROM payout_lines \
         WHERE dt = DATE '2026-11-30' AND line_id IN ('o8/c1', 'o9/c1', 'o2/c1~1') ORDER BY line_id",
    );
    let rows: Vec<&str> = why.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{why}");
    assert!(
        rows[0].starts_with("o2/c1~1,"),
        "the refund still claws back: {why}"
    );
    assert!(
        rows[1].starts_with(
            "o8/c1,not_commissionable,,0.00,leaked_code: code ONE10 confirmed leaked from 2026-10-13 by ana; plan P1 excludes"
        ),
        "{why}"
    );
    assert!(
        rows[2].starts_with("o9/c1,") && rows[2].contains(",link,5.00,plan P1"),
        "{why}"
    );
    let leaks = sql_csv(
        &input,
        &output,
        "SELECT code, decision, decided_by, leaked_from FROM code_leaks \
         WHERE dt = DATE '2026-11-30' AND code = 'ONE10'",
    );
    assert_eq!(
        leaks.lines().nth(1),
        Some("ONE10,confirmed,ana,2026-10-13"),
        "{leaks}"
    );
}
