//! Message templates: files users edit (`templates/outbox/<locale>.toml`,
//! one set per locale, each kind with a subject, a plain-text body and an
//! HTML body), rendered with minijinja.
//!
//! The environment is strict: a template that names a value halo does not
//! give stops the run (exit 78) instead of printing an empty hole; HTML
//! bodies are escaped; fuel bounds a runaway loop. A template may not write
//! a number of its own (a digit in its text or a numeric literal in an
//! expression, markup aside): every number in a message comes from halo's
//! data, formatted by the filters below for the message's locale.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Deserialize;

use super::locale::{self, Locale};
use crate::error::{Error, Result};

/// The three parts of one kind's message.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Parts {
    subject: String,
    text: String,
    html: String,
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// One line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

/// One environment per locale, each holding every kind's three templates.
pub struct Templates {
    envs: BTreeMap<Locale, Environment<'static>>,
    kinds: BTreeMap<Locale, Vec<String>>,
    labels: BTreeMap<Locale, String>,
}

/// The file name of `locale`'s template set (`en.toml`); the bundled sets
/// live in `templates/outbox/`.
pub fn file_name(locale: Locale) -> String {
    format!("{}.toml", locale.code())
}

impl Templates {
    /// Builds the environments from the template files' texts, keyed by
    /// how messages name them; a file is the set of the locale its name
    /// says ([`file_name`]). Every locale halo ships must be given, with
    /// every kind in `kinds`.
    pub fn load(files: &BTreeMap<String, String>, kinds: &[&str], tz: Tz) -> Result<Templates> {
        let mut envs = BTreeMap::new();
        let mut known = BTreeMap::new();
        let mut labels = BTreeMap::new();
        for loc in locale::ALL {
            let want = file_name(loc);
            let (file, text) = files
                .iter()
                .find(|(label, _)| {
                    label.rsplit(['/', '\\', ':']).next() == Some(want.as_str())
                })
                .ok_or_else(|| {
                    Error::Config(format!(
                        "the outbox step must name a template set {want} in its data files (one per locale: en, de, fr, es)"
                    ))
                })?;
            let sets: BTreeMap<String, Parts> = toml::from_str(text)
                .map_err(|e| Error::Config(format!("{file}: {}", e.message())))?;
            for k in kinds {
                if !sets.contains_key(*k) {
                    return Err(Error::Config(format!(
                        "{file}: no [{k}] templates (every kind needs a subject, text and html)"
                    )));
                }
            }
            let mut env = Environment::new();
            env.set_undefined_behavior(UndefinedBehavior::Strict);
            env.set_fuel(Some(200_000));
            filters(&mut env, loc, tz);
            for (kind, p) in &sets {
                for (part, src) in [("subject", &p.subject), ("txt", &p.text), ("html", &p.html)] {
                    if let Some(bad) = invented_number(src, part == "html") {
                        return Err(Error::Config(format!(
                            "{file}: [{kind}] {part}: '{bad}' writes a number of its own; every number must come from halo's data (a value given to the template)"
                        )));
                    }
                    env.add_template_owned(format!("{kind}.{part}"), src.clone())
                        .map_err(|e| Error::Config(format!("{file}: [{kind}] {part}: {e}")))?;
                }
            }
            known.insert(loc, sets.keys().cloned().collect());
            envs.insert(loc, env);
            labels.insert(loc, file.clone());
        }
        Ok(Templates {
            envs,
            kinds: known,
            labels,
        })
    }

