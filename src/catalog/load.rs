//! Finds each input table's Parquet files, checks every file's schema against
//! the contract, and builds one typed DataFusion plan per table.
//!
//! Promises:
//! - files are read in path order, and every row carries its file (`_file`) and
//!   row number within the file (`_row`), so "the first by file path and row
//!   number" is well defined whatever order the store lists files in;
//! - a file that is not Parquet, a missing required column or a type that
//!   cannot be cast losslessly stops the load with [`Error::InvalidInput`]
//!   naming the file, the column and the expected type;
//! - a missing required table is [`Error::MissingInput`].

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::datasource::MemTable;
use datafusion::functions_window::expr_fn::row_number;
use datafusion::prelude::{
    DataFrame, Expr, ParquetReadOptions, SessionContext, cast, ident, lit, when,
};
use object_store::ObjectMeta;
use parquet::arrow::parquet_to_arrow_schema;
use parquet::file::metadata::ParquetMetaDataReader;
use url::Url;

use super::contract::{Kind, TABLES, TableSpec};
use crate::error::{Error, Result};
use crate::storage::Storage;

/// Helper columns every typed plan carries besides the contract's: the
/// file's index in the table's path-ordered file list (an integer, so that
/// 20 million rows do not each carry a URL).
pub const FILE_COL: &str = "_file";
/// Row number within the file, from 1.
pub const ROW_COL: &str = "_row";
/// A reason found while casting (a lossy timestamp), or null.
pub const CAST_REASON_COL: &str = "_cast_reason";

/// One input file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InputFile {
    /// The table it belongs to.
    pub table: String,
    /// Its full URL.
    pub url: String,
    /// Its size in bytes.
    pub bytes: u64,
}

/// A table's files as found under the input root.
#[derive(Debug, Clone)]
pub struct Discovered {
    /// The contract of the table.
    pub spec: &'static TableSpec,
    /// Its files in path order; empty when the table is absent.
    pub files: Vec<InputFile>,
    /// Optional contract columns that no file has (filled with nulls).
    pub absent_columns: Vec<String>,
}

/// Lists every contract table under `root`. Hidden files and files whose name
/// starts with `_` (`_SUCCESS`, `_delta_log`, ...) are ignored; folders named
/// `dt=YYYY-MM-DD` (Hive partitions) are walked like any other.
pub async fn discover(storage: &Storage, root: &Url) -> Result<Vec<Discovered>> {
    let mut out = Vec::with_capacity(TABLES.len());
    for spec in TABLES.iter() {
        let table_url = root
            .join(&format!("{}/", spec.name))
            .map_err(|e| Error::Usage(format!("input root '{root}': {e}")))?;
        let objects = storage
            .list(&table_url)
            .await
            .map_err(|e| e.context(format!("listing table {} at {table_url}", spec.name)))?;
        let depth = crate::storage::store_path(&table_url)?.parts().count();
        let files = objects
            .into_iter()
            .filter(|o| is_data_file(o, depth))
            .map(|o| InputFile {
                table: spec.name.to_string(),
                url: Storage::object_url(root, &o.location).to_string(),
                bytes: o.size,
            })
            .collect();
        out.push(Discovered {
            spec,
            files,
            absent_columns: Vec::new(),
        });
    }
    let missing: Vec<&str> = out
        .iter()
        .filter(|d| d.spec.required && d.files.is_empty())
        .map(|d| d.spec.name)
        .collect();
    if !missing.is_empty() {
        return Err(Error::MissingInput(format!(
            "required table(s) {} not found under {root} (expected a folder per table holding Parquet files)",
            missing.join(", ")
        )));
    }
    Ok(out)
}

/// Whether an object below a table folder (`depth` path parts deep) is data:
/// no part of its path below the folder may start with `_` or `.`.
fn is_data_file(o: &ObjectMeta, depth: usize) -> bool {
    !o.location
        .parts()
        .skip(depth)
        .any(|p| p.as_ref().starts_with('_') || p.as_ref().starts_with('.'))
}

