//! Attribution against hand-computed journeys, ChannelAttribution, an
//! independent exact Markov solve and Snowplow's published fractribution
//! table. Fixtures and the script that made them: tests/fixtures/attribution.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use halo::attribution::path::Interner;
use halo::attribution::{Conversion, Journeys, Model, Settings, Touch, compute, markov};

use crate::common::{run_nightly, sql_csv, write_parquet};
use crate::contract::{T0, minimal, money, s, str_lists, ts};

const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/attribution")
}

fn rows(csv: &str) -> Vec<String> {
    csv.lines().skip(1).map(str::to_owned).collect()
}

fn read_csv(name: &str) -> Vec<HashMap<String, String>> {
    crate::common::read_csv(&fixtures().join(name))
}

fn f(x: &str) -> f64 {
    x.parse().unwrap()
}

/// The hand-built case of docs/attribution.md: one customer on two devices,
/// a lookback boundary, a click-opened session, a code, a reset after each
/// order, an open journey and an order without touches.
#[test]
fn journeys_follow_the_documented_rules_on_a_hand_built_case() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in"), dir.path().join("out"));
    minimal(&input);
    // T0 = 2026-10-01 08:00 New York.
    write_parquet(
        &input.join("sessions/part-0.parquet"),
        vec![
            (
                "session_id",
                s(&[
                    Some("s0"),
                    Some("s00"),
                    Some("s1"),
                    Some("s2"),
                    Some("s3"),
                    Some("s4"),
                ]),
            ),
            (
                "anonymous_id",
                s(&[
                    Some("a1"),
                    Some("a1"),
                    Some("a1"),
                    Some("a2"),
                    Some("a1"),
                    Some("a1"),
                ]),
            ),
            (
                "customer_id",
                s(&[None, None, Some("cu1"), None, None, None]),
            ),
            (
                "started_at",
                ts(&[
                    T0 - 30 * DAY,
                    T0 - 30 * DAY + 1,
                    T0 - 10 * DAY,
                    T0 - HOUR,
                    T0 + HOUR,
                    T0 + 3 * HOUR,
                ]),
            ),
            (
                "channel",
                s(&[
                    Some("paid_search"),
                    Some("organic_social"),
                    Some("email"),
                    Some("affiliate"),
                    Some("direct"),
                    Some("referral"),
                ]),
            ),
            ("click_id", s(&[None, None, None, Some("k1"), None, None])),
        ],
    );
    write_parquet(
        &input.join("links/part-0.parquet"),
        vec![
            ("link_id", s(&[Some("l1")])),
            ("creator_id", s(&[Some("c1")])),
            ("content_id", s(&[Some("p1")])),
            ("destination_url", s(&[Some("https://x")])),
        ],
    );
    write_parquet(
        &input.join("clicks/part-0.parquet"),
        vec![
            ("click_id", s(&[Some("k1")])),
            ("link_id", s(&[Some("l1")])),
            // The redirect carried no visitor id: the click takes its session's.
            ("anonymous_id", s(&[None])),
            ("clicked_at", ts(&[T0 - HOUR])),
        ],
    );
    write_parquet(
        &input.join("codes/part-0.parquet"),
        vec![
            ("code", s(&[Some("MAYA15")])),
            ("creator_id", s(&[Some("c2")])),
        ],
    );
    write_parquet(
        &input.join("orders/part-0.parquet"),
        vec![
            ("order_id", s(&[Some("o1"), Some("o2"), Some("o3")])),
            ("ordered_at", ts(&[T0, T0 + 2 * HOUR, T0 + 4 * HOUR])),
            ("anonymous_id", s(&[Some("a2"), Some("a1"), Some("a9")])),
            ("customer_id", s(&[Some("cu1"), None, None])),
            ("revenue", money(&[10001, 3333, 1000])),
            ("currency", s(&[Some("USD"), Some("USD"), Some("USD")])),
            ("discount_codes", str_lists(&[&[" maya15 "], &[], &[]])),
        ],
    );
    run_nightly(&input, &output, &["--date", "2026-10-01"]);

    let journeys = rows(&sql_csv(
        &input,
        &output,
        "SELECT journey_id, person_id, converted, value, n_touches, path FROM journeys ORDER BY journey_id",
    ));
    assert_eq!(
        journeys,
        [
            // the open journey after o2: one referral visit
            "c:cu1#2,c:cu1,false,,1,referral",
            // s0 lies exactly 30 days before o1: outside (t - 30d, t]; s2 was opened by k1
            "o1,c:cu1,true,100.01,4,organic_social > email > creator:c1 > creator:c2",
            // the journey resets after o1
            "o2,c:cu1,true,33.33,1,direct",
            "o3,a:a9,true,10.00,0,",
        ]
    );
    let credit = rows(&sql_csv(
        &input,
        &output,
        "SELECT model, order_id, touch_seq, touch_kind, channel, credit, revenue_credit FROM touch_credit \
         WHERE model IN ('first_touch', 'last_touch', 'last_non_direct', 'linear', 'position_based') \
         ORDER BY model, order_id, touch_seq",
    ));
    let expect = [
        "first_touch,o1,1,session,organic_social,1.0,100.01",
        "first_touch,o1,2,session,email,0.0,0.00",
        "first_touch,o1,3,click,creator:c1,0.0,0.00",
        "first_touch,o1,4,code,creator:c2,0.0,0.00",
        "first_touch,o2,1,session,direct,1.0,33.33",
        "first_touch,o3,,,(no touch),1.0,10.00",
    ];
    assert_eq!(credit[..6], expect);
    let pick = |model: &str| -> Vec<String> {
        credit
            .iter()
            .filter(|r| r.starts_with(&format!("{model},o1,")))
            .map(|r| r.rsplitn(3, ',').take(2).collect::<Vec<_>>().join("|"))
            .collect()
    };
    // 100.01 in four equal parts: the odd cent goes to the first touch.
    assert_eq!(
        pick("linear"),
        ["25.01|0.25", "25.00|0.25", "25.00|0.25", "25.00|0.25"]
    );
    // 40/20/40: 40.004 and 10.001; the cent goes to the first of the two largest remainders.
    assert_eq!(
        pick("position_based"),
        ["40.01|0.4", "10.00|0.1", "10.00|0.1", "40.00|0.4"]
    );
    assert_eq!(pick("last_touch")[3], "100.01|1.0");
    // The code touch is not direct: last non-direct is the code too.
    assert_eq!(pick("last_non_direct")[3], "100.01|1.0");

    // Time decay, half-life 7 days: ages 30 d - 1 µs, 10 d, 1 h, 0.
    let ages = [(30.0 * 24.0) - 1e-6 / 3600.0, 240.0, 1.0, 0.0];
    let raw: Vec<f64> = ages.iter().map(|a: &f64| 0.5f64.powf(a / 168.0)).collect();
    let total: f64 = raw.iter().sum();
    let got = rows(&sql_csv(
        &input,
        &output,
        "SELECT credit FROM touch_credit WHERE model = 'time_decay' AND order_id = 'o1' ORDER BY touch_seq",
    ));
    for (g, r) in got.iter().zip(&raw) {
        assert!((f(g) - r / total).abs() < 1e-12, "{g} vs {}", r / total);
    }

    // Every model reconciles every order; the summary reconciles the window.
    let sums = rows(&sql_csv(
        &input,
        &output,
        "SELECT t.model, t.order_id, sum(t.credit) AS c, sum(t.revenue_credit) = max(j.value) AS exact \
         FROM touch_credit t JOIN journeys j ON t.order_id = j.order_id GROUP BY t.model, t.order_id",
    ));
    assert_eq!(sums.len(), 11 * 3);
    for r in &sums {
        let parts: Vec<&str> = r.split(',').collect();
        assert!(
            (f(parts[2]) - 1.0).abs() < 1e-12 && parts[3] == "true",
            "{r}"
        );
    }
    let summary = rows(&sql_csv(
        &input,
        &output,
        "SELECT key, conversions, revenue FROM attribution_summary WHERE model = 'first_touch' AND level = 'channel' ORDER BY key",
    ));
    // Channels that touched an order of the window but earned nothing are listed too.
    assert_eq!(
        summary,
        [
            "(no touch),1.0,10.00",
            "creator:c1,0.0,0.00",
            "creator:c2,0.0,0.00",
            "direct,1.0,33.33",
            "email,0.0,0.00",
            "organic_social,1.0,100.01"
        ]
    );
    let creators = rows(&sql_csv(
        &input,
        &output,
        "SELECT key, conversions, revenue FROM attribution_summary WHERE model = 'linear' AND level = 'creator' ORDER BY key",
    ));
    // c1's click and c2's code a quarter each; the sessions have no creator.
    assert_eq!(
        creators,
        [
            "(no touch),1.0,10.00",
            "(none),1.5,83.34",
            "c1,0.25,25.00",
            "c2,0.25,25.00"
        ]
    );
}

