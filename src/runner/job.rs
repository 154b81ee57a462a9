//! Job specs: a TOML file naming the job's parameters, views and steps. A
//! step is a SQL file from `sql/` or a built-in transform; either way it
//! names what it reads from earlier steps and missing-able inputs
//! (`requires`) and the result tables it writes.
//!
//! Where a job's files come from: a job given as a file reads its SQL from
//! disk, relative to the project root (the folder that holds the job's `jobs/`
//! folder, or the job file's own folder when it is not in one); the bundled
//! job (`halo run` without a JOB argument) reads the SQL bundled in the
//! binary, so it runs from any directory.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::Deserialize;

use crate::catalog::contract as inputs;
use crate::error::{Error, Result};
use crate::params::Params;
use crate::tables::contract::{self as results, ResultTable};

/// Where a job's SQL files are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sources {
    /// A folder on disk (the project root).
    Dir(PathBuf),
    /// The files bundled in the binary (`crate::bundled`).
    Bundled,
}

impl Sources {
    /// The text of `file` (a path relative to the project root).
    pub fn read(&self, file: &Path) -> Result<String> {
        match self {
            Sources::Dir(root) => {
                let path = root.join(file);
                std::fs::read_to_string(&path)
                    .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))
            }
            Sources::Bundled => crate::bundled::file(&slashed(file))
                .map(str::to_string)
                .ok_or_else(|| {
                    Error::Config(format!(
                        "{} is not among the bundled SQL files",
                        file.display()
                    ))
                }),
        }
    }

    fn exists(&self, file: &Path) -> bool {
        match self {
            Sources::Dir(root) => root.join(file).exists(),
            Sources::Bundled => crate::bundled::file(&slashed(file)).is_some(),
        }
    }

    /// How `file` is named in messages: its path on disk, or `bundled:<path>`.
    pub fn label(&self, file: &Path) -> String {
        match self {
            Sources::Dir(root) => root.join(file).display().to_string(),
            Sources::Bundled => format!("bundled:{}", slashed(file)),
        }
    }
}

fn slashed(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

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
    /// Result tables the job declares for its own steps.
    pub tables: Vec<ResultTable>,
    /// Where it came from (a path, or `bundled:jobs/nightly.toml`).
    pub origin: String,
    /// Where its SQL files are read from.
    pub sources: Sources,
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
    /// What the step depends on: input tables that must be present, and
    /// outputs of earlier steps it reads (itself or as `<table>_history`).
    /// The step is skipped when one is absent or was skipped. Checked against
    /// the tables its SQL actually reads.
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
    /// Data files a built-in reads (rules users edit), read when the job is
    /// loaded: by how they are named in messages, their text.
    pub data: BTreeMap<String, String>,
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
    #[serde(default)]
    tables: Vec<ResultTable>,
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
    #[serde(default)]
    data: Vec<PathBuf>,
}

impl Step {
    /// The SQL files that compute its inputs, in order.
    pub fn input_files(&self) -> &[PathBuf] {
        match &self.kind {
            StepKind::Sql(p) => std::slice::from_ref(p),
            StepKind::Builtin { inputs, .. } => inputs,
        }
    }
}

/// Table names a step may not write: halo's own tables.
pub const RESERVED_OUTPUTS: &[&str] = &["runs", "rejects"];

/// Prefixes of the parameters the domains declare: a `[params.extra]` key
/// with one of them must be a declared parameter (a typo is exit 78, not a
/// default silently used).
const DECLARED_PREFIXES: &[&str] = &[
    "attribution_",
    "lift_",
    "momentum_",
    "payout_",
    "roi_",
    "compliance_",
    "placement_",
    "recommend_",
];

/// Parameters halo no longer reads, with what replaced them: a job that
/// still sets one is told why instead of being run on a setting that does
/// nothing.
const RETIRED: &[(&str, &str)] = &[(
    "roi_prior_orders",
    "performance_by now estimates its prior from the data (empirical Bayes, docs/roi.md); remove it from the job",
)];

