//! Turns the generated world and days into contract-shaped Arrow batches, and
//! plants the few rows that break the contract on purpose.

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, TimeUnit};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use super::traffic::{Click, Day, Refund, Session, Truth};
use super::world::{BRAND, World};
use super::{schema_of, table_schema, to_batch};
use crate::error::Result;

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// A decimal string from an unscaled integer.
fn decimal(unscaled: i64, scale: u32) -> String {
    let sign = if unscaled < 0 { "-" } else { "" };
    let p = 10i64.pow(scale);
    let a = unscaled.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        a / p as u64,
        a % p as u64,
        width = scale as usize
    )
}

fn money(cents: i64) -> String {
    decimal(cents, 2)
}

/// The slow-changing tables.
pub fn world_tables(w: &World) -> Result<Vec<(&'static str, RecordBatch)>> {
    let creators: Vec<Value> = w
        .creators
        .iter()
        .map(|c| {
            json!({
                "creator_id": c.id, "display_name": c.name,
                "email": format!("{}@creators.example", c.id),
                "country": c.country, "status": c.status, "followers": c.followers,
                "themes": c.themes,
                "audience_countries": [{"country": c.country, "share": 0.6}, {"country": "US", "share": 0.25}],
                "audience_target_share": c.target_share,
                "past_partners": if c.followers > 50_000 { json!(["glossier", "cerave"]) } else { json!([]) },
                "joined_at": micros(c.joined_at),
            })
        })
        .collect();
    let campaigns: Vec<Value> = w
        .campaigns
        .iter()
        .map(|k| {
            json!({
                "campaign_id": k.id, "name": k.name, "starts_at": micros(k.starts_at),
                "ends_at": k.ends_at.map(micros), "structure": k.structure, "skus": k.skus,
                "brief": format!("Show {} in a real routine; disclose the partnership up front.", k.skus.join(", ")),
            })
        })
        .collect();
    let content: Vec<Value> = w
        .posts
        .iter()
        .filter(|p| p.published_at < w.end)
        .map(|p| {
            let c = &w.creators[p.creator];
            // A post that does not feature the brand carries no link of it.
            let mut links: Vec<&str> = p.link_id.iter().map(String::as_str).collect();
            if p.features_brand && c.status != "prospect" {
                links.push(&c.bio_link);
            }
            json!({
                "content_id": p.id, "creator_id": c.id,
                "campaign_id": p.campaign.map(|k| w.campaigns[k].id.clone()),
                "platform": p.platform, "format": p.format, "published_at": micros(p.published_at),
                "url": format!("https://{}.example/{}/{}", p.platform, c.id, p.id),
                "caption": p.caption,
                "transcript": p.transcript,
                "language": p.language,
                "link_ids": links,
                "promo_codes": p.promo_codes,
                "views": p.views,
                "detected_products": p.placement.detected.as_ref().map(|d| d.iter().map(|(s, c)| json!({"sku": s, "confidence": c})).collect::<Vec<_>>()),
            })
        })
        .collect();
    let mut links: Vec<Value> = w
        .creators
        .iter()
        .filter(|c| c.status != "prospect")
        .map(|c| json!({"link_id": c.bio_link, "creator_id": c.id, "destination_url": format!("https://{BRAND}.com/?ref={}", c.id), "short_url": super::captions::short_url(&c.bio_link)}))
        .collect();
    links.extend(w.posts.iter().filter(|p| p.published_at < w.end).filter_map(|p| {
        p.link_id.as_ref().map(|l| {
            json!({
                "link_id": l, "creator_id": w.creators[p.creator].id,
                "campaign_id": p.campaign.map(|k| w.campaigns[k].id.clone()),
                "content_id": p.id,
                "destination_url": format!("https://{BRAND}.com/products/{}?ref={}", p.skus_shown[0].to_lowercase(), w.creators[p.creator].id),
                "short_url": super::captions::short_url(l),
            })
        })
    }));
    let mut codes: Vec<Value> = w
        .creators
        .iter()
        .filter_map(|c| {
            c.code.as_ref().map(|code| json!({"code": code, "creator_id": c.id, "valid_from": micros(c.joined_at), "valid_to": Value::Null}))
        })
        .collect();
    codes.extend(w.retired_codes.iter().map(|r| {
        json!({"code": r.code, "creator_id": w.creators[r.creator].id, "valid_from": micros(r.valid_from), "valid_to": micros(r.valid_to)})
    }));
    let deliverables: Vec<Value> = w
        .deliverables
        .iter()
        .map(|d| {
            json!({
                "deliverable_id": d.id, "campaign_id": w.campaigns[d.campaign].id, "creator_id": w.creators[d.creator].id,
                "kind": d.kind, "platform": d.platform, "format": d.format, "due_at": micros(d.due_at),
                "submitted_at": d.submitted_at.map(micros), "content_id": d.content_id,
            })
        })
        .collect();
    let plans: Vec<Value> = w
        .plans
        .iter()
        .map(|p| {
            json!({
                "plan_id": p.id, "creator_id": w.creators[p.creator].id,
                "campaign_id": p.campaign.map(|k| w.campaigns[k].id.clone()),
                "valid_from": micros(p.valid_from), "valid_to": p.valid_to.map(micros),
                "rate_percent": p.rate.map(|r| decimal(r, 4)),
                "flat_per_order": p.flat_cents.map(money),
                "new_customer_rate_percent": p.new_customer_rate.map(|r| decimal(r, 4)),
                "tiers": (!p.tiers.is_empty()).then(|| p.tiers.iter().map(|(from, rate)| json!({"monthly_revenue_from": money(*from), "rate_percent": decimal(*rate, 4)})).collect::<Vec<_>>()),
                "lock_days": p.lock_days, "credit_basis": p.credit_basis, "currency": "USD",
            })
        })
        .collect();
    let costs: Vec<Value> = w
        .costs
        .iter()
        .map(|c| {
            json!({
                "cost_id": c.id, "creator_id": w.creators[c.creator].id,
                "campaign_id": c.campaign.map(|k| w.campaigns[k].id.clone()), "content_id": c.content_id,
                "kind": c.kind, "amount": money(c.cents), "currency": c.currency,
                "incurred_on": c.incurred_on.format("%Y-%m-%d").to_string(),
            })
        })
        .collect();
    let fx: Vec<Value> = w
        .fx
        .iter()
        .map(|(d, c, r)| json!({"date": d.format("%Y-%m-%d").to_string(), "currency": c, "rate_to_base": decimal(*r, 8)}))
        .collect();
    let mut out = Vec::new();
    for (t, rows) in [
        ("creators", creators),
        ("campaigns", campaigns),
        ("content", content),
        ("links", links),
        ("codes", codes),
        ("deliverables", deliverables),
        ("commission_plans", plans),
        ("costs", costs),
        ("fx_rates", fx),
    ] {
        out.push((t, to_batch(table_schema(t), &rows)?));
    }
    // Only a data set that plants events lists them: most brands start
    // without the table.
    if w.events.iter().any(|e| e.listed) {
        let events: Vec<Value> = w
            .events
            .iter()
            .filter(|e| e.listed)
            .map(|e| {
                json!({
                    "event_id": e.id, "kind": e.kind, "starts_at": micros(e.starts_at),
                    "ends_at": e.ends_at.map(micros), "label": e.label,
                    "channels": (!e.channels.is_empty()).then_some(&e.channels),
                })
            })
            .collect();
        out.push((
            "marketing_events",
            to_batch(table_schema("marketing_events"), &events)?,
        ));
    }
    Ok(out)
}

