//! DuckDB: JSON columns (`JSON` type), `json_type`/`json_extract_string` with JSONPath,
//! list lambdas for arrays, RE2 `regexp_matches`, plain-string `contains`/`starts_with`/`ends_with`.

use super::dialect::*;
use crate::backend::regexp::{self, Flavour};
use crate::backend::schema::ColumnType;
use crate::ir::{CmpOp, Step};

pub struct DuckDb;

/// A JSONPath (`$.a."odd key"[0]`), or a JSON pointer (`/a/`) when a key is empty, which
/// JSONPath cannot name.
pub fn json_path(steps: &[Step]) -> Result<String, Unsupported> {
    let empty_key = steps
        .iter()
        .any(|s| matches!(s, Step::Key(k) if k.is_empty()));
    if empty_key {
        if steps.iter().any(|s| matches!(s, Step::Index(_))) {
            return Err(Unsupported::new(
                "DuckDB cannot address an empty JSON key and an array index in one path".into(),
            ));
        }
        let mut p = String::new();
        for s in steps {
            if let Step::Key(k) = s {
                p.push('/');
                p.push_str(&k.replace('~', "~0").replace('/', "~1"));
            }
        }
        return Ok(p);
    }
    let mut p = String::from("$");
    for s in steps {
        match s {
            Step::Key(k) if is_simple_name(k) => {
                p.push('.');
                p.push_str(k);
            }
            Step::Key(k) => {
                p.push_str(".\"");
                p.push_str(&k.replace('\\', "\\\\").replace('"', "\\\""));
                p.push('"');
            }
            Step::Index(i) => p.push_str(&format!("[{i}]")),
        }
    }
    Ok(p)
}

impl DuckDb {
    fn args(&self, r: &JsonRef) -> Result<String, Unsupported> {
        Ok(format!(
            "{}, {}",
            r.base,
            self.string_literal(&json_path(&r.steps)?)?
        ))
    }

    fn jtype(&self, r: &JsonRef) -> Spelled {
        Ok(format!("json_type({})", self.args(r)?))
    }
}

