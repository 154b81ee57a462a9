//! `halo sql`: ad-hoc, read-only SQL over the result tables (by name) and the
//! raw input tables (as `raw.<table>`).
//!
//! Result tables are read at the versions halo's pending markers pin (see
//! `tables`), so a query never sees half of an unfinished run.

use std::io::Write;

use arrow::array::RecordBatch;
use datafusion::execution::context::SQLOptions;
use object_store::ObjectStoreExt;
use url::Url;

use crate::error::{Error, Result};
use crate::session::{SessionOptions, session};
use crate::storage::{Storage, store_path};
use crate::tables::ResultStore;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// An aligned text table.
    Table,
    /// CSV with a header.
    Csv,
    /// JSON lines, one object per row.
    Json,
    /// Parquet (needs a destination).
    Parquet,
}

impl std::str::FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "table" => Ok(Format::Table),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "parquet" => Ok(Format::Parquet),
            other => Err(Error::Usage(format!(
                "unknown format '{other}': use table, csv, json or parquet"
            ))),
        }
    }
}

/// Runs a read-only query and returns its batches.
pub async fn query(
    storage: &Storage,
    input: &Url,
    output: &Url,
    sql: &str,
) -> Result<Vec<RecordBatch>> {
    // Files can be queried by path too: SELECT * FROM 'sample-data/_truth/post_visits/'.
    let ctx = session(SessionOptions::default())?.enable_url_table();
    if output.scheme() != "memory" {
        let results = ResultStore::new(storage.clone(), output.clone())?;
        results.register_all(&ctx).await?;
    }
    match crate::catalog::register_raw(&ctx, storage, input).await {
        Ok(found) => {
            // Only raw.<table> is for analysts; the typed plans are internals.
            for d in found {
                ctx.deregister_table(crate::sqltext::quote_ident(
                    &crate::catalog::validate::typed_name(d.spec.name),
                ))?;
            }
        }
        // Results can be queried without the raw data at hand.
        Err(Error::MissingInput(m)) => tracing::warn!("raw tables not registered: {m}"),
        Err(e) => return Err(e),
    }
    let options = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let df = ctx.sql_with_options(sql, options).await.map_err(|e| {
        let msg = e.to_string();
        if msg.contains("not supported")
            && (msg.contains("DDL") || msg.contains("DML") || msg.contains("Statement"))
        {
            Error::Usage(format!("halo sql is read-only: {msg}"))
        } else if msg.contains("single SQL statement") {
            Error::Usage(format!(
                "halo sql runs one statement at a time (nothing was run): {msg}"
            ))
        } else {
            Error::Usage(format!("query failed: {msg}"))
        }
    })?;
    Ok(df.collect().await?)
}

/// Encodes batches in a format.
pub fn encode(batches: &[RecordBatch], format: Format) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    match format {
        Format::Table => {
            let t = arrow::util::pretty::pretty_format_batches(batches)?;
            writeln!(buf, "{t}")?;
        }
        Format::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut buf);
            for b in batches {
                w.write(b)?;
            }
        }
        Format::Json => {
            let mut w = arrow::json::LineDelimitedWriter::new(&mut buf);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
        Format::Parquet => {
            let schema = batches.first().map(|b| b.schema()).ok_or_else(|| {
                Error::Usage("the query returned no batches to write as Parquet".into())
            })?;
            let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, schema, None)?;
            for b in batches {
                w.write(b)?;
            }
            w.close()?;
        }
    }
    Ok(buf)
}

/// Writes encoded output to a URL (a file path or an object-store URL).
pub async fn write_to(storage: &Storage, to: &str, bytes: Vec<u8>) -> Result<()> {
    let url = if to.contains("://") {
        Url::parse(to).map_err(|e| Error::Usage(format!("--to '{to}': {e}")))?
    } else {
        let p = std::path::absolute(to).map_err(|e| Error::Usage(format!("--to '{to}': {e}")))?;
        Url::from_file_path(&p)
            .map_err(|_| Error::Usage(format!("--to '{to}' is not a usable path")))?
    };
    if url.scheme() == "file" {
        let p = url
            .to_file_path()
            .map_err(|_| Error::Usage(format!("--to '{to}'")))?;
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir)?;
        }
    }
    let store = storage.store_for(&url)?;
    store.put(&store_path(&url)?, bytes.into()).await?;
    Ok(())
}
