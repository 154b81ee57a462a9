//! One writer per output root: a second run waits (exit 75, naming the
//! holder), a killed holder on this machine is taken over at once, a silent
//! one after `--lease-timeout`, and a run whose lease was taken over stops
//! before its next commit. On local disk and on a real S3 server.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{NOW, Small, halo, only_json, sql_csv};

/// A halo process started in the background (killed if the test fails).
pub struct Background(Option<Child>);

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn spawn(args: &[&str], envs: &[(&str, &str)]) -> Background {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_halo"));
    cmd.args(args)
        .env("HALO_NOW", NOW)
        .env_remove("HALO_INPUT")
        .env_remove("HALO_OUTPUT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    Background(Some(cmd.spawn().expect("halo starts")))
}

/// Waits until `done`, failing with the process's own output if it ends first.
pub fn wait_for(b: &mut Background, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done() {
        let child = b.0.as_mut().unwrap();
        if child.try_wait().unwrap().is_some() {
            let out = b.0.take().unwrap().wait_with_output().unwrap();
            panic!(
                "halo ended ({:?}) before {what}:\n{}\n{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn finish(mut b: Background) -> std::process::Output {
    b.0.take().unwrap().wait_with_output().expect("halo ends")
}

pub fn run_args<'a>(job: &'a str, input: &'a str, output: &'a str, date: &'a str) -> Vec<&'a str> {
    vec![
        "run", job, "--input", input, "--output", output, "--date", date,
    ]
}

/// A writer elsewhere: its lease object and a heartbeat `age` ago.
fn foreign_lease(
    n: u64,
    heartbeat_age: chrono::Duration,
    date_run: Option<&str>,
) -> (String, String) {
    let started = chrono::Utc::now() - heartbeat_age - chrono::Duration::minutes(5);
    let beat = chrono::Utc::now() - heartbeat_age;
    let lease = serde_json::json!({
        "lease": n, "run_id": "run-elsewhere", "command": "run nightly",
        "host": "another-host", "pid": 4242, "started_at": started,
    });
    let heartbeat = serde_json::json!({
        "at": beat, "date": date_run.map(|_| "2026-09-30"), "date_run_id": date_run,
        "date_started_at": date_run.map(|_| started),
    });
    (lease.to_string(), heartbeat.to_string())
}

fn write_local_lease(output: &Path, n: u64, lease: &str, heartbeat: &str) {
    let dir = output.join("_halo/lease");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{n:010}.json")), lease).unwrap();
    std::fs::write(dir.join(format!("{n:010}.heartbeat.json")), heartbeat).unwrap();
}

#[test]
fn a_second_run_on_the_same_root_exits_75_naming_the_holder() {
    let case = Small::new();
    let (dir, input, output) = (case.dir.path(), &case.input, &case.output);
    let flag = dir.join("go");
    let pause = format!("before_commit:{}", flag.display());
    let (j, i, o) = (
        case.job.to_str().unwrap(),
        input.to_str().unwrap(),
        output.to_str().unwrap(),
    );
    let mut a = spawn(
        &run_args(j, i, o, "2026-10-01"),
        &[("HALO_PAUSE_AT", &pause)],
    );
    let lease = output.join("_halo/lease/0000000001.heartbeat.json");
    wait_for(&mut a, "the first run's lease", || lease.exists());

    let b = halo(&run_args(j, i, o, "2026-10-02"), &[]);
    let err = String::from_utf8_lossy(&b.stderr);
    assert_eq!(b.status.code(), Some(75), "{err}");
    assert!(
        err.contains("is in use: run small") && err.contains("holds its lease since"),
        "{err}"
    );
    // A decision is a write too: it waits for the run.
    let d = halo(
        &["payouts", "approve", "p1", "--by", "ana", "--output", o],
        &[],
    );
    assert_eq!(
        d.status.code(),
        Some(75),
        "{}",
        String::from_utf8_lossy(&d.stderr)
    );

    std::fs::write(&flag, "").unwrap();
    let a = finish(a);
    assert_eq!(
        a.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&a.stderr)
    );
    // The second run's attempt wrote nothing: only the first date is there.
    assert_eq!(
        sql_csv(
            input,
            output,
            "SELECT DISTINCT CAST(dt AS VARCHAR) AS d FROM daily_sessions"
        ),
        "d\n2026-10-01\n"
    );
    // Released: the next run takes lease 2 and the older lease is gone.
    let c = halo(&run_args(j, i, o, "2026-10-02"), &[]);
    assert_eq!(
        c.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&c.stderr)
    );
    let mut left: Vec<String> = std::fs::read_dir(output.join("_halo/lease"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            "0000000002.heartbeat.json",
            "0000000002.json",
            "0000000002.released.json"
        ]
    );
}

#[test]
fn a_killed_run_is_taken_over_at_once_recorded_and_its_staging_removed() {
    let case = Small::new();
    let (dir, input, output) = (case.dir.path(), &case.input, &case.output);
    let (j, i, o) = (
        case.job.to_str().unwrap(),
        input.to_str().unwrap(),
        output.to_str().unwrap(),
    );
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let tmp_env = ("TMPDIR", tmp.to_str().unwrap());
    // Killed before its first commit: nothing committed, its lease held.
    let killed = halo(
        &run_args(j, i, o, "2026-10-01"),
        &[("HALO_FAIL_AT", "before_commit"), tmp_env],
    );
    assert_eq!(killed.status.code(), None, "aborted by a signal");
    let staged: Vec<PathBuf> = std::fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        staged.len(),
        1,
        "the killed run left its staging folder: {staged:?}"
    );
    assert!(!output.join("daily_sessions").exists());

    let next = halo(&run_args(j, i, o, "2026-10-01"), &[tmp_env]);
    assert_eq!(
        next.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&next.stderr)
    );
    let s = only_json(&next.stdout);
    assert_eq!(s["abandoned_runs"].as_array().unwrap().len(), 1, "{s}");
    assert!(
        !staged[0].exists(),
        "the dead run's staging folder is removed"
    );
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    let runs = sql_csv(
        input,
        output,
        "SELECT status, CAST(date AS VARCHAR) AS date, exit_code FROM runs ORDER BY started_at",
    );
    assert_eq!(
        runs,
        "status,date,exit_code\nabandoned,2026-10-01,1\nsuccess,2026-10-01,0\n"
    );
}

