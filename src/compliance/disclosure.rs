//! The disclosure class of a post: which labels it carries, where, and what
//! each applicable jurisdiction makes of them (docs/compliance.md).
//!
//! Under one jurisdiction a post is `clear` when a label it accepts sits
//! where it must (before the caption's fold and outside a trailing block of
//! hashtags, or early in the transcript where the format speaks), `buried`
//! when an accepted label is only elsewhere, `ambiguous` when the post
//! carries only labels this jurisdiction does not accept, `missing` when it
//! carries none. The post's class is the worst over its jurisdictions: the
//! strictest rule that applies decides.

use super::rules::{Jurisdiction, Label, Rules, Spoken, Surface};
use super::text::{Text, TokenKind};

/// A disclosure class, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// An accepted label, up front.
    Clear,
    /// An accepted label, but only behind "more", in the trailing hashtags,
    /// or (where the format must speak it) only in the caption or late.
    Buried,
    /// Only labels that are not enough.
    Ambiguous,
    /// No label.
    Missing,
}

impl Class {
    /// The word the tables use.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Clear => "clear",
            Class::Buried => "buried",
            Class::Ambiguous => "ambiguous",
            Class::Missing => "missing",
        }
    }
}

/// Which text a label was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Where {
    /// The caption (or description).
    Caption,
    /// The spoken transcript.
    Transcript,
}

impl Where {
    /// The word the tables use.
    pub fn as_str(self) -> &'static str {
        match self {
            Where::Caption => "caption",
            Where::Transcript => "transcript",
        }
    }
}

/// A label found in a post.
#[derive(Debug, Clone)]
pub struct Found<'r> {
    /// The rule file's label.
    pub label: &'r Label,
    /// Where.
    pub surface: Where,
    /// The text as published.
    pub quote: String,
    /// Grapheme offset in its text.
    pub offset: usize,
    /// Whether it sits where the format must disclose.
    pub placed: bool,
    /// Why not, when it does not.
    pub misplaced: Option<&'static str>,
}

/// The post's texts as the check reads them.
#[derive(Debug)]
pub struct Post<'a> {
    /// Caption, when there is one.
    pub caption: Option<&'a Text>,
    /// Transcript, when there is one.
    pub transcript: Option<&'a Text>,
    /// Language, when known or detected.
    pub language: Option<&'a str>,
    /// Where this platform and format disclose.
    pub surface: &'a Surface,
}

/// Every label in a text, longest first where two overlap.
fn find_in<'r>(
    rules: &'r Rules,
    text: &Text,
    language: Option<&str>,
    surface: Where,
) -> Vec<(&'r Label, usize, usize)> {
    let mut taken = vec![false; text.tokens.len()];
    let mut out = Vec::new();
    for label in &rules.labels {
        let words_ok = language.is_none_or(|l| l == label.language);
        let n = label.words.len();
        if n > text.tokens.len() {
            continue;
        }
        for i in 0..=text.tokens.len() - n {
            if taken[i..i + n].iter().any(|t| *t) {
                continue;
            }
            let first = &text.tokens[i];
            let hit = if label.hashtag {
                first.kind == TokenKind::Hashtag && first.folded == label.words[0]
            } else if n == 1 {
                (first.kind == TokenKind::Hashtag && first.folded == label.words[0])
                    || (words_ok && first.kind == TokenKind::Word && first.folded == label.words[0])
            } else {
                words_ok
                    && (0..n).all(|k| {
                        let t = &text.tokens[i + k];
                        t.kind == TokenKind::Word
                            && t.folded == label.words[k]
                            && (k == 0 || t.joined)
                    })
            };
            if hit {
                taken[i..i + n].iter_mut().for_each(|t| *t = true);
                out.push((label, text.tokens[i].start, text.tokens[i + n - 1].end));
            }
        }
    }
    let _ = surface;
    out.sort_by_key(|(_, s, _)| *s);
    out
}

/// Every label in the post, with whether it is placed where it counts.
pub fn find<'r>(rules: &'r Rules, post: &Post<'_>) -> Vec<Found<'r>> {
    let mut out = Vec::new();
    let s = post.surface;
    if let Some(c) = post.caption {
        let fold = c.fold_point(s.caption_chars, s.caption_lines);
        let block = c.trailing_hashtags(rules.trailing_hashtags);
        for (label, start, end) in find_in(rules, c, post.language, Where::Caption) {
            let misplaced = if s.spoken == Spoken::Required {
                Some("only in the caption; this format must say it early in the video or audio")
            } else if start >= fold {
                Some("after the caption's fold (behind \"more\")")
            } else if block.is_some_and(|b| start >= b) {
                Some("inside the trailing block of hashtags")
            } else {
                None
            };
            out.push(Found {
                label,
                surface: Where::Caption,
                quote: c.quote(start, end),
                offset: start,
                placed: misplaced.is_none(),
                misplaced,
            });
        }
    }
    if let Some(t) = post.transcript
        && s.spoken != Spoken::None
    {
        for (label, start, end) in find_in(rules, t, post.language, Where::Transcript) {
            let misplaced = (start >= s.spoken_window)
                .then_some("spoken late (after the first part of the transcript)");
            out.push(Found {
                label,
                surface: Where::Transcript,
                quote: t.quote(start, end),
                offset: start,
                placed: misplaced.is_none(),
                misplaced,
            });
        }
    }
    out
}

