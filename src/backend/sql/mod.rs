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

use std::cell::Cell;

use dialect::{Dialect, JsonKind, JsonRef, Unsupported, cmp_symbol};

use crate::backend::schema::{ColumnType, TableSchema};
use crate::diag::Diagnostic;
use crate::ir::eval::simple_lowercase;
use crate::ir::normalize::normalize;
use crate::ir::{FieldPath, Leaf, Node, Scalar, Step, Test};
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
    let mut selects = Vec::new();
    for log_type in &rule.log_types {
        let placement = placement_for(log_type)?;
        let schema = placement.schema.unwrap_or_else(|| inferred_schema(rule));
        let table = placement
            .table
            .iter()
            .map(|p| d.quote_ident(p))
            .collect::<Vec<_>>()
            .join(".");
        let cx = Cx::new(d, &schema, &table);
        let mut cond = cx
            .where_clause(&rule.condition.ir)
            .map_err(|u| unsupported(rule, u))?;
        let minutes = rule.schedule.lookback_minutes;
        if let Some(tf) = &placement.time_filter {
            let filter = match tf {
                TimeFilter::Column(c) => d.time_since(&d.quote_ident(c), minutes),
                TimeFilter::PantherMacro => format!("p_occurs_since('{minutes} minutes')"),
            };
            cond = format!("{filter}\n  AND {cond}");
        }
        let fields = if rule.output_fields.is_empty() {
            "*".to_string()
        } else {
            let mut cols = Vec::new();
            for f in &rule.output_fields {
                let loc = cx
                    .resolve(&f.path, &Root::Table)
                    .map_err(|u| unsupported(rule, u))?;
                let expr = match loc {
                    Loc::Missing => "NULL".to_string(),
                    Loc::Col { expr, .. } => expr,
                    Loc::Json(r) => d.json_value(&r).map_err(|u| unsupported(rule, u))?,
                };
                let alias = d.alias(&f.text);
                if expr == alias {
                    cols.push(expr);
                } else {
                    cols.push(format!("{expr} AS {alias}"));
                }
            }
            cols.join(", ")
        };
        selects.push(format!("SELECT {fields}\nFROM {table}\nWHERE {cond}"));
    }
    Ok(selects.join("\nUNION ALL\n"))
}

/// The column types a rule implies when no schema is given.
pub fn inferred_schema(rule: &Rule) -> TableSchema {
    let fields: Vec<&[Step]> = rule
        .output_fields
        .iter()
        .map(|f| f.path.0.as_slice())
        .collect();
    TableSchema::infer_from_rule(&rule.condition.ir, &fields)
}

/// E0401 for a target that cannot compile this rule (yet).
pub fn unsupported_target(rule: &Rule, target: &str) -> Diagnostic {
    unsupported(
        rule,
        Unsupported(format!("the {target} target is not available yet")),
    )
}

/// E0401: the rule cannot be written for the target; `u` says why.
pub fn unsupported(rule: &Rule, u: Unsupported) -> Diagnostic {
    Diagnostic {
        severity: crate::diag::Severity::Error,
        code: "E0401",
        message: u.0,
        span: None,
        label: None,
        help: Some(format!(
            "rule `{}` cannot be compiled for this target",
            rule.rule_id
        )),
    }
}

/// Renders a normalised condition as a SQL boolean expression over the columns of `table`
/// (the table's name as the dialect writes it).
pub fn render_condition(
    node: &Node,
    d: &dyn Dialect,
    schema: &TableSchema,
    table: &str,
) -> Result<String, Unsupported> {
    Cx::new(d, schema, table).condition(node)
}

/// `name(...)` or `EXISTS (...)` with nothing after the closing parenthesis.
fn is_call(sql: &str) -> bool {
    let Some(open) = sql.find('(') else {
        return false;
    };
    let head = &sql[..open];
    if !(head == "EXISTS "
        || (!head.is_empty() && head.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')))
    {
        return false;
    }
    // The parenthesis opened at `open` must close at the very end (quotes skipped).
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in sql.char_indices().skip_while(|(i, _)| *i < open) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    return i == sql.len() - 1;
                }
            }
            _ => {}
        }
    }
    false
}

/// A rendered boolean.
#[derive(Clone, Debug, PartialEq)]
enum B {
    Const(bool),
    Expr {
        sql: String,
        /// Never NULL.
        two_valued: bool,
        /// Has a top-level AND/OR: needs parentheses inside another AND/OR/NOT.
        compound: bool,
    },
}