    /// Renders `kind` in `locale` with `context`.
    pub fn render(
        &self,
        locale: Locale,
        kind: &str,
        context: &serde_json::Value,
    ) -> Result<Rendered> {
        let env = &self.envs[&locale];
        let file = &self.labels[&locale];
        if !self.kinds[&locale].iter().any(|k| k == kind) {
            return Err(Error::Config(format!("{file}: no [{kind}] templates")));
        }
        let ctx = Value::from(minijinja::value::Serde(context));
        let one = |part: &str| -> Result<String> {
            env.get_template(&format!("{kind}.{part}"))
                .and_then(|t| t.render(ctx.clone()))
                .map_err(|e| {
                    Error::Config(format!(
                        "{file}: [{kind}] {part}: {e}{}",
                        e.detail().map(|d| format!(" ({d})")).unwrap_or_default()
                    ))
                })
        };
        let subject = one("subject")?;
        if subject.contains('\n') {
            return Err(Error::Config(format!(
                "{file}: [{kind}] subject renders to more than one line"
            )));
        }
        Ok(Rendered {
            subject: subject.trim().to_string(),
            text: one("txt")?,
            html: one("html")?,
        })
    }
}

/// The first number a template writes itself, if any: a digit in its text
/// (outside markup and character references, for HTML) or a numeric
/// literal in an expression or statement.
fn invented_number(src: &str, html: bool) -> Option<String> {
    let mut rest = src;
    let mut text = String::new();
    while let Some(open) = rest.find('{') {
        let (before, after) = rest.split_at(open);
        text.push_str(before);
        let close = match after.as_bytes().get(1) {
            Some(b'{') => "}}",
            Some(b'%') => "%}",
            Some(b'#') => "#}",
            _ => {
                text.push('{');
                rest = &after[1..];
                continue;
            }
        };
        let Some(end) = after.find(close) else {
            // Unterminated: the template compiler reports it.
            return None;
        };
        let inner = &after[2..end];
        if close != "#}" {
            let mut prev = ' ';
            for (i, ch) in inner.char_indices() {
                if ch.is_ascii_digit() && !(prev.is_alphanumeric() || prev == '_') {
                    return Some(inner[i..].chars().take(12).collect());
                }
                prev = ch;
            }
        }
        rest = &after[end + 2..];
    }
    text.push_str(rest);
    let mut plain = String::new();
    if html {
        let mut in_tag = false;
        let mut in_ref = false;
        for ch in text.chars() {
            match ch {
                '<' => in_tag = true,
                '>' if in_tag => in_tag = false,
                '&' if !in_tag => in_ref = true,
                ';' if in_ref => in_ref = false,
                c if !in_tag && !in_ref => plain.push(c),
                _ => {}
            }
        }
    } else {
        plain = text;
    }
    plain
        .find(|c: char| c.is_ascii_digit())
        .map(|i| plain[i..].chars().take(12).collect())
}

/// The locale's formatting filters: `money(currency)`, `number`,
/// `percent`, `date` and `datetime` (in the job's zone), and `platform`
/// (a platform as it spells itself: `TikTok`, `YouTube`). Each takes halo's
/// value as given (decimals as text, instants as RFC 3339) and fails on
/// anything else, so a wrong column is found, not printed.
fn filters(env: &mut Environment<'static>, loc: Locale, tz: Tz) {
    fn bad(what: &str, v: &Value) -> minijinja::Error {
        minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("{what} needs {v:?} to be halo's value"),
        )
    }
    fn text_of(v: &Value) -> String {
        match v.as_str() {
            Some(s) => s.to_string(),
            None => v.to_string(),
        }
    }
    env.add_filter(
        "money",
        move |v: Value, currency: String| -> std::result::Result<String, minijinja::Error> {
            loc.money(&text_of(&v), &currency)
                .ok_or_else(|| bad("money", &v))
        },
    );
    env.add_filter(
        "number",
        move |v: Value| -> std::result::Result<String, minijinja::Error> {
            loc.number(&text_of(&v), None)
                .ok_or_else(|| bad("number", &v))
        },
    );
    env.add_filter(
        "percent",
        move |v: Value| -> std::result::Result<String, minijinja::Error> {
            text_of(&v)
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(|x| loc.percent(x))
                .ok_or_else(|| bad("percent", &v))
        },
    );
    env.add_filter(
        "date",
        move |v: Value| -> std::result::Result<String, minijinja::Error> {
            let s = text_of(&v);
            instant(&s)
                .map(|t| t.with_timezone(&tz).date_naive())
                .or_else(|| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok())
                .map(|d| loc.date(d))
                .ok_or_else(|| bad("date", &v))
        },
    );
    env.add_filter("platform", |v: Value| -> String {
        let p = text_of(&v);
        match p.as_str() {
            "instagram" => "Instagram".into(),
            "tiktok" => "TikTok".into(),
            "youtube" => "YouTube".into(),
            "x" => "X".into(),
            "facebook" => "Facebook".into(),
            "pinterest" => "Pinterest".into(),
            "twitch" => "Twitch".into(),
            "snapchat" => "Snapchat".into(),
            // blog, podcast, newsletter, other: common nouns.
            _ => p,
        }
    });
    env.add_filter(
        "datetime",
        move |v: Value| -> std::result::Result<String, minijinja::Error> {
            instant(&text_of(&v))
                .map(|t| loc.datetime(t, tz))
                .ok_or_else(|| bad("datetime", &v))
        },
    );
}

