//! Job specs: a TOML file in `jobs/` naming the job's parameters and its
//! steps. A step is a SQL file from `sql/` or a built-in transform; either way
//! it names the tables it requires and the result table it writes.
//!
//! Paths inside a job are relative to the project root: the folder that holds
//! the job's `jobs/` folder (or the job file's own folder when it is not in one).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::sqltext::{date_literal, quote_str, timestamp_literal};

/// A parsed job.
#[derive(Debug, Clone)]
pub struct Job {
    /// The job's name (recorded in `runs`).
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Parameters, available to SQL as `${name}`.
    pub params: Params,
    /// Views registered (per date) before the steps run.
    pub views: Vec<View>,
    /// Steps in order.
    pub steps: Vec<Step>,
    /// The file it came from.
    pub path: PathBuf,
    /// The folder paths are relative to.
    pub root: PathBuf,
}

/// The parameters every job has, plus free-form ones.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// ISO 4217 code all money is reported in.
    pub base_currency: String,
    /// IANA time zone days are cut in.
    pub timezone: String,
    /// Terms that make a search query "branded".
    #[serde(default)]
    pub brand_terms: Vec<String>,
    /// Lookback for attribution, in days.
    #[serde(default = "default_lookback")]
    pub lookback_days: u32,
    /// Further parameters, for analysts' SQL.
    #[serde(default)]
    pub extra: BTreeMap<String, toml::Value>,
}

fn default_lookback() -> u32 {
    30
}

/// How a step computes its output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    /// A SQL file.
    Sql(PathBuf),
    /// A built-in transform fed by one or more SQL files.
    Builtin {
        /// The transform's name.
        name: String,
        /// The SQL files that produce its inputs, in the transform's order.
        inputs: Vec<PathBuf>,
    },
}

/// A named SQL view any step can read; rendered for each date.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct View {
    /// The name steps read it by.
    pub name: String,
    /// The SQL file.
    pub sql: PathBuf,
    /// Compute it once per date into staging, instead of inlining it into
    /// every step that reads it: for expensive views read by several steps.
    #[serde(default)]
    pub materialize: bool,
}

/// One step of a job.
#[derive(Debug, Clone)]
pub struct Step {
    /// Step name, unique in the job.
    pub name: String,
    /// What computes it.
    pub kind: StepKind,
    /// The result tables it writes: one for SQL, the transform's list for a
    /// built-in.
    pub outputs: Vec<String>,
    /// Input tables that must be present; the step is skipped otherwise.
    pub requires: Vec<String>,
    /// SQL files whose rows are violations: any row stops the run (exit 65).
    pub checks: Vec<PathBuf>,
    /// Outputs partitioned by a date the step computes (its `dt` column)
    /// instead of the run date: a run for D replaces the partitions
    /// `[D − days, D]`. Used for tables keyed by event date whose rows keep
    /// changing for a while (post_lift by publication date).
    pub rolling_days: BTreeMap<String, u32>,
    /// Scratch steps feed later steps of the same date and are never
    /// committed: shared intermediate facts, not results.
    pub scratch: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJob {
    name: String,
    #[serde(default)]
    description: String,
    params: Params,
    #[serde(default)]
    views: Vec<View>,
    steps: Vec<RawStep>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: String,
    output: Option<String>,
    outputs: Option<Vec<String>>,
    sql: Option<PathBuf>,
    builtin: Option<String>,
    input: Option<PathBuf>,
    inputs: Option<Vec<PathBuf>>,
    #[serde(default)]
    requires: Vec<String>,
    #[serde(default)]
    checks: Vec<PathBuf>,
    #[serde(default)]
    rolling_days: BTreeMap<String, u32>,
    #[serde(default)]
    scratch: bool,
}

impl Step {
    /// How many of [`Job::files_of`] are inputs (the rest are checks).
    pub fn input_count(&self) -> usize {
        match &self.kind {
            StepKind::Sql(_) => 1,
            StepKind::Builtin { inputs, .. } => inputs.len(),
        }
    }
}

/// The error for a `[params.extra]` entry of the wrong shape.
pub fn bad_param(key: &str, want: &str, got: &toml::Value) -> Error {
    Error::Config(format!("params.extra.{key} must be {want}, got {got}"))
}

/// Table names a step may not write: the inputs, and halo's own tables.
pub const RESERVED_OUTPUTS: &[&str] = &["runs", "rejects"];

impl Job {
    /// The rolling range of result table `name`, if a step declares one.
    pub fn rolling_days(&self, name: &str) -> Option<u32> {
        self.steps
            .iter()
            .find_map(|s| s.rolling_days.get(name).copied())
    }

