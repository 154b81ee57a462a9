//! Object stores for real: an in-memory store as input, and S3 through a real
//! S3-compatible server (moto) on loopback, input to output.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use halo::generate::{GenerateOptions, default_end, generate, scale};
use halo::session::{SessionOptions, session};
use halo::storage::{Storage, parse_root};
use object_store::memory::InMemory;

use crate::common::{halo, nightly, summary, tiny};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_memory_store_reads_like_a_local_folder() {
    let root = parse_root("memory://raw/").unwrap();
    let storage = Storage::new().with_store(&root, Arc::new(InMemory::new()));
    let opts = GenerateOptions {
        out: root.clone(),
        scale: scale("tiny").unwrap(),
        seed: 31,
        end: default_end(),
    };
    generate(&storage, &opts).await.unwrap();
    let local = tempfile::tempdir().unwrap();
    tiny(local.path(), 31).await;

    let now = chrono::DateTime::parse_from_rfc3339(crate::common::NOW)
        .unwrap()
        .timestamp_micros();
    let staging = tempfile::tempdir().unwrap();
    let ctx = session(SessionOptions::default()).unwrap();
    let mem = halo::catalog::load_validated(&ctx, &storage, &root, now, staging.path())
        .await
        .unwrap();
    let ctx2 = session(SessionOptions::default()).unwrap();
    let staging2 = tempfile::tempdir().unwrap();
    let disk = halo::catalog::load_validated(
        &ctx2,
        &Storage::new(),
        &parse_root(local.path().to_str().unwrap()).unwrap(),
        now,
        staging2.path(),
    )
    .await
    .unwrap();
    let counts = |l: &halo::catalog::LoadedInput| {
        l.tables
            .iter()
            .map(|t| (t.table.clone(), t.counts.rows, t.counts.clean, t.files))
            .collect::<Vec<_>>()
    };
    assert_eq!(counts(&mem), counts(&disk));
    assert!(
        mem.tables
            .iter()
            .find(|t| t.table == "sessions")
            .unwrap()
            .counts
            .rows
            > 1000
    );
}

