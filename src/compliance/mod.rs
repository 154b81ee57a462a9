//! Disclosure and link compliance (docs/compliance.md): every post of the
//! program checked against the rules of the jurisdictions it answers to
//! (a data file the job names, `rules/compliance.toml` by default), and its
//! links and codes against the program's own. The results are flags for a
//! person to review (`halo review`); halo never decides on its own that a
//! creator broke a rule.

pub mod disclosure;
pub mod language;
pub mod links;
pub mod placement;
pub mod review;
pub mod rules;
pub mod text;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int64Array, ListArray, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, TimeUnit};
use datafusion::prelude::DataFrame;
use futures::StreamExt;
use sha2::{Digest, Sha256};

use crate::builtin::{self, Context, Table};
use crate::error::{Error, Result};
use crate::params::Param;
use disclosure::{Class, Where};
use links::{Finding, Verdict};
use rules::{Rules, Spoken};
use text::{Text, TokenKind};

/// `compliance_days` (read by `sql/compliance/010_posts.sql`).
pub const DAYS: Param = Param::int(
    "compliance_days",
    365,
    1,
    "posts published in this many days up to the run date are checked each night",
);

/// `compliance_brand_domains`.
pub const BRAND_DOMAINS: Param = Param::strings(
    "compliance_brand_domains",
    &[],
    "the brand's own sites (and their subdomains), beyond the hosts of `links.destination_url`: a link to one without tracking is `untracked_link`",
);

/// `compliance_tracking_params`.
pub const TRACKING_PARAMS: Param = Param::strings(
    "compliance_tracking_params",
    &[
        "ref",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_content",
        "aff",
        "aff_id",
        "affiliate",
        "irclickid",
        "clickid",
        "sub_id",
    ],
    "query parameters that make a link to the brand's site tracked",
);

/// `compliance_product_confidence`.
pub const PRODUCT_CONFIDENCE: Param = Param::float(
    "compliance_product_confidence",
    0.5,
    0.0,
    1.0,
    "a product in `detected_products` at this confidence or more features the brand (so the post needs a label)",
);

/// The parameters of compliance.
pub const PARAMS: &[Param] = &[DAYS, BRAND_DOMAINS, TRACKING_PARAMS, PRODUCT_CONFIDENCE];

const POSTS: &str = "posts to check";
const LINKS: &str = "links";
const CODES: &str = "codes";
const DECISIONS: &str = "review decisions";

/// A stable flag id: the same post, rule, jurisdiction and subject give the
/// same id on every run, so a reviewer's verdict stays with it.
pub fn flag_id(content_id: &str, rule: &str, jurisdiction: Option<&str>, subject: &str) -> String {
    let mut h = Sha256::new();
    for part in [content_id, rule, jurisdiction.unwrap_or(""), subject] {
        h.update(part.as_bytes());
        h.update([0x1f]);
    }
    format!("fl_{}", &hex::encode(h.finalize())[..16])
}

/// One row's `list<struct<string, float64>>`: (key, value) pairs.
type Pairs = Vec<(String, f64)>;

/// `list<struct<string, float64>>` rows as pairs (audience countries,
/// detected products); a null list is empty.
fn pairs(b: &RecordBatch, input: &str, name: &str) -> Result<Vec<Pairs>> {
    Ok(nullable_pairs(b, input, name)?
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect())
}

/// The same, keeping a null list apart from an empty one (a post not
/// analysed against one in which nothing was found).
fn nullable_pairs(b: &RecordBatch, input: &str, name: &str) -> Result<Vec<Option<Pairs>>> {
    let col = builtin::column(b, input, name)?;
    let Some(list) = col.as_any().downcast_ref::<ListArray>() else {
        if col.null_count() == col.len() {
            return Ok(vec![None; b.num_rows()]);
        }
        return Err(Error::Config(format!(
            "{input}: column {name} is {}, expected list<struct<string, float64>>",
            col.data_type()
        )));
    };
    let mut out = Vec::with_capacity(list.len());
    for i in 0..list.len() {
        if list.is_null(i) {
            out.push(None);
            continue;
        }
        let mut row = Vec::new();
        let v = list.value(i);
        let s = v.as_struct();
        let key = arrow::compute::cast(s.column(0), &DataType::Utf8)?;
        let key = key.as_string::<i32>();
        let val = arrow::compute::cast(s.column(1), &DataType::Float64)?;
        let val = val.as_primitive::<arrow::datatypes::Float64Type>();
        for k in 0..s.len() {
            if key.is_valid(k) && val.is_valid(k) {
                row.push((key.value(k).to_string(), val.value(k)));
            }
        }
        out.push(Some(row));
    }
    Ok(out)
}

