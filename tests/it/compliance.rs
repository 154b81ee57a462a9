//! Disclosure and link compliance against what the generator planted: the
//! `program` scale's posts in six languages, with labels up front, behind
//! the fold, in trailing hashtags, on a third line or only in a video's
//! description, spoken early or late, labels regulators reject, stylised
//! and zero-width letters, lookalikes (#adventure, #adidas, Adelaide, the
//! Italian "ad"), pasted links and codes (own, another creator's,
//! untracked, retired). The checker's rules were set on seeds 21 and 22;
//! the asserting test runs seeds no version was looked at on (9501, 9502).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use datafusion::prelude::{ParquetReadOptions, SessionContext};
use halo::generate::{GenerateOptions, default_end, generate, scale};
use halo::storage::{Storage, parse_root};

use crate::common::{halo, halo_ok, halo_ok_on, sql_csv};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The nightly job's compliance step alone, with the shipped rules file.
fn job(dir: &Path) -> PathBuf {
    let path = dir.join("compliance.toml");
    let text = format!(
        "name = \"compliance\"\n[params]\nbase_currency = \"USD\"\ntimezone = \"America/New_York\"\n\
         brand_terms = [\"lumora\"]\nlookback_days = 30\n\
         [[steps]]\nname = \"compliance\"\nbuiltin = \"compliance\"\n\
         inputs = [\"{ROOT}/sql/compliance/010_posts.sql\", \"{ROOT}/sql/compliance/020_links.sql\", \
                   \"{ROOT}/sql/compliance/030_codes.sql\", \"{ROOT}/sql/compliance/040_review_decisions.sql\"]\n\
         data = [\"{ROOT}/rules/compliance.toml\"]\n\
         outputs = [\"compliance_flags\", \"post_compliance\"]\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

const CLASSES: [&str; 5] = ["not_required", "clear", "buried", "ambiguous", "missing"];

/// What the checker found, against the planted classes and flags.
#[derive(Debug, Default)]
pub struct Measured {
    seed: u64,
    posts: usize,
    /// (planted, found) → posts.
    confusion: BTreeMap<(String, String), usize>,
    /// Posts with lookalikes whose planted class has no label, found with one.
    lookalike_false: Vec<String>,
    lookalike_posts: usize,
    /// Per rule: (planted, flagged, flagged and planted).
    flags: BTreeMap<String, (usize, usize, usize)>,
    /// Campaign posts showing none of the campaign's products: planted;
    /// flagged, and of them planted; found not shown
    /// (`post_compliance.placement`), and of them planted; raised (flag or
    /// needs_review), and of them planted.
    placement: [usize; 7],
}

impl Measured {
    fn f1(&self, class: &str) -> f64 {
        let tp = *self
            .confusion
            .get(&(class.into(), class.into()))
            .unwrap_or(&0) as f64;
        let planted: usize = self
            .confusion
            .iter()
            .filter(|((p, _), _)| p == class)
            .map(|(_, n)| n)
            .sum();
        let found: usize = self
            .confusion
            .iter()
            .filter(|((_, f), _)| f == class)
            .map(|(_, n)| n)
            .sum();
        if planted + found == 0 {
            return 1.0;
        }
        2.0 * tp / (planted + found) as f64
    }

    fn macro_f1(&self) -> f64 {
        CLASSES.iter().map(|c| self.f1(c)).sum::<f64>() / CLASSES.len() as f64
    }

    fn report(&self) -> String {
        let mut s = format!(
            "seed {}: {} posts, macro-F1 {:.3}; lookalike posts {} (false positives {})\n  planted \\ found: {}\n",
            self.seed,
            self.posts,
            self.macro_f1(),
            self.lookalike_posts,
            self.lookalike_false.len(),
            CLASSES.join(" ")
        );
        for p in CLASSES {
            let row: Vec<String> = CLASSES
                .iter()
                .map(|f| {
                    self.confusion
                        .get(&(p.into(), (*f).into()))
                        .unwrap_or(&0)
                        .to_string()
                })
                .collect();
            s.push_str(&format!(
                "  {p:>12}: {}  (F1 {:.3})\n",
                row.join(" "),
                self.f1(p)
            ));
        }
        for (rule, (planted, flagged, both)) in &self.flags {
            s.push_str(&format!(
                "  {rule}: planted {planted}, flagged {flagged}, both {both}: precision {:.3}, recall {:.3}\n",
                *both as f64 / (*flagged).max(1) as f64,
                *both as f64 / (*planted).max(1) as f64
            ));
        }
        let [
            planted,
            flagged,
            flagged_true,
            not_shown,
            not_shown_true,
            raised,
            raised_true,
        ] = self.placement;
        let pr = |n: usize, t: usize| {
            format!(
                "{n} (precision {:.3}, recall {:.3})",
                t as f64 / n.max(1) as f64,
                t as f64 / planted.max(1) as f64
            )
        };
        s.push_str(&format!(
            "  campaign_product: planted {planted}; flagged {}; not_shown {}; raised {}\n",
            pr(flagged, flagged_true),
            pr(not_shown, not_shown_true),
            pr(raised, raised_true)
        ));
        s
    }
}

async fn truth(input: &Path, sql: &str) -> Vec<Vec<String>> {
    let ctx = SessionContext::new();
    for t in ["_truth/disclosure", "_truth/post_flags"] {
        let name = t.rsplit('/').next().unwrap();
        ctx.register_parquet(
            name,
            input.join(t).to_str().unwrap(),
            ParquetReadOptions::default(),
        )
        .await
        .unwrap();
    }
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let mut w = arrow::csv::Writer::new(Vec::new());
    for b in &batches {
        w.write(b).unwrap();
    }
    rows(&String::from_utf8(w.into_inner()).unwrap())
}

fn rows(csv: &str) -> Vec<Vec<String>> {
    csv.lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

async fn generated(seed: u64, dir: &Path) -> (PathBuf, PathBuf, PathBuf, chrono::NaiveDate) {
    let (input, output) = (dir.join("in"), dir.join("out"));
    let end = default_end();
    let opts = GenerateOptions {
        out: parse_root(input.to_str().unwrap()).unwrap(),
        scale: scale("program").unwrap(),
        seed,
        end,
    };
    generate(&Storage::new(), &opts).await.unwrap();
    (input, output, job(dir), end - chrono::Duration::days(1))
}

fn run(job: &Path, input: &Path, output: &Path, date: chrono::NaiveDate) {
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
}

/// Generates `program` for `seed`, checks every post, and compares.
pub async fn measure(seed: u64, dir: &Path) -> Measured {
    let (input, output, job, last) = generated(seed, dir).await;
    run(&job, &input, &output, last);
    let found: BTreeMap<String, String> = rows(&sql_csv(
        &input,
        &output,
        &format!("SELECT content_id, disclosure_class FROM post_compliance WHERE dt = DATE '{last}' ORDER BY 1"),
    ))
    .into_iter()
    .map(|r| (r[0].clone(), r[1].clone()))
    .collect();
    let planted = truth(
        &input,
        "SELECT content_id, disclosure_class, lookalikes FROM disclosure ORDER BY 1",
    )
    .await;
    let mut m = Measured {
        seed,
        posts: planted.len(),
        ..Default::default()
    };
    for r in &planted {
        let f = found.get(&r[0]).cloned().unwrap_or_else(|| "absent".into());
        *m.confusion.entry((r[1].clone(), f.clone())).or_default() += 1;
        if r[2] == "true" {
            m.lookalike_posts += 1;
            if matches!(r[1].as_str(), "missing" | "not_required") && f != r[1] {
                m.lookalike_false
                    .push(format!("{} planted {} found {f}", r[0], r[1]));
            }
        }
    }
    let flagged: BTreeSet<(String, String)> = rows(&sql_csv(
        &input,
        &output,
        &format!(
            "SELECT DISTINCT content_id, rule_id FROM compliance_flags \
             WHERE dt = DATE '{last}' AND verdict = 'flag' AND rule_id <> 'disclosure' ORDER BY 1, 2"
        ),
    ))
    .into_iter()
    .map(|r| (r[0].clone(), r[1].clone()))
    .collect();
    let planted: BTreeSet<(String, String)> = truth(
        &input,
        "SELECT DISTINCT content_id, rule_id FROM post_flags ORDER BY 1, 2",
    )
    .await
    .into_iter()
    .map(|r| (r[0].clone(), r[1].clone()))
    .collect();
    for rule in [
        "link_owner",
        "link_campaign",
        "untracked_link",
        "code_owner",
        "code_validity",
    ] {
        let p: BTreeSet<_> = planted.iter().filter(|(_, r)| r == rule).collect();
        let f: BTreeSet<_> = flagged.iter().filter(|(_, r)| r == rule).collect();
        m.flags
            .insert(rule.into(), (p.len(), f.len(), p.intersection(&f).count()));
    }
    let raised: BTreeSet<(String, String)> = rows(&sql_csv(
        &input,
        &output,
        &format!(
            "SELECT DISTINCT content_id, verdict FROM compliance_flags \
             WHERE dt = DATE '{last}' AND rule_id = 'campaign_product' \
               AND verdict IN ('flag', 'needs_review') ORDER BY 1, 2"
        ),
    ))
    .into_iter()
    .map(|r| (r[0].clone(), r[1].clone()))
    .collect();
    let planted: BTreeSet<&String> = planted
        .iter()
        .filter(|(_, r)| r == "campaign_product")
        .map(|(c, _)| c)
        .collect();
    let flagged: BTreeSet<&String> = raised
        .iter()
        .filter(|(_, v)| v == "flag")
        .map(|(c, _)| c)
        .collect();
    let raised: BTreeSet<&String> = raised.iter().map(|(c, _)| c).collect();
    let not_shown: Vec<String> = rows(&sql_csv(
        &input,
        &output,
        &format!(
            "SELECT content_id FROM post_compliance \
             WHERE dt = DATE '{last}' AND placement = 'not_shown' ORDER BY 1"
        ),
    ))
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    let not_shown: BTreeSet<&String> = not_shown.iter().collect();
    m.placement = [
        planted.len(),
        flagged.len(),
        flagged.intersection(&planted).count(),
        not_shown.len(),
        not_shown.intersection(&planted).count(),
        raised.len(),
        raised.intersection(&planted).count(),
    ];
    m
}

#[tokio::test(flavor = "multi_thread")]
async fn planted_disclosure_classes_and_flags_are_found_on_unseen_seeds() {
    for seed in [9501, 9502] {
        let dir = tempfile::tempdir().unwrap();
        let m = measure(seed, dir.path()).await;
        println!("{}", m.report());
        assert!(m.posts > 500, "{}", m.report());
        assert!(m.macro_f1() >= 0.9, "{}", m.report());
        assert!(m.lookalike_posts > 100, "{}", m.report());
        assert!(
            m.lookalike_false.is_empty(),
            "{:?}\n{}",
            m.lookalike_false,
            m.report()
        );
        // A post that shows none of its campaign's products reaches a
        // person (flag or needs_review: a recognizer that saw nothing may
        // have missed it), and a flag, raised only when another product was
        // seen clearly, is almost always right.
        let [
            planted,
            flagged,
            flagged_true,
            not_shown,
            not_shown_true,
            _,
            raised_true,
        ] = m.placement;
        assert!(
            planted >= 20,
            "campaign_product: too few planted\n{}",
            m.report()
        );
        assert!(
            flagged >= 10,
            "campaign_product: too few flagged\n{}",
            m.report()
        );
        assert!(
            raised_true as f64 >= 0.95 * planted as f64,
            "{}",
            m.report()
        );
        assert!(
            flagged_true as f64 >= 0.9 * flagged as f64,
            "{}",
            m.report()
        );
        assert!(
            not_shown_true as f64 >= 0.6 * not_shown as f64,
            "{}",
            m.report()
        );
        for (rule, (planted, flagged, both)) in &m.flags {
            if *planted == 0 {
                assert_eq!(
                    *flagged,
                    0,
                    "{rule} flagged though none was planted\n{}",
                    m.report()
                );
                continue;
            }
            assert!(*planted >= 5, "{rule}: too few planted\n{}", m.report());
            assert!(
                *both as f64 >= 0.9 * *planted as f64,
                "{rule} recall\n{}",
                m.report()
            );
            assert!(
                *both as f64 >= 0.9 * *flagged as f64,
                "{rule} precision\n{}",
                m.report()
            );
        }
    }
}

/// The development seeds: `HALO_COMPLIANCE_DEV=1 cargo test --test it
/// development_compliance -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread")]
#[ignore]
async fn development_compliance() {
    for seed in [21, 22] {
        let dir = tempfile::tempdir().unwrap();
        let m = measure(seed, dir.path()).await;
        println!("{}", m.report());
        for l in m.lookalike_false.iter().take(10) {
            println!("  lookalike: {l}");
        }
        if std::env::var("HALO_COMPLIANCE_KEEP").is_ok() {
            let keep = dir.keep();
            println!("kept {}", keep.display());
        }
    }
}

/// A reviewer resolves a flag; the verdict survives a re-run of the date,
/// a second verdict is refused (exit 77), a pass cannot be resolved (exit 2),
/// and an edited ledger stops the next run (exit 65).
#[tokio::test(flavor = "multi_thread")]
async fn a_resolved_flag_keeps_its_verdict_on_reruns() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output, job, last) = generated(23, dir.path()).await;
    run(&job, &input, &output, last);
    let open = rows(&halo_ok(&[
        "review",
        "list",
        "--format",
        "csv",
        "--output",
        output.to_str().unwrap(),
    ]));
    assert!(open.len() > 20, "open flags: {}", open.len());
    let id = open[0][0].clone();
    let resolved = halo_ok(&[
        "review",
        "resolve",
        &id,
        "--by",
        "ana",
        "--verdict",
        "violation",
        "--note",
        "no label",
        "--output",
        output.to_str().unwrap(),
    ]);
    assert!(resolved.contains("\"verdict\":\"violation\""), "{resolved}");
    let again = halo(
        &[
            "review",
            "resolve",
            &id,
            "--by",
            "bo",
            "--verdict",
            "ok",
            "--output",
            output.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(
        again.status.code(),
        Some(77),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let pass = rows(&sql_csv(
        &input,
        &output,
        &format!(
            "SELECT flag_id FROM compliance_flags WHERE dt = DATE '{last}' AND verdict = 'pass' ORDER BY 1 LIMIT 1"
        ),
    ));
    let on_pass = halo(
        &[
            "review",
            "resolve",
            &pass[0][0],
            "--by",
            "ana",
            "--verdict",
            "ok",
            "--output",
            output.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(
        on_pass.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&on_pass.stderr)
    );
    // The verdict reaches the table on the next run of the same date, and
    // the post's open flags drop by one.
    let open_before: i64 = sql_csv(
        &input,
        &output,
        &format!("SELECT sum(open_flags) FROM post_compliance WHERE dt = DATE '{last}'"),
    )
    .lines()
    .nth(1)
    .unwrap()
    .parse()
    .unwrap();
    halo_ok(&[
        "run",
        job.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--date",
        &last.to_string(),
    ]);
    let after = sql_csv(
        &input,
        &output,
        &format!(
            "SELECT decision, decided_by FROM compliance_flags WHERE dt = DATE '{last}' AND flag_id = '{id}'"
        ),
    );
    assert_eq!(after.lines().nth(1), Some("violation,ana"), "{after}");
    let open_after: i64 = sql_csv(
        &input,
        &output,
        &format!("SELECT sum(open_flags) FROM post_compliance WHERE dt = DATE '{last}'"),
    )
    .lines()
    .nth(1)
    .unwrap()
    .parse()
    .unwrap();
    assert_eq!(open_after, open_before - 1);
    let listed = halo_ok_on(
        &input,
        &output,
        &["review", "list", "--status", "resolved", "--format", "csv"],
    );
    assert!(listed.contains(&id), "{listed}");
    // Editing the ledger is caught.
    let ledger = std::fs::read_dir(output.join("_ledger/review"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "json") && !p.ends_with("_head.json"))
        .expect("a ledger entry file");
    let text = std::fs::read_to_string(&ledger)
        .unwrap()
        .replace("violation", "ok");
    std::fs::write(&ledger, text).unwrap();
    let edited = halo(
        &[
            "run",
            job.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
            "--date",
            &last.to_string(),
        ],
        &[],
    );
    assert_eq!(
        edited.status.code(),
        Some(65),
        "{}",
        String::from_utf8_lossy(&edited.stderr)
    );
}
