//! Captions and transcripts as a reader sees them: split into the grapheme
//! clusters the platforms count (an emoji with its modifiers is one
//! character), each compared in a folded form (NFKC, stylised and
//! full-width letters cured to plain lower-case Latin, zero-width characters
//! dropped), and cut into whole tokens so `#adventure` is never `#ad`.

use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

/// What kind of token a run of word characters is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A plain word.
    Word,
    /// A `#hashtag` (the text after the `#`).
    Hashtag,
    /// An `@mention` (the text after the `@`).
    Mention,
}

/// A token of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Word, hashtag or mention.
    pub kind: TokenKind,
    /// The folded text, without its `#` or `@`: lower-case, accents and
    /// stylised letters cured (what labels are matched on).
    pub folded: String,
    /// The text after NFKC only, upper-cased (what promo codes are matched
    /// on: `SUMMER10` keeps its digits and letters exactly).
    pub plain: String,
    /// Grapheme offset of its first character (the `#` or `@` included).
    pub start: usize,
    /// Grapheme offset just past its last character.
    pub end: usize,
    /// Whether only spaces (or a hyphen) separate it from the token before,
    /// so a phrase label can run across it.
    pub joined: bool,
    /// The line it is on (0-based).
    pub line: usize,
}

/// A text cut into graphemes and tokens.
#[derive(Debug, Clone)]
pub struct Text {
    /// The original graphemes (for quoting evidence).
    pub graphemes: Vec<String>,
    /// The tokens, in order.
    pub tokens: Vec<Token>,
    /// Grapheme offset where each line starts.
    pub line_starts: Vec<usize>,
}

/// Characters that render as nothing: zero-width spaces and joiners outside
/// emoji, the word joiner, the BOM, the soft hyphen and the bidi marks.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}'
    )
}

/// One grapheme folded for comparison: NFKC, invisible characters dropped,
/// then each character cured (confusables, small capitals, accents) to
/// lower-case.
fn fold(g: &str) -> String {
    let mut out = String::new();
    for c in g.nfkc().filter(|c| !invisible(*c)) {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
            continue;
        }
        let cured = decancer::cure_char(c, decancer::Options::default()).to_string();
        if cured.is_empty() {
            continue;
        }
        out.push_str(&cured);
    }
    out
}

/// What a folded grapheme is for tokenising.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Word,
    Hash,
    At,
    Space,
    Hyphen,
    Newline,
    Other,
    Nothing,
}

fn class(original: &str, folded: &str) -> Class {
    if original.contains('\n') || original.contains('\u{2028}') {
        return Class::Newline;
    }
    if original.chars().all(invisible) {
        return Class::Nothing;
    }
    if folded.is_empty() {
        return Class::Other;
    }
    if folded == "#" {
        return Class::Hash;
    }
    if folded == "@" {
        return Class::At;
    }
    if folded.chars().all(char::is_whitespace) {
        return Class::Space;
    }
    if folded == "-" {
        return Class::Hyphen;
    }
    // A grapheme is a word character when its original is a letter, digit or
    // underscore (an emoji cured to letters stays a symbol).
    let base = original.chars().find(|c| !invisible(*c));
    match base {
        Some(c) if c.is_alphanumeric() || c == '_' => Class::Word,
        Some(c) if !c.is_ascii() && folded.chars().all(|f| f.is_ascii_alphanumeric()) => {
            // Stylised letters that are symbols in Unicode (circled,
            // parenthesised, regional letters) read as letters.
            if unicode_symbol_letter(c) {
                Class::Word
            } else {
                Class::Other
            }
        }
        _ => Class::Other,
    }
}

/// Enclosed and squared Latin letters (Ⓐ, 🄰): symbols to Unicode,
/// letters to a reader.
fn unicode_symbol_letter(c: char) -> bool {
    matches!(c as u32, 0x2460..=0x24FF | 0x1F110..=0x1F189)
}

impl Text {
    /// Cuts `s` into graphemes and tokens.
    pub fn new(s: &str) -> Text {
        let graphemes: Vec<String> = s.graphemes(true).map(str::to_string).collect();
        let mut tokens: Vec<Token> = Vec::new();
        let mut line_starts = vec![0];
        let mut line = 0;
        let mut i = 0;
        let mut joined_run = false;
        let mut prefix: Option<(TokenKind, usize)> = None;
        while i < graphemes.len() {
            let f = fold(&graphemes[i]);
            match class(&graphemes[i], &f) {
                Class::Word => {
                    let start = i;
                    let mut folded = String::new();
                    let mut plain = String::new();
                    while i < graphemes.len() {
                        let f = fold(&graphemes[i]);
                        match class(&graphemes[i], &f) {
                            Class::Word => {
                                folded.push_str(&f);
                                plain.extend(
                                    graphemes[i]
                                        .nfkc()
                                        .filter(|c| !invisible(*c))
                                        .flat_map(char::to_uppercase),
                                );
                                i += 1;
                            }
                            // A zero-width character inside a word does not
                            // split it ("a\u{200B}d" reads "ad").
                            Class::Nothing => i += 1,
                            _ => break,
                        }
                    }
                    let (kind, from) = match prefix.take() {
                        Some((k, at)) if at + 1 == start => (k, at),
                        _ => (TokenKind::Word, start),
                    };
                    tokens.push(Token {
                        kind,
                        folded,
                        plain,
                        start: from,
                        end: i,
                        joined: joined_run && !tokens.is_empty(),
                        line,
                    });
                    joined_run = true;
                    continue;
                }
                Class::Hash => {
                    prefix = Some((TokenKind::Hashtag, i));
                }
                Class::At => {
                    prefix = Some((TokenKind::Mention, i));
                }
                Class::Space | Class::Hyphen => {
                    prefix = None;
                }
                Class::Nothing => {}
                Class::Newline => {
                    prefix = None;
                    joined_run = false;
                    line += 1;
                    line_starts.push(i + 1);
                }
                Class::Other => {
                    prefix = None;
                    joined_run = false;
                }
            }
            i += 1;
        }
        Text {
            graphemes,
            tokens,
            line_starts,
        }
    }

