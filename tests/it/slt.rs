//! The SQL of `sql/` pinned where it lives: every `tests/slt/**/*.slt` file
//! runs through DataFusion's own sqllogictest driver (`datafusion-sqllogictest`
//! 55) on a halo session, against small hand-made tables.
//!
//! An `.slt` file is standard sqllogictest (`statement ok`, `query`, `----`,
//! `statement error`) plus lines that start with `halo`, which set up what
//! halo would set up before a step runs:
//!
//! - `halo job <file>`: take the parameters of a job (default `jobs/nightly.toml`);
//! - `halo date <YYYY-MM-DD>`: the run date (default 2026-10-01);
//! - `halo param <key> = <TOML value>`: set a `[params]` or `[params.extra]` entry;
//! - `halo input <table> ...`: empty input tables with the contract's clean
//!   schema, to `INSERT INTO` (every input table starts out empty, as an
//!   absent one is in a run; this empties it again);
//! - `halo result <table> ...`: empty result tables of their declared schema,
//!   as `<table>` and `<table>_history`;
//! - `halo decisions`: `payout_decisions`, `payout_decided_lines`,
//!   `code_decisions`, `review_decisions`, `outbox_decisions` and
//!   `outbox_deliveries` with no decision in them;
//! - `halo views`: every view of the job, in order;
//! - `halo view <name> <sql file>`: the real file from `sql/`, rendered by
//!   halo's own `${...}` renderer for the run date, registered as view `<name>`.
//!
//! A file in `sql/` that no `.slt` renders with `halo view` fails the suite.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use datafusion_sqllogictest::DataFusion;
use halo::params::Params;
use halo::runner::job::Job;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

struct Setup {
    ctx: SessionContext,
    job: Job,
    params: Params,
    date: NaiveDate,
    rendered: BTreeSet<String>,
}

impl Setup {
    fn new() -> Setup {
        let job = Job::load(&Path::new(ROOT).join("jobs/nightly.toml")).unwrap();
        let setup = Setup {
            ctx: halo::session::session(halo::session::SessionOptions::default()).unwrap(),
            params: job.params.clone(),
            job,
            date: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
            rendered: BTreeSet::new(),
        };
        // As in a run, every input table exists; one nobody fills is empty.
        for t in halo::catalog::TABLES.iter() {
            setup.input(t.name).unwrap();
        }
        setup
    }

    fn input(&self, t: &str) -> Result<(), String> {
        let spec = halo::catalog::contract::table(t).ok_or(format!("no input table {t}"))?;
        let fields: Vec<_> = spec
            .arrow_fields()
            .into_iter()
            .map(|f| f.with_nullable(true))
            .collect();
        self.empty(t, Arc::new(arrow::datatypes::Schema::new(fields)))
    }

    fn empty(&self, name: &str, schema: arrow::datatypes::SchemaRef) -> Result<(), String> {
        self.ctx.deregister_table(name).map_err(|e| e.to_string())?;
        self.ctx
            .register_table(
                name,
                Arc::new(MemTable::try_new(schema, vec![vec![]]).map_err(|e| e.to_string())?),
            )
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    async fn view(&mut self, name: &str, file: &str) -> Result<(), String> {
        let text = std::fs::read_to_string(Path::new(ROOT).join(file))
            .map_err(|e| format!("{file}: {e}"))?;
        let sql = halo::runner::render::render(&text, file, &self.params, self.date, "slt")
            .map_err(|e| e.to_string())?;
        let df = self
            .ctx
            .sql(&sql)
            .await
            .map_err(|e| format!("{file}: {e}"))?;
        self.ctx.deregister_table(name).map_err(|e| e.to_string())?;
        self.ctx
            .register_table(name, df.into_view())
            .map_err(|e| e.to_string())?;
        self.rendered.insert(file.to_string());
        Ok(())
    }

    async fn directive(&mut self, line: &str) -> Result<(), String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["halo", "job", file] => {
                self.job = Job::load(&Path::new(ROOT).join(file)).map_err(|e| e.to_string())?;
                self.params = self.job.params.clone();
            }
            ["halo", "date", d] => {
                self.date = NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|e| e.to_string())?;
            }
            ["halo", "param", ..] => {
                let rest = line
                    .trim_start_matches("halo")
                    .trim_start()
                    .trim_start_matches("param")
                    .trim();
                let (key, value) = rest.split_once('=').ok_or("halo param <key> = <value>")?;
                let key = key.trim();
                let value: toml::Value =
                    toml::from_str::<toml::Table>(&format!("v = {}", value.trim()))
                        .map_err(|e| e.to_string())?["v"]
                        .clone();
                match key {
                    "timezone" => self.params.timezone = value.as_str().ok_or("a string")?.into(),
                    "base_currency" => {
                        self.params.base_currency = value.as_str().ok_or("a string")?.into()
                    }
                    "lookback_days" => {
                        self.params.lookback_days = value.as_integer().ok_or("an integer")? as u32
                    }
                    "brand_terms" => {
                        self.params.brand_terms = value
                            .as_array()
                            .ok_or("a list")?
                            .iter()
                            .map(|v| v.as_str().unwrap_or_default().to_string())
                            .collect()
                    }
                    _ => {
                        self.params.extra.insert(key.to_string(), value);
                    }
                }
            }
            ["halo", "input", tables @ ..] => {
                for t in tables {
                    self.input(t)?;
                }
            }
            ["halo", "result", tables @ ..] => {
                for t in tables {
                    let decl =
                        halo::tables::contract::table(t).ok_or(format!("no result table {t}"))?;
                    let schema = decl.schema().map_err(|e| e.to_string())?;
                    let nullable: Vec<_> = schema
                        .fields()
                        .iter()
                        .map(|f| f.as_ref().clone().with_nullable(true))
                        .collect();
                    let schema = Arc::new(arrow::datatypes::Schema::new(nullable));
                    self.empty(t, schema.clone())?;
                    self.empty(&format!("{t}_history"), schema)?;
                }
            }
            ["halo", "decisions"] => {
                let empty = halo::ledger::Ledger::empty(halo::payouts::approval::KIND);
                let (p, l) = halo::payouts::snapshot::decided_tables(&empty, self.date)
                    .map_err(|e| e.to_string())?;
                self.empty("payout_decisions", p.schema())?;
                self.empty("payout_decided_lines", l.schema())?;
                self.empty("code_decisions", halo::health::decisions::schema())?;
                self.empty("review_decisions", halo::compliance::review::schema())?;
                self.empty(
                    "outbox_decisions",
                    halo::outbox::decisions::decisions_schema(),
                )?;
                self.empty(
                    "outbox_deliveries",
                    halo::outbox::decisions::deliveries_schema(),
                )?;
            }
            ["halo", "views"] => {
                for v in self.job.views.clone() {
                    let file = v.sql.to_string_lossy().to_string();
                    let rendered_before = self.rendered.contains(&file);
                    self.view(&v.name, &file).await?;
                    if !rendered_before {
                        // Registering every view is setup, not a test of each.
                        self.rendered.remove(&file);
                    }
                }
            }
            ["halo", "view", name, file] => self.view(name, file).await?,
            _ => return Err(format!("unknown halo directive: {line}")),
        }
        Ok(())
    }
}

