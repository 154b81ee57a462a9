//! What to do next with each creator (`recommendations`, read by
//! `sql/roi/050_recommendations.sql`; docs/roi.md): the thresholds a program
//! team tunes. The rules themselves are SQL, so an analyst can read them.

use crate::params::Param;

/// `recommend_target_roas`.
pub const TARGET_ROAS: Param = Param::float(
    "recommend_target_roas",
    3.0,
    0.0,
    1000.0,
    "recommendations: the program's ROAS target (combined revenue / total cost); `scale` needs confidence that a row meets it",
);

/// `recommend_confidence`.
pub const CONFIDENCE: Param = Param::float(
    "recommend_confidence",
    0.8,
    0.5,
    1.0,
    "recommendations: the posterior probability `scale` (meets the target) and `pause` (loses money) need",
);

/// `recommend_peer_ratio`.
pub const PEER_RATIO: Param = Param::float(
    "recommend_peer_ratio",
    0.5,
    0.0,
    1.0,
    "recommendations: lift per post below this share of the peers' median, with ROAS below target, is `rework_content`",
);

/// `recommend_trend_days`.
pub const TREND_DAYS: Param = Param::int(
    "recommend_trend_days",
    28,
    1,
    "recommendations: revenue of the last this many days is compared with the same number of days before",
);

/// `recommend_trend_drop`.
pub const TREND_DROP: Param = Param::float(
    "recommend_trend_drop",
    0.25,
    0.0,
    1.0,
    "recommendations: a row whose revenue fell by more than this share is not `scale`d",
);

/// The parameters of recommendations.
pub const PARAMS: &[Param] = &[TARGET_ROAS, CONFIDENCE, PEER_RATIO, TREND_DAYS, TREND_DROP];
