//! Commission rules: which plan pays an (order, creator) pair, on what base
//! and at what rate. One line per pair, so an order pays each creator at most
//! once whatever mix of code, link and model credit it carries.
//!
//! Precedence (first match wins, as impact.com's payout groups do):
//! 1. only plans valid at the order time (the SQL input has filtered them);
//! 2. a campaign's plan applies when the order's touch names that campaign, or
//!    names none (a creator-wide code or bio link used while the campaign runs);
//! 3. campaign plans before creator-wide plans, then the latest `valid_from`,
//!    then `plan_id`;
//! 4. the first plan whose credit basis the order meets pays. A pair that no
//!    plan pays still gets a line (`not_commissionable`) saying why.

use bigdecimal::{BigDecimal, Zero};
use chrono::{Datelike, NaiveDate};

use crate::money::{big, round_to_units};

/// A commission plan as the candidates carry it.
#[allow(missing_docs)] // fields named as the input columns
#[derive(Debug, Clone)]
pub struct Plan {
    pub plan_id: String,
    pub campaign_id: Option<String>,
    pub valid_from: i64,
    pub rate_percent: Option<BigDecimal>,
    pub flat_per_order: Option<BigDecimal>,
    pub new_customer_rate_percent: Option<BigDecimal>,
    /// (monthly_revenue_from, rate_percent), in any order.
    pub tiers: Vec<(BigDecimal, BigDecimal)>,
    pub lock_days: i32,
    pub credit_basis: String,
    pub currency: String,
    /// `pay` or `exclude`: what a confirmed leaked code's redemption pays.
    pub leaked_redemptions: String,
    /// Value of one unit of the plan currency in the base currency, on the
    /// order's local date.
    pub rate_to_base: Option<BigDecimal>,
}

/// One (order, creator) pair and the plans valid for it.
#[allow(missing_docs)] // fields named as the input columns
#[derive(Debug, Clone)]
pub struct Candidate {
    pub order_id: String,
    pub creator_id: String,
    pub ordered_at: i64,
    pub order_date: NaiveDate,
    pub revenue: BigDecimal,
    pub currency: String,
    pub order_rate: Option<BigDecimal>,
    pub is_new_customer: bool,
    pub refunded: BigDecimal,
    pub last_refund_at: Option<i64>,
    pub has_code: bool,
    pub has_link: bool,
    /// The creator's credit under the default model, base currency.
    pub model_credit: Option<BigDecimal>,
    /// The order's value under that model (sum of all credit), base currency.
    pub model_value: Option<BigDecimal>,
    /// The campaign the order's touch names (code, then link, then the
    /// content with the most model credit).
    pub touch_campaign: Option<String>,
    /// Set when every code of the creator on the order was confirmed leaked
    /// (by a person, from the order's date or earlier): the confirmation.
    pub leaked_code: Option<String>,
    pub plans: Vec<Plan>,
}

/// A computed commission (or the reason there is none).
#[allow(missing_docs)] // fields named as the input columns
#[derive(Debug, Clone)]
pub struct Commission {
    pub order_id: String,
    pub creator_id: String,
    pub ordered_at: i64,
    pub order_date: NaiveDate,
    pub is_new_customer: bool,
    pub plan: Option<Plan>,
    pub via: Option<String>,
    pub share: Option<f64>,
    /// Exact base in the plan currency before refunds.
    pub base_exact: BigDecimal,
    /// Fraction of the order not refunded by the end of the run date.
    pub kept: BigDecimal,
    pub rate_percent: Option<BigDecimal>,
    pub flat: Option<BigDecimal>,
    /// Cents, plan currency.
    pub gross: i128,
    pub amount: i128,
    pub lock_until: Option<NaiveDate>,
    pub refunded: bool,
    pub last_refund_at: Option<i64>,
    /// Why it pays (or does not).
    pub reason: String,
    /// Whether a plan pays (false: `reason` says why none does).
    pub commissionable: bool,
}

/// The one error a rule can raise: an exchange rate missing for a day.
#[allow(missing_docs)]
#[derive(Debug)]
pub struct MissingRate {
    pub currency: String,
    pub date: NaiveDate,
    pub order_id: String,
}

impl From<MissingRate> for crate::error::Error {
    fn from(m: MissingRate) -> Self {
        crate::error::Error::InvalidInput(format!(
            "table fx_rates has no rate for currency {} on {} (needed for order {}); add the rate, halo never assumes 1.0",
            m.currency, m.date, m.order_id
        ))
    }
}

