//! The outbox: follow-ups against the generator's planted deliverable
//! states, and delivery end to end through a real SMTP server on loopback
//! (aiosmtpd, `tests/fixtures/outbox/smtp_server.py`): STARTTLS with a
//! certificate the test made and trusts through `HALO_SMTP_CA_FILE`, AUTH,
//! the approval gate, no second copy on a second send or after a crash, a
//! refusing server.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::America::New_York;
use datafusion::prelude::{ParquetReadOptions, SessionContext};

use crate::common::{halo, halo_ok, json_lines, nightly};

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-data");

/// Rows of a query over Parquet folders of `input`, as (name, folder).
async fn parquet_rows(input: &Path, tables: &[(&str, &str)], sql: &str) -> Vec<serde_json::Value> {
    let ctx = SessionContext::new();
    for &(name, t) in tables {
        ctx.register_parquet(
            name,
            input.join(t).to_str().unwrap(),
            ParquetReadOptions::default(),
        )
        .await
        .unwrap();
    }
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let mut w = arrow::json::ArrayWriter::new(Vec::new());
    for b in &batches {
        w.write(b).unwrap();
    }
    w.finish().unwrap();
    let text = String::from_utf8(w.into_inner()).unwrap();
    if text.trim().is_empty() {
        return Vec::new();
    }
    serde_json::from_str(&text).unwrap()
}

fn outbox_rows(input: &Path, output: &Path, sql: &str) -> Vec<serde_json::Value> {
    let out = halo_ok(&[
        "sql",
        sql,
        "--format",
        "json",
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ]);
    json_lines(out.as_bytes())
}

fn run(input: &Path, output: &Path, date: NaiveDate) {
    crate::common::run_nightly(input, output, &["--date", &date.to_string()]);
}

fn instant(v: &serde_json::Value) -> Option<DateTime<Utc>> {
    let s = v.as_str()?;
    chrono::NaiveDateTime::parse_from_str(s.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

fn local(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&New_York).date_naive()
}

/// Every late and missed deliverable due by the run date gets an overdue
/// notice, and no on-time or open one does; every reminder is the one the
/// rule (three local days before, not yet submitted) calls for, recomputed
/// here from the raw rows with chrono-tz rather than SQL.
#[test]
fn follow_ups_match_the_planted_deliverable_states() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = Path::new(SAMPLE);
    let output = dir.path().join("out");
    let date = NaiveDate::from_ymd_opt(2026, 10, 31).unwrap();
    run(input, &output, date);
    let rows = rt.block_on(parquet_rows(
        input,
        &[("d", "deliverables"), ("t", "_truth/deliverables")],
        "SELECT d.deliverable_id, d.due_at, d.submitted_at, t.state
         FROM d JOIN t ON t.deliverable_id = d.deliverable_id ORDER BY 1",
    ));
    assert!(
        rows.len() > 50,
        "the sample plants {} deliverables",
        rows.len()
    );
    let got = outbox_rows(
        input,
        &output,
        &format!(
            "SELECT kind, subject_key, built_for, status, needs_approval, locale, recipient, body_text
             FROM outbox WHERE dt = DATE '{date}' AND kind IN ('reminder', 'overdue')"
        ),
    );
    let of = |kind: &str| -> BTreeMap<String, serde_json::Value> {
        got.iter()
            .filter(|r| r["kind"] == kind)
            .map(|r| (r["subject_key"].as_str().unwrap().to_string(), r.clone()))
            .collect()
    };
    let (overdue, reminders) = (of("overdue"), of("reminder"));
    let mut states: BTreeMap<&str, usize> = BTreeMap::new();
    let mut expected_reminders = BTreeSet::new();
    for r in &rows {
        let id = r["deliverable_id"].as_str().unwrap();
        let state = r["state"].as_str().unwrap();
        let due = instant(&r["due_at"]).unwrap();
        let submitted = instant(&r["submitted_at"]);
        *states.entry(state).or_default() += 1;
        if local(due) <= date {
            match state {
                "late" | "missed" => {
                    let m = overdue.get(id).unwrap_or_else(|| {
                        panic!("{state} deliverable {id} has no overdue notice")
                    });
                    assert_eq!(m["built_for"].as_str().unwrap(), local(due).to_string());
                    let loc =
                        halo::outbox::locale::Locale::parse(m["locale"].as_str().unwrap()).unwrap();
                    assert!(
                        m["body_text"]
                            .as_str()
                            .unwrap()
                            .contains(&loc.datetime(due, New_York)),
                        "the notice states the due time: {m}"
                    );
                }
                "on_time" => assert!(
                    !overdue.contains_key(id),
                    "on-time deliverable {id} got an overdue notice"
                ),
                other => panic!("deliverable {id} due by {date} is planted {other}"),
            }
        } else {
            assert!(
                !overdue.contains_key(id),
                "{id} is not due yet and got an overdue notice"
            );
        }
        let remind = local(due - chrono::Duration::days(3));
        if remind <= date && local(due) > remind && submitted.is_none_or(|s| local(s) > remind) {
            expected_reminders.insert(id.to_string());
        }
    }
    assert_eq!(
        reminders.keys().cloned().collect::<BTreeSet<_>>(),
        expected_reminders
    );
    for s in ["on_time", "late", "missed", "open"] {
        assert!(
            states.get(s).copied().unwrap_or(0) > 0,
            "the sample plants {s}: {states:?}"
        );
    }
    // The nightly job sends reminders and overdue notices without approval;
    // those built more than two days before the run date are stale.
    for m in overdue.values().chain(reminders.values()) {
        assert_eq!(m["needs_approval"], false);
        let built =
            NaiveDate::parse_from_str(m["built_for"].as_str().unwrap(), "%Y-%m-%d").unwrap();
        let want = if m["recipient"].is_null() || built + chrono::Duration::days(2) < date {
            "suppressed"
        } else {
            "approved"
        };
        assert_eq!(m["status"], want, "{m}");
    }
    eprintln!(
        "planted {states:?}; overdue notices {}, reminders {}",
        overdue.len(),
        reminders.len()
    );
}