/// How a file's column becomes the contract type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coercion {
    /// Same type, or a lossless cast.
    Cast,
    /// Nanosecond timestamps: cast, and reject rows with a sub-microsecond part.
    Nanos,
}

/// Decides whether `actual` can become `kind` without loss.
fn coercion(actual: &DataType, kind: Kind) -> std::result::Result<Coercion, ()> {
    use DataType as D;
    let ok = match (kind, actual) {
        (Kind::Str, D::Utf8 | D::LargeUtf8 | D::Utf8View) => true,
        (Kind::Str, D::Dictionary(_, v)) => matches!(**v, D::Utf8 | D::LargeUtf8 | D::Utf8View),
        (Kind::Int32, D::Int8 | D::Int16 | D::Int32 | D::UInt8 | D::UInt16) => true,
        (
            Kind::Int64,
            D::Int8 | D::Int16 | D::Int32 | D::Int64 | D::UInt8 | D::UInt16 | D::UInt32,
        ) => true,
        (Kind::Float64, D::Float16 | D::Float32 | D::Float64) => true,
        (Kind::Bool, D::Boolean) => true,
        (Kind::Timestamp, D::Timestamp(TimeUnit::Nanosecond, _)) => return Ok(Coercion::Nanos),
        (Kind::Timestamp, D::Timestamp(_, _)) => true,
        (Kind::Date, D::Date32 | D::Date64) => true,
        (Kind::Money | Kind::Percent | Kind::FxRate, d) => decimal_fits(d, &kind.data_type()),
        (Kind::StrList, d) => list_item(d).is_some_and(|i| coercion(i, Kind::Str).is_ok()),
        (Kind::AudienceCountries | Kind::DetectedProducts | Kind::Tiers, d) => {
            struct_list_fits(d, &kind.data_type())
        }
        _ => false,
    };
    if ok { Ok(Coercion::Cast) } else { Err(()) }
}

fn decimal_fits(actual: &DataType, target: &DataType) -> bool {
    let (tp, ts) = match target {
        DataType::Decimal128(p, s) => (*p as i16, *s as i16),
        _ => return false,
    };
    let (p, s) = match actual {
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) | DataType::Decimal128(p, s) => {
            (*p as i16, *s as i16)
        }
        _ => return false,
    };
    s <= ts && p - s <= tp - ts
}

fn list_item(d: &DataType) -> Option<&DataType> {
    match d {
        DataType::List(f) | DataType::LargeList(f) => Some(f.data_type()),
        _ => None,
    }
}

fn struct_list_fits(actual: &DataType, target: &DataType) -> bool {
    let (Some(DataType::Struct(have)), Some(DataType::Struct(want))) =
        (list_item(actual), list_item(target))
    else {
        return false;
    };
    want.iter().all(|w| {
        have.iter().any(|h| {
            h.name() == w.name()
                && (h.data_type() == w.data_type()
                    || match w.data_type() {
                        DataType::Utf8 => coercion(h.data_type(), Kind::Str).is_ok(),
                        DataType::Float64 => coercion(h.data_type(), Kind::Float64).is_ok(),
                        d @ DataType::Decimal128(_, _) => decimal_fits(h.data_type(), d),
                        _ => false,
                    })
        })
    }) && have.len() == want.len()
}

