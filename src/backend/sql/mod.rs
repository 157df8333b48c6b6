//! IR -> SQL. The shared renderer decides the semantics once — column typing, typed equality,
//! NULL-safe negation (SPEC §3.6), quantifiers, precedence — and asks the dialect only how to
//! spell each piece.
//!
//! NULL handling: a positive leaf is rendered plainly (`col = 'x'`); where the field is missing
//! it evaluates to NULL, which `WHERE`, `AND`, `OR` and `EXISTS` all treat as false because
//! the normalised IR has no `NOT` above a positive leaf. A negated leaf is rendered as
//! `NOT COALESCE(positive, FALSE)`, so it is true when the field is missing. `all` becomes
//! `NOT EXISTS (... WHERE <negated body>)`, whose body is built from negated leaves and is
//! therefore two-valued too.

pub mod bigquery;
pub mod clickhouse;
pub mod databricks;
pub mod dialect;
pub mod duckdb;
pub mod postgres;
pub mod snowflake;
pub mod sqlite;

use dialect::{Dialect, JsonKind, JsonRef, Spelled, cmp_symbol};

use crate::backend::plan::{
    self, Base, Check, Cond, FieldTest, Has, Ints, JsonPath, Kind, Known, NumCmp, NumLit, Op,
    Piece, Prec, Quant, Spell, StrOp, Val,
};
use crate::backend::schema::{ColumnType, TableSchema};
use crate::backend::{Unsupported, inferred_schema, unsupported};
use crate::diag::Diagnostic;
use crate::ir::{CmpOp, Node};
use crate::rule::Rule;

/// The SQL dialects, by `--dialect` name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SqlDialect {
    Duckdb,
    Sqlite,
    Postgres,
    Snowflake,
    Bigquery,
    Databricks,
    Clickhouse,
}

impl SqlDialect {
    pub const ALL: [SqlDialect; 7] = [
        SqlDialect::Duckdb,
        SqlDialect::Sqlite,
        SqlDialect::Postgres,
        SqlDialect::Snowflake,
        SqlDialect::Bigquery,
        SqlDialect::Databricks,
        SqlDialect::Clickhouse,
    ];

    pub fn dialect(self) -> &'static dyn Dialect {
        match self {
            SqlDialect::Duckdb => &duckdb::DuckDb,
            SqlDialect::Sqlite => &sqlite::Sqlite,
            SqlDialect::Postgres => &postgres::Postgres,
            SqlDialect::Snowflake => &snowflake::Snowflake,
            SqlDialect::Bigquery => &bigquery::BigQuery,
            SqlDialect::Databricks => &databricks::Databricks,
            SqlDialect::Clickhouse => &clickhouse::ClickHouse,
        }
    }

    pub fn name(self) -> &'static str {
        self.dialect().name()
    }
}

/// Panther's table naming: the log type lower-cased, `.` replaced by `_`
/// (`Gravitational.TeleportAudit` -> `gravitational_teleportaudit`).
pub fn default_table_name(log_type: &str) -> String {
    log_type.to_lowercase().replace('.', "_")
}

/// The whole query for a rule: `SELECT <output fields or *> FROM <table> WHERE <condition>`,
/// one SELECT per log type joined with `UNION ALL`. `schemas` gives each log type's table
/// schema; without one, column types are inferred from the rule.
pub fn render_query(
    rule: &Rule,
    d: &dyn Dialect,
    schema_for: &dyn Fn(&str) -> Option<TableSchema>,
) -> Result<String, Diagnostic> {
    render_placed_query(rule, d, &|lt| {
        Ok(Placement {
            table: vec![default_table_name(lt)],
            schema: schema_for(lt),
            time_filter: None,
        })
    })
}