fn basis_met(basis: &str, c: &Candidate) -> Option<(String, BigDecimal)> {
    let one = BigDecimal::from(1);
    match basis {
        "code" if c.has_code => Some(("code".into(), one)),
        "link" if c.has_link => Some(("link".into(), one)),
        "code_or_link" if c.has_code && c.has_link => Some(("code+link".into(), one)),
        "code_or_link" if c.has_code => Some(("code".into(), one)),
        "code_or_link" if c.has_link => Some(("link".into(), one)),
        "model" => match (&c.model_credit, &c.model_value) {
            (Some(credit), Some(value))
                if *credit > BigDecimal::zero() && *value > BigDecimal::zero() =>
            {
                Some(("model".into(), credit / value))
            }
            _ => None,
        },
        _ => None,
    }
}

fn reached_by(c: &Candidate) -> String {
    let mut v = Vec::new();
    if c.has_code {
        v.push("code");
    }
    if c.has_link {
        v.push("link (last click)");
    }
    if c.model_credit
        .as_ref()
        .is_some_and(|m| *m > BigDecimal::zero())
    {
        v.push("model credit");
    }
    if v.is_empty() {
        "nothing".into()
    } else {
        v.join(" and ")
    }
}

/// Plans that apply to the candidate, in precedence order.
pub fn ordered_plans(c: &Candidate) -> Vec<&Plan> {
    let mut plans: Vec<&Plan> = c
        .plans
        .iter()
        .filter(|p| match (&p.campaign_id, &c.touch_campaign) {
            (None, _) => true,
            (Some(_), None) => true,
            (Some(pc), Some(tc)) => pc == tc,
        })
        .collect();
    plans.sort_by(|a, b| {
        b.campaign_id
            .is_some()
            .cmp(&a.campaign_id.is_some())
            .then(b.valid_from.cmp(&a.valid_from))
            .then(a.plan_id.cmp(&b.plan_id))
    });
    plans
}

/// Month key `YYYY-MM` of a date.
pub fn month_of(d: NaiveDate) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