#[test]
fn a_stale_lease_from_another_machine_waits_for_the_timeout_then_is_taken_over() {
    let case = Small::new();
    let (input, output) = (&case.input, &case.output);
    let (j, i, o) = (
        case.job.to_str().unwrap(),
        input.to_str().unwrap(),
        output.to_str().unwrap(),
    );
    // Alive by its heartbeat (20 s ago): the run waits.
    let (lease, beat) = foreign_lease(1, chrono::Duration::seconds(20), Some("date-run-elsewhere"));
    write_local_lease(output, 1, &lease, &beat);
    let waits = halo(&run_args(j, i, o, "2026-10-01"), &[]);
    let err = String::from_utf8_lossy(&waits.stderr);
    assert_eq!(waits.status.code(), Some(75), "{err}");
    assert!(
        err.contains("run-elsewhere") && err.contains("another-host pid 4242"),
        "{err}"
    );
    // With a shorter timeout the same heartbeat is stale: taken over.
    let mut args = run_args(j, i, o, "2026-10-01");
    args.extend(["--lease-timeout", "10s"]);
    let took = halo(&args, &[]);
    assert_eq!(
        took.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&took.stderr)
    );
    assert!(output.join("_halo/lease/0000000002.released.json").exists());
    assert!(
        !output.join("_halo/lease/0000000001.json").exists(),
        "older leases are cleared"
    );
    let runs = sql_csv(
        input,
        output,
        "SELECT run_id, status, CAST(date AS VARCHAR) AS date FROM runs WHERE status = 'abandoned'",
    );
    assert_eq!(
        runs,
        "run_id,status,date\ndate-run-elsewhere,abandoned,2026-09-30\n"
    );
}

#[test]
fn a_run_whose_lease_was_taken_over_stops_before_committing_and_is_rolled_back() {
    let case = Small::new();
    let (dir, input, output) = (case.dir.path(), &case.input, &case.output);
    let (j, i, o) = (
        case.job.to_str().unwrap(),
        input.to_str().unwrap(),
        output.to_str().unwrap(),
    );
    let flag = dir.join("go");
    let pause = format!("before_commit_table:{}", flag.display());
    let mut a = spawn(
        &run_args(j, i, o, "2026-10-01"),
        &[("HALO_PAUSE_AT", &pause)],
    );
    wait_for(&mut a, "the pending marker", || {
        std::fs::read_dir(output.join("_halo/pending")).is_ok_and(|mut d| d.next().is_some())
    });
    // Another writer takes the lease over (as after a stall of the first).
    let (lease, beat) = foreign_lease(2, chrono::Duration::hours(1), None);
    write_local_lease(output, 2, &lease, &beat);
    std::fs::write(&flag, "").unwrap();
    let a = finish(a);
    let err = String::from_utf8_lossy(&a.stderr);
    assert_eq!(a.status.code(), Some(75), "{err}");
    assert!(err.contains("another writer took over"), "{err}");
    assert!(
        !output.join("daily_sessions/_delta_log").exists(),
        "nothing was committed after the lease was lost"
    );
    // The next run (the other writer being silent for an hour) takes over,
    // rolls the first run's marker back and records it.
    let b = halo(&run_args(j, i, o, "2026-10-01"), &[]);
    assert_eq!(
        b.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&b.stderr)
    );
    assert_eq!(
        only_json(&b.stdout)["recovered_runs"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        sql_csv(input, output, "SELECT status FROM runs ORDER BY started_at"),
        "status\nrolled_back\nsuccess\n"
    );
}