/// Where a log type's data lives (from a profile).
#[derive(Clone, Debug, Default)]
pub struct Placement {
    /// The table name's parts (`["panther_logs", "public", "aws_cloudtrail"]`), each quoted by
    /// the dialect as needed.
    pub table: Vec<String>,
    /// Column types; `None` infers them from the rule.
    pub schema: Option<TableSchema>,
    /// The scheduled query's lookback filter, if the profile names a time column.
    pub time_filter: Option<TimeFilter>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimeFilter {
    /// `<column> >= now - lookback`, in the dialect's interval syntax.
    Column(String),
    /// Panther's `p_occurs_since('<n> minutes')` macro.
    PantherMacro,
}

/// The query for a rule with each log type placed by `placement_for` (a profile); the time
/// filter uses the rule's lookback.
pub fn render_placed_query(
    rule: &Rule,
    d: &dyn Dialect,
    placement_for: &dyn Fn(&str) -> Result<Placement, Diagnostic>,
) -> Result<String, Diagnostic> {
    let mut out = String::new();
    for (i, log_type) in rule.log_types.iter().enumerate() {
        let placement = placement_for(log_type)?;
        let schema = placement.schema.unwrap_or_else(|| inferred_schema(rule));
        let mut table = String::new();
        for (i, p) in placement.table.iter().enumerate() {
            if i > 0 {
                table.push('.');
            }
            table.push_str(&d.quote_ident(p));
        }
        let cond = plan::lower(&rule.condition.ir, &schema);
        let sql = Sql { d, table: &table };
        // The condition first: its errors come before the output fields'.
        let mut where_ = String::new();
        let minutes = rule.schedule.lookback_minutes;
        if let Some(tf) = &placement.time_filter {
            match tf {
                TimeFilter::Column(c) => where_.push_str(&d.time_since(&d.quote_ident(c), minutes)),
                TimeFilter::PantherMacro => {
                    where_.push_str(&format!("p_occurs_since('{minutes} minutes')"))
                }
            }
            where_.push_str("\n  AND ");
        }
        sql.where_clause(&cond, &mut where_)
            .map_err(|u| unsupported(rule, u))?;
        if i > 0 {
            out.push_str("\nUNION ALL\n");
        }
        out.push_str("SELECT ");
        if rule.output_fields.is_empty() {
            out.push('*');
        }
        for (i, f) in rule.output_fields.iter().enumerate() {
            let expr = match plan::resolve(&f.path, &schema) {
                None => "NULL".to_string(),
                Some(Val::Column { name, .. }) => {
                    sql.column(&name).map_err(|u| unsupported(rule, u))?
                }
                Some(Val::Json(j)) => sql
                    .json_ref(&j, &Vec::new())
                    .and_then(|r| d.json_value(&r))
                    .map_err(|u| unsupported(rule, u))?,
            };
            if i > 0 {
                out.push_str(", ");
            }
            let alias = d.alias(&f.text);
            out.push_str(&expr);
            if expr != alias {
                out.push_str(" AS ");
                out.push_str(&alias);
            }
        }
        out.push_str("\nFROM ");
        out.push_str(&table);
        out.push_str("\nWHERE ");
        out.push_str(&where_);
    }
    Ok(out)
}

/// Renders a normalised condition as a SQL boolean expression over the columns of `table`
/// (the table's name as the dialect writes it).
pub fn render_condition(
    node: &Node,
    d: &dyn Dialect,
    schema: &TableSchema,
    table: &str,
) -> Result<String, Unsupported> {
    let cond = plan::lower(node, schema);
    let sql = Sql { d, table };
    let mut out = String::new();
    if let Piece::Const(b) = plan::write(&sql, &cond, &Vec::new(), &mut out)? {
        out.push_str(d.bool_literal(b));
    }
    Ok(out)
}

/// The SQL spelling of a plan.
struct Sql<'a> {
    d: &'a dyn Dialect,
    /// The table as the dialect writes it (to qualify correlated columns).
    table: &'a str,
}