/// `list<string>` rows.
fn string_lists(b: &RecordBatch, input: &str, name: &str) -> Result<Vec<Vec<String>>> {
    let col = builtin::column(b, input, name)?;
    let Some(list) = col.as_any().downcast_ref::<ListArray>() else {
        if col.null_count() == col.len() {
            return Ok(vec![Vec::new(); b.num_rows()]);
        }
        return Err(Error::Config(format!(
            "{input}: column {name} is {}, expected list<string>",
            col.data_type()
        )));
    };
    let mut out = Vec::with_capacity(list.len());
    for i in 0..list.len() {
        let mut row = Vec::new();
        if list.is_valid(i) {
            let v = arrow::compute::cast(&list.value(i), &DataType::Utf8)?;
            let v = v.as_string::<i32>();
            row.extend(v.iter().flatten().map(str::to_string));
        }
        out.push(row);
    }
    Ok(out)
}

fn opt_str(a: &StringArray, i: usize) -> Option<&str> {
    a.is_valid(i).then(|| a.value(i))
}

fn micros(b: &RecordBatch, input: &str, name: &str) -> Result<Vec<Option<i64>>> {
    let c = arrow::compute::cast(
        builtin::column(b, input, name)?,
        &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
    )?;
    let c = c.as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
    Ok((0..c.len())
        .map(|i| c.is_valid(i).then(|| c.value(i)))
        .collect())
}

async fn catalog(
    links_df: DataFrame,
    codes_df: DataFrame,
    ctx: &Context,
) -> Result<links::Catalog> {
    let p = &ctx.params;
    let mut c = links::Catalog {
        tracking_params: p
            .strings(&TRACKING_PARAMS)?
            .into_iter()
            .map(|s| s.to_lowercase())
            .collect(),
        ..links::Catalog::default()
    };
    for d in p.strings(&BRAND_DOMAINS)? {
        let d = d.trim().trim_start_matches("www.").to_lowercase();
        if !d.is_empty() {
            c.brand_hosts.insert(d);
        }
    }
    let mut stream = links_df.execute_stream().await?;
    while let Some(b) = stream.next().await {
        let b = b?;
        let id = builtin::strings(&b, LINKS, "link_id")?;
        let creator = builtin::strings(&b, LINKS, "creator_id")?;
        let campaign = builtin::strings(&b, LINKS, "campaign_id")?;
        let content = builtin::strings(&b, LINKS, "content_id")?;
        let dest = builtin::strings(&b, LINKS, "destination_url")?;
        let short = builtin::strings(&b, LINKS, "short_url")?;
        for i in 0..b.num_rows() {
            c.add_link(
                id.value(i),
                links::Link {
                    creator_id: creator.value(i).to_string(),
                    campaign_id: opt_str(&campaign, i).map(str::to_string),
                    content_id: opt_str(&content, i).map(str::to_string),
                },
                dest.value(i),
                opt_str(&short, i),
            );
        }
    }
    let mut stream = codes_df.execute_stream().await?;
    while let Some(b) = stream.next().await {
        let b = b?;
        let code = builtin::strings(&b, CODES, "code")?;
        let creator = builtin::strings(&b, CODES, "creator_id")?;
        let from = micros(&b, CODES, "valid_from")?;
        let to = micros(&b, CODES, "valid_to")?;
        for i in 0..b.num_rows() {
            c.codes.insert(
                code.value(i).trim().to_uppercase(),
                links::Code {
                    creator_id: creator.value(i).to_string(),
                    valid_from: from[i],
                    valid_to: to[i],
                },
            );
        }
    }
    Ok(c)
}

/// One flag row.
#[derive(Debug, Clone)]
struct FlagRow {
    flag_id: String,
    content_id: String,
    creator_id: String,
    rule: &'static str,
    jurisdiction: Option<String>,
    subject: Option<String>,
    finding: Finding,
    decision: Option<(String, String)>,
}

