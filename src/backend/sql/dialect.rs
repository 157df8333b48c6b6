//! What differs between SQL dialects, as typed capabilities with documented defaults.
//! A dialect is a unit struct that overrides only what it spells differently; the shared
//! renderer (`super`) owns the semantics (typing, NULL-safety, precedence, quantifiers).

pub use crate::backend::plan::{NumCmp, NumLit};
use crate::ir::{CmpOp, Step};

/// A JSON value inside a semi-structured column: `base` is a SQL expression holding a JSON
/// document (a column, or an array element inside a quantifier) and `steps` the path from it.
/// `prefix` is a SQL expression for a path to prepend (SQLite addresses array elements by their
/// full path from the column, `e1.fullkey`).
///
/// A check reads one value through several functions (its JSON type, then its text or number):
/// `spelled` keeps the dialect's text for the value's address, built once per `JsonRef`.
#[derive(Clone, Debug)]
pub struct JsonRef {
    pub base: String,
    pub prefix: Option<String>,
    pub steps: Vec<Step>,
    /// `base` is a JSON value the engine wrote itself (an array element it split out), so its
    /// text is in the engine's canonical form; set by a dialect's `element_ref`.
    pub canonical: bool,
    /// The dialect's spelling of this address (set by `spelled`; empty after a change above).
    cache: std::cell::OnceCell<String>,
}

impl JsonRef {
    pub fn new(base: impl Into<String>) -> JsonRef {
        JsonRef {
            base: base.into(),
            prefix: None,
            steps: Vec::new(),
            canonical: false,
            cache: std::cell::OnceCell::new(),
        }
    }

    /// An array element's alias whose text the engine wrote itself (see `canonical`).
    pub fn canonical_element(alias: impl Into<String>) -> JsonRef {
        JsonRef {
            canonical: true,
            ..JsonRef::new(alias)
        }
    }

    /// The value `steps` further down, as a new reference (nothing spelled yet).
    pub fn join(&self, steps: &[Step]) -> JsonRef {
        let mut all = Vec::with_capacity(self.steps.len() + steps.len());
        all.extend_from_slice(&self.steps);
        all.extend_from_slice(steps);
        JsonRef {
            base: self.base.clone(),
            prefix: self.prefix.clone(),
            steps: all,
            canonical: self.canonical,
            cache: std::cell::OnceCell::new(),
        }
    }

    /// The same address with another base expression (nothing spelled yet).
    pub fn with_base(self, base: String) -> JsonRef {
        JsonRef {
            base,
            canonical: false,
            cache: std::cell::OnceCell::new(),
            ..self
        }
    }

    /// The dialect's one spelling of this address (a path argument list, an accessor chain),
    /// built by `build` on first use and shared by every function that reads the value after.
    /// A dialect keeps one spelling per reference.
    pub fn spelled(&self, build: impl FnOnce(&JsonRef) -> Spelled) -> Result<&str, Unsupported> {
        if let Some(s) = self.cache.get() {
            return Ok(s);
        }
        let s = build(self)?;
        Ok(self.cache.get_or_init(|| s))
    }
}

/// `base[key][index]...`: the subscript chain of Snowflake's `VARIANT` and BigQuery's `JSON`,
/// each key as the dialect's string literal.
pub fn subscript_chain(d: &dyn Dialect, r: &JsonRef) -> Spelled {
    let mut s = r.base.clone();
    for step in &r.steps {
        s.push('[');
        match step {
            crate::ir::Step::Key(k) => s.push_str(&d.string_literal(k)?),
            crate::ir::Step::Index(i) => s.push_str(&i.to_string()),
        }
        s.push(']');
    }
    Ok(s)
}

/// The JSON types SPEC §3.4 distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonKind {
    String,
    Number,
    Bool,
    Array,
}

pub use crate::backend::Unsupported;

pub type Spelled = Result<String, Unsupported>;

