//! The data contract: every reject reason, type coercions, and the exit codes
//! of files and tables that cannot be read.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Decimal128Array, Float64Array, Int16Array, Int32Array,
    LargeStringArray, ListBuilder, StringArray, StringBuilder, StringViewArray,
    TimestampMicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray,
};
use halo::catalog::load_validated;
use halo::session::{SessionOptions, session};
use halo::storage::{Storage, parse_root};

use crate::common::{halo, write_parquet};

pub fn s(v: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}
pub fn ts(v: &[i64]) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(v.to_vec()).with_timezone("UTC"))
}
pub fn money(v: &[i128]) -> ArrayRef {
    Arc::new(
        Decimal128Array::from(v.to_vec())
            .with_precision_and_scale(18, 2)
            .unwrap(),
    )
}
pub fn i32s(v: &[i32]) -> ArrayRef {
    Arc::new(Int32Array::from(v.to_vec()))
}
pub fn str_lists(v: &[&[&str]]) -> ArrayRef {
    let mut b = ListBuilder::new(StringBuilder::new());
    for items in v {
        for i in *items {
            b.values().append_value(i);
        }
        b.append(true);
    }
    Arc::new(b.finish())
}

/// 2026-10-01T12:00:00Z in microseconds.
pub const T0: i64 = 1_790_856_000_000_000;
const HOUR: i64 = 3_600_000_000;

/// The smallest valid input: two creators, one post, one session, one order.
pub fn minimal(root: &Path) {
    write_parquet(
        &root.join("creators/part-0.parquet"),
        vec![
            ("creator_id", s(&[Some("c1"), Some("c2")])),
            ("display_name", s(&[Some("One"), Some("Two")])),
            ("status", s(&[Some("active"), Some("active")])),
        ],
    );
    write_parquet(
        &root.join("content/part-0.parquet"),
        vec![
            ("content_id", s(&[Some("p1")])),
            ("creator_id", s(&[Some("c1")])),
            ("platform", s(&[Some("instagram")])),
            ("format", s(&[Some("reel")])),
            ("published_at", ts(&[T0])),
        ],
    );
    write_parquet(
        &root.join("sessions/part-0.parquet"),
        vec![
            ("session_id", s(&[Some("s1")])),
            ("anonymous_id", s(&[Some("a1")])),
            ("started_at", ts(&[T0 + HOUR])),
            ("channel", s(&[Some("direct")])),
        ],
    );
    write_parquet(
        &root.join("orders/part-0.parquet"),
        vec![
            ("order_id", s(&[Some("o1")])),
            ("ordered_at", ts(&[T0 + 2 * HOUR])),
            ("revenue", money(&[10000])),
            ("currency", s(&[Some("USD")])),
        ],
    );
}

async fn load(root: &Path) -> halo::Result<halo::catalog::LoadedInput> {
    let ctx = session(SessionOptions::default())?;
    let staging = tempfile::tempdir().unwrap();
    let now = chrono::DateTime::parse_from_rfc3339(crate::common::NOW)
        .unwrap()
        .timestamp_micros();
    load_validated(
        &ctx,
        &Storage::new(),
        &parse_root(root.to_str().unwrap())?,
        now,
        staging.path(),
    )
    .await
}

fn reasons(loaded: &halo::catalog::LoadedInput) -> BTreeMap<String, BTreeMap<String, u64>> {
    loaded
        .tables
        .iter()
        .filter(|t| !t.counts.rejected.is_empty())
        .map(|t| (t.table.clone(), t.counts.rejected.clone()))
        .collect()
}