/// A loopback SMTP server, killed when dropped.
struct Smtp {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Smtp {
    fn start(dir: &Path, extra: &[&str]) -> Smtp {
        std::fs::create_dir_all(dir).unwrap();
        let mut child = Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/outbox/smtp_server.py"
            ))
            .args(["--dir", dir.to_str().unwrap()])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs (aiosmtpd: .ci/run installs it)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .strip_prefix("READY ")
            .unwrap_or_else(|| {
                panic!("the SMTP server did not start (is aiosmtpd installed?): {line:?}")
            })
            .trim()
            .parse()
            .unwrap();
        Smtp {
            child,
            port,
            dir: dir.to_path_buf(),
        }
    }

    /// What the server accepted, in order: (envelope, raw message).
    fn received(&self) -> Vec<(serde_json::Value, String)> {
        let Ok(log) = std::fs::read_to_string(self.dir.join("log.jsonl")) else {
            return Vec::new();
        };
        log.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                let raw =
                    std::fs::read_to_string(self.dir.join(v["file"].as_str().unwrap())).unwrap();
                (v, raw)
            })
            .collect()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A CA and a certificate for 127.0.0.1 signed by it (openssl).
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let sh = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::fs::write(
        dir.join("leaf.ext"),
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    sh(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=halo test CA",
    ]);
    sh(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    sh(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("leaf.pem"),
        dir.join("leaf.key"),
    )
}