    /// Reads and checks a job file.
    pub fn load(path: &Path) -> Result<Job> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read job file {}: {e}", path.display())))?;
        let raw: RawJob = toml::from_str(&text)
            .map_err(|e| Error::Config(format!("job file {}: {e}", path.display())))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let root = if dir.file_name().is_some_and(|n| n == "jobs") {
            dir.parent().unwrap_or(Path::new(".")).to_path_buf()
        } else {
            dir.to_path_buf()
        };
        let job = Job::from_raw(raw, path.to_path_buf(), root)?;
        job.check()?;
        Ok(job)
    }

    fn from_raw(raw: RawJob, path: PathBuf, root: PathBuf) -> Result<Job> {
        let mut steps = Vec::new();
        for s in raw.steps {
            let inputs = match (s.input, s.inputs) {
                (Some(one), None) => Some(vec![one]),
                (None, Some(many)) if !many.is_empty() => Some(many),
                (None, None) => None,
                _ => {
                    return Err(Error::Config(format!(
                        "job {}: step {} needs exactly one of `input = FILE` and `inputs = [FILES]`",
                        path.display(),
                        s.name
                    )));
                }
            };
            let kind = match (s.sql, s.builtin, inputs) {
                (Some(sql), None, None) => StepKind::Sql(sql),
                (None, Some(name), Some(inputs)) => StepKind::Builtin { name, inputs },
                _ => {
                    return Err(Error::Config(format!(
                        "job {}: step {} needs either `sql = FILE` or `builtin = NAME` with `input = FILE`",
                        path.display(),
                        s.name
                    )));
                }
            };
            let outputs = match (s.output, s.outputs) {
                (Some(one), None) => vec![one],
                (None, Some(many)) if !many.is_empty() => many,
                _ => {
                    return Err(Error::Config(format!(
                        "job {}: step {} needs exactly one of `output = TABLE` and `outputs = [TABLES]`",
                        path.display(),
                        s.name
                    )));
                }
            };
            if matches!(kind, StepKind::Sql(_)) && outputs.len() != 1 {
                return Err(Error::Config(format!(
                    "job {}: SQL step {} writes exactly one table",
                    path.display(),
                    s.name
                )));
            }
            if let Some(bad) = s.rolling_days.keys().find(|k| !outputs.contains(k)) {
                return Err(Error::Config(format!(
                    "job {}: step {} declares rolling_days for {bad}, which it does not write",
                    path.display(),
                    s.name
                )));
            }
            steps.push(Step {
                name: s.name,
                kind,
                outputs,
                requires: s.requires,
                checks: s.checks,
                rolling_days: s.rolling_days,
                scratch: s.scratch,
            });
        }
        Ok(Job {
            name: raw.name,
            description: raw.description,
            params: raw.params,
            views: raw.views,
            steps,
            path,
            root,
        })
    }