#[derive(Serialize)]
struct SessionRow<'a> {
    session_id: &'a str,
    anonymous_id: &'a str,
    customer_id: Option<&'a str>,
    started_at: i64,
    channel: &'a str,
    referrer_domain: Option<&'a str>,
    landing_page_type: &'a str,
    search_query: Option<&'a str>,
    utm_source: Option<&'a str>,
    utm_medium: Option<&'a str>,
    utm_campaign: Option<&'a str>,
    utm_content: Option<&'a str>,
    click_id: Option<&'a str>,
    country: &'a str,
    device: &'a str,
}

impl<'a> From<&'a Session> for SessionRow<'a> {
    fn from(s: &'a Session) -> Self {
        SessionRow {
            session_id: &s.id,
            anonymous_id: &s.anonymous_id,
            customer_id: s.customer_id.as_deref(),
            started_at: micros(s.started_at),
            channel: s.channel,
            referrer_domain: s.referrer,
            landing_page_type: s.landing,
            search_query: s.query.as_deref(),
            utm_source: s.utm.as_ref().map(|u| u.0),
            utm_medium: s.utm.as_ref().map(|u| u.1),
            utm_campaign: s.utm.as_ref().and_then(|u| u.2.as_deref()),
            utm_content: s.utm.as_ref().and_then(|u| u.3.as_deref()),
            click_id: s.click_id.as_deref(),
            country: s.country,
            device: s.device,
        }
    }
}