/// The sample data's window, against ChannelAttribution and an exact solve
/// written independently in Python (make_reference.py).
#[test]
fn sample_data_matches_channelattribution_and_an_exact_solve() {
    let dir = tempfile::tempdir().unwrap();
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data");
    let output = dir.path().join("out");
    run_nightly(&input, &output, &["--date", "2026-10-31"]);

    // The paths halo built are the ones the fixtures were computed from.
    let paths = sql_csv(
        &input,
        &output,
        "SELECT path, conversions, value, non_conversions FROM attribution_paths WHERE path <> '(no touch)' ORDER BY path",
    );
    let fixture = std::fs::read_to_string(fixtures().join("sample_paths.csv")).unwrap();
    assert!(
        paths.trim_end() == fixture.trim_end(),
        "attribution_paths changed: regenerate tests/fixtures/attribution (see make_reference.py)"
    );

    let summary = sql_csv(
        &input,
        &output,
        "SELECT model, key, conversions, CAST(revenue AS DOUBLE), removal_effect FROM attribution_summary WHERE level = 'channel'",
    );
    let mut got: HashMap<(String, String), (f64, f64, f64)> = HashMap::new();
    for r in rows(&summary) {
        let p: Vec<&str> = r.split(',').collect();
        let re = if p[4].is_empty() { f64::NAN } else { f(p[4]) };
        got.insert((p[0].into(), p[1].into()), (f(p[2]), f(p[3]), re));
    }
    // Orders per channel bound the cent rounding of revenue credit.
    let mut orders_with: HashMap<String, f64> = HashMap::new();
    for p in read_csv("sample_paths.csv") {
        let mut chans: Vec<&str> = p["path"].split(" > ").collect();
        chans.sort_unstable();
        chans.dedup();
        for c in chans {
            *orders_with.entry(c.to_string()).or_default() += f(&p["conversions"]);
        }
    }
    let ca = read_csv("ca_heuristics.csv");
    assert_eq!(
        ca.len(),
        orders_with.len(),
        "ChannelAttribution's table has a row for every channel of the paths"
    );
    for row in &ca {
        let ch = &row["channel_name"];
        for (model, col) in [
            ("first_touch", "first_touch"),
            ("last_touch", "last_touch"),
            ("linear", "linear_touch"),
        ] {
            let (conv, rev, _) = got[&(model.to_string(), ch.clone())];
            let want = f(&row[&format!("{col}_conversions")]);
            assert!((conv - want).abs() < 1e-9, "{model} {ch}: {conv} vs {want}");
            let want = f(&row[&format!("{col}_value")]);
            assert!(
                (rev - want).abs() <= 0.01 * orders_with[ch] + 1e-6,
                "{model} {ch} revenue: {rev} vs {want}"
            );
        }
    }

    // Markov order 1: exact to 1e-9 against the dense Python solve ...
    let exact: Vec<_> = read_csv("exact_markov.csv");
    let mut n = 0;
    for row in exact.iter().filter(|r| r["order"] == "1") {
        let (_, _, re) = got[&("markov_o1".to_string(), row["channel"].clone())];
        assert!(
            (re - f(&row["removal_effect"])).abs() < 1e-9,
            "{row:?}: {re}"
        );
        n += 1;
    }
    assert_eq!(
        n,
        orders_with.len(),
        "every channel's removal effect is checked"
    );
    // ... and within ChannelAttribution's Monte-Carlo error (its conv_par was 1 %).
    let (mut l1, mut total) = (0.0, 0.0);
    for row in read_csv("ca_markov.csv") {
        let (_, _, re) = got[&("markov_o1".to_string(), row["channel_name"].clone())];
        l1 += (re - f(&row["removal_effects_conversion"])).abs();
        total += re;
    }
    assert!(
        l1 / total < 0.02,
        "L1 distance to ChannelAttribution {}",
        l1 / total
    );

    // Every touch of the day's orders lies in (ordered_at - 30 days, ordered_at].
    let outside = sql_csv(
        &input,
        &output,
        "SELECT count(*) AS n FROM touch_credit WHERE touch_at > ordered_at OR touch_at <= ordered_at - INTERVAL '30 days'",
    );
    assert_eq!(rows(&outside), ["0"]);
    let bad = sql_csv(
        &input,
        &output,
        "SELECT count(*) AS n FROM (SELECT t.order_id, t.model, sum(t.credit) AS c, sum(t.revenue_credit) AS r, max(j.value) AS v \
         FROM touch_credit t JOIN journeys j ON t.order_id = j.order_id GROUP BY t.order_id, t.model) \
         WHERE abs(c - 1) > 1e-9 OR r <> v",
    );
    assert_eq!(rows(&bad), ["0"]);
    let orders = sql_csv(
        &input,
        &output,
        "SELECT count(DISTINCT order_id) = (SELECT count(*) FROM journeys WHERE converted) AS all_there FROM touch_credit",
    );
    assert_eq!(rows(&orders), ["true"]);
    // Intervals bracket the estimate.
    let ci = sql_csv(
        &input,
        &output,
        "SELECT count(*) AS n FROM attribution_summary WHERE ci_low IS NULL OR ci_low > conversions + 1e-9 OR ci_high < conversions - 1e-9",
    );
    let n_ci: usize = rows(&ci)[0].parse().unwrap();
    let n_all: usize = rows(&sql_csv(
        &input,
        &output,
        "SELECT count(*) FROM attribution_summary",
    ))[0]
        .parse()
        .unwrap();
    // A percentile interval may miss a skewed point estimate now and then, never often.
    assert!(
        n_ci * 20 < n_all,
        "{n_ci} of {n_all} intervals miss their estimate"
    );
}

