//! Product placement (docs/placement.md): whether a campaign post shows one
//! of the campaign's products, from what an image-recognition service found
//! in it (`content.detected_products`). The recognition is an input; halo
//! only reads it, so a brand plugs in its own service. A post the service
//! did not analyse is not judged.

use super::links::{Finding, Verdict};
use crate::params::Param;

/// `placement_confidence`.
pub const CONFIDENCE: Param = Param::float(
    "placement_confidence",
    0.6,
    0.0,
    1.0,
    "a product in `detected_products` at this confidence or more is shown in the post (placement flags and `placement_performance`)",
);

/// `placement_window_days`.
pub const WINDOW_DAYS: Param = Param::int(
    "placement_window_days",
    3,
    1,
    "placement_performance: a post's exposure counts for the sales of the day it was published and this many days in all",
);

/// `placement_history_days`.
pub const HISTORY_DAYS: Param = Param::int(
    "placement_history_days",
    56,
    14,
    "placement_performance: days of each SKU's sales and exposure (the run date included) its baseline and lift per view are fitted on",
);

/// The parameters of product placement.
pub const PARAMS: &[Param] = &[CONFIDENCE, WINDOW_DAYS, HISTORY_DAYS];

/// The rule id of placement findings in `compliance_flags`.
pub const RULE: &str = "campaign_product";

/// What a campaign post shows of its campaign's products.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// A campaign product was detected at the threshold or above.
    Shown,
    /// Campaign products were detected, but only below the threshold.
    Unsure,
    /// None of them was detected.
    NotShown,
    /// The service did not analyse the post: not judged.
    NotAnalysed,
}

impl Shown {
    /// As written to `post_compliance.placement`.
    pub fn as_str(self) -> &'static str {
        match self {
            Shown::Shown => "shown",
            Shown::Unsure => "unsure",
            Shown::NotShown => "not_shown",
            Shown::NotAnalysed => "not_analysed",
        }
    }
}

/// One post's placement: what it shows, the campaign SKUs detected at the
/// threshold (as `SKU (confidence)`), and the finding (none when the post
/// was not analysed).
#[derive(Debug, Clone)]
pub struct Checked {
    /// What the post shows.
    pub shown: Shown,
    /// The campaign SKUs found at the threshold, as `SKU (confidence)`.
    pub detected: Vec<String>,
    /// The `campaign_product` finding; None when not analysed.
    pub finding: Option<Finding>,
}

