//! The four locales halo writes messages in (en, de, fr, es), how one is
//! chosen for a creator, and how numbers, money and dates are spelt in each.
//!
//! Why by hand: the formats needed are four fixed conventions (separators,
//! symbol placement, month names), and amounts must be formatted from their
//! exact decimal text, never through a float; a CLDR crate would bring
//! hundreds of locales and float formatting for four short tables.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

/// A locale messages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Locale {
    /// English.
    En,
    /// German.
    De,
    /// French.
    Fr,
    /// Spanish.
    Es,
}

/// Every locale, in the order templates are shipped.
pub const ALL: [Locale; 4] = [Locale::En, Locale::De, Locale::Fr, Locale::Es];

impl Locale {
    /// Its ISO 639-1 code.
    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::De => "de",
            Locale::Fr => "fr",
            Locale::Es => "es",
        }
    }

    /// The locale of an ISO 639-1 code.
    pub fn parse(code: &str) -> Option<Locale> {
        ALL.into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(code.trim()))
    }

    /// The locale for a creator who lives in `country` (ISO 3166-1
    /// alpha-2): the country's main language where halo ships it, else
    /// `fallback`. Belgium and Switzerland have several; the larger
    /// language community is taken.
    pub fn for_country(country: Option<&str>, fallback: Locale) -> Locale {
        let Some(c) = country else { return fallback };
        match c.trim().to_ascii_uppercase().as_str() {
            "DE" | "AT" | "CH" | "LI" => Locale::De,
            "FR" | "BE" | "LU" | "MC" | "SN" | "CI" => Locale::Fr,
            "ES" | "MX" | "AR" | "CO" | "CL" | "PE" | "VE" | "EC" | "GT" | "CU" | "BO" | "DO"
            | "HN" | "PY" | "SV" | "NI" | "CR" | "PA" | "UY" => Locale::Es,
            "US" | "GB" | "IE" | "CA" | "AU" | "NZ" => Locale::En,
            _ => fallback,
        }
    }

    fn separators(self) -> (&'static str, &'static str) {
        // (thousands, decimal)
        match self {
            Locale::En => (",", "."),
            Locale::De | Locale::Es => (".", ","),
            // French groups with a narrow no-break space.
            Locale::Fr => ("\u{202f}", ","),
        }
    }

    fn months(self) -> [&'static str; 12] {
        match self {
            Locale::En => [
                "January",
                "February",
                "March",
                "April",
                "May",
                "June",
                "July",
                "August",
                "September",
                "October",
                "November",
                "December",
            ],
            Locale::De => [
                "Januar",
                "Februar",
                "März",
                "April",
                "Mai",
                "Juni",
                "Juli",
                "August",
                "September",
                "Oktober",
                "November",
                "Dezember",
            ],
            Locale::Fr => [
                "janvier",
                "février",
                "mars",
                "avril",
                "mai",
                "juin",
                "juillet",
                "août",
                "septembre",
                "octobre",
                "novembre",
                "décembre",
            ],
            Locale::Es => [
                "enero",
                "febrero",
                "marzo",
                "abril",
                "mayo",
                "junio",
                "julio",
                "agosto",
                "septiembre",
                "octubre",
                "noviembre",
                "diciembre",
            ],
        }
    }

    /// A decimal number given as text (`-1234.5`), grouped and with the
    /// locale's separators; `places` digits after the point (rounded half
    /// to even on the text, never through a float).
    pub fn number(self, text: &str, places: Option<u32>) -> Option<String> {
        let d: bigdecimal::BigDecimal = text.trim().parse().ok()?;
        let d = match places {
            Some(p) => d.with_scale_round(i64::from(p), bigdecimal::RoundingMode::HalfEven),
            None => d.normalized(),
        };
        let plain = d.to_plain_string();
        let (neg, digits) = match plain.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, plain.as_str()),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let (thousands, decimal) = self.separators();
        let mut grouped = String::new();
        let n = int.len();
        for (i, ch) in int.chars().enumerate() {
            // Spanish does not group a four-digit number (RAE).
            let group = !(self == Locale::Es && n == 4);
            if i > 0 && (n - i) % 3 == 0 && group {
                grouped.push_str(thousands);
            }
            grouped.push(ch);
        }
        let mut out = String::new();
        if neg {
            out.push('-');
        }
        out.push_str(&grouped);
        if !frac.is_empty() {
            out.push_str(decimal);
            out.push_str(frac);
        }
        Some(out)
    }

    /// An amount in `currency` (ISO 4217), to its minor unit: `$1,234.50`
    /// in English, `1.234,50 €` in German.
    pub fn money(self, text: &str, currency: &str) -> Option<String> {
        let places = iso_currency::Currency::from_code(&currency.to_ascii_uppercase())
            .and_then(|c| c.exponent())
            .unwrap_or(2);
        let n = self.number(text, Some(u32::from(places)))?;
        let cur = currency.to_ascii_uppercase();
        let symbol = match cur.as_str() {
            "USD" => "$",
            "EUR" => "€",
            "GBP" => "£",
            "JPY" => "¥",
            _ => cur.as_str(),
        };
        Some(match self {
            Locale::En if symbol.chars().count() == 1 => format!("{symbol}{n}"),
            Locale::En => format!("{symbol} {n}"),
            _ => format!("{n}\u{a0}{symbol}"),
        })
    }

    /// A share (0..1) as a whole percentage: `68%`, `68 %` in French and
    /// German.
    pub fn percent(self, share: f64) -> String {
        let p = (share * 100.0).round() as i64;
        match self {
            Locale::En | Locale::Es => format!("{p}%"),
            Locale::De | Locale::Fr => format!("{p}\u{a0}%"),
        }
    }

    /// A date in words: `December 4, 2026`, `4. Dezember 2026`,
    /// `4 décembre 2026`, `4 de diciembre de 2026`.
    pub fn date(self, d: NaiveDate) -> String {
        use chrono::Datelike;
        let m = self.months()[d.month0() as usize];
        match self {
            Locale::En => format!("{m} {}, {}", d.day(), d.year()),
            Locale::De => format!("{}. {m} {}", d.day(), d.year()),
            Locale::Fr => format!("{} {m} {}", d.day(), d.year()),
            Locale::Es => format!("{} de {m} de {}", d.day(), d.year()),
        }
    }

    /// An instant, in `tz`, with its zone's abbreviation.
    pub fn datetime(self, t: DateTime<Utc>, tz: Tz) -> String {
        let local = t.with_timezone(&tz);
        let day = self.date(local.date_naive());
        let zone = local.format("%Z");
        match self {
            Locale::En => format!("{day}, {} {zone}", local.format("%-I:%M %p")),
            Locale::De => format!("{day}, {} Uhr {zone}", local.format("%H:%M")),
            Locale::Fr => format!("{day} à {} {zone}", local.format("%H:%M")),
            Locale::Es => format!("{day}, {} {zone}", local.format("%H:%M")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_money_follow_each_locale_from_the_exact_text() {
        assert_eq!(Locale::En.money("1234.5", "USD").unwrap(), "$1,234.50");
        assert_eq!(
            Locale::De.money("1234.5", "EUR").unwrap(),
            "1.234,50\u{a0}€"
        );
        assert_eq!(
            Locale::Fr.money("-1234567.125", "EUR").unwrap(),
            "-1\u{202f}234\u{202f}567,12\u{a0}€"
        );
        assert_eq!(Locale::Es.number("1234", None).unwrap(), "1234");
        assert_eq!(Locale::Es.number("12345", None).unwrap(), "12.345");
        assert_eq!(Locale::En.money("5", "JPY").unwrap(), "¥5");
        assert_eq!(Locale::En.money("0.015", "CHF").unwrap(), "CHF 0.02");
        assert_eq!(Locale::En.number("not a number", None), None);
    }

    #[test]
    fn dates_are_spelt_per_locale_in_the_jobs_zone() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        assert_eq!(Locale::De.date(d), "8. März 2026");
        assert_eq!(Locale::Es.date(d), "8 de marzo de 2026");
        let t = DateTime::parse_from_rfc3339("2026-03-08T17:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        // New York moved to daylight time that morning.
        assert_eq!(
            Locale::En.datetime(t, chrono_tz::America::New_York),
            "March 8, 2026, 1:00 PM EDT"
        );
        assert_eq!(Locale::for_country(Some("at"), Locale::En), Locale::De);
        assert_eq!(Locale::for_country(Some("JP"), Locale::Fr), Locale::Fr);
    }
}
