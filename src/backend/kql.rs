//! Microsoft Sentinel / Log Analytics KQL.
//!
//! The query is `<Table> | where <predicate>` (plus `mv-apply` stages for array quantifiers and
//! a `project` of the output fields). The renderer decides the semantics of SPEC §3 once, given
//! KQL's own rules:
//!
//! - A `string` column is never null: a missing or null string reads as `""`. Every string
//!   operator is therefore two-valued, and a negated string test is the negated operator
//!   (`!=`, `!in`, `!contains_cs`, ...). The one thing KQL cannot do is tell `""` from missing
//!   (docs/targets/kql.md lists the consequences).
//! - `long`, `real` and `bool` columns are null when the field is missing: a comparison with
//!   null is null (dropped by `where`), so a negated leaf is `isnull(x) or <negated test>`.
//! - `dynamic` values (objects, arrays, mixed types) are tested with a type check first
//!   (`gettype(x) == "string" and tostring(x) == "a"`), which makes equality typed (SPEC §3.4:
//!   `"5"` is not `5`). Negated leaves are written with De Morgan's laws, so that no `not(...)`
//!   ever wraps a subexpression that can be null (`true or null` is `true` in KQL, but
//!   `not(null)` is null).
//! - `any`/`all` (and `[*]`) become `mv-apply` over the array with a `summarize countif(...)`,
//!   which keeps exactly one row per event; `all` counts the elements that fail the body.
//!
//! The leaf-level rendering builds the positive and the negated form of every test, so the
//! normalised IR (no `Not`, negation on the leaves) maps onto KQL without a general `not`.

use std::cell::{Cell, RefCell};

use crate::backend::regexp::{self, Flavour};
use crate::backend::schema::{ColumnType, TableSchema};
use crate::backend::sql::dialect::Unsupported;
use crate::backend::sql::{inferred_schema, unsupported};
use crate::diag::Diagnostic;
use crate::ir::normalize::normalize;
use crate::ir::{CmpOp, FieldPath, Leaf, Node, Scalar, Step, Test};
use crate::rule::Rule;

/// The default Sentinel table for a log type: `.` → `_` and the custom-log suffix `_CL`
/// (`Gravitational.TeleportAudit` → `Gravitational_TeleportAudit_CL`).
pub fn default_table_name(log_type: &str) -> String {
    format!("{}_CL", log_type.replace('.', "_"))
}

/// The KQL scalar type of a column type.
pub fn kql_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Text => "string",
        ColumnType::Integer => "long",
        ColumnType::Real => "real",
        ColumnType::Boolean => "bool",
        ColumnType::Json => "dynamic",
    }
}

/// The KQL query for a rule: one table per log type (`union` of them when there are several),
/// filtered by the condition, projected on the output fields when the rule lists them.
pub fn render_query(
    rule: &Rule,
    schema_for: &dyn Fn(&str) -> Option<TableSchema>,
) -> Result<String, Diagnostic> {
    render_placed_query(rule, &|lt| {
        Ok(Placement {
            table: default_table_name(lt),
            schema: schema_for(lt),
            time_column: None,
        })
    })
}

/// Where a log type's data lives in Log Analytics (from a profile).
#[derive(Clone, Debug, Default)]
pub struct Placement {
    pub table: String,
    /// Column types; `None` infers them from the rule.
    pub schema: Option<TableSchema>,
    /// With a time column, the query keeps the rule's lookback: `| where T > ago(<n>m)`.
    pub time_column: Option<String>,
}

/// The KQL query with each log type placed by `placement_for` (a profile).
pub fn render_placed_query(
    rule: &Rule,
    placement_for: &dyn Fn(&str) -> Result<Placement, Diagnostic>,
) -> Result<String, Diagnostic> {
    let mut parts = Vec::new();
    for log_type in &rule.log_types {
        let placement = placement_for(log_type)?;
        let schema = placement.schema.unwrap_or_else(|| inferred_schema(rule));
        let cx = Cx::new(&schema);
        let filter = cx
            .filter(&rule.condition.ir)
            .map_err(|u| unsupported(rule, u))?;
        let mut lines = vec![quote_ident(&placement.table)];
        if let Some(t) = &placement.time_column {
            lines.push(format!(
                "| where {} > ago({}m)",
                quote_ident(t),
                rule.schedule.lookback_minutes
            ));
        }
        lines.extend(filter.stages());
        if rule.output_fields.is_empty() {
            if !filter.helpers.is_empty() {
                lines.push(format!("| project-away {}", filter.helpers.join(", ")));
            }
        } else {
            let mut cols = Vec::new();
            for f in &rule.output_fields {
                // A top-level key keeps its name; a deeper path is named as the rule wrote it.
                let name = match f.path.0.as_slice() {
                    [Step::Key(k)] => quote_ident(k),
                    _ => quote_ident(&f.text),
                };
                let expr = match cx
                    .resolve(&f.path, &Root::Table)
                    .map_err(|u| unsupported(rule, u))?
                {
                    Loc::Missing => "dynamic(null)".to_string(),
                    Loc::Col { expr, .. } | Loc::Dyn(expr) => expr,
                };
                cols.push(if expr == name {
                    expr
                } else {
                    format!("{name} = {expr}")
                });
            }
            lines.push(format!("| project {}", cols.join(", ")));
        }
        parts.push(lines.join("\n"));
    }
    if parts.len() == 1 {
        return Ok(parts.pop().expect("one part"));
    }
    let subqueries: Vec<String> = parts
        .iter()
        .map(|p| format!("    ({})", p.replace('\n', "\n    ")))
        .collect();
    Ok(format!("union\n{}", subqueries.join(",\n")))
}