/// Reads a file's footer and returns its Arrow schema, or says why it is not
/// a usable Parquet file. Only the footer is fetched.
async fn file_schema(storage: &Storage, file: &InputFile) -> Result<Arc<Schema>> {
    use object_store::ObjectStoreExt;
    let not_parquet = |why: String| {
        Error::InvalidInput(format!(
            "table {}: file {} is not a readable Parquet file ({why})",
            file.table, file.url
        ))
    };
    let url = Url::parse(&file.url).map_err(|e| Error::Internal(format!("{}: {e}", file.url)))?;
    let store = storage.store_for(&url)?;
    let path = crate::storage::store_path(&url)?;
    if file.bytes < 12 {
        return Err(not_parquet(format!("only {} bytes", file.bytes)));
    }
    let tail = store.get_range(&path, file.bytes - 8..file.bytes).await?;
    if &tail[4..8] != b"PAR1" {
        return Err(not_parquet("no PAR1 magic at the end".into()));
    }
    let len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if len + 12 > file.bytes {
        return Err(not_parquet(format!("footer length {len} exceeds the file")));
    }
    let footer = store
        .get_range(&path, file.bytes - 8 - len..file.bytes - 8)
        .await?;
    let meta =
        ParquetMetaDataReader::decode_metadata(&footer).map_err(|e| not_parquet(e.to_string()))?;
    let fm = meta.file_metadata();
    let schema = parquet_to_arrow_schema(fm.schema_descr(), fm.key_value_metadata())
        .map_err(|e| not_parquet(e.to_string()))?;
    Ok(Arc::new(schema))
}

/// Checks a file's schema against the contract and returns, per contract
/// column, how to produce it (None = absent optional column, filled with nulls).
async fn check_file(
    storage: &Storage,
    spec: &TableSpec,
    file: &InputFile,
) -> Result<Vec<Option<Coercion>>> {
    let schema = file_schema(storage, file).await?;
    let mut plan = Vec::with_capacity(spec.columns.len());
    for c in &spec.columns {
        match schema.field_with_name(c.name) {
            Ok(f) => match coercion(f.data_type(), c.kind) {
                Ok(co) => plan.push(Some(co)),
                Err(()) => {
                    return Err(Error::InvalidInput(format!(
                        "table {}, column {}: file {} has type {}, expected {} (or a type that casts to it without loss)",
                        spec.name,
                        c.name,
                        file.url,
                        f.data_type(),
                        c.kind.spelling()
                    )));
                }
            },
            Err(_) if c.required => {
                return Err(Error::InvalidInput(format!(
                    "table {}, column {}: required column missing in file {} (expected {})",
                    spec.name,
                    c.name,
                    file.url,
                    c.kind.spelling()
                )));
            }
            Err(_) => plan.push(None),
        }
    }
    Ok(plan)
}

/// The typed plan of one file: contract columns cast to their contract
/// types, plus `_file`, `_row` and `_cast_reason`; and which contract columns
/// the file has.
async fn typed_file(
    ctx: &SessionContext,
    storage: &Storage,
    spec: &TableSpec,
    file: &InputFile,
    index: usize,
) -> Result<(DataFrame, Vec<bool>)> {
    let plan = check_file(storage, spec, file).await?;
    let df = ctx
        .read_parquet(
            file.url.as_str(),
            ParquetReadOptions::default().skip_metadata(false),
        )
        .await
        .map_err(|e| Error::from(e).context(format!("table {}: file {}", spec.name, file.url)))?;
    // Numbering must follow the file's own row order: with file-scan
    // repartitioning off (see `session`), one file is one ordered partition.
    let df = df.window(vec![row_number().alias(ROW_COL)])?;
    let mut exprs: Vec<Expr> = Vec::with_capacity(spec.columns.len() + 3);
    let mut lossy: Vec<(Expr, Expr)> = Vec::new();
    for (c, how) in spec.columns.iter().zip(&plan) {
        let target = c.kind.data_type();
        let e = match how {
            Some(co) => {
                if *co == Coercion::Nanos {
                    let sub_micro = cast(ident(c.name), DataType::Int64) % lit(1000i64);
                    lossy.push((
                        sub_micro.not_eq(lit(0i64)),
                        lit(format!("lossy_timestamp:{}", c.name)),
                    ));
                }
                cast(ident(c.name), target)
            }
            None => cast(lit(ScalarValue::Null), target),
        };
        exprs.push(e.alias(c.name));
    }
    let index = i32::try_from(index).map_err(|_| {
        Error::InvalidInput(format!("table {} has more than 2^31 files", spec.name))
    })?;
    exprs.push(lit(index).alias(FILE_COL));
    exprs.push(cast(ident(ROW_COL), DataType::Int64).alias(ROW_COL));
    let reason = match lossy.split_first() {
        None => cast(lit(ScalarValue::Null), DataType::Utf8),
        Some(((c0, r0), rest)) => {
            let mut w = when(c0.clone(), r0.clone());
            for (c, r) in rest {
                w = w.when(c.clone(), r.clone());
            }
            w.otherwise(cast(lit(ScalarValue::Null), DataType::Utf8))?
        }
    };
    exprs.push(reason.alias(CAST_REASON_COL));
    let has: Vec<bool> = plan.iter().map(Option::is_some).collect();
    Ok((df.select(exprs)?, has))
}

