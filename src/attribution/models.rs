//! The model set, and how each turns a journey into position weights.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::error::{Error, Result};

use super::markov::{self, PathCount};
use super::path::{Interner, key_channel};
use super::rules;
use super::settings::Settings;
use super::shapley::{self, Rates};

/// An attribution model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Model {
    /// All to the first position.
    FirstTouch,
    /// All to the last position.
    LastTouch,
    /// All to the last position not in `attribution_non_direct`.
    LastNonDirect,
    /// 1/n per position.
    Linear,
    /// 1/d per distinct channel.
    LinearDistinct,
    /// 40/20/40 (configurable).
    PositionBased,
    /// 0.5^(age / half-life).
    TimeDecay,
    /// Markov removal effect of the given order (1 to 4).
    Markov(u8),
    /// Simplified Shapley (Zhao et al.): equal to linear per distinct channel.
    ShapleySimplified,
    /// Counterfactual leave-one-out (fractribution).
    ShapleyCounterfactual,
    /// Rate-based coalition Shapley.
    ShapleyCoalition,
}

impl Model {
    /// Every model, in the order results list them.
    pub const ALL: [Model; 14] = [
        Model::FirstTouch,
        Model::LastTouch,
        Model::LastNonDirect,
        Model::Linear,
        Model::LinearDistinct,
        Model::PositionBased,
        Model::TimeDecay,
        Model::Markov(1),
        Model::Markov(2),
        Model::Markov(3),
        Model::Markov(4),
        Model::ShapleySimplified,
        Model::ShapleyCounterfactual,
        Model::ShapleyCoalition,
    ];

    /// The models a job runs unless told otherwise: all but Markov of order
    /// 2 and above (about m^3 per fit).
    pub fn defaults() -> Vec<Model> {
        super::Settings::default().models
    }

    /// The name in job files and result tables.
    pub fn name(self) -> String {
        match self {
            Model::FirstTouch => "first_touch".into(),
            Model::LastTouch => "last_touch".into(),
            Model::LastNonDirect => "last_non_direct".into(),
            Model::Linear => "linear".into(),
            Model::LinearDistinct => "linear_distinct".into(),
            Model::PositionBased => "position_based".into(),
            Model::TimeDecay => "time_decay".into(),
            Model::Markov(k) => format!("markov_o{k}"),
            Model::ShapleySimplified => "shapley_simplified".into(),
            Model::ShapleyCounterfactual => "shapley_counterfactual".into(),
            Model::ShapleyCoalition => "shapley_coalition".into(),
        }
    }

    /// Parses a model name.
    pub fn parse(s: &str) -> Result<Model> {
        let all = Self::ALL;
        all.into_iter().find(|m| m.name() == s).ok_or_else(|| {
            Error::Config(format!(
                "unknown attribution model '{s}' (known: {})",
                all.iter().map(|m| m.name()).collect::<Vec<_>>().join(", ")
            ))
        })
    }

    /// True for models fitted on all journeys of the window.
    pub fn is_global(self) -> bool {
        matches!(
            self,
            Model::Markov(_) | Model::ShapleyCounterfactual | Model::ShapleyCoalition
        )
    }
}

/// A journey as the models see it: its transformed path.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// Channel of each position.
    pub channels: &'a [u32],
    /// The path key (see `path::transform`).
    pub key: &'a [u64],
    /// Hours from each position's latest touch to the order.
    pub ages_hours: &'a [f64],
}

/// One aggregated transformed path with weighted outcomes: what the global
/// models are fitted on.
#[derive(Debug, Clone)]
pub struct PathRow {
    /// The transformed path key.
    pub key: Vec<u64>,
    /// Weighted conversions.
    pub conversions: f64,
    /// Weighted conversion value.
    pub value: f64,
    /// Weighted non-conversions.
    pub nulls: f64,
}

/// A model fitted on the window's paths (nothing for rule models).
pub enum Fitted {
    /// A rule model.
    Rule(Model),
    /// Markov removal effects.
    Markov(markov::Fit),
    /// Counterfactual rates.
    Counterfactual(Rates, Mutex<HashMap<Vec<u64>, Vec<f64>>>),
    /// Coalition rates by distinct channel set, and solved coalitions.
    Coalition(HashMap<Vec<u32>, f64>, Mutex<HashMap<Vec<u32>, Vec<f64>>>),
}

