//! From commissions and the people's decisions to payout lines and payouts.
//!
//! - A commission line is `locked` until its lock date, then `eligible`; it
//!   joins the payout of the month its lock date falls in (or the first later
//!   month whose payout nobody has decided yet). A payout exists once its
//!   month has ended, as `pending_approval`.
//! - A refund before payment lowers the line (`reversal`), proportionally for a
//!   partial refund; a line refunded in full is `reversed`.
//! - A decided payout (in the ledger) is frozen: its lines and figures are
//!   emitted as decided, whatever the data says now. A later change to a line
//!   it paid (a refund after payment, a tier or attribution change) becomes a
//!   `clawback` or `adjustment` line in the next undecided payout. A payout
//!   with a negative net carries it to the next one.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;

use super::rules::{Commission, month_of};
use crate::money::units_to_string;

/// One row of `payout_lines`.
#[allow(missing_docs)] // fields are the columns, documented in docs/results.md
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub line_id: String,
    pub payout_id: Option<String>,
    pub creator_id: String,
    pub kind: String,
    pub order_id: Option<String>,
    pub ordered_at: Option<i64>,
    pub plan_id: Option<String>,
    pub credit_basis: Option<String>,
    pub via: Option<String>,
    pub campaign_id: Option<String>,
    pub share: Option<f64>,
    /// Cents of the payout currency.
    pub base: Option<i128>,
    /// Percent with 4 decimals (units of 1e-4).
    pub rate_percent: Option<i128>,
    pub flat: Option<i128>,
    pub gross: i128,
    pub reversal: i128,
    pub amount: i128,
    pub currency: String,
    pub lock_until: Option<NaiveDate>,
    pub period: Option<String>,
    pub status: String,
    pub reason: String,
}

/// One row of `payouts`.
#[allow(missing_docs)] // fields are the columns, documented in docs/results.md
#[derive(Debug, Clone, PartialEq)]
pub struct Payout {
    pub payout_id: String,
    pub creator_id: String,
    pub period: String,
    pub currency: String,
    pub gross: i128,
    pub reversals: i128,
    pub clawbacks: i128,
    pub adjustments: i128,
    pub net: i128,
    pub lines: i64,
    pub status: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub note: Option<String>,
    pub ledger_seq: Option<i64>,
    /// The run date whose data the figures come from.
    pub computed_as_of: NaiveDate,
}

/// A payout someone decided on, as the ledger recorded it.
#[allow(missing_docs)] // fields named as the input columns
#[derive(Debug, Clone)]
pub struct Decided {
    pub payout: Payout,
    pub lines: Vec<Line>,
}

/// The id of the payout of a creator, currency and month.
pub fn payout_id(creator: &str, currency: &str, period: &str) -> String {
    format!("{creator}-{currency}-{period}")
}

fn next_month(p: &str) -> String {
    let d = NaiveDate::parse_from_str(&format!("{p}-01"), "%Y-%m-%d").expect("period");
    let n = d.checked_add_months(chrono::Months::new(1)).expect("month");
    month_of(n)
}

/// Whether the month `p` has ended by the end of `date`.
fn closed(p: &str, date: NaiveDate) -> bool {
    let next =
        NaiveDate::parse_from_str(&format!("{}-01", next_month(p)), "%Y-%m-%d").expect("period");
    date >= next.pred_opt().expect("date")
}

fn base_key(line_id: &str) -> &str {
    line_id.split('~').next().unwrap_or(line_id)
}

fn day(micros: Option<i64>) -> String {
    micros
        .and_then(chrono::DateTime::from_timestamp_micros)
        .map(|t| t.date_naive().to_string())
        .unwrap_or_else(|| "?".into())
}