/// Comparison operators in rendered SQL.
pub fn cmp_symbol(op: Option<CmpOp>) -> &'static str {
    match op {
        None => "=",
        Some(CmpOp::Gt) => ">",
        Some(CmpOp::Ge) => ">=",
        Some(CmpOp::Lt) => "<",
        Some(CmpOp::Le) => "<=",
    }
}

/// Words that are keywords in at least one of the SQL dialects ruleqc writes (SQLite's list
/// included), or that the `sqlparser` crate refuses as bare identifiers: quoting them is safe.
/// Checked against each vendor's current list: Snowflake's reserved keywords (those limited only
/// in SHOW commands, such as ACCOUNT and SCHEMA, are left out), BigQuery's reserved keywords,
/// Spark's ANSI-mode reserved words, and, on the engines themselves, DuckDB's
/// `duckdb_keywords()` and PostgreSQL's reserved and type/function-name keywords (every one
/// that fails as a bare column in a WHERE clause). ClickHouse reserves none that matter here.
const RESERVED: &[&str] = &[
    "abort",
    "action",
    "add",
    "after",
    "all",
    "alter",
    "always",
    "analyse",
    "analyze",
    "and",
    "anti",
    "any",
    "array",
    "as",
    "asc",
    "asof",
    "assert_rows_modified",
    "asymmetric",
    "at",
    "attach",
    "authorization",
    "autoincrement",
    "before",
    "begin",
    "between",
    "binary",
    "both",
    "by",
    "cascade",
    "case",
    "cast",
    "check",
    "collate",
    "collation",
    "column",
    "commit",
    "concurrently",
    "conflict",
    "connect",
    "constraint",
    "contains",
    "create",
    "cross",
    "cube",
    "current",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "database",
    "default",
    "deferrable",
    "deferred",
    "define",
    "delete",
    "desc",
    "describe",
    "detach",
    "distinct",
    "do",
    "drop",
    "each",
    "else",
    "end",
    "enum",
    "escape",
    "except",
    "exclude",
    "exclusive",
    "exists",
    "explain",
    "extract",
    "fail",
    "false",
    "fetch",
    "filter",
    "first",
    "following",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "generated",
    "glob",
    "grant",
    "group",
    "grouping",
    "groups",
    "hash",
    "having",
    "if",
    "ignore",
    "ilike",
    "immediate",
    "in",
    "increment",
    "index",
    "indexed",
    "initially",
    "inner",
    "insert",
    "instead",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "key",
    "lambda",
    "last",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "lookup",
    "match",
    "materialized",
    "merge",
    "minus",
    "natural",
    "new",
    "no",
    "not",
    "nothing",
    "notnull",
    "null",
    "nulls",
    "of",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "others",
    "outer",
    "over",
    "overlaps",
    "partition",
    "pivot",
    "pivot_longer",
    "pivot_wider",
    "placing",
    "plan",
    "positional",
    "pragma",
    "preceding",
    "primary",
    "proto",
    "qualify",
    "query",
    "raise",
    "range",
    "recursive",
    "references",
    "regexp",
    "reindex",
    "release",
    "rename",
    "replace",
    "respect",
    "restrict",
    "returning",
    "revoke",
    "right",
    "rlike",
    "rollback",
    "rollup",
    "row",
    "rows",
    "sample",
    "savepoint",
    "select",
    "semi",
    "session_user",
    "set",
    "show",
    "similar",
    "some",
    "start",
    "struct",
    "summarize",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "temp",
    "temporary",
    "then",
    "ties",
    "to",
    "trailing",
    "transaction",
    "treat",
    "trigger",
    "true",
    "try_cast",
    "unbounded",
    "union",
    "unique",
    "unnest",
    "unpack",
    "unpivot",
    "update",
    "user",
    "using",
    "vacuum",
    "values",
    "variadic",
    "verbose",
    "view",
    "virtual",
    "when",
    "whenever",
    "where",
    "window",
    "with",
    "within",
    "without",
];

/// `[A-Za-z_][A-Za-z0-9_]*`: a name every dialect writes bare in a JSON path.
pub fn is_simple_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A simple name that is not reserved: needs no quoting as an identifier.
pub fn is_plain_identifier(name: &str) -> bool {
    is_simple_name(name) && !is_reserved(name)
}

