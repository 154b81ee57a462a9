//! The decision ledger's promises: entries written before the head record
//! existed keep verifying; removing the first, a middle or the last entry,
//! editing one or reordering two is found (exit 65); and the head a run
//! recorded in `runs` catches the removal of the newest decisions even when
//! the head record was rewritten to match.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate};
use halo::ledger::{Ledger, NewEntry};
use halo::payouts::approval::KIND;
use halo::storage::{Storage, parse_root};
use url::Url;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/ledger/before-heads"
);

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

fn root(dir: &Path) -> Url {
    parse_root(dir.to_str().unwrap()).unwrap()
}

async fn three_decisions(dir: &Path) -> Ledger {
    let storage = Storage::new();
    let root = root(dir);
    let mut ledger = Ledger::load(&storage, &root, KIND, &[]).await.unwrap();
    for (i, id) in ["cr_1-USD-2026-10", "cr_2-USD-2026-10", "cr_3-USD-2026-10"]
        .iter()
        .enumerate()
    {
        let mut content = serde_json::Map::new();
        content.insert(
            "payout".into(),
            serde_json::json!({"payout_id": id, "net": format!("{}.00", 10 * (i + 1))}),
        );
        content.insert("lines".into(), serde_json::json!([]));
        ledger
            .append(
                &storage,
                &root,
                NewEntry {
                    at: DateTime::from_timestamp(1_790_000_000 + i as i64, 0).unwrap(),
                    decision: "approve".into(),
                    subject_id: id.to_string(),
                    by: "ana".into(),
                    note: None,
                    as_of: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
                    content,
                },
            )
            .await
            .unwrap();
    }
    ledger
}

async fn verify(dir: &Path) -> Result<Ledger, String> {
    let storage = Storage::new();
    halo::payouts::decide::verified_ledger(&storage, &root(dir))
        .await
        .map_err(|e| {
            assert_eq!(e.exit_code(), 65, "{e}");
            e.to_string()
        })
}

fn entry(dir: &Path, seq: u64) -> std::path::PathBuf {
    dir.join(format!("_ledger/payouts/{seq:010}.json"))
}