    fn check(&self) -> Result<()> {
        let where_ = self.path.display();
        if iso_currency::Currency::from_code(&self.params.base_currency).is_none() {
            return Err(Error::Config(format!(
                "job {where_}: params.base_currency '{}' is not an ISO 4217 code",
                self.params.base_currency
            )));
        }
        self.tz()?;
        let mut seen = std::collections::HashSet::new();
        let outputs: std::collections::HashSet<&str> = self
            .steps
            .iter()
            .flat_map(|s| s.outputs.iter().map(String::as_str))
            .collect();
        for v in &self.views {
            if crate::catalog::contract::table(&v.name).is_some()
                || outputs.contains(v.name.as_str())
                || !seen.insert(v.name.as_str())
            {
                return Err(Error::Config(format!(
                    "job {where_}: view name '{}' is already an input table, a step output or another view",
                    v.name
                )));
            }
            if !self.root.join(&v.sql).exists() {
                return Err(Error::Config(format!(
                    "job {where_}: view {} names {}, which does not exist",
                    v.name,
                    self.root.join(&v.sql).display()
                )));
            }
        }
        let mut seen = std::collections::HashSet::new();
        let mut seen_outputs = std::collections::HashSet::new();
        for s in &self.steps {
            if !seen.insert(s.name.as_str()) {
                return Err(Error::Config(format!(
                    "job {where_}: step name {} is used twice",
                    s.name
                )));
            }
            for output in &s.outputs {
                let valid_name = !output.is_empty()
                    && output
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if !valid_name
                    || crate::catalog::contract::table(output).is_some()
                    || RESERVED_OUTPUTS.contains(&output.as_str())
                    || !seen_outputs.insert(output.as_str())
                {
                    return Err(Error::Config(format!(
                        "job {where_}: step {} writes '{output}', which is not a valid result table name (lower-case, digits, '_'; not an input table, not runs or rejects, not written by another step)",
                        s.name
                    )));
                }
            }
            for r in &s.requires {
                if crate::catalog::contract::table(r).is_none() {
                    return Err(Error::Config(format!(
                        "job {where_}: step {} requires '{r}', which is not an input table",
                        s.name
                    )));
                }
            }
            if let StepKind::Builtin { name, inputs } = &s.kind {
                let Some(b) = crate::transforms::lookup(name) else {
                    return Err(Error::Config(format!(
                        "job {where_}: step {} uses unknown built-in '{name}' (known: {})",
                        s.name,
                        crate::transforms::names().join(", ")
                    )));
                };
                if inputs.len() != b.inputs.len() || s.outputs != b.outputs {
                    return Err(Error::Config(format!(
                        "job {where_}: step {} runs built-in '{name}', which reads {} input(s) ({}) and writes outputs = [{}]",
                        s.name,
                        b.inputs.len(),
                        b.inputs.join(", "),
                        b.outputs.join(", ")
                    )));
                }
            }
            for f in self.files_of(s) {
                if !f.exists() {
                    return Err(Error::Config(format!(
                        "job {where_}: step {} names {}, which does not exist",
                        s.name,
                        f.display()
                    )));
                }
            }
        }
        Ok(())
    }

    /// The SQL files a step reads, resolved against the project root: its
    /// inputs (see [`Step::input_count`]), then its checks.
    pub fn files_of(&self, step: &Step) -> Vec<PathBuf> {
        let mut v = match &step.kind {
            StepKind::Sql(p) => vec![self.root.join(p)],
            StepKind::Builtin { inputs, .. } => inputs.iter().map(|i| self.root.join(i)).collect(),
        };
        v.extend(step.checks.iter().map(|c| self.root.join(c)));
        v
    }

    /// The reporting time zone.
    pub fn tz(&self) -> Result<Tz> {
        self.params.timezone.parse::<Tz>().map_err(|_| {
            Error::Config(format!(
                "job {}: params.timezone '{}' is not an IANA time zone",
                self.path.display(),
                self.params.timezone
            ))
        })
    }
}

/// The instant (UTC microseconds) a local day starts at in `tz`.
pub fn day_start_micros(date: NaiveDate, tz: Tz) -> i64 {
    use chrono::TimeZone;
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    // On a DST gap at midnight the day starts at the first valid instant.
    let local = tz
        .from_local_datetime(&midnight)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                .earliest()
        })
        .expect("a day has a first instant");
    local.timestamp_micros()
}

/// A case-insensitive regular expression matching any brand term, or NULL
/// (which matches nothing) when there are none.
fn brand_pattern(terms: &[String]) -> String {
    if terms.is_empty() {
        return "NULL".into();
    }
    let escaped: Vec<String> = terms
        .iter()
        .map(|t| {
            t.to_lowercase()
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || c == ' ' {
                        c.to_string()
                    } else {
                        format!("\\{c}")
                    }
                })
                .collect()
        })
        .collect();
    quote_str(&escaped.join("|"))
}