/// The class under one jurisdiction, with the label that decided it.
pub fn classify<'f, 'r>(
    found: &'f [Found<'r>],
    j: &Jurisdiction,
    language: Option<&str>,
) -> (Class, Option<&'f Found<'r>>) {
    let accepted = |f: &&Found<'r>| j.accepts(f.label, language);
    if let Some(f) = found.iter().filter(accepted).find(|f| f.placed) {
        return (Class::Clear, Some(f));
    }
    if let Some(f) = found.iter().find(accepted) {
        return (Class::Buried, Some(f));
    }
    match found.first() {
        Some(f) => (Class::Ambiguous, Some(f)),
        None => (Class::Missing, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules::parse(include_str!("../../rules/compliance.toml"), "rules").unwrap()
    }

    fn class_of(
        r: &Rules,
        j: &str,
        platform: &str,
        format: &str,
        caption: &str,
        lang: Option<&str>,
    ) -> Class {
        let c = Text::new(caption);
        let post = Post {
            caption: Some(&c),
            transcript: None,
            language: lang,
            surface: r.surface(platform, format),
        };
        let found = find(r, &post);
        classify(&found, &r.jurisdictions[j], lang).0
    }

    #[test]
    fn classes_by_hand() {
        let r = rules();
        let us = |c: &str| class_of(&r, "US", "instagram", "reel", c, Some("en"));
        assert_eq!(
            us("#ad Paid partnership with @lumora. Love this serum"),
            Class::Clear
        );
        assert_eq!(
            us("Loving my #adventure with #adidas in Adelaide"),
            Class::Missing
        );
        assert_eq!(
            us("thanks to @lumora for this #collab #sp"),
            Class::Ambiguous
        );
        // Behind the fold: the caption runs past 125 graphemes first.
        let long = format!("{} #ad", "my morning routine, step by step. ".repeat(5));
        assert_eq!(us(&long), Class::Buried);
        // In a trailing block of hashtags, even when short.
        assert_eq!(us("glow #skincare #glow #routine #ad"), Class::Buried);
        // On the third line of an Instagram caption.
        assert_eq!(us("new drop\nso good\n#ad"), Class::Buried);
        // Stylised letters still say "ad".
        assert_eq!(us("#𝐀𝐃 new serum"), Class::Clear);
        // The UK does not take "sponsored"; the US does.
        assert_eq!(
            class_of(
                &r,
                "UK",
                "instagram",
                "reel",
                "#sponsored new serum",
                Some("en")
            ),
            Class::Ambiguous
        );
        assert_eq!(us("#sponsored new serum"), Class::Clear);
        // Italian "ad" is a preposition, not a label, in an Italian post.
        assert_eq!(
            class_of(
                &r,
                "US",
                "instagram",
                "reel",
                "ad esempio questo siero",
                Some("it")
            ),
            Class::Missing
        );
        // "unbezahlte Werbung" is not "Werbung".
        assert_eq!(
            class_of(
                &r,
                "DE",
                "instagram",
                "reel",
                "Unbezahlte Werbung: mein Serum",
                Some("de")
            ),
            Class::Ambiguous
        );
        assert_eq!(
            class_of(
                &r,
                "DE",
                "instagram",
                "reel",
                "Werbung | mein Serum",
                Some("de")
            ),
            Class::Clear
        );
    }

    #[test]
    fn a_video_must_say_it() {
        let r = rules();
        let caption = Text::new("#ad new serum");
        let early = Text::new("This video is sponsored by Lumora. Today we try...");
        let late = Text::new(&format!(
            "{} This video is sponsored by Lumora.",
            "word ".repeat(100)
        ));
        let s = r.surface("youtube", "video");
        let class = |t: Option<&Text>| {
            let post = Post {
                caption: Some(&caption),
                transcript: t,
                language: Some("en"),
                surface: s,
            };
            classify(&find(&r, &post), &r.jurisdictions["US"], Some("en")).0
        };
        assert_eq!(class(Some(&early)), Class::Clear);
        assert_eq!(class(Some(&late)), Class::Buried);
        assert_eq!(class(None), Class::Buried);
    }
}
