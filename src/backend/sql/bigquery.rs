//! BigQuery: semi-structured data in `JSON` columns, addressed with the JSON subscript operator
//! (`col['key'][0]`), typed with `JSON_TYPE`, arrays through `UNNEST(JSON_QUERY_ARRAY(...))`
//! (NULL, so no rows, for a non-array). Identifiers are quoted with backticks; string literals
//! use backslash escapes; regexes use RE2's `REGEXP_CONTAINS`.

use super::dialect::*;
use crate::backend::regexp::{self, Flavour};
use crate::backend::schema::ColumnType;
use crate::ir::CmpOp;

pub struct BigQuery;

impl BigQuery {
    fn value<'r>(&self, r: &'r JsonRef) -> Result<&'r str, Unsupported> {
        r.spelled(|r| subscript_chain(self, r))
    }

    fn jtype(&self, r: &JsonRef) -> Spelled {
        Ok(format!("JSON_TYPE({})", self.value(r)?))
    }
}

impl Dialect for BigQuery {
    fn name(&self) -> &'static str {
        "bigquery"
    }

    fn identifier_case(&self) -> IdentCase {
        IdentCase::Insensitive
    }

    fn quote_ident(&self, name: &str) -> String {
        if is_plain_identifier(name) {
            name.to_string()
        } else {
            format!("`{name}`")
        }
    }

    /// BigQuery column names cannot hold a backtick (or a backslash) in any form.
    fn column_name_supported(&self, name: &str) -> bool {
        !name.contains('`') && !name.contains('\\')
    }

    /// BigQuery column names are letters, digits and underscores.
    fn alias(&self, field: &str) -> String {
        let mut a: String = field
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        if !a.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            a.insert(0, '_');
        }
        self.quote_ident(&a)
    }

    fn string_literal(&self, s: &str) -> Spelled {
        backslash_string_literal(s)
    }

    fn contains(&self, hay: &str, needle: &str, _: usize) -> String {
        format!("STRPOS({hay}, {needle}) > 0")
    }

    fn starts_with(&self, hay: &str, needle: &str, _: usize) -> String {
        format!("STARTS_WITH({hay}, {needle})")
    }

    fn ends_with(&self, hay: &str, needle: &str, _: usize) -> String {
        format!("ENDS_WITH({hay}, {needle})")
    }

    /// An empty needle is found by `STARTS_WITH` (whatever `STRPOS` says of it).
    fn contains_expr(&self, hay: &str, needle: &str) -> String {
        format!("(STARTS_WITH({hay}, {needle}) OR STRPOS({hay}, {needle}) > 0)")
    }

    fn starts_with_expr(&self, hay: &str, needle: &str) -> String {
        format!("STARTS_WITH({hay}, {needle})")
    }

    fn ends_with_expr(&self, hay: &str, needle: &str) -> String {
        format!("ENDS_WITH({hay}, {needle})")
    }

    /// GoogleSQL's `LOWER` is Unicode *full* lower-casing (ZetaSQL, its reference
    /// implementation, lowers İ to i + U+0307 and a word-final Σ to ς); SPEC's is *simple*. The
    /// two differ only there, so those two letters are lowered by hand first.
    fn lower(&self, expr: &str) -> String {
        format!("LOWER(REPLACE(REPLACE({expr}, 'İ', 'i'), 'Σ', 'σ'))")
    }

    fn regex_search(&self, hay: &str, pattern: &str) -> Spelled {
        Ok(format!(
            "REGEXP_CONTAINS({hay}, {})",
            self.string_literal(&regexp::translate(pattern, Flavour::Re2)?.pattern)?
        ))
    }

    fn double(&self, expr: &str) -> String {
        format!("CAST({expr} AS FLOAT64)")
    }

    fn column_type(&self, ty: ColumnType) -> &'static str {
        match ty {
            ColumnType::Text => "STRING",
            ColumnType::Integer => "INT64",
            ColumnType::Real => "FLOAT64",
            ColumnType::Boolean => "BOOL",
            ColumnType::Json => "JSON",
            ColumnType::Timestamp => "TIMESTAMP",
        }
    }

    fn time_since(&self, column: &str, minutes: u32) -> String {
        format!("{column} >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL {minutes} MINUTE)")
    }

    fn json_is(&self, r: &JsonRef, kind: JsonKind) -> Spelled {
        let t = self.jtype(r)?;
        Ok(match kind {
            JsonKind::String => format!("{t} = 'string'"),
            JsonKind::Number => format!("{t} = 'number'"),
            JsonKind::Bool => format!("{t} = 'boolean'"),
            JsonKind::Array => format!("{t} = 'array'"),
        })
    }

    fn json_text(&self, r: &JsonRef) -> Spelled {
        Ok(format!("JSON_VALUE({})", self.value(r)?))
    }

    fn json_number_cmp(&self, r: &JsonRef, op: Option<CmpOp>, n: &NumLit) -> Spelled {
        Ok(format!(
            "({} = 'number' AND SAFE_CAST({} AS FLOAT64) {} {})",
            self.jtype(r)?,
            self.json_text(r)?,
            cmp_symbol(op),
            self.number_literal(&n.value)
        ))
    }

    /// Not spelled: SPEC §3.4 compares two JSON numbers exactly only when both were written
    /// as integers (`1` but not `1.0`), and BigQuery documents no function that tells how a
    /// JSON number was written (`JSON_TYPE` says `number`; `INT64` accepts `1.0`).
    fn json_is_integer(&self, _r: &JsonRef) -> Spelled {
        Err(Unsupported::new(
            "BigQuery cannot tell a JSON integer from a number written with a fraction (`1` \
             from `1.0`), and SPEC §3.4 compares the two differently (an integer exactly, any \
             other number as a double); this comparison depends on which the value is (an \
             integer literal of 2^53 or more, or `field()` between numbers; such a `field()` \
             compares a JSON number only with a FLOAT64 column, and numbers of two typed \
             columns)"
                .into(),
        ))
    }

    fn json_bool_is(&self, r: &JsonRef, b: bool) -> Spelled {
        Ok(format!(
            "({} = 'boolean' AND {} = '{b}')",
            self.jtype(r)?,
            self.json_text(r)?
        ))
    }

    fn json_is_null(&self, r: &JsonRef) -> Spelled {
        Ok(format!("{} = 'null'", self.jtype(r)?))
    }

    fn json_is_empty(&self, r: &JsonRef) -> Spelled {
        Ok(format!(
            "{} = 'null' OR TO_JSON_STRING({}) IN ('\"\"', '[]', '{{}}')",
            self.jtype(r)?,
            self.value(r)?
        ))
    }

    fn json_value(&self, r: &JsonRef) -> Spelled {
        self.value(r).map(str::to_string)
    }

    fn exists_element(&self, r: &JsonRef, alias: &str, body: &str) -> Spelled {
        Ok(format!(
            "EXISTS (SELECT 1 FROM UNNEST(JSON_QUERY_ARRAY({})) AS {alias} WHERE {body})",
            self.value(r)?
        ))
    }

    fn element_ref(&self, _r: &JsonRef, alias: &str) -> JsonRef {
        JsonRef::new(alias)
    }
}