#[derive(Serialize)]
struct ClickRow<'a> {
    click_id: &'a str,
    link_id: &'a str,
    anonymous_id: Option<&'a str>,
    clicked_at: i64,
    country: &'a str,
    device: &'a str,
}

impl<'a> From<&'a Click> for ClickRow<'a> {
    fn from(c: &'a Click) -> Self {
        ClickRow {
            click_id: &c.id,
            link_id: &c.link_id,
            anonymous_id: c.anonymous_id.as_deref(),
            clicked_at: micros(c.clicked_at),
            country: c.country,
            device: c.device,
        }
    }
}

#[derive(Serialize)]
struct OrderRow<'a> {
    order_id: &'a str,
    ordered_at: i64,
    anonymous_id: &'a str,
    customer_id: Option<&'a str>,
    session_id: &'a str,
    revenue: String,
    currency: &'a str,
    discount_codes: &'a [String],
    is_new_customer: bool,
    country: &'a str,
}

#[derive(Serialize)]
struct LineRow<'a> {
    order_id: &'a str,
    line_no: i32,
    sku: &'a str,
    quantity: i32,
    net_amount: String,
    unit_cost: String,
}

#[derive(Serialize)]
struct RefundRow<'a> {
    refund_id: &'a str,
    order_id: &'a str,
    refunded_at: i64,
    amount: String,
    currency: &'a str,
}

impl<'a> From<&'a Refund> for RefundRow<'a> {
    fn from(r: &'a Refund) -> Self {
        RefundRow {
            refund_id: &r.id,
            order_id: &r.order_id,
            refunded_at: micros(r.refunded_at),
            amount: money(r.cents),
            currency: r.currency,
        }
    }
}

/// One day's event tables.
pub fn day_tables(d: &Day) -> Result<Vec<(&'static str, RecordBatch)>> {
    let sessions: Vec<SessionRow> = d.sessions.iter().map(SessionRow::from).collect();
    let clicks: Vec<ClickRow> = d.clicks.iter().map(ClickRow::from).collect();
    let orders: Vec<OrderRow> = d
        .orders
        .iter()
        .map(|o| OrderRow {
            order_id: &o.id,
            ordered_at: micros(o.ordered_at),
            anonymous_id: &o.anonymous_id,
            customer_id: o.customer_id.as_deref(),
            session_id: &o.session_id,
            revenue: money(o.revenue_cents),
            currency: o.currency,
            discount_codes: &o.codes,
            is_new_customer: o.is_new,
            country: o.country,
        })
        .collect();
    let lines: Vec<LineRow> = d
        .orders
        .iter()
        .flat_map(|o| {
            o.lines.iter().enumerate().map(move |(i, l)| LineRow {
                order_id: &o.id,
                line_no: i as i32 + 1,
                sku: &l.0,
                quantity: l.1,
                net_amount: money(l.2),
                unit_cost: money(l.3),
            })
        })
        .collect();
    let refunds: Vec<RefundRow> = d.refunds.iter().map(RefundRow::from).collect();
    let causes: Vec<Value> = d
        .orders
        .iter()
        .map(|o| {
            json!({"order_id": o.id, "ordered_at": micros(o.ordered_at), "cause": o.cause.kind,
                   "creator_id": o.cause.creator_id, "content_id": o.cause.content_id})
        })
        .collect();
    let s = |n: &str, dt: DataType| Field::new(n, dt, true);
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Ok(vec![
        ("sessions", to_batch(table_schema("sessions"), &sessions)?),
        ("clicks", to_batch(table_schema("clicks"), &clicks)?),
        ("orders", to_batch(table_schema("orders"), &orders)?),
        (
            "order_lines",
            to_batch(table_schema("order_lines"), &lines)?,
        ),
        ("refunds", to_batch(table_schema("refunds"), &refunds)?),
        (
            "_truth/order_causes",
            to_batch(
                schema_of(vec![
                    s("order_id", DataType::Utf8),
                    s("ordered_at", ts),
                    s("cause", DataType::Utf8),
                    s("creator_id", DataType::Utf8),
                    s("content_id", DataType::Utf8),
                ]),
                &causes,
            )?,
        ),
    ])
}