/// A moto S3 server on loopback, stopped when dropped.
pub struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts moto on a free loopback port (None, with a message, when moto is
/// not installed outside CI).
pub fn start_moto() -> Option<(Moto, u16)> {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let child = match child {
        Ok(c) => Moto(c),
        Err(e) => {
            // CI installs moto (.ci/run); there a missing server is a failure.
            assert!(
                std::env::var_os("CI").is_none(),
                "moto_server is not installed: {e}"
            );
            eprintln!(
                "skipping the S3 test: moto_server is not installed ({e}); run .ci/run or `pip install 'moto[server]'`"
            );
            return None;
        }
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    Some((child, port))
}

#[test]
fn the_nightly_job_runs_from_s3_to_s3_through_a_real_server() {
    let Some((_moto, port)) = start_moto() else {
        return;
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let made = Command::new("python3")
        .args([
            "-c",
            &format!(
                "import urllib.request as u; u.urlopen(u.Request('{endpoint}/halo', method='PUT'))"
            ),
        ])
        .status()
        .unwrap();
    assert!(made.success(), "bucket created");
    let env = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ALLOW_HTTP", "true"),
    ];
    let ok = |args: &[&str]| {
        let out = halo(args, &env);
        assert_eq!(
            out.status.code(),
            Some(0),
            "halo {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    ok(&[
        "generate",
        "--out",
        "s3://halo/raw",
        "--scale",
        "tiny",
        "--seed",
        "3",
    ]);
    let s = summary(&ok(&[
        "run",
        nightly(),
        "--input",
        "s3://halo/raw",
        "--output",
        "s3://halo/results",
        "--date",
        "2026-10-25",
    ]));
    assert_eq!(s["status"], "success", "{s}");
    // Re-running the date through S3 replaces the partition.
    ok(&[
        "run",
        nightly(),
        "--input",
        "s3://halo/raw",
        "--output",
        "s3://halo/results",
        "--date",
        "2026-10-25",
    ]);
    let csv = ok(&[
        "sql",
        "SELECT count(*) AS n, count(DISTINCT dt) AS d FROM daily_sessions",
        "--input",
        "s3://halo/raw",
        "--output",
        "s3://halo/results",
        "--format",
        "csv",
    ]);
    let remote_sessions = csv;
    // The same data on local disk gives the same table.
    let local = tempfile::tempdir().unwrap();
    let (i, o) = (local.path().join("in"), local.path().join("out"));
    crate::common::halo_ok(&[
        "generate",
        "--out",
        i.to_str().unwrap(),
        "--scale",
        "tiny",
        "--seed",
        "3",
    ]);
    crate::common::run_nightly(&i, &o, &["--date", "2026-10-25"]);
    let local_sessions = crate::common::sql_csv(
        &i,
        &o,
        "SELECT count(*) AS n, count(DISTINCT dt) AS d FROM daily_sessions",
    );
    assert_eq!(remote_sessions, local_sessions, "one partition, as on disk");
    let q = "SELECT * FROM daily_orders ORDER BY currency";
    let remote = ok(&[
        "sql",
        q,
        "--input",
        "s3://halo/raw",
        "--output",
        "s3://halo/results",
        "--format",
        "csv",
    ]);
    assert_eq!(remote, crate::common::sql_csv(&i, &o, q));
}

#[test]
fn an_unreachable_store_is_a_transient_failure_worth_a_retry() {
    // Nothing listens on port 9 (discard) of loopback: the connection is refused.
    let env = [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ALLOW_HTTP", "true"),
    ];
    let out = halo(&["validate", "--input", "s3://halo/raw"], &env);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{err}");
    assert!(
        err.contains("safe to retry") && err.contains("s3://halo/raw/creators/"),
        "{err}"
    );
}

/// The environment that points halo's S3 client at `endpoint`.
pub fn s3_env(endpoint: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ALLOW_HTTP", "true"),
    ]
}

fn s3_store(endpoint: &str, bucket: &str) -> object_store::aws::AmazonS3 {
    object_store::aws::AmazonS3Builder::new()
        .with_endpoint(endpoint)
        .with_bucket_name(bucket)
        .with_access_key_id("testing")
        .with_secret_access_key("testing")
        .with_region("us-east-1")
        .with_allow_http(true)
        .build()
        .unwrap()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Creates `bucket` on the server at `endpoint`.
pub fn create_bucket(endpoint: &str, bucket: &str) {
    let made = Command::new("python3")
        .args([
            "-c",
            &format!(
                "import urllib.request as u; u.urlopen(u.Request('{endpoint}/{bucket}', method='PUT'))"
            ),
        ])
        .status()
        .unwrap();
    assert!(made.success(), "bucket {bucket} created");
}

/// Whether object `key` exists in `bucket`.
pub fn s3_exists(endpoint: &str, bucket: &str, key: &str) -> bool {
    use object_store::ObjectStoreExt;
    let store = s3_store(endpoint, bucket);
    block_on(async {
        store
            .head(&object_store::path::Path::from(key))
            .await
            .is_ok()
    })
}

/// Writes object `key` of `bucket`.
pub fn s3_put(endpoint: &str, bucket: &str, key: &str, body: &str) {
    use object_store::ObjectStoreExt;
    let store = s3_store(endpoint, bucket);
    block_on(async {
        store
            .put(
                &object_store::path::Path::from(key),
                body.to_string().into_bytes().into(),
            )
            .await
            .unwrap();
    });
}

/// The well-known key of every Azure storage emulator's development account.
const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// An Azurite blob server on loopback (and its data folder), stopped when dropped.
pub struct Azurite(Child, #[allow(dead_code)] tempfile::TempDir);

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts Azurite (`azurite-blob` from `HALO_AZURITE_BIN` or the PATH) on a
/// free loopback port, with a container `halo`; None outside CI when it is
/// not installed.
fn start_azurite() -> Option<(Azurite, u16)> {
    let bin = std::env::var("HALO_AZURITE_BIN").unwrap_or_else(|_| "azurite-blob".into());
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data = tempfile::tempdir().unwrap();
    let child = Command::new(&bin)
        .args([
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            &port.to_string(),
            "--location",
            data.path().to_str().unwrap(),
            "--silent",
            "--disableTelemetry",
            "--skipApiVersionCheck",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let child = match child {
        Ok(c) => Azurite(c, data),
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "Azurite ({bin}) is not installed: {e}"
            );
            eprintln!("skipping the Azure test: {bin} is not installed ({e}); run .ci/run");
            return None;
        }
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "Azurite did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The well-known development account of every Azure storage emulator.
    let made = Command::new("python3")
        .args([
            "-c",
            &format!(
                "from azure.storage.blob import BlobServiceClient as C\n\
                 C.from_connection_string('DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;\
                 AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;').create_container('halo')"
            ),
        ])
        .status()
        .unwrap();
    assert!(
        made.success(),
        "container created (pip install azure-storage-blob)"
    );
    Some((child, port))
}

#[test]
fn the_nightly_job_runs_from_azure_to_azure_through_azurite() {
    let Some((_azurite, port)) = start_azurite() else {
        return;
    };
    let url = format!("http://127.0.0.1:{port}");
    // object_store (halo's and delta-rs') finds the emulator by this variable.
    let env = [
        ("AZURE_STORAGE_USE_EMULATOR", "true"),
        ("AZURITE_BLOB_STORAGE_URL", url.as_str()),
        ("AZURE_ALLOW_HTTP", "true"),
    ];
    // The lease rests on create-only puts: Azurite refuses the second.
    {
        use object_store::{ObjectStore, PutMode, PutOptions};
        let store = object_store::azure::MicrosoftAzureBuilder::new()
            .with_account("devstoreaccount1")
            .with_access_key(AZURITE_KEY)
            .with_container_name("halo")
            .with_endpoint(format!("{url}/devstoreaccount1"))
            .with_allow_http(true)
            .build()
            .unwrap();
        let path = object_store::path::Path::from("probe/once.json");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            store
                .put_opts(&path, "1".into(), PutOptions::from(PutMode::Create))
                .await
                .unwrap();
            let again = store
                .put_opts(&path, "2".into(), PutOptions::from(PutMode::Create))
                .await;
            assert!(
                matches!(again, Err(object_store::Error::AlreadyExists { .. })),
                "{again:?}"
            );
        });
    }
    let ok = |args: &[&str]| {
        let out = halo(args, &env);
        assert_eq!(
            out.status.code(),
            Some(0),
            "halo {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    ok(&[
        "generate",
        "--out",
        "az://halo/raw",
        "--scale",
        "tiny",
        "--seed",
        "3",
    ]);
    let run = [
        "run",
        nightly(),
        "--input",
        "az://halo/raw",
        "--output",
        "az://halo/results",
        "--date",
        "2026-10-25",
    ];
    let s = summary(&ok(&run));
    assert_eq!(s["status"], "success", "{s}");
    // Re-running the date through Azure replaces the partition.
    ok(&run);
    let local = tempfile::tempdir().unwrap();
    let (i, o) = (local.path().join("in"), local.path().join("out"));
    crate::common::halo_ok(&[
        "generate",
        "--out",
        i.to_str().unwrap(),
        "--scale",
        "tiny",
        "--seed",
        "3",
    ]);
    crate::common::run_nightly(&i, &o, &["--date", "2026-10-25"]);
    for q in [
        "SELECT * FROM daily_orders ORDER BY currency",
        "SELECT count(*) AS n, count(DISTINCT dt) AS d FROM daily_sessions",
        "SELECT model, sum(revenue_credit) AS r FROM touch_credit GROUP BY model ORDER BY model",
        "SELECT status, count(*) AS n FROM runs GROUP BY status",
    ] {
        let remote = ok(&[
            "sql",
            q,
            "--input",
            "az://halo/raw",
            "--output",
            "az://halo/results",
            "--format",
            "csv",
        ]);
        let mut want = crate::common::sql_csv(&i, &o, q);
        if q.contains("FROM runs") {
            // Azure ran the date twice, the disk once.
            assert_eq!(want, "status,n\nsuccess,1\n");
            want = "status,n\nsuccess,2\n".into();
        }
        assert_eq!(remote, want, "{q}");
    }
}
