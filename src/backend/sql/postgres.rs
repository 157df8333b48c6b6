//! PostgreSQL: JSON in `jsonb` columns, read with `->` (text keys, integer indexes, so a key
//! never finds an array element and an index never finds an object member), `jsonb_typeof`,
//! `jsonb_array_elements`; regexes translated to POSIX AREs for `~`.

use super::dialect::*;
use crate::backend::regexp::{self, Flavour};
use crate::backend::schema::ColumnType;
use crate::ir::{CmpOp, Step};

pub struct Postgres;

impl Postgres {
    /// The jsonb value at `r`, parenthesised. An index applies only to arrays: PostgreSQL's
    /// `-> 0` also returns a scalar itself (a jsonb scalar is stored as a one-element array).
    fn value<'r>(&self, r: &'r JsonRef) -> Result<&'r str, Unsupported> {
        r.spelled(|r| {
            if r.steps.is_empty() {
                return Ok(r.base.clone());
            }
            let mut s = r.base.clone();
            for step in &r.steps {
                s = match step {
                    Step::Key(k) => format!("({s} -> {})", self.string_literal(k)?),
                    Step::Index(i) => {
                        format!("(CASE WHEN jsonb_typeof({s}) = 'array' THEN {s} -> {i} END)")
                    }
                };
            }
            Ok(s)
        })
    }

    fn jtype(&self, r: &JsonRef) -> Spelled {
        Ok(format!("jsonb_typeof({})", self.value(r)?))
    }
}

impl Dialect for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn identifier_case(&self) -> IdentCase {
        IdentCase::FoldLower
    }

    fn engines(&self) -> &'static [&'static str] {
        &["postgres"]
    }

    /// PostgreSQL folds unquoted identifiers to lower case, so `objectRef` is quoted.
    fn quote_ident(&self, name: &str) -> String {
        if is_plain_identifier(name) && !name.chars().any(|c| c.is_ascii_uppercase()) {
            name.to_string()
        } else {
            format!("\"{}\"", name.replace('"', "\"\""))
        }
    }

    fn regex_search(&self, hay: &str, pattern: &str) -> Spelled {
        Ok(format!(
            "{hay} ~ {}",
            self.string_literal(&regexp::translate(pattern, Flavour::Are)?.pattern)?
        ))
    }

    fn column_type(&self, ty: ColumnType) -> &'static str {
        match ty {
            ColumnType::Text => "text",
            ColumnType::Integer => "bigint",
            ColumnType::Real => "double precision",
            ColumnType::Boolean => "boolean",
            ColumnType::Json => "jsonb",
            ColumnType::Timestamp => "timestamptz",
        }
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
        Ok(format!("({} #>> '{{}}')", self.value(r)?))
    }

    fn json_number_cmp(&self, r: &JsonRef, op: Option<CmpOp>, n: &NumLit) -> Spelled {
        // `numeric` is exact for every JSON number.
        Ok(format!(
            "({} = 'number' AND CAST({} AS numeric) {} {})",
            self.jtype(r)?,
            self.json_text(r)?,
            cmp_symbol(op),
            self.number_literal(&n.value)
        ))
    }

    /// `jsonb` keeps a number's digits (`1.0` stays `1.0`) but writes an exponent out (`1e2`
    /// reads back as `100`, so it counts as an integer here; as a double it is the same
    /// value). The range check is behind the digit test, so the cast cannot fail.
    fn json_is_integer(&self, r: &JsonRef) -> Spelled {
        let t = self.json_text(r)?;
        Ok(format!(
            "CASE WHEN {t} ~ '^-?[0-9]{{1,20}}$' THEN CAST({t} AS numeric) BETWEEN -9223372036854775808 AND 18446744073709551615 END"
        ))
    }

    /// `numeric` is exact.
    fn json_integer(&self, r: &JsonRef) -> Spelled {
        Ok(format!("CAST({} AS numeric)", self.json_text(r)?))
    }

    fn json_double(&self, r: &JsonRef) -> Spelled {
        Ok(self.double(&self.json_text(r)?))
    }

    fn json_bool_is(&self, r: &JsonRef, b: bool) -> Spelled {
        Ok(format!("{} = '{b}'::jsonb", self.value(r)?))
    }

    fn json_is_null(&self, r: &JsonRef) -> Spelled {
        Ok(format!("{} = 'null'", self.jtype(r)?))
    }

    fn json_is_empty(&self, r: &JsonRef) -> Spelled {
        Ok(format!(
            "{} IN ('null'::jsonb, '\"\"'::jsonb, '[]'::jsonb, '{{}}'::jsonb)",
            self.value(r)?
        ))
    }

    fn json_value(&self, r: &JsonRef) -> Spelled {
        self.value(r).map(str::to_string)
    }

    fn exists_element(&self, r: &JsonRef, alias: &str, body: &str) -> Spelled {
        let v = self.value(r)?;
        // jsonb_array_elements fails on a non-array: feed it NULL (no rows) instead.
        Ok(format!(
            "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof({v}) = 'array' THEN {v} END) AS {alias}(value) WHERE {body})"
        ))
    }

    fn element_ref(&self, _r: &JsonRef, alias: &str) -> JsonRef {
        JsonRef::new(format!("{alias}.value"))
    }
}