/// Evaluates every candidate. Tiers depend on the month's total, so the rate
/// is chosen after every base is known ("all actions" mode: once a month's
/// revenue under a plan reaches a tier, all its orders that month earn it).
pub fn evaluate(cands: &[Candidate]) -> Result<Vec<Commission>, MissingRate> {
    let mut out = Vec::with_capacity(cands.len());
    for c in cands {
        let zero = BigDecimal::zero();
        let kept = if c.revenue > zero && c.refunded > zero {
            (&c.revenue - &c.refunded) / &c.revenue
        } else {
            BigDecimal::from(1)
        };
        let refunded = c.refunded > zero;
        let plans = ordered_plans(c);
        // A plan that excludes confirmed leaked codes sees the order as if
        // the code had not been used: a click of the creator's still counts.
        let unleaked = Candidate {
            has_code: false,
            ..c.clone()
        };
        let seen_by = |p: &Plan| {
            if c.leaked_code.is_some() && p.leaked_redemptions == "exclude" {
                &unleaked
            } else {
                c
            }
        };
        let chosen = plans.iter().find_map(|p| {
            basis_met(&p.credit_basis, seen_by(p)).map(|(via, share)| (*p, via, share))
        });
        let Some((plan, via, share)) = chosen else {
            let excluded = plans.iter().find(|p| {
                basis_met(&p.credit_basis, c).is_some() && p.leaked_redemptions == "exclude"
            });
            let reason = match (excluded, plans.first()) {
                (Some(p), _) => format!(
                    "leaked_code: {}; plan {} excludes redemptions of confirmed leaked codes",
                    c.leaked_code.as_deref().unwrap_or("code confirmed leaked"),
                    p.plan_id
                ),
                (None, first) => match first {
                    None if c.plans.is_empty() => format!(
                        "no commission plan of {} was valid when the order was placed",
                        c.creator_id
                    ),
                    None => format!(
                        "the creator's plans belong to other campaigns than the order's ({})",
                        c.touch_campaign.as_deref().unwrap_or("none")
                    ),
                    Some(p) => format!(
                        "plan {} pays on {}; the order reached {} by {}",
                        p.plan_id,
                        p.credit_basis,
                        c.creator_id,
                        reached_by(c)
                    ),
                },
            };
            out.push(Commission {
                order_id: c.order_id.clone(),
                creator_id: c.creator_id.clone(),
                ordered_at: c.ordered_at,
                order_date: c.order_date,
                is_new_customer: c.is_new_customer,
                plan: None,
                via: None,
                share: None,
                base_exact: zero.clone(),
                kept,
                rate_percent: None,
                flat: None,
                gross: 0,
                amount: 0,
                lock_until: None,
                refunded,
                last_refund_at: c.last_refund_at,
                reason,
                commissionable: false,
            });
            continue;
        };
        let missing = |currency: &str| MissingRate {
            currency: currency.to_string(),
            date: c.order_date,
            order_id: c.order_id.clone(),
        };
        let order_rate = c.order_rate.clone().ok_or_else(|| missing(&c.currency))?;
        let plan_rate = plan
            .rate_to_base
            .clone()
            .ok_or_else(|| missing(&plan.currency))?;
        let base_exact = &c.revenue * &order_rate / &plan_rate * &share;
        let lock_until = c.order_date + chrono::Duration::days(i64::from(plan.lock_days));
        use bigdecimal::ToPrimitive;
        out.push(Commission {
            order_id: c.order_id.clone(),
            creator_id: c.creator_id.clone(),
            ordered_at: c.ordered_at,
            order_date: c.order_date,
            is_new_customer: c.is_new_customer,
            plan: Some(plan.clone()),
            via: Some(via),
            share: share.to_f64(),
            base_exact,
            kept,
            rate_percent: None,
            flat: plan.flat_per_order.as_ref().map(|f| f * &share),
            gross: 0,
            amount: 0,
            lock_until: Some(lock_until),
            refunded,
            last_refund_at: c.last_refund_at,
            reason: String::new(),
            commissionable: true,
        });
    }
    // Month totals per (creator, plan), net of refunds, for the tiers.
    let mut month_base: std::collections::HashMap<(String, String, String), BigDecimal> =
        std::collections::HashMap::new();
    for m in out.iter().filter(|m| m.commissionable) {
        let plan = m.plan.as_ref().expect("commissionable has a plan");
        *month_base
            .entry((
                m.creator_id.clone(),
                plan.plan_id.clone(),
                month_of(m.order_date),
            ))
            .or_insert_with(BigDecimal::zero) += &m.base_exact * &m.kept;
    }
    for m in out.iter_mut().filter(|m| m.commissionable) {
        let plan = m.plan.clone().expect("commissionable has a plan");
        let month = month_of(m.order_date);
        let total = month_base
            .get(&(m.creator_id.clone(), plan.plan_id.clone(), month.clone()))
            .cloned()
            .unwrap_or_default();
        let (rate, why) = match (&plan.new_customer_rate_percent, m.is_new_customer) {
            (Some(r), true) => (r.clone(), "new-customer rate".to_string()),
            _ if !plan.tiers.is_empty() => {
                let tier = plan
                    .tiers
                    .iter()
                    .filter(|(from, _)| *from <= total)
                    .max_by(|a, b| a.0.cmp(&b.0));
                match tier {
                    Some((from, r)) => (
                        r.clone(),
                        format!(
                            "tier from {} (month {month} revenue under the plan {})",
                            from,
                            total.with_scale_round(2, bigdecimal::RoundingMode::HalfEven)
                        ),
                    ),
                    None => (
                        plan.rate_percent.clone().unwrap_or_default(),
                        format!("below the first tier (month {month} revenue {total:.2})"),
                    ),
                }
            }
            _ => (
                plan.rate_percent.clone().unwrap_or_default(),
                "plan rate".to_string(),
            ),
        };
        let exact =
            &m.base_exact * &rate / BigDecimal::from(100) + m.flat.clone().unwrap_or_default();
        m.gross = round_to_units(&exact, 2);
        m.amount = round_to_units(&(&exact * &m.kept), 2);
        m.rate_percent = Some(rate.clone());
        let scope = match &plan.campaign_id {
            Some(c) => format!("campaign {c}"),
            None => "creator-wide".into(),
        };
        m.reason = format!(
            "plan {} ({scope}) via {}: {}% ({why}){}",
            plan.plan_id,
            m.via.as_deref().unwrap_or(""),
            rate.normalized(),
            match &m.flat {
                Some(f) if *f > BigDecimal::zero() =>
                    format!(" + flat {}", big(round_to_units(f, 2), 2)),
                _ => String::new(),
            }
        );
    }
    Ok(out)
}