/// Runs one `.slt` file; returns the files of `sql/` it rendered.
async fn run_file(path: &Path) -> Result<BTreeSet<String>, String> {
    let text = std::fs::read_to_string(path).unwrap();
    let rel = path.strip_prefix(ROOT).unwrap().to_path_buf();
    let mut setup = Setup::new();
    let mut segment = String::new();
    let mut segment_start = 0usize;
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i <= lines.len() {
        let line = lines.get(i).copied();
        let is_directive = line.is_some_and(|l| l.starts_with("halo "));
        if is_directive || line.is_none() {
            if !segment.trim().is_empty() {
                // Blank lines in front keep the runner's line numbers the file's.
                let script = format!("{}{}", "\n".repeat(segment_start), segment);
                let ctx = setup.ctx.clone();
                let name = rel.clone();
                let mut runner = sqllogictest::Runner::new(move || {
                    let ctx = ctx.clone();
                    let rel = name.clone();
                    async move { Ok(DataFusion::new(ctx, rel, indicatif::ProgressBar::hidden())) }
                });
                runner.with_column_validator(sqllogictest::strict_column_validator);
                runner.with_normalizer(datafusion_sqllogictest::value_normalizer);
                runner.with_validator(datafusion_sqllogictest::df_value_validator);
                runner
                    .run_script_async(&script)
                    .await
                    .map_err(|e| format!("{}: {}", rel.display(), e.display(false)))?;
            }
            segment.clear();
            segment_start = i + 1;
            if let Some(l) = line {
                setup
                    .directive(l.trim())
                    .await
                    .map_err(|e| format!("{}:{}: {e}", rel.display(), i + 1))?;
            }
        } else if let Some(l) = line {
            segment.push_str(l);
            segment.push('\n');
        }
        i += 1;
    }
    Ok(setup.rendered)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sql_file_holds_its_sqllogictest_cases() {
    let mut slts = Vec::new();
    files(&Path::new(ROOT).join("tests/slt"), "slt", &mut slts);
    slts.sort();
    let mut covered = BTreeSet::new();
    let mut failures = Vec::new();
    for f in &slts {
        match run_file(f).await {
            Ok(rendered) => covered.extend(rendered),
            Err(e) => failures.push(e),
        }
    }
    let mut sql = Vec::new();
    files(&Path::new(ROOT).join("sql"), "sql", &mut sql);
    sql.sort();
    let missing: Vec<String> = sql
        .iter()
        .map(|p| p.strip_prefix(ROOT).unwrap().to_string_lossy().to_string())
        .filter(|p| !covered.contains(p))
        .collect();
    assert!(
        failures.is_empty(),
        "{} .slt file(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(
        missing.is_empty(),
        "SQL files no .slt renders with `halo view`: {}",
        missing.join(", ")
    );
}
