//! The dark-social lift parameters of a job (`[params.extra]`, all optional,
//! prefixed `lift_`), each declared once, with its default, below.

use crate::error::{Error, Result};
use crate::params::{Param, Params, bad_param as bad};

/// Everything the lift step can be told.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `lift_signals`: series to estimate lift on.
    pub signals: Vec<String>,
    /// `lift_order_signals`: visit signals whose visitors' orders are
    /// credited (must not overlap: direct and branded_search).
    pub order_signals: Vec<String>,
    /// `lift_signal_channels`: per session signal, the channels whose
    /// untracked sessions count (read by `sql/lift/`; checked here).
    pub signal_channels: std::collections::BTreeMap<String, Vec<String>>,
    /// `lift_immediate_minutes` (60).
    pub immediate_minutes: usize,
    /// `lift_extended_hours` (72).
    pub extended_hours: usize,
    /// `lift_guard_minutes` (10): masked after the immediate window, and 2
    /// minutes before publication for clock skew.
    pub guard_minutes: usize,
    /// `lift_history_days` (42): how far back series are read.
    pub history_days: usize,
    /// `lift_weeks` (4): earlier weeks behind the seasonal profile.
    pub weeks: usize,
    /// `lift_min_weeks` (2): fewer earlier weeks borrow later ones.
    pub min_weeks: usize,
    /// `lift_smooth_minutes` (15): half-width of the seasonal smoother.
    pub smooth_minutes: usize,
    /// `lift_level_minutes` (360): half-width of the local level window.
    pub level_minutes: usize,
    /// `lift_level_prior` (30): pseudo-count shrinking the level toward 1.
    pub level_prior: f64,
    /// `lift_outlier_mads` (5): spikes this far above the running median are
    /// kept out of the baseline.
    pub outlier_mads: f64,
    /// `lift_kernel_half_life_minutes` (60): prior kernel, fast part.
    pub kernel_half_life_minutes: f64,
    /// `lift_kernel_slow_share` (0.3): prior kernel, slow part's share.
    pub kernel_slow_share: f64,
    /// `lift_kernel_slow_half_life_hours` (24): prior kernel, slow part.
    pub kernel_slow_half_life_hours: f64,
    /// `lift_kernel_prior_posts` (5): weight of the prior kernel, in posts.
    pub kernel_prior_posts: f64,
    /// `lift_refine` (2): rounds of baseline → amplitudes → kernels (more
    /// rounds drift upward: on the sample the mean branded-search error per
    /// post is −5.9 with 1, +1.5 with 2, +3.0 with 3, +4.7 with 5).
    pub refine: usize,
    /// `lift_max_iterations` (500 EM steps) and `lift_tolerance` (1e-7: a
    /// cycle that raises the log-likelihood by less than this share of it
    /// ends the fit).
    pub max_iterations: usize,
    /// See `max_iterations`.
    pub tolerance: f64,
    /// `lift_placebos` (200): placebo windows per post.
    pub placebos: usize,
    /// `lift_confidence` (0.95) of lift_low / lift_high.
    pub confidence: f64,
    /// `lift_fdr` (0.05): q-value under which a post counts as detected.
    pub fdr: f64,
    /// `lift_order_lookback_days` (7).
    pub order_lookback_days: usize,
    /// `lift_summary_days` (28): posts published in this many local days up
    /// to the run date enter `lift_summary`.
    pub summary_days: usize,
}