/// The same on S3: the lease objects are create-only puts on a real server.
#[test]
fn on_s3_a_second_run_waits_and_a_stale_lease_is_taken_over() {
    let Some((_moto, port)) = crate::stores::start_moto() else {
        return;
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    crate::stores::create_bucket(&endpoint, "leases");
    let env = crate::stores::s3_env(&endpoint);
    let case = Small::new();
    let (j, i) = (case.job.to_str().unwrap(), case.input.to_str().unwrap());
    let o = "s3://leases/out";
    let flag = case.dir.path().join("go");
    let pause = format!("before_commit:{}", flag.display());
    let mut a_env = env.clone();
    a_env.push(("HALO_PAUSE_AT", pause.as_str()));
    let mut a = spawn(&run_args(j, i, o, "2026-10-01"), &a_env);
    wait_for(&mut a, "the first run's lease on S3", || {
        crate::stores::s3_exists(
            &endpoint,
            "leases",
            "out/_halo/lease/0000000001.heartbeat.json",
        )
    });
    let b = halo(&run_args(j, i, o, "2026-10-02"), &env);
    assert_eq!(
        b.status.code(),
        Some(75),
        "{}",
        String::from_utf8_lossy(&b.stderr)
    );
    std::fs::write(&flag, "").unwrap();
    let a = finish(a);
    assert_eq!(
        a.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&a.stderr)
    );

    // A stale foreign lease on top (number 3: the first run's was 1, and
    // released) is taken over by lease 4.
    let (lease, beat) = foreign_lease(3, chrono::Duration::hours(1), None);
    crate::stores::s3_put(
        &endpoint,
        "leases",
        "out/_halo/lease/0000000003.json",
        &lease,
    );
    crate::stores::s3_put(
        &endpoint,
        "leases",
        "out/_halo/lease/0000000003.heartbeat.json",
        &beat,
    );
    let c = halo(&run_args(j, i, o, "2026-10-02"), &env);
    assert_eq!(
        c.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&c.stderr)
    );
    assert!(crate::stores::s3_exists(
        &endpoint,
        "leases",
        "out/_halo/lease/0000000004.released.json"
    ));
    let out = halo(
        &[
            "sql",
            "SELECT count(DISTINCT dt) AS days FROM daily_sessions",
            "--format",
            "csv",
            "--input",
            i,
            "--output",
            o,
        ],
        &env,
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "days\n2\n");

    // A holder killed on this machine is taken over at once (lease 6), and
    // its date is recorded as abandoned.
    let mut killed_env = env.clone();
    killed_env.push(("HALO_FAIL_AT", "before_commit"));
    let killed = halo(&run_args(j, i, o, "2026-10-03"), &killed_env);
    assert_eq!(killed.status.code(), None, "aborted by a signal");
    assert!(!crate::stores::s3_exists(
        &endpoint,
        "leases",
        "out/_halo/lease/0000000005.released.json"
    ));
    let next = halo(&run_args(j, i, o, "2026-10-03"), &env);
    assert_eq!(
        next.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&next.stderr)
    );
    assert_eq!(
        only_json(&next.stdout)["abandoned_runs"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(crate::stores::s3_exists(
        &endpoint,
        "leases",
        "out/_halo/lease/0000000006.released.json"
    ));
    let runs = halo(
        &[
            "sql",
            "SELECT status, count(*) AS n FROM runs GROUP BY status ORDER BY status",
            "--format",
            "csv",
            "--input",
            i,
            "--output",
            o,
        ],
        &env,
    );
    assert_eq!(
        String::from_utf8_lossy(&runs.stdout),
        "status,n\nabandoned,1\nsuccess,3\n"
    );
}
