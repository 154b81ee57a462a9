//! The language a post is written in: the data's own `content.language`
//! when it gives one, else detected from the caption and transcript (words
//! only: hashtags, mentions, links and codes say little about a language),
//! among the languages the rules have labels for. A detection whatlang is not
//! confident of is left undetermined, so no jurisdiction is applied on
//! a guess and every language's words are matched.

use whatlang::{Detector, Lang};

use super::text::{Text, TokenKind};

/// How the language was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `content.language`.
    Data,
    /// Detected from the text.
    Detected,
    /// Neither: no reliable detection.
    Undetermined,
}

impl Source {
    /// The word the tables use.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Data => "data",
            Source::Detected => "detected",
            Source::Undetermined => "undetermined",
        }
    }
}

/// ISO 639-1 codes of the languages whatlang detects, as whatlang names them.
const CODES: &[(&str, Lang)] = &[
    ("en", Lang::Eng),
    ("de", Lang::Deu),
    ("fr", Lang::Fra),
    ("es", Lang::Spa),
    ("it", Lang::Ita),
    ("nl", Lang::Nld),
    ("pt", Lang::Por),
    ("pl", Lang::Pol),
    ("sv", Lang::Swe),
    ("da", Lang::Dan),
    ("fi", Lang::Fin),
    ("cs", Lang::Ces),
    ("ro", Lang::Ron),
    ("hu", Lang::Hun),
    ("tr", Lang::Tur),
    ("ru", Lang::Rus),
    ("ja", Lang::Jpn),
];

/// The confidence whatlang must give a detection for it to be used. Its own
/// `is_reliable` (about 0.9) leaves most one-sentence captions undetermined;
/// among six languages half that separates them on the captions tested.
const MIN_CONFIDENCE: f64 = 0.5;

/// Detects among a fixed set of languages.
pub struct Languages {
    detector: Option<Detector>,
}

impl Languages {
    /// A detector choosing among `codes` (ISO 639-1; codes whatlang does not
    /// know are never detected, only read from the data).
    pub fn new<'a>(codes: impl IntoIterator<Item = &'a str>) -> Languages {
        let list: Vec<Lang> = codes
            .into_iter()
            .filter_map(|c| CODES.iter().find(|(k, _)| *k == c).map(|(_, l)| *l))
            .collect();
        Languages {
            detector: (list.len() >= 2).then(|| Detector::with_allowlist(list)),
        }
    }

    /// The post's language and how it was found.
    pub fn of(&self, given: Option<&str>, texts: &[&Text]) -> (Option<String>, Source) {
        if let Some(g) = given.map(|g| g.trim().to_lowercase())
            && g.len() == 2
            && g.chars().all(|c| c.is_ascii_lowercase())
        {
            return (Some(g), Source::Data);
        }
        let words: Vec<String> = texts
            .iter()
            .flat_map(|t| {
                t.tokens
                    .iter()
                    .filter(|k| {
                        k.kind == TokenKind::Word && !k.plain.chars().any(|c| c.is_ascii_digit())
                    })
                    .map(|k| t.quote(k.start, k.end))
            })
            .collect();
        let Some(d) = &self.detector else {
            return (None, Source::Undetermined);
        };
        if words.len() < 3 {
            return (None, Source::Undetermined);
        }
        match d.detect(&words.join(" ")) {
            Some(info) if info.confidence() >= MIN_CONFIDENCE => {
                let code = CODES
                    .iter()
                    .find(|(_, l)| *l == info.lang())
                    .map(|(k, _)| k.to_string());
                (code, Source::Detected)
            }
            _ => (None, Source::Undetermined),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captions_are_told_apart() {
        let l = Languages::new(["en", "de", "fr", "es", "it", "nl"]);
        let cases = [
            (
                "Mein neues Lieblingsserum für jeden Morgen, ich liebe es wirklich sehr",
                "de",
            ),
            (
                "Ma nouvelle routine du matin avec ce sérum que j'adore vraiment",
                "fr",
            ),
            (
                "Mi nueva rutina de la mañana con este sérum que me encanta de verdad",
                "es",
            ),
            (
                "La mia nuova routine del mattino con questo siero che adoro davvero",
                "it",
            ),
            (
                "Mijn nieuwe ochtendroutine met dit serum waar ik echt van hou",
                "nl",
            ),
            (
                "My new morning routine with this serum that I really love",
                "en",
            ),
        ];
        for (s, want) in cases {
            let t = Text::new(s);
            assert_eq!(l.of(None, &[&t]).0.as_deref(), Some(want), "{s}");
        }
        let t = Text::new("#ad #skincare");
        assert_eq!(l.of(None, &[&t]), (None, Source::Undetermined));
        assert_eq!(l.of(Some("DE"), &[&t]), (Some("de".into()), Source::Data));
    }
}