/// `lift_signals`.
pub const SIGNALS_PARAM: Param = Param::strings(
    "lift_signals",
    &["direct", "branded_search", "product_page", "orders"],
    "the series lift is estimated on (`direct`, `branded_search`, `product_page`, `orders`)",
);
/// `lift_order_signals`.
pub const ORDER_SIGNALS: Param = Param::strings(
    "lift_order_signals",
    &["direct", "branded_search"],
    "visit signals whose visitors' orders are credited to posts (only `direct` and `branded_search`, which never share a session)",
);
/// `lift_signal_channels` (read by `sql/lift/`).
pub const SIGNAL_CHANNELS: Param = Param::lists(
    "lift_signal_channels",
    &[
        ("branded_search", &["organic_search"]),
        ("direct", &["direct"]),
        ("product_page", &["direct", "organic_search"]),
    ],
    "per session signal, the channels whose sessions count. Only sessions no tracked source explains count at all: \
     no click, no UTM tag; a search session only with a brand term in its query. The defaults leave out email, paid \
     search and paid social, affiliate, referral and social referrers (a job that sets one signal keeps the others' defaults)",
);
/// `lift_immediate_minutes`.
pub const IMMEDIATE_MINUTES: Param = Param::int(
    "lift_immediate_minutes",
    60,
    1,
    "the immediate window after a post, in minutes",
);
/// `lift_extended_hours`.
pub const EXTENDED_HOURS: Param = Param::int(
    "lift_extended_hours",
    72,
    1,
    "the extended window after a post, in hours",
);
/// `lift_guard_minutes`.
pub const GUARD_MINUTES: Param = Param::int(
    "lift_guard_minutes",
    10,
    0,
    "minutes masked after the immediate window (and 2 before publication, for clock skew)",
);
/// `lift_history_days` (also read by `sql/lift/`).
pub const HISTORY_DAYS: Param = Param::int(
    "lift_history_days",
    42,
    7,
    "days of minutes read: the weeks of baseline and the posts' windows",
);
/// `lift_weeks`.
pub const WEEKS: Param = Param::int(
    "lift_weeks",
    4,
    1,
    "earlier weeks behind the seasonal profile",
);
/// `lift_min_weeks`.
pub const MIN_WEEKS: Param = Param::int(
    "lift_min_weeks",
    2,
    1,
    "with fewer earlier weeks than this, the profile borrows later ones",
);
/// `lift_smooth_minutes`.
pub const SMOOTH_MINUTES: Param = Param::int(
    "lift_smooth_minutes",
    15,
    0,
    "half-width of the seasonal smoother, in minutes",
);
/// `lift_level_minutes`.
pub const LEVEL_MINUTES: Param = Param::int(
    "lift_level_minutes",
    360,
    1,
    "half-width of the local level window, in minutes (wide enough that a post's hours-long tail is not taken for a higher level)",
);
/// `lift_level_prior`.
pub const LEVEL_PRIOR: Param = Param::float(
    "lift_level_prior",
    30.0,
    0.0,
    1e9,
    "pseudo-count shrinking the local level toward 1",
);
/// `lift_outlier_mads`.
pub const OUTLIER_MADS: Param = Param::float(
    "lift_outlier_mads",
    5.0,
    1.0,
    1e9,
    "spikes this many MADs above the running median stay out of the baseline",
);
/// `lift_kernel_half_life_minutes`.
pub const KERNEL_HALF_LIFE_MINUTES: Param = Param::float(
    "lift_kernel_half_life_minutes",
    60.0,
    0.1,
    1e6,
    "prior response kernel: half-life of the fast part, in minutes",
);
/// `lift_kernel_slow_share`.
pub const KERNEL_SLOW_SHARE: Param = Param::float(
    "lift_kernel_slow_share",
    0.3,
    0.0,
    1.0,
    "prior response kernel: the slow part's share",
);
/// `lift_kernel_slow_half_life_hours`.
pub const KERNEL_SLOW_HALF_LIFE_HOURS: Param = Param::float(
    "lift_kernel_slow_half_life_hours",
    24.0,
    0.01,
    1e5,
    "prior response kernel: half-life of the slow part, in hours",
);
/// `lift_kernel_prior_posts`.
pub const KERNEL_PRIOR_POSTS: Param = Param::float(
    "lift_kernel_prior_posts",
    5.0,
    0.0,
    1e9,
    "weight of the prior kernel against the learned one, in posts",
);
/// `lift_refine`.
pub const REFINE: Param = Param::int(
    "lift_refine",
    2,
    1,
    "rounds of baseline, amplitudes and kernels (more rounds drift upward)",
);
/// `lift_max_iterations`.
pub const MAX_ITERATIONS: Param =
    Param::int("lift_max_iterations", 500, 1, "EM steps per fit at most");
/// `lift_tolerance`.
pub const TOLERANCE: Param = Param::float(
    "lift_tolerance",
    1e-7,
    0.0,
    1.0,
    "a cycle that raises the log-likelihood by less than this share of it ends the fit",
);
/// `lift_placebos`.
pub const PLACEBOS: Param = Param::int(
    "lift_placebos",
    200,
    0,
    "placebo windows per post behind the intervals and p-values",
);
/// `lift_confidence`.
pub const CONFIDENCE: Param = Param::float(
    "lift_confidence",
    0.95,
    0.5,
    0.9999,
    "confidence of `lift_low` / `lift_high`",
);
/// `lift_fdr`.
pub const FDR: Param = Param::float(
    "lift_fdr",
    0.05,
    1e-6,
    1.0,
    "q-value under which a post counts as detected",
);
/// `lift_order_lookback_days` (also read by `sql/lift/`).
pub const ORDER_LOOKBACK_DAYS: Param = Param::int(
    "lift_order_lookback_days",
    7,
    1,
    "an order counts for a visit this many days before it",
);
/// `lift_summary_days`.
pub const SUMMARY_DAYS: Param = Param::int(
    "lift_summary_days",
    28,
    1,
    "posts published in this many local days up to the run date enter `lift_summary`",
);

/// The parameters of the lift, in the order the docs list them.
pub const PARAMS: &[Param] = &[
    SIGNALS_PARAM,
    ORDER_SIGNALS,
    SIGNAL_CHANNELS,
    IMMEDIATE_MINUTES,
    EXTENDED_HOURS,
    GUARD_MINUTES,
    HISTORY_DAYS,
    WEEKS,
    MIN_WEEKS,
    SMOOTH_MINUTES,
    LEVEL_MINUTES,
    LEVEL_PRIOR,
    OUTLIER_MADS,
    KERNEL_HALF_LIFE_MINUTES,
    KERNEL_SLOW_SHARE,
    KERNEL_SLOW_HALF_LIFE_HOURS,
    KERNEL_PRIOR_POSTS,
    REFINE,
    MAX_ITERATIONS,
    TOLERANCE,
    PLACEBOS,
    CONFIDENCE,
    FDR,
    ORDER_LOOKBACK_DAYS,
    SUMMARY_DAYS,
];