/// `items` written by `each` and joined with ` OR `; past `max` operands, as parenthesised
/// groups of at most `max` (see `Dialect::max_chain`).
fn or_chain<T>(
    items: &[T],
    max: usize,
    out: &mut String,
    each: &mut dyn FnMut(&T, &mut String) -> Result<(), Unsupported>,
) -> Result<(), Unsupported> {
    let Some(size) = crate::backend::plan::group_size(items.len(), max) else {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(" OR ");
            }
            each(item, out)?;
        }
        return Ok(());
    };
    for (i, group) in items.chunks(size).enumerate() {
        if i > 0 {
            out.push_str(" OR ");
        }
        out.push('(');
        or_chain(group, max, out, each)?;
        out.push(')');
    }
    Ok(())
}

/// The elements of the enclosing quantifiers: (quantifier id, how the body addresses it).
type Elements = Vec<(usize, JsonRef)>;

impl Sql<'_> {
    /// The condition for a query's WHERE: a top-level `and` puts each operand on its own
    /// line, so that a change to one predicate is a one-line diff.
    fn where_clause(&self, cond: &Cond, out: &mut String) -> Result<(), Unsupported> {
        let piece = match cond {
            Cond::And(items) => {
                plan::write_junction(self, items, true, "\n  AND ", &Vec::new(), out)?
            }
            c => plan::write(self, c, &Vec::new(), out)?,
        };
        if let Piece::Const(b) = piece {
            out.push_str(self.d.bool_literal(b));
        }
        Ok(())
    }

    fn column(&self, name: &str) -> Result<String, Unsupported> {
        if !self.d.column_name_supported(name) {
            return Err(Unsupported::new(format!(
                "{} cannot name a column `{name}`",
                self.d.name()
            )));
        }
        Ok(self.d.quote_ident(name))
    }

    fn json_ref(&self, j: &JsonPath, elements: &Elements) -> Result<JsonRef, Unsupported> {
        Ok(match &j.base {
            Base::Column(c) => {
                let mut r = JsonRef::new(self.column(c)?);
                r.steps.clone_from(&j.steps);
                r
            }
            Base::Element(id) => elements
                .iter()
                .rev()
                .find(|(e, _)| e == id)
                .map(|(_, r)| r.join(&j.steps))
                .expect("a plan's element is inside its quantifier"),
        })
    }

    fn lit(&self, s: &str) -> Result<String, Unsupported> {
        self.d.string_literal(s)
    }

    /// A string test on a text expression (known to be a string, or NULL), written to `out`.
    fn string_test(
        &self,
        text: &str,
        op: StrOp,
        values: &[String],
        ci: bool,
        out: &mut String,
    ) -> Result<(), Unsupported> {
        let d = self.d;
        let lowered;
        let hay = if ci {
            lowered = d.lower(text);
            &lowered
        } else {
            text
        };
        let first = &values[0];
        match op {
            StrOp::Eq => {
                if values.len() == 1 {
                    out.push_str(hay);
                    out.push_str(" = ");
                    out.push_str(&self.lit(first)?);
                } else {
                    let mut lits = Vec::with_capacity(values.len());
                    for v in values {
                        lits.push(self.lit(v)?);
                    }
                    out.push_str(&d.in_list(hay, &lits));
                }
            }
            StrOp::Contains => {
                out.push_str(&d.contains(hay, &self.lit(first)?, first.chars().count()))
            }
            StrOp::StartsWith => {
                out.push_str(&d.starts_with(hay, &self.lit(first)?, first.chars().count()))
            }
            StrOp::EndsWith => {
                out.push_str(&d.ends_with(hay, &self.lit(first)?, first.chars().count()))
            }
        }
        Ok(())
    }

    /// The positive check, written to `out`: its binding strength, and whether it is never
    /// NULL.
    fn positive(
        &self,
        c: &Check,
        elements: &Elements,
        out: &mut String,
    ) -> Result<(Prec, bool), Unsupported> {
        let d = self.d;
        if let Op::Field { test, other, sides } = &c.op {
            let a = self.side(&c.val, elements)?;
            let b = self.side(other, elements)?;
            let (text, prec) = self.field(*test, [(&a, sides[0]), (&b, sides[1])])?;
            out.push_str(&text);
            return Ok((prec, false));
        }
        Ok(match &c.val {
            Val::Column { name, ty } => {
                let col = self.column(name)?;
                match &c.op {
                    Op::IsNull => {
                        out.push_str(&col);
                        out.push_str(" IS NULL");
                        (Prec::Cmp, true)
                    }
                    Op::IsEmpty => {
                        out.push_str(&col);
                        out.push_str(" IS NULL OR ");
                        out.push_str(&col);
                        out.push_str(" = ''");
                        (Prec::Or, true)
                    }
                    Op::Kind(_) => {
                        out.push_str(&col);
                        out.push_str(" IS NOT NULL");
                        (Prec::Cmp, true)
                    }
                    Op::Str {
                        op,
                        values,
                        ci,
                        folded,
                    } => {
                        let vs = if *ci { folded } else { values };
                        self.string_test(&col, *op, vs, *ci, out)?;
                        (Prec::Cmp, false)
                    }
                    Op::Regex(p) | Op::Cidr(p, _) => {
                        out.push_str(&d.regex_search(&col, &p.source)?);
                        (Prec::Cmp, false)
                    }
                    Op::Num { cmp, values } => {
                        self.column_number(&col, *ty, *cmp, values, out);
                        (Prec::Cmp, false)
                    }
                    Op::Bool(b) => {
                        out.push_str(&col);
                        out.push_str(" = ");
                        out.push_str(d.bool_literal(*b));
                        (Prec::Cmp, false)
                    }
                    Op::Field { .. } => unreachable!("checked above"),
                }
            }
            Val::Json(j) => {
                let r = self.json_ref(j, elements)?;
                match &c.op {
                    Op::IsNull | Op::IsEmpty => {
                        let test = if c.op == Op::IsNull {
                            d.json_is_null(&r)?
                        } else {
                            d.json_is_empty(&r)?
                        };
                        // True when the value is missing (SPEC §3.6).
                        if d.json_null_tests_total() {
                            out.push_str(&test);
                            (Prec::Cmp, true)
                        } else {
                            out.push_str(&d.coalesce(&test, true));
                            (Prec::Atom, true)
                        }
                    }
                    Op::Kind(k) => {
                        out.push_str(&d.json_is(&r, json_kind(*k))?);
                        (Prec::Cmp, false)
                    }
                    Op::Str {
                        op,
                        values,
                        ci,
                        folded,
                    } => {
                        let vs = if *ci { folded } else { values };
                        if !*ci
                            && *op == StrOp::Eq
                            && let Some(test) = d.json_string_in(&r, vs)
                        {
                            out.push_str(&test?);
                            return Ok((Prec::Cmp, false));
                        }
                        out.push_str(&d.json_is(&r, JsonKind::String)?);
                        out.push_str(" AND ");
                        self.string_test(&d.json_text(&r)?, *op, vs, *ci, out)?;
                        (Prec::And, false)
                    }
                    Op::Regex(p) | Op::Cidr(p, _) => {
                        let test = d.regex_search(&d.json_text(&r)?, &p.source)?;
                        out.push_str(&d.json_is(&r, JsonKind::String)?);
                        out.push_str(" AND ");
                        out.push_str(&test);
                        (Prec::And, false)
                    }
                    Op::Num { cmp, values } => {
                        // A dialect's `json_number_cmp` is one comparison exact across kinds;
                        // a value read as a double, or an integer literal no double holds,
                        // needs the split by the value's kind (where the dialect can tell
                        // integers in JSON).
                        let one = |n: &NumLit, cmp: Option<CmpOp>| match n.how {
                            NumCmp::Exact | NumCmp::Either => d.json_number_cmp(&r, cmp, n),
                            NumCmp::ByKind {
                                literal_is_double: true,
                            } if d.json_number_cmp_follows_kinds() => d.json_number_cmp(&r, cmp, n),
                            // Both kinds of value meet the literal: no fallback, a dialect
                            // that cannot tell them rejects the rule.
                            NumCmp::ByKind { .. } => dialect::exact_json_number_cmp(d, &r, cmp, n),
                            // A dialect whose comparison follows the kinds compares a double
                            // literal as doubles itself (DuckDB, in one lookup of the path).
                            NumCmp::Double if d.json_number_cmp_follows_kinds() => {
                                d.json_number_cmp(&r, cmp, n)
                            }
                            // As doubles, whatever the value's kind: one double comparison
                            // is right where the dialect cannot tell integers.
                            NumCmp::Double => dialect::exact_json_number_cmp(d, &r, cmp, n)
                                .or_else(|_| d.json_number_cmp(&r, cmp, n)),
                        };
                        if values.len() == 1 {
                            out.push_str(&one(&values[0], *cmp)?);
                            (Prec::Cmp, false)
                        } else {
                            let max = d.max_chain().unwrap_or(usize::MAX);
                            or_chain(values, max, out, &mut |n, out| {
                                out.push_str(&one(n, None)?);
                                Ok(())
                            })?;
                            (Prec::Or, false)
                        }
                    }
                    Op::Bool(b) => {
                        out.push_str(&d.json_bool_is(&r, *b)?);
                        (Prec::Cmp, false)
                    }
                    Op::Field { .. } => unreachable!("checked above"),
                }
            }
        })
    }

    /// A number test on a typed column. Engines compare an integer with a double exactly, so
    /// "as doubles" makes the integer side a double explicitly: the column, or a literal no
    /// double holds.
    fn column_number(
        &self,
        col: &str,
        ty: ColumnType,
        cmp: Option<CmpOp>,
        values: &[NumLit],
        out: &mut String,
    ) {
        let d = self.d;
        let lhs_is_double = |n: &NumLit| n.how == NumCmp::Double && ty == ColumnType::Integer;
        let rhs = |n: &NumLit| match n.how {
            NumCmp::Double
            | NumCmp::ByKind {
                literal_is_double: false,
            } if ty != ColumnType::Integer => dialect::double_literal(&n.value),
            _ => d.number_literal(&n.value),
        };
        let lhs = |n: &NumLit| {
            if lhs_is_double(n) {
                d.double(col)
            } else {
                col.to_string()
            }
        };
        let first = lhs_is_double(&values[0]);
        if values.iter().all(|n| lhs_is_double(n) == first) {
            out.push_str(&lhs(&values[0]));
            match (cmp, values) {
                (None, [one]) => {
                    out.push_str(" = ");
                    out.push_str(&rhs(one));
                }
                (None, _) => {
                    out.push_str(" IN (");
                    for (i, n) in values.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        out.push_str(&rhs(n));
                    }
                    out.push(')');
                }
                (Some(_), _) => {
                    out.push(' ');
                    out.push_str(cmp_symbol(cmp));
                    out.push(' ');
                    out.push_str(&rhs(&values[0]));
                }
            }
        } else {
            out.push('(');
            for (i, n) in values.iter().enumerate() {
                if i > 0 {
                    out.push_str(" OR ");
                }
                out.push_str(&lhs(n));
                out.push_str(" = ");
                out.push_str(&rhs(n));
            }
            out.push(')');
        }
    }
}

