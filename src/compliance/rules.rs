//! The disclosure rules a job reads from its data file (by default
//! `rules/compliance.toml`): labels by language, jurisdictions and the
//! labels each accepts, and where each platform and format must disclose.
//! Every field is checked when the file is read, so a typo stops the run
//! (exit 78) naming the field instead of passing every post.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::text::{Token, TokenKind, fold_label};
use crate::error::{Error, Result};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    trailing_hashtags: usize,
    audience_min_share: f64,
    default_jurisdictions: Vec<String>,
    labels: BTreeMap<String, RawLexicon>,
    jurisdictions: BTreeMap<String, RawJurisdiction>,
    #[serde(default)]
    languages: BTreeMap<String, Vec<String>>,
    surfaces: Vec<RawSurface>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLexicon {
    accepted: Vec<String>,
    #[serde(default)]
    ambiguous: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJurisdiction {
    name: String,
    countries: Vec<String>,
    languages: Vec<String>,
    post_language: bool,
    #[serde(default)]
    accept: Vec<String>,
    #[serde(default)]
    reject: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSurface {
    platform: String,
    format: String,
    caption_chars: Option<usize>,
    caption_lines: Option<usize>,
    spoken: String,
    spoken_window: Option<usize>,
}

/// Whether (and how) a surface's disclosure is read from the transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spoken {
    /// Only the caption counts.
    None,
    /// Early in the transcript or before the caption's fold.
    Accepted,
    /// Early in the transcript only; the caption alone is buried.
    Required,
}

/// Where a platform and format show a disclosure.
#[derive(Debug, Clone)]
pub struct Surface {
    /// Platform, or `*`.
    pub platform: String,
    /// Format, or `*`.
    pub format: String,
    /// Graphemes shown before "more" (none: all).
    pub caption_chars: Option<usize>,
    /// Lines shown before "more" (none: all).
    pub caption_lines: Option<usize>,
    /// The transcript's part.
    pub spoken: Spoken,
    /// Graphemes of the transcript that count as "near the start".
    pub spoken_window: usize,
}

/// A label: its folded tokens and whether it is a hashtag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// As written in the rules file.
    pub text: String,
    /// The folded words (one for a hashtag or a single word).
    pub words: Vec<String>,
    /// Written with `#`: matches that hashtag only.
    pub hashtag: bool,
    /// Its language (from the lexicon it is listed in).
    pub language: String,
    /// Listed as accepted in its language.
    pub accepted: bool,
}

/// A jurisdiction's rule.
#[derive(Debug, Clone)]
pub struct Jurisdiction {
    /// Its id (`US`, `UK`, ...).
    pub id: String,
    /// The rule it encodes, for the evidence.
    pub name: String,
    /// Countries (ISO 3166-1 alpha-2) it covers.
    pub countries: Vec<String>,
    /// Languages whose accepted labels count.
    pub languages: Vec<String>,
    /// Whether labels accepted in the post's own language count.
    pub post_language: bool,
    /// Folded labels accepted here beyond their language's list.
    pub accept: BTreeSet<String>,
    /// Folded labels not accepted here although their language accepts them.
    pub reject: BTreeSet<String>,
}

impl Jurisdiction {
    /// Whether a found label is enough here, for a post in `post_language`.
    pub fn accepts(&self, label: &Label, post_language: Option<&str>) -> bool {
        let key = key(label);
        if self.reject.contains(&key) {
            return false;
        }
        if self.accept.contains(&key) {
            return true;
        }
        label.accepted
            && (self.languages.contains(&label.language)
                || (self.post_language && post_language == Some(label.language.as_str())))
    }
}

/// The compiled rules.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Where they were read from (for messages).
    pub origin: String,
    /// A trailing block of this many hashtags buries a label.
    pub trailing_hashtags: usize,
    /// Audience share that brings a country's jurisdiction.
    pub audience_min_share: f64,
    /// Applied when nothing else applies.
    pub default_jurisdictions: Vec<String>,
    /// Every label of every language, longest first.
    pub labels: Vec<Label>,
    /// Jurisdictions by id.
    pub jurisdictions: BTreeMap<String, Jurisdiction>,
    /// Post language → jurisdictions.
    pub languages: BTreeMap<String, Vec<String>>,
    /// Surfaces, first match wins.
    pub surfaces: Vec<Surface>,
}

/// A label's identity for `accept`/`reject`: `#` and its folded words.
fn key(label: &Label) -> String {
    format!(
        "{}{}",
        if label.hashtag { "#" } else { "" },
        label.words.join(" ")
    )
}

fn compile_label(origin: &str, field: &str, text: &str) -> Result<(bool, Vec<String>)> {
    let tokens: Vec<Token> = fold_label(text);
    let bad = || {
        Error::Config(format!(
            "{origin}: {field}: label {text:?} must be one #hashtag or words (letters and digits)"
        ))
    };
    if tokens.is_empty() || tokens.iter().any(|t| t.kind == TokenKind::Mention) {
        return Err(bad());
    }
    let hashtag = tokens[0].kind == TokenKind::Hashtag;
    if hashtag && tokens.len() > 1 || tokens.iter().skip(1).any(|t| t.kind != TokenKind::Word) {
        return Err(bad());
    }
    Ok((hashtag, tokens.into_iter().map(|t| t.folded).collect()))
}

