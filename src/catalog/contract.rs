//! The raw-data contract: every input table, its key, its columns with their
//! types, which are required, which values an enumerated column allows, and the
//! foreign keys between tables. `docs/data-contract.md` is written from this.
//!
//! The contract is data, not code: the loader (`load.rs`) checks files against
//! it and the validator (`validate.rs`) turns it into one SQL plan per table.

use std::sync::{Arc, LazyLock};

use arrow::datatypes::{DataType, Field, Fields, TimeUnit};

/// The logical type of a contract column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// UTF-8 string (large and view variants accepted).
    Str,
    /// 32-bit integer (narrower integers accepted).
    Int32,
    /// 64-bit integer (narrower integers accepted).
    Int64,
    /// 64-bit float (32-bit accepted).
    Float64,
    /// Boolean.
    Bool,
    /// Instant in UTC, microseconds (ms, s and ns accepted; zone-less read as UTC).
    Timestamp,
    /// Calendar date.
    Date,
    /// Money: `decimal(18,2)` (narrower decimals accepted).
    Money,
    /// Percentage: `decimal(9,4)`.
    Percent,
    /// Exchange rate: `decimal(18,8)`.
    FxRate,
    /// `list<string>`.
    StrList,
    /// `list<struct<country string, share float64>>`.
    AudienceCountries,
    /// `list<struct<sku string, confidence float64>>`.
    DetectedProducts,
    /// `list<struct<monthly_revenue_from decimal(18,2), rate_percent decimal(9,4)>>`.
    Tiers,
}

impl Kind {
    /// The Arrow type halo works with after coercion.
    pub fn data_type(self) -> DataType {
        match self {
            Kind::Str => DataType::Utf8,
            Kind::Int32 => DataType::Int32,
            Kind::Int64 => DataType::Int64,
            Kind::Float64 => DataType::Float64,
            Kind::Bool => DataType::Boolean,
            Kind::Timestamp => utc_micros(),
            Kind::Date => DataType::Date32,
            Kind::Money => DataType::Decimal128(18, 2),
            Kind::Percent => DataType::Decimal128(9, 4),
            Kind::FxRate => DataType::Decimal128(18, 8),
            Kind::StrList => list_of(DataType::Utf8),
            Kind::AudienceCountries => list_of(DataType::Struct(Fields::from(vec![
                Field::new("country", DataType::Utf8, true),
                Field::new("share", DataType::Float64, true),
            ]))),
            Kind::DetectedProducts => list_of(DataType::Struct(Fields::from(vec![
                Field::new("sku", DataType::Utf8, true),
                Field::new("confidence", DataType::Float64, true),
            ]))),
            Kind::Tiers => list_of(DataType::Struct(Fields::from(vec![
                Field::new("monthly_revenue_from", DataType::Decimal128(18, 2), true),
                Field::new("rate_percent", DataType::Decimal128(9, 4), true),
            ]))),
        }
    }

    /// How the contract document spells the type.
    pub fn spelling(self) -> &'static str {
        match self {
            Kind::Str => "string",
            Kind::Int32 => "int32",
            Kind::Int64 => "int64",
            Kind::Float64 => "float64",
            Kind::Bool => "bool",
            Kind::Timestamp => "timestamp[us, tz=UTC]",
            Kind::Date => "date",
            Kind::Money => "decimal(18,2)",
            Kind::Percent => "decimal(9,4)",
            Kind::FxRate => "decimal(18,8)",
            Kind::StrList => "list<string>",
            Kind::AudienceCountries => "list<struct<country string, share float64>>",
            Kind::DetectedProducts => "list<struct<sku string, confidence float64>>",
            Kind::Tiers => {
                "list<struct<monthly_revenue_from decimal(18,2), rate_percent decimal(9,4)>>"
            }
        }
    }
}

/// `timestamp[us, tz=UTC]`, the one timestamp type inside halo.
pub fn utc_micros() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC")))
}

fn list_of(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", item, true)))
}

/// A value rule checked row by row; a failing row is rejected with
/// `invalid_value:<column>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Greater than zero.
    Positive,
    /// Zero or more.
    NonNegative,
    /// Between 0 and 1 inclusive.
    UnitInterval,
    /// An ISO 4217 currency code (rejected as `unknown_currency:<column>`).
    Currency,
}

