//! Small helpers for writing SQL text safely: identifiers and strings are
//! always quoted, timestamps are exact microsecond literals.

/// A double-quoted SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A single-quoted SQL string literal.
pub fn quote_str(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// An exact `timestamp[us, tz=UTC]` literal.
pub fn timestamp_literal(micros: i64) -> String {
    format!("arrow_cast({micros}, 'Timestamp(Microsecond, Some(\"UTC\"))')")
}

/// A `DATE` literal.
pub fn date_literal(date: chrono::NaiveDate) -> String {
    format!("DATE '{}'", date.format("%Y-%m-%d"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_escaped() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_str("o'brien"), "'o''brien'");
    }
}
