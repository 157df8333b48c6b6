//! BigQuery: semi-structured data in `JSON` columns, addressed with the JSON subscript operator
//! (`col['key'][0]`), typed with `JSON_TYPE`, arrays through `UNNEST(JSON_QUERY_ARRAY(...))`
//! (NULL, so no rows, for a non-array). Identifiers are quoted with backticks; string literals
//! use backslash escapes; regexes use RE2's `REGEXP_CONTAINS`.

use super::dialect::*;
use crate::backend::regexp::{self, Flavour};
use crate::backend::schema::ColumnType;
use crate::ir::{CmpOp, Step};

pub struct BigQuery;

impl BigQuery {
    fn value(&self, r: &JsonRef) -> Spelled {
        let mut s = r.base.clone();
        for step in &r.steps {
            match step {
                Step::Key(k) => s.push_str(&format!("[{}]", self.string_literal(k)?)),
                Step::Index(i) => s.push_str(&format!("[{i}]")),
            }
        }
        Ok(s)
    }

    fn jtype(&self, r: &JsonRef) -> Spelled {
        Ok(format!("JSON_TYPE({})", self.value(r)?))
    }
}

impl Dialect for BigQuery {
    fn name(&self) -> &'static str {
        "bigquery"
    }

    /// Not spelled: no BigQuery engine runs in the tests, so a spelling could not be proven.
    fn field_comparisons(&self) -> Result<(), Unsupported> {
        Err(Unsupported::new(
            "`field()` comparisons are not spelled for BigQuery yet (no engine here proves them)"
                .into(),
        ))
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

    fn lower(&self, expr: &str) -> String {
        format!("LOWER({expr})")
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

    fn json_number_cmp(&self, r: &JsonRef, op: Option<CmpOp>, n: &serde_json::Number) -> Spelled {
        Ok(format!(
            "({} = 'number' AND SAFE_CAST({} AS FLOAT64) {} {})",
            self.jtype(r)?,
            self.json_text(r)?,
            cmp_symbol(op),
            self.number_literal(n)
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
        self.value(r)
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