/// One post's row.
#[derive(Debug, Clone)]
struct PostRow {
    content_id: String,
    creator_id: String,
    campaign_id: Option<String>,
    platform: String,
    format: String,
    published_at: i64,
    features: Vec<&'static str>,
    class: &'static str,
    label: Option<String>,
    label_offset: Option<usize>,
    label_surface: Option<&'static str>,
    language: Option<String>,
    language_source: &'static str,
    jurisdictions: String,
    flags: i64,
    open_flags: i64,
    placement: Option<&'static str>,
    placement_detected: Option<String>,
}

fn severity(c: Class) -> Option<&'static str> {
    match c {
        Class::Clear => None,
        Class::Buried | Class::Ambiguous => Some("medium"),
        Class::Missing => Some("high"),
    }
}

/// The disclosure findings of a post that features the brand, per
/// jurisdiction, and the post's own class and label.
fn disclosure_findings(
    rules: &Rules,
    post: &disclosure::Post<'_>,
    applied: &[&rules::Jurisdiction],
) -> (
    Vec<(String, Finding)>,
    Class,
    Option<(String, usize, &'static str)>,
) {
    let found = disclosure::find(rules, post);
    let mut out = Vec::new();
    let mut worst = (Class::Clear, None);
    let nothing = post.caption.is_none() && post.transcript.is_none();
    let unheard = post.surface.spoken == Spoken::Required && post.transcript.is_none();
    for j in applied {
        let (class, by) = disclosure::classify(&found, j, post.language);
        let evidence = match (class, by) {
            (Class::Clear, Some(f)) => format!(
                "{:?} at character {} of the {}, where {} accepts it",
                f.quote,
                f.offset,
                f.surface.as_str(),
                j.id
            ),
            (Class::Buried, Some(f)) => format!(
                "{:?} at character {} of the {}: {}",
                f.quote,
                f.offset,
                f.surface.as_str(),
                f.misplaced.unwrap_or("not where it must be")
            ),
            (Class::Ambiguous, Some(f)) => format!(
                "only {:?} (character {} of the {}), which {} does not accept as a disclosure",
                f.quote,
                f.offset,
                f.surface.as_str(),
                j.id
            ),
            _ if nothing => "the post has no caption or transcript to read".to_string(),
            _ => format!(
                "no disclosure label in the {}",
                if post.transcript.is_some() {
                    "caption or transcript"
                } else {
                    "caption"
                }
            ),
        };
        let evidence = if unheard && class != Class::Clear {
            format!("{evidence}; no transcript: whether it is said in the video cannot be checked")
        } else {
            evidence
        };
        let verdict = match class {
            Class::Clear => Verdict::Pass,
            _ if nothing || unheard => Verdict::NeedsReview,
            _ => Verdict::Flag,
        };
        out.push((
            j.id.clone(),
            Finding {
                rule: "disclosure",
                subject: String::new(),
                verdict,
                severity: severity(class),
                evidence,
                quote: by.map(|f| f.quote.clone()),
                offset: by.map(|f| f.offset),
                surface: by.map(|f| f.surface),
            },
        ));
        if class > worst.0 || (class == worst.0 && worst.1.is_none() && by.is_some()) {
            worst = (
                class,
                by.map(|f| (f.quote.clone(), f.offset, f.surface.as_str())),
            );
        }
    }
    (out, worst.0, worst.1)
}

/// Why a post features the brand (and so needs a label): none when it
/// does not.
fn features(
    campaign: bool,
    link: bool,
    code: bool,
    product: bool,
    texts: &[&Text],
    brand: &[String],
) -> Vec<&'static str> {
    let mut out = Vec::new();
    if campaign {
        out.push("campaign");
    }
    if link {
        out.push("link");
    }
    if code {
        out.push("code");
    }
    if product {
        out.push("product");
    }
    let mention = texts.iter().any(|t| {
        t.tokens.iter().any(|k| {
            brand.iter().any(|b| match k.kind {
                TokenKind::Word => &k.folded == b,
                TokenKind::Hashtag | TokenKind::Mention => k.folded.starts_with(b.as_str()),
            })
        })
    });
    if mention {
        out.push("mention");
    }
    out
}

