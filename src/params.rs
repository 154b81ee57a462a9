//! Job parameters: the four every job has (`[params]`), and the optional ones
//! the domains read from `[params.extra]`.
//!
//! Each optional parameter is declared once, as a [`Param`] next to the code
//! that reads it, with its default, its bounds and what it means. The same
//! declaration gives the Rust side its value ([`Params::int`], ...), gives SQL
//! its `${name}` placeholder (the runner renders every declared parameter,
//! set or not), and renders the parameter reference in `docs/jobs.md`. So a
//! parameter the docs call optional can be left out of a job without breaking
//! a SQL file, and its default cannot differ between the two.

use std::collections::BTreeMap;

use chrono_tz::Tz;
use serde::Deserialize;

use crate::error::{Error, Result};

/// The parameters of a job.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// ISO 4217 code all money is reported in.
    pub base_currency: String,
    /// IANA time zone days are cut in.
    pub timezone: String,
    /// Terms that make a search query "branded".
    #[serde(default)]
    pub brand_terms: Vec<String>,
    /// Lookback for attribution, in days.
    #[serde(default = "default_lookback")]
    pub lookback_days: u32,
    /// The optional parameters the job sets, and analysts' own.
    #[serde(default)]
    pub extra: BTreeMap<String, toml::Value>,
}

fn default_lookback() -> u32 {
    30
}

/// A declared parameter's default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamDefault {
    /// An integer.
    Int(i64),
    /// A number.
    Float(f64),
    /// A string.
    Str(&'static str),
    /// A list of strings.
    Strs(&'static [&'static str]),
    /// A list of numbers.
    Floats(&'static [f64]),
    /// A table of string lists (`{ key = ["a", "b"] }`).
    Lists(&'static [(&'static str, &'static [&'static str])]),
}

impl ParamDefault {
    /// The default as the TOML value a job would write.
    pub fn to_toml(self) -> toml::Value {
        match self {
            ParamDefault::Int(i) => toml::Value::Integer(i),
            ParamDefault::Float(f) => toml::Value::Float(f),
            ParamDefault::Str(s) => toml::Value::String(s.into()),
            ParamDefault::Strs(v) => {
                toml::Value::Array(v.iter().map(|s| toml::Value::String((*s).into())).collect())
            }
            ParamDefault::Floats(v) => {
                toml::Value::Array(v.iter().map(|f| toml::Value::Float(*f)).collect())
            }
            ParamDefault::Lists(v) => toml::Value::Table(
                v.iter()
                    .map(|(k, l)| (k.to_string(), ParamDefault::Strs(l).to_toml()))
                    .collect(),
            ),
        }
    }
}

/// An optional parameter of `[params.extra]`, declared by the code that reads it.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Its key in `[params.extra]`.
    pub name: &'static str,
    /// Its value when the job leaves it out.
    pub default: ParamDefault,
    /// The smallest value an integer or number may take.
    pub min: Option<f64>,
    /// The largest value an integer or number may take.
    pub max: Option<f64>,
    /// What it means, for `docs/jobs.md`.
    pub doc: &'static str,
}

impl Param {
    /// An integer parameter of at least `min`.
    pub const fn int(name: &'static str, default: i64, min: i64, doc: &'static str) -> Param {
        Param {
            name,
            default: ParamDefault::Int(default),
            min: Some(min as f64),
            max: None,
            doc,
        }
    }

    /// A number parameter in `[min, max]`.
    pub const fn float(
        name: &'static str,
        default: f64,
        min: f64,
        max: f64,
        doc: &'static str,
    ) -> Param {
        Param {
            name,
            default: ParamDefault::Float(default),
            min: Some(min),
            max: Some(max),
            doc,
        }
    }

    /// A string parameter.
    pub const fn string(name: &'static str, default: &'static str, doc: &'static str) -> Param {
        Param {
            name,
            default: ParamDefault::Str(default),
            min: None,
            max: None,
            doc,
        }
    }

