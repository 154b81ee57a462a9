//! Links and codes in a post: each tracked link must be the creator's own
//! and made for the post's campaign; a link to the brand's site without
//! tracking loses the sale's attribution; another creator's code, or a code
//! promoted outside its validity, is flagged. Links are read from the post's
//! `link_ids`, from `links.content_id`, and from URLs in its text (full or
//! shortened), so a link pasted into a caption is checked too.

use std::collections::{BTreeMap, BTreeSet};

use url::Url;

use super::disclosure::Where;
use super::text::{Text, TokenKind};

/// How sure a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// The rule holds.
    Pass,
    /// A person should decide: halo could not tell.
    NeedsReview,
    /// The rule looks broken.
    Flag,
}

impl Verdict {
    /// The word the tables use.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::NeedsReview => "needs_review",
            Verdict::Flag => "flag",
        }
    }
}

/// One rule's outcome on one subject (a link, a URL, a code) of a post.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The rule.
    pub rule: &'static str,
    /// What it is about.
    pub subject: String,
    /// Pass, flag or needs review.
    pub verdict: Verdict,
    /// `high`, `medium`, `low` (none for a pass).
    pub severity: Option<&'static str>,
    /// What was found, in words.
    pub evidence: String,
    /// The text as published, when it came from the text.
    pub quote: Option<String>,
    /// Its grapheme offset.
    pub offset: Option<usize>,
    /// Caption or transcript.
    pub surface: Option<Where>,
}

/// A tracked link.
#[derive(Debug, Clone)]
pub struct Link {
    /// Owner.
    pub creator_id: String,
    /// Campaign it was made for.
    pub campaign_id: Option<String>,
    /// Post it was made for.
    pub content_id: Option<String>,
}

/// A promo code.
#[derive(Debug, Clone)]
pub struct Code {
    /// Owner.
    pub creator_id: String,
    /// First valid instant (µs).
    pub valid_from: Option<i64>,
    /// Last valid instant (µs).
    pub valid_to: Option<i64>,
}

/// What the checks compare against: the program's links and codes.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Links by id.
    pub links: BTreeMap<String, Link>,
    /// Normalised destination and short URLs → link id.
    pub by_url: BTreeMap<String, String>,
    /// Hosts of the brand's site (from the links' destinations and the
    /// job's `compliance_brand_domains`).
    pub brand_hosts: BTreeSet<String>,
    /// Hosts of the short links.
    pub short_hosts: BTreeSet<String>,
    /// Links made for each post.
    pub by_content: BTreeMap<String, Vec<String>>,
    /// Codes, trimmed and upper-cased.
    pub codes: BTreeMap<String, Code>,
    /// Query parameters that carry tracking.
    pub tracking_params: BTreeSet<String>,
}

/// A URL reduced to what identifies it: host without `www.`, path without a
/// trailing slash, the query's pairs sorted, no scheme or fragment.
pub fn normalise_url(raw: &str) -> Option<(String, Url)> {
    let with_scheme = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("https://{raw}")
    };
    let u = Url::parse(&with_scheme).ok()?;
    let host = u.host_str()?.to_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_string();
    if !host.contains('.') {
        return None;
    }
    let mut pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| (k.to_lowercase(), v.to_string()))
        .collect();
    pairs.sort();
    let query = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let path = u.path().trim_end_matches('/');
    Some((format!("{host}{path}?{query}"), u))
}

fn host_of(u: &Url) -> String {
    let h = u.host_str().unwrap_or_default().to_lowercase();
    h.strip_prefix("www.").unwrap_or(&h).to_string()
}

fn under(host: &str, hosts: &BTreeSet<String>) -> bool {
    hosts
        .iter()
        .any(|h| host == h || host.ends_with(&format!(".{h}")))
}