/// Order 2 from the library on the same paths against the Python solve.
#[test]
fn markov_order_two_matches_an_exact_dense_solve() {
    let mut names = Interner::default();
    let mut paths = Vec::new();
    for r in read_csv("sample_paths.csv") {
        paths.push(markov::PathCount {
            channels: r["path"].split(" > ").map(|c| names.id(c)).collect(),
            conversions: f(&r["conversions"]),
            value: f(&r["value"]),
            nulls: f(&r["non_conversions"]),
        });
    }
    for order in [1usize, 2] {
        let fit = markov::fit(&paths, order, names.len()).unwrap();
        let mut n = 0;
        for row in read_csv("exact_markov.csv")
            .iter()
            .filter(|r| r["order"] == order.to_string())
        {
            let id = (0..names.len() as u32)
                .find(|&i| names.name(i) == row["channel"])
                .unwrap();
            let want = f(&row["removal_effect"]);
            assert!(
                (fit.removal[id as usize] - want).abs() < 1e-9,
                "order {order} {}: {} vs {want}",
                row["channel"],
                fit.removal[id as usize]
            );
            assert!((fit.p_conversion - f(&row["p_conversion"])).abs() < 1e-12);
            n += 1;
        }
        assert_eq!(n, names.len(), "order {order}: every channel is checked");
    }
}