#[tokio::test]
async fn entries_written_before_the_head_record_existed_verify_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(Path::new(FIXTURE), dir.path());
    let ledger = verify(dir.path()).await.unwrap();
    assert_eq!(ledger.entries.len(), 2);
    assert!(
        ledger.head_record.is_none(),
        "written by halo before head records"
    );
    // The hashes the old files record are what the generic ledger computes.
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(entry(dir.path(), 2)).unwrap()).unwrap();
    assert_eq!(ledger.head().hash, stored["hash"].as_str().unwrap());
    assert_eq!(ledger.entries[1].compute_hash(), ledger.entries[1].hash);
    assert_eq!(ledger.entries[0].subject_id, "cr_0003-USD-2026-10");
    assert_eq!(ledger.entries[1].decision, "reject");
    // The binary agrees, and names the same head.
    let out = crate::common::halo(
        &[
            "payouts",
            "verify",
            "--output",
            dir.path().to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = crate::common::only_json(&out.stdout);
    assert_eq!(v["head"], stored["hash"]);
    assert_eq!(v["entries"], 2);
}

#[tokio::test]
async fn removing_the_first_a_middle_or_the_last_entry_is_found() {
    for (seq, want) in [
        (1, "expected entry 1, found 2"),
        (2, "expected entry 2, found 3"),
        (3, "its head record names entry 3"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        three_decisions(dir.path()).await;
        assert!(verify(dir.path()).await.is_ok());
        std::fs::remove_file(entry(dir.path(), seq)).unwrap();
        let e = verify(dir.path()).await.unwrap_err();
        assert!(e.contains(want), "removing entry {seq}: {e}");
    }
}

#[tokio::test]
async fn editing_an_entry_or_reordering_two_is_found() {
    let dir = tempfile::tempdir().unwrap();
    three_decisions(dir.path()).await;
    let second = entry(dir.path(), 2);
    let text = std::fs::read_to_string(&second).unwrap();
    std::fs::write(&second, text.replace("\"20.00\"", "\"200.00\"")).unwrap();
    let e = verify(dir.path()).await.unwrap_err();
    assert!(
        e.contains("entry 2 (approve of cr_2-USD-2026-10 by ana) was changed"),
        "{e}"
    );
    std::fs::write(&second, text).unwrap();

    // Swapping two files: each holds the other's sequence number.
    let (a, b) = (entry(dir.path(), 1), entry(dir.path(), 2));
    let (ta, tb) = (
        std::fs::read_to_string(&a).unwrap(),
        std::fs::read_to_string(&b).unwrap(),
    );
    std::fs::write(&a, &tb).unwrap();
    std::fs::write(&b, &ta).unwrap();
    let e = verify(dir.path()).await.unwrap_err();
    assert!(e.contains("file 0000000001.json holds entry seq 2"), "{e}");
    // Swapping them and renumbering breaks the chain instead.
    std::fs::write(&a, tb.replace("\"seq\": 2", "\"seq\": 1")).unwrap();
    std::fs::write(&b, ta.replace("\"seq\": 1", "\"seq\": 2")).unwrap();
    let e = verify(dir.path()).await.unwrap_err();
    assert!(
        e.contains("entry 1 does not point to the hash of entry 0"),
        "{e}"
    );
}

/// A `runs` table whose one row recorded the payouts ledger at `seq`/`hash`.
async fn runs_recording(dir: &Path, seq: u64, hash: &str) {
    let row = serde_json::json!({
        "run_id": "r", "job": "nightly", "date": "2026-11-01",
        "started_at": "2026-11-02T00:00:00Z", "finished_at": "2026-11-02T00:01:00Z",
        "status": "success", "exit_code": 0, "halo_version": "test",
        "ledger_heads": [{"kind": "payouts", "seq": seq, "hash": hash}],
    });
    let schema = halo::runner::runs::schema();
    let mut reader = arrow::json::ReaderBuilder::new(schema.clone())
        .build(std::io::Cursor::new(row.to_string()))
        .unwrap();
    let batch = reader.next().unwrap().unwrap();
    let ctx = halo::session::session(Default::default()).unwrap();
    let plan = ctx
        .read_table(Arc::new(
            datafusion::datasource::MemTable::try_new(schema, vec![vec![batch]]).unwrap(),
        ))
        .unwrap()
        .into_unoptimized_plan();
    let results = halo::tables::ResultStore::new(Storage::new(), root(dir)).unwrap();
    results.append(&ctx, "runs", plan).await.unwrap();
}

#[tokio::test]
async fn the_head_a_run_recorded_catches_a_removal_the_head_record_was_made_to_hide() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = three_decisions(dir.path()).await;
    runs_recording(dir.path(), 3, &ledger.entries[2].hash).await;
    assert!(verify(dir.path()).await.is_ok());
    // Remove the newest decision and rewrite the head record to match.
    std::fs::remove_file(entry(dir.path(), 3)).unwrap();
    let head = serde_json::json!({"kind": "payouts", "seq": 2, "hash": ledger.entries[1].hash});
    std::fs::write(
        dir.path().join("_ledger/payouts.head.json"),
        head.to_string(),
    )
    .unwrap();
    let e = verify(dir.path()).await.unwrap_err();
    assert!(
        e.contains("a head recorded in runs names entry 3")
            && e.contains("the chain ends at entry 2"),
        "{e}"
    );
    // The head record alone is missing entries too: the chain went on without halo.
    let dir2 = tempfile::tempdir().unwrap();
    let l2 = three_decisions(dir2.path()).await;
    let head = serde_json::json!({"kind": "payouts", "seq": 1, "hash": l2.entries[0].hash});
    std::fs::write(
        dir2.path().join("_ledger/payouts.head.json"),
        head.to_string(),
    )
    .unwrap();
    let e = verify(dir2.path()).await.unwrap_err();
    assert!(e.contains("entries were added without halo"), "{e}");
}
