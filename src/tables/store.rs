//! Where result tables live and how they are committed: Delta Lake tables
//! under the output root, one folder each.
//!
//! Promises:
//! - a run for date D replaces exactly D's partition (`dt`) of a table, in one
//!   Delta commit, so re-running D or backfilling a range gives the same table;
//! - a run's commits over several tables are made visible together: before its
//!   first commit a run writes a *pending* marker (`_halo/pending/<run_id>.json`)
//!   with every table's version before the run. halo's readers ([`pinned_versions`])
//!   read those versions while a marker exists, and the next run rolls the
//!   tables back ([`recover`]) before it starts. A run that fails or is killed
//!   therefore leaves no partial result visible to halo's readers; external
//!   readers (Spark, DuckDB) see Delta's own per-table atomicity until recovery.

use std::collections::BTreeMap;
use std::sync::{Arc, Once};

use chrono::NaiveDate;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use deltalake::DeltaTable;
use deltalake::protocol::SaveMode;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::{Error, Result};
use crate::storage::{Storage, store_path};

/// The partition column of every dated result table.
pub const PARTITION_COL: &str = "dt";

/// In rolling tables: the run date whose data computed the row.
pub const AS_OF_COL: &str = "as_of";

static HANDLERS: Once = Once::new();

/// Registers delta-rs' cloud log stores once per process.
pub fn register_delta_handlers() {
    HANDLERS.call_once(|| {
        deltalake::aws::register_handlers(None);
        deltalake::gcp::register_handlers(None);
        deltalake::azure::register_handlers(None);
    });
}

/// The output root and the result tables under it.
#[derive(Debug, Clone)]
pub struct ResultStore {
    storage: Storage,
    root: Url,
}

/// What a pending marker records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    /// The run that wrote it.
    pub run_id: String,
    /// The job.
    pub job: String,
    /// Version of each table before the run's first commit (None: no table yet).
    pub before: BTreeMap<String, Option<u64>>,
    /// The date the run computed.
    #[serde(default)]
    pub date: Option<NaiveDate>,
    /// When the date's attempt started.
    #[serde(default)]
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The output root lease the run held (see `crate::lease`).
    #[serde(default)]
    pub lease: Option<u64>,
}

impl ResultStore {
    /// A store for results under `root`.
    pub fn new(storage: Storage, root: Url) -> Result<Self> {
        register_delta_handlers();
        if root.scheme() == "memory" {
            return Err(Error::Usage(
                "result tables need a path or a cloud URL, not memory://".into(),
            ));
        }
        Ok(Self { storage, root })
    }

    /// The output root.
    pub fn root(&self) -> &Url {
        &self.root
    }

    /// The URL of table `name`.
    pub fn table_url(&self, name: &str) -> Result<Url> {
        self.root
            .join(&format!("{name}/"))
            .map_err(|e| Error::Internal(format!("table url for {name}: {e}")))
    }

    /// Opens table `name` for writing, creating a local folder if needed.
    async fn open_for_write(&self, name: &str) -> Result<DeltaTable> {
        let url = self.table_url(name)?;
        if url.scheme() == "file" {
            let path = url
                .to_file_path()
                .map_err(|_| Error::Internal(url.to_string()))?;
            std::fs::create_dir_all(&path)?;
        }
        Ok(DeltaTable::try_from_url(url).await?)
    }

    /// Opens table `name`, or None when it does not exist yet.
    pub async fn open(&self, name: &str) -> Result<Option<DeltaTable>> {
        let url = self.table_url(name)?;
        if url.scheme() == "file" {
            let path = url
                .to_file_path()
                .map_err(|_| Error::Internal(url.to_string()))?;
            if !path.join("_delta_log").exists() {
                return Ok(None);
            }
        }
        let table = DeltaTable::try_from_url(url).await?;
        Ok(table.version().map(|_| table))
    }

