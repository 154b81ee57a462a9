//! Arrow in and out for the payout tables: reading the built-in's inputs by
//! column name, and writing `payout_lines` and `payouts` with their contract
//! types (decimals stay decimals).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int64Array,
    RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use bigdecimal::BigDecimal;
use chrono::NaiveDate;

use super::book::{Line, Payout};
use crate::error::{Error, Result};
use crate::money::big;
use crate::time::days_since_epoch;

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn money() -> DataType {
    DataType::Decimal128(18, 2)
}

/// Schema of `payout_lines` (without `dt`).
pub fn lines_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("line_id", DataType::Utf8, false),
        Field::new("payout_id", DataType::Utf8, true),
        Field::new("creator_id", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("order_id", DataType::Utf8, true),
        Field::new("ordered_at", ts(), true),
        Field::new("plan_id", DataType::Utf8, true),
        Field::new("credit_basis", DataType::Utf8, true),
        Field::new("via", DataType::Utf8, true),
        Field::new("campaign_id", DataType::Utf8, true),
        Field::new("share", DataType::Float64, true),
        Field::new("base", money(), true),
        Field::new("rate_percent", DataType::Decimal128(9, 4), true),
        Field::new("flat", money(), true),
        Field::new("gross", money(), false),
        Field::new("reversal", money(), false),
        Field::new("amount", money(), false),
        Field::new("currency", DataType::Utf8, false),
        Field::new("lock_until", DataType::Date32, true),
        Field::new("period", DataType::Utf8, true),
        Field::new("status", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
    ]))
}

/// Schema of `payouts` (without `dt`).
pub fn payouts_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("payout_id", DataType::Utf8, false),
        Field::new("creator_id", DataType::Utf8, false),
        Field::new("period", DataType::Utf8, false),
        Field::new("currency", DataType::Utf8, false),
        Field::new("gross", money(), false),
        Field::new("reversals", money(), false),
        Field::new("clawbacks", money(), false),
        Field::new("adjustments", money(), false),
        Field::new("net", money(), false),
        Field::new("lines", DataType::Int64, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("decided_by", DataType::Utf8, true),
        Field::new("decided_at", ts(), true),
        Field::new("note", DataType::Utf8, true),
        Field::new("ledger_seq", DataType::Int64, true),
        Field::new("computed_as_of", DataType::Date32, false),
    ]))
}

fn dec(values: Vec<Option<i128>>, p: u8, s: i8) -> Result<ArrayRef> {
    Ok(Arc::new(
        Decimal128Array::from(values).with_precision_and_scale(p, s)?,
    ))
}

fn strs<'a>(v: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(v.collect::<StringArray>())
}

fn date(d: NaiveDate) -> i32 {
    days_since_epoch(d)
}

/// `payout_lines` as one batch.
pub fn lines_batch(lines: &[Line]) -> Result<RecordBatch> {
    let cols: Vec<ArrayRef> = vec![
        strs(lines.iter().map(|l| Some(l.line_id.as_str()))),
        strs(lines.iter().map(|l| l.payout_id.as_deref())),
        strs(lines.iter().map(|l| Some(l.creator_id.as_str()))),
        strs(lines.iter().map(|l| Some(l.kind.as_str()))),
        strs(lines.iter().map(|l| l.order_id.as_deref())),
        Arc::new(
            lines
                .iter()
                .map(|l| l.ordered_at)
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC"),
        ),
        strs(lines.iter().map(|l| l.plan_id.as_deref())),
        strs(lines.iter().map(|l| l.credit_basis.as_deref())),
        strs(lines.iter().map(|l| l.via.as_deref())),
        strs(lines.iter().map(|l| l.campaign_id.as_deref())),
        Arc::new(lines.iter().map(|l| l.share).collect::<Float64Array>()),
        dec(lines.iter().map(|l| l.base).collect(), 18, 2)?,
        dec(lines.iter().map(|l| l.rate_percent).collect(), 9, 4)?,
        dec(lines.iter().map(|l| l.flat).collect(), 18, 2)?,
        dec(lines.iter().map(|l| Some(l.gross)).collect(), 18, 2)?,
        dec(lines.iter().map(|l| Some(l.reversal)).collect(), 18, 2)?,
        dec(lines.iter().map(|l| Some(l.amount)).collect(), 18, 2)?,
        strs(lines.iter().map(|l| Some(l.currency.as_str()))),
        Arc::new(
            lines
                .iter()
                .map(|l| l.lock_until.map(date))
                .collect::<Date32Array>(),
        ),
        strs(lines.iter().map(|l| l.period.as_deref())),
        strs(lines.iter().map(|l| Some(l.status.as_str()))),
        strs(lines.iter().map(|l| Some(l.reason.as_str()))),
    ];
    Ok(RecordBatch::try_new(lines_schema(), cols)?)
}

