//! SQLite: JSON kept as TEXT and read with JSON1 (`json_type`, `json_extract`, `json_each`).
//! Stock SQLite has no `REGEXP` function and an ASCII-only `lower()`: the host must register a
//! `regexp(pattern, text)` function (ruleqc's embedded engine does, with the `regex` crate) and,
//! for exact `~` comparisons on non-ASCII text, a Unicode `lower()` (ruleqc's engine does).

use super::dialect::*;
use crate::backend::schema::ColumnType;
use crate::ir::{CmpOp, Step};

pub struct Sqlite;

impl Sqlite {
    /// The path as a SQL expression: a literal `'$.a."b c"[0]'`, or `prefix || '...'`.
    fn path(&self, r: &JsonRef) -> Spelled {
        let mut p = String::new();
        for s in &r.steps {
            match s {
                Step::Key(k) => {
                    // Backslash escapes inside a quoted label need SQLite 3.45 or newer.
                    p.push_str(".\"");
                    p.push_str(&k.replace('\\', "\\\\").replace('"', "\\\""));
                    p.push('"');
                }
                Step::Index(i) => p.push_str(&format!("[{i}]")),
            }
        }
        Ok(match &r.prefix {
            Some(prefix) if p.is_empty() => prefix.clone(),
            Some(prefix) => format!("{prefix} || {}", self.string_literal(&p)?),
            None => self.string_literal(&format!("${p}"))?,
        })
    }

    fn args<'r>(&self, r: &'r JsonRef) -> Result<&'r str, Unsupported> {
        r.spelled(|r| Ok(format!("{}, {}", r.base, self.path(r)?)))
    }

    fn jtype(&self, r: &JsonRef) -> Spelled {
        Ok(format!("json_type({})", self.args(r)?))
    }
}

impl Dialect for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn identifier_case(&self) -> IdentCase {
        IdentCase::Insensitive
    }

    fn engines(&self) -> &'static [&'static str] {
        &["sqlite"]
    }

    /// SQLite's parser nests `a OR b OR c ...` one level per operand and refuses an expression
    /// over 1,000 deep (SQLITE_MAX_EXPR_DEPTH): a Sigma rule's list of 4,000 hashes or a
    /// `not_in` of 500 numbers would not run. Groups of 64 keep a chain of a million operands
    /// about 200 deep.
    fn max_chain(&self) -> Option<usize> {
        Some(64)
    }

    /// `time_since` compares the column's text with `datetime('now', ...)`.
    fn time_since_reads_text(&self) -> bool {
        true
    }

    fn char_code(&self, code: u32) -> String {
        format!("char({code})")
    }

    fn contains(&self, hay: &str, needle: &str, _: usize) -> String {
        format!("instr({hay}, {needle}) > 0")
    }

    fn starts_with(&self, hay: &str, needle: &str, chars: usize) -> String {
        format!("substr({hay}, 1, {chars}) = {needle}")
    }

    fn ends_with(&self, hay: &str, needle: &str, chars: usize) -> String {
        format!("substr({hay}, -{chars}) = {needle}")
    }

    fn contains_expr(&self, hay: &str, needle: &str) -> String {
        format!("instr({hay}, {needle}) > 0")
    }

    fn starts_with_expr(&self, hay: &str, needle: &str) -> String {
        format!("substr({hay}, 1, length({needle})) = {needle}")
    }

    /// `substr(x, 0)` is all of `x` in SQLite, so the start is counted from the left: with an
    /// empty needle it is one past the end (`''`), with a longer one the result is too short.
    fn ends_with_expr(&self, hay: &str, needle: &str) -> String {
        format!("substr({hay}, length({hay}) - length({needle}) + 1) = {needle}")
    }

    fn regex_search(&self, hay: &str, pattern: &str) -> Spelled {
        Ok(format!("{hay} REGEXP {}", self.string_literal(pattern)?))
    }

    fn column_type(&self, ty: ColumnType) -> &'static str {
        match ty {
            ColumnType::Text => "TEXT",
            ColumnType::Integer => "INTEGER",
            ColumnType::Real => "REAL",
            ColumnType::Boolean => "BOOLEAN",
            ColumnType::Json => "TEXT",
            ColumnType::Timestamp => "TEXT",
        }
    }

    fn time_since(&self, column: &str, minutes: u32) -> String {
        format!("{column} >= datetime('now', '-{minutes} minutes')")
    }

    fn json_is(&self, r: &JsonRef, kind: JsonKind) -> Spelled {
        let t = self.jtype(r)?;
        Ok(match kind {
            JsonKind::String => format!("{t} = 'text'"),
            JsonKind::Number => format!("{t} IN ('integer', 'real')"),
            JsonKind::Bool => format!("{t} IN ('true', 'false')"),
            JsonKind::Array => format!("{t} = 'array'"),
        })
    }

    fn json_text(&self, r: &JsonRef) -> Spelled {
        Ok(format!("json_extract({})", self.args(r)?))
    }

    fn json_number_cmp(&self, r: &JsonRef, op: Option<CmpOp>, n: &NumLit) -> Spelled {
        // json_extract gives an INTEGER or REAL; SQLite compares integers exactly.
        Ok(format!(
            "({} IN ('integer', 'real') AND {} {} {})",
            self.jtype(r)?,
            self.json_text(r)?,
            cmp_symbol(op),
            self.number_literal(&n.value)
        ))
    }

    /// JSON1 types a number without fraction or exponent `integer` (even beyond `i64`, where
    /// `json_extract` gives a REAL: such values compare as doubles, as with literals).
    fn json_is_integer(&self, r: &JsonRef) -> Spelled {
        Ok(format!("{} = 'integer'", self.jtype(r)?))
    }

    fn json_integer(&self, r: &JsonRef) -> Spelled {
        self.json_text(r)
    }

    fn json_double(&self, r: &JsonRef) -> Spelled {
        Ok(self.double(&self.json_text(r)?))
    }

    /// SQLite compares an INTEGER with a REAL exactly; SPEC wants doubles there.
    fn double(&self, expr: &str) -> String {
        format!("CAST({expr} AS REAL)")
    }

    fn json_bool_is(&self, r: &JsonRef, b: bool) -> Spelled {
        Ok(format!("{} = '{b}'", self.jtype(r)?))
    }

    fn json_is_null(&self, r: &JsonRef) -> Spelled {
        Ok(format!("{} = 'null'", self.jtype(r)?))
    }

    fn json_is_empty(&self, r: &JsonRef) -> Spelled {
        let t = self.jtype(r)?;
        let v = self.json_text(r)?;
        Ok(format!(
            "{t} = 'null' OR {t} = 'text' AND {v} = '' OR {t} IN ('array', 'object') AND {v} IN ('[]', '{{}}')"
        ))
    }

    fn json_value(&self, r: &JsonRef) -> Spelled {
        Ok(format!("json_extract({})", self.args(r)?))
    }

    fn exists_element(&self, r: &JsonRef, alias: &str, body: &str) -> Spelled {
        Ok(format!(
            "EXISTS (SELECT 1 FROM json_each({}) AS {alias} WHERE {} AND ({body}))",
            self.args(r)?,
            self.json_is(r, JsonKind::Array)?
        ))
    }

    /// Elements are addressed from the same document by their full path (`json_each.value` has
    /// lost the JSON type of strings and booleans).
    fn element_ref(&self, r: &JsonRef, alias: &str) -> JsonRef {
        let mut e = JsonRef::new(r.base.clone());
        e.prefix = Some(format!("{alias}.fullkey"));
        e
    }
}
