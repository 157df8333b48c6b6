//! Snowflake: semi-structured data in `VARIANT` columns, addressed with bracket paths
//! (`col['key'][0]`, case-sensitive keys), typed with `IS_VARCHAR`/`IS_BOOLEAN`/...,
//! arrays through `FLATTEN`. Unquoted identifiers are upper-cased by Snowflake, so a column
//! that must be quoted is quoted in upper case to keep naming the same column.
//! Regexes use `REGEXP_INSTR(...) > 0`: `RLIKE`/`REGEXP_LIKE` match the whole string.

use super::dialect::*;
use crate::backend::regexp::{self, Flavour};
use crate::backend::schema::ColumnType;
use crate::ir::CmpOp;

pub struct Snowflake;

impl Snowflake {
    fn value<'r>(&self, r: &'r JsonRef) -> Result<&'r str, Unsupported> {
        r.spelled(|r| subscript_chain(self, r))
    }
}

impl Dialect for Snowflake {
    fn name(&self) -> &'static str {
        "snowflake"
    }

    fn identifier_case(&self) -> IdentCase {
        IdentCase::FoldUpper
    }

    fn quote_ident(&self, name: &str) -> String {
        if is_plain_identifier(name) {
            name.to_string()
        } else if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            format!("\"{}\"", name.to_ascii_uppercase())
        } else {
            format!("\"{}\"", name.replace('"', "\"\""))
        }
    }

    fn string_literal(&self, s: &str) -> Spelled {
        backslash_string_literal(s)
    }

    fn contains(&self, hay: &str, needle: &str, _: usize) -> String {
        format!("CONTAINS({hay}, {needle})")
    }

    fn starts_with(&self, hay: &str, needle: &str, _: usize) -> String {
        format!("STARTSWITH({hay}, {needle})")
    }

    fn ends_with(&self, hay: &str, needle: &str, _: usize) -> String {
        format!("ENDSWITH({hay}, {needle})")
    }

    /// `CONTAINS`, `STARTSWITH` and `ENDSWITH` are true for an empty needle.
    fn contains_expr(&self, hay: &str, needle: &str) -> String {
        format!("CONTAINS({hay}, {needle})")
    }

    fn starts_with_expr(&self, hay: &str, needle: &str) -> String {
        format!("STARTSWITH({hay}, {needle})")
    }

    fn ends_with_expr(&self, hay: &str, needle: &str) -> String {
        format!("ENDSWITH({hay}, {needle})")
    }

    fn regex_search(&self, hay: &str, pattern: &str) -> Spelled {
        // Snowflake has no inline flags: those at the start become the parameters argument,
        // after `c` (case-sensitive unless `i` follows).
        let re = regexp::translate(pattern, Flavour::Snowflake)?;
        Ok(format!(
            "REGEXP_INSTR({hay}, {}, 1, 1, 0, {}) > 0",
            self.string_literal(&re.pattern)?,
            self.string_literal(&format!("c{}", re.parameters))?
        ))
    }

    fn column_type(&self, ty: ColumnType) -> &'static str {
        match ty {
            ColumnType::Text => "VARCHAR",
            ColumnType::Integer => "NUMBER(38, 0)",
            ColumnType::Real => "DOUBLE",
            ColumnType::Boolean => "BOOLEAN",
            ColumnType::Json => "VARIANT",
            ColumnType::Timestamp => "TIMESTAMP_TZ",
        }
    }

    fn time_since(&self, column: &str, minutes: u32) -> String {
        format!("{column} >= DATEADD(minute, -{minutes}, CURRENT_TIMESTAMP())")
    }

    fn json_is(&self, r: &JsonRef, kind: JsonKind) -> Spelled {
        let v = self.value(r)?;
        Ok(match kind {
            JsonKind::String => format!("IS_VARCHAR({v})"),
            JsonKind::Number => format!("(IS_INTEGER({v}) OR IS_DECIMAL({v}) OR IS_DOUBLE({v}))"),
            JsonKind::Bool => format!("IS_BOOLEAN({v})"),
            JsonKind::Array => format!("IS_ARRAY({v})"),
        })
    }

    fn json_text(&self, r: &JsonRef) -> Spelled {
        Ok(format!("{}::VARCHAR", self.value(r)?))
    }

    /// The conversion sits inside `IFF`, not after an `AND`: SQL does not order the operands of
    /// `AND`, and `TO_DOUBLE` of an object or array is an error, so only a conditional
    /// expression keeps it away from values the type test rejects.
    fn json_number_cmp(&self, r: &JsonRef, op: Option<CmpOp>, n: &NumLit) -> Spelled {
        Ok(format!(
            "IFF({}, TO_DOUBLE({}) {} {}, FALSE)",
            self.json_is(r, JsonKind::Number)?,
            self.value(r)?,
            cmp_symbol(op),
            self.number_literal(&n.value)
        ))
    }

    /// `TYPEOF` names how `PARSE_JSON` stored a number: `INTEGER` for one written without
    /// fraction or exponent (up to 38 digits), `DECIMAL` with a fraction, `DOUBLE` with an
    /// exponent or beyond 38 digits. SPEC §3.4's integers are the `INTEGER`s within 64 bits
    /// (the cast is read only for an `INTEGER`, which always fits `NUMBER(38, 0)`).
    fn json_is_integer(&self, r: &JsonRef) -> Spelled {
        let v = self.value(r)?;
        Ok(format!(
            "CASE WHEN TYPEOF({v}) = 'INTEGER' THEN {v}::NUMBER(38, 0) BETWEEN -9223372036854775808 AND 18446744073709551615 ELSE FALSE END"
        ))
    }

    /// `NUMBER(38, 0)` holds every signed and unsigned 64-bit integer exactly.
    fn json_integer(&self, r: &JsonRef) -> Spelled {
        Ok(format!("{}::NUMBER(38, 0)", self.value(r)?))
    }

    fn json_double(&self, r: &JsonRef) -> Spelled {
        Ok(format!("TO_DOUBLE({})", self.value(r)?))
    }

    fn double(&self, expr: &str) -> String {
        format!("TO_DOUBLE({expr})")
    }

    /// `IFF` for the same reason as numbers: `::BOOLEAN` of an object is an error.
    fn json_bool_is(&self, r: &JsonRef, b: bool) -> Spelled {
        let v = self.value(r)?;
        Ok(format!(
            "IFF(IS_BOOLEAN({v}), {v}::BOOLEAN = {}, FALSE)",
            self.bool_literal(b)
        ))
    }

    fn json_is_null(&self, r: &JsonRef) -> Spelled {
        let v = self.value(r)?;
        Ok(format!("IS_NULL_VALUE({v})"))
    }

    fn json_is_empty(&self, r: &JsonRef) -> Spelled {
        let v = self.value(r)?;
        Ok(format!(
            "IS_NULL_VALUE({v}) OR IS_VARCHAR({v}) AND {v}::VARCHAR = '' OR IS_ARRAY({v}) AND ARRAY_SIZE({v}) = 0 OR IS_OBJECT({v}) AND ARRAY_SIZE(OBJECT_KEYS({v})) = 0"
        ))
    }

    fn json_value(&self, r: &JsonRef) -> Spelled {
        self.value(r).map(str::to_string)
    }

    fn exists_element(&self, r: &JsonRef, alias: &str, body: &str) -> Spelled {
        let v = self.value(r)?;
        Ok(format!(
            "EXISTS (SELECT 1 FROM TABLE(FLATTEN(INPUT => {v})) AS {alias} WHERE IS_ARRAY({v}) AND ({body}))"
        ))
    }

    fn element_ref(&self, _r: &JsonRef, alias: &str) -> JsonRef {
        JsonRef::new(format!("{alias}.value"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Flags at the start of a pattern, alone or together, become the parameters argument;
    /// elsewhere they are E0401 (Snowflake has no inline flags).
    #[test]
    fn leading_regex_flags_are_parameters() {
        let re = |p: &str| Snowflake.regex_search("s", p);
        for (pattern, want) in [
            ("a", "REGEXP_INSTR(s, 'a', 1, 1, 0, 'c') > 0"),
            ("(?i)a", "REGEXP_INSTR(s, 'a', 1, 1, 0, 'ci') > 0"),
            ("(?is)a.b", "REGEXP_INSTR(s, 'a.b', 1, 1, 0, 'cis') > 0"),
            ("(?m)^a$", "REGEXP_INSTR(s, '^a$', 1, 1, 0, 'cm') > 0"),
            ("(?im)^a", "REGEXP_INSTR(s, '^a', 1, 1, 0, 'cim') > 0"),
            (
                "(?x)(?s) a . b",
                "REGEXP_INSTR(s, 'a.b', 1, 1, 0, 'cs') > 0",
            ),
            (
                r"\d+?\.(?:x)",
                r"REGEXP_INSTR(s, '\\d+\\.(x)', 1, 1, 0, 'c') > 0",
            ),
        ] {
            assert_eq!(re(pattern).unwrap(), want, "{pattern}");
        }
        for pattern in ["a(?i)b", "(?i:a)", "(?m)\\Aa"] {
            let e = re(pattern).unwrap_err().reason;
            assert!(e.contains("Snowflake"), "{pattern}: {e}");
        }
    }
}