/// `payouts` as one batch.
pub fn payouts_batch(payouts: &[Payout]) -> Result<RecordBatch> {
    let cols: Vec<ArrayRef> = vec![
        strs(payouts.iter().map(|p| Some(p.payout_id.as_str()))),
        strs(payouts.iter().map(|p| Some(p.creator_id.as_str()))),
        strs(payouts.iter().map(|p| Some(p.period.as_str()))),
        strs(payouts.iter().map(|p| Some(p.currency.as_str()))),
        dec(payouts.iter().map(|p| Some(p.gross)).collect(), 18, 2)?,
        dec(payouts.iter().map(|p| Some(p.reversals)).collect(), 18, 2)?,
        dec(payouts.iter().map(|p| Some(p.clawbacks)).collect(), 18, 2)?,
        dec(payouts.iter().map(|p| Some(p.adjustments)).collect(), 18, 2)?,
        dec(payouts.iter().map(|p| Some(p.net)).collect(), 18, 2)?,
        Arc::new(
            payouts
                .iter()
                .map(|p| Some(p.lines))
                .collect::<Int64Array>(),
        ),
        strs(payouts.iter().map(|p| Some(p.status.as_str()))),
        strs(payouts.iter().map(|p| p.decided_by.as_deref())),
        Arc::new(
            payouts
                .iter()
                .map(|p| p.decided_at)
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC"),
        ),
        strs(payouts.iter().map(|p| p.note.as_deref())),
        Arc::new(payouts.iter().map(|p| p.ledger_seq).collect::<Int64Array>()),
        Arc::new(
            payouts
                .iter()
                .map(|p| Some(date(p.computed_as_of)))
                .collect::<Date32Array>(),
        ),
    ];
    Ok(RecordBatch::try_new(payouts_schema(), cols)?)
}

/// Typed access to one batch's columns by name; `input` names the SQL in errors.
#[allow(missing_docs)]
pub struct Cols<'a> {
    pub batch: &'a RecordBatch,
    pub input: &'a str,
}

impl<'a> Cols<'a> {
    fn col(&self, name: &str) -> Result<&'a ArrayRef> {
        self.batch
            .column_by_name(name)
            .ok_or_else(|| Error::Config(format!("{} has no column {name}", self.input)))
    }

    /// A string column (any string encoding).
    pub fn strings(&self, name: &str) -> Result<StringArray> {
        crate::builtin::strings(self.batch, self.input, name)
    }

    /// A decimal column as exact values.
    pub fn decimals(&self, name: &str) -> Result<Vec<Option<BigDecimal>>> {
        let c = self.col(name)?;
        let DataType::Decimal128(_, s) = c.data_type() else {
            return Err(Error::Config(format!(
                "{}: column {name} must be a decimal, found {}",
                self.input,
                c.data_type()
            )));
        };
        let a = c.as_primitive::<arrow::datatypes::Decimal128Type>();
        Ok((0..a.len())
            .map(|i| a.is_valid(i).then(|| big(a.value(i), *s)))
            .collect())
    }

    /// A decimal column as minor units of its own scale.
    pub fn units(&self, name: &str) -> Result<Vec<Option<i128>>> {
        let c = self.col(name)?;
        let a = c
            .as_primitive_opt::<arrow::datatypes::Decimal128Type>()
            .ok_or_else(|| {
                Error::Config(format!("{}: column {name} must be a decimal", self.input))
            })?;
        Ok(a.iter().collect())
    }

    /// A timestamp column as UTC microseconds.
    pub fn micros(&self, name: &str) -> Result<Vec<Option<i64>>> {
        let c = arrow::compute::cast(self.col(name)?, &ts())?;
        Ok(
            c.as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
                .iter()
                .collect(),
        )
    }

    /// A date column.
    pub fn dates(&self, name: &str) -> Result<Vec<Option<NaiveDate>>> {
        let c = arrow::compute::cast(self.col(name)?, &DataType::Date32)?;
        Ok(c.as_primitive::<arrow::datatypes::Date32Type>()
            .iter()
            .map(|d| d.and_then(|d| NaiveDate::from_num_days_from_ce_opt(d + 719_163)))
            .collect())
    }

    /// A boolean column.
    pub fn bools(&self, name: &str) -> Result<BooleanArray> {
        Ok(arrow::compute::cast(self.col(name)?, &DataType::Boolean)?
            .as_boolean()
            .clone())
    }

    /// An integer column.
    pub fn ints(&self, name: &str) -> Result<Vec<Option<i64>>> {
        let c = arrow::compute::cast(self.col(name)?, &DataType::Int64)?;
        Ok(c.as_primitive::<arrow::datatypes::Int64Type>()
            .iter()
            .collect())
    }

    /// A float column.
    pub fn floats(&self, name: &str) -> Result<Vec<Option<f64>>> {
        let c = arrow::compute::cast(self.col(name)?, &DataType::Float64)?;
        Ok(c.as_primitive::<arrow::datatypes::Float64Type>()
            .iter()
            .collect())
    }

    /// The raw column.
    pub fn array(&self, name: &str) -> Result<&'a ArrayRef> {
        self.col(name)
    }
}

