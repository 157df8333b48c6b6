//! ClickHouse: semi-structured data kept as JSON strings and read with `JSONExtractRaw`,
//! `JSONType`, `JSONExtractString`/`Float`/`Bool` (keys by name; an index only on an array,
//! since ClickHouse's integer index also counts object members, 1-based); arrays through
//! `arrayExists(x -> ..., JSONExtractArrayRaw(...))`. ClickHouse has no general NULL-safe
//! comparison, so NULL is folded with `ifNull`; `.` in `match()` is made not to match a newline.

use super::dialect::*;
use crate::backend::regexp::{self, Flavour};
use crate::backend::schema::ColumnType;
use crate::ir::{CmpOp, Step};

pub struct ClickHouse;

impl ClickHouse {
    /// The raw JSON text at `r` ('' when missing).
    fn raw<'r>(&self, r: &'r JsonRef) -> Result<&'r str, Unsupported> {
        r.spelled(|r| {
            let mut s = format!("ifNull({}, '')", r.base);
            for step in &r.steps {
                s = match step {
                    Step::Key(k) => format!("JSONExtractRaw({s}, {})", self.string_literal(k)?),
                    Step::Index(i) => {
                        format!(
                            "if(JSONType({s}) = 'Array', JSONExtractRaw({s}, {}), '')",
                            i + 1
                        )
                    }
                };
            }
            Ok(s)
        })
    }
}

