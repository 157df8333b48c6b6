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
    fn args<'r>(&self, r: &'r JsonRef) -> Result<&'r str, Unsupported> {
        r.spelled(|r| {
            Ok(format!(
                "{}, {}",
                r.base,
                self.string_literal(&json_path(&r.steps)?)?
            ))
        })
    }

    /// The JSON value at `r`: `json_extract`, or an array element itself. The elements of
    /// `TRY_CAST(.. AS JSON[])` are written by DuckDB's JSON writer (no white space, escapes
    /// normalised, checked on DuckDB 1.5.6), in the same form as `json_extract`'s result and
    /// `to_json`'s, so the element's own text needs no parse.
    fn value(&self, r: &JsonRef) -> Spelled {
        if r.canonical && r.steps.is_empty() {
            return Ok(r.base.clone());
        }
        Ok(format!("json_extract({})", self.args(r)?))
    }

    fn jtype(&self, r: &JsonRef) -> Spelled {
        Ok(format!("json_type({})", self.args(r)?))
    }

    /// The JSON value at `r` is an integer within 64 bits.
    fn is_integer(&self, r: &JsonRef) -> Spelled {
        Ok(format!(
            "list_contains(['BIGINT', 'UBIGINT'], {})",
            self.jtype(r)?
        ))
    }
}

/// Whether `expr` is a column name (plain or quoted), not a computed expression.
fn is_column(expr: &str) -> bool {
    is_plain_identifier(expr)
        || expr.len() >= 2
            && expr.starts_with('"')
            && expr.ends_with('"')
            && !expr[1..expr.len() - 1].replace("\"\"", "").contains('"')
}