/// Plants rows that break the contract into the first day: three repeated
/// sessions, a session with an unknown channel, two clicks on a link that does
/// not exist and a refund larger than its order.
pub fn plant_rejects(d: &mut Day) {
    for i in 0..3.min(d.sessions.len()) {
        let s = d.sessions[i].clone();
        d.planted.push(("sessions", s.id.clone(), "duplicate_key"));
        d.sessions.push(s);
    }
    if let Some(s) = d.sessions.get(3).cloned() {
        let mut bad = s;
        bad.id = "s-planted-channel".into();
        bad.channel = "tv";
        d.planted
            .push(("sessions", bad.id.clone(), "unknown_enum:channel"));
        d.sessions.push(bad);
    }
    for i in 0..2 {
        if let Some(c) = d.clicks.get(i).cloned() {
            let mut bad = c;
            bad.id = format!("k-planted-{i}");
            bad.link_id = "lk_deleted".into();
            d.planted
                .push(("clicks", bad.id.clone(), "dangling_fk:link_id->links"));
            d.clicks.push(bad);
        }
    }
    let refunded: std::collections::HashSet<&str> =
        d.refunds.iter().map(|r| r.order_id.as_str()).collect();
    if let Some(o) = d.orders.iter().find(|o| !refunded.contains(o.id.as_str())) {
        let r = Refund {
            id: "r-planted-excess".into(),
            order_id: o.id.clone(),
            refunded_at: o.ordered_at + Duration::hours(30),
            cents: o.revenue_cents + 100,
            currency: o.currency,
        };
        d.planted
            .push(("refunds", r.id.clone(), "refund_exceeds_order"));
        d.refunds.push(r);
    }
}