/// Builds the lines and payouts as of the end of `date`.
pub fn book(
    commissions: &[Commission],
    decided: &[Decided],
    date: NaiveDate,
) -> (Vec<Line>, Vec<Payout>) {
    let mut decided_periods: HashSet<(String, String, String)> = HashSet::new();
    // Per base line id: what decided payouts settled, and how many lines.
    let mut settled: HashMap<String, (i128, usize, String, bool)> = HashMap::new();
    let mut lines: Vec<Line> = Vec::new();
    let mut payouts: Vec<Payout> = Vec::new();
    for d in decided {
        let p = &d.payout;
        decided_periods.insert((p.creator_id.clone(), p.currency.clone(), p.period.clone()));
        let approved = p.status == "approved";
        for l in &d.lines {
            let e = settled.entry(base_key(&l.line_id).to_string()).or_insert((
                0,
                0,
                p.payout_id.clone(),
                false,
            ));
            e.0 += l.amount;
            e.1 += 1;
            e.2 = p.payout_id.clone();
            e.3 |= approved;
            let mut l = l.clone();
            l.status = p.status.clone();
            lines.push(l);
        }
        payouts.push(p.clone());
    }
    let next_open = |creator: &str, currency: &str, from: String| {
        let mut p = from;
        while decided_periods.contains(&(creator.to_string(), currency.to_string(), p.clone())) {
            p = next_month(&p);
        }
        p
    };
    let this_month = month_of(date);
    for c in commissions {
        let line_id = format!("{}/{}", c.order_id, c.creator_id);
        let plan = c.plan.as_ref();
        let currency = plan.map(|p| p.currency.clone()).unwrap_or_default();
        let mut line = Line {
            line_id: line_id.clone(),
            payout_id: None,
            creator_id: c.creator_id.clone(),
            kind: "commission".into(),
            order_id: Some(c.order_id.clone()),
            ordered_at: Some(c.ordered_at),
            plan_id: plan.map(|p| p.plan_id.clone()),
            credit_basis: plan.map(|p| p.credit_basis.clone()),
            via: c.via.clone(),
            campaign_id: plan.and_then(|p| p.campaign_id.clone()),
            share: c.share,
            base: plan.map(|_| crate::money::round_to_units(&c.base_exact, 2)),
            rate_percent: c
                .rate_percent
                .as_ref()
                .map(|r| crate::money::round_to_units(r, 4)),
            flat: c.flat.as_ref().map(|f| crate::money::round_to_units(f, 2)),
            gross: c.gross,
            reversal: c.gross - c.amount,
            amount: c.amount,
            currency: currency.clone(),
            lock_until: c.lock_until,
            period: None,
            status: String::new(),
            reason: c.reason.clone(),
        };
        if let Some((paid, n, last_payout, approved)) = settled.get(&line_id) {
            // Already in a decided payout: only a change since then is booked.
            let delta = c.amount - paid;
            if delta == 0 || !approved {
                continue;
            }
            let period = next_open(&c.creator_id, &currency, this_month.clone());
            let clawback = delta < 0 && c.refunded;
            let why = if clawback {
                format!(
                    "refund on {} after payout {last_payout} was approved: {} of the {} paid is taken back",
                    day(c.last_refund_at),
                    units_to_string(-delta, 2),
                    units_to_string(*paid, 2)
                )
            } else {
                format!(
                    "the commission is now {} ({}); {} was paid in payout {last_payout}",
                    units_to_string(c.amount, 2),
                    c.reason,
                    units_to_string(*paid, 2)
                )
            };
            let is_closed = closed(&period, date);
            line.line_id = format!("{line_id}~{n}");
            line.kind = if clawback { "clawback" } else { "adjustment" }.into();
            line.gross = 0;
            line.reversal = 0;
            line.amount = delta;
            line.payout_id = is_closed.then(|| payout_id(&c.creator_id, &currency, &period));
            line.status = if is_closed {
                "pending_approval"
            } else {
                "eligible"
            }
            .into();
            line.reason = why;
            line.period = Some(period);
            lines.push(line);
            continue;
        }
        if !c.commissionable {
            line.status = "not_commissionable".into();
            lines.push(line);
            continue;
        }
        let lock = c.lock_until.expect("commissionable has a lock date");
        let fully_refunded = c.refunded && c.amount == 0 && c.gross > 0;
        let refund_note = if c.refunded && !fully_refunded {
            format!(
                "; refunds up to {} reversed {}",
                day(c.last_refund_at),
                units_to_string(c.gross - c.amount, 2)
            )
        } else {
            String::new()
        };
        if date < lock {
            if fully_refunded {
                line.status = "reversed".into();
                line.reason = format!(
                    "{}; refunded in full on {}, before the lock date {lock}",
                    c.reason,
                    day(c.last_refund_at)
                );
            } else {
                line.status = "locked".into();
                line.reason = format!("{}; locked until {lock}{refund_note}", c.reason);
            }
            lines.push(line);
            continue;
        }
        let period = next_open(&c.creator_id, &currency, month_of(lock));
        let is_closed = closed(&period, date);
        line.period = Some(period.clone());
        if is_closed {
            line.payout_id = Some(payout_id(&c.creator_id, &currency, &period));
        }
        line.status = match (fully_refunded, is_closed) {
            (true, _) => "reversed",
            (false, true) => "pending_approval",
            (false, false) => "eligible",
        }
        .into();
        line.reason = if fully_refunded {
            format!(
                "{}; refunded in full on {}, before payment",
                c.reason,
                day(c.last_refund_at)
            )
        } else if is_closed {
            format!("{}{refund_note}", c.reason)
        } else {
            format!(
                "{}{refund_note}; payable in the payout for {period} once the month ends",
                c.reason
            )
        };
        lines.push(line);
    }
    // A decided payout with a negative net carries it forward.
    for d in decided {
        let p = &d.payout;
        if p.status != "approved" || p.net >= 0 {
            continue;
        }
        let id = format!("carry/{}", p.payout_id);
        if settled.contains_key(&id) {
            continue;
        }
        let period = next_open(&p.creator_id, &p.currency, next_month(&p.period));
        let is_closed = closed(&period, date);
        lines.push(Line {
            line_id: id,
            payout_id: is_closed.then(|| payout_id(&p.creator_id, &p.currency, &period)),
            creator_id: p.creator_id.clone(),
            kind: "carried_balance".into(),
            order_id: None,
            ordered_at: None,
            plan_id: None,
            credit_basis: None,
            via: None,
            campaign_id: None,
            share: None,
            base: None,
            rate_percent: None,
            flat: None,
            gross: 0,
            reversal: 0,
            amount: p.net,
            currency: p.currency.clone(),
            lock_until: None,
            period: Some(period),
            status: if is_closed {
                "pending_approval"
            } else {
                "eligible"
            }
            .into(),
            reason: format!(
                "payout {} was approved with a negative net of {}; carried forward",
                p.payout_id,
                units_to_string(p.net, 2)
            ),
        });
    }
    // Undecided payouts of ended months.
    let decided_ids: HashSet<String> = decided.iter().map(|d| d.payout.payout_id.clone()).collect();
    let mut open: BTreeMap<String, Payout> = BTreeMap::new();
    for l in &lines {
        let Some(id) = &l.payout_id else { continue };
        if decided_ids.contains(id) {
            continue;
        }
        let p = open.entry(id.clone()).or_insert_with(|| Payout {
            payout_id: id.clone(),
            creator_id: l.creator_id.clone(),
            period: l.period.clone().unwrap_or_default(),
            currency: l.currency.clone(),
            gross: 0,
            reversals: 0,
            clawbacks: 0,
            adjustments: 0,
            net: 0,
            lines: 0,
            status: "pending_approval".into(),
            decided_by: None,
            decided_at: None,
            note: None,
            ledger_seq: None,
            computed_as_of: date,
        });
        match l.kind.as_str() {
            "commission" => {
                p.gross += l.gross;
                p.reversals += l.reversal;
            }
            "clawback" => p.clawbacks -= l.amount,
            _ => p.adjustments += l.amount,
        }
        p.net += l.amount;
        p.lines += 1;
    }
    payouts.extend(open.into_values());
    payouts.sort_by(|a, b| a.payout_id.cmp(&b.payout_id));
    lines.sort_by(|a, b| a.line_id.cmp(&b.line_id));
    (lines, payouts)
}