/// One column of an input table.
#[derive(Debug, Clone)]
pub struct Column {
    /// Column name in the Parquet files.
    pub name: &'static str,
    /// Its logical type.
    pub kind: Kind,
    /// Required columns must exist in every file and are never null.
    pub required: bool,
    /// The allowed values of an enumerated column (lower-case).
    pub allowed: &'static [&'static str],
    /// A value rule.
    pub rule: Option<Rule>,
    /// What the column means, for the contract document.
    pub doc: &'static str,
}

/// A foreign key from a child column to a parent table's key.
#[derive(Debug, Clone)]
pub struct ForeignKey {
    /// The child column.
    pub column: &'static str,
    /// The parent table; its single-column key is the target.
    pub parent: &'static str,
}

/// A running total that may not exceed an amount of the parent row, in the
/// parent's currency: refunds may not take more than what is left of their
/// order. Rows are accumulated per parent key in `order_by` order.
#[derive(Debug, Clone)]
pub struct WithinParent {
    /// The parent table (its clean rows).
    pub parent: &'static str,
    /// The child column that holds the parent's key.
    pub column: &'static str,
    /// The child's amount.
    pub amount: &'static str,
    /// The parent's amount the running total may not exceed.
    pub limit: &'static str,
    /// The currency column, the same name in both tables.
    pub currency: &'static str,
    /// The accumulation order.
    pub order_by: &'static [&'static str],
    /// The reject reason when the total exceeds the limit.
    pub reason: &'static str,
}

/// One input table.
#[derive(Debug, Clone)]
pub struct TableSpec {
    /// Folder name under the input root.
    pub name: &'static str,
    /// Required tables must exist (exit 66 otherwise).
    pub required: bool,
    /// Key columns; a repeated key is a reject.
    pub key: &'static [&'static str],
    /// SQL expressions the key is compared by (codes match trimmed and case-insensitively).
    pub key_exprs: &'static [&'static str],
    /// Columns in contract order.
    pub columns: Vec<Column>,
    /// Foreign keys, checked when the parent table is present.
    pub foreign_keys: Vec<ForeignKey>,
    /// The event time, for events that cannot lie after the run's wall-clock time.
    pub event_time: Option<&'static str>,
    /// A running total bounded by the parent row.
    pub within_parent: Option<WithinParent>,
    /// What a row is, for the contract document.
    pub doc: &'static str,
}

impl TableSpec {
    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The coerced Arrow schema of the table.
    pub fn arrow_fields(&self) -> Vec<Field> {
        self.columns
            .iter()
            .map(|c| Field::new(c.name, c.kind.data_type(), !c.required))
            .collect()
    }
}

const CREATOR_STATUS: &[&str] = &["prospect", "active", "paused", "ended"];
/// Platforms a post can be published on.
pub const PLATFORMS: &[&str] = &[
    "instagram",
    "tiktok",
    "youtube",
    "blog",
    "podcast",
    "x",
    "facebook",
    "pinterest",
    "twitch",
    "snapchat",
    "newsletter",
    "other",
];
/// Content formats.
pub const FORMATS: &[&str] = &[
    "reel",
    "story",
    "feed_post",
    "video",
    "short",
    "live",
    "article",
    "episode",
    "other",
];
/// Session channels.
pub const CHANNELS: &[&str] = &[
    "direct",
    "organic_search",
    "paid_search",
    "organic_social",
    "paid_social",
    "email",
    "referral",
    "affiliate",
    "other",
];
const LANDING: &[&str] = &[
    "home",
    "product",
    "collection",
    "search",
    "content",
    "other",
];
const DEVICES: &[&str] = &["mobile", "desktop", "tablet", "other"];
const STRUCTURES: &[&str] = &["gifting", "flat_fee", "affiliate", "hybrid"];
const DELIVERABLE_KINDS: &[&str] = &["draft", "post"];
/// What a confirmed leaked code's redemptions pay.
const LEAKED_REDEMPTIONS: &[&str] = &["pay", "exclude"];
const CREDIT_BASIS: &[&str] = &["code", "link", "code_or_link", "model"];
/// The kinds of `costs` rows.
pub const COST_KINDS: &[&str] = &[
    "creator_fee",
    "free_product",
    "shipping",
    "production",
    "platform_spend",
    "platform_fee",
    "other",
];
const SIGNALS: &[&str] = &["direct", "branded_search", "product_page", "orders"];
/// Kinds of known marketing event.
pub const EVENT_KINDS: &[&str] = &["email_send", "press", "sale", "paid_flight", "tv", "other"];