#[tokio::test]
async fn every_reject_reason_is_counted_and_nothing_else_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    minimal(root);
    let future = chrono::DateTime::parse_from_rfc3339(crate::common::NOW)
        .unwrap()
        .timestamp_micros()
        + HOUR;
    write_parquet(
        &root.join("creators/part-0.parquet"),
        vec![
            (
                "creator_id",
                s(&[
                    Some("c1"),
                    Some("c2"),
                    Some("c1"),
                    Some("c3"),
                    Some("c4"),
                    Some("c5"),
                ]),
            ),
            (
                "display_name",
                s(&[
                    Some("One"),
                    Some("Two"),
                    Some("Again"),
                    Some("Three"),
                    None,
                    Some("Five"),
                ]),
            ),
            (
                "status",
                s(&[
                    Some("active"),
                    Some("paused"),
                    Some("active"),
                    Some("vip"),
                    Some("active"),
                    Some("active"),
                ]),
            ),
            (
                "audience_target_share",
                Arc::new(Float64Array::from(vec![
                    Some(0.5),
                    None,
                    None,
                    None,
                    None,
                    Some(1.5),
                ])) as ArrayRef,
            ),
        ],
    );
    write_parquet(
        &root.join("content/part-0.parquet"),
        vec![
            ("content_id", s(&[Some("p1"), Some("p2"), Some("p3")])),
            ("creator_id", s(&[Some("c1"), Some("ghost"), Some("c2")])),
            (
                "platform",
                s(&[Some("instagram"), Some("tiktok"), Some("myspace")]),
            ),
            ("format", s(&[Some("reel"), Some("short"), Some("video")])),
            ("published_at", ts(&[T0, T0, T0])),
            ("link_ids", str_lists(&[&["l1"], &[], &[]])),
        ],
    );
    // Two files with the same session: the first by file path is kept.
    write_parquet(
        &root.join("sessions/dt=2026-10-01/a.parquet"),
        vec![
            ("session_id", s(&[Some("s1"), Some("s2"), Some("s3")])),
            ("anonymous_id", s(&[Some("a1"), Some("a2"), Some("a3")])),
            ("started_at", ts(&[T0 + HOUR, future, T0])),
            ("channel", s(&[Some("direct"), Some("email"), None])),
        ],
    );
    write_parquet(
        &root.join("sessions/dt=2026-10-01/b.parquet"),
        vec![
            ("session_id", s(&[Some("s1"), Some("s4")])),
            ("anonymous_id", s(&[Some("a1"), Some("a4")])),
            ("started_at", ts(&[T0 + HOUR, T0])),
            ("channel", s(&[Some("affiliate"), Some("referral")])),
        ],
    );
    std::fs::remove_file(root.join("sessions/part-0.parquet")).unwrap();
    write_parquet(
        &root.join("orders/part-0.parquet"),
        vec![
            (
                "order_id",
                s(&[Some("o1"), Some("o2"), Some("o3"), Some("o4")]),
            ),
            ("ordered_at", ts(&[T0, T0, T0, T0])),
            ("revenue", money(&[10000, 500, -100, 5000])),
            (
                "currency",
                s(&[Some("USD"), Some("XYZ"), Some("USD"), Some("EUR")]),
            ),
            (
                "is_new_customer",
                Arc::new(BooleanArray::from(vec![true, false, false, true])) as ArrayRef,
            ),
        ],
    );
    write_parquet(
        &root.join("order_lines/part-0.parquet"),
        vec![
            ("order_id", s(&[Some("o1"), Some("o1"), Some("o9")])),
            ("line_no", i32s(&[1, 2, 1])),
            ("sku", s(&[Some("A"), Some("B"), Some("C")])),
            ("quantity", i32s(&[1, 0, 1])),
            ("net_amount", money(&[10000, 0, 100])),
        ],
    );
    write_parquet(
        &root.join("refunds/part-0.parquet"),
        vec![
            ("refund_id", s(&[Some("r1"), Some("r2"), Some("r3")])),
            ("order_id", s(&[Some("o1"), Some("o1"), Some("o4")])),
            ("refunded_at", ts(&[T0 + HOUR, T0 + 2 * HOUR, T0 + HOUR])),
            ("amount", money(&[6000, 5000, 1000])),
            ("currency", s(&[Some("USD"), Some("USD"), Some("USD")])),
        ],
    );
    write_parquet(
        &root.join("links/part-0.parquet"),
        vec![
            ("link_id", s(&[Some("l1")])),
            ("creator_id", s(&[Some("c1")])),
            ("destination_url", s(&[Some("https://x")])),
        ],
    );
    write_parquet(
        &root.join("clicks/part-0.parquet"),
        vec![
            ("click_id", s(&[Some("k1"), Some("k2")])),
            ("link_id", s(&[Some("l1"), Some("nope")])),
            ("clicked_at", ts(&[T0, T0])),
        ],
    );
    // Nanosecond timestamps: a sub-microsecond part cannot be kept.
    write_parquet(
        &root.join("clicks/part-1.parquet"),
        vec![
            ("click_id", s(&[Some("k3"), Some("k4")])),
            ("link_id", s(&[Some("l1"), Some("l1")])),
            (
                "clicked_at",
                Arc::new(TimestampNanosecondArray::from(vec![
                    T0 * 1000 + 123,
                    T0 * 1000 + 5000,
                ])) as ArrayRef,
            ),
        ],
    );

    let loaded = load(root).await.unwrap();
    let expected: BTreeMap<String, BTreeMap<String, u64>> = [
        (
            "creators",
            vec![
                ("duplicate_key", 1),
                ("unknown_enum:status", 1),
                ("null_required:display_name", 1),
                ("invalid_value:audience_target_share", 1),
            ],
        ),
        (
            "content",
            vec![
                ("dangling_fk:creator_id->creators", 1),
                ("unknown_enum:platform", 1),
            ],
        ),
        (
            "sessions",
            vec![
                ("duplicate_key", 1),
                ("future_event:started_at", 1),
                ("null_required:channel", 1),
            ],
        ),
        (
            "orders",
            vec![
                ("unknown_currency:currency", 1),
                ("invalid_value:revenue", 1),
            ],
        ),
        (
            "order_lines",
            vec![
                ("invalid_value:quantity", 1),
                ("dangling_fk:order_id->orders", 1),
            ],
        ),
        (
            "refunds",
            vec![
                ("refund_exceeds_order", 1),
                ("currency_mismatch:currency", 1),
            ],
        ),
        (
            "clicks",
            vec![
                ("dangling_fk:link_id->links", 1),
                ("lossy_timestamp:clicked_at", 1),
            ],
        ),
    ]
    .into_iter()
    .map(|(t, rs)| {
        (
            t.to_string(),
            rs.into_iter().map(|(r, n)| (r.to_string(), n)).collect(),
        )
    })
    .collect();
    assert_eq!(reasons(&loaded), expected);
    let sessions = loaded
        .tables
        .iter()
        .find(|t| t.table == "sessions")
        .unwrap();
    assert_eq!(
        (sessions.counts.rows, sessions.counts.clean, sessions.files),
        (5, 2, 2)
    );

    // The CLI reports the same and exits 65 because rows were rejected.
    let out = halo(&["validate", "--input", root.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(65));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("refund_exceeds_order"), "{text}");
    assert!(text.contains("absent (optional"), "{text}");
    assert!(
        text.contains("optional columns absent from every file: customer_id, referrer_domain"),
        "{text}"
    );
}

