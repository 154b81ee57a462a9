//! The nightly job's SQL against small hand-computed cases.

use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Array, Decimal128Array};

use crate::common::{run_nightly, sql_csv, write_parquet};
use crate::contract::{T0, minimal, money, s, str_lists, ts};

const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;

fn rows(csv: &str) -> Vec<String> {
    csv.lines().skip(1).map(str::to_owned).collect()
}

#[test]
fn creator_daily_counts_codes_trimmed_case_insensitive_and_only_while_valid() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in"), dir.path().join("out"));
    minimal(&input);
    // T0 is 2026-10-01 08:00 in New York, the job's time zone.
    write_parquet(
        &input.join("codes/part-0.parquet"),
        vec![
            ("code", s(&[Some("MAYA15"), Some("LEO10")])),
            ("creator_id", s(&[Some("c1"), Some("c2")])),
            ("valid_from", ts(&[T0 - DAY, T0 + 10 * DAY])),
        ],
    );
    write_parquet(
        &input.join("orders/part-0.parquet"),
        vec![
            (
                "order_id",
                s(&[Some("o1"), Some("o2"), Some("o3"), Some("o4"), Some("o5")]),
            ),
            (
                "ordered_at",
                ts(&[T0, T0 + HOUR, T0 + HOUR, T0 + 2 * HOUR, T0 + 2 * DAY]),
            ),
            ("revenue", money(&[10000, 5000, 7000, 3000, 9900])),
            (
                "currency",
                s(&[
                    Some("USD"),
                    Some("EUR"),
                    Some("USD"),
                    Some("USD"),
                    Some("USD"),
                ]),
            ),
            // o1: padded lower-case creator code; o2: the same code twice; o3: brand-wide;
            // o4: a code not valid yet; o5: another day.
            (
                "discount_codes",
                str_lists(&[
                    &[" maya15 "],
                    &["MAYA15", "maya15"],
                    &["WELCOME10"],
                    &["LEO10"],
                    &["maya15"],
                ]),
            ),
        ],
    );
    write_parquet(
        &input.join("fx_rates/part-0.parquet"),
        vec![
            ("date", Arc::new(Date32Array::from(vec![20727])) as ArrayRef), // 2026-10-01
            ("currency", s(&[Some("EUR")])),
            (
                "rate_to_base",
                Arc::new(
                    Decimal128Array::from(vec![110_000_000])
                        .with_precision_and_scale(18, 8)
                        .unwrap(),
                ) as ArrayRef,
            ),
        ],
    );
    write_parquet(
        &input.join("links/part-0.parquet"),
        vec![
            ("link_id", s(&[Some("l1"), Some("bio2")])),
            ("creator_id", s(&[Some("c1"), Some("c2")])),
            (
                "destination_url",
                s(&[Some("https://x"), Some("https://y")]),
            ),
        ],
    );
    write_parquet(
        &input.join("clicks/part-0.parquet"),
        vec![
            ("click_id", s(&[Some("k1"), Some("k2"), Some("k3")])),
            ("link_id", s(&[Some("l1"), Some("l1"), Some("bio2")])),
            // k3 is at 23:30 New York time the day before: not the run date.
            ("clicked_at", ts(&[T0, T0 + HOUR, T0 - 8 * HOUR - HOUR / 2])),
        ],
    );
    run_nightly(&input, &output, &["--date", "2026-10-01"]);
    let got = rows(&sql_csv(
        &input,
        &output,
        "SELECT creator_id, posts, clicks, code_redemptions, code_orders, code_revenue_base FROM creator_daily ORDER BY creator_id",
    ));
    // c1: one post, two clicks, three redemptions on two orders: 100.00 USD + 50.00 EUR x 1.1.
    assert_eq!(got, ["c1,1,2,3,2,155.00"]);
    let orders = rows(&sql_csv(
        &input,
        &output,
        "SELECT currency, orders, revenue, revenue_base, rate_to_base FROM daily_orders ORDER BY currency",
    ));
    assert_eq!(
        orders,
        [
            "EUR,1,50.00,55.00,1.10000000",
            "USD,3,200.00,200.00,1.00000000"
        ]
    );
}

#[test]
fn days_follow_the_time_zone_on_a_25_hour_day_and_branded_search_is_case_insensitive() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in"), dir.path().join("out"));
    minimal(&input);
    // 2026-11-01 is the day New York leaves daylight saving time: it runs
    // from 04:00 UTC to 05:00 UTC the next day.
    let nov1 = 1_793_505_600_000_000; // 2026-11-01T04:00:00Z
    write_parquet(
        &input.join("sessions/part-0.parquet"),
        vec![
            (
                "session_id",
                s(&[Some("s1"), Some("s2"), Some("s3"), Some("s4"), Some("s5")]),
            ),
            (
                "anonymous_id",
                s(&[Some("a1"), Some("a2"), Some("a3"), Some("a4"), Some("a5")]),
            ),
            (
                "started_at",
                ts(&[
                    nov1,
                    nov1 + 24 * HOUR + HOUR / 2,
                    nov1 + 25 * HOUR,
                    nov1 - 1,
                    nov1 + HOUR,
                ]),
            ),
            (
                "channel",
                s(&[
                    Some("organic_search"),
                    Some("paid_search"),
                    Some("organic_search"),
                    Some("direct"),
                    Some("organic_search"),
                ]),
            ),
            (
                "search_query",
                s(&[
                    Some("Lumora Serum"),
                    Some("LUMORA"),
                    Some("lumora"),
                    None,
                    Some("best serum"),
                ]),
            ),
        ],
    );
    run_nightly(&input, &output, &["--date", "2026-11-01"]);
    let got = rows(&sql_csv(
        &input,
        &output,
        "SELECT channel, sessions, branded_search_sessions FROM daily_sessions ORDER BY channel",
    ));
    // s1, s2 (23:30 EST) and s5 are on Nov 1; s3 (00:00 EST Nov 2) and s4 (23:59 EDT Oct 31) are not.
    assert_eq!(got, ["organic_search,2,1", "paid_search,1,1"]);

    // Late corrections: the day's sessions turn out to be bots and are removed
    // upstream. Re-running the date empties its partition rather than keeping stale rows.
    write_parquet(
        &input.join("sessions/part-0.parquet"),
        vec![
            ("session_id", s(&[Some("s4")])),
            ("anonymous_id", s(&[Some("a4")])),
            ("started_at", ts(&[nov1 - 1])),
            ("channel", s(&[Some("direct")])),
        ],
    );
    run_nightly(&input, &output, &["--date", "2026-11-01"]);
    let got = rows(&sql_csv(
        &input,
        &output,
        "SELECT count(*) FROM daily_sessions",
    ));
    assert_eq!(got, ["0"]);
}