fn req(name: &'static str, kind: Kind, doc: &'static str) -> Column {
    Column {
        name,
        kind,
        required: true,
        allowed: &[],
        rule: None,
        doc,
    }
}
fn opt(name: &'static str, kind: Kind, doc: &'static str) -> Column {
    Column {
        name,
        kind,
        required: false,
        allowed: &[],
        rule: None,
        doc,
    }
}
fn one_of(mut c: Column, allowed: &'static [&'static str]) -> Column {
    c.allowed = allowed;
    c
}
fn rule(mut c: Column, rule: Rule) -> Column {
    c.rule = Some(rule);
    c
}
fn fk(column: &'static str, parent: &'static str) -> ForeignKey {
    ForeignKey { column, parent }
}

/// Every input table, parents before children (the order validation runs in).
pub static TABLES: LazyLock<Vec<TableSpec>> = LazyLock::new(|| {
    use Kind::*;
    vec![
        TableSpec {
            name: "creators",
            required: true,
            key: &["creator_id"],
            key_exprs: &["creator_id"],
            doc: "One row per creator the brand works with or considers.",
            columns: vec![
                req("creator_id", Str, "Stable creator id."),
                req("display_name", Str, "Name shown in reports."),
                opt("email", Str, "Contact address."),
                opt("country", Str, "ISO 3166-1 alpha-2 country of residence."),
                one_of(req("status", Str, "Relationship status."), CREATOR_STATUS),
                rule(
                    opt("followers", Int64, "Total audience size."),
                    Rule::NonNegative,
                ),
                opt("themes", StrList, "Content themes."),
                opt(
                    "audience_countries",
                    AudienceCountries,
                    "Audience share by country.",
                ),
                rule(
                    opt(
                        "audience_target_share",
                        Float64,
                        "Share of the audience inside the brand's target demographic (0-1).",
                    ),
                    Rule::UnitInterval,
                ),
                opt(
                    "past_partners",
                    StrList,
                    "Brands the creator worked with before.",
                ),
                opt(
                    "joined_at",
                    Timestamp,
                    "When the creator joined the program.",
                ),
            ],
            foreign_keys: vec![],
            event_time: None,
            within_parent: None,
        },
        TableSpec {
            name: "campaigns",
            required: false,
            key: &["campaign_id"],
            key_exprs: &["campaign_id"],
            doc: "One row per campaign.",
            columns: vec![
                req("campaign_id", Str, "Stable campaign id."),
                req("name", Str, "Campaign name."),
                req("starts_at", Timestamp, "Start."),
                opt("ends_at", Timestamp, "End; may lie in the future."),
                one_of(req("structure", Str, "How creators are paid."), STRUCTURES),
                opt("skus", StrList, "Products the campaign promotes."),
                opt("brief", Str, "The brief sent to creators."),
            ],
            foreign_keys: vec![],
            event_time: None,
            within_parent: None,
        },
        TableSpec {
            name: "content",
            required: true,
            key: &["content_id"],
            key_exprs: &["content_id"],
            doc: "One row per published post, video, story or article.",
            columns: vec![
                req("content_id", Str, "Stable content id."),
                req("creator_id", Str, "Author."),
                opt("campaign_id", Str, "Campaign the post belongs to."),
                one_of(req("platform", Str, "Where it was published."), PLATFORMS),
                one_of(req("format", Str, "What kind of post."), FORMATS),
                req("published_at", Timestamp, "Publication time."),
                opt("url", Str, "Public URL."),
                opt("caption", Str, "The text as published, hashtags included."),
                opt("transcript", Str, "Spoken text, for video and audio."),
                opt(
                    "language",
                    Str,
                    "ISO 639-1 language of the caption and transcript; null: halo detects it.",
                ),
                opt("link_ids", StrList, "Tracked links in the post."),
                opt("promo_codes", StrList, "Promo codes shown in the post."),
                rule(
                    opt("views", Int64, "Views reported by the platform."),
                    Rule::NonNegative,
                ),
                opt(
                    "detected_products",
                    DetectedProducts,
                    "Products an image-recognition service found in the post: `sku` as in `order_lines`, `confidence` 0..1, doubtful ones included; empty = analysed, nothing found; null = not analysed (docs/placement.md).",
                ),
            ],
            foreign_keys: vec![fk("creator_id", "creators"), fk("campaign_id", "campaigns")],
            event_time: None,
            within_parent: None,
        },
        TableSpec {
            name: "links",
            required: false,
            key: &["link_id"],
            key_exprs: &["link_id"],
            doc: "One row per tracked link; a bio link has no content_id.",
            columns: vec![
                req("link_id", Str, "Stable link id."),
                req("creator_id", Str, "Owner."),
                opt("campaign_id", Str, "Campaign."),
                opt(
                    "content_id",
                    Str,
                    "Post the link was made for; null for bio links.",
                ),
                req("destination_url", Str, "Where the link leads."),
                opt(
                    "short_url",
                    Str,
                    "Its shortened form, as a post may show it.",
                ),
            ],
            foreign_keys: vec![
                fk("creator_id", "creators"),
                fk("campaign_id", "campaigns"),
                fk("content_id", "content"),
            ],
            event_time: None,
            within_parent: None,
        },
        TableSpec {
            name: "clicks",
            required: false,
            key: &["click_id"],
            key_exprs: &["click_id"],
            doc: "One row per tracked-link click.",
            columns: vec![
                req("click_id", Str, "Stable click id."),
                req("link_id", Str, "The link clicked."),
                opt(
                    "anonymous_id",
                    Str,
                    "Visitor id set by the site after the redirect.",
                ),
                req("clicked_at", Timestamp, "Click time."),
                opt("country", Str, "ISO 3166-1 alpha-2."),
                opt("device", Str, "Device class."),
            ],
            foreign_keys: vec![fk("link_id", "links")],
            event_time: Some("clicked_at"),
            within_parent: None,
        },
        TableSpec {
            name: "exposures",
            required: false,
            key: &["exposure_id"],
            key_exprs: &["exposure_id"],
            doc: "One row per known view of a post by a site visitor (platform view-through matches, \
                  logged-in in-app views). An attribution touch without a click.",
            columns: vec![
                req("exposure_id", Str, "Stable exposure id."),
                req("content_id", Str, "The post that was seen."),
                req("anonymous_id", Str, "Visitor id the view was matched to."),
                req("exposed_at", Timestamp, "When the post was seen."),
            ],
            foreign_keys: vec![fk("content_id", "content")],
            event_time: Some("exposed_at"),
            within_parent: None,
        },
        TableSpec {
            name: "sessions",
            required: true,
            key: &["session_id"],
            key_exprs: &["session_id"],
            doc: "One row per site visit.",
            columns: vec![
                req("session_id", Str, "Stable session id."),
                req("anonymous_id", Str, "Browser/device visitor id."),
                opt("customer_id", Str, "Logged-in customer; stitches devices."),
                req("started_at", Timestamp, "Session start."),
                one_of(req("channel", Str, "Marketing channel."), CHANNELS),
                opt("referrer_domain", Str, "Referring domain."),
                one_of(opt("landing_page_type", Str, "First page type."), LANDING),
                opt("search_query", Str, "Search query, for search sessions."),
                opt("utm_source", Str, "utm_source."),
                opt("utm_medium", Str, "utm_medium."),
                opt("utm_campaign", Str, "utm_campaign."),
                opt("utm_content", Str, "utm_content."),
                opt(
                    "click_id",
                    Str,
                    "The tracked click that opened the session.",
                ),
                opt("country", Str, "ISO 3166-1 alpha-2."),
                one_of(opt("device", Str, "Device class."), DEVICES),
            ],
            foreign_keys: vec![],
            event_time: Some("started_at"),
            within_parent: None,
        },
        TableSpec {
            name: "codes",
            required: false,
            key: &["code"],
            key_exprs: &["upper(trim(code))"],
            doc: "One row per creator promo code; codes match trimmed and case-insensitively.",
            columns: vec![
                req("code", Str, "The code."),
                req("creator_id", Str, "Owner."),
                opt("campaign_id", Str, "Campaign."),
                opt("valid_from", Timestamp, "First valid instant."),
                opt(
                    "valid_to",
                    Timestamp,
                    "Last valid instant; may lie in the future.",
                ),
            ],
            foreign_keys: vec![fk("creator_id", "creators"), fk("campaign_id", "campaigns")],
            event_time: None,
            within_parent: None,
        },
        TableSpec {
            name: "orders",
            required: true,
            key: &["order_id"],
            key_exprs: &["order_id"],
            doc: "One row per order.",
            columns: vec![
                req("order_id", Str, "Stable order id."),
                req("ordered_at", Timestamp, "Order time."),
                opt("anonymous_id", Str, "Visitor id."),
                opt("customer_id", Str, "Customer id."),
                opt("session_id", Str, "Session the order was placed in."),
                rule(
                    req(
                        "revenue",
                        Money,
                        "Net merchandise revenue after discounts, before tax and shipping.",
                    ),
                    Rule::NonNegative,
                ),
                rule(
                    req("currency", Str, "ISO 4217 code of revenue."),
                    Rule::Currency,
                ),
                opt(
                    "discount_codes",
                    StrList,
                    "Codes used; codes not in `codes` are brand-wide.",
                ),
                opt("is_new_customer", Bool, "First order of the customer."),
                opt("country", Str, "ISO 3166-1 alpha-2."),
            ],
            foreign_keys: vec![],
            event_time: Some("ordered_at"),
            within_parent: None,
        },
        TableSpec {
            name: "order_lines",
            required: false,
            key: &["order_id", "line_no"],
            key_exprs: &["order_id", "line_no"],
            doc: "One row per order line.",
            columns: vec![
                req("order_id", Str, "Order."),
                req("line_no", Int32, "Line number within the order."),
                req("sku", Str, "Product."),
                rule(req("quantity", Int32, "Units (> 0)."), Rule::Positive),
                req(
                    "net_amount",
                    Money,
                    "Net amount of the line in the order's currency.",
                ),
                rule(
                    opt("unit_cost", Money, "Cost of goods per unit."),
                    Rule::NonNegative,
                ),
            ],
            foreign_keys: vec![fk("order_id", "orders")],
            event_time: None,
            within_parent: None,
        },
        TableSpec {
            name: "refunds",
            required: false,
            key: &["refund_id"],
            key_exprs: &["refund_id"],
            doc: "One row per refund; the amount is at most what is left of the order.",
            columns: vec![
                req("refund_id", Str, "Stable refund id."),
                req("order_id", Str, "Refunded order."),
                req("refunded_at", Timestamp, "Refund time."),
                rule(
                    req("amount", Money, "Refunded amount (> 0)."),
                    Rule::Positive,
                ),
                rule(
                    req("currency", Str, "ISO 4217 code; must be the order's."),
                    Rule::Currency,
                ),
            ],
            foreign_keys: vec![fk("order_id", "orders")],
            event_time: Some("refunded_at"),
            within_parent: Some(WithinParent {
                parent: "orders",
                column: "order_id",
                amount: "amount",
                limit: "revenue",
                currency: "currency",
                order_by: &["refunded_at", "refund_id"],
                reason: "refund_exceeds_order",
            }),
        },
        TableSpec {
            name: "deliverables",
            required: false,
            key: &["deliverable_id"],
            key_exprs: &["deliverable_id"],
            doc: "One row per draft or post a creator owes a campaign.",
            columns: vec![
                req("deliverable_id", Str, "Stable id."),
                req("campaign_id", Str, "Campaign."),
                req("creator_id", Str, "Creator."),
                one_of(req("kind", Str, "Draft or post."), DELIVERABLE_KINDS),
                opt("platform", Str, "Expected platform."),
                opt("format", Str, "Expected format."),
                req("due_at", Timestamp, "Due time; may lie in the future."),
                opt("submitted_at", Timestamp, "When it was delivered."),
                opt("content_id", Str, "The published content, for posts."),
            ],
            foreign_keys: vec![fk("campaign_id", "campaigns"), fk("creator_id", "creators")],
            event_time: None,
            within_parent: None,
        },
        TableSpec {
            name: "commission_plans",
            required: false,
            key: &["plan_id"],
            key_exprs: &["plan_id"],
            doc: "One row per commission plan.",
            columns: vec![
                req("plan_id", Str, "Stable id."),
                req("creator_id", Str, "Creator."),
                opt("campaign_id", Str, "Campaign; null for creator-wide plans."),
                req("valid_from", Timestamp, "First valid instant."),
                opt("valid_to", Timestamp, "Last valid instant."),
                rule(
                    opt("rate_percent", Percent, "Percent of net revenue."),
                    Rule::NonNegative,
                ),
                rule(
                    opt("flat_per_order", Money, "Flat amount per order."),
                    Rule::NonNegative,
                ),
                rule(
                    opt(
                        "new_customer_rate_percent",
                        Percent,
                        "Percent for new customers.",
                    ),
                    Rule::NonNegative,
                ),
                opt("tiers", Tiers, "Monthly revenue tiers."),
                rule(
                    req(
                        "lock_days",
                        Int32,
                        "Return window before a commission becomes payable.",
                    ),
                    Rule::NonNegative,
                ),
                one_of(
                    req("credit_basis", Str, "What earns the commission."),
                    CREDIT_BASIS,
                ),
                rule(
                    req(
                        "currency",
                        Str,
                        "ISO 4217 code of flat amounts and payouts.",
                    ),
                    Rule::Currency,
                ),
                one_of(
                    opt(
                        "leaked_redemptions",
                        Str,
                        "What a redemption of the creator's code pays once a person has confirmed the code leaked (`halo codes confirm-leak`), from the confirmed date: `pay` (null: the default) or `exclude` (the line is `not_commissionable`, reason `leaked_code`).",
                    ),
                    LEAKED_REDEMPTIONS,
                ),
            ],
            foreign_keys: vec![fk("creator_id", "creators"), fk("campaign_id", "campaigns")],
            event_time: None,
            within_parent: None,
        },
        TableSpec {
            name: "costs",
            required: false,
            key: &["cost_id"],
            key_exprs: &["cost_id"],
            doc: "One row per cost; commissions are computed by halo, never an input.",
            columns: vec![
                req("cost_id", Str, "Stable id."),
                req("creator_id", Str, "Creator."),
                opt("campaign_id", Str, "Campaign."),
                opt("content_id", Str, "Content."),
                one_of(req("kind", Str, "Cost kind."), COST_KINDS),
                req("amount", Money, "Amount."),
                rule(req("currency", Str, "ISO 4217 code."), Rule::Currency),
                req("incurred_on", Date, "Day the cost was incurred."),
            ],
            foreign_keys: vec![
                fk("creator_id", "creators"),
                fk("campaign_id", "campaigns"),
                fk("content_id", "content"),
            ],
            event_time: None,
            within_parent: None,
        },
        TableSpec {
            name: "fx_rates",
            required: false,
            key: &["date", "currency"],
            key_exprs: &["date", "currency"],
            doc: "One row per day and currency.",
            columns: vec![
                req("date", Date, "Day."),
                rule(req("currency", Str, "ISO 4217 code."), Rule::Currency),
                rule(
                    req(
                        "rate_to_base",
                        FxRate,
                        "Value of one unit of `currency` in the base currency.",
                    ),
                    Rule::Positive,
                ),
            ],
            foreign_keys: vec![],
            event_time: None,
            within_parent: None,
        },
        TableSpec {
            name: "marketing_events",
            required: false,
            key: &["event_id"],
            key_exprs: &["event_id"],
            doc: "Known marketing events (newsletter sends, press, sales, paid flights, TV): the lift masks them from the baseline and fits their traffic as their own, so it is never split among posts. Optional; without it unknown bursts are still kept from posts, less precisely.",
            columns: vec![
                req("event_id", Str, "Stable event id."),
                one_of(req("kind", Str, "What it was."), EVENT_KINDS),
                req("starts_at", Timestamp, "When it started (a send's time)."),
                opt(
                    "ends_at",
                    Timestamp,
                    "When it ended, for events that last (a sale, a flight); null or not after `starts_at`: an instant.",
                ),
                opt(
                    "channels",
                    StrList,
                    "Session channels it drives (for the record): the lift fits every event on every signal, because an email's or an article's readers also arrive direct or by search; where it drives none, its fitted response is zero.",
                ),
                opt("label", Str, "Free text."),
            ],
            foreign_keys: vec![],
            // Sends are scheduled ahead: a future event is not an error.
            event_time: None,
            within_parent: None,
        },
        TableSpec {
            name: "traffic_minutely",
            required: false,
            key: &["minute", "signal", "country"],
            key_exprs: &["minute", "signal", "country"],
            doc: "Aggregated traffic per minute, for sites that only export aggregates.",
            columns: vec![
                req("minute", Timestamp, "Minute start."),
                one_of(req("signal", Str, "Signal."), SIGNALS),
                rule(req("value", Int64, "Count."), Rule::NonNegative),
                opt("country", Str, "ISO 3166-1 alpha-2; null = all countries."),
            ],
            foreign_keys: vec![],
            event_time: None,
            within_parent: None,
        },
    ]
});

