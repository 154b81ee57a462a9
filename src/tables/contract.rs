//! The result tables' contract: every table halo commits, declared once
//! (its columns in order, their types, whether they can be null, what they
//! mean, and how it is partitioned), as `catalog::contract` declares the
//! inputs.
//!
//! The runner checks every step's output against its declaration before it is
//! staged, so a table never drifts from its documentation: a built-in whose
//! output differs is a bug in halo (exit 1), a SQL step whose output differs
//! is a job error (exit 78); either way the message names the table and the
//! column. `docs/results.md` embeds [`markdown`] of every table (a test keeps
//! them equal), and the dry run plans later steps against the declared
//! schemas. A job may declare tables of its own (`[[tables]]`, see
//! `docs/jobs.md`) for the steps analysts add.

use std::sync::{Arc, LazyLock};

use arrow::datatypes::{Field, Schema, SchemaRef};
use serde::Deserialize;

use super::types;
use crate::error::{Error, Result};

/// How a result table is partitioned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Partition {
    /// By `dt`, the run date: a run for D replaces `dt = D`.
    RunDate,
    /// By `dt`, a date the step computes, with `as_of` the run date: a run
    /// for D replaces a rolling range of dates (`rolling_days`).
    EventDate,
    /// Not partitioned (`runs`, appended).
    Unpartitioned,
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Partition::RunDate => "run date",
            Partition::EventDate => "event date (rolling_days)",
            Partition::Unpartitioned => "nothing (append-only)",
        })
    }
}

/// One column of a result table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its type, as the docs spell it (see `tables::types`).
    #[serde(rename = "type")]
    pub ty: String,
    /// Whether it can be null.
    #[serde(default = "yes")]
    pub nullable: bool,
    /// What it means.
    pub doc: String,
}

fn yes() -> bool {
    true
}

/// One result table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultTable {
    /// Its name: the folder under the output root.
    pub name: String,
    /// How it is partitioned.
    pub partition: Partition,
    /// Its columns, in order (`dt` and `as_of` included).
    pub columns: Vec<Column>,
}

/// A column that can be null.
fn col(name: &str, ty: &str, doc: &str) -> Column {
    Column {
        name: name.into(),
        ty: ty.into(),
        nullable: true,
        doc: doc.into(),
    }
}

/// A column that is never null.
fn req(name: &str, ty: &str, doc: &str) -> Column {
    Column {
        nullable: false,
        ..col(name, ty, doc)
    }
}

impl ResultTable {
    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Checks the declaration itself: known types, a `dt` where the
    /// partitioning needs one.
    pub fn check_declaration(&self) -> Result<()> {
        for c in &self.columns {
            types::parse(&c.ty)
                .map_err(|e| e.context(format!("result table {}, column {}", self.name, c.name)))?;
        }
        let has = |n: &str| self.column(n).is_some();
        let ok = match self.partition {
            Partition::RunDate => has("dt") && !has("as_of"),
            Partition::EventDate => has("dt") && has("as_of"),
            Partition::Unpartitioned => !has("dt"),
        };
        if !ok {
            return Err(Error::Config(format!(
                "result table {}: a table partitioned by {} declares dt{}",
                self.name,
                self.partition,
                if self.partition == Partition::EventDate {
                    " and as_of"
                } else {
                    " exactly when it is partitioned"
                }
            )));
        }
        Ok(())
    }

    /// The Arrow schema halo writes.
    pub fn schema(&self) -> Result<SchemaRef> {
        let mut fields = Vec::with_capacity(self.columns.len());
        for c in &self.columns {
            fields.push(Field::new(&c.name, types::parse(&c.ty)?, c.nullable));
        }
        Ok(Arc::new(Schema::new(fields)))
    }

    /// Compares a produced schema with the declaration. The error (kind
    /// [`Error::Config`]; the runner turns it into a bug for built-ins) names
    /// the table and the first column that differs.
    pub fn check(&self, actual: &Schema) -> Result<()> {
        let name = &self.name;
        for f in actual.fields() {
            if self.column(f.name()).is_none() {
                return Err(Error::Config(format!(
                    "result table {name}: the step's output has a column {} ({}) that the table does not declare",
                    f.name(),
                    types::spell(f.data_type())
                )));
            }
        }
        for c in &self.columns {
            if actual.index_of(&c.name).is_err() {
                return Err(Error::Config(format!(
                    "result table {name}: column {} ({}) is missing from the step's output",
                    c.name, c.ty
                )));
            }
        }
        for (i, (c, f)) in self.columns.iter().zip(actual.fields()).enumerate() {
            if f.name() != &c.name {
                return Err(Error::Config(format!(
                    "result table {name}: column {} should be {}, but the step's output has {} there (columns are declared in order)",
                    i + 1,
                    c.name,
                    f.name()
                )));
            }
            let declared = types::parse(&c.ty)?;
            if !types::matches(&declared, f.data_type()) {
                return Err(Error::Config(format!(
                    "result table {name}: column {} should be {}, but the step's output is {}",
                    c.name,
                    c.ty,
                    types::spell(f.data_type())
                )));
            }
        }
        Ok(())
    }

    /// The table's columns as a Markdown table, for `docs/results.md`.
    pub fn markdown(&self) -> String {
        let partition = match self.partition {
            Partition::RunDate => "Partitioned by `dt`, the run date.".to_string(),
            Partition::EventDate => {
                "Partitioned by `dt`, a date of its rows (see above); `as_of` is the run date that computed them.".to_string()
            }
            Partition::Unpartitioned => "Not partitioned; rows are only appended.".to_string(),
        };
        let mut out =
            format!("{partition}\n\n| column | type | null | meaning |\n|---|---|---|---|\n");
        for c in &self.columns {
            out.push_str(&format!(
                "| `{}` | `{}` | {} | {} |\n",
                c.name,
                c.ty,
                if c.nullable { "yes" } else { "no" },
                c.doc
            ));
        }
        out
    }
}