/// One side of a `field()` comparison (SPEC §3.7).
enum Side {
    /// A typed column: NULL when missing, its type otherwise.
    Column {
        expr: String,
        ty: ColumnType,
    },
    Json(JsonRef),
}

impl Sql<'_> {
    /// A column read inside a quantifier's body (the `[*]` shorthand reads PATH2 from the
    /// row) is qualified where the dialect needs it, as the quantifier's own array is.
    fn side(&self, v: &Val, elements: &Elements) -> Result<Side, Unsupported> {
        let qualify = |c: String| {
            if !elements.is_empty() && self.d.qualify_correlated_columns() {
                format!("{}.{c}", self.table)
            } else {
                c
            }
        };
        Ok(match v {
            Val::Column { name, ty } => Side::Column {
                expr: qualify(self.column(name)?),
                ty: *ty,
            },
            Val::Json(j) => {
                let mut r = self.json_ref(j, elements)?;
                if matches!(j.base, Base::Column(_)) {
                    let base = qualify(std::mem::take(&mut r.base));
                    r = r.with_base(base);
                }
                Side::Json(r)
            }
        })
    }

    /// The test that a side has JSON kind `k`, `None` when the plan knows it has the kind
    /// unless it is NULL (NULL carries through every use).
    fn kind_test(&self, s: &Side, has: Has, k: Kind) -> Result<Option<String>, Unsupported> {
        Ok(match (has, s) {
            (Has::UnlessNull, _) => None,
            (Has::Test, Side::Json(r)) => Some(self.d.json_is(r, json_kind(k))?),
            (Has::Test, Side::Column { .. }) => unreachable!("the plan knows a column's type"),
        })
    }

    /// The text of a side that is a string.
    fn text(&self, s: &Side) -> Spelled {
        match s {
            Side::Column { expr, .. } => Ok(expr.clone()),
            Side::Json(r) => self.d.json_text(r),
        }
    }

    /// Where a number side is an integer, `None` when the plan knows it is one unless NULL.
    fn integer(&self, s: &Side, has: Option<Has>) -> Result<Option<String>, Unsupported> {
        Ok(match (has, s) {
            (Some(Has::UnlessNull), _) => None,
            (None, _) => Some(self.d.bool_literal(false).to_string()),
            (Some(Has::Test), Side::Json(r)) => Some(self.d.json_is_integer(r)?),
            (Some(Has::Test), Side::Column { .. }) => {
                unreachable!("the plan knows a column's type")
            }
        })
    }

    /// (exact integer, double) expressions of a side that is a number.
    fn numbers(&self, s: &Side) -> Result<(String, String), Unsupported> {
        Ok(match s {
            Side::Column {
                expr,
                ty: ColumnType::Real,
            } => (expr.clone(), expr.clone()),
            Side::Column { expr, .. } => (expr.clone(), self.d.double(expr)),
            Side::Json(r) => (self.d.json_integer(r)?, self.d.json_double(r)?),
        })
    }

    /// One kind of `PATH op field(PATH2)` (the plan's `FieldTest`), positive: true when both
    /// sides have the kind and the test holds; false or NULL otherwise (the caller's
    /// `NOT COALESCE(.., FALSE)` negates it).
    fn field(
        &self,
        test: FieldTest,
        [(a, ka), (b, kb)]: [(&Side, Known); 2],
    ) -> Result<(String, Prec), Unsupported> {
        let mut guards: Vec<String> = Vec::with_capacity(3);
        guards.extend(self.kind_test(a, ka.kind, test.kind())?);
        guards.extend(self.kind_test(b, kb.kind, test.kind())?);
        Ok(match test {
            FieldTest::Str { op, ci } => {
                let (mut ta, mut tb) = (self.text(a)?, self.text(b)?);
                if ci {
                    ta = self.d.lower(&ta);
                    tb = self.d.lower(&tb);
                }
                guards.push(match op {
                    StrOp::Eq => format!("{ta} = {tb}"),
                    StrOp::Contains => self.d.contains_expr(&ta, &tb),
                    StrOp::StartsWith => self.d.starts_with_expr(&ta, &tb),
                    StrOp::EndsWith => self.d.ends_with_expr(&ta, &tb),
                });
                let prec = if guards.len() > 1 {
                    Prec::And
                } else {
                    Prec::Cmp
                };
                (guards.join(" AND "), prec)
            }
            FieldTest::Num { cmp, ints } => {
                let sym = cmp_symbol(cmp);
                let ((ia, da), (ib, db)) = (self.numbers(a)?, self.numbers(b)?);
                let when = |extra: Vec<String>| {
                    let all: Vec<&str> = guards.iter().chain(&extra).map(String::as_str).collect();
                    if all.is_empty() {
                        "TRUE".to_string()
                    } else {
                        all.join(" AND ")
                    }
                };
                // A CASE reads a value only once its kinds are known (a cast of a string
                // would fail); two typed columns need none (NULL carries through).
                match ints {
                    Ints::Always if guards.is_empty() => (format!("{ia} {sym} {ib}"), Prec::Cmp),
                    Ints::Never if guards.is_empty() => (format!("{da} {sym} {db}"), Prec::Cmp),
                    Ints::Always => (
                        format!("CASE WHEN {} THEN {ia} {sym} {ib} END", when(Vec::new())),
                        Prec::Atom,
                    ),
                    Ints::Never => (
                        format!("CASE WHEN {} THEN {da} {sym} {db} END", when(Vec::new())),
                        Prec::Atom,
                    ),
                    Ints::Unknown => {
                        let mut ints = Vec::with_capacity(2);
                        ints.extend(self.integer(a, ka.integer)?);
                        ints.extend(self.integer(b, kb.integer)?);
                        (
                            format!(
                                "CASE WHEN {} THEN {ia} {sym} {ib} WHEN {} THEN {da} {sym} {db} END",
                                when(ints),
                                when(Vec::new())
                            ),
                            Prec::Atom,
                        )
                    }
                }
            }
            FieldTest::Bool => {
                let is = |s: &Side, v: bool| -> Spelled {
                    match s {
                        Side::Column { expr, .. } => {
                            Ok(format!("{expr} = {}", self.d.bool_literal(v)))
                        }
                        Side::Json(r) => self.d.json_bool_is(r, v),
                    }
                };
                (
                    format!(
                        "{} AND {} OR {} AND {}",
                        is(a, true)?,
                        is(b, true)?,
                        is(a, false)?,
                        is(b, false)?
                    ),
                    Prec::Or,
                )
            }
        })
    }
}