fn folded_key(origin: &str, field: &str, text: &str) -> Result<String> {
    let (hashtag, words) = compile_label(origin, field, text)?;
    Ok(format!(
        "{}{}",
        if hashtag { "#" } else { "" },
        words.join(" ")
    ))
}

fn language_code(origin: &str, field: &str, code: &str) -> Result<()> {
    if code.len() == 2 && code.chars().all(|c| c.is_ascii_lowercase()) {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "{origin}: {field}: language {code:?} is not an ISO 639-1 code (two lower-case letters)"
        )))
    }
}

impl Rules {
    /// Reads and checks a rules file's text.
    pub fn parse(text: &str, origin: &str) -> Result<Rules> {
        let raw: RawRules =
            toml::from_str(text).map_err(|e| Error::Config(format!("{origin}: {e}")))?;
        if raw.trailing_hashtags == 0 {
            return Err(Error::Config(format!(
                "{origin}: trailing_hashtags must be at least 1"
            )));
        }
        if !(0.0..=1.0).contains(&raw.audience_min_share) {
            return Err(Error::Config(format!(
                "{origin}: audience_min_share must lie in [0, 1], got {}",
                raw.audience_min_share
            )));
        }
        let mut labels = Vec::new();
        for (lang, lex) in &raw.labels {
            language_code(origin, &format!("labels.{lang}"), lang)?;
            for (list, accepted) in [(&lex.accepted, true), (&lex.ambiguous, false)] {
                let field = format!(
                    "labels.{lang}.{}",
                    if accepted { "accepted" } else { "ambiguous" }
                );
                for text in list {
                    let (hashtag, words) = compile_label(origin, &field, text)?;
                    labels.push(Label {
                        text: text.clone(),
                        words,
                        hashtag,
                        language: lang.clone(),
                        accepted,
                    });
                }
            }
        }
        // Longest first, so "paid partnership" wins over a shorter label at
        // the same place.
        labels.sort_by(|a, b| {
            b.words
                .len()
                .cmp(&a.words.len())
                .then(a.language.cmp(&b.language))
                .then(a.text.cmp(&b.text))
        });
        let listed: BTreeSet<String> = labels.iter().map(key).collect();
        let listed_key = |field: &str, text: &str| -> Result<String> {
            let k = folded_key(origin, field, text)?;
            if listed.contains(&k) {
                Ok(k)
            } else {
                Err(Error::Config(format!(
                    "{origin}: {field}: label {text:?} is in no [labels.<language>] list, so it can never be found"
                )))
            }
        };
        let mut jurisdictions = BTreeMap::new();
        for (id, j) in raw.jurisdictions {
            let field = format!("jurisdictions.{id}");
            for l in &j.languages {
                language_code(origin, &format!("{field}.languages"), l)?;
                if !raw.labels.contains_key(l) {
                    return Err(Error::Config(format!(
                        "{origin}: {field}.languages: no [labels.{l}] in the file"
                    )));
                }
            }
            for c in &j.countries {
                if c.len() != 2 || !c.chars().all(|x| x.is_ascii_uppercase()) {
                    return Err(Error::Config(format!(
                        "{origin}: {field}.countries: {c:?} is not an ISO 3166-1 alpha-2 code"
                    )));
                }
            }
            let accept = j
                .accept
                .iter()
                .map(|t| listed_key(&format!("{field}.accept"), t))
                .collect::<Result<_>>()?;
            let reject = j
                .reject
                .iter()
                .map(|t| listed_key(&format!("{field}.reject"), t))
                .collect::<Result<_>>()?;
            jurisdictions.insert(
                id.clone(),
                Jurisdiction {
                    id,
                    name: j.name,
                    countries: j.countries,
                    languages: j.languages,
                    post_language: j.post_language,
                    accept,
                    reject,
                },
            );
        }
        let known = |field: &str, ids: &[String]| -> Result<()> {
            match ids.iter().find(|i| !jurisdictions.contains_key(*i)) {
                Some(bad) => Err(Error::Config(format!(
                    "{origin}: {field}: no jurisdiction {bad:?} (known: {})",
                    jurisdictions.keys().cloned().collect::<Vec<_>>().join(", ")
                ))),
                None => Ok(()),
            }
        };
        known("default_jurisdictions", &raw.default_jurisdictions)?;
        for (lang, ids) in &raw.languages {
            language_code(origin, &format!("languages.{lang}"), lang)?;
            known(&format!("languages.{lang}"), ids)?;
        }
        let mut surfaces = Vec::new();
        for (i, s) in raw.surfaces.into_iter().enumerate() {
            let field = format!("surfaces[{i}]");
            let spoken = match s.spoken.as_str() {
                "none" => Spoken::None,
                "accepted" => Spoken::Accepted,
                "required" => Spoken::Required,
                other => {
                    return Err(Error::Config(format!(
                        "{origin}: {field}.spoken: {other:?} is not one of none, accepted, required"
                    )));
                }
            };
            if spoken != Spoken::None && s.spoken_window.is_none() {
                return Err(Error::Config(format!(
                    "{origin}: {field}.spoken_window: needed when spoken is {:?}",
                    s.spoken
                )));
            }
            surfaces.push(Surface {
                platform: s.platform,
                format: s.format,
                caption_chars: s.caption_chars,
                caption_lines: s.caption_lines,
                spoken,
                spoken_window: s.spoken_window.unwrap_or(0),
            });
        }
        if !surfaces
            .iter()
            .any(|s| s.platform == "*" && s.format == "*")
        {
            return Err(Error::Config(format!(
                "{origin}: surfaces: the last row must be platform = \"*\", format = \"*\" so every post has one"
            )));
        }
        Ok(Rules {
            origin: origin.to_string(),
            trailing_hashtags: raw.trailing_hashtags,
            audience_min_share: raw.audience_min_share,
            default_jurisdictions: raw.default_jurisdictions,
            labels,
            jurisdictions,
            languages: raw.languages,
            surfaces,
        })
    }