/// An instant as Arrow's JSON writes a UTC timestamp (`2026-10-05T17:00:00`
/// with or without an offset).
pub fn instant(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(s.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(parts: &str) -> BTreeMap<String, String> {
        locale::ALL
            .iter()
            .map(|l| {
                (
                    format!("bundled:templates/outbox/{}", file_name(*l)),
                    parts.to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn html_is_escaped_text_is_not_and_an_undefined_name_stops_the_run() {
        let t = Templates::load(
            &set("[k]\nsubject = \"For {{ name }}\"\ntext = \"{{ name }}: {{ amount | money('EUR') }}\"\nhtml = \"<p>{{ name }}</p>\"\n"),
            &["k"],
            chrono_tz::Europe::Berlin,
        )
        .unwrap();
        let ctx = serde_json::json!({"name": "<b>Ana & Bo</b>", "amount": "1234.5"});
        let r = t.render(Locale::De, "k", &ctx).unwrap();
        assert_eq!(r.subject, "For <b>Ana & Bo</b>");
        assert_eq!(r.text, "<b>Ana & Bo</b>: 1.234,50\u{a0}€");
        assert_eq!(r.html, "<p>&lt;b&gt;Ana &amp; Bo&lt;&#x2f;b&gt;</p>");
        let e = t
            .render(Locale::En, "k", &serde_json::json!({"amount": "1"}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("undefined") && e.contains("[k] subject"), "{e}");
    }

    #[test]
    fn a_set_missing_a_kind_or_writing_a_number_is_refused_at_load() {
        let e = Templates::load(
            &set("[k]\nsubject = \"s\"\ntext = \"t\"\nhtml = \"h\"\n"),
            &["k", "other"],
            chrono_tz::UTC,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("no [other] templates"), "{e}");
        let e = Templates::load(
            &set("[k]\nsubject = \"s\"\ntext = \"Only 3 days left\"\nhtml = \"h\"\n"),
            &["k"],
            chrono_tz::UTC,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("'3 days left'") && e.contains("[k] txt"), "{e}");
    }

    #[test]
    fn a_template_cannot_write_a_number_of_its_own() {
        assert_eq!(invented_number("Due {{ due_at | date }}", false), None);
        assert_eq!(
            invented_number("You have 3 days", false).as_deref(),
            Some("3 days")
        );
        assert_eq!(invented_number("{{ x + 2 }}", false).as_deref(), Some("2 "));
        assert_eq!(
            invented_number(
                "<td width=\"600\" style=\"color:#1a73e8\">&#8212;{{ v2 }}</td>",
                true
            ),
            None
        );
        assert_eq!(
            invented_number("<p>Top 10</p>", true).as_deref(),
            Some("10")
        );
        assert_eq!(invented_number("{# 2026 draft #}ok", false), None);
    }
}