fn json_kind(k: Kind) -> JsonKind {
    match k {
        Kind::String => JsonKind::String,
        Kind::Number => JsonKind::Number,
        Kind::Bool => JsonKind::Bool,
    }
}

impl Spell for Sql<'_> {
    type Scope = Elements;

    fn and_sep(&self) -> &str {
        " AND "
    }

    fn or_sep(&self) -> &str {
        " OR "
    }

    fn max_operands(&self) -> Option<usize> {
        self.d.max_chain()
    }

    fn check(
        &self,
        c: &Check,
        elements: &Elements,
        out: &mut String,
    ) -> Result<Piece, Unsupported> {
        if !c.negated {
            let (prec, _) = self.positive(c, elements, out)?;
            return Ok(Piece::Text(prec));
        }
        let mut text = String::new();
        let (prec, two_valued) = self.positive(c, elements, &mut text)?;
        out.push_str("NOT ");
        if two_valued {
            plan::operand(out, &text, prec, Prec::Atom);
        } else {
            out.push_str(&self.d.coalesce(&text, false));
        }
        Ok(Piece::Text(Prec::Not))
    }

    fn quant(
        &self,
        q: &Quant,
        elements: &Elements,
        out: &mut String,
    ) -> Result<Piece, Unsupported> {
        let d = self.d;
        let mut r = self.json_ref(&q.array, elements)?;
        // A column read inside the element subquery is qualified where the dialect needs it.
        if matches!(q.array.base, Base::Column(_)) && d.qualify_correlated_columns() {
            let base = format!("{}.{}", self.table, r.base);
            r = r.with_base(base);
        }
        let alias = format!("e{}", q.id);
        let mut inner = elements.clone();
        inner.push((q.id, d.element_ref(&r, &alias)));
        let mut body = String::new();
        if let Piece::Const(b) = plan::write(self, &q.body, &inner, &mut body)? {
            body.push_str(d.bool_literal(b));
        }
        let exists = d.exists_element(&r, &alias, &body)?;
        if q.exists {
            out.push_str(&exists);
            Ok(Piece::Text(Prec::Atom))
        } else {
            out.push_str("NOT ");
            out.push_str(&exists);
            Ok(Piece::Text(Prec::Not))
        }
    }
}

