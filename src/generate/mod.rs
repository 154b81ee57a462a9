//! `halo generate`: a realistic brand's raw data in the contract, with the
//! truth it planted, deterministic for a seed.
//!
//! The world (creators, campaigns, posts, plans, costs, rates) is drawn first
//! from one RNG; then each day's traffic is drawn from its own RNG in
//! parallel (`traffic`). Posts cause tracked clicks and dark-social visits with
//! a two-component decay kernel; the visits and orders each post caused are
//! written to `_truth/` so analyses can be judged against them. A few rows
//! that break the contract are planted on purpose and listed in
//! `_truth/planted_rejects`.

pub mod captions;
pub mod events;
pub mod leaks;
pub mod placement;
mod rows;
pub mod traffic;
pub mod world;

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema};
use chrono::{Duration, NaiveDate};
use object_store::ObjectStoreExt;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;
use serde::Serialize;
use url::Url;

use crate::catalog::contract;
use crate::error::{Error, Result};
use crate::storage::{Storage, store_path};

/// Size presets.
#[derive(Debug, Clone)]
pub struct Scale {
    /// Preset name.
    pub name: &'static str,
    /// Days of data.
    pub days: u32,
    /// Creators.
    pub creators: usize,
    /// Baseline sessions on an average day.
    pub sessions_per_day: u32,
    /// Distinct people visiting.
    pub people: u64,
    /// Products.
    pub products: usize,
    /// What it plants beyond posts and steady traffic.
    pub realism: events::Realism,
}

/// The presets: tiny (unit tests), small (the bundled sample), medium, large
/// (benchmarks); `events` (the size of small, with newsletter sends, press,
/// a sale, unrecorded bursts and posts with no effect) and `overlap` (the
/// same with ten or more posts a day, a third of them moved to within 30
/// minutes of another) for judging the lift against what real traffic has.
pub fn scale(name: &str) -> Result<Scale> {
    let s = match name {
        "tiny" => Scale {
            name: "tiny",
            days: 10,
            creators: 6,
            sessions_per_day: 400,
            people: 4_000,
            products: 12,
            realism: events::Realism::default(),
        },
        "small" => Scale {
            name: "small",
            days: 42,
            creators: 25,
            sessions_per_day: 6_000,
            people: 150_000,
            products: 40,
            realism: events::Realism::default(),
        },
        "medium" => Scale {
            name: "medium",
            days: 60,
            creators: 200,
            sessions_per_day: 60_000,
            people: 2_000_000,
            products: 120,
            realism: events::Realism::default(),
        },
        "large" => Scale {
            name: "large",
            days: 60,
            creators: 1_000,
            sessions_per_day: 330_000,
            people: 10_000_000,
            products: 300,
            realism: events::Realism::default(),
        },
        "events" => Scale {
            name: "events",
            days: 42,
            creators: 25,
            sessions_per_day: 6_000,
            people: 150_000,
            products: 40,
            realism: events::Realism {
                events: true,
                bursts_per_week: 2.0,
                null_post_share: 0.25,
                clustered_share: 0.0,
                dark_visits_factor: 1.0,
                ..Default::default()
            },
        },
        "overlap" => Scale {
            name: "overlap",
            days: 42,
            creators: 45,
            sessions_per_day: 8_000,
            people: 200_000,
            products: 40,
            realism: events::Realism {
                events: true,
                bursts_per_week: 2.0,
                null_post_share: 0.25,
                clustered_share: 0.3,
                dark_visits_factor: 4.0,
                ..Default::default()
            },
        },
        "program" => Scale {
            name: "program",
            days: 56,
            creators: 120,
            sessions_per_day: 5_000,
            people: 150_000,
            products: 40,
            realism: events::Realism {
                leaked_share: 0.2,
                leaked_min: 20,
                ..Default::default()
            },
        },
        other => {
            return Err(Error::Usage(format!(
                "unknown scale '{other}': use tiny, small, medium, large, events, overlap or program"
            )));
        }
    };
    Ok(s)
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Output root.
    pub out: Url,
    /// Size preset.
    pub scale: Scale,
    /// RNG seed.
    pub seed: u64,
    /// The first day after the data (exclusive end, UTC).
    pub end: NaiveDate,
}

/// Row counts written, per table.
#[derive(Debug, Clone, Serialize)]
pub struct GenerateSummary {
    /// Preset.
    pub scale: String,
    /// Seed.
    pub seed: u64,
    /// First day.
    pub start: NaiveDate,
    /// Exclusive end.
    pub end: NaiveDate,
    /// Rows per table.
    pub rows: std::collections::BTreeMap<String, u64>,
    /// Files written.
    pub files: usize,
    /// Bytes written.
    pub bytes: u64,
}

/// The default end of generated data: a fixed day, so a seed always gives
/// the same bytes whenever it runs.
pub fn default_end() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).expect("valid date")
}

fn encode(batch: &RecordBatch) -> Result<Vec<u8>> {
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).map_err(|e| Error::Internal(e.to_string()))?,
        ))
        .build();
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), Some(props))?;
    w.write(batch)?;
    w.close()?;
    Ok(buf)
}