impl Default for Settings {
    /// The settings of a job that sets no lift parameter.
    fn default() -> Self {
        Settings::from_params(&Params::new("USD", "UTC")).expect("the declared defaults are valid")
    }
}

/// The signals halo knows.
pub const SIGNALS: &[&str] = &["direct", "branded_search", "product_page", "orders"];

impl Settings {
    /// Reads the settings from the job's parameters (declared defaults for
    /// those it leaves out).
    pub fn from_params(params: &Params) -> Result<Self> {
        let list = |p: &Param| -> Result<Vec<String>> {
            let v = params.value(p);
            let want = "a list of signal names (direct, branded_search, product_page, orders)";
            let arr = v.as_array().ok_or_else(|| bad(p.name, want, &v))?;
            let mut out = Vec::new();
            for item in arr {
                let name = item.as_str().ok_or_else(|| bad(p.name, want, &v))?;
                if !SIGNALS.contains(&name) {
                    return Err(bad(p.name, want, &v));
                }
                if !out.iter().any(|o: &String| o == name) {
                    out.push(name.to_string());
                }
            }
            Ok(out)
        };
        let signals = list(&SIGNALS_PARAM)?;
        let order_signals = list(&ORDER_SIGNALS)?;
        if order_signals
            .iter()
            .any(|n| n != "direct" && n != "branded_search")
        {
            return Err(Error::Config(
                "params.extra.lift_order_signals may hold only direct and branded_search: \
                 they never share a session, so no order is credited twice"
                    .into(),
            ));
        }
        let signal_channels = params.lists(&SIGNAL_CHANNELS)?;
        for (signal, channels) in &signal_channels {
            if let Some(c) = channels
                .iter()
                .find(|c| !crate::catalog::contract::CHANNELS.contains(&c.as_str()))
            {
                return Err(Error::Config(format!(
                    "params.extra.lift_signal_channels.{signal}: '{c}' is not a session channel (expected one of {})",
                    crate::catalog::contract::CHANNELS.join(", ")
                )));
            }
        }
        let int = |p: &Param| -> Result<usize> { Ok(params.int(p)? as usize) };
        let s = Settings {
            signals,
            order_signals,
            signal_channels,
            immediate_minutes: int(&IMMEDIATE_MINUTES)?,
            extended_hours: int(&EXTENDED_HOURS)?,
            guard_minutes: int(&GUARD_MINUTES)?,
            history_days: int(&HISTORY_DAYS)?,
            weeks: int(&WEEKS)?,
            min_weeks: int(&MIN_WEEKS)?,
            smooth_minutes: int(&SMOOTH_MINUTES)?,
            level_minutes: int(&LEVEL_MINUTES)?,
            level_prior: params.float(&LEVEL_PRIOR)?,
            outlier_mads: params.float(&OUTLIER_MADS)?,
            kernel_half_life_minutes: params.float(&KERNEL_HALF_LIFE_MINUTES)?,
            kernel_slow_share: params.float(&KERNEL_SLOW_SHARE)?,
            kernel_slow_half_life_hours: params.float(&KERNEL_SLOW_HALF_LIFE_HOURS)?,
            kernel_prior_posts: params.float(&KERNEL_PRIOR_POSTS)?,
            refine: int(&REFINE)?,
            max_iterations: int(&MAX_ITERATIONS)?,
            tolerance: params.float(&TOLERANCE)?,
            placebos: int(&PLACEBOS)?,
            confidence: params.float(&CONFIDENCE)?,
            fdr: params.float(&FDR)?,
            order_lookback_days: int(&ORDER_LOOKBACK_DAYS)?,
            summary_days: int(&SUMMARY_DAYS)?,
        };
        if s.immediate_minutes > s.extended_hours * 60 {
            return Err(Error::Config(format!(
                "params.extra.lift_immediate_minutes ({}) must not exceed the extended window ({} h)",
                s.immediate_minutes, s.extended_hours
            )));
        }
        if s.min_weeks > s.weeks {
            return Err(Error::Config(format!(
                "params.extra.lift_min_weeks ({}) must not exceed lift_weeks ({})",
                s.min_weeks, s.weeks
            )));
        }
        Ok(s)
    }

    /// Extended window in minutes.
    pub fn extended_minutes(&self) -> usize {
        self.extended_hours * 60
    }

    /// Days after publication before a post's numbers can no longer change:
    /// its extended window and then the order lookback of its last visit.
    pub fn settle_days(&self) -> usize {
        self.extended_hours.div_ceil(24) + self.order_lookback_days
    }
}
