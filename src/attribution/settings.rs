//! The attribution parameters of a job (`[params.extra]`, all optional):
//! each declared once, with its default, below.

use crate::error::Result;
use crate::params::{Param, Params, bad_param as bad};

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

/// `attribution_models`.
pub const MODELS: Param = Param::strings(
    "attribution_models",
    &[
        "first_touch",
        "last_touch",
        "last_non_direct",
        "linear",
        "linear_distinct",
        "position_based",
        "time_decay",
        "markov_o1",
        "shapley_simplified",
        "shapley_counterfactual",
        "shapley_coalition",
    ],
    "the models to run (`markov_o2` .. `markov_o4` cost about m^3 per fit, m = observed k-tuples)",
);
/// `attribution_path_transform`.
pub const PATH_TRANSFORM: Param = Param::string(
    "attribution_path_transform",
    "exposure",
    "how a path is transformed before fitting: `unique`, `exposure`, `first` or `frequency`",
);
/// `attribution_half_life_hours`.
pub const HALF_LIFE_HOURS: Param = Param {
    min: None,
    max: None,
    ..Param::float(
        "attribution_half_life_hours",
        168.0,
        0.0,
        0.0,
        "time decay: the half-life of a touch's weight, in hours (positive)",
    )
};
/// `attribution_position_weights`.
pub const POSITION_WEIGHTS: Param = Param::floats(
    "attribution_position_weights",
    &[0.4, 0.2, 0.4],
    "position based: [first, middle, last], non-negative, summing to 1",
);
/// `attribution_non_direct`.
pub const NON_DIRECT: Param = Param::strings(
    "attribution_non_direct",
    &["direct"],
    "the channels `last_non_direct` skips",
);
/// `attribution_shapley_exact_max`.
pub const SHAPLEY_EXACT_MAX: Param = Param {
    max: Some(20.0),
    ..Param::int(
        "attribution_shapley_exact_max",
        12,
        1,
        "the largest coalition Shapley solves exactly (2^n subsets); larger ones use sampled permutations",
    )
};
/// `attribution_shapley_samples`.
pub const SHAPLEY_SAMPLES: Param = Param::int(
    "attribution_shapley_samples",
    2000,
    1,
    "sampled permutations for coalitions above `attribution_shapley_exact_max`",
);
/// `attribution_bootstrap`.
pub const BOOTSTRAP: Param = Param::int(
    "attribution_bootstrap",
    100,
    0,
    "bootstrap replicates behind `ci_low` / `ci_high` (0 = no intervals)",
);
/// `attribution_confidence`.
pub const CONFIDENCE: Param = Param {
    min: None,
    max: None,
    ..Param::float(
        "attribution_confidence",
        0.95,
        0.0,
        0.0,
        "confidence of the bootstrap intervals (between 0 and 1)",
    )
};
/// `attribution_seed`.
pub const SEED: Param = Param::int(
    "attribution_seed",
    7,
    0,
    "seed of the bootstrap and of sampled Shapley",
);
/// `attribution_max_touches` (read by `sql/views/attr_journey_touches.sql`).
pub const MAX_TOUCHES: Param = Param::int(
    "attribution_max_touches",
    50,
    0,
    "keep a journey's last N touches (0 = all)",
);
/// `attribution_default_model` (read by the payouts and ROI SQL).
pub const DEFAULT_MODEL: Param = Param::string(
    "attribution_default_model",
    "markov_o1",
    "the model whose credit pays plans with `credit_basis = \"model\"`, and that ROI calls attributed",
);

/// The parameters of attribution, in the order the docs list them.
pub const PARAMS: &[Param] = &[
    MODELS,
    PATH_TRANSFORM,
    HALF_LIFE_HOURS,
    POSITION_WEIGHTS,
    NON_DIRECT,
    SHAPLEY_EXACT_MAX,
    SHAPLEY_SAMPLES,
    BOOTSTRAP,
    CONFIDENCE,
    SEED,
    MAX_TOUCHES,
    DEFAULT_MODEL,
];

impl Default for Settings {
    /// The settings of a job that sets no attribution parameter.
    fn default() -> Self {
        Settings::from_params(&Params::new("USD", "UTC")).expect("the declared defaults are valid")
    }
}

impl Settings {
    /// Reads the settings from the job's parameters (declared defaults for
    /// those it leaves out).
    pub fn from_params(params: &Params) -> Result<Self> {
        let names = params.strings(&MODELS)?;
        let mut models = Vec::new();
        for name in &names {
            models.push(Model::parse(name)?);
        }
        models.dedup();
        if models.is_empty() {
            return Err(bad(MODELS.name, "a non-empty list", &params.value(&MODELS)));
        }
        let transform = PathTransform::parse(&params.string(&PATH_TRANSFORM)?)?;
        let half_life_hours = params.float(&HALF_LIFE_HOURS)?;
        if half_life_hours <= 0.0 {
            let v = params.value(&HALF_LIFE_HOURS);
            return Err(bad(HALF_LIFE_HOURS.name, "a positive number", &v));
        }
        let confidence = params.float(&CONFIDENCE)?;
        if confidence <= 0.0 || confidence >= 1.0 {
            let v = params.value(&CONFIDENCE);
            return Err(bad(CONFIDENCE.name, "a number between 0 and 1", &v));
        }
        let (position_first, position_middle, position_last) =
            match params.floats(&POSITION_WEIGHTS).ok().as_deref() {
                Some([f, m, l])
                    if *f >= 0.0 && *m >= 0.0 && *l >= 0.0 && ((f + m + l) - 1.0).abs() < 1e-9 =>
                {
                    (*f, *m, *l)
                }
                _ => {
                    return Err(bad(
                        POSITION_WEIGHTS.name,
                        "[first, middle, last], non-negative, summing to 1",
                        &params.value(&POSITION_WEIGHTS),
                    ));
                }
            };
        let non_direct = params.strings(&NON_DIRECT).map_err(|_| {
            bad(
                NON_DIRECT.name,
                "a list of channel names",
                &params.value(&NON_DIRECT),
            )
        })?;
        Ok(Settings {
            models,
            transform,
            half_life_hours,
            position_first,
            position_middle,
            position_last,
            non_direct,
            shapley_exact_max: params.int(&SHAPLEY_EXACT_MAX)? as usize,
            shapley_samples: params.int(&SHAPLEY_SAMPLES)? as usize,
            bootstrap: params.int(&BOOTSTRAP)? as usize,
            confidence,
            seed: params.int(&SEED)? as u64,
        })
    }
}