/// Decodes serialisable rows into a batch of the given schema.
pub(crate) fn to_batch<T: Serialize>(schema: Arc<Schema>, rows: &[T]) -> Result<RecordBatch> {
    let mut decoder = arrow::json::ReaderBuilder::new(schema.clone())
        .with_batch_size(rows.len().max(1))
        .build_decoder()?;
    decoder.serialize(rows)?;
    Ok(decoder
        .flush()?
        .unwrap_or_else(|| RecordBatch::new_empty(schema)))
}

pub(crate) fn contract_schema(table: &str) -> Arc<Schema> {
    let spec = contract::table(table).expect("contract table");
    Arc::new(Schema::new(spec.arrow_fields()))
}

struct Writer {
    storage: Storage,
    root: Url,
    files: usize,
    bytes: u64,
    rows: std::collections::BTreeMap<String, u64>,
}

impl Writer {
    async fn put(&mut self, rel: &str, table: &str, batch: &RecordBatch) -> Result<()> {
        let bytes = encode(batch)?;
        self.put_bytes(rel, table, batch.num_rows() as u64, bytes)
            .await
    }

    async fn put_bytes(&mut self, rel: &str, table: &str, rows: u64, bytes: Vec<u8>) -> Result<()> {
        let url = self
            .root
            .join(rel)
            .map_err(|e| Error::Internal(e.to_string()))?;
        let store = self.storage.store_for(&url)?;
        self.bytes += bytes.len() as u64;
        self.files += 1;
        *self.rows.entry(table.to_string()).or_default() += rows;
        store.put(&store_path(&url)?, bytes.into()).await?;
        Ok(())
    }
}

type DayOutput = Result<(
    u32,
    Vec<(String, &'static str, u64, Vec<u8>)>,
    traffic::Truth,
    Vec<(&'static str, String, &'static str)>,
)>;

/// Generates a data set under `opts.out`.
pub async fn generate(storage: &Storage, opts: &GenerateOptions) -> Result<GenerateSummary> {
    let scale = &opts.scale;
    let world = world::World::generate(scale, opts.seed, opts.end);
    let start = world.start.date_naive();
    let mut w = Writer {
        storage: storage.clone(),
        root: opts.out.clone(),
        files: 0,
        bytes: 0,
        rows: Default::default(),
    };
    for (table, batch) in rows::world_tables(&world)? {
        w.put(&format!("{table}/part-0.parquet"), table, &batch)
            .await?;
    }

    let fx: HashMap<(NaiveDate, &'static str), i64> =
        world.fx.iter().map(|(d, c, r)| ((*d, *c), *r)).collect();
    let mut truth = traffic::Truth::default();
    let mut planted = Vec::new();
    let chunk = 8u32;
    let mut first = 0u32;
    while first < scale.days {
        let days: Vec<u32> = (first..(first + chunk).min(scale.days)).collect();
        let produced: Vec<DayOutput> = days
            .par_iter()
            .map(|&d| {
                let mut day = traffic::generate_day(&world, scale, opts.seed, d, &fx);
                if d == 0 {
                    rows::plant_rejects(&mut day);
                }
                let date = start + Duration::days(i64::from(d));
                let mut files = Vec::new();
                for (table, batch) in rows::day_tables(&day)? {
                    let rel = format!("{table}/dt={}/part-0.parquet", date.format("%Y-%m-%d"));
                    files.push((rel, table, batch.num_rows() as u64, encode(&batch)?));
                }
                Ok((
                    d,
                    files,
                    std::mem::take(&mut day.truth),
                    std::mem::take(&mut day.planted),
                ))
            })
            .collect();
        for r in produced {
            let (_, files, t, p) = r?;
            planted.extend(p);
            for (rel, table, n, bytes) in files {
                w.put_bytes(&rel, table, n, bytes).await?;
            }
            for (k, v) in t.visits {
                *truth.visits.entry(k).or_default() += v;
            }
            for (k, v) in t.visits_in_windows {
                let e = truth.visits_in_windows.entry(k).or_default();
                e[0] += v[0];
                e[1] += v[1];
            }
            for (k, v) in t.event_visits {
                *truth.event_visits.entry(k).or_default() += v;
            }
            for (k, (n, c)) in t.orders {
                let e = truth.orders.entry(k).or_default();
                e.0 += n;
                e.1 += c;
            }
        }
        first += chunk;
    }
    for (name, batch) in rows::truth_tables(&world, &truth, &planted)? {
        w.put(
            &format!("_truth/{name}/part-0.parquet"),
            &format!("_truth/{name}"),
            &batch,
        )
        .await?;
    }
    let summary = GenerateSummary {
        scale: scale.name.to_string(),
        seed: opts.seed,
        start,
        end: opts.end,
        rows: w.rows.clone(),
        files: w.files,
        bytes: w.bytes,
    };
    let manifest =
        serde_json::to_vec_pretty(&summary).map_err(|e| Error::Internal(e.to_string()))?;
    w.put_bytes("_generator.json", "_generator", 0, manifest)
        .await?;
    Ok(summary)
}

/// A schema of plain fields, for the truth tables.
pub(crate) fn schema_of(fields: Vec<Field>) -> Arc<Schema> {
    Arc::new(Schema::new(fields))
}

pub(crate) use contract_schema as table_schema;