#[tokio::test]
async fn the_first_duplicate_by_file_path_and_row_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    minimal(root);
    std::fs::remove_file(root.join("sessions/part-0.parquet")).unwrap();
    // b.parquet is listed after a.parquet whatever order the files were written in.
    write_parquet(
        &root.join("sessions/b.parquet"),
        vec![
            ("session_id", s(&[Some("s1")])),
            ("anonymous_id", s(&[Some("from-b")])),
            ("started_at", ts(&[T0])),
            ("channel", s(&[Some("direct")])),
        ],
    );
    write_parquet(
        &root.join("sessions/a.parquet"),
        vec![
            ("session_id", s(&[Some("s9"), Some("s1"), Some("s1")])),
            (
                "anonymous_id",
                s(&[Some("x"), Some("from-a-row-2"), Some("from-a-row-3")]),
            ),
            ("started_at", ts(&[T0, T0, T0])),
            (
                "channel",
                s(&[Some("direct"), Some("direct"), Some("direct")]),
            ),
        ],
    );
    let ctx = session(SessionOptions::default()).unwrap();
    let staging = tempfile::tempdir().unwrap();
    load_validated(
        &ctx,
        &Storage::new(),
        &parse_root(root.to_str().unwrap()).unwrap(),
        i64::MAX,
        staging.path(),
    )
    .await
    .unwrap();
    let b = ctx
        .sql("SELECT anonymous_id FROM sessions WHERE session_id = 's1'")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let text = arrow::util::pretty::pretty_format_batches(&b)
        .unwrap()
        .to_string();
    assert!(text.contains("from-a-row-2"), "{text}");
    assert_eq!(b.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
}