impl Catalog {
    /// Adds a link with its destination and short URL.
    pub fn add_link(&mut self, id: &str, link: Link, destination: &str, short: Option<&str>) {
        if let Some((key, u)) = normalise_url(destination) {
            self.brand_hosts.insert(host_of(&u));
            self.by_url.insert(key, id.to_string());
        }
        if let Some((key, u)) = short.and_then(normalise_url) {
            let h = host_of(&u);
            if !self.brand_hosts.contains(&h) {
                self.short_hosts.insert(h);
            }
            self.by_url.insert(key, id.to_string());
        }
        if let Some(c) = &link.content_id {
            self.by_content
                .entry(c.clone())
                .or_default()
                .push(id.to_string());
        }
        self.links.insert(id.to_string(), link);
    }
}

/// The post a check reads.
#[derive(Debug)]
pub struct PostLinks<'a> {
    /// Its id.
    pub content_id: &'a str,
    /// Its author.
    pub creator_id: &'a str,
    /// Its campaign.
    pub campaign_id: Option<&'a str>,
    /// Publication (µs).
    pub published_at: i64,
    /// `content.link_ids`.
    pub link_ids: &'a [String],
    /// `content.promo_codes`.
    pub promo_codes: &'a [String],
}

/// A URL in a text: (quote, grapheme offset).
fn urls(text: &Text) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    let g = &text.graphemes;
    while i < g.len() {
        if g[i].chars().all(char::is_whitespace) {
            i += 1;
            continue;
        }
        let start = i;
        while i < g.len() && !g[i].chars().all(char::is_whitespace) {
            i += 1;
        }
        let mut chunk = g[start..i].concat();
        while chunk.ends_with(['.', ',', '!', '?', ')', ']', '}', '"', '\'', ':', ';']) {
            chunk.pop();
        }
        let chunk = chunk.trim_start_matches(['(', '[', '"', '\'']).to_string();
        let looks = chunk.starts_with("http://")
            || chunk.starts_with("https://")
            || chunk.starts_with("www.")
            || (chunk.contains('.') && chunk.contains('/') && !chunk.starts_with('#'));
        if looks {
            let lead = g[start..i].concat().len()
                - g[start..i]
                    .concat()
                    .trim_start_matches(['(', '[', '"', '\''])
                    .len();
            out.push((chunk, start + lead));
        }
    }
    out
}

fn link_findings(
    c: &Catalog,
    post: &PostLinks<'_>,
    id: &str,
    at: Option<(&str, usize, Where)>,
    out: &mut Vec<Finding>,
) {
    let (quote, offset, surface) = match at {
        Some((q, o, w)) => (Some(q.to_string()), Some(o), Some(w)),
        None => (None, None, None),
    };
    let finding = |rule, verdict, severity, evidence: String| Finding {
        rule,
        subject: id.to_string(),
        verdict,
        severity,
        evidence,
        quote: quote.clone(),
        offset,
        surface,
    };
    let Some(link) = c.links.get(id) else {
        out.push(finding(
            "link_owner",
            Verdict::NeedsReview,
            Some("medium"),
            format!("link {id} is not in links: whose it is cannot be checked"),
        ));
        return;
    };
    if link.creator_id != post.creator_id {
        out.push(finding(
            "link_owner",
            Verdict::Flag,
            Some("high"),
            format!(
                "link {id} belongs to creator {}, not to the post's creator {}",
                link.creator_id, post.creator_id
            ),
        ));
        // Whose campaign another creator's link was made for is moot.
        return;
    }
    out.push(finding(
        "link_owner",
        Verdict::Pass,
        None,
        format!("link {id} is the creator's own"),
    ));
    if let (Some(want), Some(made)) = (post.campaign_id, link.campaign_id.as_deref()) {
        if want == made {
            out.push(finding(
                "link_campaign",
                Verdict::Pass,
                None,
                format!("link {id} was made for the post's campaign {want}"),
            ));
        } else {
            out.push(finding(
                "link_campaign",
                Verdict::Flag,
                Some("medium"),
                format!("link {id} was made for campaign {made}; the post is in campaign {want}"),
            ));
        }
    }
}