    /// The surface of a platform and format.
    pub fn surface(&self, platform: &str, format: &str) -> &Surface {
        self.surfaces
            .iter()
            .find(|s| {
                (s.platform == "*" || s.platform == platform)
                    && (s.format == "*" || s.format == format)
            })
            .expect("checked when read: a catch-all surface exists")
    }

    /// Languages the rules have labels for (the ones detection chooses
    /// among).
    pub fn label_languages(&self) -> BTreeSet<&str> {
        self.labels.iter().map(|l| l.language.as_str()).collect()
    }

    /// The jurisdictions a post answers to: its creator's country's, its
    /// language's, and those of audience countries holding at least
    /// `audience_min_share`; the defaults when none.
    pub fn applicable(
        &self,
        creator_country: Option<&str>,
        language: Option<&str>,
        audience: &[(String, f64)],
    ) -> Vec<&Jurisdiction> {
        let mut ids: BTreeSet<&str> = BTreeSet::new();
        let by_country = |c: &str| -> Vec<&str> {
            self.jurisdictions
                .values()
                .filter(|j| j.countries.iter().any(|x| x == c))
                .map(|j| j.id.as_str())
                .collect()
        };
        if let Some(c) = creator_country {
            ids.extend(by_country(c));
        }
        if let Some(l) = language
            && let Some(js) = self.languages.get(l)
        {
            ids.extend(js.iter().map(String::as_str));
        }
        for (c, share) in audience {
            if *share >= self.audience_min_share {
                ids.extend(by_country(c));
            }
        }
        if ids.is_empty() {
            ids.extend(self.default_jurisdictions.iter().map(String::as_str));
        }
        ids.into_iter().map(|i| &self.jurisdictions[i]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Rules {
        Rules::parse(
            include_str!("../../rules/compliance.toml"),
            "rules/compliance.toml",
        )
        .expect("the shipped rules parse")
    }

    #[test]
    fn the_shipped_rules_apply_by_country_language_and_audience() {
        let r = shipped();
        let ids = |c, l, a: &[(String, f64)]| {
            r.applicable(c, l, a)
                .iter()
                .map(|j| j.id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(Some("DE"), Some("de"), &[]), ["DE"]);
        assert_eq!(
            ids(Some("GB"), Some("en"), &[("US".into(), 0.25)]),
            ["UK", "US"]
        );
        assert_eq!(ids(Some("US"), Some("it"), &[]), ["IT", "US"]);
        assert_eq!(ids(Some("JP"), None, &[("US".into(), 0.05)]), ["US"]);
        let uk = &r.jurisdictions["UK"];
        let us = &r.jurisdictions["US"];
        let de = &r.jurisdictions["DE"];
        let label = |t: &str| r.labels.iter().find(|l| l.text == t).unwrap().clone();
        assert!(us.accepts(&label("#sponsored"), Some("en")));
        assert!(!uk.accepts(&label("#sponsored"), Some("en")));
        assert!(us.accepts(&label("werbung"), Some("de")));
        assert!(!de.accepts(&label("#ad"), Some("en")));
        assert!(r.jurisdictions["NL"].accepts(&label("#ad"), Some("nl")));
    }

    #[test]
    fn a_bad_file_names_the_field() {
        let text = include_str!("../../rules/compliance.toml")
            .replace("spoken = \"required\"", "spoken = \"always\"");
        let e = Rules::parse(&text, "r.toml").unwrap_err().to_string();
        assert!(e.contains("surfaces[") && e.contains("always"), "{e}");
        let text = include_str!("../../rules/compliance.toml").replace(
            "default_jurisdictions = [\"US\"]",
            "default_jurisdictions = [\"USA\"]",
        );
        let e = Rules::parse(&text, "r.toml").unwrap_err().to_string();
        assert!(
            e.contains("default_jurisdictions") && e.contains("USA"),
            "{e}"
        );
    }
}