/// The tabular operators that keep the rows of a table satisfying `node` (normalised IR), one
/// per line, each starting with `| `: `| where ...`, or for array quantifiers `mv-apply` stages,
/// a `| where` over their counts and a `| project-away` of the helper columns. Empty when the
/// condition is always true.
pub fn render_condition(node: &Node, schema: &TableSchema) -> Result<String, Unsupported> {
    let f = Cx::new(schema).filter(node)?;
    let mut lines = f.stages();
    if !f.helpers.is_empty() {
        lines.push(format!("| project-away {}", f.helpers.join(", ")));
    }
    Ok(lines.join("\n"))
}

// ---- literals and names ---------------------------------------------------------------------

/// Words the Kusto parser reads as keywords where a name is expected (from Kusto.Language's
/// syntax facts): a column or member named so must be bracketed.
const KEYWORDS: &[&str] = &[
    "accumulate",
    "and",
    "anomalychart",
    "areachart",
    "as",
    "asc",
    "bagexpansion",
    "barchart",
    "between",
    "bin_legacy",
    "boolean",
    "by",
    "byte",
    "cachingpolicy",
    "callout",
    "cancel",
    "card",
    "char",
    "columnchart",
    "contains",
    "contains_cs",
    "containscs",
    "cycles",
    "dataexport",
    "datascope",
    "datatable",
    "date",
    "datetime",
    "decimal",
    "decodeblocks",
    "desc",
    "double",
    "dynamic",
    "earliest",
    "encodingpolicy",
    "endswith",
    "endswith_cs",
    "expandoutput",
    "extent_tags_retention",
    "external_data",
    "externaldata",
    "false",
    "find",
    "first",
    "flags",
    "float",
    "force_remote",
    "granny",
    "harddelete",
    "hardretention",
    "has",
    "has_all",
    "has_any",
    "has_cs",
    "hasprefix",
    "hasprefix_cs",
    "hassuffix",
    "hassuffix_cs",
    "hotcache",
    "in",
    "int",
    "int16",
    "int32",
    "int64",
    "int8",
    "invoke",
    "isfuzzy",
    "journal",
    "kind",
    "ladderchart",
    "last",
    "latest",
    "like",
    "likecs",
    "linechart",
    "long",
    "materialize",
    "mdm",
    "missing",
    "nooptimization",
    "not",
    "notcontains",
    "notcontainscs",
    "notlike",
    "notlikecs",
    "null",
    "of",
    "or",
    "others",
    "partitioned_by",
    "pathformat",
    "piechart",
    "pivotchart",
    "print",
    "project",
    "queries",
    "query_results",
    "real",
    "relaxed",
    "restricted_view_access",
    "row_level_security",
    "rowstore",
    "rowstore_references",
    "rowstore_sealinfo",
    "rowstorepolicy",
    "rowstores",
    "sample",
    "scatterchart",
    "seal",
    "seals",
    "search",
    "set",
    "shards",
    "simple",
    "softdelete",
    "softretention",
    "sql",
    "stackedareachart",
    "startswith",
    "startswith_cs",
    "statistics",
    "storedqueryresultcontainers",
    "string",
    "tablepurge",
    "time",
    "timechart",
    "timeline",
    "timepivot",
    "timespan",
    "title",
    "to",
    "toscalar",
    "totable",
    "treemap",
    "true",
    "uint",
    "uint16",
    "uint32",
    "uint64",
    "uint8",
    "ulong",
    "union",
    "uniqueid",
    "unrestrictedviewers",
    "verbose",
    "viewers",
    "views",
    "where",
    "with_itemindex",
    "with_match_id",
    "with_source",
    "with_step_name",
    "withsource",
    "writeaheadlog",
];

/// `[A-Za-z_][A-Za-z0-9_]*` and not a keyword: usable as a bare name.
fn is_plain_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.contains(&name.to_ascii_lowercase().as_str())
}

/// A table or column name: bare when it can be, else `['...']`.
pub fn quote_ident(name: &str) -> String {
    if is_plain_name(name) {
        name.to_string()
    } else {
        format!("[{}]", escape_quoted(name, '\''))
    }
}

/// A KQL string literal: `"..."` with `\"`, `\\`, `\n`, `\r`, `\t` and `\uXXXX` for the other
/// control characters, so a value never ends the literal, never spans lines and never changes
/// the query's structure. NUL cannot be held.
pub fn string_literal(s: &str) -> Result<String, Unsupported> {
    if s.contains('\0') {
        return Err(Unsupported(
            "a string value contains a NUL character, which a KQL string cannot hold".into(),
        ));
    }
    Ok(escape_quoted(s, '"'))
}

fn escape_quoted(s: &str, quote: char) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            // C0 and C1 controls and the Unicode line/paragraph separators, as escapes.
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// A verbatim literal `@"..."` (backslashes are literal, a quote is doubled), for regexes. The
/// text must not contain a line break (the RE2 translation never emits one).
fn verbatim_literal(s: &str) -> String {
    format!("@\"{}\"", s.replace('"', "\"\""))
}

