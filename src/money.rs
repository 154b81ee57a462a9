//! Exact money: rounding half to even on decimals, and largest-remainder
//! allocation so that parts always sum to the whole.
//!
//! Money never passes through a float. SQL gets `round_half_even(x, s)`,
//! which keeps a decimal a decimal (DataFusion's `round` may not).

use std::sync::Arc;

use bigdecimal::num_bigint::BigInt;
use bigdecimal::{BigDecimal, RoundingMode, ToPrimitive};

use arrow::array::{Array, ArrayRef, Decimal128Array};
use arrow::datatypes::DataType;
use datafusion::common::{ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    TypeSignature, Volatility,
};
use datafusion::prelude::SessionContext;

/// Divides `value` by 10^`shift`, rounding half to even.
pub fn div_pow10_half_even(value: i128, shift: u32) -> i128 {
    if shift == 0 {
        return value;
    }
    let d = 10i128.pow(shift);
    let q = value / d;
    let r = value % d;
    let twice = r.abs() * 2;
    let away = if twice > d {
        true
    } else if twice < d {
        false
    } else {
        q % 2 != 0
    };
    if away { q + value.signum() } else { q }
}

/// Splits `total` (minor units) into parts proportional to `weights` so that
/// the parts sum exactly to `total`: each part gets the floor of its share,
/// and the leftover units go to the largest remainders, ties to the lower index.
pub fn allocate_largest_remainder(total: i128, weights: &[u128]) -> Vec<i128> {
    let sum: u128 = weights.iter().sum();
    if weights.is_empty() {
        return Vec::new();
    }
    if sum == 0 {
        let mut out = vec![0; weights.len()];
        out[0] = total;
        return out;
    }
    let sign = total.signum();
    let t = total.unsigned_abs();
    let mut parts: Vec<u128> = Vec::with_capacity(weights.len());
    let mut rems: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let num = t * w;
        parts.push(num / sum);
        rems.push((num % sum, i));
    }
    let given: u128 = parts.iter().sum();
    let mut left = t - given;
    rems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in rems {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts.into_iter().map(|p| sign * p as i128).collect()
}

/// A decimal value of `scale` digits as an exact [`BigDecimal`], for rule
/// arithmetic (rates, FX, shares) that must round only once, at the end.
pub fn big(value: i128, scale: i8) -> BigDecimal {
    BigDecimal::new(BigInt::from(value), i64::from(scale))
}

/// `x` rounded half to even to `scale` digits, as minor units.
pub fn round_to_units(x: &BigDecimal, scale: i8) -> i128 {
    let (units, _) = x
        .with_scale_round(i64::from(scale), RoundingMode::HalfEven)
        .into_bigint_and_exponent();
    units.to_i128().expect("money fits in i128")
}

/// Minor units of `scale` digits as text, e.g. `-12.30` (no float on the way).
pub fn units_to_string(units: i128, scale: i8) -> String {
    big(units, scale).to_string()
}

/// `round_half_even(decimal, scale)`: a decimal of the same precision rounded
/// to `scale` digits, half to even.
#[derive(Debug, PartialEq, Eq, Hash)]
struct RoundHalfEven {
    signature: Signature,
}

impl RoundHalfEven {
    fn new() -> Self {
        Self {
            signature: Signature::new(TypeSignature::Any(2), Volatility::Immutable),
        }
    }
}

fn target_scale(args: &[Option<&ScalarValue>]) -> datafusion::error::Result<i8> {
    match args.get(1).copied().flatten() {
        Some(ScalarValue::Int64(Some(s))) if (0..=18).contains(s) => Ok(*s as i8),
        Some(ScalarValue::Int32(Some(s))) if (0..=18).contains(s) => Ok(*s as i8),
        other => {
            plan_err!("round_half_even: the scale must be a literal integer 0..=18, got {other:?}")
        }
    }
}

impl ScalarUDFImpl for RoundHalfEven {
    fn name(&self) -> &str {
        "round_half_even"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> datafusion::error::Result<DataType> {
        plan_err!("round_half_even uses return_field_from_args")
    }
    fn return_field_from_args(
        &self,
        args: ReturnFieldArgs,
    ) -> datafusion::error::Result<arrow::datatypes::FieldRef> {
        let scale = target_scale(args.scalar_arguments)?;
        match args.arg_fields[0].data_type() {
            DataType::Decimal128(p, s) => {
                // Integer digits stay, plus one for a carry (99.995 -> 100.00).
                let p_out = (*p as i16 - *s as i16 + scale as i16 + 1).clamp(scale as i16 + 1, 38);
                Ok(Arc::new(arrow::datatypes::Field::new(
                    self.name(),
                    DataType::Decimal128(p_out as u8, scale),
                    true,
                )))
            }
            other => plan_err!("round_half_even takes a decimal, got {other}"),
        }
    }
    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::error::Result<ColumnarValue> {
        let DataType::Decimal128(p, scale) = args.return_field.data_type().clone() else {
            return exec_err!("round_half_even: bad return type");
        };
        let input = args.args[0].to_array(args.number_rows)?;
        let arr = input
            .as_any()
            .downcast_ref::<Decimal128Array>()
            .ok_or_else(|| {
                datafusion::error::DataFusionError::Execution(
                    "round_half_even takes a decimal".into(),
                )
            })?;
        let in_scale = arr.scale();
        let out: Decimal128Array = if in_scale >= scale {
            let shift = (in_scale - scale) as u32;
            arr.unary(|v| div_pow10_half_even(v, shift))
        } else {
            let mul = 10i128.pow((scale - in_scale) as u32);
            arr.unary(|v| v * mul)
        };
        let out = out.with_precision_and_scale(p, scale)?;
        Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
    }
}

/// Registers halo's SQL functions on a session.
pub fn register_udfs(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::from(RoundHalfEven::new()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_even_rounds_ties_to_even() {
        // 2.5 -> 2, 3.5 -> 4, -2.5 -> -2, 2.51 -> 3 (scale 1 -> 0 and 2 -> 0)
        assert_eq!(div_pow10_half_even(25, 1), 2);
        assert_eq!(div_pow10_half_even(35, 1), 4);
        assert_eq!(div_pow10_half_even(-25, 1), -2);
        assert_eq!(div_pow10_half_even(-35, 1), -4);
        assert_eq!(div_pow10_half_even(251, 2), 3);
        assert_eq!(div_pow10_half_even(12_345_000_050, 8), 123);
    }

    #[test]
    fn largest_remainder_parts_sum_to_the_whole() {
        // 100 cents in thirds: 33.33.. each; the leftover cent goes to the first.
        assert_eq!(
            allocate_largest_remainder(100, &[1, 1, 1]),
            vec![34, 33, 33]
        );
        assert_eq!(
            allocate_largest_remainder(-100, &[1, 1, 1]),
            vec![-34, -33, -33]
        );
        assert_eq!(allocate_largest_remainder(10, &[0, 0]), vec![10, 0]);
        let parts = allocate_largest_remainder(99_999, &[7, 13, 29, 51]);
        assert_eq!(parts.iter().sum::<i128>(), 99_999);
        assert_eq!(parts, vec![7000, 13000, 29000, 50999]);
    }
}
