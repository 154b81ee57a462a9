//! Renders a SQL template: `${name}` becomes a SQL literal.
//!
//! Known names: `date`, `day_start`, `day_end`, `lookback_start`,
//! `lookback_start_date`, `lookback_interval`, `run_id`, `local_ts_type`, the
//! four `[params]` (`base_currency`, `timezone`, `brand_terms` as a
//! comma-separated list of strings, `brand_terms_pattern`, `lookback_days`),
//! (a table of lists, such as `lift_signal_channels`, renders as the list of
//! its `'key:item'` strings),
//! every parameter a domain declares (the job's value, or the declared
//! default), every other `[params.extra]` entry, and `${<name>_start}` for
//! every integer parameter whose name ends in `_days`. An unknown name stops
//! the run (exit 78) listing the known ones. `sqllogictest` files render the
//! real SQL files through this same function.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::error::{Error, Result};
use crate::params::Params;
use crate::sqltext::{date_literal, quote_str, timestamp_literal};
use crate::time::day_start_micros;

/// A case-insensitive regular expression matching any brand term, or NULL
/// (which matches nothing) when there are none.
fn brand_pattern(terms: &[String]) -> String {
    if terms.is_empty() {
        return "NULL".into();
    }
    let escaped: Vec<String> = terms
        .iter()
        .map(|t| {
            t.to_lowercase()
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || c == ' ' {
                        c.to_string()
                    } else {
                        format!("\\{c}")
                    }
                })
                .collect()
        })
        .collect();
    quote_str(&escaped.join("|"))
}

fn literal(k: &str, v: &toml::Value) -> Result<String> {
    Ok(match v {
        toml::Value::String(s) => quote_str(s),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Array(a) => a
            .iter()
            .map(|x| match x {
                toml::Value::String(s) => quote_str(s),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        // A table of lists becomes the list of its `'key:item'` pairs, which
        // SQL matches with `concat(key, ':', item) IN (...)`.
        toml::Value::Table(t) if t.values().all(|v| v.is_array()) => {
            let pairs: Vec<String> = t
                .iter()
                .flat_map(|(key, v)| {
                    v.as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|x| x.as_str())
                        .map(move |x| quote_str(&format!("{key}:{x}")))
                })
                .collect();
            if pairs.is_empty() {
                "NULL".to_string()
            } else {
                pairs.join(", ")
            }
        }
        other => {
            return Err(Error::Config(format!(
                "params.extra.{k} has an unsupported type ({other})"
            )));
        }
    })
}

/// The values of every placeholder for a run of `date`.
pub fn variables(
    params: &Params,
    date: NaiveDate,
    run_id: &str,
) -> Result<BTreeMap<String, String>> {
    let tz = params.tz()?;
    let next = date
        .succ_opt()
        .ok_or_else(|| Error::Usage(format!("date {date} is out of range")))?;
    let lookback_start = date - chrono::Duration::days(i64::from(params.lookback_days) - 1);
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    vars.insert("date".into(), date_literal(date));
    vars.insert(
        "day_start".into(),
        timestamp_literal(day_start_micros(date, tz)),
    );
    vars.insert(
        "day_end".into(),
        timestamp_literal(day_start_micros(next, tz)),
    );
    vars.insert(
        "lookback_start".into(),
        timestamp_literal(day_start_micros(lookback_start, tz)),
    );
    vars.insert("lookback_start_date".into(), date_literal(lookback_start));
    vars.insert("run_id".into(), quote_str(run_id));
    vars.insert("base_currency".into(), quote_str(&params.base_currency));
    vars.insert("timezone".into(), quote_str(&params.timezone));
    vars.insert("lookback_days".into(), params.lookback_days.to_string());
    vars.insert(
        "lookback_interval".into(),
        format!("INTERVAL '{} days'", params.lookback_days),
    );
    let terms = if params.brand_terms.is_empty() {
        "NULL".to_string()
    } else {
        params
            .brand_terms
            .iter()
            .map(|t| quote_str(&t.to_lowercase()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    vars.insert("brand_terms".into(), terms);
    vars.insert(
        "brand_terms_pattern".into(),
        brand_pattern(&params.brand_terms),
    );
    vars.insert(
        "local_ts_type".into(),
        quote_str(&format!(
            "Timestamp(Microsecond, Some(\"{}\"))",
            params.timezone
        )),
    );
    // Every declared parameter, at the job's value or its default, then the
    // job's own extra parameters.
    let mut values: BTreeMap<String, toml::Value> = BTreeMap::new();
    for (_, declared) in super::builtins::params() {
        for p in declared {
            values.insert(p.name.to_string(), params.value(p));
        }
    }
    for (k, v) in &params.extra {
        values.insert(k.clone(), v.clone());
    }
    let mut day_windows: Vec<(String, i64)> =
        vec![("lookback_days".into(), i64::from(params.lookback_days))];
    for (k, v) in &values {
        if let (true, toml::Value::Integer(n)) = (k.ends_with("_days"), v) {
            day_windows.push((k.clone(), *n));
        }
    }
    for (k, n) in day_windows {
        if n < 1 {
            return Err(Error::Config(format!(
                "params.extra.{k} must be at least 1, got {n}"
            )));
        }
        let first = date - chrono::Duration::days(n - 1);
        vars.insert(
            format!("{k}_start"),
            timestamp_literal(day_start_micros(first, tz)),
        );
    }
    for (k, v) in &values {
        vars.insert(k.clone(), literal(k, v)?);
    }
    Ok(vars)
}

/// Renders `template` (read from `file`, named in errors) for a run of
/// `date`.
pub fn render(
    template: &str,
    file: &str,
    params: &Params,
    date: NaiveDate,
    run_id: &str,
) -> Result<String> {
    let vars = variables(params, date, run_id)?;
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| Error::Config(format!("{file}: unterminated '${{' placeholder")))?;
        let name = &after[..end];
        let value = vars.get(name).ok_or_else(|| {
            Error::Config(format!(
                "{file}: unknown placeholder ${{{name}}} (known: {})",
                vars.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_declared_parameter_the_job_leaves_out_renders_its_default() {
        let p = Params::new("USD", "UTC");
        let d = NaiveDate::from_ymd_opt(2026, 10, 25).unwrap();
        let sql = render(
            "SELECT ${recommend_trend_days}, ${payout_history_days_start}",
            "t.sql",
            &p,
            d,
            "r",
        )
        .unwrap();
        let start = day_start_micros(d - chrono::Duration::days(119), "UTC".parse().unwrap());
        assert_eq!(sql, format!("SELECT 28, {}", timestamp_literal(start)));
        let e = render("SELECT ${nope}", "t.sql", &p, d, "r").unwrap_err();
        assert_eq!(e.exit_code(), 78);
        assert!(e.to_string().contains("t.sql: unknown placeholder ${nope}"));
    }
}