    /// Number of graphemes (characters as the platforms count them).
    pub fn len(&self) -> usize {
        self.graphemes.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.graphemes.is_empty()
    }

    /// The original text of graphemes `[start, end)`.
    pub fn quote(&self, start: usize, end: usize) -> String {
        self.graphemes[start.min(self.len())..end.min(self.len())].concat()
    }

    /// Where a platform cuts the text behind "more": after `chars`
    /// graphemes or at the end of line `lines`, whichever comes first.
    pub fn fold_point(&self, chars: Option<usize>, lines: Option<usize>) -> usize {
        let by_chars = chars.unwrap_or(usize::MAX);
        let by_lines = lines
            .and_then(|n| self.line_starts.get(n).map(|s| s.saturating_sub(1)))
            .unwrap_or(usize::MAX);
        by_chars.min(by_lines).min(self.len())
    }

    /// Where the trailing block of hashtags starts: the last run of at least
    /// `k` hashtags (mentions may sit among them) with nothing but spaces,
    /// punctuation and emoji between them, reaching the end of the text. A
    /// text that is only hashtags has no trailing block (its first tag is
    /// up front).
    pub fn trailing_hashtags(&self, k: usize) -> Option<usize> {
        let mut count = 0;
        let mut first = None;
        for t in self.tokens.iter().rev() {
            match t.kind {
                TokenKind::Hashtag => {
                    count += 1;
                    first = Some(t.start);
                }
                TokenKind::Mention => first = Some(t.start),
                TokenKind::Word => break,
            }
        }
        let start = first?;
        let only_tags = self.tokens.iter().all(|t| t.kind != TokenKind::Word);
        (count >= k && !only_tags).then_some(start)
    }
}

/// Folds a label or phrase from the rules file the way texts are folded,
/// into its tokens.
pub fn fold_label(label: &str) -> Vec<Token> {
    Text::new(label).tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(s: &str) -> Vec<(TokenKind, String)> {
        Text::new(s)
            .tokens
            .into_iter()
            .map(|t| (t.kind, t.folded))
            .collect()
    }

    #[test]
    fn lookalikes_stay_whole_tokens() {
        assert_eq!(
            folded("#adventure #Adidas Adelaide #ad"),
            vec![
                (TokenKind::Hashtag, "adventure".into()),
                (TokenKind::Hashtag, "adidas".into()),
                (TokenKind::Word, "adelaide".into()),
                (TokenKind::Hashtag, "ad".into()),
            ]
        );
    }

    #[test]
    fn stylised_full_width_and_zero_width_letters_read_plain() {
        // Mathematical bold, full-width, small capitals, a zero-width space
        // inside the word, an accent.
        for s in ["#𝐚𝐝", "＃ａｄ", "#ᴀᴅ", "#a\u{200B}d", "#ÀD"] {
            let t = Text::new(s);
            assert_eq!(t.tokens.len(), 1, "{s:?}");
            assert_eq!(t.tokens[0].kind, TokenKind::Hashtag, "{s:?}");
            assert_eq!(t.tokens[0].folded, "ad", "{s:?}");
        }
        assert_eq!(folded("publicité")[0].1, "publicite");
    }

    #[test]
    fn graphemes_count_an_emoji_as_one_character() {
        // A family emoji (7 code points), a flag (2), an accented e as two
        // code points: 3 graphemes before the tag.
        let t = Text::new("👨‍👩‍👧‍👦🇩🇪e\u{301} #ad");
        assert_eq!(t.tokens[0].start, 2, "{:?}", t.tokens);
        assert_eq!(t.tokens[1].start, 4, "{:?}", t.tokens);
        assert_eq!(t.quote(4, 7), "#ad");
        assert_eq!(t.len(), 7);
    }

    #[test]
    fn codes_keep_digits_and_trailing_blocks_are_found() {
        let t = Text::new("Use code MAYA15 today! #skincare #glow #ad");
        assert_eq!(t.tokens[2].plain, "MAYA15");
        let block = t.trailing_hashtags(3).expect("a block of three");
        assert_eq!(t.quote(block, block + 9), "#skincare");
        assert_eq!(Text::new("#ad #glow #skin").trailing_hashtags(3), None);
        assert_eq!(Text::new("love it #ad #glow").trailing_hashtags(3), None);
    }

    #[test]
    fn the_fold_point_is_the_nearer_of_characters_and_lines() {
        let t = Text::new("one\ntwo\nthree #ad");
        assert_eq!(t.fold_point(Some(100), Some(2)), 7);
        assert_eq!(t.fold_point(Some(5), Some(2)), 5);
        assert_eq!(t.fold_point(None, None), t.len());
    }
}