impl Dialect for DuckDb {
    fn name(&self) -> &'static str {
        "duckdb"
    }

    fn identifier_case(&self) -> IdentCase {
        IdentCase::Insensitive
    }

    fn engines(&self) -> &'static [&'static str] {
        &["duckdb"]
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

    // DuckDB rewrites `f(x) IN (a, b, c)` with up to four literals into `f(x) = a OR f(x) = b
    // OR ..`, which calls `f` once per literal: a JSON function parses the document again for
    // each (BENCHMARKS.md section 4a). `list_contains` calls it once, with the same result
    // (NULL when `expr` is NULL, which the renderer treats as IN's NULL). A bare column keeps
    // `IN`, which DuckDB applies while scanning.
    fn in_list(&self, expr: &str, literals: &[String]) -> String {
        if is_column(expr) {
            format!("{expr} IN ({})", literals.join(", "))
        } else {
            format!("list_contains([{}], {expr})", literals.join(", "))
        }
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
        // A canonical text starts with `"` exactly when it is a string.
        if kind == JsonKind::String && r.canonical && r.steps.is_empty() {
            return Ok(format!("starts_with(CAST({} AS VARCHAR), '\"')", r.base));
        }
        let t = self.jtype(r)?;
        Ok(match kind {
            JsonKind::String => format!("{t} = 'VARCHAR'"),
            JsonKind::Number => format!("list_contains(['BIGINT', 'UBIGINT', 'DOUBLE'], {t})"),
            JsonKind::Bool => format!("{t} = 'BOOLEAN'"),
            JsonKind::Array => format!("{t} = 'ARRAY'"),
        })
    }

    fn json_text(&self, r: &JsonRef) -> Spelled {
        Ok(format!("json_extract_string({})", self.args(r)?))
    }

    // `json_extract` gives the value as JSON text, written by the same writer as `to_json` of
    // the literal (escapes normalised, non-ASCII as UTF-8), so the two texts are equal exactly
    // when the value is a string equal to the literal: a number, boolean, array or object never
    // writes as a quoted string, and a missing path is NULL. One parse of the document per row
    // instead of two (`json_type`, then `json_extract_string`): 0.65x the CPU of the pair on a
    // million rows (BENCHMARKS.md section 4a). `to_json` of a literal is folded to a constant.
    fn json_string_in(&self, r: &JsonRef, values: &[String]) -> Option<Spelled> {
        let spell = || -> Spelled {
            let value = self.value(r)?;
            Ok(match values {
                [one] => format!("{value} = to_json({})", self.string_literal(one)?),
                _ => {
                    let mut list = String::from("list_contains([");
                    for (i, v) in values.iter().enumerate() {
                        if i > 0 {
                            list.push_str(", ");
                        }
                        list.push_str("to_json(");
                        list.push_str(&self.string_literal(v)?);
                        list.push(')');
                    }
                    list.push_str("], ");
                    list.push_str(&value);
                    list.push(')');
                    list
                }
            })
        };
        Some(spell())
    }

    /// Its `json_number_cmp` splits by `json_type` itself (HUGEINT for integers).
    fn json_number_cmp_follows_kinds(&self) -> bool {
        true
    }

    fn json_number_cmp(&self, r: &JsonRef, op: Option<CmpOp>, n: &NumLit) -> Spelled {
        let sym = cmp_symbol(op);
        let lit = self.number_literal(&n.value);
        Ok(if !matches!(n.how, NumCmp::Double | NumCmp::Either) {
            // Integers compare exactly (HUGEINT holds every i64 and u64); doubles as doubles.
            let t = self.jtype(r)?;
            let text = self.json_text(r)?;
            format!(
                "({} AND TRY_CAST({text} AS HUGEINT) {sym} {lit} OR {t} = 'DOUBLE' AND TRY_CAST({text} AS DOUBLE) {sym} {lit})",
                self.is_integer(r)?
            )
        } else {
            // `Either` (an integer literal below 2^53) compares as doubles too (plan::NumCmp).
            // One lookup: `json_extract` writes a number as its text (`NaN`, `Infinity` and
            // integers beyond 64 bits included), which casts to the same double as
            // `json_extract_string` after a kind test; every other value writes as text no
            // double cast reads (`"80"` quoted, `true`, `null`, `[..]`), so the cast is NULL
            // there, where the kind test made it false. Checked on DuckDB 1.5.6 value by value
            // (BENCHMARKS.md section 4a).
            format!(
                "TRY_CAST(CAST({} AS VARCHAR) AS DOUBLE) {sym} {lit}",
                self.value(r)?
            )
        })
    }

    /// `BIGINT`/`UBIGINT` are integers without fraction or exponent within 64 bits.
    fn json_is_integer(&self, r: &JsonRef) -> Spelled {
        self.is_integer(r)
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

    // One lookup: `json_extract` writes a boolean as `true`/`false` and a string as quoted
    // text, so only the boolean is equal to `to_json(b)`.
    fn json_bool_is(&self, r: &JsonRef, b: bool) -> Spelled {
        Ok(format!("{} = to_json({b})", self.value(r)?))
    }

    fn json_is_null(&self, r: &JsonRef) -> Spelled {
        Ok(format!("{} = 'NULL'", self.jtype(r)?))
    }

    // One lookup: `json_extract` writes JSON null as `null` and empty containers without white
    // space; a missing path is NULL, which the speller reads as empty.
    fn json_is_empty(&self, r: &JsonRef) -> Spelled {
        Ok(format!(
            "list_contains(['null', '\"\"', '[]', '{{}}'], CAST({} AS VARCHAR))",
            self.value(r)?
        ))
    }

    fn json_value(&self, r: &JsonRef) -> Spelled {
        Ok(format!("json_extract({})", self.args(r)?))
    }

    // A lambda over the array's elements, not `EXISTS (SELECT .. FROM json_each(..))`: DuckDB
    // cannot turn a correlated EXISTS under OR into a semi-join, and runs it as a join over
    // every row's elements (7x slower on the Linux shell-history rule in BENCHMARKS.md).
    // `list_filter` keeps the elements whose body is true (NULL counts as false), so the test
    // is two-valued. `TRY_CAST(.. AS JSON[])` is the list of an array's elements and NULL for
    // every other value (a string holding `[..]` is quoted text, checked on DuckDB 1.5.6), so no
    // `json_type` test is needed first: one lookup of the path. `lambda x:` needs DuckDB 1.3+.
    fn exists_element(&self, r: &JsonRef, alias: &str, body: &str) -> Spelled {
        Ok(format!(
            "COALESCE(len(list_filter(TRY_CAST({} AS JSON[]), lambda {alias}: {body})) > 0, FALSE)",
            self.value(r)?,
        ))
    }

    fn time_since(&self, column: &str, minutes: u32) -> String {
        format!("{column} >= now() - INTERVAL {minutes} MINUTE")
    }

    fn qualify_correlated_columns(&self) -> bool {
        true
    }

    fn element_ref(&self, _r: &JsonRef, alias: &str) -> JsonRef {
        JsonRef::canonical_element(alias)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|x| format!("'{x}'")).collect()
    }

    #[test]
    fn a_value_list_over_a_column_stays_in_and_over_an_expression_is_list_contains() {
        let d = DuckDb;
        let ab = lits(&["a", "b"]);
        assert_eq!(d.in_list("eventName", &ab), "eventName IN ('a', 'b')");
        assert_eq!(d.in_list("\"user\"", &ab), "\"user\" IN ('a', 'b')");
        assert_eq!(d.in_list("\"a \"\"b\"", &ab), "\"a \"\"b\" IN ('a', 'b')");
        assert_eq!(
            d.in_list("lower(\"action\")", &ab),
            "list_contains(['a', 'b'], lower(\"action\"))"
        );
        assert_eq!(
            d.in_list("json_extract_string(location, '$.country')", &ab),
            "list_contains(['a', 'b'], json_extract_string(location, '$.country'))"
        );
        // Two quoted names side by side are not one column.
        assert!(!is_column("\"a\" || \"b\""));
    }
}
