//! Column types as the docs spell them (`string`, `int64`, `decimal(18,2)`,
//! `timestamp[us, tz=UTC]`, `list<string>`, `map<string, float64>`,
//! `struct<a string, b int64>`), parsed into Arrow types and compared with
//! what a step produced.
//!
//! The comparison is exact except where Arrow has several physical forms of
//! one logical type: a string is `Utf8`, `LargeUtf8` or `Utf8View` (readers
//! of the Delta tables see views), and the names and nullability of list
//! items and map entries are not part of a column's type.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, TimeUnit};

use crate::error::{Error, Result};

/// Parses a type spelling into the Arrow type halo writes.
pub fn parse(spelling: &str) -> Result<DataType> {
    let mut p = Parser {
        s: spelling.as_bytes(),
        i: 0,
        text: spelling,
    };
    let t = p.ty()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(p.err("unexpected text after the type"));
    }
    Ok(t)
}

/// The spelling of an Arrow type (the inverse of [`parse`]).
pub fn spell(t: &DataType) -> String {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".into(),
        DataType::Boolean => "bool".into(),
        DataType::Int32 => "int32".into(),
        DataType::Int64 => "int64".into(),
        DataType::Float64 => "float64".into(),
        DataType::Date32 => "date".into(),
        DataType::Decimal128(p, s) => format!("decimal({p},{s})"),
        DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) if tz.as_ref() == "UTC" => {
            "timestamp[us, tz=UTC]".into()
        }
        DataType::List(f) | DataType::LargeList(f) | DataType::ListView(f) => {
            format!("list<{}>", spell(f.data_type()))
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => format!(
                "map<{}, {}>",
                spell(kv[0].data_type()),
                spell(kv[1].data_type())
            ),
            other => format!("map<{other}>"),
        },
        DataType::Struct(fields) => format!(
            "struct<{}>",
            fields
                .iter()
                .map(|f| format!("{} {}", f.name(), spell(f.data_type())))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("{other}"),
    }
}

/// Whether a produced column of type `actual` is what `declared` says.
pub fn matches(declared: &DataType, actual: &DataType) -> bool {
    use DataType::*;
    match (declared, actual) {
        (Utf8 | LargeUtf8 | Utf8View, Utf8 | LargeUtf8 | Utf8View) => true,
        (List(a) | LargeList(a) | ListView(a), List(b) | LargeList(b) | ListView(b)) => {
            matches(a.data_type(), b.data_type())
        }
        (Map(a, _), Map(b, _)) => matches(a.data_type(), b.data_type()),
        (Struct(a), Struct(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b.iter())
                    .all(|(x, y)| x.name() == y.name() && matches(x.data_type(), y.data_type()))
        }
        (a, b) => a == b,
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> Error {
        Error::Config(format!(
            "type '{}': {what} at character {} (types: string, bool, int32, int64, float64, date, \
             decimal(P,S), timestamp[us, tz=UTC], list<T>, map<K, V>, struct<name T, ...>)",
            self.text,
            self.i + 1
        ))
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn word(&mut self) -> &str {
        self.ws();
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_')
        {
            self.i += 1;
        }
        &self.text[start..self.i]
    }

    fn expect(&mut self, c: u8) -> Result<()> {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected '{}'", c as char)))
        }
    }

    fn number(&mut self) -> Result<u32> {
        let w = self.word().to_string();
        w.parse().map_err(|_| self.err("expected a number"))
    }

    fn ty(&mut self) -> Result<DataType> {
        let w = self.word().to_string();
        Ok(match w.as_str() {
            "string" => DataType::Utf8,
            "bool" => DataType::Boolean,
            "int32" => DataType::Int32,
            "int64" => DataType::Int64,
            "float64" => DataType::Float64,
            "date" => DataType::Date32,
            "decimal" => {
                self.expect(b'(')?;
                let p = self.number()?;
                self.expect(b',')?;
                let s = self.number()?;
                self.expect(b')')?;
                if p == 0 || p > 38 || s > p {
                    return Err(
                        self.err("a decimal has 1 to 38 digits and no more decimals than digits")
                    );
                }
                DataType::Decimal128(p as u8, s as i8)
            }
            "timestamp" => {
                self.expect(b'[')?;
                if self.word() != "us" {
                    return Err(self.err("timestamps are timestamp[us, tz=UTC]"));
                }
                self.expect(b',')?;
                if self.word() != "tz" {
                    return Err(self.err("timestamps are timestamp[us, tz=UTC]"));
                }
                self.expect(b'=')?;
                if self.word() != "UTC" {
                    return Err(self.err("timestamps are timestamp[us, tz=UTC]"));
                }
                self.expect(b']')?;
                DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC")))
            }
            "list" => {
                self.expect(b'<')?;
                let item = self.ty()?;
                self.expect(b'>')?;
                DataType::List(Arc::new(Field::new("item", item, true)))
            }
            "map" => {
                self.expect(b'<')?;
                let k = self.ty()?;
                self.expect(b',')?;
                let v = self.ty()?;
                self.expect(b'>')?;
                DataType::Map(
                    Arc::new(Field::new(
                        "entries",
                        DataType::Struct(Fields::from(vec![
                            Field::new("key", k, false),
                            Field::new("value", v, true),
                        ])),
                        false,
                    )),
                    false,
                )
            }
            "struct" => {
                self.expect(b'<')?;
                let mut fields = Vec::new();
                loop {
                    let name = self.word().to_string();
                    if name.is_empty() {
                        return Err(self.err("expected a field name"));
                    }
                    let t = self.ty()?;
                    fields.push(Field::new(name, t, true));
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'>') => {
                            self.i += 1;
                            break;
                        }
                        _ => return Err(self.err("expected ',' or '>'")),
                    }
                }
                DataType::Struct(Fields::from(fields))
            }
            "" => return Err(self.err("expected a type")),
            other => return Err(self.err(&format!("unknown type '{other}'"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip_and_strings_match_in_any_form() {
        for s in [
            "string",
            "decimal(18,2)",
            "timestamp[us, tz=UTC]",
            "list<timestamp[us, tz=UTC]>",
            "map<string, decimal(18,2)>",
            "list<struct<table string, rows int64>>",
        ] {
            assert_eq!(spell(&parse(s).unwrap()), s);
        }
        assert!(matches(
            &parse("list<string>").unwrap(),
            &DataType::List(Arc::new(Field::new("element", DataType::Utf8View, false)))
        ));
        assert!(!matches(
            &parse("decimal(18,2)").unwrap(),
            &DataType::Decimal128(19, 2)
        ));
        let e = parse("decimal(18)").unwrap_err().to_string();
        assert!(e.contains("expected ','"), "{e}");
    }
}
