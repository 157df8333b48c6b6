//! Databricks (Spark SQL): semi-structured data kept as JSON strings, parsed at query time
//! with `parse_json` into a VARIANT (`col:path` works only on VARIANT columns) and read with
//! `try_variant_get`/`schema_of_variant`; arrays through the `exists(array, x -> ...)` lambda.
//! String literals use backslash escapes (a quote is `\'`, never `''`); identifiers use
//! backticks; regexes use `RLIKE` (Java regex, searching anywhere).

use super::dialect::*;
use crate::backend::regexp::{self, Flavour};
use crate::backend::schema::ColumnType;
use crate::ir::{CmpOp, Step};

pub struct Databricks;

/// Array elements are lambda variables, already VARIANTs; columns hold JSON text.
const ELEMENT_PREFIX: &str = "__v_";

impl Databricks {
    /// The VARIANT at `r`.
    fn variant<'r>(&self, r: &'r JsonRef) -> Result<&'r str, Unsupported> {
        r.spelled(|r| {
            let base = if r.base.starts_with(ELEMENT_PREFIX) {
                r.base.clone()
            } else {
                format!("parse_json({})", r.base)
            };
            if r.steps.is_empty() {
                return Ok(base);
            }
            let mut p = String::from("$");
            for s in &r.steps {
                match s {
                    Step::Key(k) if is_simple_name(k) => {
                        p.push('.');
                        p.push_str(k);
                    }
                    Step::Key(k) => {
                        if k.contains('\'') || k.contains('\\') || k.contains(']') {
                            return Err(Unsupported::new(format!(
                                "Databricks JSON paths cannot name the key `{k}`"
                            )));
                        }
                        p.push_str(&format!("['{k}']"));
                    }
                    Step::Index(i) => p.push_str(&format!("[{i}]")),
                }
            }
            Ok(format!(
                "try_variant_get({base}, {}, 'variant')",
                self.string_literal(&p)?
            ))
        })
    }

    fn schema(&self, r: &JsonRef) -> Spelled {
        Ok(format!("schema_of_variant({})", self.variant(r)?))
    }
}