impl Dialect for DuckDb {
    fn name(&self) -> &'static str {
        "duckdb"
    }

    fn contains(&self, hay: &str, needle: &str, _: usize) -> String {
        format!("contains({hay}, {needle})")
    }

    fn ends_with(&self, hay: &str, needle: &str, _: usize) -> String {
        format!("ends_with({hay}, {needle})")
    }

    fn contains_expr(&self, hay: &str, needle: &str) -> String {
        format!("contains({hay}, {needle})")
    }

    fn ends_with_expr(&self, hay: &str, needle: &str) -> String {
        format!("ends_with({hay}, {needle})")
    }

    fn regex_search(&self, hay: &str, pattern: &str) -> Spelled {
        Ok(format!(
            "regexp_matches({hay}, {})",
            self.string_literal(&regexp::translate(pattern, Flavour::Re2)?.pattern)?
        ))
    }

    fn column_type(&self, ty: ColumnType) -> &'static str {
        match ty {
            ColumnType::Text => "VARCHAR",
            ColumnType::Integer => "BIGINT",
            ColumnType::Real => "DOUBLE",
            ColumnType::Boolean => "BOOLEAN",
            ColumnType::Json => "JSON",
            ColumnType::Timestamp => "TIMESTAMPTZ",
        }
    }

    fn json_is(&self, r: &JsonRef, kind: JsonKind) -> Spelled {
        let t = self.jtype(r)?;
        Ok(match kind {
            JsonKind::String => format!("{t} = 'VARCHAR'"),
            JsonKind::Number => format!("{t} IN ('BIGINT', 'UBIGINT', 'DOUBLE')"),
            JsonKind::Bool => format!("{t} = 'BOOLEAN'"),
            JsonKind::Array => format!("{t} = 'ARRAY'"),
        })
    }

    fn json_text(&self, r: &JsonRef) -> Spelled {
        Ok(format!("json_extract_string({})", self.args(r)?))
    }

    fn json_number_cmp(&self, r: &JsonRef, op: Option<CmpOp>, n: &serde_json::Number) -> Spelled {
        let t = self.jtype(r)?;
        let text = self.json_text(r)?;
        let sym = cmp_symbol(op);
        let lit = self.number_literal(n);
        Ok(if n.is_i64() || n.is_u64() {
            // Integers compare exactly (HUGEINT holds every i64 and u64); doubles as doubles.
            format!(
                "({t} IN ('BIGINT', 'UBIGINT') AND TRY_CAST({text} AS HUGEINT) {sym} {lit} OR {t} = 'DOUBLE' AND TRY_CAST({text} AS DOUBLE) {sym} {lit})"
            )
        } else {
            format!(
                "({t} IN ('BIGINT', 'UBIGINT', 'DOUBLE') AND TRY_CAST({text} AS DOUBLE) {sym} {lit})"
            )
        })
    }

    /// `BIGINT`/`UBIGINT` are integers without fraction or exponent within 64 bits.
    fn json_is_integer(&self, r: &JsonRef) -> Spelled {
        Ok(format!("{} IN ('BIGINT', 'UBIGINT')", self.jtype(r)?))
    }

    /// HUGEINT holds every `i64` and `u64` exactly.
    fn json_integer(&self, r: &JsonRef) -> Spelled {
        Ok(format!("TRY_CAST({} AS HUGEINT)", self.json_text(r)?))
    }

    fn json_double(&self, r: &JsonRef) -> Spelled {
        Ok(format!("TRY_CAST({} AS DOUBLE)", self.json_text(r)?))
    }

    fn double(&self, expr: &str) -> String {
        format!("CAST({expr} AS DOUBLE)")
    }

    fn json_bool_is(&self, r: &JsonRef, b: bool) -> Spelled {
        Ok(format!(
            "({} = 'BOOLEAN' AND {} = '{b}')",
            self.jtype(r)?,
            self.json_text(r)?
        ))
    }

    fn json_is_null(&self, r: &JsonRef) -> Spelled {
        Ok(format!("{} = 'NULL'", self.jtype(r)?))
    }

    fn json_is_empty(&self, r: &JsonRef) -> Spelled {
        Ok(format!(
            "{} = 'NULL' OR CAST(json_extract({}) AS VARCHAR) IN ('\"\"', '[]', '{{}}')",
            self.jtype(r)?,
            self.args(r)?
        ))
    }

    fn json_value(&self, r: &JsonRef) -> Spelled {
        Ok(format!("json_extract({})", self.args(r)?))
    }

    // A lambda over the array's elements, not `EXISTS (SELECT .. FROM json_each(..))`: DuckDB
    // cannot turn a correlated EXISTS under OR into a semi-join, and runs it as a join over
    // every row's elements (7x slower on the Linux shell-history rule in BENCHMARKS.md).
    // `list_filter` keeps the elements whose body is true (NULL counts as false), so the test
    // is two-valued; the CASE keeps non-arrays from the cast. `lambda x:` needs DuckDB 1.3+.
    fn exists_element(&self, r: &JsonRef, alias: &str, body: &str) -> Spelled {
        Ok(format!(
            "COALESCE(len(list_filter(CASE WHEN {} THEN CAST(json_extract({}) AS JSON[]) END, lambda {alias}: {body})) > 0, FALSE)",
            self.json_is(r, JsonKind::Array)?,
            self.args(r)?,
        ))
    }

    fn time_since(&self, column: &str, minutes: u32) -> String {
        format!("{column} >= now() - INTERVAL {minutes} MINUTE")
    }

    fn qualify_correlated_columns(&self) -> bool {
        true
    }

    fn element_ref(&self, _r: &JsonRef, alias: &str) -> JsonRef {
        JsonRef::new(alias.to_string())
    }
}