    /// A list-of-strings parameter.
    pub const fn strings(
        name: &'static str,
        default: &'static [&'static str],
        doc: &'static str,
    ) -> Param {
        Param {
            name,
            default: ParamDefault::Strs(default),
            min: None,
            max: None,
            doc,
        }
    }

    /// A list-of-numbers parameter.
    pub const fn floats(name: &'static str, default: &'static [f64], doc: &'static str) -> Param {
        Param {
            name,
            default: ParamDefault::Floats(default),
            min: None,
            max: None,
            doc,
        }
    }

    /// A table-of-string-lists parameter.
    pub const fn lists(
        name: &'static str,
        default: &'static [(&'static str, &'static [&'static str])],
        doc: &'static str,
    ) -> Param {
        Param {
            name,
            default: ParamDefault::Lists(default),
            min: None,
            max: None,
            doc,
        }
    }

    /// How the default reads in the docs.
    pub fn default_text(&self) -> String {
        match self.default {
            ParamDefault::Lists(v) => format!(
                "`{{ {} }}`",
                v.iter()
                    .map(|(k, l)| format!(
                        "{k} = [{}]",
                        l.iter()
                            .map(|s| format!("\"{s}\""))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ParamDefault::Str(s) => format!("`\"{s}\"`"),
            ParamDefault::Strs(v) => format!(
                "`[{}]`",
                v.iter()
                    .map(|s| format!("\"{s}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            other => format!("`{}`", other.to_toml()),
        }
    }
}

/// The error for a `[params.extra]` entry of the wrong shape.
pub fn bad_param(key: &str, want: &str, got: &toml::Value) -> Error {
    Error::Config(format!("params.extra.{key} must be {want}, got {got}"))
}

impl Params {
    /// Parameters with only the two a job must set: for tests and tools.
    pub fn new(base_currency: &str, timezone: &str) -> Params {
        Params {
            base_currency: base_currency.into(),
            timezone: timezone.into(),
            brand_terms: Vec::new(),
            lookback_days: default_lookback(),
            extra: BTreeMap::new(),
        }
    }

    /// The job's value of `p`, or its default.
    /// A table parameter is merged key by key over its default, so a job
    /// that sets one key keeps the others' defaults.
    pub fn value(&self, p: &Param) -> toml::Value {
        let default = p.default.to_toml();
        match (self.extra.get(p.name), default) {
            (Some(toml::Value::Table(set)), toml::Value::Table(mut merged)) => {
                for (k, v) in set {
                    merged.insert(k.clone(), v.clone());
                }
                toml::Value::Table(merged)
            }
            (Some(v), _) => v.clone(),
            (None, d) => d,
        }
    }

    /// Integer parameter `p`, checked against its bounds.
    pub fn int(&self, p: &Param) -> Result<i64> {
        let v = self.value(p);
        match v.as_integer() {
            Some(n)
                if p.min.is_none_or(|m| n as f64 >= m) && p.max.is_none_or(|m| n as f64 <= m) =>
            {
                Ok(n)
            }
            _ => Err(bad_param(p.name, &bounds("an integer", p), &v)),
        }
    }

    /// Number parameter `p` (an integer is accepted), checked against its bounds.
    pub fn float(&self, p: &Param) -> Result<f64> {
        let v = self.value(p);
        match v.as_float().or_else(|| v.as_integer().map(|i| i as f64)) {
            Some(f) if p.min.is_none_or(|m| f >= m) && p.max.is_none_or(|m| f <= m) => Ok(f),
            _ => Err(bad_param(p.name, &bounds("a number", p), &v)),
        }
    }

    /// String parameter `p`.
    pub fn string(&self, p: &Param) -> Result<String> {
        let v = self.value(p);
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| bad_param(p.name, "a string", &v))
    }

    /// List-of-strings parameter `p`.
    pub fn strings(&self, p: &Param) -> Result<Vec<String>> {
        let v = self.value(p);
        v.as_array()
            .and_then(|a| a.iter().map(|s| s.as_str().map(str::to_string)).collect())
            .ok_or_else(|| bad_param(p.name, "a list of strings", &v))
    }

    /// Table-of-string-lists parameter `p`: every key of the default, each
    /// the job's list or the default's (a key the default lacks is refused).
    pub fn lists(&self, p: &Param) -> Result<BTreeMap<String, Vec<String>>> {
        let ParamDefault::Lists(default) = p.default else {
            return Err(Error::Internal(format!(
                "{} is not a table parameter",
                p.name
            )));
        };
        let keys: Vec<&str> = default.iter().map(|(k, _)| *k).collect();
        let want = format!(
            "a table of string lists with keys among {}",
            keys.join(", ")
        );
        let v = self.value(p);
        let table = v.as_table().ok_or_else(|| bad_param(p.name, &want, &v))?;
        let mut out: BTreeMap<String, Vec<String>> = default
            .iter()
            .map(|(k, l)| (k.to_string(), l.iter().map(|s| s.to_string()).collect()))
            .collect();
        for (k, list) in table {
            if !keys.contains(&k.as_str()) {
                return Err(bad_param(p.name, &want, &v));
            }
            let items: Option<Vec<String>> = list
                .as_array()
                .and_then(|a| a.iter().map(|s| s.as_str().map(str::to_string)).collect());
            out.insert(
                k.clone(),
                items.ok_or_else(|| bad_param(p.name, &want, &v))?,
            );
        }
        Ok(out)
    }

    /// List-of-numbers parameter `p`.
    pub fn floats(&self, p: &Param) -> Result<Vec<f64>> {
        let v = self.value(p);
        v.as_array()
            .and_then(|a| {
                a.iter()
                    .map(|x| x.as_float().or_else(|| x.as_integer().map(|i| i as f64)))
                    .collect()
            })
            .ok_or_else(|| bad_param(p.name, "a list of numbers", &v))
    }

    /// The reporting time zone.
    pub fn tz(&self) -> Result<Tz> {
        self.timezone.parse::<Tz>().map_err(|_| {
            Error::Config(format!(
                "params.timezone '{}' is not an IANA time zone",
                self.timezone
            ))
        })
    }
}

fn bounds(what: &str, p: &Param) -> String {
    match (p.min, p.max) {
        (Some(lo), Some(hi)) => format!("{what} in [{lo}, {hi}]"),
        (Some(lo), None) => format!("{what} of at least {lo}"),
        (None, Some(hi)) => format!("{what} of at most {hi}"),
        (None, None) => what.to_string(),
    }
}

/// The parameter reference: one Markdown table row per declared parameter,
/// grouped as given. `docs/jobs.md` embeds this text (a test keeps them equal).
pub fn markdown(groups: &[(&str, &[Param])]) -> String {
    let mut out = String::new();
    for (title, params) in groups {
        out.push_str(&format!(
            "#### {title}\n\n| parameter | default | meaning |\n|---|---|---|\n"
        ));
        for p in *params {
            let range = match (p.min, p.max) {
                (Some(lo), Some(hi)) => format!(" (from {lo} to {hi})"),
                (Some(lo), None) => format!(" (at least {lo})"),
                _ => String::new(),
            };
            out.push_str(&format!(
                "| `{}` | {} | {}{range} |\n",
                p.name,
                p.default_text(),
                p.doc
            ));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: Param = Param::int("x_days", 7, 1, "days");

    #[test]
    fn a_left_out_parameter_takes_its_default_and_a_bad_one_is_refused() {
        let mut p = Params::new("USD", "UTC");
        assert_eq!(p.int(&N).unwrap(), 7);
        p.extra.insert("x_days".into(), toml::Value::Integer(0));
        let e = p.int(&N).unwrap_err();
        assert_eq!(e.exit_code(), 78);
        assert!(
            e.to_string()
                .contains("x_days must be an integer of at least 1")
        );
    }
}