fn journey(names: &mut Interner, id: &str, path: &[&str], value_minor: i128) -> Conversion {
    Conversion {
        order_id: id.into(),
        at: T0,
        date: 0,
        value_minor,
        touches: path
            .iter()
            .enumerate()
            .map(|(i, c)| Touch {
                seq: i as i32 + 1,
                at: T0 - (path.len() - i) as i64 * HOUR,
                id: format!("{id}-{i}"),
                kind: "session".into(),
                channel: names.id(c),
                creator: None,
                content: None,
                platform: None,
                format: None,
            })
            .collect(),
    }
}

/// Snowplow's published fractribution integration test (attribution.md §5.4).
#[test]
fn counterfactual_shapley_reproduces_snowplows_published_table() {
    let mut names = Interner::default();
    let mut conversions = vec![
        journey(&mut names, "d1", &["Direct"], 3147),
        journey(&mut names, "d2", &["Direct"], 3147),
        journey(&mut names, "d3", &["Direct"], 3148),
        journey(&mut names, "o1", &["Organic_Search"], 6650),
        journey(&mut names, "v1", &["Video"], 20000),
        journey(&mut names, "x1", &["Organic_Search", "Direct"], 14000),
    ];
    conversions.sort_by(|a, b| a.order_id.cmp(&b.order_id));
    let mut nulls: Vec<(Vec<u32>, f64)> = [
        (vec!["Direct"], 25.0),
        (vec!["Organic_Search"], 26.0),
        (vec!["Referral", "Direct"], 1.0),
        (vec!["Video"], 2.0),
        (vec!["Organic_Search", "Paid_Search_Other"], 2.0),
        (vec!["Referral"], 2.0),
        (vec!["Organic_Search", "Direct"], 1.0),
        (vec!["Paid_Search_Other"], 1.0),
        (vec!["Unmatched_Channel"], 1.0),
    ]
    .into_iter()
    .map(|(p, n)| (p.iter().map(|c| names.id(c)).collect(), n))
    .collect();
    nulls.sort_by(|a, b| a.0.cmp(&b.0));
    let j = Journeys {
        conversions,
        nulls,
        channels: names,
    };
    let s = Settings {
        models: vec![Model::ShapleyCounterfactual, Model::LastTouch],
        bootstrap: 0,
        ..Settings::default()
    };
    let out = compute(&j, &s, 0).unwrap();
    let b = &out.summary.batches[0];
    let col = |n: &str| b.column_by_name(n).unwrap().clone();
    let (model, level, key) = (col("model"), col("level"), col("key"));
    let (conv, rev) = (col("conversions"), col("revenue"));
    use arrow::array::AsArray;
    let mut got: BTreeMap<(String, String), (f64, i128)> = BTreeMap::new();
    for i in 0..b.num_rows() {
        if level.as_string::<i32>().value(i) != "channel" {
            continue;
        }
        got.insert(
            (
                model.as_string::<i32>().value(i).into(),
                key.as_string::<i32>().value(i).into(),
            ),
            (
                conv.as_primitive::<arrow::datatypes::Float64Type>()
                    .value(i),
                rev.as_primitive::<arrow::datatypes::Decimal128Type>()
                    .value(i),
            ),
        );
    }
    let sh = |k: &str| got[&("shapley_counterfactual".to_string(), k.to_string())];
    // Published: Direct 3.5409582690664606 / 170.1541576513,
    // Organic_Search 1.459041731664606 / 130.7658423493, Video 1 / 200.
    assert!((sh("Direct").0 - 3.5409582690664606).abs() < 1e-9);
    assert!((sh("Organic_Search").0 - 1.459041731664606).abs() < 1e-9);
    assert_eq!(sh("Video"), (1.0, 20000));
    // Revenue is split per order to the cent: within a cent of the published floats.
    assert!((sh("Direct").1 as f64 / 100.0 - 170.1541576513).abs() < 0.01);
    assert!((sh("Organic_Search").1 as f64 / 100.0 - 130.7658423493).abs() < 0.01);
    assert_eq!(
        sh("Direct").1 + sh("Organic_Search").1 + sh("Video").1,
        9442 + 6650 + 14000 + 20000
    );
    let last = |k: &str| got[&("last_touch".to_string(), k.to_string())];
    assert_eq!(last("Direct"), (4.0, 23442));
    assert_eq!(last("Organic_Search"), (1.0, 6650));
}