fn send(
    output: &Path,
    env: &[(&str, &str)],
    extra: &[&str],
) -> (Option<i32>, Vec<serde_json::Value>, String) {
    let mut args = vec!["outbox", "send", "--output", output.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = halo(&args, env);
    (
        out.status.code(),
        if out.status.code() == Some(134) || out.status.code().is_none() {
            Vec::new()
        } else {
            json_lines(&out.stdout)
        },
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn header<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    raw.lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
}

/// The SMTP path end to end: only approved messages go, once; a second
/// send and a re-run send nothing more; a refusing server leaves the
/// message queued (exit 75) or failed (exit 65); a crash after the server
/// accepted does not make a second copy.
#[test]
fn approved_messages_are_delivered_once_over_starttls_with_auth() {
    let dir = tempfile::tempdir().unwrap();
    let input = Path::new(SAMPLE);
    let output = dir.path().join("out");
    let date = NaiveDate::from_ymd_opt(2026, 10, 20).unwrap();
    run(input, &output, date);
    // The morning after the run date's nightly run (UTC): messages built for
    // 10-18 on are not stale yet.
    let now = "2026-10-20T23:00:00Z";
    let all = outbox_rows(
        input,
        &output,
        &format!(
            "SELECT message_id, kind, status, needs_approval, recipient, subject, send_by
             FROM outbox WHERE dt = DATE '{date}' ORDER BY built_for, message_id"
        ),
    );
    let auto: Vec<&serde_json::Value> = all
        .iter()
        .filter(|r| r["status"] == "approved" && r["send_by"].as_str().unwrap() >= "2026-10-20")
        .collect();
    let waiting: Vec<&serde_json::Value> = all
        .iter()
        .filter(|r| {
            r["status"] == "needs_approval" && r["send_by"].as_str().unwrap() >= "2026-10-20"
        })
        .collect();
    assert!(
        !auto.is_empty() && waiting.len() >= 5,
        "the sample's 2026-10-20 has fresh automatic and waiting messages: {} / {}",
        auto.len(),
        waiting.len()
    );

    let (ca, cert, key) = certificates(dir.path());
    let server = Smtp::start(
        &dir.path().join("mailbox"),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
            "--auth",
            "halo:s3cret",
        ],
    );
    let url = format!("smtp://halo:s3cret@127.0.0.1:{}?tls=required", server.port);
    let env = [
        ("HALO_SMTP_URL", url.as_str()),
        ("HALO_SMTP_CA_FILE", ca.to_str().unwrap()),
        (
            "HALO_MAIL_FROM",
            "Lumora creators <creators@lumora.example>",
        ),
        ("HALO_NOW", now),
    ];
    let approve = |id: &str| {
        let out = halo(
            &[
                "outbox",
                "approve",
                id,
                "--by",
                "ana",
                "--output",
                output.to_str().unwrap(),
            ],
            &[("HALO_NOW", now)],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let approved_id = waiting[0]["message_id"].as_str().unwrap();
    approve(approved_id);
    // Deciding twice is refused; a rejection needs a note.
    let again = halo(
        &[
            "outbox",
            "approve",
            approved_id,
            "--by",
            "bo",
            "--output",
            output.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(again.status.code(), Some(77));
    let no_note = halo(
        &[
            "outbox",
            "reject",
            waiting[1]["message_id"].as_str().unwrap(),
            "--by",
            "bo",
            "--output",
            output.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(no_note.status.code(), Some(2));

    // A dry run sends and records nothing.
    let (code, dry, err) = send(&output, &env, &["--dry-run"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(dry.len(), auto.len() + 1);
    assert!(server.received().is_empty());

    let (code, first, err) = send(&output, &env, &[]);
    assert_eq!(code, Some(0), "{err}");
    let sent: BTreeSet<String> = first
        .iter()
        .filter(|o| o["result"] == "sent")
        .map(|o| o["message_id"].as_str().unwrap().to_string())
        .collect();
    let mut want: BTreeSet<String> = auto
        .iter()
        .map(|r| r["message_id"].as_str().unwrap().to_string())
        .collect();
    want.insert(approved_id.to_string());
    assert_eq!(sent, want, "exactly the approved messages go");
    let got = server.received();
    assert_eq!(got.len(), want.len());
    for (envelope, raw) in &got {
        assert_eq!(envelope["tls"], true, "delivered over STARTTLS");
        assert_eq!(envelope["authenticated"], true, "after AUTH");
        let mid = header(raw, "Message-ID").unwrap();
        let id = mid.trim_start_matches('<').split('@').next().unwrap();
        assert!(want.contains(id), "{mid}");
        assert_eq!(mid, format!("<{id}@lumora.example>"));
        let row = all.iter().find(|r| r["message_id"] == id).unwrap();
        assert_eq!(
            envelope["rcpt_tos"][0].as_str().unwrap(),
            row["recipient"]
                .as_str()
                .unwrap()
                .rsplit('<')
                .next()
                .unwrap()
                .trim_end_matches('>')
        );
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("text/plain") && raw.contains("text/html"));
        assert!(header(raw, "Subject").is_some());
    }
    for w in &waiting[1..] {
        assert!(
            !got.iter()
                .any(|(_, raw)| raw.contains(w["message_id"].as_str().unwrap())),
            "an unapproved message was sent"
        );
    }

    // A second send sends nothing; a re-run of the date keeps the ids and
    // shows them sent.
    let (code, second, err) = send(&output, &env, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(second.iter().all(|o| o["result"] != "sent"), "{second:?}");
    run(input, &output, date);
    let after = outbox_rows(
        input,
        &output,
        &format!(
            "SELECT message_id, status, sent_at, provider_message_id, attempts FROM outbox WHERE dt = DATE '{date}'"
        ),
    );
    assert_eq!(after.len(), all.len());
    for r in &after {
        let id = r["message_id"].as_str().unwrap();
        if want.contains(id) {
            assert_eq!(r["status"], "sent");
            assert_eq!(r["attempts"], 1);
            assert!(
                r["provider_message_id"]
                    .as_str()
                    .unwrap()
                    .contains("queued as")
            );
        }
    }
    let (_, third, _) = send(&output, &env, &[]);
    assert!(third.iter().all(|o| o["result"] != "sent"));
    assert_eq!(server.received().len(), want.len(), "never a second copy");

    // A server that defers: the message stays approved, exit 75; one that
    // refuses for good: failed, exit 65.
    let deferring = Smtp::start(&dir.path().join("deferring"), &["--refuse", "451"]);
    let deferring_url = format!("smtp://127.0.0.1:{}", deferring.port);
    // A send to `url` without TLS, the sender's address only.
    let send_plain = |url: &str| {
        send(
            &output,
            &[
                ("HALO_SMTP_URL", url),
                ("HALO_MAIL_FROM", "creators@lumora.example"),
                ("HALO_NOW", now),
            ],
            &[],
        )
    };
    let id2 = waiting[2]["message_id"].as_str().unwrap();
    approve(id2);
    let (code, out, _) = send_plain(&deferring_url);
    assert_eq!(code, Some(75));
    assert_eq!(out[0]["result"], "deferred");
    let listed = halo_ok(&["outbox", "show", id2, "--output", output.to_str().unwrap()]);
    let shown = &json_lines(listed.as_bytes())[0];
    assert_eq!(shown["status"], "approved");
    assert_eq!(shown["attempts"], 1);
    assert!(shown["last_error"].as_str().unwrap().contains("451"));
    drop(deferring);
    let refusing = Smtp::start(&dir.path().join("refusing"), &["--refuse", "550"]);
    let (code, out, _) = send_plain(&format!("smtp://127.0.0.1:{}", refusing.port));
    assert_eq!(code, Some(65));
    assert_eq!(out[0]["result"], "failed");
    let shown = &json_lines(
        halo_ok(&["outbox", "show", id2, "--output", output.to_str().unwrap()]).as_bytes(),
    )[0];
    assert_eq!(shown["status"], "failed");
    drop(refusing);

    // A crash after the server accepted, before the outcome is recorded:
    // the next send does not send it again.
    let id3 = waiting[3]["message_id"].as_str().unwrap();
    approve(id3);
    let mut crash = env.to_vec();
    crash.push(("HALO_FAIL_AT", "outbox_after_send"));
    let (code, _, _) = send(&output, &crash, &[]);
    assert_ne!(code, Some(0), "the send was killed");
    let copies = |id: &str| {
        server
            .received()
            .iter()
            .filter(|(_, raw)| header(raw, "Message-ID").is_some_and(|m| m.contains(id)))
            .count()
    };
    assert_eq!(copies(id3), 1, "the server accepted it before the crash");
    let (code, out, err) = send(&output, &env, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.iter().all(|o| o["message_id"] != id3), "{out:?}");
    assert_eq!(copies(id3), 1, "no second copy after the crash");
    let shown = &json_lines(
        halo_ok(&["outbox", "show", id3, "--output", output.to_str().unwrap()]).as_bytes(),
    )[0];
    assert_eq!(shown["status"], "sent");

    // The file transport writes one .eml per message, named by its id.
    let id4 = waiting[4]["message_id"].as_str().unwrap();
    approve(id4);
    let eml = dir.path().join("eml");
    let (code, out, err) = send_plain(&format!("file://{}", eml.display()));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.len(), 1);
    assert_eq!(out[0]["message_id"], id4);
    let raw = std::fs::read_to_string(eml.join(format!("{id4}.eml"))).unwrap();
    assert_eq!(
        header(&raw, "Message-ID").unwrap(),
        format!("<{id4}@lumora.example>")
    );
}

/// `docs/communications.md` shows one message of each kind exactly as the
/// nightly job renders it from the sample data (`HALO_BLESS=1` rewrites the
/// examples after a deliberate change). A leak is confirmed first, so the
/// leaked-code notice has a subject.
#[test]
fn the_docs_show_one_message_of_each_kind_as_rendered_from_the_sample() {
    let dir = tempfile::tempdir().unwrap();
    let input = Path::new(SAMPLE);
    let output = dir.path().join("out");
    let date = NaiveDate::from_ymd_opt(2026, 10, 20).unwrap();
    run(input, &output, date);
    // A code the generator planted as leaked (one day of history does not
    // show it yet; a person who knows confirms it).
    let rt = tokio::runtime::Runtime::new().unwrap();
    let leaks = rt.block_on(parquet_rows(
        input,
        &[("l", "_truth/leaked_codes")],
        "SELECT code FROM l ORDER BY code LIMIT 1",
    ));
    if let Some(code) = leaks.first() {
        halo_ok(&[
            "codes",
            "confirm-leak",
            code["code"].as_str().unwrap(),
            "--by",
            "ana",
            "--output",
            output.to_str().unwrap(),
        ]);
        run(input, &output, date);
    }
    let rows = outbox_rows(
        input,
        &output,
        &format!(
            "SELECT kind, locale, subject, body_text FROM (
               SELECT *, row_number() OVER (PARTITION BY kind ORDER BY locale <> 'en', built_for DESC, message_id) AS r
               FROM outbox WHERE dt = DATE '{date}') WHERE r = 1
             ORDER BY CASE kind WHEN 'reminder' THEN 0 WHEN 'overdue' THEN 1 WHEN 'checkin' THEN 2
                                WHEN 'compliance' THEN 3 ELSE 4 END"
        ),
    );
    // And one in another locale.
    let other = outbox_rows(
        input,
        &output,
        &format!(
            "SELECT kind, locale, subject, body_text FROM outbox
             WHERE dt = DATE '{date}' AND locale <> 'en' AND kind = 'overdue'
             ORDER BY built_for DESC, message_id LIMIT 1"
        ),
    );
    let kinds: Vec<&str> = rows.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "reminder",
            "overdue",
            "checkin",
            "compliance",
            "leaked_code"
        ],
        "the sample's 2026-10-20 has every kind"
    );
    assert_eq!(other.len(), 1, "the sample has German creators");
    let mut block = String::new();
    for r in rows.iter().chain(&other) {
        block.push_str(&format!(
            "**{}** ({}):\n\n```text\nSubject: {}\n\n{}\n```\n\n",
            r["kind"].as_str().unwrap(),
            r["locale"].as_str().unwrap(),
            r["subject"].as_str().unwrap(),
            r["body_text"].as_str().unwrap().trim()
        ));
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/communications.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (begin, end) = ("<!-- examples:begin -->\n", "<!-- examples:end -->");
    let a = doc.find(begin).unwrap() + begin.len();
    let b = doc.find(end).unwrap();
    if std::env::var("HALO_BLESS").is_ok() {
        std::fs::write(&path, format!("{}{}{}", &doc[..a], block, &doc[b..])).unwrap();
    } else {
        assert_eq!(
            &doc[a..b],
            block,
            "docs/communications.md's examples differ from what the sample renders (HALO_BLESS=1 to rewrite)"
        );
    }
}

/// An approval freezes the message: a re-run whose facts or templates would
/// write it differently shows, and would send, what the person approved;
/// the messages nobody decided follow the new text.
#[test]
fn an_approved_message_keeps_the_content_that_was_approved() {
    let dir = tempfile::tempdir().unwrap();
    let input = Path::new(SAMPLE);
    let output = dir.path().join("out");
    let date = NaiveDate::from_ymd_opt(2026, 10, 20).unwrap();
    run(input, &output, date);
    let q = format!(
        "SELECT message_id, status, body_text, content_sha256 FROM outbox
         WHERE dt = DATE '{date}' AND status = 'needs_approval' ORDER BY message_id LIMIT 2"
    );
    let before = outbox_rows(input, &output, &q);
    assert_eq!(before.len(), 2);
    let (kept, other) = (&before[0], &before[1]);
    let id = kept["message_id"].as_str().unwrap();
    halo_ok(&[
        "outbox",
        "approve",
        id,
        "--by",
        "ana",
        "--output",
        output.to_str().unwrap(),
    ]);

    // The same job signed by someone else.
    let root = dir.path().join("proj");
    std::fs::create_dir_all(root.join("jobs")).unwrap();
    for d in ["sql", "rules", "templates"] {
        std::os::unix::fs::symlink(Path::new(env!("CARGO_MANIFEST_DIR")).join(d), root.join(d))
            .unwrap();
    }
    let text = std::fs::read_to_string(nightly()).unwrap();
    let anchor = "outbox_auto_kinds = [\"reminder\", \"overdue\"]";
    assert!(text.contains(anchor));
    let job = root.join("jobs/nightly.toml");
    std::fs::write(
        &job,
        text.replace(
            anchor,
            &format!("{anchor}\noutbox_sender = \"Ana from Lumora\""),
        ),
    )
    .unwrap();
    halo_ok(&[
        "run",
        job.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--date",
        &date.to_string(),
    ]);
    let after: BTreeMap<String, serde_json::Value> = outbox_rows(
        input,
        &output,
        &format!(
            "SELECT message_id, status, decided_by, body_text, content_sha256 FROM outbox
             WHERE dt = DATE '{date}' AND message_id IN ('{id}', '{}')",
            other["message_id"].as_str().unwrap()
        ),
    )
    .into_iter()
    .map(|r| (r["message_id"].as_str().unwrap().to_string(), r))
    .collect();
    let k = &after[id];
    assert_eq!(k["status"], "approved");
    assert_eq!(k["decided_by"], "ana");
    assert_eq!(k["body_text"], kept["body_text"]);
    assert_eq!(k["content_sha256"], kept["content_sha256"]);
    assert!(
        k["body_text"]
            .as_str()
            .unwrap()
            .contains("The Lumora creator team")
    );
    let o = &after[other["message_id"].as_str().unwrap()];
    assert_eq!(o["status"], "needs_approval");
    assert!(
        o["body_text"].as_str().unwrap().contains("Ana from Lumora"),
        "{o}"
    );
    assert_ne!(o["content_sha256"], other["content_sha256"]);
}