/// The link and code findings of a post.
pub fn check(c: &Catalog, post: &PostLinks<'_>, texts: &[(Where, &Text)]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for id in post
        .link_ids
        .iter()
        .chain(c.by_content.get(post.content_id).into_iter().flatten())
    {
        if seen.insert(id.clone()) {
            link_findings(c, post, id, None, &mut out);
        }
    }
    for (surface, text) in texts {
        for (quote, offset) in urls(text) {
            let Some((key, u)) = normalise_url(&quote) else {
                continue;
            };
            let host = host_of(&u);
            if let Some(id) = c.by_url.get(&key) {
                if seen.insert(id.clone()) {
                    link_findings(c, post, id, Some((&quote, offset, *surface)), &mut out);
                }
                continue;
            }
            let finding = |rule, verdict, severity, evidence: String| Finding {
                rule,
                subject: key.clone(),
                verdict,
                severity,
                evidence,
                quote: Some(quote.clone()),
                offset: Some(offset),
                surface: Some(*surface),
            };
            if under(&host, &c.short_hosts) {
                out.push(finding(
                    "link_owner",
                    Verdict::NeedsReview,
                    Some("medium"),
                    format!("short link {quote} is not in links: whose it is cannot be checked"),
                ));
            } else if under(&host, &c.brand_hosts) {
                let tracked = u
                    .query_pairs()
                    .any(|(k, _)| c.tracking_params.contains(&k.to_lowercase()));
                if tracked {
                    out.push(finding(
                        "link_owner",
                        Verdict::NeedsReview,
                        Some("medium"),
                        format!("{quote} carries tracking but is not a link in links"),
                    ));
                } else {
                    out.push(finding(
                        "untracked_link",
                        Verdict::Flag,
                        Some("low"),
                        format!(
                            "{quote} leads to the brand's site without tracking: its visits and sales cannot be credited to the creator"
                        ),
                    ));
                }
            }
        }
    }
    // Codes: listed on the post, or written in its text.
    let mut codes: BTreeMap<String, Option<(String, usize, Where)>> = post
        .promo_codes
        .iter()
        .map(|k| (k.trim().to_uppercase(), None))
        .filter(|(k, _)| !k.is_empty())
        .collect();
    for (surface, text) in texts {
        for t in &text.tokens {
            if t.kind != TokenKind::Word || !c.codes.contains_key(&t.plain) {
                continue;
            }
            let quote = text.quote(t.start, t.end);
            let written_as_code = t.plain.chars().any(|x| x.is_ascii_digit())
                || quote.chars().all(|x| !x.is_lowercase());
            if !written_as_code {
                continue;
            }
            let e = codes.entry(t.plain.clone()).or_insert(None);
            if e.is_none() {
                *e = Some((quote, t.start, *surface));
            }
        }
    }
    for (code, at) in codes {
        let (quote, offset, surface) = match at {
            Some((q, o, w)) => (Some(q), Some(o), Some(w)),
            None => (None, None, None),
        };
        let finding = |rule, verdict, severity, evidence: String| Finding {
            rule,
            subject: code.clone(),
            verdict,
            severity,
            evidence,
            quote: quote.clone(),
            offset,
            surface,
        };
        let Some(k) = c.codes.get(&code) else {
            out.push(finding(
                "code_owner",
                Verdict::NeedsReview,
                Some("medium"),
                format!("code {code} is listed on the post but is not in codes"),
            ));
            continue;
        };
        if k.creator_id != post.creator_id {
            out.push(finding(
                "code_owner",
                Verdict::Flag,
                Some("high"),
                format!(
                    "code {code} belongs to creator {}, not to the post's creator {}",
                    k.creator_id, post.creator_id
                ),
            ));
        } else {
            out.push(finding(
                "code_owner",
                Verdict::Pass,
                None,
                format!("code {code} is the creator's own"),
            ));
        }
        let before = k.valid_from.is_some_and(|f| post.published_at < f);
        let after = k.valid_to.is_some_and(|t| post.published_at > t);
        let when = |us: i64| {
            chrono::DateTime::from_timestamp_micros(us)
                .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default()
        };
        if before || after {
            out.push(finding(
                "code_validity",
                Verdict::Flag,
                Some("medium"),
                if after {
                    format!(
                        "code {code} was promoted after it expired ({})",
                        when(k.valid_to.unwrap_or_default())
                    )
                } else {
                    format!(
                        "code {code} was promoted before it became valid ({})",
                        when(k.valid_from.unwrap_or_default())
                    )
                },
            ));
        } else {
            out.push(finding(
                "code_validity",
                Verdict::Pass,
                None,
                format!("code {code} was valid when the post was published"),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        let mut c = Catalog {
            tracking_params: ["ref", "utm_source"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ..Catalog::default()
        };
        let link = |cr: &str, cmp: Option<&str>, ct: Option<&str>| Link {
            creator_id: cr.into(),
            campaign_id: cmp.map(str::to_string),
            content_id: ct.map(str::to_string),
        };
        c.add_link(
            "lk_1",
            link("cr_1", Some("cmp_1"), Some("ct_1")),
            "https://lumora.com/products/serum?ref=cr_1",
            Some("https://lmra.link/a1"),
        );
        c.add_link(
            "lk_2",
            link("cr_2", Some("cmp_1"), None),
            "https://lumora.com/?ref=cr_2",
            Some("https://lmra.link/b2"),
        );
        c.codes.insert(
            "MAYA15".into(),
            Code {
                creator_id: "cr_1".into(),
                valid_from: Some(0),
                valid_to: None,
            },
        );
        c.codes.insert(
            "JO20".into(),
            Code {
                creator_id: "cr_2".into(),
                valid_from: Some(0),
                valid_to: None,
            },
        );
        c.codes.insert(
            "MAYA10".into(),
            Code {
                creator_id: "cr_1".into(),
                valid_from: Some(0),
                valid_to: Some(10),
            },
        );
        c
    }

    fn rules_hit(
        caption: &str,
        link_ids: &[String],
        codes: &[String],
    ) -> Vec<(String, &'static str, Verdict)> {
        let c = catalog();
        let t = Text::new(caption);
        let post = PostLinks {
            content_id: "ct_1",
            creator_id: "cr_1",
            campaign_id: Some("cmp_1"),
            published_at: 100,
            link_ids,
            promo_codes: codes,
        };
        check(&c, &post, &[(Where::Caption, &t)])
            .into_iter()
            .filter(|f| f.verdict != Verdict::Pass)
            .map(|f| (f.subject, f.rule, f.verdict))
            .collect()
    }

    #[test]
    fn links_and_codes_by_hand() {
        assert!(rules_hit("Shop https://lmra.link/a1 with MAYA15", &[], &[]).is_empty());
        assert_eq!(
            rules_hit("Shop lmra.link/b2 now", &[], &[]),
            vec![("lk_2".to_string(), "link_owner", Verdict::Flag)]
        );
        assert_eq!(
            rules_hit("Shop https://www.lumora.com/products/serum/ now", &[], &[]),
            vec![(
                "lumora.com/products/serum?".to_string(),
                "untracked_link",
                Verdict::Flag
            )]
        );
        assert_eq!(
            rules_hit("Use JO20 or maya15 (its own code, in any case)", &[], &[]),
            vec![("JO20".to_string(), "code_owner", Verdict::Flag)]
        );
        assert_eq!(
            rules_hit("Still MAYA10!", &[], &[]),
            vec![("MAYA10".to_string(), "code_validity", Verdict::Flag)]
        );
        assert_eq!(
            rules_hit("hi", &["lk_9".to_string()], &[]),
            vec![("lk_9".to_string(), "link_owner", Verdict::NeedsReview)]
        );
    }
}
