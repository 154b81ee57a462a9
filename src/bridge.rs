//! Moves columnar data between arrow-rs (DataFusion) and Polars through the
//! Arrow C Data Interface, without copying buffers.
//!
//! This is the engine's only `unsafe`: both sides implement the same C ABI
//! (`struct ArrowArray`, `struct ArrowSchema`), so a struct exported by one
//! library is imported by the other. Nullability does not survive the trip
//! (Polars marks every column nullable), and strings come back as `Utf8View`.

use std::sync::Arc;

use arrow::array::{RecordBatch, make_array};
use arrow::datatypes::{Field, Schema};
use arrow::ffi::{FFI_ArrowArray, FFI_ArrowSchema, from_ffi, to_ffi};
use polars::prelude::{CompatLevel, DataFrame, IntoColumn, SchemaExt, Series};
use polars_arrow::ffi as pa_ffi;

use crate::error::{Error, Result};

/// Converts arrow-rs batches (one schema) into one Polars DataFrame.
pub fn to_polars(batches: &[RecordBatch]) -> Result<DataFrame> {
    let mut frames = batches.iter().map(batch_to_polars);
    let Some(first) = frames.next() else {
        return Err(Error::Internal(
            "to_polars needs at least one batch for the schema".into(),
        ));
    };
    let mut df = first?;
    for f in frames {
        df.vstack_mut(&f?)?;
    }
    Ok(df)
}

fn batch_to_polars(batch: &RecordBatch) -> Result<DataFrame> {
    let mut cols = Vec::with_capacity(batch.num_columns());
    for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
        let (a, s) = to_ffi(&array.to_data())?;
        // SAFETY: arrow-rs' FFI_ArrowArray/FFI_ArrowSchema and polars-arrow's
        // ArrowArray/ArrowSchema are both #[repr(C)] definitions of the Arrow C
        // Data Interface structs, so the layouts are identical; ownership (the
        // release callback) moves with the value.
        let s: pa_ffi::ArrowSchema = unsafe { std::mem::transmute(s) };
        let a: pa_ffi::ArrowArray = unsafe { std::mem::transmute(a) };
        // SAFETY: `s` and `a` were just exported by arrow-rs and are valid.
        let f = unsafe { pa_ffi::import_field_from_c(&s)? };
        let arr = unsafe { pa_ffi::import_array_from_c(a, f.dtype().clone())? };
        cols.push(Series::from_arrow(field.name().as_str().into(), arr)?.into_column());
    }
    Ok(DataFrame::new_infer_height(cols)?)
}

/// Converts a Polars DataFrame into arrow-rs batches (at least one, so the
/// schema is known even for an empty frame).
pub fn from_polars(df: &mut DataFrame) -> Result<Vec<RecordBatch>> {
    df.rechunk_mut();
    let schema = df.schema().to_arrow(CompatLevel::newest());
    let mut out = Vec::new();
    for chunk in df.iter_chunks(CompatLevel::newest(), false) {
        let mut fields = Vec::with_capacity(schema.len());
        let mut arrays = Vec::with_capacity(schema.len());
        for (arr, (_, f)) in chunk.into_arrays().into_iter().zip(schema.iter()) {
            // SAFETY: see `batch_to_polars`; the same layouts in the other direction.
            let a: FFI_ArrowArray = unsafe { std::mem::transmute(pa_ffi::export_array_to_c(arr)) };
            let s: FFI_ArrowSchema = unsafe { std::mem::transmute(pa_ffi::export_field_to_c(f)) };
            // SAFETY: `a` and `s` were just exported by polars-arrow and are valid.
            let data = unsafe { from_ffi(a, &s) }?;
            fields.push(Field::try_from(&s)?);
            arrays.push(make_array(data));
        }
        out.push(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?);
    }
    if out.is_empty() {
        // No chunks (an empty frame): still return the schema, as one empty batch.
        let mut fields = Vec::with_capacity(schema.len());
        for (_, f) in schema.iter() {
            // SAFETY: see `batch_to_polars`.
            let s: FFI_ArrowSchema = unsafe { std::mem::transmute(pa_ffi::export_field_to_c(f)) };
            fields.push(Field::try_from(&s)?);
        }
        out.push(RecordBatch::new_empty(Arc::new(Schema::new(fields))));
    }
    Ok(out)
}