fn read_decisions(t: &Table) -> Result<BTreeMap<String, (String, String)>> {
    let mut out = BTreeMap::new();
    for b in &t.batches {
        let id = builtin::strings(b, DECISIONS, "flag_id")?;
        let d = builtin::strings(b, DECISIONS, "decision")?;
        let by = builtin::strings(b, DECISIONS, "decided_by")?;
        for i in 0..b.num_rows() {
            out.insert(
                id.value(i).to_string(),
                (d.value(i).to_string(), by.value(i).to_string()),
            );
        }
    }
    Ok(out)
}

/// The built-in: posts, links, codes, review decisions →
/// `compliance_flags`, `post_compliance`.
pub async fn run(inputs: Vec<DataFrame>, ctx: Context) -> Result<Vec<Table>> {
    let [posts, links_df, codes_df, decided]: [DataFrame; 4] = inputs
        .try_into()
        .map_err(|_| Error::Config("the compliance built-in takes four inputs".into()))?;
    let (origin, text) = ctx.data.iter().next().ok_or_else(|| {
        Error::Config(
            "the compliance step needs its rules file: data = [\"rules/compliance.toml\"]".into(),
        )
    })?;
    let rules = Rules::parse(text, origin)?;
    let detect = language::Languages::new(rules.label_languages());
    let catalog = catalog(links_df, codes_df, &ctx).await?;
    let decisions = read_decisions(&builtin::collect(decided).await?)?;
    let confidence = ctx.params.float(&PRODUCT_CONFIDENCE)?;
    let placement_confidence = ctx.params.float(&placement::CONFIDENCE)?;
    let brand: Vec<String> = ctx
        .params
        .brand_terms
        .iter()
        .flat_map(|t| text::fold_label(t))
        .map(|t| t.folded)
        .filter(|t| !t.is_empty())
        .collect();

    let mut flags: Vec<FlagRow> = Vec::new();
    let mut rows: Vec<PostRow> = Vec::new();
    let mut stream = posts.execute_stream().await?;
    while let Some(b) = stream.next().await {
        let b = b?;
        let id = builtin::strings(&b, POSTS, "content_id")?;
        let creator = builtin::strings(&b, POSTS, "creator_id")?;
        let campaign = builtin::strings(&b, POSTS, "campaign_id")?;
        let platform = builtin::strings(&b, POSTS, "platform")?;
        let format = builtin::strings(&b, POSTS, "format")?;
        let published = micros(&b, POSTS, "published_at")?;
        let caption = builtin::strings(&b, POSTS, "caption")?;
        let transcript = builtin::strings(&b, POSTS, "transcript")?;
        let lang = builtin::strings(&b, POSTS, "language")?;
        let country = builtin::strings(&b, POSTS, "creator_country")?;
        let link_ids = string_lists(&b, POSTS, "link_ids")?;
        let promo = string_lists(&b, POSTS, "promo_codes")?;
        let audience = pairs(&b, POSTS, "audience_countries")?;
        let products = nullable_pairs(&b, POSTS, "detected_products")?;
        let campaign_skus = string_lists(&b, POSTS, "campaign_skus")?;
        for i in 0..b.num_rows() {
            let content_id = id.value(i);
            let creator_id = creator.value(i);
            let cap = opt_str(&caption, i).map(Text::new);
            let tra = opt_str(&transcript, i).map(Text::new);
            let texts: Vec<&Text> = cap.iter().chain(tra.iter()).collect();
            let (language, source) = detect.of(opt_str(&lang, i), &texts);
            let published_at = published[i].unwrap_or_default();
            let surfaces: Vec<(Where, &Text)> = cap
                .iter()
                .map(|t| (Where::Caption, t))
                .chain(tra.iter().map(|t| (Where::Transcript, t)))
                .collect();
            let post_links = links::PostLinks {
                content_id,
                creator_id,
                campaign_id: opt_str(&campaign, i),
                published_at,
                link_ids: &link_ids[i],
                promo_codes: &promo[i],
            };
            let mut found = links::check(&catalog, &post_links, &surfaces);
            let has_link = found
                .iter()
                .any(|f| matches!(f.rule, "link_owner" | "untracked_link"));
            let has_code = found
                .iter()
                .any(|f| matches!(f.rule, "code_owner" | "code_validity"));
            let has_product = products[i].iter().flatten().any(|(_, c)| *c >= confidence);
            let why = features(
                opt_str(&campaign, i).is_some(),
                has_link,
                has_code,
                has_product,
                &texts,
                &brand,
            );
            let applied = rules.applicable(opt_str(&country, i), language.as_deref(), &audience[i]);
            let mut post_flags: Vec<(Option<String>, Finding)> = Vec::new();
            let (class, label) = if why.is_empty() {
                ("not_required", None)
            } else {
                let surface = rules.surface(platform.value(i), format.value(i));
                let post = disclosure::Post {
                    caption: cap.as_ref(),
                    transcript: tra.as_ref(),
                    language: language.as_deref(),
                    surface,
                };
                let (by_j, class, label) = disclosure_findings(&rules, &post, &applied);
                post_flags.extend(by_j.into_iter().map(|(j, f)| (Some(j), f)));
                (class.as_str(), label)
            };
            post_flags.extend(found.drain(..).map(|f| (None, f)));
            let placed = match opt_str(&campaign, i) {
                Some(k) if !campaign_skus[i].is_empty() => Some(placement::check(
                    k,
                    &campaign_skus[i],
                    products[i].as_deref(),
                    placement_confidence,
                )),
                _ => None,
            };
            if let Some(f) = placed.as_ref().and_then(|p| p.finding.clone()) {
                post_flags.push((None, f));
            }
            let mut n_flags = 0;
            let mut n_open = 0;
            for (j, f) in post_flags {
                let subject = (!f.subject.is_empty()).then(|| f.subject.clone());
                let fid = flag_id(content_id, f.rule, j.as_deref(), &f.subject);
                let decision = decisions.get(&fid).cloned();
                if f.verdict != Verdict::Pass {
                    n_flags += 1;
                    if decision.is_none() {
                        n_open += 1;
                    }
                }
                flags.push(FlagRow {
                    flag_id: fid,
                    content_id: content_id.to_string(),
                    creator_id: creator_id.to_string(),
                    rule: f.rule,
                    jurisdiction: j,
                    subject,
                    finding: f,
                    decision,
                });
            }
            rows.push(PostRow {
                content_id: content_id.to_string(),
                creator_id: creator_id.to_string(),
                campaign_id: opt_str(&campaign, i).map(str::to_string),
                platform: platform.value(i).to_string(),
                format: format.value(i).to_string(),
                published_at,
                features: why,
                class,
                label: label.as_ref().map(|l| l.0.clone()),
                label_offset: label.as_ref().map(|l| l.1),
                label_surface: label.as_ref().map(|l| l.2),
                language,
                language_source: source.as_str(),
                jurisdictions: applied
                    .iter()
                    .map(|j| j.id.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                flags: n_flags,
                open_flags: n_open,
                placement: placed.as_ref().map(|p| p.shown.as_str()),
                placement_detected: placed
                    .as_ref()
                    .filter(|p| !p.detected.is_empty())
                    .map(|p| p.detected.join(", ")),
            });
        }
    }
    // Same order whatever the batches were.
    rows.sort_by(|a, b| a.content_id.cmp(&b.content_id));
    flags.sort_by(|a, b| {
        (
            &a.content_id,
            a.rule,
            &a.jurisdiction,
            &a.subject,
            &a.flag_id,
        )
            .cmp(&(
                &b.content_id,
                b.rule,
                &b.jurisdiction,
                &b.subject,
                &b.flag_id,
            ))
    });
    let mut dedup = BTreeSet::new();
    flags.retain(|f| dedup.insert(f.flag_id.clone()));
    tracing::info!(
        posts = rows.len(),
        flagged = flags
            .iter()
            .filter(|f| f.finding.verdict == Verdict::Flag)
            .count(),
        needs_review = flags
            .iter()
            .filter(|f| f.finding.verdict == Verdict::NeedsReview)
            .count(),
        "compliance checked"
    );
    let f = flags_batch(&flags)?;
    let p = posts_batch(&rows)?;
    Ok(vec![
        Table::new(f.schema(), vec![f]),
        Table::new(p.schema(), vec![p]),
    ])
}

/// A batch with each column's nullability as declared (the first run's
/// batch creates the Delta table).
fn declared(table: &str, cols: Vec<(&str, ArrayRef)>) -> Result<RecordBatch> {
    let decl = crate::tables::contract::table(table)
        .ok_or_else(|| Error::Internal(format!("{table} is not declared")))?;
    let nullable = |n: &str| decl.column(n).is_none_or(|c| c.nullable);
    Ok(RecordBatch::try_from_iter_with_nullable(
        cols.into_iter().map(|(n, a)| (n, a, nullable(n))),
    )?)
}

fn flags_batch(rows: &[FlagRow]) -> Result<RecordBatch> {
    let s = |f: &dyn Fn(&FlagRow) -> Option<String>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<StringArray>())
    };
    declared(
        "compliance_flags",
        vec![
            ("flag_id", s(&|r| Some(r.flag_id.clone()))),
            ("content_id", s(&|r| Some(r.content_id.clone()))),
            ("creator_id", s(&|r| Some(r.creator_id.clone()))),
            ("rule_id", s(&|r| Some(r.rule.to_string()))),
            ("jurisdiction", s(&|r| r.jurisdiction.clone())),
            ("subject", s(&|r| r.subject.clone())),
            (
                "verdict",
                s(&|r| Some(r.finding.verdict.as_str().to_string())),
            ),
            ("severity", s(&|r| r.finding.severity.map(str::to_string))),
            ("evidence", s(&|r| Some(r.finding.evidence.clone()))),
            ("matched_text", s(&|r| r.finding.quote.clone())),
            (
                "matched_offset",
                Arc::new(
                    rows.iter()
                        .map(|r| r.finding.offset.map(|o| o as i64))
                        .collect::<Int64Array>(),
                ),
            ),
            (
                "surface",
                s(&|r| r.finding.surface.map(|w| w.as_str().to_string())),
            ),
            ("decision", s(&|r| r.decision.as_ref().map(|d| d.0.clone()))),
            (
                "decided_by",
                s(&|r| r.decision.as_ref().map(|d| d.1.clone())),
            ),
        ],
    )
}