/// Renders a SQL template: `${name}` becomes a literal. Known names: `date`,
/// `day_start`, `day_end`, `lookback_start`, `run_id`, every param
/// (`base_currency`, `timezone`, `brand_terms` as a comma-separated list of
/// strings, `lookback_days`) and every `[params.extra]` entry.
pub fn render(
    template: &str,
    file: &Path,
    job: &Job,
    date: NaiveDate,
    run_id: &str,
) -> Result<String> {
    let tz = job.tz()?;
    let next = date
        .succ_opt()
        .ok_or_else(|| Error::Usage(format!("date {date} is out of range")))?;
    let lookback_start = date - chrono::Duration::days(i64::from(job.params.lookback_days) - 1);
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    vars.insert("date".into(), date_literal(date));
    vars.insert(
        "day_start".into(),
        timestamp_literal(day_start_micros(date, tz)),
    );
    vars.insert(
        "day_end".into(),
        timestamp_literal(day_start_micros(next, tz)),
    );
    vars.insert(
        "lookback_start".into(),
        timestamp_literal(day_start_micros(lookback_start, tz)),
    );
    vars.insert("lookback_start_date".into(), date_literal(lookback_start));
    vars.insert("run_id".into(), quote_str(run_id));
    vars.insert("base_currency".into(), quote_str(&job.params.base_currency));
    vars.insert("timezone".into(), quote_str(&job.params.timezone));
    vars.insert("lookback_days".into(), job.params.lookback_days.to_string());
    vars.insert(
        "lookback_interval".into(),
        format!("INTERVAL '{} days'", job.params.lookback_days),
    );
    let terms = if job.params.brand_terms.is_empty() {
        "NULL".to_string()
    } else {
        job.params
            .brand_terms
            .iter()
            .map(|t| quote_str(&t.to_lowercase()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    vars.insert("brand_terms".into(), terms);
    vars.insert(
        "brand_terms_pattern".into(),
        brand_pattern(&job.params.brand_terms),
    );
    vars.insert(
        "local_ts_type".into(),
        quote_str(&format!(
            "Timestamp(Microsecond, Some(\"{}\"))",
            job.params.timezone
        )),
    );
    let mut day_windows: Vec<(String, i64)> =
        vec![("lookback_days".into(), i64::from(job.params.lookback_days))];
    for (k, v) in &job.params.extra {
        if let (true, toml::Value::Integer(n)) = (k.ends_with("_days"), v) {
            day_windows.push((k.clone(), *n));
        }
    }
    for (k, n) in day_windows {
        if n < 1 {
            return Err(Error::Config(format!(
                "job {}: {k} must be at least 1",
                job.path.display()
            )));
        }
        let first = date - chrono::Duration::days(n - 1);
        vars.insert(
            format!("{k}_start"),
            timestamp_literal(day_start_micros(first, tz)),
        );
    }
    for (k, v) in &job.params.extra {
        let lit = match v {
            toml::Value::String(s) => quote_str(s),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(a) => a
                .iter()
                .map(|x| match x {
                    toml::Value::String(s) => quote_str(s),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", "),
            other => {
                return Err(Error::Config(format!(
                    "job {}: params.extra.{k} has an unsupported type ({other})",
                    job.path.display()
                )));
            }
        };
        vars.insert(k.clone(), lit);
    }
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after.find('}').ok_or_else(|| {
            Error::Config(format!(
                "{}: unterminated '${{' placeholder",
                file.display()
            ))
        })?;
        let name = &after[..end];
        let value = vars.get(name).ok_or_else(|| {
            Error::Config(format!(
                "{}: unknown placeholder ${{{name}}} (known: {})",
                file.display(),
                vars.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_bounds_follow_the_time_zone_across_dst() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(); // DST ends: a 25-hour day
        let len = day_start_micros(d.succ_opt().unwrap(), tz) - day_start_micros(d, tz);
        assert_eq!(len, 25 * 3_600_000_000);
        let utc: Tz = "UTC".parse().unwrap();
        assert_eq!(
            day_start_micros(NaiveDate::from_ymd_opt(1970, 1, 2).unwrap(), utc),
            86_400_000_000
        );
    }
}