impl Dialect for ClickHouse {
    fn name(&self) -> &'static str {
        "clickhouse"
    }

    fn identifier_case(&self) -> IdentCase {
        IdentCase::Exact
    }

    /// ClickHouse's `max_query_size` (262,144 bytes by default) bounds the text its parser
    /// reads; a longer query fails with "Max query size exceeded". It cannot be raised by the
    /// query's own `SETTINGS`.
    fn max_query_bytes(&self) -> Option<(usize, &'static str, &'static str)> {
        Some((
            262_144,
            "ClickHouse",
            "raise `max_query_size` in the settings profile of the user that runs the query (a \
             query's own SETTINGS clause cannot raise it), or shorten the rule's lists",
        ))
    }

    fn engines(&self) -> &'static [&'static str] {
        &["clickhouse"]
    }

    fn string_literal(&self, s: &str) -> Spelled {
        backslash_string_literal(s)
    }

    fn bool_literal(&self, b: bool) -> &'static str {
        if b { "true" } else { "false" }
    }

    fn coalesce(&self, expr: &str, default: bool) -> String {
        format!("ifNull({expr}, {default})")
    }

    /// `lowerUTF8` is ICU's full lower-casing. It differs from the simple mapping SPEC §3.4 asks
    /// for in two places only (Unicode's SpecialCasing without a locale): `İ` becomes `i` plus a
    /// combining dot, and a final `Σ` becomes `ς`. Both are mapped first to their simple lower
    /// case, which full lower-casing leaves alone.
    fn lower(&self, expr: &str) -> String {
        format!("lowerUTF8(replaceAll(replaceAll({expr}, 'İ', 'i'), 'Σ', 'σ'))")
    }

    fn contains(&self, hay: &str, needle: &str, _: usize) -> String {
        format!("position({hay}, {needle}) > 0")
    }

    fn starts_with(&self, hay: &str, needle: &str, _: usize) -> String {
        format!("startsWith({hay}, {needle})")
    }

    fn ends_with(&self, hay: &str, needle: &str, _: usize) -> String {
        format!("endsWith({hay}, {needle})")
    }

    /// `position` finds `''` at 1, so an empty needle is contained.
    fn contains_expr(&self, hay: &str, needle: &str) -> String {
        format!("position({hay}, {needle}) > 0")
    }

    fn starts_with_expr(&self, hay: &str, needle: &str) -> String {
        format!("startsWith({hay}, {needle})")
    }

    fn ends_with_expr(&self, hay: &str, needle: &str) -> String {
        format!("endsWith({hay}, {needle})")
    }

    fn regex_search(&self, hay: &str, pattern: &str) -> Spelled {
        // ClickHouse's `.` matches a newline unless `(?-s)` says otherwise.
        let re = regexp::translate(pattern, Flavour::Re2)?.pattern;
        let p = if re.starts_with("(?s)") {
            re
        } else {
            format!("(?-s){re}")
        };
        Ok(format!("match({hay}, {})", self.string_literal(&p)?))
    }

    fn column_type(&self, ty: ColumnType) -> &'static str {
        match ty {
            ColumnType::Text => "Nullable(String)",
            ColumnType::Integer => "Nullable(Int64)",
            ColumnType::Real => "Nullable(Float64)",
            ColumnType::Boolean => "Nullable(Bool)",
            ColumnType::Json => "Nullable(String)",
            ColumnType::Timestamp => "Nullable(DateTime64(6, 'UTC'))",
        }
    }

    fn time_since(&self, column: &str, minutes: u32) -> String {
        format!("{column} >= now() - INTERVAL {minutes} MINUTE")
    }

    fn json_is(&self, r: &JsonRef, kind: JsonKind) -> Spelled {
        let t = format!("JSONType({})", self.raw(r)?);
        Ok(match kind {
            JsonKind::String => format!("{t} = 'String'"),
            JsonKind::Number => format!("{t} IN ('Int64', 'UInt64', 'Double')"),
            JsonKind::Bool => format!("{t} = 'Bool'"),
            JsonKind::Array => format!("{t} = 'Array'"),
        })
    }

    fn json_text(&self, r: &JsonRef) -> Spelled {
        Ok(format!("JSONExtractString({})", self.raw(r)?))
    }

    /// SPEC §3.4 (`JSONExtractFloat` alone would make 2^53 + 1 equal 2^53).
    fn json_number_cmp(&self, r: &JsonRef, op: Option<CmpOp>, n: &NumLit) -> Spelled {
        exact_json_number_cmp(self, r, op, n)
    }

    /// Asked of the document with the whole path, not of `raw`: `JSONExtractRaw` writes a
    /// double with a zero fraction (`9007199254740992.0`) back as an integer. Only consulted
    /// where the value is a number, so every index step is on an array and the 1-based indices
    /// name the same element.
    fn json_is_integer(&self, r: &JsonRef) -> Spelled {
        let mut args = vec![format!("ifNull({}, '')", r.base)];
        for step in &r.steps {
            args.push(match step {
                Step::Key(k) => self.string_literal(k)?,
                Step::Index(i) => (i + 1).to_string(),
            });
        }
        Ok(format!(
            "JSONType({}) IN ('Int64', 'UInt64')",
            args.join(", ")
        ))
    }

    /// Int128 holds every `i64` and `u64`; the raw text of a JSON integer is its digits.
    fn json_integer(&self, r: &JsonRef) -> Spelled {
        Ok(format!("toInt128OrNull({})", self.raw(r)?))
    }

    fn json_double(&self, r: &JsonRef) -> Spelled {
        Ok(format!("JSONExtractFloat({})", self.raw(r)?))
    }

    fn double(&self, expr: &str) -> String {
        format!("toFloat64({expr})")
    }

    fn json_bool_is(&self, r: &JsonRef, b: bool) -> Spelled {
        Ok(format!(
            "({} AND JSONExtractBool({}) = {})",
            self.json_is(r, JsonKind::Bool)?,
            self.raw(r)?,
            self.bool_literal(b)
        ))
    }

    /// `JSONExtractRaw` gives `''` for a missing value, never NULL.
    fn json_null_tests_total(&self) -> bool {
        true
    }

    fn json_is_null(&self, r: &JsonRef) -> Spelled {
        Ok(format!("{} IN ('', 'null')", self.raw(r)?))
    }

    /// Missing or null, or an empty string, array or object (by type and length: the raw text
    /// of `[ ]` may hold spaces, and a string's spaces count).
    fn json_is_empty(&self, r: &JsonRef) -> Spelled {
        let raw = self.raw(r)?;
        Ok(format!(
            "({raw} IN ('', 'null', '\"\"') OR (JSONType({raw}) IN ('Array', 'Object') AND JSONLength({raw}) = 0))"
        ))
    }

    fn json_value(&self, r: &JsonRef) -> Spelled {
        self.raw(r).map(str::to_string)
    }

    fn exists_element(&self, r: &JsonRef, alias: &str, body: &str) -> Spelled {
        let raw = self.raw(r)?;
        Ok(format!(
            "arrayExists({alias} -> ({body}), if(JSONType({raw}) = 'Array', JSONExtractArrayRaw({raw}), []))"
        ))
    }

    fn element_ref(&self, _r: &JsonRef, alias: &str) -> JsonRef {
        JsonRef::new(alias)
    }
}