/// `RESERVED` (sorted, lower case) holds `name` in any case: a binary search comparing ASCII
/// case-blind, without lower-casing a copy (this runs for every column of every check).
fn is_reserved(name: &str) -> bool {
    RESERVED
        .binary_search_by(|w| w.bytes().cmp(name.bytes().map(|b| b.to_ascii_lowercase())))
        .is_ok()
}

/// Standard SQL string literal: `'...'` with `''`; backslashes are literal. A control character
/// (U+0001..U+001F) is never written raw (SPEC §4): the literal is split around it and
/// concatenated with `char_code(c)`, the dialect's one-character function, in parentheses so
/// that the concatenation binds as one operand anywhere. NUL cannot be held.
pub fn standard_string_literal(s: &str, char_code: &dyn Fn(u32) -> String) -> Spelled {
    if s.contains('\0') {
        return Err(Unsupported::new(
            "a string value contains a NUL character, which SQL text cannot hold".into(),
        ));
    }
    if !s.chars().any(|c| c.is_ascii_control() && c != '\x7f') {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('\'');
        for (i, part) in s.split('\'').enumerate() {
            if i > 0 {
                out.push_str("''");
            }
            out.push_str(part);
        }
        out.push('\'');
        return Ok(out);
    }
    let mut parts = Vec::new();
    let mut run = String::new();
    for c in s.chars() {
        if c.is_ascii_control() && c != '\x7f' {
            if !run.is_empty() {
                parts.push(format!(
                    "'{}'",
                    std::mem::take(&mut run).replace('\'', "''")
                ));
            }
            parts.push(char_code(c as u32));
        } else {
            run.push(c);
        }
    }
    if !run.is_empty() {
        parts.push(format!("'{}'", run.replace('\'', "''")));
    }
    Ok(format!("({})", parts.join(" || ")))
}

/// `'...'` where backslash is an escape character (BigQuery, Databricks, ClickHouse, Snowflake).
pub fn backslash_string_literal(s: &str) -> Spelled {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => {
                return Err(Unsupported::new(
                    "a string value contains a NUL character, which SQL text cannot hold".into(),
                ));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    Ok(out)
}

/// `n` as a double literal: the shortest exponent form that reads back as the same double
/// (`9.223372036854776e18`), a double in every dialect's grammar (PostgreSQL reads it as
/// `numeric`, which converts to that double wherever it meets one).
pub fn double_literal(n: &serde_json::Number) -> String {
    format!("{:e}", n.as_f64().unwrap_or(f64::NAN))
}

/// SPEC §3.4 for a JSON value against a number literal: an integer value and an integer literal
/// compare exactly, any other pair as doubles; NULL when the value is not a number. Built from
/// the dialect's `json_is(Number)`, `json_is_integer`, `json_integer` and `json_double`, in
/// CASEs so that a value is read as a number only once it is known to be one.
pub fn exact_json_number_cmp(
    d: &dyn Dialect,
    r: &JsonRef,
    op: Option<CmpOp>,
    n: &NumLit,
) -> Spelled {
    let sym = cmp_symbol(op);
    let is_num = d.json_is(r, JsonKind::Number)?;
    let double = d.json_double(r)?;
    if n.how == NumCmp::Double {
        return Ok(format!(
            "CASE WHEN {is_num} THEN {double} {sym} {} END",
            d.number_literal(&n.value)
        ));
    }
    Ok(format!(
        "CASE WHEN {is_num} THEN CASE WHEN {} THEN {} {sym} {} ELSE {double} {sym} {} END END",
        d.json_is_integer(r)?,
        d.json_integer(r)?,
        d.number_literal(&n.value),
        double_literal(&n.value)
    ))
}

/// How a dialect resolves an identifier to a column: which names reach one column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentCase {
    /// Names match case-blind, quoted or not (SQLite, DuckDB, BigQuery, Databricks).
    Insensitive,
    /// An unquoted name is upper-cased, a quoted one kept (Snowflake).
    FoldUpper,
    /// An unquoted name is lower-cased, a quoted one kept (PostgreSQL).
    FoldLower,
    /// Every name is kept as written (ClickHouse).
    Exact,
}