fn attribution_dump(input: &Path, output: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for t in [
        "journeys",
        "touch_credit",
        "attribution_summary",
        "markov_transitions",
        "attribution_paths",
    ] {
        let cols = if t == "journeys" {
            crate::run::JOURNEY_COLUMNS
        } else {
            "*"
        };
        let csv = sql_csv(input, output, &format!("SELECT {cols} FROM {t}"));
        let mut lines: Vec<&str> = csv.lines().collect();
        lines[1..].sort_unstable();
        out.insert(t.to_string(), lines.join("\n"));
    }
    out
}

/// Rewrites every table of `from` into `to` with its rows in a seeded random
/// order, split over three files named out of order.
fn shuffled_copy(from: &Path, to: &Path) {
    use arrow::compute::{concat_batches, take_record_batch};
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(99);
    for table in std::fs::read_dir(from).unwrap() {
        let table = table.unwrap().path();
        let name = table.file_name().unwrap().to_string_lossy().to_string();
        if !table.is_dir() || name.starts_with('_') {
            continue;
        }
        let mut files: Vec<PathBuf> = Vec::new();
        let mut stack = vec![table.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p)
                } else {
                    files.push(p)
                }
            }
        }
        let mut batches = Vec::new();
        for f in files {
            let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                std::fs::File::open(&f).unwrap(),
            )
            .unwrap()
            .build()
            .unwrap();
            batches.extend(r.map(|b| b.unwrap()));
        }
        let all = concat_batches(&batches[0].schema(), &batches).unwrap();
        let mut idx: Vec<u32> = (0..all.num_rows() as u32).collect();
        idx.shuffle(&mut rng);
        let dir = to.join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        let third = idx.len().div_ceil(3).max(1);
        for (i, chunk) in idx.chunks(third).enumerate() {
            let part =
                take_record_batch(&all, &arrow::array::UInt32Array::from(chunk.to_vec())).unwrap();
            let file =
                std::fs::File::create(dir.join(format!("part-{}.parquet", ["c", "a", "b"][i])))
                    .unwrap();
            let mut w = parquet::arrow::ArrowWriter::try_new(file, part.schema(), None).unwrap();
            w.write(&part).unwrap();
            w.close().unwrap();
        }
    }
}

/// Shuffled rows, re-split files and one thread change no byte of any
/// attribution output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_order_and_thread_count_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    crate::common::tiny(&input, 21).await;
    let shuffled = dir.path().join("shuffled");
    shuffled_copy(&input, &shuffled);
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run_nightly(&input, &a, &["--date", "2026-10-30"]);
    run_nightly(&shuffled, &b, &["--date", "2026-10-30", "--threads", "1"]);
    let (da, db) = (
        attribution_dump(&input, &a),
        attribution_dump(&shuffled, &b),
    );
    assert!(
        da["touch_credit"].lines().count() > 100,
        "{}",
        da["touch_credit"].lines().count()
    );
    for (t, text) in &da {
        assert!(text == &db[t], "{t} differs");
    }
}