/// What the generator planted, for judging analyses.
pub fn truth_tables(
    w: &World,
    t: &Truth,
    planted: &[(&'static str, String, &'static str)],
) -> Result<Vec<(&'static str, RecordBatch)>> {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let mut visits = Vec::new();
    let mut orders = Vec::new();
    let mut disclosure = Vec::new();
    let mut post_flags = Vec::new();
    let mut featured = Vec::new();
    for (pi, p) in w
        .posts
        .iter()
        .enumerate()
        .filter(|(_, p)| p.published_at < w.end)
    {
        for sig in ["direct", "branded_search", "product_page"] {
            visits.push(json!({
                "content_id": p.id, "creator_id": w.creators[p.creator].id, "published_at": micros(p.published_at),
                "signal": sig, "true_visits": t.visits.get(&(pi, sig)).copied().unwrap_or(0),
                "expected_visits": p.expected_dark_visits,
                "true_visits_60m": t.visits_in_windows.get(&(pi, sig)).map_or(0, |w| w[0]),
                "true_visits_72h": t.visits_in_windows.get(&(pi, sig)).map_or(0, |w| w[1]),
            }));
        }
        let (n, cents) = t.orders.get(&pi).copied().unwrap_or((0, 0));
        orders.push(json!({"content_id": p.id, "true_orders": n, "true_revenue": money(cents)}));
        disclosure.push(json!({
            "content_id": p.id, "disclosure_class": p.disclosure.as_str(),
            "language": p.caption_language, "features_brand": p.features_brand,
            "lookalikes": p.lookalikes, "stylised": p.stylised,
        }));
        for (rule, subject) in &p.planted_flags {
            post_flags.push(json!({"content_id": p.id, "rule_id": rule, "subject": subject}));
        }
        if super::placement::not_shown(p, &w.campaigns) {
            let k = &w.campaigns[p.campaign.unwrap_or_default()];
            post_flags
                .push(json!({"content_id": p.id, "rule_id": "campaign_product", "subject": k.id}));
        }
        for sku in &p.placement.featured {
            featured.push(json!({"content_id": p.id, "sku": sku}));
        }
    }
    let mut event_visits = Vec::new();
    for (ei, e) in w.events.iter().enumerate() {
        for sig in ["direct", "branded_search", "product_page"] {
            event_visits.push(json!({
                "event_id": e.id, "kind": e.kind, "listed": e.listed, "starts_at": micros(e.starts_at),
                "signal": sig, "true_visits": t.event_visits.get(&(ei, sig)).copied().unwrap_or(0),
            }));
        }
    }
    let leaked: Vec<Value> = w
        .creators
        .iter()
        .enumerate()
        .filter(|(_, c)| c.code_leaked)
        .map(|(i, c)| {
            let starts = w
                .leaks
                .iter()
                .find(|l| l.creator == i)
                .map(|l| micros(l.starts_at));
            json!({"code": c.code, "creator_id": c.id, "leak_starts_at": starts})
        })
        .collect();
    let deliverables: Vec<Value> = w
        .deliverables
        .iter()
        .map(|d| json!({"deliverable_id": d.id, "state": d.state}))
        .collect();
    let planted: Vec<Value> = planted
        .iter()
        .map(|(t, k, r)| json!({"table": t, "key": k, "reason": r}))
        .collect();
    let s = |n: &str, dt: DataType| Field::new(n, dt, true);
    let mut out = Vec::new();
    if !w.events.is_empty() {
        out.push((
            "event_visits",
            to_batch(
                schema_of(vec![
                    s("event_id", DataType::Utf8),
                    s("kind", DataType::Utf8),
                    s("listed", DataType::Boolean),
                    s("starts_at", ts.clone()),
                    s("signal", DataType::Utf8),
                    s("true_visits", DataType::Int64),
                ]),
                &event_visits,
            )?,
        ));
    }
    out.extend(vec![
        (
            "post_visits",
            to_batch(
                schema_of(vec![
                    s("content_id", DataType::Utf8),
                    s("creator_id", DataType::Utf8),
                    s("published_at", ts.clone()),
                    s("signal", DataType::Utf8),
                    s("true_visits", DataType::Int64),
                    s("expected_visits", DataType::Float64),
                    s("true_visits_60m", DataType::Int64),
                    s("true_visits_72h", DataType::Int64),
                ]),
                &visits,
            )?,
        ),
        (
            "post_orders",
            to_batch(
                schema_of(vec![
                    s("content_id", DataType::Utf8),
                    s("true_orders", DataType::Int64),
                    s("true_revenue", DataType::Decimal128(18, 2)),
                ]),
                &orders,
            )?,
        ),
        (
            "disclosure",
            to_batch(
                schema_of(vec![
                    s("content_id", DataType::Utf8),
                    s("disclosure_class", DataType::Utf8),
                    s("language", DataType::Utf8),
                    s("features_brand", DataType::Boolean),
                    s("lookalikes", DataType::Boolean),
                    s("stylised", DataType::Boolean),
                ]),
                &disclosure,
            )?,
        ),
        (
            "featured_products",
            to_batch(
                schema_of(vec![
                    s("content_id", DataType::Utf8),
                    s("sku", DataType::Utf8),
                ]),
                &featured,
            )?,
        ),
        (
            "post_flags",
            to_batch(
                schema_of(vec![
                    s("content_id", DataType::Utf8),
                    s("rule_id", DataType::Utf8),
                    s("subject", DataType::Utf8),
                ]),
                &post_flags,
            )?,
        ),
        (
            "leaked_codes",
            to_batch(
                schema_of(vec![
                    s("code", DataType::Utf8),
                    s("creator_id", DataType::Utf8),
                    s("leak_starts_at", ts.clone()),
                ]),
                &leaked,
            )?,
        ),
        (
            "deliverables",
            to_batch(
                schema_of(vec![
                    s("deliverable_id", DataType::Utf8),
                    s("state", DataType::Utf8),
                ]),
                &deliverables,
            )?,
        ),
        (
            "planted_rejects",
            to_batch(
                schema_of(vec![
                    s("table", DataType::Utf8),
                    s("key", DataType::Utf8),
                    s("reason", DataType::Utf8),
                ]),
                &planted,
            )?,
        ),
    ]);
    Ok(out)
}