#[tokio::test]
async fn narrower_and_other_encodings_are_cast_losslessly() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    minimal(root);
    // Zone-less nanosecond timestamps, large strings, view strings, decimal(10,2), int16.
    write_parquet(
        &root.join("sessions/part-0.parquet"),
        vec![
            (
                "session_id",
                Arc::new(LargeStringArray::from(vec!["s1", "s2"])) as ArrayRef,
            ),
            (
                "anonymous_id",
                Arc::new(StringViewArray::from(vec!["a1", "a2"])) as ArrayRef,
            ),
            (
                "started_at",
                Arc::new(TimestampNanosecondArray::from(vec![
                    T0 * 1000,
                    (T0 + 1) * 1000,
                ])) as ArrayRef,
            ),
            ("channel", s(&[Some("direct"), Some("email")])),
        ],
    );
    write_parquet(
        &root.join("content/part-0.parquet"),
        vec![
            ("content_id", s(&[Some("p1")])),
            ("creator_id", s(&[Some("c1")])),
            ("platform", s(&[Some("instagram")])),
            ("format", s(&[Some("reel")])),
            (
                "published_at",
                Arc::new(TimestampMillisecondArray::from(vec![T0 / 1000]).with_timezone("+02:00"))
                    as ArrayRef,
            ),
        ],
    );
    write_parquet(
        &root.join("orders/part-0.parquet"),
        vec![
            ("order_id", s(&[Some("o1")])),
            ("ordered_at", ts(&[T0])),
            (
                "revenue",
                Arc::new(
                    Decimal128Array::from(vec![12345])
                        .with_precision_and_scale(10, 2)
                        .unwrap(),
                ) as ArrayRef,
            ),
            ("currency", s(&[Some("GBP")])),
        ],
    );
    write_parquet(
        &root.join("order_lines/part-0.parquet"),
        vec![
            ("order_id", s(&[Some("o1")])),
            ("line_no", Arc::new(Int16Array::from(vec![1])) as ArrayRef),
            ("sku", s(&[Some("A")])),
            ("quantity", Arc::new(Int16Array::from(vec![2])) as ArrayRef),
            (
                "net_amount",
                Arc::new(
                    Decimal128Array::from(vec![12345])
                        .with_precision_and_scale(9, 2)
                        .unwrap(),
                ) as ArrayRef,
            ),
        ],
    );
    let ctx = session(SessionOptions::default()).unwrap();
    let staging = tempfile::tempdir().unwrap();
    let loaded = load_validated(
        &ctx,
        &Storage::new(),
        &parse_root(root.to_str().unwrap()).unwrap(),
        i64::MAX,
        staging.path(),
    )
    .await
    .unwrap();
    assert_eq!(loaded.rejected(), 0, "{:?}", loaded.tables);
    let q = "SELECT CAST(s.started_at AS BIGINT) AS st, arrow_typeof(s.started_at) AS t, \
             CAST(c.published_at AS BIGINT) AS pub, o.revenue, arrow_typeof(o.revenue) AS rt, l.line_no, arrow_typeof(l.line_no) AS lt \
             FROM sessions s, content c, orders o, order_lines l WHERE s.session_id = 's2'";
    let b = ctx.sql(q).await.unwrap().collect().await.unwrap();
    let text = arrow::util::pretty::pretty_format_batches(&b)
        .unwrap()
        .to_string();
    assert!(text.contains(&format!("{}", T0 + 1)), "{text}");
    assert!(
        text.contains("Timestamp(µs, \"UTC\")")
            || text.contains("Timestamp(Microsecond, Some(\"UTC\"))"),
        "{text}"
    );
    assert!(text.contains(&format!("{}", T0)), "{text}");
    assert!(text.contains("123.45"), "{text}");
    assert!(text.contains("Decimal128(18, 2)"), "{text}");
    assert!(text.contains("Int32"), "{text}");
}

fn expect_exit(args: &[&str], code: i32, needles: &[&str]) {
    let out = halo(args, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}: {err}");
    }
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_parquet_stops_with_65_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    minimal(dir.path());
    std::fs::write(
        dir.path().join("sessions/notes.parquet"),
        b"not parquet at all",
    )
    .unwrap();
    expect_exit(
        &["validate", "--input", dir.path().to_str().unwrap()],
        65,
        &["sessions", "notes.parquet", "not a readable Parquet file"],
    );
}