/// Fits `model` on `paths`.
pub fn fit(model: Model, paths: &[PathRow], n_channels: usize) -> Result<Fitted> {
    Ok(match model {
        Model::Markov(k) => {
            let counts: Vec<PathCount> = paths
                .iter()
                .map(|p| PathCount {
                    channels: p.key.iter().map(|&k| key_channel(k)).collect(),
                    conversions: p.conversions,
                    value: p.value,
                    nulls: p.nulls,
                })
                .collect();
            Fitted::Markov(markov::fit(&counts, usize::from(k), n_channels)?)
        }
        Model::ShapleyCounterfactual => Fitted::Counterfactual(
            Rates::new(
                paths
                    .iter()
                    .map(|p| (p.key.as_slice(), p.conversions, p.nulls)),
            ),
            Mutex::new(HashMap::new()),
        ),
        Model::ShapleyCoalition => {
            let mut acc: HashMap<Vec<u32>, (f64, f64)> = HashMap::new();
            for p in paths {
                let set = distinct(p.key.iter().map(|&k| key_channel(k)));
                let e = acc.entry(set).or_insert((0.0, 0.0));
                e.0 += p.conversions;
                e.1 += p.nulls;
            }
            let rates = acc
                .into_iter()
                .filter(|(_, (c, n))| c + n > 0.0)
                .map(|(k, (c, n))| (k, c / (c + n)))
                .collect();
            Fitted::Coalition(rates, Mutex::new(HashMap::new()))
        }
        m => Fitted::Rule(m),
    })
}

fn distinct(it: impl Iterator<Item = u32>) -> Vec<u32> {
    let mut v: Vec<u32> = it.collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Spreads per-distinct-channel shares over the positions of each channel.
fn per_channel_to_positions(channels: &[u32], share: impl Fn(u32) -> f64) -> Vec<f64> {
    channels
        .iter()
        .map(|c| {
            let occurrences = channels.iter().filter(|x| *x == c).count() as f64;
            share(*c) / occurrences
        })
        .collect()
}

impl Fitted {
    /// Position weights of one journey (summing to 1).
    pub fn weights(
        &self,
        j: View<'_>,
        settings: &Settings,
        non_direct: &dyn Fn(u32) -> bool,
        channels: &Interner,
    ) -> Vec<f64> {
        let n = j.channels.len();
        match self {
            Fitted::Rule(m) => match m {
                Model::FirstTouch => rules::first_touch(n),
                Model::LastTouch => rules::last_touch(n),
                Model::LastNonDirect => rules::last_non(j.channels, non_direct),
                Model::Linear => rules::linear(n),
                Model::LinearDistinct | Model::ShapleySimplified => {
                    rules::linear_distinct(j.channels)
                }
                Model::PositionBased => rules::position_based(
                    n,
                    settings.position_first,
                    settings.position_middle,
                    settings.position_last,
                ),
                Model::TimeDecay => rules::time_decay(j.ages_hours, settings.half_life_hours),
                _ => unreachable!("global models are fitted"),
            },
            Fitted::Markov(fit) => {
                let set = distinct(j.channels.iter().copied());
                let total: f64 = set.iter().map(|&c| fit.removal[c as usize]).sum();
                if total <= 0.0 {
                    rules::last_touch(n)
                } else {
                    per_channel_to_positions(j.channels, |c| fit.removal[c as usize] / total)
                }
            }
            Fitted::Counterfactual(rates, cache) => {
                if let Some(w) = cache.lock().expect("cache").get(j.key) {
                    return w.clone();
                }
                let w = shapley::counterfactual(j.key, rates);
                cache
                    .lock()
                    .expect("cache")
                    .insert(j.key.to_vec(), w.clone());
                w
            }
            Fitted::Coalition(rates, cache) => {
                let set = distinct(j.channels.iter().copied());
                let cached = cache.lock().expect("cache").get(&set).cloned();
                let phi = match cached {
                    Some(phi) => phi,
                    None => {
                        let v = |s: &[u32]| rates.get(s).copied().unwrap_or(0.0);
                        let seed =
                            shapley::seed_of(set.iter().map(|&c| channels.name(c)), settings.seed);
                        let phi = shapley::normalise(shapley::coalition(
                            &set,
                            &v,
                            settings.shapley_exact_max,
                            settings.shapley_samples,
                            seed,
                        ));
                        cache
                            .lock()
                            .expect("cache")
                            .insert(set.clone(), phi.clone());
                        phi
                    }
                };
                per_channel_to_positions(j.channels, |c| {
                    phi[set.binary_search(&c).expect("channel in its set")]
                })
            }
        }
    }
}