/// The schema of a typed plan: the contract's columns plus the helper columns.
pub fn typed_schema(spec: &TableSpec) -> Arc<Schema> {
    let mut fields = spec.arrow_fields();
    // Nullability is relaxed: the validator, not the type, enforces "required".
    fields = fields.into_iter().map(|f| f.with_nullable(true)).collect();
    fields.push(Field::new(FILE_COL, DataType::Int32, true));
    fields.push(Field::new(ROW_COL, DataType::Int64, true));
    fields.push(Field::new(CAST_REASON_COL, DataType::Utf8, true));
    Arc::new(Schema::new(fields))
}

/// The typed plan of a whole table: the union of its files in path order.
/// An absent table gives an empty plan with the contract schema. Also
/// records in `table.absent_columns` the optional columns no file has.
pub async fn typed_table(
    ctx: &SessionContext,
    storage: &Storage,
    table: &mut Discovered,
) -> Result<DataFrame> {
    let mut plan: Option<DataFrame> = None;
    let mut seen = vec![false; table.spec.columns.len()];
    for (index, file) in table.files.iter().enumerate() {
        let (df, has) = typed_file(ctx, storage, table.spec, file, index).await?;
        seen.iter_mut().zip(has).for_each(|(s, h)| *s |= h);
        plan = Some(match plan {
            None => df,
            Some(p) => p.union(df)?,
        });
    }
    if !table.files.is_empty() {
        table.absent_columns = table
            .spec
            .columns
            .iter()
            .zip(seen)
            .filter(|(_, s)| !s)
            .map(|(c, _)| c.name.to_string())
            .collect();
    }
    match plan {
        Some(p) => Ok(p),
        None => {
            let empty = MemTable::try_new(typed_schema(table.spec), vec![vec![]])?;
            Ok(ctx.read_table(Arc::new(empty))?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coercions_accept_lossless_and_refuse_lossy_types() {
        use DataType as D;
        assert!(coercion(&D::LargeUtf8, Kind::Str).is_ok());
        assert!(coercion(&D::Utf8View, Kind::Str).is_ok());
        assert!(coercion(&D::Int64, Kind::Int32).is_err());
        assert!(coercion(&D::Int16, Kind::Int32).is_ok());
        assert!(
            coercion(&D::Float64, Kind::Money).is_err(),
            "money is never a float"
        );
        assert!(coercion(&D::Decimal128(10, 2), Kind::Money).is_ok());
        assert!(coercion(&D::Decimal128(12, 0), Kind::Money).is_ok());
        assert!(
            coercion(&D::Decimal128(18, 3), Kind::Money).is_err(),
            "third decimal would be lost"
        );
        assert!(coercion(&D::Decimal128(19, 2), Kind::Money).is_err());
        assert_eq!(
            coercion(&D::Timestamp(TimeUnit::Nanosecond, None), Kind::Timestamp),
            Ok(Coercion::Nanos)
        );
        assert_eq!(
            coercion(&D::Timestamp(TimeUnit::Millisecond, None), Kind::Timestamp),
            Ok(Coercion::Cast)
        );
        assert!(coercion(&D::Date32, Kind::Timestamp).is_err());
        let large_list = D::LargeList(Arc::new(Field::new("x", D::LargeUtf8, true)));
        assert!(coercion(&large_list, Kind::StrList).is_ok());
    }
}