/// `--target sql`: a query in one of [`SqlDialect`], placed by the profile's `sql` section,
/// deployed as `<RuleID>.sql` files.
pub struct SqlTarget;

impl crate::compile::Backend for SqlTarget {
    fn name(&self) -> &'static str {
        "sql"
    }

    fn title(&self) -> &'static str {
        "SQL"
    }

    fn about(&self) -> &'static str {
        "SQL for the warehouse dialects (`--dialect`)"
    }

    fn has_dialects(&self) -> bool {
        true
    }

    fn section(
        &self,
        profile: &crate::profile::Profile,
        dialect: Option<SqlDialect>,
    ) -> Result<(), String> {
        match dialect {
            Some(d) => profile.sql(d.name()).map(|_| ()),
            None => match &profile.sql {
                Some(_) => Ok(()),
                None => Err(format!("profile `{}` has no `sql` section", profile.name)),
            },
        }
    }

    fn profile_hint(&self, profile: &crate::profile::Profile) -> Option<String> {
        let d = profile.sql.as_ref()?.dialect?;
        Some(format!("add `--dialect {d}`"))
    }

    fn places(&self, profile: &crate::profile::Profile) -> Option<String> {
        profile.sql.as_ref().map(|sql| match sql.dialect {
            Some(d) => format!("sql (--dialect {d})"),
            None => "sql".to_string(),
        })
    }

    fn reading<'r>(
        &self,
        rule: &'r Rule,
        profile: &crate::profile::Profile,
        dialect: Option<SqlDialect>,
    ) -> Result<(std::borrow::Cow<'r, Rule>, Vec<Option<TableSchema>>), Diagnostic> {
        let dialect = dialect.unwrap_or(SqlDialect::Duckdb);
        let p = profile
            .sql(dialect.name())
            .map_err(crate::compile::profile_error_at(rule))?;
        let d = dialect.dialect();
        let read = p.rename_for(rule, d)?;
        let schemas = rule
            .log_types
            .iter()
            .map(|lt| Ok(p.placement_in(&profile.name, &read, lt, d)?.schema))
            .collect::<Result<_, Diagnostic>>()?;
        Ok((read, schemas))
    }

    fn render(
        &self,
        rule: &Rule,
        profile: &crate::profile::Profile,
        dialect: Option<SqlDialect>,
    ) -> Result<String, Diagnostic> {
        let dialect = dialect.unwrap_or(SqlDialect::Duckdb);
        let p = profile
            .sql(dialect.name())
            .map_err(crate::compile::profile_error)?;
        let d = dialect.dialect();
        let renamed = p.rename_for(rule, d)?;
        render_placed_query(&renamed, d, &|lt| {
            p.placement_in(&profile.name, &renamed, lt, d)
        })
    }

    fn schemas<'p>(
        &self,
        profile: &'p crate::profile::Profile,
    ) -> Option<&'p std::sync::Arc<crate::backend::schema::SchemaSet>> {
        profile.sql.as_ref().and_then(|s| s.resolved.as_ref())
    }

    fn print(&self, out: &mut String, rule_id: &str, query: &str) {
        std::fmt::Write::write_fmt(out, format_args!("-- {rule_id}\n{query};\n\n"))
            .expect("writing to a String");
    }

    fn packaging(&self) -> &'static dyn crate::package::Packaging {
        &crate::package::sql_file::SqlFiles
    }
}