fn opt(a: &StringArray, i: usize) -> Option<String> {
    a.is_valid(i).then(|| a.value(i).to_string())
}

/// Reads `payout_lines`-shaped batches back into lines.
pub fn read_lines(batches: &[RecordBatch], input: &str) -> Result<Vec<Line>> {
    let mut out = Vec::new();
    for b in batches {
        let c = Cols { batch: b, input };
        let (
            line_id,
            payout_id,
            creator,
            kind,
            order,
            plan,
            basis,
            via,
            campaign,
            currency,
            period,
            status,
            reason,
        ) = (
            c.strings("line_id")?,
            c.strings("payout_id")?,
            c.strings("creator_id")?,
            c.strings("kind")?,
            c.strings("order_id")?,
            c.strings("plan_id")?,
            c.strings("credit_basis")?,
            c.strings("via")?,
            c.strings("campaign_id")?,
            c.strings("currency")?,
            c.strings("period")?,
            c.strings("status")?,
            c.strings("reason")?,
        );
        let ordered_at = c.micros("ordered_at")?;
        let share = c.floats("share")?;
        let base = c.units("base")?;
        let rate = c.units("rate_percent")?;
        let flat = c.units("flat")?;
        let gross = c.units("gross")?;
        let reversal = c.units("reversal")?;
        let amount = c.units("amount")?;
        let lock = c.dates("lock_until")?;
        for i in 0..b.num_rows() {
            out.push(Line {
                line_id: line_id.value(i).to_string(),
                payout_id: opt(&payout_id, i),
                creator_id: creator.value(i).to_string(),
                kind: kind.value(i).to_string(),
                order_id: opt(&order, i),
                ordered_at: ordered_at[i],
                plan_id: opt(&plan, i),
                credit_basis: opt(&basis, i),
                via: opt(&via, i),
                campaign_id: opt(&campaign, i),
                share: share[i],
                base: base[i],
                rate_percent: rate[i],
                flat: flat[i],
                gross: gross[i].unwrap_or(0),
                reversal: reversal[i].unwrap_or(0),
                amount: amount[i].unwrap_or(0),
                currency: currency.value(i).to_string(),
                lock_until: lock[i],
                period: opt(&period, i),
                status: status.value(i).to_string(),
                reason: reason.value(i).to_string(),
            });
        }
    }
    Ok(out)
}

/// Reads `payouts`-shaped batches (plus decision columns) back into payouts.
pub fn read_payouts(batches: &[RecordBatch], input: &str) -> Result<Vec<Payout>> {
    let mut out = Vec::new();
    for b in batches {
        let c = Cols { batch: b, input };
        let (id, creator, period, currency, status, by, note) = (
            c.strings("payout_id")?,
            c.strings("creator_id")?,
            c.strings("period")?,
            c.strings("currency")?,
            c.strings("status")?,
            c.strings("decided_by")?,
            c.strings("note")?,
        );
        let (gross, rev, claw, adj, net) = (
            c.units("gross")?,
            c.units("reversals")?,
            c.units("clawbacks")?,
            c.units("adjustments")?,
            c.units("net")?,
        );
        let lines = c.ints("lines")?;
        let at = c.micros("decided_at")?;
        let seq = c.ints("ledger_seq")?;
        let as_of = c.dates("computed_as_of")?;
        for i in 0..b.num_rows() {
            out.push(Payout {
                payout_id: id.value(i).to_string(),
                creator_id: creator.value(i).to_string(),
                period: period.value(i).to_string(),
                currency: currency.value(i).to_string(),
                gross: gross[i].unwrap_or(0),
                reversals: rev[i].unwrap_or(0),
                clawbacks: claw[i].unwrap_or(0),
                adjustments: adj[i].unwrap_or(0),
                net: net[i].unwrap_or(0),
                lines: lines[i].unwrap_or(0),
                status: status.value(i).to_string(),
                decided_by: opt(&by, i),
                decided_at: at[i],
                note: opt(&note, i),
                ledger_seq: seq[i],
                computed_as_of: as_of[i].unwrap_or_default(),
            });
        }
    }
    Ok(out)
}
