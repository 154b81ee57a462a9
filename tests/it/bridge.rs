//! The Arrow C Data Interface bridge round-trips every type halo moves.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema};
use halo::bridge::{from_polars, to_polars};

#[test]
fn round_trip_keeps_values_nulls_and_types() {
    let cols: Vec<(&str, ArrayRef)> = vec![
        (
            "i64",
            Arc::new(Int64Array::from(vec![Some(1), None, Some(-7)])),
        ),
        (
            "i32",
            Arc::new(Int32Array::from(vec![Some(3), Some(4), None])),
        ),
        (
            "f64",
            Arc::new(Float64Array::from(vec![Some(1.5), Some(f64::NAN), None])),
        ),
        (
            "s",
            Arc::new(StringArray::from(vec![Some("a"), None, Some("ü")])),
        ),
        (
            "b",
            Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
        ),
        (
            "d",
            Arc::new(Date32Array::from(vec![Some(20_000), None, Some(0)])),
        ),
        (
            "t",
            Arc::new(
                TimestampMicrosecondArray::from(vec![Some(1_700_000_000_123_456), None, Some(0)])
                    .with_timezone("UTC"),
            ),
        ),
    ];
    let schema = Arc::new(Schema::new(
        cols.iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let batch =
        RecordBatch::try_new(schema, cols.iter().map(|(_, a)| a.clone()).collect()).unwrap();
    let mut df = to_polars(&[batch.clone(), batch.clone()]).unwrap();
    assert_eq!(df.height(), 6);
    let back = from_polars(&mut df).unwrap();
    let back = arrow::compute::concat_batches(&back[0].schema(), &back).unwrap();
    assert_eq!(back.num_rows(), 6);
    for (i, (name, original)) in cols.iter().enumerate() {
        let got = back.column(i);
        assert_eq!(back.schema().field(i).name(), name);
        // Strings come back as Utf8View; compare after casting to the original type.
        let got = arrow::compute::cast(got, original.data_type()).unwrap();
        let expected = arrow::compute::concat(&[original.as_ref(), original.as_ref()]).unwrap();
        if *name == "f64" {
            let g = got.as_any().downcast_ref::<Float64Array>().unwrap();
            assert_eq!(g.value(0), 1.5);
            assert!(g.value(1).is_nan());
            assert!(g.is_null(2));
        } else {
            assert_eq!(&got, &expected, "column {name}");
        }
        if *name == "t" {
            assert_eq!(
                back.schema().field(i).data_type(),
                &DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, Some("UTC".into()))
            );
        }
    }
}
