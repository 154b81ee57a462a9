//! The attribution parameters of a job (`[params.extra]`, all optional).

use crate::error::{Error, Result};
use crate::runner::job::{Params, bad_param as bad};

use super::models::Model;
use super::path::PathTransform;

/// Everything the attribution step can be told.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `attribution_models`: which models to run (default: all).
    pub models: Vec<Model>,
    /// `attribution_path_transform` (default `exposure`).
    pub transform: PathTransform,
    /// `attribution_half_life_hours` for time decay (default 168 = 7 days).
    pub half_life_hours: f64,
    /// `attribution_position_weights` = [first, middle, last] (default
    /// [0.4, 0.2, 0.4]); the middle share is what is left.
    pub position_first: f64,
    /// See `position_first`.
    pub position_middle: f64,
    /// See `position_first`.
    pub position_last: f64,
    /// `attribution_non_direct`: channels `last_non_direct` skips
    /// (default ["direct"]).
    pub non_direct: Vec<String>,
    /// `attribution_shapley_exact_max`: largest coalition solved exactly
    /// (default 12).
    pub shapley_exact_max: usize,
    /// `attribution_shapley_samples`: permutations beyond it (default 2000).
    pub shapley_samples: usize,
    /// `attribution_bootstrap`: bootstrap replicates (default 100; 0 = no
    /// intervals).
    pub bootstrap: usize,
    /// `attribution_confidence` of the intervals (default 0.95).
    pub confidence: f64,
    /// `attribution_seed` for the bootstrap and sampled Shapley (default 7).
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            models: Model::defaults(),
            transform: PathTransform::Exposure,
            half_life_hours: 168.0,
            position_first: 0.4,
            position_middle: 0.2,
            position_last: 0.4,
            non_direct: vec!["direct".into()],
            shapley_exact_max: 12,
            shapley_samples: 2000,
            bootstrap: 100,
            confidence: 0.95,
            seed: 7,
        }
    }
}

impl Settings {
    /// Reads the settings from the job's parameters.
    pub fn from_params(params: &Params) -> Result<Self> {
        let mut s = Settings::default();
        let x = &params.extra;
        if let Some(v) = x.get("attribution_models") {
            let list = v
                .as_array()
                .ok_or_else(|| bad("attribution_models", "a list of model names", v))?;
            let mut models = Vec::new();
            for m in list {
                let name = m
                    .as_str()
                    .ok_or_else(|| bad("attribution_models", "a list of model names", v))?;
                models.push(Model::parse(name)?);
            }
            models.dedup();
            if models.is_empty() {
                return Err(bad("attribution_models", "a non-empty list", v));
            }
            s.models = models;
        }
        if let Some(v) = x.get("attribution_path_transform") {
            s.transform = PathTransform::parse(
                v.as_str()
                    .ok_or_else(|| bad("attribution_path_transform", "a string", v))?,
            )?;
        }
        if let Some(v) = x.get("attribution_half_life_hours") {
            s.half_life_hours = number(v)
                .filter(|h| *h > 0.0)
                .ok_or_else(|| bad("attribution_half_life_hours", "a positive number", v))?;
        }
        if let Some(v) = x.get("attribution_position_weights") {
            let w: Option<Vec<f64>> = v.as_array().map(|a| a.iter().filter_map(number).collect());
            match w.as_deref() {
                Some([f, m, l])
                    if *f >= 0.0 && *m >= 0.0 && *l >= 0.0 && ((f + m + l) - 1.0).abs() < 1e-9 =>
                {
                    s.position_first = *f;
                    s.position_middle = *m;
                    s.position_last = *l;
                }
                _ => {
                    return Err(bad(
                        "attribution_position_weights",
                        "[first, middle, last], non-negative, summing to 1",
                        v,
                    ));
                }
            }
        }
        if let Some(v) = x.get("attribution_non_direct") {
            let list: Option<Vec<String>> = v
                .as_array()
                .and_then(|a| a.iter().map(|c| c.as_str().map(str::to_string)).collect());
            s.non_direct =
                list.ok_or_else(|| bad("attribution_non_direct", "a list of channel names", v))?;
        }
        let int = |key: &str, min: i64| -> Result<Option<usize>> {
            match x.get(key) {
                None => Ok(None),
                Some(toml::Value::Integer(n)) if *n >= min => Ok(Some(*n as usize)),
                Some(v) => Err(bad(key, &format!("an integer of at least {min}"), v)),
            }
        };
        if let Some(n) = int("attribution_shapley_exact_max", 1)? {
            if n > 20 {
                return Err(Error::Config(format!(
                    "params.extra.attribution_shapley_exact_max must be at most 20 (2^n subsets), got {n}"
                )));
            }
            s.shapley_exact_max = n;
        }
        if let Some(n) = int("attribution_shapley_samples", 1)? {
            s.shapley_samples = n;
        }
        if let Some(n) = int("attribution_bootstrap", 0)? {
            s.bootstrap = n;
        }
        if let Some(n) = int("attribution_seed", 0)? {
            s.seed = n as u64;
        }
        if let Some(v) = x.get("attribution_confidence") {
            s.confidence = number(v)
                .filter(|c| *c > 0.0 && *c < 1.0)
                .ok_or_else(|| bad("attribution_confidence", "a number between 0 and 1", v))?;
        }
        Ok(s)
    }
}

fn number(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Float(f) => Some(*f),
        toml::Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}
