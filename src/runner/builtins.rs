//! The registry of built-in transforms a job step can run, and of the
//! parameters the domains declare.
//!
//! Each built-in is a domain's entry point behind the interface of
//! `crate::builtin`: inputs as DataFrames in the order below, outputs in the
//! order below. The job loader checks a step against this list (exit 78).

use futures::future::BoxFuture;

use crate::builtin::{Context, Provider, Setup, Table};
use crate::error::Result;
use crate::params::Param;
use datafusion::prelude::DataFrame;

/// A built-in's computation.
pub type RunFn = fn(Vec<DataFrame>, Context) -> BoxFuture<'static, Result<Vec<Table>>>;

/// Prepares the tables a built-in brings from outside the input root.
pub type PrepareFn = for<'a> fn(Setup<'a>) -> BoxFuture<'a, Result<Box<dyn Provider>>>;

/// A built-in transform: its inputs in order, its outputs in order.
#[derive(Clone, Copy)]
pub struct Builtin {
    /// Name used in job files.
    pub name: &'static str,
    /// What each input holds (for error messages; the job lists the SQL files
    /// in this order).
    pub inputs: &'static [&'static str],
    /// The result tables it writes, in this order.
    pub outputs: &'static [&'static str],
    /// The computation.
    pub run: RunFn,
    /// The tables it brings itself, prepared once per invocation.
    pub prepare: Option<PrepareFn>,
}

impl std::fmt::Debug for Builtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builtin").field("name", &self.name).finish()
    }
}

fn momentum(i: Vec<DataFrame>, c: Context) -> BoxFuture<'static, Result<Vec<Table>>> {
    Box::pin(crate::momentum::run(i, c))
}

fn attribution(i: Vec<DataFrame>, c: Context) -> BoxFuture<'static, Result<Vec<Table>>> {
    Box::pin(crate::attribution::run(i, c))
}

fn lift(i: Vec<DataFrame>, c: Context) -> BoxFuture<'static, Result<Vec<Table>>> {
    Box::pin(crate::lift::run(i, c))
}

fn payouts(i: Vec<DataFrame>, c: Context) -> BoxFuture<'static, Result<Vec<Table>>> {
    Box::pin(crate::payouts::run(i, c))
}

fn payout_decisions(s: Setup<'_>) -> BoxFuture<'_, Result<Box<dyn Provider>>> {
    Box::pin(crate::payouts::snapshot::provider(s))
}

fn code_leaks(i: Vec<DataFrame>, c: Context) -> BoxFuture<'static, Result<Vec<Table>>> {
    Box::pin(crate::health::run(i, c))
}

fn code_decisions(s: Setup<'_>) -> BoxFuture<'_, Result<Box<dyn Provider>>> {
    Box::pin(crate::health::decisions::provider(s))
}

fn compliance(i: Vec<DataFrame>, c: Context) -> BoxFuture<'static, Result<Vec<Table>>> {
    Box::pin(crate::compliance::run(i, c))
}

fn review_decisions(s: Setup<'_>) -> BoxFuture<'_, Result<Box<dyn Provider>>> {
    Box::pin(crate::compliance::review::provider(s))
}

fn outbox(i: Vec<DataFrame>, c: Context) -> BoxFuture<'static, Result<Vec<Table>>> {
    Box::pin(crate::outbox::run(i, c))
}

fn outbox_ledgers(s: Setup<'_>) -> BoxFuture<'_, Result<Box<dyn Provider>>> {
    Box::pin(crate::outbox::decisions::provider(s))
}

const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "creator_momentum",
        inputs: &["daily clicks and code orders per creator"],
        outputs: &["creator_momentum"],
        run: momentum,
        prepare: None,
    },
    Builtin {
        name: "attribution",
        inputs: &[
            "touches of the journeys that converted in the window",
            "touches of the open journeys, in journey and touch order",
        ],
        outputs: &[
            "touch_credit",
            "attribution_summary",
            "markov_transitions",
            "attribution_paths",
        ],
        run: attribution,
        prepare: None,
    },
    Builtin {
        name: "lift",
        inputs: &[
            "signal counts per minute and country",
            "posts",
            "orders with their last dark-social-eligible visit",
            "known marketing events",
        ],
        outputs: &[
            "post_lift",
            "traffic_baseline",
            "lift_summary",
            "lift_priors",
        ],
        run: lift,
        prepare: None,
    },
    Builtin {
        name: "payouts",
        inputs: &[
            "(order, creator, valid plan) candidates",
            "decided payouts (payout_decisions)",
            "their lines (payout_decided_lines)",
        ],
        outputs: &["payout_lines", "payouts"],
        run: payouts,
        prepare: Some(payout_decisions),
    },
    Builtin {
        name: "code_leaks",
        inputs: &[
            "code usage per code and day (code_usage_history)",
            "decisions on codes (code_decisions)",
        ],
        outputs: &["code_leaks"],
        run: code_leaks,
        prepare: Some(code_decisions),
    },
    Builtin {
        name: "compliance",
        inputs: &[
            "posts with their creator's country and audience",
            "links",
            "codes",
            "review decisions (review_decisions)",
        ],
        outputs: &["compliance_flags", "post_compliance"],
        run: compliance,
        prepare: Some(review_decisions),
    },
    Builtin {
        name: "outbox",
        inputs: &[
            "the follow-ups the facts call for",
            "recipients (creators)",
            "decisions on messages (outbox_decisions)",
            "delivery attempts and outcomes (outbox_deliveries)",
        ],
        outputs: &["outbox"],
        run: outbox,
        prepare: Some(outbox_ledgers),
    },
];

/// The built-in called `name`.
pub fn lookup(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// Names of all built-in transforms.
pub fn names() -> Vec<&'static str> {
    BUILTINS.iter().map(|b| b.name).collect()
}

/// Every optional parameter a domain declares, by the section of the
/// parameter reference it belongs to.
pub fn params() -> Vec<(&'static str, &'static [Param])> {
    vec![
        ("Attribution", crate::attribution::PARAMS),
        ("Dark-social lift", crate::lift::PARAMS),
        ("Creator momentum", crate::momentum::PARAMS),
        ("Payouts", crate::payouts::PARAMS),
        ("Recommendations", crate::roi::recommend::PARAMS),
        ("Program health", crate::health::PARAMS),
        ("Compliance", crate::compliance::PARAMS),
        ("Product placement", crate::compliance::placement::PARAMS),
        ("Communications", crate::outbox::PARAMS),
    ]
}