/// A SQL dialect. Every method has a default written for standard SQL (PostgreSQL-like);
/// dialects override what they spell differently.
pub trait Dialect: Sync {
    /// The `--dialect` name.
    fn name(&self) -> &'static str;

    /// How the dialect's identifiers name columns (which event keys collide in one table).
    fn identifier_case(&self) -> IdentCase;

    /// The names of the engines `ruleqc test --engine` runs this dialect's queries on.
    fn engines(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether `time_since` compares the column's text (so a test table's time column may be
    /// text), rather than needing a `timestamp` column.
    fn time_since_reads_text(&self) -> bool {
        false
    }

    /// An identifier (column or table), quoted only when needed.
    fn quote_ident(&self, name: &str) -> String {
        if is_plain_identifier(name) {
            name.to_string()
        } else {
            format!("\"{}\"", name.replace('"', "\"\""))
        }
    }

    fn string_literal(&self, s: &str) -> Spelled {
        standard_string_literal(s, &|c| self.char_code(c))
    }

    /// The one-character string with this code point (for control characters in literals).
    fn char_code(&self, code: u32) -> String {
        format!("chr({code})")
    }

    /// Whether a top-level column of this name can be written at all.
    fn column_name_supported(&self, _name: &str) -> bool {
        true
    }

    /// The column alias for an output field, from the path as the rule wrote it.
    fn alias(&self, field: &str) -> String {
        self.quote_ident(field)
    }

    fn number_literal(&self, n: &serde_json::Number) -> String {
        n.to_string()
    }

    fn bool_literal(&self, b: bool) -> &'static str {
        if b { "TRUE" } else { "FALSE" }
    }

    /// `column` is within the last `minutes` minutes (the scheduled query's lookback).
    fn time_since(&self, column: &str, minutes: u32) -> String {
        format!("{column} >= now() - INTERVAL '{minutes} minutes'")
    }

    /// `expr` with NULL read as `default`: a nullable boolean made two-valued
    /// (`COALESCE(x, FALSE)` before a `NOT`; `COALESCE(x, TRUE)` for `is_null`). Must return a
    /// call, so that `NOT` needs no parentheses around it.
    fn coalesce(&self, expr: &str, default: bool) -> String {
        format!("COALESCE({expr}, {})", self.bool_literal(default))
    }

    /// `expr` equals one of `literals` (SQL literals, at least two).
    fn in_list(&self, expr: &str, literals: &[String]) -> String {
        format!("{expr} IN ({})", literals.join(", "))
    }

    /// Lower-case a text expression (the `~` forms).
    fn lower(&self, expr: &str) -> String {
        format!("lower({expr})")
    }

    /// `hay` contains the non-empty literal `needle` (already a SQL literal).
    fn contains(&self, hay: &str, needle: &str, _needle_chars: usize) -> String {
        format!("strpos({hay}, {needle}) > 0")
    }

    fn starts_with(&self, hay: &str, needle: &str, _needle_chars: usize) -> String {
        format!("starts_with({hay}, {needle})")
    }

    fn ends_with(&self, hay: &str, needle: &str, needle_chars: usize) -> String {
        format!("right({hay}, {needle_chars}) = {needle}")
    }

    /// `hay` contains the text expression `needle` (a `field()` comparison); true when
    /// `needle` is `""`, NULL when either side is NULL.
    fn contains_expr(&self, hay: &str, needle: &str) -> String {
        format!("strpos({hay}, {needle}) > 0")
    }

    /// `hay` starts with the text expression `needle` (true when `needle` is `""`).
    fn starts_with_expr(&self, hay: &str, needle: &str) -> String {
        format!("starts_with({hay}, {needle})")
    }