impl B {
    fn plain(sql: String) -> B {
        B::Expr {
            sql,
            two_valued: false,
            compound: false,
        }
    }

    fn two_valued(sql: String) -> B {
        B::Expr {
            sql,
            two_valued: true,
            compound: false,
        }
    }

    fn nested(&self, d: &dyn Dialect) -> String {
        match self {
            B::Const(b) => d.bool_literal(*b).to_string(),
            B::Expr { sql, compound, .. } => {
                if *compound {
                    format!("({sql})")
                } else {
                    sql.clone()
                }
            }
        }
    }

    fn top(&self, d: &dyn Dialect) -> String {
        match self {
            B::Const(b) => d.bool_literal(*b).to_string(),
            B::Expr { sql, .. } => sql.clone(),
        }
    }
}

/// Where a path's value lives.
enum Loc {
    /// The schema says the field cannot exist.
    Missing,
    /// A typed top-level column.
    Col { expr: String, ty: ColumnType },
    /// Inside a semi-structured value.
    Json(JsonRef),
}

enum Root {
    Table,
    Element(JsonRef),
}

struct Cx<'a> {
    d: &'a dyn Dialect,
    schema: &'a TableSchema,
    table: &'a str,
    aliases: Cell<usize>,
}

impl<'a> Cx<'a> {
    fn new(d: &'a dyn Dialect, schema: &'a TableSchema, table: &'a str) -> Self {
        Cx {
            d,
            schema,
            table,
            aliases: Cell::new(0),
        }
    }

    fn condition(&self, node: &Node) -> Result<String, Unsupported> {
        Ok(self.node(node, &Root::Table)?.top(self.d))
    }

    /// The condition for a query's WHERE: a top-level `and` puts each operand on its own
    /// line, so that a change to one predicate is a one-line diff.
    fn where_clause(&self, node: &Node) -> Result<String, Unsupported> {
        if let Node::And(items) = node {
            let mut parts = Vec::new();
            for item in items {
                match self.node(item, &Root::Table)? {
                    B::Const(true) => {}
                    B::Const(false) => return Ok(self.d.bool_literal(false).to_string()),
                    b => parts.push(b.nested(self.d)),
                }
            }
            if parts.is_empty() {
                return Ok(self.d.bool_literal(true).to_string());
            }
            return Ok(parts.join("\n  AND "));
        }
        self.condition(node)
    }

    fn resolve(&self, path: &FieldPath, root: &Root) -> Result<Loc, Unsupported> {
        Ok(match root {
            Root::Element(r) => Loc::Json(r.join(&path.0)),
            Root::Table => match path.0.split_first() {
                Some((Step::Key(k), rest)) => match self.schema.column(k) {
                    Some(_) if !self.d.column_name_supported(k) => {
                        return Err(Unsupported(format!(
                            "{} cannot name a column `{k}`",
                            self.d.name()
                        )));
                    }
                    None => Loc::Missing,
                    Some(ColumnType::Json) => {
                        Loc::Json(JsonRef::new(self.d.quote_ident(k)).join(rest))
                    }
                    Some(ty) if rest.is_empty() => Loc::Col {
                        expr: self.d.quote_ident(k),
                        ty,
                    },
                    // A scalar column has no members.
                    Some(_) => Loc::Missing,
                },
                // The event is an object: an index or `@` at its top finds nothing.
                _ => Loc::Missing,
            },
        })
    }

    fn node(&self, node: &Node, root: &Root) -> Result<B, Unsupported> {
        match node {
            Node::And(items) => self.junction(items, root, true),
            Node::Or(items) => self.junction(items, root, false),
            Node::Not(inner) => {
                // Only reached if a caller skipped `normalize`; stay correct anyway.
                let b = self.node(inner, root)?;
                Ok(self.negate(b))
            }
            Node::Leaf(leaf) => self.leaf(leaf, root),
            Node::Any { path, body } => self.quantifier(path, body, root, true),
            Node::All { path, body } => self.quantifier(path, body, root, false),
        }
    }

    fn junction(&self, items: &[Node], root: &Root, and: bool) -> Result<B, Unsupported> {
        let mut parts = Vec::new();
        let mut two_valued = true;
        for item in items {
            match self.node(item, root)? {
                B::Const(b) if b == and => {}
                B::Const(b) => return Ok(B::Const(b)),
                e => {
                    if let B::Expr {
                        two_valued: false, ..
                    } = e
                    {
                        two_valued = false;
                    }
                    parts.push(e)
                }
            }
        }
        match parts.len() {
            0 => Ok(B::Const(and)),
            1 => Ok(parts.pop().expect("one part")),
            _ => Ok(B::Expr {
                sql: parts
                    .iter()
                    .map(|p| p.nested(self.d))
                    .collect::<Vec<_>>()
                    .join(if and { " AND " } else { " OR " }),
                two_valued,
                compound: true,
            }),
        }
    }