impl Dialect for Databricks {
    fn name(&self) -> &'static str {
        "databricks"
    }

    fn identifier_case(&self) -> IdentCase {
        IdentCase::Insensitive
    }

    fn engines(&self) -> &'static [&'static str] {
        &["spark"]
    }

    fn quote_ident(&self, name: &str) -> String {
        if is_plain_identifier(name) {
            name.to_string()
        } else {
            format!("`{}`", name.replace('`', "``"))
        }
    }

    /// Backslash escapes as Spark SQL reads them: control characters (NUL too) as `\uXXXX`
    /// (Spark has no `\x`), and the `$` of a `${` as `\u0024`, since Spark substitutes
    /// `${name}` variables in the query text before parsing it, inside literals too.
    fn string_literal(&self, s: &str) -> Spelled {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('\'');
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\'' => out.push_str("\\'"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '$' if chars.peek() == Some(&'{') => out.push_str("\\u0024"),
                c if c.is_ascii_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('\'');
        Ok(out)
    }

    /// Spark's `lower` is Java's full lower-casing, which differs from the simple mapping SPEC
    /// §3.4 asks for only at `İ` (to `i` plus a combining dot) and a final `Σ` (to `ς`): both
    /// are mapped to their simple lower case first.
    fn lower(&self, expr: &str) -> String {
        format!("lower(replace(replace({expr}, 'İ', 'i'), 'Σ', 'σ'))")
    }

    fn contains(&self, hay: &str, needle: &str, _: usize) -> String {
        format!("contains({hay}, {needle})")
    }

    fn starts_with(&self, hay: &str, needle: &str, _: usize) -> String {
        format!("startswith({hay}, {needle})")
    }

    fn ends_with(&self, hay: &str, needle: &str, _: usize) -> String {
        format!("endswith({hay}, {needle})")
    }

    /// `contains`, `startswith` and `endswith` are true for an empty needle.
    fn contains_expr(&self, hay: &str, needle: &str) -> String {
        format!("contains({hay}, {needle})")
    }

    fn starts_with_expr(&self, hay: &str, needle: &str) -> String {
        format!("startswith({hay}, {needle})")
    }

    fn ends_with_expr(&self, hay: &str, needle: &str) -> String {
        format!("endswith({hay}, {needle})")
    }

    fn regex_search(&self, hay: &str, pattern: &str) -> Spelled {
        let re = regexp::translate(pattern, Flavour::Java)?.pattern;
        Ok(format!("{hay} RLIKE {}", self.string_literal(&re)?))
    }

    fn column_type(&self, ty: ColumnType) -> &'static str {
        match ty {
            ColumnType::Text => "STRING",
            ColumnType::Integer => "BIGINT",
            ColumnType::Real => "DOUBLE",
            ColumnType::Boolean => "BOOLEAN",
            ColumnType::Json => "STRING",
            ColumnType::Timestamp => "TIMESTAMP",
        }
    }

    fn time_since(&self, column: &str, minutes: u32) -> String {
        format!("{column} >= current_timestamp() - INTERVAL {minutes} MINUTES")
    }

    fn json_is(&self, r: &JsonRef, kind: JsonKind) -> Spelled {
        let t = self.schema(r)?;
        Ok(match kind {
            JsonKind::String => format!("{t} = 'STRING'"),
            JsonKind::Number => format!(
                "({t} IN ('BIGINT', 'INT', 'SMALLINT', 'TINYINT', 'DOUBLE', 'FLOAT') OR {t} LIKE 'DECIMAL%')"
            ),
            JsonKind::Bool => format!("{t} = 'BOOLEAN'"),
            JsonKind::Array => format!("{t} LIKE 'ARRAY%'"),
        })
    }

    fn json_text(&self, r: &JsonRef) -> Spelled {
        Ok(format!(
            "try_variant_get({}, '$', 'string')",
            self.variant(r)?
        ))
    }

    /// SPEC §3.4 (a double read alone would make 2^53 + 1 equal 2^53).
    fn json_number_cmp(&self, r: &JsonRef, op: Option<CmpOp>, n: &NumLit) -> Spelled {
        exact_json_number_cmp(self, r, op, n)
    }

    /// `parse_json` keeps a number written without fraction or exponent as an integer type
    /// when it fits a signed 64-bit integer, and one with a fraction as a `DECIMAL` with its
    /// trailing zeros dropped (`1.0` is `DECIMAL(1,0)`), one with an exponent as `DOUBLE`. So
    /// a `DECIMAL(p,0)` within the signed range was written with a fraction (not an integer of
    /// SPEC §3.4); above it, up to the unsigned maximum, it is taken as the integer it is
    /// written as (a number there written with a zero fraction, `18446744073709551615.0`,
    /// reads the same: docs/language-decisions.md).
    fn json_is_integer(&self, r: &JsonRef) -> Spelled {
        let t = self.schema(r)?;
        Ok(format!(
            "({t} IN ('BIGINT', 'INT', 'SMALLINT', 'TINYINT') OR {t} LIKE 'DECIMAL(%,0)' AND try_variant_get({}, '$', 'decimal(38,0)') BETWEEN 9223372036854775808 AND 18446744073709551615)",
            self.variant(r)?
        ))
    }

    /// `DECIMAL(20,0)` holds every signed and unsigned 64-bit integer exactly.
    fn json_integer(&self, r: &JsonRef) -> Spelled {
        Ok(format!(
            "try_variant_get({}, '$', 'decimal(20,0)')",
            self.variant(r)?
        ))
    }

    fn json_double(&self, r: &JsonRef) -> Spelled {
        Ok(format!(
            "try_variant_get({}, '$', 'double')",
            self.variant(r)?
        ))
    }

    fn double(&self, expr: &str) -> String {
        format!("CAST({expr} AS DOUBLE)")
    }

    fn json_bool_is(&self, r: &JsonRef, b: bool) -> Spelled {
        Ok(format!(
            "({} = 'BOOLEAN' AND try_variant_get({}, '$', 'boolean') = {})",
            self.schema(r)?,
            self.variant(r)?,
            self.bool_literal(b)
        ))
    }

    /// `is_variant_null(NULL)` is false, not NULL: a missing value (SQL NULL) is tested apart.
    fn json_is_null(&self, r: &JsonRef) -> Spelled {
        let v = self.variant(r)?;
        Ok(format!("{v} IS NULL OR is_variant_null({v})"))
    }

    fn json_is_empty(&self, r: &JsonRef) -> Spelled {
        let v = self.variant(r)?;
        Ok(format!(
            "is_variant_null({v}) OR to_json({v}) IN ('\"\"', '[]', '{{}}')"
        ))
    }

    fn json_value(&self, r: &JsonRef) -> Spelled {
        Ok(format!("to_json({})", self.variant(r)?))
    }

    fn exists_element(&self, r: &JsonRef, alias: &str, body: &str) -> Spelled {
        // `exists` over NULL (not an array) is NULL: read it as false.
        Ok(format!(
            "COALESCE(exists(try_variant_get({}, '$', 'array<variant>'), {ELEMENT_PREFIX}{alias} -> ({body})), FALSE)",
            self.variant(r)?
        ))
    }

    fn element_ref(&self, _r: &JsonRef, alias: &str) -> JsonRef {
        JsonRef::new(format!("{ELEMENT_PREFIX}{alias}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Java's `$` also matches before a final newline and its `(?i)` is ASCII-only, so the
    /// pattern is translated, not passed through.
    #[test]
    fn regexes_are_written_for_java() {
        assert_eq!(
            Databricks.regex_search("s", r"(?i)^a.$").unwrap(),
            r"s RLIKE '(?iu)^a[^\\n]\\z'"
        );
        assert!(Databricks.regex_search("s", r"(?i)\pL").is_err());
    }
}