    /// Names of the Delta tables under the root, sorted.
    pub async fn table_names(&self) -> Result<Vec<String>> {
        let objects = self.storage.list(&self.root).await?;
        let root_path = store_path(&self.root)?;
        let skip = root_path.parts().count();
        let mut names: Vec<String> = objects
            .iter()
            .filter_map(|o| {
                let parts: Vec<_> = o.location.parts().skip(skip).collect();
                (parts.len() >= 2 && parts[1].as_ref() == "_delta_log")
                    .then(|| parts[0].as_ref().to_string())
            })
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Current version of each named table (None when absent).
    pub async fn versions(&self, names: &[String]) -> Result<BTreeMap<String, Option<u64>>> {
        let mut out = BTreeMap::new();
        for n in names {
            let v = self.open(n).await?.and_then(|t| t.version());
            out.insert(n.clone(), v);
        }
        Ok(out)
    }

    /// Replaces `date`'s partition of table `name` with the rows of `plan`
    /// (which must carry the `dt` column), or the whole table when `date` is
    /// None. Returns the new version.
    pub async fn replace(
        &self,
        ctx: &SessionContext,
        name: &str,
        plan: LogicalPlan,
        date: Option<NaiveDate>,
    ) -> Result<u64> {
        match date {
            Some(d) => self.write_over(ctx, name, plan, Some(&[d])).await,
            None => self.write_over(ctx, name, plan, None).await,
        }
    }

    /// Replaces the partitions `first..=last` of table `name` with the rows
    /// of `plan` (whose `dt` must lie in that range). Returns the new version.
    pub async fn replace_dates(
        &self,
        ctx: &SessionContext,
        name: &str,
        plan: LogicalPlan,
        dates: &[NaiveDate],
    ) -> Result<u64> {
        self.write_over(ctx, name, plan, Some(dates)).await
    }

    /// For a rolling table (see `Step::rolling_days`): the partitions in
    /// `first..=last` whose rows were computed by a run of a later date than
    /// `last` (their largest `as_of`). Such a partition holds newer knowledge
    /// and a run for `last` leaves it alone, so the table does not depend on
    /// the order dates are run in.
    pub async fn newer_partitions(
        &self,
        name: &str,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<Vec<NaiveDate>> {
        let Some(table) = self.open(name).await? else {
            return Ok(Vec::new());
        };
        let ctx = SessionContext::new();
        self.storage.register(&ctx, &self.root)?;
        table.update_datafusion_session(&ctx.state())?;
        ctx.register_table("t", table.table_provider().await?)?;
        let sql = format!(
            "SELECT DISTINCT CAST({PARTITION_COL} AS VARCHAR) AS d FROM t \
             WHERE {PARTITION_COL} >= DATE '{first}' AND {PARTITION_COL} <= DATE '{last}' AND {AS_OF_COL} > DATE '{last}'"
        );
        let batches = ctx.sql(&sql).await?.collect().await?;
        let mut out = Vec::new();
        for b in &batches {
            let col = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8)?;
            let col = col
                .as_any()
                .downcast_ref::<arrow::array::StringArray>()
                .ok_or_else(|| Error::Internal("partition values".into()))?;
            for i in 0..arrow::array::Array::len(col) {
                let d = NaiveDate::parse_from_str(col.value(i), "%Y-%m-%d").map_err(|e| {
                    Error::Internal(format!("partition value {}: {e}", col.value(i)))
                })?;
                out.push(d);
            }
        }
        out.sort();
        Ok(out)
    }

    async fn write_over(
        &self,
        ctx: &SessionContext,
        name: &str,
        plan: LogicalPlan,
        dates: Option<&[NaiveDate]>,
    ) -> Result<u64> {
        let url = self.table_url(name)?;
        let table = self.open_for_write(name).await?;
        let mut write = table
            .write(Vec::new())
            .with_input_plan(plan)
            .with_session_state(Arc::new(ctx.state()))
            .with_table_name(name)
            .with_save_mode(SaveMode::Overwrite);
        if let Some(dates) = dates {
            let predicate = match dates {
                [d] => format!("{PARTITION_COL} = '{}'", d.format("%Y-%m-%d")),
                many => format!(
                    "{PARTITION_COL} IN ({})",
                    many.iter()
                        .map(|d| format!("'{}'", d.format("%Y-%m-%d")))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            write = write
                .with_partition_columns([PARTITION_COL])
                .with_replace_where(predicate);
        }
        let table = write
            .await
            .map_err(|e| Error::from(e).context(format!("writing result table {name} at {url}")))?;
        table
            .version()
            .ok_or_else(|| Error::Internal(format!("table {name} has no version after a write")))
    }

    /// Appends rows to table `name` (the `runs` audit log).
    pub async fn append(&self, ctx: &SessionContext, name: &str, plan: LogicalPlan) -> Result<u64> {
        let url = self.table_url(name)?;
        let table = self.open_for_write(name).await?;
        let table = table
            .write(Vec::new())
            .with_input_plan(plan)
            .with_session_state(Arc::new(ctx.state()))
            .with_table_name(name)
            .with_save_mode(SaveMode::Append)
            // The audit log gains columns over versions (`ledger_heads`);
            // older rows read them as null.
            .with_schema_mode(deltalake::operations::write::SchemaMode::Merge)
            .await
            .map_err(|e| Error::from(e).context(format!("appending to table {name} at {url}")))?;
        table
            .version()
            .ok_or_else(|| Error::Internal(format!("table {name} has no version after a write")))
    }

    fn pending_url(&self) -> Result<Url> {
        self.root
            .join("_halo/pending/")
            .map_err(|e| Error::Internal(e.to_string()))
    }

    /// Writes the pending marker of a run, atomically.
    pub async fn begin(&self, pending: &Pending) -> Result<()> {
        let url = self
            .pending_url()?
            .join(&format!("{}.json", pending.run_id))
            .map_err(|e| Error::Internal(e.to_string()))?;
        let store = self.storage.store_for(&url)?;
        let body =
            serde_json::to_vec_pretty(pending).map_err(|e| Error::Internal(e.to_string()))?;
        store
            .put_opts(
                &store_path(&url)?,
                PutPayload::from(body),
                PutOptions::from(PutMode::Create),
            )
            .await?;
        Ok(())
    }

    /// Removes a run's pending marker: its commits become the visible state.
    pub async fn finish(&self, run_id: &str) -> Result<()> {
        let url = self
            .pending_url()?
            .join(&format!("{run_id}.json"))
            .map_err(|e| Error::Internal(e.to_string()))?;
        let store = self.storage.store_for(&url)?;
        store.delete(&store_path(&url)?).await?;
        Ok(())
    }

    /// Every pending marker under the root, oldest run first.
    pub async fn pending(&self) -> Result<Vec<Pending>> {
        let url = self.pending_url()?;
        let store = self.storage.store_for(&url)?;
        let mut out = Vec::new();
        for o in self.storage.list(&url).await? {
            let bytes = store.get(&o.location).await?.bytes().await?;
            let p: Pending = serde_json::from_slice(&bytes).map_err(|e| {
                Error::InvalidInput(format!("pending marker {} is not valid: {e}", o.location))
            })?;
            out.push(p);
        }
        Ok(out)
    }

    /// Rolls back the commits of runs that never finished, then removes their
    /// markers; `record` is called for each run after its tables are rolled
    /// back and before its marker goes (so an interrupted recovery repeats
    /// both, and `record` must be idempotent). Only call it holding the
    /// output root's lease: every marker then belongs to a run that is gone.
    /// Returns the runs rolled back.
    pub async fn recover<F, Fut>(&self, mut record: F) -> Result<Vec<Pending>>
    where
        F: FnMut(Pending) -> Fut,
        Fut: std::future::Future<Output = Result<()>>,
    {
        let pending = self.pending().await?;
        for p in &pending {
            tracing::warn!(run_id = %p.run_id, "rolling back a run that did not finish");
            for (name, before) in &p.before {
                let Some(table) = self.open(name).await? else {
                    continue;
                };
                let now = table.version();
                match before {
                    Some(v) if now > Some(*v) => {
                        table.restore().with_version_to_restore(*v).await?;
                    }
                    None => {
                        // The table did not exist before the run: empty it.
                        table.delete().await?;
                    }
                    _ => {}
                }
                crate::faults::point("recovery_table");
            }
            record(p.clone()).await?;
            crate::faults::point("recovery_recorded");
            self.finish(&p.run_id).await?;
        }
        Ok(pending)
    }

    /// The version halo's readers should read of each table: the version
    /// before the oldest unfinished run, or the latest.
    pub async fn pinned_versions(&self) -> Result<BTreeMap<String, Option<u64>>> {
        let names = self.table_names().await?;
        let mut pinned = self.versions(&names).await?;
        for p in self.pending().await? {
            for (name, before) in p.before {
                let entry = pinned.entry(name).or_insert(None);
                *entry = match (before, *entry) {
                    (Some(b), Some(cur)) => Some(b.min(cur)),
                    (b, _) => b,
                };
            }
        }
        Ok(pinned)
    }

    /// Registers every result table, at its pinned version, under its name.
    pub async fn register_all(&self, ctx: &SessionContext) -> Result<Vec<String>> {
        self.storage.register(ctx, &self.root)?;
        let mut names = Vec::new();
        for (name, version) in self.pinned_versions().await? {
            let Some(version) = version else { continue };
            let url = self.table_url(&name)?;
            let table = deltalake::open_table_with_version(url, version).await?;
            table.update_datafusion_session(&ctx.state())?;
            let provider = table.table_provider().await?;
            ctx.register_table(name.as_str(), provider)?;
            names.push(name);
        }
        Ok(names)
    }
}
