//! The raw tables: their contract, how they are found and typed, and how
//! their rows are validated before any analysis reads them.
//!
//! After [`load_validated`], a session has, for every contract table `t`:
//! - `raw.t`: every row of the input, cast to contract types (for analysts);
//! - `t`: the clean rows only (what job steps read); an absent optional table
//!   is an empty table with the contract schema;
//! - `_validated_t`: every row with its `_file`, `_row` and `_reason`,
//!   materialised once under the run's staging folder.

pub mod contract;
pub mod load;
pub mod validate;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::Schema;
use datafusion::catalog::MemorySchemaProvider;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use url::Url;

pub use contract::{TABLES, TableSpec};
pub use load::{Discovered, InputFile};
pub use validate::Counts;

use crate::error::Result;
use crate::sqltext::quote_ident;
use crate::storage::Storage;

/// What the load found and did for one table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TableReport {
    /// Table name.
    pub table: String,
    /// Whether the contract requires it.
    pub required: bool,
    /// Whether any file was found.
    pub present: bool,
    /// Number of files.
    pub files: usize,
    /// Total bytes of its files.
    pub bytes: u64,
    /// Optional columns no file has (read as nulls).
    pub absent_columns: Vec<String>,
    /// Row counts (zero when absent).
    pub counts: Counts,
}

/// The outcome of loading and validating an input root.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LoadedInput {
    /// One report per contract table, in contract order.
    pub tables: Vec<TableReport>,
    /// Every file read, in path order.
    pub files: Vec<InputFile>,
}

impl LoadedInput {
    /// Whether `table` was found in the input.
    pub fn present(&self, table: &str) -> bool {
        self.tables.iter().any(|t| t.table == table && t.present)
    }

    /// Total rejected rows over all tables.
    pub fn rejected(&self) -> u64 {
        self.tables
            .iter()
            .map(|t| t.counts.rejected.values().sum::<u64>())
            .sum()
    }
}

fn ensure_raw_schema(ctx: &SessionContext) -> Result<()> {
    let catalog = ctx
        .catalog("datafusion")
        .ok_or_else(|| crate::error::Error::Internal("default catalog missing".into()))?;
    if catalog.schema("raw").is_none() {
        catalog.register_schema("raw", Arc::new(MemorySchemaProvider::new()))?;
    }
    Ok(())
}

/// Discovers the tables under `root` and registers `raw.<t>` and `_typed_<t>`
/// for each. Files are checked against the contract here.
pub async fn register_raw(
    ctx: &SessionContext,
    storage: &Storage,
    root: &Url,
) -> Result<Vec<Discovered>> {
    storage.register(ctx, root)?;
    ensure_raw_schema(ctx)?;
    let mut found = load::discover(storage, root).await?;
    for d in &mut found {
        let typed = load::typed_table(ctx, storage, d).await?;
        let cols: Vec<&str> = d.spec.columns.iter().map(|c| c.name).collect();
        let raw = typed.clone().select_columns(&cols)?;
        ctx.register_table(format!("raw.{}", d.spec.name), raw.into_view())?;
        ctx.register_table(
            quote_ident(&validate::typed_name(d.spec.name)),
            typed.into_view(),
        )?;
    }
    Ok(found)
}

/// Loads and validates every table under `root` (see the module docs).
/// `now_micros` is the run's wall-clock time; events after it are rejected.
pub async fn load_validated(
    ctx: &SessionContext,
    storage: &Storage,
    root: &Url,
    now_micros: i64,
    staging: &Path,
) -> Result<LoadedInput> {
    let found = register_raw(ctx, storage, root).await?;
    let present: HashSet<&str> = found
        .iter()
        .filter(|d| !d.files.is_empty())
        .map(|d| d.spec.name)
        .collect();
    let mut out = LoadedInput::default();
    for d in &found {
        let spec = d.spec;
        let counts = if d.files.is_empty() {
            let schema = Arc::new(Schema::new(spec.arrow_fields()));
            ctx.register_table(
                spec.name,
                Arc::new(MemTable::try_new(schema, vec![vec![]])?),
            )?;
            Counts::default()
        } else {
            let _span = tracing::info_span!("validate", table = spec.name).entered();
            let c = validate::validate_table(ctx, spec, &present, now_micros, staging).await?;
            tracing::info!(
                table = spec.name,
                rows = c.rows,
                rejected = c.rows - c.clean,
                "validated"
            );
            c
        };
        out.tables.push(TableReport {
            table: spec.name.to_string(),
            required: spec.required,
            present: !d.files.is_empty(),
            files: d.files.len(),
            bytes: d.files.iter().map(|f| f.bytes).sum(),
            absent_columns: d.absent_columns.clone(),
            counts,
        });
        out.files.extend(d.files.iter().cloned());
    }
    Ok(out)
}
