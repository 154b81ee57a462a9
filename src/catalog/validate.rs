//! Turns the contract into one validation plan per table and materialises its
//! result, so that every row ends either clean or rejected with one reason.
//!
//! Reasons, checked in this order (the first that applies is the row's reason):
//! 1. `lossy_timestamp:<col>`: a nanosecond timestamp with a sub-microsecond part;
//! 2. `null_required:<col>`: a required column is null;
//! 3. `unknown_enum:<col>`: a value outside the column's enumeration;
//! 4. `unknown_currency:<col>`: not an ISO 4217 code;
//! 5. `invalid_value:<col>`: a value rule (positive, non-negative, 0-1) fails;
//! 6. `future_event:<col>`: an event later than the run's wall-clock time;
//! 7. `duplicate_key`: the key was already seen in a row that passed 1-6, in
//!    (file path, row number) order; the first such row is kept. Only keys
//!    that occur more than once are ranked (a hash aggregate finds them), so
//!    the common case never sorts the whole table;
//! 8. `dangling_fk:<col>-><table>`: the parent key is not among the parent's
//!    clean rows (checked only when the parent table is present);
//! 9. for refunds, `currency_mismatch:currency` and `refund_exceeds_order`
//!    (refunds accumulate per order in (refunded_at, refund_id) order).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{AsArray, Int64Array};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use iso_currency::IntoEnumIterator;

use super::contract::{Rule, TableSpec};
use super::load::{CAST_REASON_COL, FILE_COL, ROW_COL};
use crate::error::{Error, Result};
use crate::sqltext::{quote_ident, quote_str, timestamp_literal};

/// The reason column of a validated table.
pub const REASON_COL: &str = "_reason";

/// Row counts of one validated table.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Counts {
    /// Rows read.
    pub rows: u64,
    /// Rows kept.
    pub clean: u64,
    /// Rejected rows by reason.
    pub rejected: BTreeMap<String, u64>,
}

/// Name of the registered, materialised validation result of `table`.
pub fn validated_name(table: &str) -> String {
    format!("_validated_{table}")
}

/// Name of the registered typed (unvalidated) plan of `table`.
pub fn typed_name(table: &str) -> String {
    format!("_typed_{table}")
}

/// The schema of a validated table.
pub fn validated_schema(spec: &TableSpec) -> Arc<Schema> {
    let mut fields: Vec<Field> = spec
        .arrow_fields()
        .into_iter()
        .map(|f| f.with_nullable(true))
        .collect();
    fields.push(Field::new(FILE_COL, DataType::Int32, true));
    fields.push(Field::new(ROW_COL, DataType::Int64, true));
    fields.push(Field::new(REASON_COL, DataType::Utf8, true));
    Arc::new(Schema::new(fields))
}

fn key_expr(e: &str) -> String {
    if e.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        quote_ident(e)
    } else {
        e.to_string()
    }
}