    /// `hay` ends with the text expression `needle` (true when `needle` is `""`).
    fn ends_with_expr(&self, hay: &str, needle: &str) -> String {
        format!("right({hay}, length({needle})) = {needle}")
    }

    /// An unanchored regex search of `hay` for the SPEC regex `pattern` (its source text).
    fn regex_search(&self, hay: &str, pattern: &str) -> Spelled;

    /// The SQL type name of each column type (for loading test events).
    fn column_type(&self, ty: crate::backend::schema::ColumnType) -> &'static str;

    // ---- semi-structured values -------------------------------------------------------------

    /// True when the value at `r` exists and has JSON type `kind` (NULL or false otherwise).
    fn json_is(&self, r: &JsonRef, kind: JsonKind) -> Spelled;

    /// The text of a JSON string at `r` (meaningful only where `json_is(String)` holds).
    fn json_text(&self, r: &JsonRef) -> Spelled;

    /// The value at `r` is a JSON string equal, case-sensitively, to one of `values`, spelled
    /// with one lookup of the path; NULL or false otherwise. `None` (the default) where the dialect has no such spelling: the speller
    /// then writes `json_is(String)` and a test of `json_text`, two lookups.
    fn json_string_in(&self, _r: &JsonRef, _values: &[String]) -> Option<Spelled> {
        None
    }

    /// The value at `r` is a number and compares with `n` (`op` None is equality).
    /// The speller asks for it where the plan allows one comparison of either sort
    /// (`NumCmp::Either`), for `NumCmp::ByKind` with `literal_is_double` only when
    /// [`Dialect::json_number_cmp_follows_kinds`] says so, and for a double literal
    /// (`NumCmp::Double`, compared as doubles whatever the value's kind) where that says so or
    /// as the fallback of `exact_json_number_cmp` on a dialect that cannot tell integers in
    /// JSON.
    fn json_number_cmp(&self, r: &JsonRef, op: Option<CmpOp>, n: &NumLit) -> Spelled;

    /// Whether `json_number_cmp` with an integer literal that is exactly a double already
    /// follows SPEC §3.4 for values of both kinds: an integer value compared with the literal
    /// exactly, a double value compared as a double (SQLite's `json_extract` gives an INTEGER
    /// or a REAL and compares them by value; DuckDB splits by `json_type`). When false (the
    /// default), a literal of 2^53 or more goes through `exact_json_number_cmp`'s split by
    /// kind, which needs `json_is_integer`: without it the rule is E0401, never a comparison
    /// that rounds an integer or reads a double's digits exactly. When true, `json_number_cmp`
    /// must also compare as doubles when `n.how` is `NumCmp::Double`.
    fn json_number_cmp_follows_kinds(&self) -> bool {
        false
    }

    /// The value at `r` is a number that SPEC §3.4 calls an integer (no fraction, no exponent,
    /// within signed or unsigned 64 bits), as far as the engine can tell (NULL or false
    /// otherwise). Only asked where `json_is(Number)` holds.
    fn json_is_integer(&self, _r: &JsonRef) -> Spelled {
        Err(Unsupported::new(format!(
            "{} cannot tell integers in JSON",
            self.name()
        )))
    }

    /// The JSON integer at `r` as an exact SQL number (only read where `json_is_integer`).
    fn json_integer(&self, r: &JsonRef) -> Spelled {
        self.json_is_integer(r)
    }

    /// The JSON number at `r` as an IEEE double (only read where `json_is(Number)` holds).
    fn json_double(&self, r: &JsonRef) -> Spelled {
        self.json_is_integer(r)
    }

    /// A numeric expression (a typed column) as an IEEE double.
    fn double(&self, expr: &str) -> String {
        format!("CAST({expr} AS DOUBLE PRECISION)")
    }

    /// The value at `r` is the boolean `b`.
    fn json_bool_is(&self, r: &JsonRef, b: bool) -> Spelled;

    /// The value at `r` is JSON null: true for null, false for any other value, and NULL or
    /// true when the value is missing (the renderer reads NULL as true with `coalesce`).
    /// E.g. `json_type(col, '$.a') = 'NULL'`.
    fn json_is_null(&self, r: &JsonRef) -> Spelled;