impl Job {
    /// Reads and checks a job file; its SQL is read from disk.
    pub fn load(path: &Path) -> Result<Job> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read job file {}: {e}", path.display())))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let root = if dir.file_name().is_some_and(|n| n == "jobs") {
            dir.parent().unwrap_or(Path::new(".")).to_path_buf()
        } else {
            dir.to_path_buf()
        };
        Job::parse(&text, path.display().to_string(), Sources::Dir(root))
    }

    /// The job bundled in the binary at `path` (see `crate::bundled`).
    pub fn bundled(path: &str) -> Result<Job> {
        let text = crate::bundled::file(path)
            .ok_or_else(|| Error::Config(format!("no bundled job {path}")))?;
        Job::parse(text, format!("bundled:{path}"), Sources::Bundled)
    }

    /// Parses and checks job text.
    pub fn parse(text: &str, origin: String, sources: Sources) -> Result<Job> {
        let raw: RawJob =
            toml::from_str(text).map_err(|e| Error::Config(format!("job {origin}: {e}")))?;
        let job = Job::from_raw(raw, origin, sources)?;
        job.check()?;
        Ok(job)
    }

    fn from_raw(raw: RawJob, origin: String, sources: Sources) -> Result<Job> {
        let mut steps = Vec::new();
        for s in raw.steps {
            let inputs = match (s.input, s.inputs) {
                (Some(one), None) => Some(vec![one]),
                (None, Some(many)) if !many.is_empty() => Some(many),
                (None, None) => None,
                _ => {
                    return Err(Error::Config(format!(
                        "job {origin}: step {} needs exactly one of `input = FILE` and `inputs = [FILES]`",
                        s.name
                    )));
                }
            };
            let kind = match (s.sql, s.builtin, inputs) {
                (Some(sql), None, None) => StepKind::Sql(sql),
                (None, Some(name), Some(inputs)) => StepKind::Builtin { name, inputs },
                _ => {
                    return Err(Error::Config(format!(
                        "job {origin}: step {} needs either `sql = FILE` or `builtin = NAME` with `input = FILE`",
                        s.name
                    )));
                }
            };
            let outputs = match (s.output, s.outputs) {
                (Some(one), None) => vec![one],
                (None, Some(many)) if !many.is_empty() => many,
                _ => {
                    return Err(Error::Config(format!(
                        "job {origin}: step {} needs exactly one of `output = TABLE` and `outputs = [TABLES]`",
                        s.name
                    )));
                }
            };
            if matches!(kind, StepKind::Sql(_)) && outputs.len() != 1 {
                return Err(Error::Config(format!(
                    "job {origin}: SQL step {} writes exactly one table",
                    s.name
                )));
            }
            if let Some(bad) = s.rolling_days.keys().find(|k| !outputs.contains(k)) {
                return Err(Error::Config(format!(
                    "job {origin}: step {} declares rolling_days for {bad}, which it does not write",
                    s.name
                )));
            }
            if !s.data.is_empty() && matches!(kind, StepKind::Sql(_)) {
                return Err(Error::Config(format!(
                    "job {origin}: step {}: only a built-in step reads `data` files",
                    s.name
                )));
            }
            let mut data = BTreeMap::new();
            for f in &s.data {
                let text = sources.read(f).map_err(|e| {
                    Error::Config(format!("job {origin}: step {}: data file: {e}", s.name))
                })?;
                data.insert(sources.label(f), text);
            }
            steps.push(Step {
                name: s.name,
                kind,
                outputs,
                requires: s.requires,
                checks: s.checks,
                rolling_days: s.rolling_days,
                scratch: s.scratch,
                data,
            });
        }
        Ok(Job {
            name: raw.name,
            description: raw.description,
            params: raw.params,
            views: raw.views,
            steps,
            tables: raw.tables,
            origin,
            sources,
        })
    }

    /// The declaration of result table `name`: the job's own, else halo's.
    pub fn table(&self, name: &str) -> Option<&ResultTable> {
        self.tables
            .iter()
            .find(|t| t.name == name)
            .or_else(|| results::table(name))
    }

    /// The step that writes result table `name`.
    pub fn writer_of(&self, name: &str) -> Option<&Step> {
        self.steps
            .iter()
            .find(|s| s.outputs.iter().any(|o| o == name))
    }

    /// The rolling range of result table `name`, if a step declares one.
    pub fn rolling_days(&self, name: &str) -> Option<u32> {
        self.steps
            .iter()
            .find_map(|s| s.rolling_days.get(name).copied())
    }

    /// The text of one of the job's SQL files.
    pub fn read(&self, file: &Path) -> Result<String> {
        self.sources.read(file)
    }

    /// How one of the job's SQL files is named in messages.
    pub fn label(&self, file: &Path) -> String {
        self.sources.label(file)
    }

    /// The reporting time zone.
    pub fn tz(&self) -> Result<Tz> {
        self.params
            .tz()
            .map_err(|e| e.context(format!("job {}", self.origin)))
    }

    fn check(&self) -> Result<()> {
        let where_ = &self.origin;
        if iso_currency::Currency::from_code(&self.params.base_currency).is_none() {
            return Err(Error::Config(format!(
                "job {where_}: params.base_currency '{}' is not an ISO 4217 code",
                self.params.base_currency
            )));
        }
        self.tz()?;
        self.check_params()?;
        let mut seen = HashSet::new();
        for t in &self.tables {
            t.check_declaration()
                .map_err(|e| e.context(format!("job {where_}")))?;
            if results::table(&t.name).is_some() || !seen.insert(t.name.as_str()) {
                return Err(Error::Config(format!(
                    "job {where_}: [[tables]] declares {}, which is already declared (by halo or earlier in the job)",
                    t.name
                )));
            }
        }
        let outputs: HashSet<&str> = self
            .steps
            .iter()
            .flat_map(|s| s.outputs.iter().map(String::as_str))
            .collect();
        let mut seen = HashSet::new();
        for v in &self.views {
            if inputs::table(&v.name).is_some()
                || outputs.contains(v.name.as_str())
                || !seen.insert(v.name.as_str())
            {
                return Err(Error::Config(format!(
                    "job {where_}: view name '{}' is already an input table, a step output or another view",
                    v.name
                )));
            }
            if !self.sources.exists(&v.sql) {
                return Err(Error::Config(format!(
                    "job {where_}: view {} names {}, which does not exist",
                    v.name,
                    self.label(&v.sql)
                )));
            }
        }
        let mut seen = HashSet::new();
        let mut earlier: BTreeSet<&str> = BTreeSet::new();
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
                    || inputs::table(output).is_some()
                    || RESERVED_OUTPUTS.contains(&output.as_str())
                    || earlier.contains(output.as_str())
                    || s.outputs.iter().filter(|o| *o == output).count() > 1
                {
                    return Err(Error::Config(format!(
                        "job {where_}: step {} writes '{output}', which is not a valid result table name (lower-case, digits, '_'; not an input table, not runs or rejects, not written by another step)",
                        s.name
                    )));
                }
                match self.table(output) {
                    Some(t) => {
                        let rolling = s.rolling_days.contains_key(output);
                        let want = if rolling {
                            results::Partition::EventDate
                        } else {
                            results::Partition::RunDate
                        };
                        if t.partition != want && !s.scratch {
                            return Err(Error::Config(format!(
                                "job {where_}: step {} writes {output}, which is partitioned by {}, but the step {}",
                                s.name,
                                t.partition,
                                if rolling {
                                    "declares rolling_days for it"
                                } else {
                                    "does not declare rolling_days for it"
                                }
                            )));
                        }
                    }
                    None if s.scratch => {}
                    None => {
                        return Err(Error::Config(format!(
                            "job {where_}: step {} writes '{output}', which no result table declaration describes; \
                             declare it in the job's [[tables]] (see docs/jobs.md)",
                            s.name
                        )));
                    }
                }
            }
            for r in &s.requires {
                if inputs::table(r).is_none() && !earlier.contains(r.as_str()) {
                    let why = if outputs.contains(r.as_str()) {
                        "is written by a later step"
                    } else {
                        "is neither an input table nor an earlier step's output"
                    };
                    return Err(Error::Config(format!(
                        "job {where_}: step {} requires '{r}', which {why}",
                        s.name
                    )));
                }
            }
            if let StepKind::Builtin { name, inputs } = &s.kind {
                let Some(b) = super::builtins::lookup(name) else {
                    return Err(Error::Config(format!(
                        "job {where_}: step {} uses unknown built-in '{name}' (known: {})",
                        s.name,
                        super::builtins::names().join(", ")
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
            for f in s.input_files().iter().chain(&s.checks) {
                if !self.sources.exists(f) {
                    return Err(Error::Config(format!(
                        "job {where_}: step {} names {}, which does not exist",
                        s.name,
                        self.label(f)
                    )));
                }
            }
            earlier.extend(s.outputs.iter().map(String::as_str));
        }
        Ok(())
    }

    /// Declared parameters must have the right shape, and a key with a
    /// domain's prefix must be one of its parameters.
    fn check_params(&self) -> Result<()> {
        let declared: Vec<&crate::params::Param> = super::builtins::params()
            .into_iter()
            .flat_map(|(_, ps)| ps.iter())
            .collect();
        for key in self.params.extra.keys() {
            if let Some((_, why)) = RETIRED.iter().find(|(name, _)| name == key) {
                return Err(Error::Config(format!(
                    "job {}: params.extra.{key} was retired: {why}",
                    self.origin
                )));
            }
            let known = declared.iter().any(|p| p.name == key);
            if !known && DECLARED_PREFIXES.iter().any(|p| key.starts_with(p)) {
                // Suggest the declared names a typo or two away.
                let close: Vec<&str> = declared
                    .iter()
                    .map(|p| p.name)
                    .filter(|n| strsim::damerau_levenshtein(n, key) <= 2)
                    .collect();
                return Err(Error::Config(format!(
                    "job {}: params.extra.{key} is not a parameter halo knows{}; see the parameter reference in docs/jobs.md",
                    self.origin,
                    if close.is_empty() {
                        String::new()
                    } else {
                        format!(" (did you mean {}?)", close.join(" or "))
                    }
                )));
            }
        }
        // Each declared parameter the job sets must read as its kind.
        for p in declared {
            let ok = match p.default {
                crate::params::ParamDefault::Int(_) => self.params.int(p).map(|_| ()),
                crate::params::ParamDefault::Float(_) => self.params.float(p).map(|_| ()),
                crate::params::ParamDefault::Str(_) => self.params.string(p).map(|_| ()),
                crate::params::ParamDefault::Strs(_) => self.params.strings(p).map(|_| ()),
                crate::params::ParamDefault::Floats(_) => self.params.floats(p).map(|_| ()),
                crate::params::ParamDefault::Lists(_) => self.params.lists(p).map(|_| ()),
            };
            ok.map_err(|e| e.context(format!("job {}", self.origin)))?;
        }
        Ok(())
    }
}