fn listed(found: &[&(String, f64)]) -> String {
    found
        .iter()
        .map(|(s, c)| format!("{s} ({c:.2})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks one campaign post. `campaign_skus` is what the campaign lists (a
/// campaign that lists none is not checked: the caller passes no post);
/// `detected` is None when the post was not analysed.
pub fn check(
    campaign_id: &str,
    campaign_skus: &[String],
    detected: Option<&[(String, f64)]>,
    threshold: f64,
) -> Checked {
    let Some(detected) = detected else {
        return Checked {
            shown: Shown::NotAnalysed,
            detected: Vec::new(),
            finding: None,
        };
    };
    let mut ours: Vec<&(String, f64)> = detected
        .iter()
        .filter(|(s, _)| campaign_skus.iter().any(|k| k.eq_ignore_ascii_case(s)))
        .collect();
    // Highest confidence first, then by SKU: the same text on every run.
    ours.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ours.dedup_by(|a, b| a.0.eq_ignore_ascii_case(&b.0));
    let above: Vec<&(String, f64)> = ours.iter().copied().filter(|p| p.1 >= threshold).collect();
    let mut wanted: Vec<&str> = campaign_skus.iter().map(String::as_str).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let wanted = wanted.join(", ");
    let finding = |verdict, severity, evidence: String| Finding {
        rule: RULE,
        subject: campaign_id.to_string(),
        verdict,
        severity,
        evidence,
        quote: None,
        offset: None,
        surface: None,
    };
    if !above.is_empty() {
        return Checked {
            shown: Shown::Shown,
            detected: above.iter().map(|(s, c)| format!("{s} ({c:.2})")).collect(),
            finding: Some(finding(
                Verdict::Pass,
                None,
                format!("shows {} of campaign {campaign_id}", listed(&above)),
            )),
        };
    }
    let mut others: Vec<&(String, f64)> = detected.iter().filter(|p| !ours.contains(p)).collect();
    others.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let seen = if others.is_empty() {
        "no other product".to_string()
    } else {
        format!("other products: {}", listed(&others))
    };
    if !ours.is_empty() {
        return Checked {
            shown: Shown::Unsure,
            detected: Vec::new(),
            finding: Some(finding(
                Verdict::NeedsReview,
                Some("low"),
                format!(
                    "campaign {campaign_id}'s {} detected below confidence {threshold} only; {seen}",
                    listed(&ours)
                ),
            )),
        };
    }
    // Another product seen clearly is evidence the post shows something
    // else; nothing seen at all may as well be a product the service
    // missed, so a person looks before it counts against the creator.
    let verdict = if others.iter().any(|p| p.1 >= threshold) {
        Verdict::Flag
    } else {
        Verdict::NeedsReview
    };
    Checked {
        shown: Shown::NotShown,
        detected: Vec::new(),
        finding: Some(finding(
            verdict,
            Some("medium"),
            format!("none of campaign {campaign_id}'s products ({wanted}) detected; {seen}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skus(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn a_campaign_product_at_the_threshold_is_shown() {
        let d = vec![("SKU-2".to_string(), 0.6), ("SKU-9".to_string(), 0.95)];
        let c = check("cmp_1", &skus(&["SKU-1", "SKU-2"]), Some(&d), 0.6);
        assert_eq!(c.shown, Shown::Shown);
        assert_eq!(c.detected, vec!["SKU-2 (0.60)"]);
        assert_eq!(c.finding.unwrap().verdict, Verdict::Pass);
    }

    #[test]
    fn below_the_threshold_or_nothing_seen_needs_a_person_another_product_is_a_flag() {
        let d = vec![("sku-1".to_string(), 0.41), ("SKU-9".to_string(), 0.95)];
        let c = check("cmp_1", &skus(&["SKU-1"]), Some(&d), 0.6);
        assert_eq!(c.shown, Shown::Unsure);
        let f = c.finding.unwrap();
        assert_eq!(f.verdict, Verdict::NeedsReview);
        assert!(f.evidence.contains("sku-1 (0.41)"), "{}", f.evidence);
        assert!(f.evidence.contains("SKU-9 (0.95)"), "{}", f.evidence);

        let d = vec![("SKU-9".to_string(), 0.95)];
        let c = check("cmp_1", &skus(&["SKU-2", "SKU-1", "SKU-1"]), Some(&d), 0.6);
        assert_eq!(c.shown, Shown::NotShown);
        let f = c.finding.unwrap();
        assert_eq!(f.verdict, Verdict::Flag);
        assert_eq!(f.subject, "cmp_1");
        assert!(f.evidence.contains("(SKU-1, SKU-2)"), "{}", f.evidence);

        // Nothing seen clearly: the service may have missed it.
        for d in [vec![], vec![("SKU-9".to_string(), 0.59)]] {
            let c = check("cmp_1", &skus(&["SKU-1"]), Some(&d), 0.6);
            assert_eq!(c.shown, Shown::NotShown);
            let f = c.finding.unwrap();
            assert_eq!(f.verdict, Verdict::NeedsReview);
            assert_eq!(f.severity, Some("medium"));
        }
        let c = check("cmp_1", &skus(&["SKU-1"]), Some(&[]), 0.6);
        assert!(c.finding.unwrap().evidence.ends_with("no other product"));
    }

    #[test]
    fn an_unanalysed_post_is_not_judged() {
        let c = check("cmp_1", &skus(&["SKU-1"]), None, 0.6);
        assert_eq!(c.shown, Shown::NotAnalysed);
        assert!(c.finding.is_none());
    }
}