    /// Whether `json_is_null` and `json_is_empty` are never NULL (true on a missing value), so
    /// they need no `coalesce`; they must then be a comparison or a call.
    fn json_null_tests_total(&self) -> bool {
        false
    }

    /// The most bytes of query text the dialect's engine parses with its default settings, and
    /// how to allow more; `None` where only the general bound of W0404 applies.
    /// The engine's name is in the tuple, for the warning.
    fn max_query_bytes(&self) -> Option<(usize, &'static str, &'static str)> {
        None
    }

    /// The most operands of one `AND`/`OR` chain the dialect's parser takes in any number of
    /// them; longer chains are written as parenthesised groups (`Spell::max_operands`).
    fn max_chain(&self) -> Option<usize> {
        None
    }

    /// The value at `r` is null, `""`, `[]` or `{}`: false for any other value, and NULL or
    /// true when the value is missing (read as true with `coalesce`).
    fn json_is_empty(&self, r: &JsonRef) -> Spelled;

    /// The JSON value at `r`, for the SELECT list.
    fn json_value(&self, r: &JsonRef) -> Spelled;

    /// `EXISTS`-style test: some element of the array at `r` satisfies `body`, where `body` was
    /// rendered against `element_ref(r, alias)`. False when the value is not an array.
    fn exists_element(&self, r: &JsonRef, alias: &str, body: &str) -> Spelled;

    /// Whether a column passed to the element source inside a correlated subquery must be
    /// qualified with its table (DuckDB binds a bare `"user"` there to `current_user`).
    fn qualify_correlated_columns(&self) -> bool {
        false
    }

    /// How the body of `exists_element(r, alias, ..)` addresses the current element.
    fn element_ref(&self, r: &JsonRef, alias: &str) -> JsonRef;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 12: Snowflake reserves these (CONNECT, MINUS, REVOKE, WHENEVER, TRY_CAST); DuckDB
    /// refuses PIVOT, SHOW, LAMBDA ... as bare columns; BigQuery reserves HASH, STRUCT, ....
    #[test]
    fn vendor_reserved_words_are_quoted() {
        for w in [
            "connect",
            "MINUS",
            "revoke",
            "whenever",
            "try_cast",
            "increment",
            "pivot",
            "show",
            "lambda",
            "semi",
            "anti",
            "hash",
            "struct",
            "contains",
            "merge",
            "proto",
        ] {
            assert!(!is_plain_identifier(w), "{w}");
        }
        for w in ["account", "schema", "message", "user_name"] {
            assert!(is_plain_identifier(w), "{w}");
        }
    }

    /// `is_reserved` searches the list by halves.
    #[test]
    fn reserved_words_are_sorted_and_lower_case() {
        assert!(RESERVED.windows(2).all(|w| w[0] < w[1]));
        assert!(RESERVED.iter().all(|w| *w == w.to_ascii_lowercase()));
        for w in RESERVED {
            assert!(
                is_reserved(w) && is_reserved(&w.to_ascii_uppercase()),
                "{w}"
            );
        }
        assert!(!is_reserved("abortx") && !is_reserved("withoutz") && !is_reserved(""));
    }

    #[test]
    fn control_characters_are_concatenated_not_written() {
        let chr = |c: u32| format!("chr({c})");
        assert_eq!(standard_string_literal("a'b", &chr).unwrap(), "'a''b'");
        assert_eq!(
            standard_string_literal("\r\nx\t", &chr).unwrap(),
            "(chr(13) || chr(10) || 'x' || chr(9))"
        );
        assert!(standard_string_literal("a\0", &chr).is_err());
    }

    #[test]
    fn double_literals() {
        let n = |s: &str| serde_json::from_str::<serde_json::Number>(s).unwrap();
        assert_eq!(
            double_literal(&n("9223372036854775807")),
            "9.223372036854776e18"
        );
        assert_eq!(double_literal(&n("1000")), "1e3");
    }
}
