//! The dark-social lift parameters of a job (`[params.extra]`, all optional,
//! prefixed `lift_`). Defaults follow `docs/lift.md`.

use crate::error::{Error, Result};
use crate::runner::job::{Params, bad_param as bad};

/// Everything the lift step can be told.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `lift_signals`: series to estimate lift on.
    pub signals: Vec<String>,
    /// `lift_order_signals`: visit signals whose visitors' orders are
    /// credited (must not overlap: direct and branded_search).
    pub order_signals: Vec<String>,
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
    /// `lift_level_minutes` (120): half-width of the local level window.
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

impl Default for Settings {
    fn default() -> Self {
        Settings {
            signals: ["direct", "branded_search", "product_page", "orders"]
                .map(String::from)
                .to_vec(),
            order_signals: ["direct", "branded_search"].map(String::from).to_vec(),
            immediate_minutes: 60,
            extended_hours: 72,
            guard_minutes: 10,
            history_days: 42,
            weeks: 4,
            min_weeks: 2,
            smooth_minutes: 15,
            level_minutes: 120,
            level_prior: 30.0,
            outlier_mads: 5.0,
            kernel_half_life_minutes: 60.0,
            kernel_slow_share: 0.3,
            kernel_slow_half_life_hours: 24.0,
            kernel_prior_posts: 5.0,
            refine: 2,
            max_iterations: 500,
            tolerance: 1e-7,
            placebos: 200,
            confidence: 0.95,
            fdr: 0.05,
            order_lookback_days: 7,
            summary_days: 28,
        }
    }
}

/// The signals halo knows.
pub const SIGNALS: &[&str] = &["direct", "branded_search", "product_page", "orders"];

impl Settings {
    /// Reads the settings from the job's parameters.
    pub fn from_params(params: &Params) -> Result<Self> {
        let mut s = Settings::default();
        let x = &params.extra;
        let list = |key: &str| -> Result<Option<Vec<String>>> {
            let Some(v) = x.get(key) else { return Ok(None) };
            let want = "a list of signal names (direct, branded_search, product_page, orders)";
            let arr = v.as_array().ok_or_else(|| bad(key, want, v))?;
            let mut out = Vec::new();
            for item in arr {
                let name = item.as_str().ok_or_else(|| bad(key, want, v))?;
                if !SIGNALS.contains(&name) {
                    return Err(bad(key, want, v));
                }
                if !out.iter().any(|o: &String| o == name) {
                    out.push(name.to_string());
                }
            }
            Ok(Some(out))
        };
        if let Some(v) = list("lift_signals")? {
            s.signals = v;
        }
        if let Some(v) = list("lift_order_signals")? {
            if v.iter().any(|n| n != "direct" && n != "branded_search") {
                return Err(Error::Config(
                    "params.extra.lift_order_signals may hold only direct and branded_search: \
                     they never share a session, so no order is credited twice"
                        .into(),
                ));
            }
            s.order_signals = v;
        }
        let int = |key: &str, min: i64, slot: &mut usize| -> Result<()> {
            if let Some(v) = x.get(key) {
                match v.as_integer() {
                    Some(n) if n >= min => *slot = n as usize,
                    _ => return Err(bad(key, &format!("an integer >= {min}"), v)),
                }
            }
            Ok(())
        };
        int("lift_immediate_minutes", 1, &mut s.immediate_minutes)?;
        int("lift_extended_hours", 1, &mut s.extended_hours)?;
        int("lift_guard_minutes", 0, &mut s.guard_minutes)?;
        int("lift_history_days", 7, &mut s.history_days)?;
        int("lift_weeks", 1, &mut s.weeks)?;
        int("lift_min_weeks", 1, &mut s.min_weeks)?;
        int("lift_smooth_minutes", 0, &mut s.smooth_minutes)?;
        int("lift_level_minutes", 1, &mut s.level_minutes)?;
        int("lift_refine", 1, &mut s.refine)?;
        int("lift_max_iterations", 1, &mut s.max_iterations)?;
        int("lift_placebos", 0, &mut s.placebos)?;
        int("lift_order_lookback_days", 1, &mut s.order_lookback_days)?;
        int("lift_summary_days", 1, &mut s.summary_days)?;
        let float = |key: &str, lo: f64, hi: f64, slot: &mut f64| -> Result<()> {
            if let Some(v) = x.get(key) {
                let f = v.as_float().or_else(|| v.as_integer().map(|i| i as f64));
                match f {
                    Some(f) if f >= lo && f <= hi => *slot = f,
                    _ => return Err(bad(key, &format!("a number in [{lo}, {hi}]"), v)),
                }
            }
            Ok(())
        };
        float("lift_level_prior", 0.0, 1e9, &mut s.level_prior)?;
        float("lift_outlier_mads", 1.0, 1e9, &mut s.outlier_mads)?;
        float(
            "lift_kernel_half_life_minutes",
            0.1,
            1e6,
            &mut s.kernel_half_life_minutes,
        )?;
        float("lift_kernel_slow_share", 0.0, 1.0, &mut s.kernel_slow_share)?;
        float(
            "lift_kernel_slow_half_life_hours",
            0.01,
            1e5,
            &mut s.kernel_slow_half_life_hours,
        )?;
        float(
            "lift_kernel_prior_posts",
            0.0,
            1e9,
            &mut s.kernel_prior_posts,
        )?;
        float("lift_tolerance", 0.0, 1.0, &mut s.tolerance)?;
        float("lift_confidence", 0.5, 0.9999, &mut s.confidence)?;
        float("lift_fdr", 1e-6, 1.0, &mut s.fdr)?;
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