/// The table called `name`.
pub fn table(name: &str) -> Option<&'static TableSpec> {
    TABLES.iter().find(|t| t.name == name)
}

/// The contract as Markdown tables, one per input table; `docs/data-contract.md`
/// embeds this text verbatim (a test keeps the two equal).
pub fn markdown() -> String {
    let mut out = String::new();
    for t in TABLES.iter() {
        out.push_str(&format!(
            "### `{}` ({})\n\n{} Key: {}.\n\n| column | type | required | allowed values / rule | meaning |\n|---|---|---|---|---|\n",
            t.name,
            if t.required { "required" } else { "optional" },
            t.doc,
            t.key.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
        ));
        for c in &t.columns {
            let mut rule: Vec<String> = Vec::new();
            if !c.allowed.is_empty() {
                rule.push(c.allowed.join(", "));
            }
            match c.rule {
                Some(Rule::Positive) => rule.push("> 0".into()),
                Some(Rule::NonNegative) => rule.push(">= 0".into()),
                Some(Rule::UnitInterval) => rule.push("0 to 1".into()),
                Some(Rule::Currency) => rule.push("ISO 4217 code".into()),
                None => {}
            }
            if let Some(f) = t.foreign_keys.iter().find(|f| f.column == c.name) {
                rule.push(format!("references `{}`", f.parent));
            }
            if let Some(w) = t.within_parent.as_ref().filter(|w| w.amount == c.name) {
                rule.push(format!(
                    "summed per `{}` in ({}) order, at most `{}.{}` in the same `{}`",
                    w.column,
                    w.order_by.join(", "),
                    w.parent,
                    w.limit,
                    w.currency
                ));
            }
            if t.event_time == Some(c.name) {
                rule.push("not after the run's wall-clock time".into());
            }
            out.push_str(&format!(
                "| `{}` | `{}` | {} | {} | {} |\n",
                c.name,
                c.kind.spelling(),
                if c.required { "yes" } else { "" },
                rule.join("; "),
                c.doc
            ));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_come_before_children() {
        let pos = |n: &str| TABLES.iter().position(|t| t.name == n).unwrap();
        for t in TABLES.iter() {
            for f in &t.foreign_keys {
                assert!(
                    pos(f.parent) < pos(t.name),
                    "{} before {}",
                    f.parent,
                    t.name
                );
                let parent = table(f.parent).unwrap();
                assert_eq!(parent.key.len(), 1, "{} has a single-column key", f.parent);
            }
            for k in t.key {
                assert!(t.column(k).is_some(), "{}.{k} is a column", t.name);
            }
        }
    }
}