fn iso_currencies() -> String {
    let mut codes: Vec<&'static str> = iso_currency::Currency::iter().map(|c| c.code()).collect();
    codes.sort_unstable();
    codes
        .iter()
        .map(|c| quote_str(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The validation SQL of `spec`, reading `_typed_<table>` and the clean views
/// of its parents. `present` names the tables found in the input.
pub fn validation_sql(spec: &TableSpec, present: &HashSet<&str>, now_micros: i64) -> String {
    let mut checks: Vec<String> = Vec::new();
    for c in spec.columns.iter().filter(|c| c.required) {
        checks.push(format!(
            "WHEN {} IS NULL THEN 'null_required:{}'",
            quote_ident(c.name),
            c.name
        ));
    }
    for c in spec.columns.iter().filter(|c| !c.allowed.is_empty()) {
        let list = c
            .allowed
            .iter()
            .map(|v| quote_str(v))
            .collect::<Vec<_>>()
            .join(", ");
        checks.push(format!(
            "WHEN {col} IS NOT NULL AND {col} NOT IN ({list}) THEN 'unknown_enum:{name}'",
            col = quote_ident(c.name),
            name = c.name
        ));
    }
    let currencies = iso_currencies();
    for c in spec
        .columns
        .iter()
        .filter(|c| c.rule == Some(Rule::Currency))
    {
        checks.push(format!(
            "WHEN {col} IS NOT NULL AND {col} NOT IN ({currencies}) THEN 'unknown_currency:{name}'",
            col = quote_ident(c.name),
            name = c.name
        ));
    }
    for c in &spec.columns {
        let cond = match c.rule {
            Some(Rule::Positive) => "> 0",
            Some(Rule::NonNegative) => ">= 0",
            Some(Rule::UnitInterval) => "BETWEEN 0 AND 1",
            _ => continue,
        };
        checks.push(format!(
            "WHEN {col} IS NOT NULL AND NOT ({col} {cond}) THEN 'invalid_value:{name}'",
            col = quote_ident(c.name),
            name = c.name
        ));
    }
    if let Some(t) = spec.event_time {
        checks.push(format!(
            "WHEN {} > {} THEN 'future_event:{t}'",
            quote_ident(t),
            timestamp_literal(now_micros)
        ));
    }
    let row_reason = if checks.is_empty() {
        "CAST(NULL AS VARCHAR)".to_string()
    } else {
        format!("CASE {} END", checks.join(" "))
    };
    let keys: Vec<String> = spec.key_exprs.iter().map(|k| key_expr(k)).collect();
    let key_aliases = keys
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{k} AS _k{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    // Keys may be null in optional key columns (traffic_minutely.country): null equals null here.
    let key_match = keys
        .iter()
        .enumerate()
        .map(|(i, k)| format!("({k} IS NOT DISTINCT FROM d._k{i})"))
        .collect::<Vec<_>>()
        .join(" AND ");
    let keys = keys.join(", ");
    let out_cols: Vec<String> = spec
        .columns
        .iter()
        .map(|c| format!("d.{}", quote_ident(c.name)))
        .chain([format!("d.{FILE_COL}"), format!("d.{ROW_COL}")])
        .collect();

    // One CTE per foreign key. The parent's keys are the small side, so they
    // sit on the left of a RIGHT JOIN: DataFusion builds its hash table from
    // the left input.
    let mut fk_ctes = String::new();
    let mut previous = "dedup".to_string();
    let mut fk_reasons = Vec::new();
    for (i, fk) in spec
        .foreign_keys
        .iter()
        .filter(|f| present.contains(f.parent))
        .enumerate()
    {
        let parent = super::contract::table(fk.parent).expect("contract parents exist");
        fk_ctes.push_str(&format!(
            ", fk{i} AS (SELECT d.*, CASE WHEN d._r1 IS NULL AND d.{col} IS NOT NULL AND p._pk IS NULL \
             THEN 'dangling_fk:{name}->{parent_name}' END AS _f{i} \
             FROM (SELECT {pk} AS _pk FROM {parent}) p RIGHT JOIN {previous} d ON d.{col} = p._pk)",
            pk = quote_ident(parent.key[0]),
            parent = quote_ident(fk.parent),
            col = quote_ident(fk.column),
            name = fk.column,
            parent_name = fk.parent,
        ));
        fk_reasons.push(format!("d._f{i}"));
        previous = format!("fk{i}");
    }
    let reason = std::iter::once("d._r1".to_string())
        .chain(fk_reasons)
        .collect::<Vec<_>>()
        .join(", ");
    let checked = format!(
        "SELECT {cols}, COALESCE({reason}) AS _r2 FROM {previous} d",
        cols = out_cols.join(", ")
    );
    let typed = quote_ident(&typed_name(spec.name));
    // Only keys seen more than once are ranked; the small sides (duplicate
    // keys, ranked rows) are on the left of each join, as build sides.
    let head = format!(
        "WITH base AS (SELECT *, COALESCE({CAST_REASON_COL}, {row_reason}) AS _r0 FROM {typed}), \
         dup_keys AS (SELECT {key_aliases} FROM base WHERE _r0 IS NULL GROUP BY {keys} HAVING count(*) > 1), \
         ranked AS (SELECT {FILE_COL} AS _rf, {ROW_COL} AS _rr, row_number() OVER (PARTITION BY {keys} ORDER BY {FILE_COL}, {ROW_COL}) AS _rn \
                    FROM dup_keys d JOIN base ON {key_match} WHERE _r0 IS NULL), \
         dedup AS (SELECT b.*, CASE WHEN b._r0 IS NOT NULL THEN b._r0 WHEN r._rn > 1 THEN 'duplicate_key' END AS _r1 \
                   FROM ranked r RIGHT JOIN base b ON b.{FILE_COL} = r._rf AND b.{ROW_COL} = r._rr){fk_ctes}, \
         checked AS ({checked})"
    );
    let plain_cols: Vec<String> = spec
        .columns
        .iter()
        .map(|c| quote_ident(c.name))
        .chain([FILE_COL.to_string(), ROW_COL.to_string()])
        .collect();
    match &spec.within_parent {
        Some(w) => {
            let c_cols: Vec<String> = plain_cols.iter().map(|c| format!("c.{c}")).collect();
            let order: Vec<String> = w
                .order_by
                .iter()
                .map(|o| format!("c.{}", quote_ident(o)))
                .collect();
            let (col, amount, limit, cur) = (
                quote_ident(w.column),
                quote_ident(w.amount),
                quote_ident(w.limit),
                quote_ident(w.currency),
            );
            let parent = super::contract::table(w.parent).expect("contract parents exist");
            let pk = quote_ident(parent.key[0]);
            format!(
                "{head}, amounts AS (SELECT {c_cols}, c._r2, p.{limit} AS _limit, p.{cur} AS _parent_currency, \
                 SUM(CASE WHEN c._r2 IS NULL THEN c.{amount} END) OVER (PARTITION BY c.{col} ORDER BY (c._r2 IS NULL) DESC, {order} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS _running \
                 FROM checked c LEFT JOIN {parent_t} p ON c.{col} = p.{pk}) \
                 SELECT {cols}, CASE WHEN _r2 IS NOT NULL THEN _r2 \
                 WHEN {cur} <> _parent_currency THEN 'currency_mismatch:{cur_name}' \
                 WHEN _running > _limit THEN '{reason}' END AS {REASON_COL} FROM amounts",
                c_cols = c_cols.join(", "),
                order = order.join(", "),
                parent_t = quote_ident(w.parent),
                cols = plain_cols.join(", "),
                cur_name = w.currency,
                reason = w.reason,
            )
        }
        None => format!(
            "{head} SELECT {}, _r2 AS {REASON_COL} FROM checked",
            plain_cols.join(", ")
        ),
    }
}

/// Validates one table: materialises `_validated_<table>` under `staging`,
/// registers it and the clean view `<table>`, and returns the counts.
pub async fn validate_table(
    ctx: &SessionContext,
    spec: &TableSpec,
    present: &HashSet<&str>,
    now_micros: i64,
    staging: &Path,
) -> Result<Counts> {
    // The validation plan reads the typed rows three times (DataFusion inlines
    // CTEs); decoding and casting the input once and staging it is cheaper.
    let tname = quote_ident(&typed_name(spec.name));
    let typed_dir = staging.join("typed").join(spec.name);
    std::fs::create_dir_all(&typed_dir)?;
    let typed_dir = format!("{}/", typed_dir.display());
    ctx.table(tname.as_str())
        .await?
        .write_parquet(&typed_dir, DataFrameWriteOptions::new(), None)
        .await
        .map_err(|e| Error::from(e).context(format!("reading table {}", spec.name)))?;
    ctx.deregister_table(tname.as_str())?;
    let schema = super::load::typed_schema(spec);
    ctx.register_parquet(
        tname.as_str(),
        &typed_dir,
        ParquetReadOptions::default().schema(&schema),
    )
    .await?;

    let sql = validation_sql(spec, present, now_micros);
    let dir = staging.join("validated").join(spec.name);
    std::fs::create_dir_all(&dir)?;
    let dir_str = format!("{}/", dir.display());
    let df = ctx
        .sql(&sql)
        .await
        .map_err(|e| Error::Internal(format!("validation plan of table {}: {e}", spec.name)))?;
    if tracing::enabled!(tracing::Level::DEBUG) {
        let physical = df.clone().create_physical_plan().await?;
        let shown = datafusion::physical_plan::displayable(physical.as_ref()).indent(true);
        tracing::debug!(table = spec.name, "validation plan:\n{shown}");
    }
    df.write_parquet(&dir_str, DataFrameWriteOptions::new(), None)
        .await
        .map_err(|e| Error::from(e).context(format!("validating table {}", spec.name)))?;
    let schema = validated_schema(spec);
    let vname = validated_name(spec.name);
    ctx.register_parquet(
        quote_ident(&vname),
        &dir_str,
        ParquetReadOptions::default().schema(&schema),
    )
    .await?;
    let cols = spec
        .columns
        .iter()
        .map(|c| quote_ident(c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let clean = ctx
        .sql(&format!(
            "SELECT {cols} FROM {} WHERE {REASON_COL} IS NULL",
            quote_ident(&vname)
        ))
        .await?;
    ctx.deregister_table(spec.name)?;
    ctx.register_table(spec.name, clean.into_view())?;
    counts(ctx, &vname).await
}

async fn counts(ctx: &SessionContext, validated: &str) -> Result<Counts> {
    let batches = ctx
        .sql(&format!(
            "SELECT {REASON_COL} AS reason, count(*) AS n FROM {} GROUP BY {REASON_COL}",
            quote_ident(validated)
        ))
        .await?
        .collect()
        .await?;
    let mut out = Counts::default();
    for b in &batches {
        let reasons = b
            .column(0)
            .as_string_opt::<i32>()
            .map(|a| a.iter().collect::<Vec<_>>());
        let reasons: Vec<Option<String>> = match reasons {
            Some(v) => v.into_iter().map(|s| s.map(str::to_owned)).collect(),
            None => {
                let casted = arrow::compute::cast(b.column(0), &DataType::Utf8)?;
                casted
                    .as_string::<i32>()
                    .iter()
                    .map(|s| s.map(str::to_owned))
                    .collect()
            }
        };
        let n = b
            .column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| Error::Internal("count(*) is not Int64".into()))?;
        for (r, n) in reasons.into_iter().zip(n.values().iter()) {
            let n = *n as u64;
            out.rows += n;
            match r {
                None => out.clean += n,
                Some(r) => *out.rejected.entry(r).or_default() += n,
            }
        }
    }
    Ok(out)
}