fn posts_batch(rows: &[PostRow]) -> Result<RecordBatch> {
    let s = |f: &dyn Fn(&PostRow) -> Option<String>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<StringArray>())
    };
    let i = |f: &dyn Fn(&PostRow) -> Option<i64>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<Int64Array>())
    };
    declared(
        "post_compliance",
        vec![
            ("content_id", s(&|r| Some(r.content_id.clone()))),
            ("creator_id", s(&|r| Some(r.creator_id.clone()))),
            ("campaign_id", s(&|r| r.campaign_id.clone())),
            ("platform", s(&|r| Some(r.platform.clone()))),
            ("format", s(&|r| Some(r.format.clone()))),
            (
                "published_at",
                Arc::new(
                    rows.iter()
                        .map(|r| Some(r.published_at))
                        .collect::<TimestampMicrosecondArray>()
                        .with_timezone("UTC"),
                ),
            ),
            (
                "features_brand",
                Arc::new(
                    rows.iter()
                        .map(|r| Some(!r.features.is_empty()))
                        .collect::<BooleanArray>(),
                ),
            ),
            (
                "brand_evidence",
                s(&|r| (!r.features.is_empty()).then(|| r.features.join(","))),
            ),
            ("disclosure_class", s(&|r| Some(r.class.to_string()))),
            ("label", s(&|r| r.label.clone())),
            ("label_offset", i(&|r| r.label_offset.map(|o| o as i64))),
            ("label_surface", s(&|r| r.label_surface.map(str::to_string))),
            ("language", s(&|r| r.language.clone())),
            (
                "language_source",
                s(&|r| Some(r.language_source.to_string())),
            ),
            ("jurisdictions", s(&|r| Some(r.jurisdictions.clone()))),
            ("flags", i(&|r| Some(r.flags))),
            ("open_flags", i(&|r| Some(r.open_flags))),
            ("placement", s(&|r| r.placement.map(str::to_string))),
            (
                "campaign_skus_detected",
                s(&|r| r.placement_detected.clone()),
            ),
        ],
    )
}