    fn negate(&self, b: B) -> B {
        match b {
            B::Const(v) => B::Const(!v),
            // `NOT (...)` keeps the meaning whatever the dialect's precedence of NOT vs IN/=.
            B::Expr {
                two_valued: true,
                sql,
                ..
            } => B::two_valued(if is_call(&sql) {
                format!("NOT {sql}")
            } else {
                format!("NOT ({sql})")
            }),
            B::Expr { sql, .. } => B::two_valued(format!("NOT {}", self.d.coalesce_false(&sql))),
        }
    }

    fn quantifier(
        &self,
        path: &FieldPath,
        body: &Node,
        root: &Root,
        any: bool,
    ) -> Result<B, Unsupported> {
        let r = match (self.resolve(path, root)?, root) {
            // A column read inside the element subquery is qualified where the dialect needs it.
            (Loc::Json(mut r), Root::Table) => {
                if self.d.qualify_correlated_columns() {
                    r.base = format!("{}.{}", self.table, r.base);
                }
                r
            }
            (Loc::Json(r), _) => r,
            // Not an array: `any` is false, `all` is true.
            (Loc::Missing | Loc::Col { .. }, _) => return Ok(B::Const(!any)),
        };
        let n = self.aliases.get() + 1;
        self.aliases.set(n);
        let alias = format!("e{n}");
        let elem = Root::Element(self.d.element_ref(&r, &alias));
        // `all P (E)` is `not any P (not E)`; the normalised `not E` is two-valued.
        let body_node = if any {
            body.clone()
        } else {
            normalize(Node::Not(Box::new(body.clone())))
        };
        let body = match self.node(&body_node, &elem)? {
            B::Const(false) => return Ok(B::Const(!any)),
            B::Const(true) => self.d.bool_literal(true).to_string(),
            b => b.top(self.d),
        };
        let exists = self.d.exists_element(&r, &alias, &body)?;
        Ok(if any {
            B::plain(exists)
        } else {
            B::two_valued(format!("NOT {exists}"))
        })
    }

    fn leaf(&self, leaf: &Leaf, root: &Root) -> Result<B, Unsupported> {
        if let Some(why) = leaf.test.not_yet_on_targets() {
            return Err(Unsupported(why.into()));
        }
        let pos = match self.resolve(&leaf.path, root)? {
            Loc::Missing => B::Const(matches!(leaf.test, Test::IsNull | Test::IsEmpty)),
            Loc::Col { expr, ty } => {
                self.column_test(&expr, ty, &leaf.test, leaf.case_insensitive)?
            }
            Loc::Json(r) => self.json_test(&r, &leaf.test, leaf.case_insensitive)?,
        };
        Ok(if leaf.negated { self.negate(pos) } else { pos })
    }

    fn lit(&self, s: &str, ci: bool) -> Result<String, Unsupported> {
        if ci {
            self.d.string_literal(&simple_lowercase(s))
        } else {
            self.d.string_literal(s)
        }
    }

    /// A string test on a text expression (the value is known to be a string or NULL).
    fn string_test(
        &self,
        text: &str,
        test: &Test,
        ci: bool,
    ) -> Result<Option<String>, Unsupported> {
        let d = self.d;
        let hay = if ci { d.lower(text) } else { text.to_string() };
        Ok(Some(match test {
            Test::Eq(Scalar::Str(s)) => format!("{hay} = {}", self.lit(s, ci)?),
            Test::In(items) => {
                let mut lits = Vec::new();
                for i in items {
                    match i {
                        Scalar::Str(s) => lits.push(self.lit(s, ci)?),
                        _ => return Ok(None),
                    }
                }
                if lits.len() == 1 {
                    format!("{hay} = {}", lits[0])
                } else {
                    format!("{hay} IN ({})", lits.join(", "))
                }
            }
            Test::Contains(s) | Test::StartsWith(s) | Test::EndsWith(s) if s.is_empty() => {
                format!("{text} IS NOT NULL")
            }
            Test::Contains(s) => d.contains(&hay, &self.lit(s, ci)?, s.chars().count()),
            Test::StartsWith(s) => d.starts_with(&hay, &self.lit(s, ci)?, s.chars().count()),
            Test::EndsWith(s) => d.ends_with(&hay, &self.lit(s, ci)?, s.chars().count()),
            Test::Matches(p) => d.regex_search(text, &p.source)?,
            _ => return Ok(None),
        }))
    }