/// Every result table halo's bundled jobs and the runner write.
pub static TABLES: LazyLock<Vec<ResultTable>> = LazyLock::new(|| {
    vec![
        ResultTable {
            name: "daily_sessions".into(),
            partition: Partition::RunDate,
            columns: vec![
                col(
                    "channel",
                    "string",
                    "session channel (`direct`, `organic_search`, ...)",
                ),
                req("country", "string", "session country, `unknown` when null"),
                req("sessions", "int64", "sessions that started that day"),
                req("visitors", "int64", "distinct `anonymous_id`s"),
                col(
                    "product_landings",
                    "int64",
                    "sessions that landed on a product page",
                ),
                col(
                    "tracked_click_sessions",
                    "int64",
                    "sessions opened by a tracked click (`click_id` set)",
                ),
                col(
                    "branded_search_sessions",
                    "int64",
                    "organic or paid search sessions whose query contains a brand term (`params.brand_terms`, case-insensitive)",
                ),
                req("dt", "date", "the day"),
            ],
        },
        ResultTable {
            name: "daily_orders".into(),
            partition: Partition::RunDate,
            columns: vec![
                col("currency", "string", "ISO 4217 code of the orders"),
                req("orders", "int64", "orders placed that day"),
                req("new_customer_orders", "int64", "of which `is_new_customer`"),
                req(
                    "revenue",
                    "decimal(18,2)",
                    "net merchandise revenue, in `currency`",
                ),
                col(
                    "revenue_base",
                    "decimal(18,2)",
                    "the same, in the base currency",
                ),
                req(
                    "refunds",
                    "int64",
                    "refunds made that day (for orders of any day)",
                ),
                req(
                    "refunded",
                    "decimal(18,2)",
                    "refunded amount, in `currency`",
                ),
                col(
                    "refunded_base",
                    "decimal(18,2)",
                    "the same, in the base currency",
                ),
                col(
                    "rate_to_base",
                    "decimal(18,8)",
                    "the rate used (1 for the base currency)",
                ),
                req("dt", "date", "the day"),
            ],
        },
        ResultTable {
            name: "creator_daily".into(),
            partition: Partition::RunDate,
            columns: vec![
                col("creator_id", "string", "the creator"),
                req("posts", "int64", "content published that day"),
                req(
                    "clicks",
                    "int64",
                    "tracked clicks on the creator's links (post links and bio link)",
                ),
                req(
                    "code_redemptions",
                    "int64",
                    "uses of the creator's codes on that day's orders. Codes are trimmed and case-insensitive, and must be valid at order time",
                ),
                req(
                    "code_orders",
                    "int64",
                    "orders that used at least one of the creator's codes. An order counts once per creator",
                ),
                req("code_new_customers", "int64", "of which `is_new_customer`"),
                req(
                    "code_revenue_base",
                    "decimal(18,2)",
                    "revenue of those orders, in the base currency",
                ),
                req("dt", "date", "the day"),
            ],
        },
        ResultTable {
            name: "creator_momentum".into(),
            partition: Partition::RunDate,
            columns: vec![
                col("creator_id", "string", "the creator"),
                col("clicks_today", "int64", "clicks on the run date"),
                col(
                    "clicks_7d",
                    "int64",
                    "clicks in the 7 days ending on the run date",
                ),
                col(
                    "baseline_mean",
                    "float64",
                    "mean daily clicks over the previous days of the window",
                ),
                col("baseline_std", "float64", "their sample standard deviation"),
                col(
                    "clicks_z",
                    "float64",
                    "`(clicks_today - baseline_mean) / baseline_std`. Null when the baseline does not vary",
                ),
                col(
                    "code_orders_today",
                    "int64",
                    "orders with the creator's code on the run date",
                ),
                col("code_orders_7d", "int64", "the same over 7 days"),
                req("dt", "date", "the day"),
            ],
        },
        ResultTable {
            name: "journeys".into(),
            partition: Partition::RunDate,
            columns: vec![
                col(
                    "journey_id",
                    "string",
                    "the order id, or `<person_id>#<n>` for an open journey",
                ),
                col(
                    "person_id",
                    "string",
                    "`c:<customer_id>`, `a:<anonymous_id>`, or `o:<order_id>` for an order with no visitor",
                ),
                req("converted", "bool", "the journey ended in an order"),
                col("order_id", "string", "the order (null when open)"),
                col("ordered_at", "timestamp[us, tz=UTC]", "order time"),
                col(
                    "value",
                    "decimal(18,2)",
                    "order revenue in the base currency",
                ),
                col(
                    "ended_at",
                    "timestamp[us, tz=UTC]",
                    "order time, or the last touch of an open journey",
                ),
                req("n_touches", "int32", "touches kept (after the step cap)"),
                col(
                    "path",
                    "string",
                    "channels joined by ` > ` (raw, before the path transform)",
                ),
                col("channels", "list<string>", "the touches"),
                col("touch_kinds", "list<string>", "the touches"),
                col("touch_times", "list<timestamp[us, tz=UTC]>", "the touches"),
                col("touch_ids", "list<string>", "the touches"),
                col("creator_ids", "list<string>", "the touches"),
                col("content_ids", "list<string>", "the touches"),
                col("platforms", "list<string>", "the touches"),
                col("formats", "list<string>", "the touches"),
                req("dt", "date", "the run date"),
            ],
        },
        ResultTable {
            name: "touch_credit".into(),
            partition: Partition::RunDate,
            columns: vec![
                req("order_id", "string", "the order"),
                req("ordered_at", "timestamp[us, tz=UTC]", "order time"),
                col(
                    "touch_seq",
                    "int32",
                    "the touch's position in the journey, from 1 (null: no touch)",
                ),
                col("touch_at", "timestamp[us, tz=UTC]", "touch time"),
                col(
                    "touch_id",
                    "string",
                    "click, session or exposure id; `<order_id>/<creator_id>` for a code",
                ),
                col(
                    "touch_kind",
                    "string",
                    "`click`, `session`, `code` or `exposure`",
                ),
                req(
                    "channel",
                    "string",
                    "`creator:<creator_id>` for creator touches, else the session channel",
                ),
                col(
                    "creator_id",
                    "string",
                    "what the touch came from (null when unknown)",
                ),
                col(
                    "content_id",
                    "string",
                    "what the touch came from (null when unknown)",
                ),
                col(
                    "platform",
                    "string",
                    "what the touch came from (null when unknown)",
                ),
                col(
                    "format",
                    "string",
                    "what the touch came from (null when unknown)",
                ),
                req(
                    "model",
                    "string",
                    "`first_touch`, `last_touch`, `last_non_direct`, `linear`, `linear_distinct`, `position_based`, `time_decay`, `markov_o1`..`markov_o4`, `shapley_simplified`, `shapley_counterfactual`, `shapley_coalition`",
                ),
                req("credit", "float64", "fraction of the order"),
                req(
                    "revenue_credit",
                    "decimal(18,2)",
                    "the touch's part of the order's value, base currency",
                ),
                req("dt", "date", "the run date = the orders' local date"),
            ],
        },
        ResultTable {
            name: "attribution_summary".into(),
            partition: Partition::RunDate,
            columns: vec![
                req("model", "string", "as in `touch_credit`"),
                req(
                    "level",
                    "string",
                    "`channel`, `creator`, `platform` or `format`",
                ),
                req(
                    "key",
                    "string",
                    "the channel, creator id, platform or format",
                ),
                req("conversions", "float64", "sum of credit"),
                req("revenue", "decimal(18,2)", "sum of revenue credit"),
                col("share", "float64", "`conversions` / orders of the window"),
                col(
                    "removal_effect",
                    "float64",
                    "Markov models, channel level: 1 - P(conversion without the channel) / P(conversion)",
                ),
                col(
                    "value_removal_effect",
                    "float64",
                    "the same for expected conversion value",
                ),
                col(
                    "ci_low",
                    "float64",
                    "bootstrap percentile interval of `conversions` (`attribution_confidence`, default 95 %)",
                ),
                col(
                    "ci_high",
                    "float64",
                    "bootstrap percentile interval of `conversions` (`attribution_confidence`, default 95 %)",
                ),
                col("revenue_ci_low", "decimal(18,2)", "the same for `revenue`"),
                col("revenue_ci_high", "decimal(18,2)", "the same for `revenue`"),
                req("dt", "date", "the run date"),
            ],
        },
        ResultTable {
            name: "markov_transitions".into(),
            partition: Partition::RunDate,
            columns: vec![
                req("model", "string", "`markov_o1` .. `markov_o4`"),
                req("from_state", "string", "the transition"),
                req("to_state", "string", "the transition"),
                req(
                    "count",
                    "float64",
                    "journeys (converting + non-converting) that made it",
                ),
                req(
                    "probability",
                    "float64",
                    "`count` / all transitions out of `from_state`",
                ),
                req("dt", "date", "the run date"),
            ],
        },
        ResultTable {
            name: "attribution_paths".into(),
            partition: Partition::RunDate,
            columns: vec![
                req(
                    "path",
                    "string",
                    "positions joined by ` > ` (with the count, `ch(n)`, under the `frequency` transform); `(no touch)` for orders without touches",
                ),
                req("positions", "int32", "path length"),
                req(
                    "conversions",
                    "float64",
                    "orders whose journey took this path",
                ),
                req("value", "decimal(18,2)", "their value, base currency"),
                req("non_conversions", "float64", "open journeys that took it"),
                req(
                    "conversion_rate",
                    "float64",
                    "`conversions / (conversions + non_conversions)`",
                ),
                req("dt", "date", "the run date"),
            ],
        },
        ResultTable {
            name: "post_lift".into(),
            partition: Partition::EventDate,
            columns: vec![
                req("content_id", "string", "the post"),
                req("creator_id", "string", "the post"),
                req("platform", "string", "the post"),
                req("format", "string", "the post"),
                req("published_at", "timestamp[us, tz=UTC]", "publication time"),
                req("signal", "string", "the traffic series"),
                req("window", "string", "`immediate` or `extended`"),
                req(
                    "observed",
                    "float64",
                    "visits (orders, for `orders`) in the window's minutes that lie in the data",
                ),
                req(
                    "baseline",
                    "float64",
                    "the counterfactual over the same minutes",
                ),
                req(
                    "lift",
                    "float64",
                    "the post's share of `observed − baseline`: each minute's excess split over the posts responding in it in proportion to their expected response. Signed; may be negative",
                ),
                req(
                    "lift_low",
                    "float64",
                    "interval at `lift_confidence` (95 %)",
                ),
                req(
                    "lift_high",
                    "float64",
                    "interval at `lift_confidence` (95 %)",
                ),
                req("p_value", "float64", "one-sided p-value of `lift > 0`"),
                req(
                    "q_value",
                    "float64",
                    "Benjamini–Hochberg q-value over the posts of the run's range, per signal and window",
                ),
                req(
                    "min_detectable_lift",
                    "float64",
                    "the smallest lift this post could have shown at 5 % (one-sided) with 80 % power",
                ),
                req(
                    "overlap_share",
                    "float64",
                    "share of the post's expected response that coincides with other posts' (0 = alone)",
                ),
                col(
                    "incremental_orders",
                    "float64",
                    "expected orders caused by the post's visits in this signal and window (order signals only: `direct`, `branded_search`; null otherwise). Negative when the lift is",
                ),
                col(
                    "incremental_revenue",
                    "decimal(18,2)",
                    "their value in the base currency, rounded half-even once",
                ),
                req(
                    "status",
                    "string",
                    "`provisional` until the extended window and then the order lookback (7 days) have passed by the end of the run date; `final` after",
                ),
                req("dt", "date", "publication date"),
                req("as_of", "date", "the run date whose data computed the row"),
            ],
        },
        ResultTable {
            name: "traffic_baseline".into(),
            partition: Partition::RunDate,
            columns: vec![
                req("minute", "timestamp[us, tz=UTC]", "the minute"),
                req("signal", "string", "the series"),
                req(
                    "country",
                    "string",
                    "ISO code, `unknown`, or `ALL` (every country: the series lift is measured on)",
                ),
                req("observed", "float64", "count in the minute"),
                req("baseline", "float64", "the counterfactual"),
                req("excess", "float64", "`observed − baseline`"),
                req("dt", "date", "the run date"),
            ],
        },
        ResultTable {
            name: "lift_summary".into(),
            partition: Partition::RunDate,
            columns: vec![
                req("level", "string", "`creator`, `platform` or `format`"),
                req("key", "string", "the creator id, platform or format"),
                req("signal", "string", "as in `post_lift`"),
                req("window", "string", "as in `post_lift`"),
                req("posts", "int64", "posts pooled"),
                req("lift_per_post", "float64", "mean lift"),
                req(
                    "lift_low",
                    "float64",
                    "interval of the mean, treating posts as independent",
                ),
                req(
                    "lift_high",
                    "float64",
                    "interval of the mean, treating posts as independent",
                ),
                req("total_lift", "float64", "sum of the posts' lift"),
                req(
                    "detected_posts",
                    "int64",
                    "posts with `q_value < lift_fdr` (0.05)",
                ),
                col(
                    "incremental_orders",
                    "float64",
                    "sum over the posts (order signals only)",
                ),
                col(
                    "incremental_revenue",
                    "decimal(18,2)",
                    "sum over the posts, base currency",
                ),
                req("dt", "date", "the run date"),
            ],
        },
        ResultTable {
            name: "lift_priors".into(),
            partition: Partition::RunDate,
            columns: vec![
                req("signal", "string", "as in `post_lift`"),
                req("creator_id", "string", "the creator"),
                req("format", "string", "the posts' format"),
                req(
                    "posts",
                    "int64",
                    "the creator's posts in this format in the fit",
                ),
                req(
                    "prior_mean",
                    "float64",
                    "mean of the exponential prior on a post's total response (visits): `(Σ A + pseudo_posts · format_mean) / (posts + pseudo_posts)` over the previous pass",
                ),
                req(
                    "format_mean",
                    "float64",
                    "the format's mean response it is pooled toward",
                ),
                req(
                    "pseudo_posts",
                    "float64",
                    "posts' worth of weight the format mean carries",
                ),
                req("dt", "date", "the run date"),
            ],
        },
        ResultTable {
            name: "code_usage".into(),
            partition: Partition::RunDate,
            columns: vec![
                req("code", "string", "the code, trimmed and upper-case"),
                req("creator_id", "string", "its owner"),
                req(
                    "redemptions",
                    "int64",
                    "orders of the run date (local day) that used it",
                ),
                req(
                    "revenue",
                    "decimal(18,2)",
                    "their net revenue, base currency at the day's rate",
                ),
                req("new_customers", "int64", "orders by new customers"),
                col(
                    "new_customer_share",
                    "float64",
                    "`new_customers` over the orders that say whether the customer is new",
                ),
                req(
                    "touched",
                    "int64",
                    "orders whose buyer's journey holds the creator's click, an exposure to their post, or an untracked visit inside one of their posts' immediate lift windows",
                ),
                req("touched_share", "float64", "`touched / redemptions`"),
                req(
                    "coupon",
                    "int64",
                    "orders whose buyer came from a coupon or deal site (`code_coupon_domains`) in the 24 hours before",
                ),
                req("coupon_share", "float64", "`coupon / redemptions`"),
                req(
                    "outside_audience",
                    "int64",
                    "orders from a country outside the creator's audience countries (share >= `code_audience_min_share`)",
                ),
                req(
                    "country_known",
                    "int64",
                    "orders with a country, of a creator with audience data",
                ),
                col(
                    "outside_audience_share",
                    "float64",
                    "`outside_audience / country_known`",
                ),
                req(
                    "no_recent_post",
                    "int64",
                    "orders with no post of the creator in the `code_post_window_days` before",
                ),
                req(
                    "untouched_revenue",
                    "decimal(18,2)",
                    "revenue of the orders not touched by the creator",
                ),
                req(
                    "commission",
                    "decimal(18,2)",
                    "commission the run's `payout_lines` pay the creator on these orders (after refunds), base currency",
                ),
                req(
                    "untouched_commission",
                    "decimal(18,2)",
                    "of it, on the orders not touched by the creator",
                ),
                req("dt", "date", "the run date (the orders' local day)"),
            ],
        },
        ResultTable {
            name: "code_leaks".into(),
            partition: Partition::RunDate,
            columns: vec![
                req("code", "string", "the code"),
                req("creator_id", "string", "its owner"),
                req(
                    "status",
                    "string",
                    "`ok`, `suspected` or `likely_leaked`: from the evidence alone (docs/health.md), never from a decision",
                ),
                col(
                    "decision",
                    "string",
                    "`confirmed` or `dismissed` by a person (`halo codes`), as of the run date; null: undecided",
                ),
                col("decided_by", "string", "who decided"),
                col(
                    "leaked_from",
                    "date",
                    "for a confirmed leak, the date from which its redemptions count as leaked",
                ),
                col(
                    "first_flagged_on",
                    "date",
                    "the first day the change statistic crossed its threshold, in the history read",
                ),
                col(
                    "change_started_on",
                    "date",
                    "the change statistic's estimate of when the change began (the day after it last stood at zero before crossing)",
                ),
                req(
                    "history_days",
                    "int64",
                    "days of `code_usage` read (at most `code_history_days`)",
                ),
                req("redemptions", "int64", "redemptions in the history read"),
                req(
                    "recent_redemptions",
                    "int64",
                    "redemptions in the last `code_recent_days`",
                ),
                col(
                    "untouched_share",
                    "float64",
                    "share of the recent redemptions with no touch from the creator",
                ),
                col(
                    "untouched_share_shrunk",
                    "float64",
                    "the same, shrunk toward the program's share (beta prior, strength estimated across codes)",
                ),
                col(
                    "untouched_share_change",
                    "float64",
                    "recent untouched share minus the code's own share before the recent window",
                ),
                col(
                    "coupon_share_shrunk",
                    "float64",
                    "recent share arriving from coupon sites, shrunk toward the program's",
                ),
                col(
                    "outside_audience_share_shrunk",
                    "float64",
                    "recent share from outside the audience countries, shrunk toward the program's",
                ),
                col(
                    "new_customer_share",
                    "float64",
                    "recent share of new customers",
                ),
                req(
                    "program_untouched_share",
                    "float64",
                    "the reference: the untouched share of the program's codes while in control (each code's days before its CUSUM first crossed)",
                ),
                req(
                    "prior_strength",
                    "float64",
                    "pseudo-redemptions the program's shares carry in the shrinkage",
                ),
                req(
                    "cusum",
                    "float64",
                    "Bernoulli CUSUM of untouched redemptions against the reference, at the run date",
                ),
                req(
                    "cusum_threshold",
                    "float64",
                    "its alarm threshold (`code_cusum_threshold`)",
                ),
                req(
                    "leaked_redemptions",
                    "float64",
                    "estimated leaked redemptions since the change began: `(untouched − p0 · redemptions) / (1 − p0)` with p0 the reference share (0 when `ok`)",
                ),
                req(
                    "leaked_revenue",
                    "decimal(18,2)",
                    "their revenue: the untouched revenue since then × the leaked share of untouched redemptions",
                ),
                req(
                    "leaked_commission",
                    "decimal(18,2)",
                    "commission paid or pending on them, estimated the same way from the untouched orders' commission",
                ),
                req("dt", "date", "the run date"),
            ],
        },
        ResultTable {
            name: "payout_lines".into(),
            partition: Partition::RunDate,
            columns: vec![
                req(
                    "line_id",
                    "string",
                    "`<order_id>/<creator_id>`; `~<n>` appended for the n-th later change to a paid line; `carry/<payout_id>` for a carried balance",
                ),
                col(
                    "payout_id",
                    "string",
                    "the payout it is in (null until its month has ended, or when it pays nothing)",
                ),
                req("creator_id", "string", "the creator"),
                req(
                    "kind",
                    "string",
                    "`commission`, `clawback` (a refund after payment), `adjustment` (another change after payment) or `carried_balance`",
                ),
                col("order_id", "string", "the order"),
                col("ordered_at", "timestamp[us, tz=UTC]", "the order"),
                col(
                    "plan_id",
                    "string",
                    "the rule: the commission plan that pays",
                ),
                col(
                    "credit_basis",
                    "string",
                    "the plan's basis (`code`, `link`, `code_or_link`, `model`)",
                ),
                col(
                    "via",
                    "string",
                    "how the order met it: `code`, `link`, `code+link`, `model`",
                ),
                col(
                    "campaign_id",
                    "string",
                    "the plan's campaign (null for a creator-wide plan)",
                ),
                col(
                    "share",
                    "float64",
                    "share of the order credited: 1, or the model's credit share",
                ),
                col(
                    "base",
                    "decimal(18,2)",
                    "net revenue × share in the payout currency at the order day's rate, before refunds",
                ),
                col(
                    "rate_percent",
                    "decimal(9,4)",
                    "the rate applied (plan, tier or new-customer rate)",
                ),
                col("flat", "decimal(18,2)", "flat amount × share"),
                req(
                    "gross",
                    "decimal(18,2)",
                    "base × rate + flat, rounded half-even once",
                ),
                req(
                    "reversal",
                    "decimal(18,2)",
                    "taken off by refunds before payment (proportional for partial refunds)",
                ),
                req(
                    "amount",
                    "decimal(18,2)",
                    "what the line pays: `gross − reversal`; for later changes, the signed change",
                ),
                req("currency", "string", "the plan's (payout) currency"),
                col(
                    "lock_until",
                    "date",
                    "the order's local date + the plan's `lock_days`",
                ),
                col(
                    "period",
                    "string",
                    "`YYYY-MM` of the payout the line belongs (or will belong) to",
                ),
                req(
                    "status",
                    "string",
                    "`locked`, `eligible`, `pending_approval`, `approved`, `rejected`, `reversed` (refunded in full before payment) or `not_commissionable`",
                ),
                req(
                    "reason",
                    "string",
                    "why: the plan, scope, basis, rate and tier; the lock date; refunds; or why no plan pays",
                ),
                req("dt", "date", "the run date"),
            ],
        },
        ResultTable {
            name: "payouts".into(),
            partition: Partition::RunDate,
            columns: vec![
                req("payout_id", "string", "`<creator_id>-<currency>-<YYYY-MM>`"),
                req(
                    "creator_id",
                    "string",
                    "whose, which month, in what currency",
                ),
                req("period", "string", "whose, which month, in what currency"),
                req("currency", "string", "whose, which month, in what currency"),
                req(
                    "gross",
                    "decimal(18,2)",
                    "sum of the commission lines' `gross`",
                ),
                req("reversals", "decimal(18,2)", "refunds before payment"),
                req(
                    "clawbacks",
                    "decimal(18,2)",
                    "refunds after an earlier payout (positive = taken back)",
                ),
                req(
                    "adjustments",
                    "decimal(18,2)",
                    "other changes to paid lines and carried balances (signed)",
                ),
                req(
                    "net",
                    "decimal(18,2)",
                    "`gross − reversals − clawbacks + adjustments` = sum of the lines' `amount`",
                ),
                req("lines", "int64", "lines in it"),
                req(
                    "status",
                    "string",
                    "`pending_approval`, `approved` or `rejected`",
                ),
                col("decided_by", "string", "the decision, from the ledger"),
                col(
                    "decided_at",
                    "timestamp[us, tz=UTC]",
                    "the decision, from the ledger",
                ),
                col("note", "string", "the decision, from the ledger"),
                col("ledger_seq", "int64", "the decision, from the ledger"),
                req(
                    "computed_as_of",
                    "date",
                    "the run date whose data the figures come from (for a decided payout: the run it was decided on)",
                ),
                req("dt", "date", "the run date"),
            ],
        },
        ResultTable {
            name: "creator_roi".into(),
            partition: Partition::RunDate,
            columns: vec![
                req(
                    "period",
                    "string",
                    "`day`, `week` (from Monday), `month`, `campaign`, `to_date`",
                ),
                col(
                    "period_start",
                    "date",
                    "first day of the period (campaign start; first fact for `to_date`)",
                ),
                col("creator_id", "string", "the creator"),
                col(
                    "campaign_id",
                    "string",
                    "the campaign (`campaign` rows); null otherwise (all of the creator's activity)",
                ),
                req(
                    "orders",
                    "float64",
                    "`attributed_orders + incremental_orders`",
                ),
                req(
                    "attributed_orders",
                    "float64",
                    "orders credited by the default model (`attribution_default_model`), net of refunds",
                ),
                req(
                    "incremental_orders",
                    "float64",
                    "dark-social incremental orders of the creator's posts published in the period",
                ),
                req(
                    "new_customers",
                    "float64",
                    "credited orders from new customers",
                ),
                req(
                    "attributed_revenue",
                    "decimal(18,2)",
                    "default model's revenue credit, net of refunds",
                ),
                req(
                    "incremental_revenue",
                    "decimal(18,2)",
                    "dark-social lift's incremental revenue",
                ),
                req(
                    "combined_revenue",
                    "decimal(18,2)",
                    "the sum; no order is in both (roi.md)",
                ),
                col(
                    "attributed_revenue_by_model",
                    "map<string, decimal(18,2)>",
                    "every model's revenue and orders (`attributed_revenue_by_model['linear']`)",
                ),
                col(
                    "attributed_orders_by_model",
                    "map<string, float64>",
                    "every model's revenue and orders (`attributed_revenue_by_model['linear']`)",
                ),
                col(
                    "incremental_revenue_low",
                    "decimal(18,2)",
                    "95 % intervals from the lift's uncertainty",
                ),
                col(
                    "incremental_revenue_high",
                    "decimal(18,2)",
                    "95 % intervals from the lift's uncertainty",
                ),
                col(
                    "combined_revenue_low",
                    "decimal(18,2)",
                    "95 % intervals from the lift's uncertainty",
                ),
                col(
                    "combined_revenue_high",
                    "decimal(18,2)",
                    "95 % intervals from the lift's uncertainty",
                ),
                req(
                    "creator_fee",
                    "decimal(18,2)",
                    "cost rows, each at its day's rate",
                ),
                req(
                    "free_product",
                    "decimal(18,2)",
                    "cost rows, each at its day's rate",
                ),
                req(
                    "shipping",
                    "decimal(18,2)",
                    "cost rows, each at its day's rate",
                ),
                req(
                    "production",
                    "decimal(18,2)",
                    "cost rows, each at its day's rate",
                ),
                req(
                    "platform_spend",
                    "decimal(18,2)",
                    "cost rows, each at its day's rate",
                ),
                req(
                    "platform_fee",
                    "decimal(18,2)",
                    "cost rows, each at its day's rate",
                ),
                req(
                    "other_cost",
                    "decimal(18,2)",
                    "cost rows, each at its day's rate",
                ),
                req(
                    "commission",
                    "decimal(18,2)",
                    "commissions halo computed (`payout_lines`), by order date",
                ),
                req(
                    "total_cost",
                    "decimal(18,2)",
                    "the sum of the cost components",
                ),
                col(
                    "cost_of_goods",
                    "decimal(18,2)",
                    "goods' cost of the credited orders (order_lines), and of the incremental revenue at the period's ratio",
                ),
                col(
                    "contribution_margin",
                    "decimal(18,2)",
                    "`combined_revenue − cost_of_goods − total_cost`",
                ),
                col("cpa", "decimal(18,2)", "`total_cost / orders`"),
                col(
                    "roas",
                    "float64",
                    "`combined_revenue / total_cost`, with its interval",
                ),
                col(
                    "roas_low",
                    "float64",
                    "`combined_revenue / total_cost`, with its interval",
                ),
                col(
                    "roas_high",
                    "float64",
                    "`combined_revenue / total_cost`, with its interval",
                ),
                col(
                    "roi",
                    "float64",
                    "`contribution_margin / total_cost`, with its interval",
                ),
                col(
                    "roi_low",
                    "float64",
                    "`contribution_margin / total_cost`, with its interval",
                ),
                col(
                    "roi_high",
                    "float64",
                    "`contribution_margin / total_cost`, with its interval",
                ),
                req("dt", "date", "the run date"),
            ],
        },
        ResultTable {
            name: "performance_by".into(),
            partition: Partition::RunDate,
            columns: vec![
                req("period", "string", "`month` or `to_date`"),
                req("period_start", "date", "`month` or `to_date`"),
                req(
                    "dimension",
                    "string",
                    "`creator`, `platform`, `format`, `campaign_structure`",
                ),
                col(
                    "key",
                    "string",
                    "the creator id, platform, format or structure (`none`: no campaign; `(not post-specific)`: costs not tied to a post)",
                ),
                req("orders", "float64", "as in `creator_roi`"),
                req("attributed_orders", "float64", "as in `creator_roi`"),
                req("incremental_orders", "float64", "as in `creator_roi`"),
                req("attributed_revenue", "decimal(18,2)", "as in `creator_roi`"),
                req(
                    "incremental_revenue",
                    "decimal(18,2)",
                    "as in `creator_roi`",
                ),
                req("combined_revenue", "decimal(18,2)", "as in `creator_roi`"),
                req("total_cost", "decimal(18,2)", "as in `creator_roi`"),
                col(
                    "contribution_margin",
                    "decimal(18,2)",
                    "as in `creator_roi`",
                ),
                col("roas", "float64", "as in `creator_roi`"),
                col("roas_low", "float64", "as in `creator_roi`"),
                col("roas_high", "float64", "as in `creator_roi`"),
                col("roi", "float64", "as in `creator_roi`"),
                col(
                    "roas_se",
                    "float64",
                    "standard error of `roas`: orders' count noise (compound Poisson) and the lift's, over `total_cost`",
                ),
                col(
                    "prior_sd",
                    "float64",
                    "how much true ROAS differs between the dimension's keys (DerSimonian–Laird); null with fewer than 2 keys",
                ),
                col(
                    "credibility",
                    "float64",
                    "`prior_sd² / (prior_sd² + roas_se²)`: the share of its own ROAS a key keeps",
                ),
                col(
                    "roas_shrunk",
                    "float64",
                    "`credibility × roas + (1 − credibility) × pooled ROAS of the dimension`",
                ),
                req(
                    "rank",
                    "int32",
                    "1 = best `roas_shrunk`; keys without cost last; ties by `roas`, then key",
                ),
                req("dt", "date", "the run date"),
            ],
        },
        ResultTable {
            name: "creator_platform".into(),
            partition: Partition::RunDate,
            columns: vec![
                req("period", "string", "`month` or `to_date`"),
                req("period_start", "date", "`month` or `to_date`"),
                col("creator_id", "string", "the creator"),
                col(
                    "platform",
                    "string",
                    "of the post (`unknown`: touches without a post; `(not post-specific)`: shared costs of a creator without posts in the period)",
                ),
                col("format", "string", "of the post, as `platform`"),
                req("posts", "int64", "posts published in the period"),
                req("views", "int64", "their `content.views`"),
                req(
                    "clicks",
                    "int64",
                    "clicks in the period, each on the latest post carrying its link",
                ),
                req(
                    "incremental_visits",
                    "float64",
                    "dark-social lift of the period's posts (extended window, order signals)",
                ),
                req("attributed_orders", "float64", "as in `creator_roi`"),
                req("incremental_orders", "float64", "as in `creator_roi`"),
                req("orders", "float64", "attributed + incremental"),
                req("attributed_revenue", "decimal(18,2)", "as in `creator_roi`"),
                req(
                    "incremental_revenue",
                    "decimal(18,2)",
                    "as in `creator_roi`",
                ),
                req("combined_revenue", "decimal(18,2)", "as in `creator_roi`"),
                req(
                    "cost_of_goods",
                    "decimal(18,2)",
                    "goods of attributed orders, and incremental revenue at the period's goods ratio",
                ),
                req("post_costs", "decimal(18,2)", "costs tied to its posts"),
                req(
                    "shared_costs",
                    "decimal(18,2)",
                    "its share (by posts, largest remainder) of the creator's costs not tied to a post",
                ),
                req("total_cost", "decimal(18,2)", "`post_costs + shared_costs`"),
                req(
                    "contribution_margin",
                    "decimal(18,2)",
                    "`combined_revenue − cost_of_goods − total_cost`",
                ),
                col("roas", "float64", "`combined_revenue / total_cost`"),
                col(
                    "roas_low",
                    "float64",
                    "with the lift's interval, as in `creator_roi`",
                ),
                col(
                    "roas_high",
                    "float64",
                    "with the lift's interval, as in `creator_roi`",
                ),
                col("roas_se", "float64", "as in `performance_by`"),
                col("roi", "float64", "`contribution_margin / total_cost`"),
                req("dt", "date", "the run date"),
            ],
        },
        ResultTable {
            name: "recommendations".into(),
            partition: Partition::RunDate,
            columns: vec![
                req("level", "string", "`creator` or `creator_platform_format`"),
                req("period", "string", "`month` or `to_date`"),
                req("period_start", "date", "`month` or `to_date`"),
                col("creator_id", "string", "the creator"),
                col("platform", "string", "null on `creator` rows"),
                col("format", "string", "null on `creator` rows"),
                req(
                    "action",
                    "string",
                    "`scale`, `keep`, `rework_content`, `renegotiate_terms`, `pause` or `investigate`: a suggestion, never applied",
                ),
                req("confidence", "string", "`high`, `medium` or `low`"),
                col(
                    "probability",
                    "float64",
                    "the posterior probability behind the action (null for `investigate`)",
                ),
                req(
                    "performance_action",
                    "string",
                    "the action the numbers alone give (`action` unless it is `investigate`)",
                ),
                col(
                    "performance_probability",
                    "float64",
                    "the posterior probability behind `performance_action`",
                ),
                req(
                    "reason",
                    "string",
                    "the numbers behind the action, in words",
                ),
                req("posts", "int64", "posts published in the period"),
                req("incremental_visits", "float64", "as in `creator_platform`"),
                req("orders", "float64", "attributed + incremental"),
                req("combined_revenue", "decimal(18,2)", "as in `creator_roi`"),
                req("total_cost", "decimal(18,2)", "as in `creator_roi`"),
                col("roas", "float64", "`combined_revenue / total_cost`"),
                col("roas_se", "float64", "as in `performance_by`"),
                col("credibility", "float64", "as in `performance_by`"),
                col("roas_shrunk", "float64", "as in `performance_by`"),
                col(
                    "posterior_sd",
                    "float64",
                    "spread of true ROAS given the data, the pooled mean's uncertainty included",
                ),
                req("target_roas", "float64", "`recommend_target_roas`"),
                col(
                    "breakeven_roas",
                    "float64",
                    "`1 / (1 − goods' share of revenue)` over the level and period",
                ),
                col("p_meets_target", "float64", "P(true ROAS ≥ target)"),
                col("p_loses_money", "float64", "P(true ROAS < break-even)"),
                col("lift_per_post", "float64", "incremental visits per post"),
                col(
                    "peer_lift_per_post",
                    "float64",
                    "median over the same platform and format (creator rows: all creators) with posts",
                ),
                col(
                    "lift_ratio",
                    "float64",
                    "`lift_per_post / peer_lift_per_post`",
                ),
                col(
                    "revenue_trend",
                    "float64",
                    "combined revenue of the last `recommend_trend_days` against the days before, − 1",
                ),
                col(
                    "commission_rate",
                    "float64",
                    "the creator's commissions / attributed revenue in the period",
                ),
                col(
                    "margin_rate",
                    "float64",
                    "`1 − cost_of_goods / combined_revenue`",
                ),
                req(
                    "open_flags",
                    "int64",
                    "compliance flags (verdict `flag`) on its posts without a decision",
                ),
                req(
                    "high_flags",
                    "int64",
                    "those of severity `high`: they make the action `investigate`",
                ),
                req(
                    "open_reviews",
                    "int64",
                    "compliance `needs_review` findings without a decision",
                ),
                req(
                    "likely_leaked_codes",
                    "int64",
                    "the creator's codes `likely_leaked` and undecided (creator rows)",
                ),
                req(
                    "suspected_codes",
                    "int64",
                    "the creator's codes `suspected` and undecided (creator rows)",
                ),
                col(
                    "leaked_revenue",
                    "decimal(18,2)",
                    "their estimated leaked revenue",
                ),
                req("dt", "date", "the run date"),
            ],
        },
        ResultTable {
            name: "compliance_flags".into(),
            partition: Partition::RunDate,
            columns: vec![
                req(
                    "flag_id",
                    "string",
                    "stable id of the check (post, rule, jurisdiction, subject): the same on every run, so a reviewer's verdict stays with it",
                ),
                req("content_id", "string", "the post"),
                req("creator_id", "string", "its creator"),
                req(
                    "rule_id",
                    "string",
                    "`disclosure`, `link_owner`, `link_campaign`, `untracked_link`, `code_owner`, `code_validity` or `campaign_product` (docs/compliance.md, docs/placement.md)",
                ),
                col(
                    "jurisdiction",
                    "string",
                    "for `disclosure`: the jurisdiction of the rules file applied (`US`, `UK`, `DE`, ...)",
                ),
                col(
                    "subject",
                    "string",
                    "what the check is about: a link id, a URL (normalised), a code, a campaign id (`campaign_product`)",
                ),
                req(
                    "verdict",
                    "string",
                    "`pass`, `flag` (the rule looks broken) or `needs_review` (halo cannot tell: no transcript, a link or code it does not know)",
                ),
                col(
                    "severity",
                    "string",
                    "`high`, `medium` or `low`; null for a pass",
                ),
                req(
                    "evidence",
                    "string",
                    "what was found or what is missing, in words",
                ),
                col(
                    "matched_text",
                    "string",
                    "the label, link or code as published",
                ),
                col(
                    "matched_offset",
                    "int64",
                    "its offset in characters (grapheme clusters, as the platforms count) from the start of `surface`",
                ),
                col("surface", "string", "`caption` or `transcript`"),
                col(
                    "decision",
                    "string",
                    "the reviewer's verdict from the ledger (`halo review resolve`): `ok` or `violation`; null: open",
                ),
                col("decided_by", "string", "who resolved it"),
                req("dt", "date", "the run date"),
            ],
        },
        ResultTable {
            name: "post_compliance".into(),
            partition: Partition::RunDate,
            columns: vec![
                req("content_id", "string", "the post"),
                req("creator_id", "string", "its creator"),
                col("campaign_id", "string", "its campaign"),
                req("platform", "string", "platform"),
                req("format", "string", "format"),
                req("published_at", "timestamp[us, tz=UTC]", "publication time"),
                req(
                    "features_brand",
                    "bool",
                    "the post features the brand (a campaign, a link, a code, a detected product or a mention), so it needs a label",
                ),
                col(
                    "brand_evidence",
                    "string",
                    "which of `campaign`, `link`, `code`, `product`, `mention` made it feature the brand",
                ),
                req(
                    "disclosure_class",
                    "string",
                    "`not_required`, `clear`, `buried`, `ambiguous` or `missing`: the worst over the jurisdictions applied",
                ),
                col(
                    "label",
                    "string",
                    "the label that decided the class, as published",
                ),
                col(
                    "label_offset",
                    "int64",
                    "its offset in characters (grapheme clusters)",
                ),
                col("label_surface", "string", "`caption` or `transcript`"),
                col(
                    "language",
                    "string",
                    "ISO 639-1 language: `content.language`, else detected; null: undetermined",
                ),
                req(
                    "language_source",
                    "string",
                    "`data`, `detected` or `undetermined`",
                ),
                req(
                    "jurisdictions",
                    "string",
                    "the jurisdictions applied, comma-separated (creator's country, post's language, audience countries)",
                ),
                req("flags", "int64", "its checks that did not pass"),
                req(
                    "open_flags",
                    "int64",
                    "of them, not yet resolved by a reviewer",
                ),
                col(
                    "placement",
                    "string",
                    "a campaign post (whose campaign lists SKUs): `shown`, `unsure` (campaign SKUs detected below `placement_confidence` only), `not_shown` or `not_analysed` (`detected_products` is null); null otherwise",
                ),
                col(
                    "campaign_skus_detected",
                    "string",
                    "the campaign's SKUs detected at `placement_confidence` or more, as `SKU (confidence)`, comma-separated",
                ),
                req("dt", "date", "the run date"),
            ],
        },
        ResultTable {
            name: "placement_performance".into(),
            partition: Partition::RunDate,
            columns: vec![
                req(
                    "sku",
                    "string",
                    "a SKU shown (detected at `placement_confidence` or more) in a post of the run date's window, trimmed and upper-case",
                ),
                req(
                    "posts",
                    "int64",
                    "posts published on the run date that show it",
                ),
                req(
                    "views",
                    "int64",
                    "their views (a post without a view count adds none)",
                ),
                req(
                    "window_posts",
                    "int64",
                    "posts that show it in the window: the run date and the `placement_window_days` - 1 days before",
                ),
                req("window_views", "int64", "their views"),
                req("window_creators", "int64", "their creators"),
                req(
                    "orders",
                    "int64",
                    "orders of the run date (local day) with a line of it",
                ),
                req("units", "int64", "units of it in those orders"),
                req(
                    "revenue",
                    "decimal(18,2)",
                    "net revenue of those lines, base currency at the day's rate",
                ),
                req(
                    "exposure_k_views",
                    "float64",
                    "the run date's exposure: `window_views` / 1000",
                ),
                col(
                    "baseline_units",
                    "float64",
                    "units a day with no exposure sells (the fit's intercept over `placement_history_days`)",
                ),
                col(
                    "units_per_1k_views",
                    "float64",
                    "units a thousand views of posts showing it add (the fit's slope)",
                ),
                req(
                    "unseen_k_views",
                    "float64",
                    "the run date's views (in thousands, same window) of posts of campaigns promoting it in which it was not seen at `placement_confidence`: fitted apart so the seen posts do not take their sales",
                ),
                col(
                    "unseen_units_per_1k_views",
                    "float64",
                    "units a thousand of those views add (0 when there are none, or when they cannot be told apart from the seen posts)",
                ),
                col(
                    "lift_units",
                    "float64",
                    "units of the run date the exposure explains: `units_per_1k_views * exposure_k_views`",
                ),
                col("lift_units_low", "float64", "95 % interval, low end"),
                col("lift_units_high", "float64", "95 % interval, high end"),
                col(
                    "baseline_revenue",
                    "decimal(18,2)",
                    "revenue a day with no exposure brings (the revenue fit's intercept)",
                ),
                col(
                    "lift_revenue",
                    "decimal(18,2)",
                    "revenue of the run date the exposure explains",
                ),
                col(
                    "lift_revenue_low",
                    "decimal(18,2)",
                    "95 % interval, low end",
                ),
                col(
                    "lift_revenue_high",
                    "decimal(18,2)",
                    "95 % interval, high end",
                ),
                req(
                    "history_days",
                    "int64",
                    "days fitted (`placement_history_days`)",
                ),
                req("history_units", "int64", "units sold over them"),
                col(
                    "history_lift_units",
                    "float64",
                    "of them, the units the exposure explains (slope times the history's exposure)",
                ),
                col(
                    "history_lift_units_low",
                    "float64",
                    "95 % interval, low end",
                ),
                col(
                    "history_lift_units_high",
                    "float64",
                    "95 % interval, high end",
                ),
                req("dt", "date", "the run date"),
            ],
        },
        ResultTable {
            name: "outbox".into(),
            partition: Partition::RunDate,
            columns: vec![
                req(
                    "message_id",
                    "string",
                    "stable id from kind, subject and period: a re-run or backfill builds the same message, never a second one",
                ),
                req(
                    "kind",
                    "string",
                    "`reminder`, `overdue`, `checkin`, `compliance` or `leaked_code` (docs/communications.md)",
                ),
                req("creator_id", "string", "the creator it is written to"),
                col("campaign_id", "string", "the campaign it is about"),
                req(
                    "subject_key",
                    "string",
                    "what it is about: a deliverable id, `campaign/creator`, a compliance flag id, a code",
                ),
                req(
                    "period",
                    "string",
                    "the stage or period it is for: each trigger fires once per subject and period",
                ),
                req(
                    "built_for",
                    "date",
                    "the local date whose facts it was built from (its trigger date)",
                ),
                req(
                    "send_by",
                    "date",
                    "the last date it may be sent (`built_for` + `outbox_stale_days`): older messages are suppressed, so a backfill never floods creators",
                ),
                col(
                    "recipient",
                    "string",
                    "the creator's address, as `Name <address>`; null without an email",
                ),
                req(
                    "locale",
                    "string",
                    "`en`, `de`, `fr` or `es`: from the creator's country (`outbox_default_locale` otherwise)",
                ),
                req("subject", "string", "the subject line"),
                req("body_text", "string", "the plain-text body"),
                req("body_html", "string", "the HTML body"),
                req(
                    "facts",
                    "string",
                    "the facts it was built from, as JSON: every number in it comes from here",
                ),
                req(
                    "content_sha256",
                    "string",
                    "SHA-256 of recipient, subject and both bodies: what an approval freezes",
                ),
                req(
                    "needs_approval",
                    "bool",
                    "whether a person must approve it (`outbox_auto_kinds` lists the kinds that need not)",
                ),
                req(
                    "status",
                    "string",
                    "`needs_approval`, `approved`, `rejected`, `sent`, `failed` or `suppressed`",
                ),
                col(
                    "status_reason",
                    "string",
                    "why it is suppressed, rejected or failed, in words",
                ),
                col(
                    "decided_by",
                    "string",
                    "who approved or rejected it (`auto` for a kind in `outbox_auto_kinds`)",
                ),
                col("decided_at", "timestamp[us, tz=UTC]", "when (ledger time)"),
                col("decision_note", "string", "the decider's note"),
                req(
                    "attempts",
                    "int64",
                    "delivery attempts recorded (`halo outbox send`)",
                ),
                col(
                    "sent_at",
                    "timestamp[us, tz=UTC]",
                    "when the mail server accepted it",
                ),
                col(
                    "provider_message_id",
                    "string",
                    "the server's answer on acceptance (its queue id), or the .eml file written",
                ),
                col("last_error", "string", "the last delivery error"),
                req("dt", "date", "the run date"),
            ],
        },
        ResultTable {
            name: "rejects".into(),
            partition: Partition::RunDate,
            columns: vec![
                req("run_id", "string", "the run that found it"),
                req("table", "string", "input table"),
                req(
                    "reason",
                    "string",
                    "e.g. `duplicate_key`, `dangling_fk:link_id->links`",
                ),
                col("file", "string", "URL of the file it is in"),
                col("row_number", "int64", "its row number in that file, from 1"),
                col(
                    "row",
                    "string",
                    "the row as JSON, cast to contract types (null fields omitted)",
                ),
                req("dt", "date", "the run date"),
            ],
        },
        ResultTable {
            name: "runs".into(),
            partition: Partition::Unpartitioned,
            columns: vec![
                req("run_id", "string", "UUIDv7 of the attempt"),
                req("job", "string", "job name"),
                col(
                    "date",
                    "date",
                    "the run date (null for a run rolled back by an older halo)",
                ),
                req(
                    "started_at",
                    "timestamp[us, tz=UTC]",
                    "when the date's attempt started",
                ),
                req(
                    "finished_at",
                    "timestamp[us, tz=UTC]",
                    "when its row was written (for an abandoned attempt: its last heartbeat)",
                ),
                req(
                    "status",
                    "string",
                    "`success`, `failed`, `rolled_back` or `abandoned` (see above)",
                ),
                req("exit_code", "int32", "the date's exit code"),
                col("error", "string", "what went wrong"),
                req("halo_version", "string", "the engine's version"),
                col("input", "string", "the input root"),
                col("output", "string", "the output root"),
                col(
                    "steps",
                    "list<struct<step string, output string, status string, reason string, rows_in int64, rows_out int64, duration_ms int64>>",
                    "one entry per step. `status` is `ok` or `skipped`, and `reason` says why a step was skipped. `rows_in` is the number of rows in the tables the step's plan scans",
                ),
                col(
                    "rejects",
                    "list<struct<table string, reason string, rows int64>>",
                    "rejected rows by table and reason",
                ),
                col(
                    "input_files",
                    "list<struct<table string, url string, bytes int64>>",
                    "every input file read",
                ),
                col(
                    "versions",
                    "list<struct<table string, version int64>>",
                    "the Delta version each table was committed at",
                ),
                col(
                    "ledger_heads",
                    "list<struct<kind string, seq int64, hash string>>",
                    "the head (newest entry) of each decision ledger the run read, e.g. `payouts`: each later run checks that every recorded head is still in its chain",
                ),
            ],
        },
    ]
});

/// The declared result table called `name`.
pub fn table(name: &str) -> Option<&'static ResultTable> {
    TABLES.iter().find(|t| t.name == name)
}