#[test]
fn a_missing_required_column_stops_with_65_naming_table_and_column() {
    let dir = tempfile::tempdir().unwrap();
    minimal(dir.path());
    write_parquet(
        &dir.path().join("orders/part-0.parquet"),
        vec![
            ("order_id", s(&[Some("o1")])),
            ("ordered_at", ts(&[T0])),
            ("currency", s(&[Some("USD")])),
        ],
    );
    expect_exit(
        &["validate", "--input", dir.path().to_str().unwrap()],
        65,
        &[
            "table orders, column revenue",
            "required column missing",
            "part-0.parquet",
        ],
    );
}

#[test]
fn a_float_for_money_stops_with_65_saying_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    minimal(dir.path());
    write_parquet(
        &dir.path().join("orders/part-0.parquet"),
        vec![
            ("order_id", s(&[Some("o1")])),
            ("ordered_at", ts(&[T0])),
            (
                "revenue",
                Arc::new(Float64Array::from(vec![1.5])) as ArrayRef,
            ),
            ("currency", s(&[Some("USD")])),
        ],
    );
    expect_exit(
        &["validate", "--input", dir.path().to_str().unwrap()],
        65,
        &[
            "table orders, column revenue",
            "Float64",
            "expected decimal(18,2)",
        ],
    );
}

#[test]
fn a_missing_required_table_stops_with_66() {
    let dir = tempfile::tempdir().unwrap();
    minimal(dir.path());
    std::fs::remove_dir_all(dir.path().join("orders")).unwrap();
    expect_exit(
        &["validate", "--input", dir.path().to_str().unwrap()],
        66,
        &["orders"],
    );
    let out = tempfile::tempdir().unwrap();
    expect_exit(
        &[
            "run",
            crate::common::nightly(),
            "--input",
            dir.path().to_str().unwrap(),
            "--output",
            out.path().to_str().unwrap(),
            "--date",
            "2026-10-01",
        ],
        66,
        &["orders"],
    );
}

#[test]
fn usage_and_configuration_errors_have_their_codes() {
    expect_exit(&["run", "--date", "yesterday"], 2, &["yesterday"]);
    expect_exit(&["sql", "SELECT 1", "--format", "xml"], 2, &["xml"]);
    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("bad.toml");
    std::fs::write(&job, "name = \"x\"\n[params]\nbase_currency = \"DOLLARS\"\ntimezone = \"UTC\"\n[[steps]]\nname = \"a\"\nsql = \"a.sql\"\noutput = \"a\"\n").unwrap();
    expect_exit(
        &["run", job.to_str().unwrap(), "--date", "2026-10-01"],
        78,
        &["base_currency", "DOLLARS"],
    );
    std::fs::write(&job, "name = \"x\"\n[params]\nbase_currency = \"USD\"\ntimezone = \"Mars/Olympus\"\n[[steps]]\nname = \"a\"\nsql = \"a.sql\"\noutput = \"a\"\n").unwrap();
    expect_exit(
        &["run", job.to_str().unwrap(), "--date", "2026-10-01"],
        78,
        &["timezone", "Mars/Olympus"],
    );
    expect_exit(&["run", "no/such/job.toml"], 78, &["no/such/job.toml"]);
}

#[test]
fn a_step_with_broken_sql_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    minimal(&dir.path().join("in"));
    std::fs::write(dir.path().join("broken.sql"), "SELECT nope FROM sessions").unwrap();
    let job = dir.path().join("job.toml");
    std::fs::write(
        &job,
        "name = \"x\"\n[params]\nbase_currency = \"USD\"\ntimezone = \"UTC\"\n\
         [[steps]]\nname = \"a\"\nsql = \"broken.sql\"\noutput = \"a\"\n\
         [[tables]]\nname = \"a\"\npartition = \"run_date\"\ncolumns = [\
         { name = \"n\", type = \"int64\", doc = \"n\" }, \
         { name = \"dt\", type = \"date\", nullable = false, doc = \"the run date\" }]\n",
    )
    .unwrap();
    expect_exit(
        &[
            "run",
            job.to_str().unwrap(),
            "--date",
            "2026-10-01",
            "--input",
            dir.path().join("in").to_str().unwrap(),
            "--output",
            dir.path().join("out").to_str().unwrap(),
        ],
        78,
        &["broken.sql", "nope"],
    );
}