/// A number as a KQL literal: integers as `long` when they fit, everything else as `real`.
fn number_literal(n: &serde_json::Number) -> String {
    match n.as_i64() {
        Some(i) => i.to_string(),
        None => real_literal(n),
    }
}

fn real_literal(n: &serde_json::Number) -> String {
    let f = n.as_f64().unwrap_or(f64::NAN);
    // `{:?}` keeps a decimal point or an exponent (`1000.0`, `1e300`): always a real literal.
    format!("{f:?}")
}

/// Integers a double holds exactly, with room for rounding to keep order (|n| < 2^53): for
/// these, comparing `toreal(x)` with `n` gives the exact integer answer for any `long` x.
fn double_safe(n: &serde_json::Number) -> bool {
    match (n.as_i64(), n.as_u64()) {
        (Some(i), _) => i.unsigned_abs() < 1 << 53,
        (None, Some(_)) => false,
        // Not an integer: SPEC compares it as a double anyway.
        (None, None) => true,
    }
}

// ---- the renderer ---------------------------------------------------------------------------

/// Precedence of a rendered boolean, for parentheses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prec {
    /// A call, comparison or parenthesised expression.
    Atom,
    /// Top-level `and`.
    And,
    /// Top-level `or`.
    Or,
}

/// A rendered boolean.
#[derive(Clone, Debug, PartialEq)]
enum B {
    Const(bool),
    Expr(String, Prec),
}

impl B {
    fn atom(s: impl Into<String>) -> B {
        B::Expr(s.into(), Prec::Atom)
    }

    /// As an operand of `and` (`and` true) or `or`: anything with another top-level operator
    /// is parenthesised (`and` binds tighter than `or` in KQL, but the parentheses read better).
    fn operand(&self, and: bool) -> String {
        match self {
            B::Const(b) => b.to_string(),
            B::Expr(s, Prec::Atom) => s.clone(),
            B::Expr(s, Prec::And) if and => s.clone(),
            B::Expr(s, Prec::Or) if !and => s.clone(),
            B::Expr(s, _) => format!("({s})"),
        }
    }

    fn text(&self) -> String {
        match self {
            B::Const(b) => b.to_string(),
            B::Expr(s, _) => s.clone(),
        }
    }
}

fn and(parts: Vec<B>) -> B {
    junction(parts, true)
}

fn or(parts: Vec<B>) -> B {
    junction(parts, false)
}

fn junction(parts: Vec<B>, is_and: bool) -> B {
    let mut kept = Vec::new();
    for p in parts {
        match p {
            B::Const(b) if b == is_and => {}
            B::Const(b) => return B::Const(b),
            e => kept.push(e),
        }
    }
    match kept.len() {
        0 => B::Const(is_and),
        1 => kept.pop().expect("one part"),
        _ => B::Expr(
            kept.iter()
                .map(|p| p.operand(is_and))
                .collect::<Vec<_>>()
                .join(if is_and { " and " } else { " or " }),
            if is_and { Prec::And } else { Prec::Or },
        ),
    }
}

/// A test and its negation, both two-valued where the negation is concerned (a positive form
/// may be null on a missing value: `where` and `countif` read that as false).
struct Pair {
    pos: B,
    neg: B,
}

impl Pair {
    fn constant(b: bool) -> Pair {
        Pair {
            pos: B::Const(b),
            neg: B::Const(!b),
        }
    }

    fn new(pos: B, neg: B) -> Pair {
        Pair { pos, neg }
    }
}

/// Where a path's value lives.
enum Loc {
    /// The schema says the field cannot exist.
    Missing,
    /// A typed top-level column (`string`, `long`, `real`, `bool`).
    Col { expr: String, ty: ColumnType },
    /// A `dynamic` value: a column, a member or element of one, or an array element.
    Dyn(String),
}

enum Root {
    Table,
    /// Inside `mv-apply`: the element column.
    Element(String),
}

/// What the condition becomes: a `where` that needs no helper columns (run first, so the
/// engine can use its indexes), `mv-apply` stages, and a `where` over their counts.
struct Filter {
    pre: Option<String>,
    applies: Vec<String>,
    post: Option<String>,
    /// The count columns the stages add.
    helpers: Vec<String>,
}

impl Filter {
    fn stages(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(p) = &self.pre {
            lines.push(format!("| where {p}"));
        }
        for a in &self.applies {
            lines.push(format!("| {a}"));
        }
        if let Some(p) = &self.post {
            lines.push(format!("| where {p}"));
        }
        lines
    }
}

struct Cx<'a> {
    schema: &'a TableSchema,
    quantifiers: Cell<usize>,
    /// `mv-apply` groups collected per scope: the query, then each enclosing quantifier body.
    scopes: RefCell<Vec<Vec<Group>>>,
}

/// One `mv-apply` over one array: every quantifier of a scope over the same array shares it,
/// each with its own count column.
struct Group {
    /// The array expression.
    array: String,
    elem: String,
    index: String,
    /// Stages of quantifiers nested in the bodies, already rendered.
    nested: Vec<Rendered>,
    /// (count column, countif predicate), one per quantifier.
    counts: Vec<(String, String)>,
}