    fn column_test(
        &self,
        col: &str,
        ty: ColumnType,
        test: &Test,
        ci: bool,
    ) -> Result<B, Unsupported> {
        let d = self.d;
        Ok(match (ty, test) {
            (_, Test::IsNull) => B::two_valued(format!("{col} IS NULL")),
            (ColumnType::Text, Test::IsEmpty) => B::Expr {
                sql: format!("{col} IS NULL OR {col} = ''"),
                two_valued: true,
                compound: true,
            },
            (_, Test::IsEmpty) => B::two_valued(format!("{col} IS NULL")),
            (ColumnType::Text, t) => match self.string_test(col, t, ci)? {
                Some(sql) => B::plain(sql),
                None => B::Const(false),
            },
            (ColumnType::Integer | ColumnType::Real, Test::Eq(Scalar::Num(n))) => {
                B::plain(format!("{col} = {}", d.number_literal(n)))
            }
            (ColumnType::Integer | ColumnType::Real, Test::In(items)) => {
                let nums: Vec<String> = items
                    .iter()
                    .filter_map(|i| match i {
                        Scalar::Num(n) => Some(d.number_literal(n)),
                        _ => None,
                    })
                    .collect();
                if nums.is_empty() {
                    B::Const(false)
                } else {
                    B::plain(format!("{col} IN ({})", nums.join(", ")))
                }
            }
            (ColumnType::Integer | ColumnType::Real, Test::Compare(op, n)) => B::plain(format!(
                "{col} {} {}",
                cmp_symbol(Some(*op)),
                d.number_literal(n)
            )),
            (ColumnType::Boolean, Test::Eq(Scalar::Bool(b))) => {
                B::plain(format!("{col} = {}", d.bool_literal(*b)))
            }
            (ColumnType::Boolean, Test::In(items)) => {
                let bools: Vec<bool> = items
                    .iter()
                    .filter_map(|i| match i {
                        Scalar::Bool(b) => Some(*b),
                        _ => None,
                    })
                    .collect();
                match bools.as_slice() {
                    [] => B::Const(false),
                    [b, ..] if bools.iter().all(|x| x == b) => {
                        B::plain(format!("{col} = {}", d.bool_literal(*b)))
                    }
                    _ => B::plain(format!("{col} IS NOT NULL")),
                }
            }
            // A typed column never holds another type's value (SPEC: typed equality).
            _ => B::Const(false),
        })
    }

    fn json_test(&self, r: &JsonRef, test: &Test, ci: bool) -> Result<B, Unsupported> {
        let d = self.d;
        let and = |a: String, b: String| B::Expr {
            sql: format!("{a} AND {b}"),
            two_valued: false,
            compound: true,
        };
        Ok(match test {
            Test::IsNull => B::two_valued(d.json_null_or_missing(r)?),
            Test::IsEmpty => B::two_valued(d.json_empty(r)?),
            Test::Eq(Scalar::Num(n)) => B::plain(d.json_number_cmp(r, None, n)?),
            Test::Compare(op, n) => B::plain(d.json_number_cmp(r, Some(*op), n)?),
            Test::Eq(Scalar::Bool(b)) => B::plain(d.json_bool_is(r, *b)?),
            Test::In(items) if !matches!(items.first(), Some(Scalar::Str(_))) => {
                let mut parts = Vec::new();
                for i in items {
                    parts.push(match i {
                        Scalar::Num(n) => d.json_number_cmp(r, None, n)?,
                        Scalar::Bool(b) => d.json_bool_is(r, *b)?,
                        Scalar::Str(_) => unreachable!("lists have one type"),
                    });
                }
                if parts.len() == 1 {
                    B::plain(parts.pop().expect("one"))
                } else {
                    B::Expr {
                        sql: parts.join(" OR "),
                        two_valued: false,
                        compound: true,
                    }
                }
            }
            t => {
                let text = d.json_text(r)?;
                match self.string_test(&text, t, ci)? {
                    Some(sql) => and(d.json_is(r, JsonKind::String)?, sql),
                    None => B::Const(false),
                }
            }
        })
    }
}
