//! The DataFusion session every command uses, configured once.

use std::sync::Arc;

use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use deltalake::delta_datafusion::planner::DeltaPlanner;

use crate::error::{Error, Result};

/// Default memory budget of query execution before operators spill to disk.
pub const DEFAULT_MEMORY_LIMIT: usize = 4 << 30;

/// Knobs of the session.
#[derive(Debug, Clone, Copy)]
pub struct SessionOptions {
    /// Parallelism; None = the number of cores.
    pub target_partitions: Option<usize>,
    /// Bytes operators may hold before spilling.
    pub memory_limit: usize,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            target_partitions: None,
            memory_limit: DEFAULT_MEMORY_LIMIT,
        }
    }
}

/// A session for halo's plans.
///
/// File-scan repartitioning is off so that each input file is read by one
/// partition in its own row order: row numbers, and therefore "the first row
/// by file path and row number", stay deterministic.
pub fn session(opts: SessionOptions) -> Result<SessionContext> {
    let mut config = SessionConfig::new()
        .with_information_schema(true)
        .with_repartition_file_scans(false)
        .with_batch_size(8192);
    // DataFusion writes only halo's private staging files (delta-rs writes the
    // result tables with its own settings). They are read back once or twice,
    // so fast compression and no dictionaries beat small files: with zstd and
    // dictionaries, encoding took about a third of validation time on `large`.
    let parquet = &mut config.options_mut().execution.parquet;
    parquet.compression = Some("lz4_raw".to_string());
    parquet.dictionary_enabled = Some(false);
    // Plain strings, not string views: a view array sliced by a filter keeps
    // every buffer of its source batch, and sorts and ordered aggregates
    // (array_agg) charge each batch for all of them (`VARCHAR` in SQL is a
    // view type too unless told otherwise). On the journey builder
    // that made a 270 k-row sort fail under 4 GB and one array_agg ask for
    // 13 GB.
    parquet.schema_force_view_types = false;
    config.options_mut().sql_parser.map_string_types_to_utf8view = false;
    if let Some(n) = opts.target_partitions {
        config = config.with_target_partitions(n.max(1));
    }
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(crate::memory::HaloMemoryPool::new(
            opts.memory_limit,
        )))
        .build_arc()
        .map_err(|e| Error::Internal(format!("runtime: {e}")))?;
    // Delta's planner knows the extension nodes of delta-rs writes; it plans
    // every other node like DataFusion's default planner.
    let state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_query_planner(DeltaPlanner::new())
        .build();
    let ctx = SessionContext::new_with_state(state);
    crate::money::register_udfs(&ctx);
    Ok(ctx)
}