/// A rendered `mv-apply` stage and the count columns it adds.
struct Rendered {
    counts: Vec<String>,
    text: String,
}

impl Group {
    /// The stage, keeping only the counts `used` mentions; `None` when none is used.
    fn render(self, used: &str) -> Option<Rendered> {
        let counts: Vec<(String, String)> = self
            .counts
            .into_iter()
            .filter(|(c, _)| mentions(used, c))
            .collect();
        if counts.is_empty() {
            return None;
        }
        let preds: String = counts
            .iter()
            .map(|(_, p)| p.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let mut sub: Vec<String> = self
            .nested
            .into_iter()
            .filter(|r| r.counts.iter().any(|c| mentions(&preds, c)))
            .map(|r| r.text)
            .collect();
        let aggregates: Vec<String> = counts
            .iter()
            .map(|(c, p)| format!("{c} = countif({} > 0 and {p})", self.index))
            .collect();
        sub.push(if aggregates.len() == 1 {
            format!("summarize {}", aggregates[0])
        } else {
            format!(
                "summarize
    {}",
                aggregates.join(",\n    ")
            )
        });
        let sub = sub
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let s = s.replace('\n', "\n    ");
                if i == 0 {
                    format!("    {s}")
                } else {
                    format!("    | {s}")
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        // A null first element makes every subtable non-empty, so `summarize` yields exactly
        // one row per event even for an empty array; its index 0 keeps it out of the counts. A
        // value that is not an array contributes no element.
        let arr = &self.array;
        let source = format!(
            "array_concat(dynamic([null]), iff(gettype({arr}) == \"array\", {arr}, dynamic([])))"
        );
        Some(Rendered {
            counts: counts.into_iter().map(|(c, _)| c).collect(),
            text: format!(
                "mv-apply with_itemindex={} {} = {source} on (\n{sub}\n)",
                self.index, self.elem
            ),
        })
    }
}

/// Whether `text` uses the helper column `name` (`__n1` is not `__n12`).
fn mentions(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(i, _)| {
        !text[i + name.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// The type names `gettype()` gives numbers in a `dynamic` value.
const NUMBER_TYPES: &str = r#"("int", "long", "real", "decimal")"#;
const INTEGER_TYPES: &str = r#"("int", "long")"#;
const FRACTION_TYPES: &str = r#"("real", "decimal")"#;

fn cmp_op(op: Option<CmpOp>) -> &'static str {
    match op {
        None => "==",
        Some(CmpOp::Gt) => ">",
        Some(CmpOp::Ge) => ">=",
        Some(CmpOp::Lt) => "<",
        Some(CmpOp::Le) => "<=",
    }
}

/// The operator that is true exactly when `cmp_op(op)` is false, for non-null operands.
fn cmp_complement(op: Option<CmpOp>) -> &'static str {
    match op {
        None => "!=",
        Some(CmpOp::Gt) => "<=",
        Some(CmpOp::Ge) => "<",
        Some(CmpOp::Lt) => ">=",
        Some(CmpOp::Le) => ">",
    }
}

/// The KQL operators for a string test: (positive, negated), case-sensitive or not.
fn string_ops(test: &Test, ci: bool) -> (&'static str, &'static str) {
    match (test, ci) {
        (Test::Eq(_), false) => ("==", "!="),
        (Test::Eq(_), true) => ("=~", "!~"),
        (Test::In(_), false) => ("in", "!in"),
        (Test::In(_), true) => ("in~", "!in~"),
        (Test::Contains(_), false) => ("contains_cs", "!contains_cs"),
        (Test::Contains(_), true) => ("contains", "!contains"),
        (Test::StartsWith(_), false) => ("startswith_cs", "!startswith_cs"),
        (Test::StartsWith(_), true) => ("startswith", "!startswith"),
        (Test::EndsWith(_), false) => ("endswith_cs", "!endswith_cs"),
        (Test::EndsWith(_), true) => ("endswith", "!endswith"),
        _ => unreachable!("not a string operator test"),
    }
}

impl<'a> Cx<'a> {
    fn new(schema: &'a TableSchema) -> Self {
        Cx {
            schema,
            quantifiers: Cell::new(0),
            scopes: RefCell::new(vec![Vec::new()]),
        }
    }

    fn filter(&self, node: &Node) -> Result<Filter, Unsupported> {
        let items: Vec<&Node> = match node {
            Node::And(items) => items.iter().collect(),
            other => vec![other],
        };
        let mut rendered = Vec::new();
        for item in items {
            match self.node(item, &Root::Table)? {
                B::Const(true) => {}
                B::Const(false) => {
                    return Ok(Filter {
                        pre: Some("false".into()),
                        applies: Vec::new(),
                        post: None,
                        helpers: Vec::new(),
                    });
                }
                b => rendered.push(b),
            }
        }
        let groups = self.scopes.borrow_mut().pop().expect("the query scope");
        let all_counts: Vec<String> = groups
            .iter()
            .flat_map(|g| g.counts.iter().map(|(c, _)| c.clone()))
            .collect();
        let (mut pre, mut post) = (Vec::new(), Vec::new());
        for b in rendered {
            if all_counts.iter().any(|c| mentions(&b.text(), c)) {
                post.push(b);
            } else {
                pre.push(b);
            }
        }
        let post_text: String = post.iter().map(B::text).collect::<Vec<_>>().join(" ");
        let used: Vec<Rendered> = groups
            .into_iter()
            .filter_map(|g| g.render(&post_text))
            .collect();
        let join = |parts: Vec<B>| match parts.as_slice() {
            [] => None,
            [one] => Some(one.text()),
            _ => Some(
                parts
                    .iter()
                    .map(|p| p.operand(true))
                    .collect::<Vec<_>>()
                    .join("\n    and "),
            ),
        };
        Ok(Filter {
            pre: join(pre),
            helpers: used.iter().flat_map(|r| r.counts.clone()).collect(),
            applies: used.into_iter().map(|r| r.text).collect(),
            post: join(post),
        })
    }

    fn resolve(&self, path: &FieldPath, root: &Root) -> Result<Loc, Unsupported> {
        Ok(match root {
            Root::Element(e) => match access(e, &path.0)? {
                Some(expr) => Loc::Dyn(expr),
                None => Loc::Missing,
            },
            Root::Table => match path.0.split_first() {
                Some((Step::Key(k), rest)) => match self.schema.column(k) {
                    None => Loc::Missing,
                    Some(ColumnType::Json) => match access(&quote_ident(k), rest)? {
                        Some(expr) => Loc::Dyn(expr),
                        None => Loc::Missing,
                    },
                    Some(ty) if rest.is_empty() => Loc::Col {
                        expr: quote_ident(k),
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
            Node::And(items) => {
                let mut parts = Vec::new();
                for i in items {
                    parts.push(self.node(i, root)?);
                }
                Ok(and(parts))
            }
            Node::Or(items) => {
                let mut parts = Vec::new();
                for i in items {
                    parts.push(self.node(i, root)?);
                }
                Ok(or(parts))
            }
            // Only before `normalize`: push the `not` down to the leaves first.
            Node::Not(_) => self.node(&normalize(node.clone()), root),
            Node::Leaf(leaf) => self.leaf(leaf, root),
            Node::Any { path, body } => self.quantifier(path, body, root, true),
            Node::All { path, body } => self.quantifier(path, body, root, false),
        }
    }

    fn leaf(&self, leaf: &Leaf, root: &Root) -> Result<B, Unsupported> {
        let pair = match self.resolve(&leaf.path, root)? {
            Loc::Missing => Pair::constant(matches!(leaf.test, Test::IsNull | Test::IsEmpty)),
            Loc::Col { expr, ty } => {
                self.column_test(&expr, ty, &leaf.test, leaf.case_insensitive)?
            }
            Loc::Dyn(expr) => self.dynamic_test(&expr, &leaf.test, leaf.case_insensitive)?,
        };
        Ok(if leaf.negated { pair.neg } else { pair.pos })
    }

    /// `any` (or `all`, as "no element fails the body") over the array at `path`.
    fn quantifier(
        &self,
        path: &FieldPath,
        body: &Node,
        root: &Root,
        any: bool,
    ) -> Result<B, Unsupported> {
        let arr = match self.resolve(path, root)? {
            Loc::Dyn(expr) => expr,
            // Missing, or a scalar column: not an array, so no element.
            Loc::Missing | Loc::Col { .. } => return Ok(B::Const(!any)),
        };
        // A quantifier over an array another one of this scope reads shares its `mv-apply`.
        let shared = self
            .scopes
            .borrow()
            .last()
            .expect("a scope")
            .iter()
            .find(|g| g.array == arr)
            .map(|g| (g.elem.clone(), g.index.clone()));
        let n = self.quantifiers.get() + 1;
        self.quantifiers.set(n);
        let count = format!("__n{n}");
        let (elem, index) = shared
            .clone()
            .unwrap_or_else(|| (format!("__e{n}"), format!("__i{n}")));
        for name in [&elem, &index, &count] {
            if self.schema.columns.contains_key(name.as_str()) {
                return Err(Unsupported(format!(
                    "the column `{name}` has the name of a helper column the KQL query needs"
                )));
            }
        }
        // `all P (E)` is "no element satisfies `not E`"; the normalised `not E` has its
        // negations on the leaves.
        let body_node = if any {
            body.clone()
        } else {
            normalize(Node::Not(Box::new(body.clone())))
        };
        self.scopes.borrow_mut().push(Vec::new());
        let rendered = self.node(&body_node, &Root::Element(elem.clone()));
        let nested = self
            .scopes
            .borrow_mut()
            .pop()
            .expect("the quantifier scope");
        let b = match rendered? {
            // No element can satisfy the body.
            B::Const(false) => return Ok(B::Const(!any)),
            // Every element satisfies it: the question is whether there is an element.
            B::Const(true) => {
                return Ok(if any {
                    B::Expr(
                        format!("gettype({arr}) == \"array\" and array_length({arr}) > 0"),
                        Prec::And,
                    )
                } else {
                    B::Expr(
                        format!("gettype({arr}) != \"array\" or array_length({arr}) == 0"),
                        Prec::Or,
                    )
                });
            }
            b => b,
        };
        let pred = b.operand(true);
        let nested: Vec<Rendered> = nested.into_iter().filter_map(|g| g.render(&pred)).collect();
        let mut scopes = self.scopes.borrow_mut();
        let scope = scopes.last_mut().expect("a scope");
        let group = match scope.iter_mut().position(|g| g.array == arr) {
            Some(i) => &mut scope[i],
            None => {
                scope.push(Group {
                    array: arr.clone(),
                    elem,
                    index,
                    nested: Vec::new(),
                    counts: Vec::new(),
                });
                scope.last_mut().expect("just pushed")
            }
        };
        // The same test on the same array is counted once.
        let count = match group.counts.iter().find(|(_, p)| *p == pred) {
            Some((c, _)) => c.clone(),
            None => {
                group.nested.extend(nested);
                group.counts.push((count.clone(), pred));
                count
            }
        };
        Ok(B::atom(if any {
            format!("{count} > 0")
        } else {
            format!("{count} == 0")
        }))
    }

    /// A test on a typed top-level column.
    fn column_test(
        &self,
        col: &str,
        ty: ColumnType,
        test: &Test,
        ci: bool,
    ) -> Result<Pair, Unsupported> {
        Ok(match ty {
            ColumnType::Text => self.text_test(col, test, ci)?,
            ColumnType::Integer | ColumnType::Real => number_column_test(col, ty, test),
            ColumnType::Boolean => bool_column_test(col, test),
            ColumnType::Json => unreachable!("JSON columns resolve to dynamic values"),
        })
    }

    /// A test on a `string` expression, which is never null (a missing string is `""`).
    fn text_test(&self, x: &str, test: &Test, ci: bool) -> Result<Pair, Unsupported> {
        Ok(match test {
            Test::IsNull | Test::IsEmpty => Pair::new(
                B::atom(format!("isempty({x})")),
                B::atom(format!("isnotempty({x})")),
            ),
            Test::Eq(Scalar::Str(s)) => {
                let (p, n) = string_ops(test, ci);
                let lit = string_literal(s)?;
                Pair::new(
                    B::atom(format!("{x} {p} {lit}")),
                    B::atom(format!("{x} {n} {lit}")),
                )
            }
            Test::In(items) => {
                let mut lits = Vec::new();
                for i in items {
                    if let Scalar::Str(s) = i {
                        lits.push(string_literal(s)?);
                    }
                }
                if lits.is_empty() {
                    return Ok(Pair::constant(false));
                }
                let (p, n) = if lits.len() == 1 {
                    string_ops(&Test::Eq(Scalar::Bool(true)), ci)
                } else {
                    string_ops(test, ci)
                };
                let rhs = if lits.len() == 1 {
                    lits.remove(0)
                } else {
                    format!("({})", lits.join(", "))
                };
                Pair::new(
                    B::atom(format!("{x} {p} {rhs}")),
                    B::atom(format!("{x} {n} {rhs}")),
                )
            }
            // Every string contains, starts and ends with "" (and a missing one is "").
            Test::Contains(s) | Test::StartsWith(s) | Test::EndsWith(s) if s.is_empty() => {
                Pair::constant(true)
            }
            Test::Contains(s) | Test::StartsWith(s) | Test::EndsWith(s) => {
                let (p, n) = string_ops(test, ci);
                let lit = string_literal(s)?;
                Pair::new(
                    B::atom(format!("{x} {p} {lit}")),
                    B::atom(format!("{x} {n} {lit}")),
                )
            }
            Test::Matches(p) => {
                let re = verbatim_literal(&regexp::translate(&p.source, Flavour::Re2)?.pattern);
                Pair::new(
                    B::atom(format!("{x} matches regex {re}")),
                    B::atom(format!("not({x} matches regex {re})")),
                )
            }
            // Typed equality: a string is never a number or a boolean.
            Test::Eq(_) | Test::Compare(..) => Pair::constant(false),
        })
    }

    /// A test on a `dynamic` value: the JSON type is checked first.
    fn dynamic_test(&self, x: &str, test: &Test, ci: bool) -> Result<Pair, Unsupported> {
        let is_string = format!("gettype({x}) == \"string\"");
        let not_string = format!("gettype({x}) != \"string\"");
        let text = format!("tostring({x})");
        Ok(match test {
            Test::IsNull => Pair::new(
                B::atom(format!("isnull({x})")),
                B::atom(format!("isnotnull({x})")),
            ),
            Test::IsEmpty => {
                // `tostring()` is "" exactly for null and for the string "" (every other value
                // prints as something), and prints an empty array or object as `[]` / `{}`;
                // `gettype()` keeps the strings "[]" and "{}" out. No part is ever null.
                let container = format!("gettype({x}) in (\"array\", \"dictionary\")");
                let not_container = format!("gettype({x}) !in (\"array\", \"dictionary\")");
                Pair::new(
                    B::Expr(
                        format!("{text} == \"\" or ({container} and {text} in (\"[]\", \"{{}}\"))"),
                        Prec::Or,
                    ),
                    B::Expr(
                        format!(
                            "{text} != \"\" and ({not_container} or {text} !in (\"[]\", \"{{}}\"))"
                        ),
                        Prec::And,
                    ),
                )
            }
            Test::Contains(s) | Test::StartsWith(s) | Test::EndsWith(s) if s.is_empty() => {
                Pair::new(B::atom(is_string), B::atom(not_string))
            }
            Test::Eq(Scalar::Str(_))
            | Test::Contains(_)
            | Test::StartsWith(_)
            | Test::EndsWith(_)
            | Test::Matches(_) => {
                let t = self.text_test(&text, test, ci)?;
                Pair::new(
                    and(vec![B::atom(is_string), t.pos]),
                    or(vec![B::atom(not_string), t.neg]),
                )
            }
            Test::In(items) if matches!(items.first(), Some(Scalar::Str(_))) => {
                let t = self.text_test(&text, test, ci)?;
                Pair::new(
                    and(vec![B::atom(is_string), t.pos]),
                    or(vec![B::atom(not_string), t.neg]),
                )
            }
            Test::Eq(Scalar::Num(n)) => dynamic_number(x, None, std::slice::from_ref(n)),
            Test::Compare(op, n) => dynamic_number(x, Some(*op), std::slice::from_ref(n)),
            Test::In(items) if matches!(items.first(), Some(Scalar::Num(_))) => {
                let nums: Vec<serde_json::Number> = items
                    .iter()
                    .filter_map(|i| match i {
                        Scalar::Num(n) => Some(n.clone()),
                        _ => None,
                    })
                    .collect();
                dynamic_number(x, None, &nums)
            }
            Test::Eq(Scalar::Bool(_)) | Test::In(_) => {
                let bools: Vec<bool> = match test {
                    Test::Eq(Scalar::Bool(b)) => vec![*b],
                    Test::In(items) => items
                        .iter()
                        .filter_map(|i| match i {
                            Scalar::Bool(b) => Some(*b),
                            _ => None,
                        })
                        .collect(),
                    _ => unreachable!(),
                };
                let is_bool = format!("gettype({x}) == \"bool\"");
                let not_bool = format!("gettype({x}) != \"bool\"");
                match bools.as_slice() {
                    [] => Pair::constant(false),
                    [b, rest @ ..] if rest.iter().all(|r| r == b) => Pair::new(
                        B::Expr(format!("{is_bool} and tobool({x}) == {b}"), Prec::And),
                        B::Expr(format!("{not_bool} or tobool({x}) != {b}"), Prec::Or),
                    ),
                    _ => Pair::new(B::atom(is_bool), B::atom(not_bool)),
                }
            }
        })
    }
}

/// `long`/`real` columns: null when missing, so the negation tests for null first.
fn number_column_test(col: &str, ty: ColumnType, test: &Test) -> Pair {
    let null_or = |s: String| B::Expr(format!("isnull({col}) or {s}"), Prec::Or);
    // A literal beyond the `long` range cannot equal a `long`: it is above all of them.
    let above_longs =
        |n: &serde_json::Number| ty == ColumnType::Integer && n.as_i64().is_none() && n.is_u64();
    match test {
        Test::IsNull | Test::IsEmpty => Pair::new(
            B::atom(format!("isnull({col})")),
            B::atom(format!("isnotnull({col})")),
        ),
        Test::Eq(Scalar::Num(n)) | Test::Compare(_, n) => {
            let op = match test {
                Test::Compare(op, _) => Some(*op),
                _ => None,
            };
            if above_longs(n) {
                return match op {
                    Some(CmpOp::Lt | CmpOp::Le) => Pair::new(
                        B::atom(format!("isnotnull({col})")),
                        B::atom(format!("isnull({col})")),
                    ),
                    _ => Pair::constant(false),
                };
            }
            let lit = number_literal(n);
            Pair::new(
                B::atom(format!("{col} {} {lit}", cmp_op(op))),
                null_or(format!("{col} {} {lit}", cmp_complement(op))),
            )
        }
        Test::In(items) => {
            let lits: Vec<String> = items
                .iter()
                .filter_map(|i| match i {
                    Scalar::Num(n) if !above_longs(n) => Some(number_literal(n)),
                    _ => None,
                })
                .collect();
            match lits.as_slice() {
                [] => Pair::constant(false),
                [one] => Pair::new(
                    B::atom(format!("{col} == {one}")),
                    null_or(format!("{col} != {one}")),
                ),
                _ => {
                    let list = lits.join(", ");
                    Pair::new(
                        B::atom(format!("{col} in ({list})")),
                        null_or(format!("{col} !in ({list})")),
                    )
                }
            }
        }
        _ => Pair::constant(false),
    }
}

/// `bool` columns: null when missing.
fn bool_column_test(col: &str, test: &Test) -> Pair {
    let bools: Vec<bool> = match test {
        Test::IsNull | Test::IsEmpty => {
            return Pair::new(
                B::atom(format!("isnull({col})")),
                B::atom(format!("isnotnull({col})")),
            );
        }
        Test::Eq(Scalar::Bool(b)) => vec![*b],
        Test::In(items) => items
            .iter()
            .filter_map(|i| match i {
                Scalar::Bool(b) => Some(*b),
                _ => None,
            })
            .collect(),
        _ => return Pair::constant(false),
    };
    match bools.as_slice() {
        [] => Pair::constant(false),
        [b, rest @ ..] if rest.iter().all(|r| r == b) => Pair::new(
            B::atom(format!("{col} == {b}")),
            B::Expr(format!("isnull({col}) or {col} != {b}"), Prec::Or),
        ),
        _ => Pair::new(
            B::atom(format!("isnotnull({col})")),
            B::atom(format!("isnull({col})")),
        ),
    }
}

/// A number test on a `dynamic` value: `op` against `nums[0]`, or (`op` None) equality with
/// any of `nums`. Numbers are compared as doubles when that is exact for every `long` (SPEC:
/// integers compare exactly, anything else as IEEE doubles); a literal integer of 2^53 or more
/// compares `long` values with `tolong`.
fn dynamic_number(x: &str, op: Option<CmpOp>, nums: &[serde_json::Number]) -> Pair {
    let is_num = format!("gettype({x}) in {NUMBER_TYPES}");
    let not_num = format!("gettype({x}) !in {NUMBER_TYPES}");
    if nums.iter().all(double_safe) {
        let lits: Vec<String> = nums.iter().map(number_literal).collect();
        let (pos, neg) = match (op, lits.as_slice()) {
            (None, [one]) | (Some(_), [one]) => (
                format!("toreal({x}) {} {one}", cmp_op(op)),
                format!("toreal({x}) {} {one}", cmp_complement(op)),
            ),
            _ => {
                let list = lits.join(", ");
                (
                    format!("toreal({x}) in ({list})"),
                    format!("toreal({x}) !in ({list})"),
                )
            }
        };
        return Pair::new(
            B::Expr(format!("{is_num} and {pos}"), Prec::And),
            B::Expr(format!("{not_num} or {neg}"), Prec::Or),
        );
    }
    // One pair per literal: integers (`int`, `long`) exactly, fractions as doubles.
    let mut pos = Vec::new();
    let mut neg = Vec::new();
    for n in nums {
        let (p, q) = dynamic_wide_number(x, op, n);
        pos.push(p);
        neg.push(q);
    }
    Pair::new(or(pos), and(neg))
}

fn dynamic_wide_number(x: &str, op: Option<CmpOp>, n: &serde_json::Number) -> (B, B) {
    let is_int = format!("gettype({x}) in {INTEGER_TYPES}");
    let not_int = format!("gettype({x}) !in {INTEGER_TYPES}");
    let is_frac = format!("gettype({x}) in {FRACTION_TYPES}");
    let not_frac = format!("gettype({x}) !in {FRACTION_TYPES}");
    let real = real_literal(n);
    let frac_pos = B::Expr(
        format!("{is_frac} and toreal({x}) {} {real}", cmp_op(op)),
        Prec::And,
    );
    let frac_neg = B::Expr(
        format!("{not_frac} or toreal({x}) {} {real}", cmp_complement(op)),
        Prec::Or,
    );
    let (int_pos, int_neg) = match n.as_i64() {
        Some(i) => (
            B::Expr(
                format!("{is_int} and tolong({x}) {} {i}", cmp_op(op)),
                Prec::And,
            ),
            B::Expr(
                format!("{not_int} or tolong({x}) {} {i}", cmp_complement(op)),
                Prec::Or,
            ),
        ),
        // Above every `long`: only `lt`/`le` hold for an integer value.
        None => match op {
            Some(CmpOp::Lt | CmpOp::Le) => (B::atom(is_int), B::atom(not_int)),
            _ => (B::Const(false), B::Const(true)),
        },
    };
    (or(vec![int_pos, frac_pos]), and(vec![int_neg, frac_neg]))
}

/// `base` followed by member and index accessors; `None` when the path cannot exist (an index
/// beyond the `long` range).
fn access(base: &str, steps: &[Step]) -> Result<Option<String>, Unsupported> {
    let mut out = base.to_string();
    for s in steps {
        match s {
            Step::Key(k) if is_plain_name(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Key(k) => {
                out.push('[');
                out.push_str(&string_literal(k)?);
                out.push(']');
            }
            Step::Index(i) => match i64::try_from(*i) {
                Ok(i) => out.push_str(&format!("[{i}]")),
                Err(_) => return Ok(None),
            },
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_everything_structural() {
        assert_eq!(
            string_literal("a\"b\\c\nd\re\tf|`*?%").unwrap(),
            r#""a\"b\\c\nd\re\tf|`*?%""#
        );
        assert_eq!(
            string_literal("\u{1}\u{2028}é").unwrap(),
            r#""\u0001\u2028é""#
        );
        assert!(string_literal("a\0b").is_err());
        assert_eq!(quote_ident("event"), "event");
        assert_eq!(quote_ident("where"), "['where']");
        assert_eq!(quote_ident("user agent"), "['user agent']");
        assert_eq!(quote_ident("a'b\\c"), r"['a\'b\\c']");
        assert_eq!(quote_ident("@timestamp"), "['@timestamp']");
        assert_eq!(verbatim_literal(r#"say "hi"\d"#), r#"@"say ""hi""\d""#);
    }

    #[test]
    fn numbers() {
        let n = |s: &str| serde_json::from_str::<serde_json::Number>(s).unwrap();
        assert_eq!(number_literal(&n("5")), "5");
        assert_eq!(number_literal(&n("-1")), "-1");
        assert_eq!(number_literal(&n("1e3")), "1000.0");
        assert_eq!(number_literal(&n("1.5")), "1.5");
        assert_eq!(
            number_literal(&n("18446744073709551615")),
            "1.8446744073709552e19"
        );
        assert!(double_safe(&n("9007199254740991")));
        assert!(!double_safe(&n("9007199254740992")));
        assert!(!double_safe(&n("-9007199254740993")));
        assert!(double_safe(&n("0.1")));
    }
}
