//! Microsoft Sentinel / Log Analytics KQL.
//!
//! The query is `<Table> | where <predicate>` (plus `mv-apply` stages for array quantifiers and
//! a `project` of the output fields). The semantics of SPEC §3 are decided by the plan
//! (`plan::lower`); this file spells the plan with KQL's own rules:
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
//! A leaf test is spelled in its positive or its negated form (the check says which), so the
//! normalised IR (no `Not`, negation on the leaves) maps onto KQL without a general `not`;
//! compound tests (`field()`, wide numbers, compact CIDR) combine pairs of both forms.

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;

use crate::backend::Unsupported;
use crate::backend::cidr;
use crate::backend::plan::{
    self, Base, Check, Cond, FieldTest, Has, Ints, JsonPath, Kind, Known, Op, Part, Piece, Prec,
    Quant, Spell, StrOp, Val,
};
use crate::backend::regexp::{self, Flavour};
use crate::backend::schema::{ColumnType, TableSchema};
use crate::backend::{inferred_schema, unsupported};
use crate::diag::Diagnostic;
use crate::ir::{Cidr, CmpOp, Node, Step};
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
        ColumnType::Timestamp => "datetime",
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

/// The KQL query with each log type placed by `placement_for` (a profile). A query longer than
/// a Sentinel analytics rule takes (10,000 characters) is written again in its compact form
/// (`backend::compact` merges its lists; `in_cidr` uses Kusto's range functions), which is used
/// when it is shorter.
pub fn render_placed_query(
    rule: &Rule,
    placement_for: &dyn Fn(&str) -> Result<Placement, Diagnostic>,
) -> Result<String, Diagnostic> {
    let plain = render_placed(rule, placement_for, false)?;
    if plain.chars().count() <= crate::package::sentinel::limits::QUERY {
        return Ok(plain);
    }
    // The plain query stands (and the artifact reports its length) if the compact form is not
    // shorter or cannot be written.
    Ok(match render_placed(rule, placement_for, true) {
        Ok(compact) if compact.chars().count() < plain.chars().count() => compact,
        _ => plain,
    })
}

fn render_placed(
    rule: &Rule,
    placement_for: &dyn Fn(&str) -> Result<Placement, Diagnostic>,
    compact: bool,
) -> Result<String, Diagnostic> {
    let merged;
    let ir = if compact {
        merged = crate::backend::compact::merge_lists(&rule.condition.ir);
        &merged
    } else {
        &rule.condition.ir
    };
    let mut parts = Vec::new();
    for log_type in &rule.log_types {
        let placement = placement_for(log_type)?;
        let schema = placement.schema.unwrap_or_else(|| inferred_schema(rule));
        let mut cx = Cx::new(&schema);
        cx.compact = compact;
        let filter = cx.filter(ir).map_err(|u| unsupported(rule, u))?;
        let mut q = quote_ident(&placement.table);
        if let Some(t) = &placement.time_column {
            write!(
                q,
                "\n| where {} > ago({}m)",
                quote_ident(t),
                rule.schedule.lookback_minutes
            )
            .expect("writing to a String");
        }
        filter.write_stages(&mut q);
        if rule.output_fields.is_empty() {
            filter.write_project_away(&mut q);
        } else {
            let mut cols = Vec::new();
            for f in &rule.output_fields {
                // A top-level key keeps its name; a deeper path is named as the rule wrote it.
                let name = match f.path.0.as_slice() {
                    [Step::Key(k)] => quote_ident(k),
                    _ => quote_ident(&f.text),
                };
                let expr = match plan::resolve(&f.path, &schema) {
                    None => "dynamic(null)".to_string(),
                    Some(Val::Column { name, .. }) => quote_ident(&name),
                    Some(Val::Json(j)) => cx
                        .dynamic(&j, &Vec::new())
                        .map_err(|u| unsupported(rule, u))?,
                };
                cols.push(if expr == name {
                    expr
                } else {
                    format!("{name} = {expr}")
                });
            }
            q.push_str("\n| project ");
            q.push_str(&cols.join(", "));
        }
        parts.push(q);
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
    let mut out = String::new();
    f.write_stages(&mut out);
    f.write_project_away(&mut out);
    Ok(out)
}

// ---- literals and names ---------------------------------------------------------------------

/// Words the Kusto parser reads as keywords where a name is expected (from Kusto.Language's
/// syntax facts): a column or member named so must be bracketed. Lowercase and sorted (a
/// binary search reads it).
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
        && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
        && KEYWORDS
            .binary_search_by(|k| k.bytes().cmp(name.bytes().map(|b| b.to_ascii_lowercase())))
            .is_err()
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
    let mut out = String::with_capacity(s.len() + 2);
    push_string_literal(&mut out, s)?;
    Ok(out)
}

/// [`string_literal`], appended to `out`.
fn push_string_literal(out: &mut String, s: &str) -> Result<(), Unsupported> {
    if s.contains('\0') {
        return Err(Unsupported::new(
            "a string value contains a NUL character, which a KQL string cannot hold".into(),
        ));
    }
    push_quoted(out, s, '"');
    Ok(())
}

fn escape_quoted(s: &str, quote: char) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_quoted(&mut out, s, quote);
    out
}

fn push_quoted(out: &mut String, s: &str, quote: char) {
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
                write!(out, "\\u{:04x}", c as u32).expect("writing to a String");
            }
            c => out.push(c),
        }
    }
    out.push(quote);
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

// ---- the renderer ---------------------------------------------------------------------------

/// A spelled part of a compound test; parts are joined by `plan::join`, the junction rules
/// the plan writer uses (`and` binds tighter than `or` in KQL, but an `and` inside an `or` is
/// parenthesised to read better).
type B = Part;

fn and(parts: Vec<B>) -> B {
    plan::join(parts, true, " and ", false)
}

fn or(parts: Vec<B>) -> B {
    plan::join(parts, false, " or ", false)
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

    /// The negated form (`negated`) or the positive one.
    fn pick(self, negated: bool) -> B {
        if negated { self.neg } else { self.pos }
    }
}

/// The negated form (`negated`) or the positive one of a test, only the one asked for spelled.
fn one(negated: bool, pos: impl FnOnce() -> B, neg: impl FnOnce() -> B) -> B {
    if negated { neg() } else { pos() }
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
    /// Appends the stages to `out`, each on a line of its own (the first without a line break
    /// before it when `out` is empty).
    fn write_stages(&self, out: &mut String) {
        let mut line = |prefix: &str, text: &str| {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(prefix);
            out.push_str(text);
        };
        if let Some(p) = &self.pre {
            line("| where ", p);
        }
        for a in &self.applies {
            line("| ", a);
        }
        if let Some(p) = &self.post {
            line("| where ", p);
        }
    }

    /// Appends `| project-away` of the helper columns, on a line of its own, if there are any.
    fn write_project_away(&self, out: &mut String) {
        if self.helpers.is_empty() {
            return;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str("| project-away ");
        out.push_str(&self.helpers.join(", "));
    }
}

/// `s` appended to `out` with every line after the first indented by four spaces.
fn push_indented(out: &mut String, s: &str) {
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push_str("\n    ");
        }
        out.push_str(line);
    }
}

struct Cx<'a> {
    schema: &'a TableSchema,
    /// Writing the compact form: `in_cidr` with Kusto's range functions.
    compact: bool,
    quantifiers: Cell<usize>,
    /// One per scope being written: the query, then each enclosing quantifier body.
    scopes: RefCell<Vec<Scope>>,
}

/// What a scope's writing has collected.
#[derive(Default)]
struct Scope {
    /// Its `mv-apply` groups.
    groups: Vec<Group>,
    /// The count columns written into the scope's buffer, each with the byte it starts at:
    /// what the plan writer drops from the buffer is dropped here too (`Spell::dropped`), so
    /// what is left are the counts the written text reads.
    used: Vec<(String, usize)>,
}

impl Scope {
    /// The count columns the text written so far reads; the notes start again.
    fn take_used(&mut self) -> Vec<String> {
        self.used.drain(..).map(|(c, _)| c).collect()
    }
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
    /// One per quantifier.
    counts: Vec<Count>,
}

/// A count column of a group.
struct Count {
    name: String,
    /// The `countif` predicate.
    pred: String,
    /// The count columns of nested stages the predicate reads.
    uses: Vec<String>,
}

/// A rendered `mv-apply` stage and the count columns it adds.
struct Rendered {
    counts: Vec<String>,
    text: String,
}

impl Group {
    /// The stage, keeping only the counts in `used`; `None` when none is used.
    fn render(self, used: &[String]) -> Option<Rendered> {
        let counts: Vec<Count> = self
            .counts
            .into_iter()
            .filter(|c| used.contains(&c.name))
            .collect();
        if counts.is_empty() {
            return None;
        }
        // A null first element makes every subtable non-empty, so `summarize` yields exactly
        // one row per event even for an empty array; its index 0 keeps it out of the counts. A
        // value that is not an array contributes no element.
        let arr = &self.array;
        let mut text = format!(
            "mv-apply with_itemindex={} {} = array_concat(dynamic([null]), \
             iff(gettype({arr}) == \"array\", {arr}, dynamic([]))) on (\n",
            self.index, self.elem
        );
        // The nested stages the counts read, then the `summarize`, one per line, indented.
        let mut first = true;
        for r in self.nested {
            if r.counts
                .iter()
                .any(|n| counts.iter().any(|c| c.uses.contains(n)))
            {
                text.push_str(if first { "    " } else { "\n    | " });
                push_indented(&mut text, &r.text);
                first = false;
            }
        }
        text.push_str(if first { "    " } else { "\n    | " });
        text.push_str("summarize");
        // One aggregate follows on the same line; several each on a line of their own.
        let (lead, sep) = if counts.len() == 1 {
            (" ", "")
        } else {
            ("\n        ", ",\n        ")
        };
        for (i, c) in counts.iter().enumerate() {
            text.push_str(if i == 0 { lead } else { sep });
            write!(text, "{} = countif({} > 0 and ", c.name, self.index)
                .expect("writing to a String");
            push_indented(&mut text, &c.pred);
            text.push(')');
        }
        text.push_str("\n)");
        Some(Rendered {
            counts: counts.into_iter().map(|c| c.name).collect(),
            text,
        })
    }
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

/// The KQL operators for a string test: (positive, negated), case-sensitive or not; `many`
/// for `eq` with a list (`in`).
fn string_ops(op: StrOp, many: bool, ci: bool) -> (&'static str, &'static str) {
    match (op, many, ci) {
        (StrOp::Eq, false, false) => ("==", "!="),
        (StrOp::Eq, false, true) => ("=~", "!~"),
        (StrOp::Eq, true, false) => ("in", "!in"),
        (StrOp::Eq, true, true) => ("in~", "!in~"),
        (StrOp::Contains, _, false) => ("contains_cs", "!contains_cs"),
        (StrOp::Contains, _, true) => ("contains", "!contains"),
        (StrOp::StartsWith, _, false) => ("startswith_cs", "!startswith_cs"),
        (StrOp::StartsWith, _, true) => ("startswith", "!startswith"),
        (StrOp::EndsWith, _, false) => ("endswith_cs", "!endswith_cs"),
        (StrOp::EndsWith, _, true) => ("endswith", "!endswith"),
    }
}

impl<'a> Cx<'a> {
    fn new(schema: &'a TableSchema) -> Self {
        Cx {
            schema,
            compact: false,
            quantifiers: Cell::new(0),
            scopes: RefCell::new(vec![Scope::default()]),
        }
    }

    fn filter(&self, node: &Node) -> Result<Filter, Unsupported> {
        let cond = plan::lower(node, self.schema);
        let items: Vec<&Cond> = match &cond {
            Cond::And(items) => items.iter().collect(),
            other => vec![other],
        };
        let (mut pre, mut post, mut post_used) = (Vec::new(), Vec::new(), Vec::new());
        for item in items {
            let mut out = String::new();
            let piece = plan::write(self, item, &Vec::new(), &mut out)?;
            let used = self
                .scopes
                .borrow_mut()
                .last_mut()
                .expect("the query scope")
                .take_used();
            match piece {
                Piece::Const(true) => {}
                Piece::Const(false) => {
                    return Ok(Filter {
                        pre: Some("false".into()),
                        applies: Vec::new(),
                        post: None,
                        helpers: Vec::new(),
                    });
                }
                // An item that reads no count runs before the stages.
                Piece::Text(p) if used.is_empty() => pre.push(B::Text(out, p)),
                Piece::Text(p) => {
                    post.push(B::Text(out, p));
                    post_used.extend(used);
                }
            }
        }
        let groups = self
            .scopes
            .borrow_mut()
            .pop()
            .expect("the query scope")
            .groups;
        let used: Vec<Rendered> = groups
            .into_iter()
            .filter_map(|g| g.render(&post_used))
            .collect();
        let join = |parts: Vec<B>| {
            (!parts.is_empty()).then(|| {
                plan::join(parts, true, "\n    and ", false)
                    .text()
                    .to_string()
            })
        };
        Ok(Filter {
            pre: join(pre),
            helpers: used.iter().flat_map(|r| r.counts.clone()).collect(),
            applies: used.into_iter().map(|r| r.text).collect(),
            post: join(post),
        })
    }

    /// A `dynamic` value: a column's member or an element's.
    fn dynamic(&self, j: &JsonPath, elements: &Elements) -> Result<String, Unsupported> {
        let base = match &j.base {
            Base::Column(c) => quote_ident(c),
            Base::Element(id) => elements
                .iter()
                .rev()
                .find(|(e, _)| e == id)
                .map(|(_, name)| name.clone())
                .expect("a plan's element is inside its quantifier"),
        };
        access(base, &j.steps)
    }

    /// A check as written: its positive form, or its negated one when the check is negated.
    /// Only that form is spelled, except for compound tests built from pairs.
    fn spelled(&self, c: &Check, elements: &Elements) -> Result<B, Unsupported> {
        let negated = c.negated;
        if self.compact
            && let Op::Cidr(_, ranges) = &c.op
        {
            return Ok(match &c.val {
                Val::Column { name, .. } => cidr_test(&quote_ident(name), ranges)?.pick(negated),
                Val::Json(j) => {
                    let x = self.dynamic(j, elements)?;
                    let t = cidr_test(&format!("tostring({x})"), ranges)?;
                    if negated {
                        or(vec![B::atom(format!("gettype({x}) != \"string\"")), t.neg])
                    } else {
                        and(vec![B::atom(format!("gettype({x}) == \"string\"")), t.pos])
                    }
                }
            });
        }
        if let Op::Field { test, other, sides } = &c.op {
            let a = self.side(&c.val, sides[0], elements)?;
            let b = self.side(other, sides[1], elements)?;
            return Ok(field_pair(*test, &a, &b).pick(negated));
        }
        Ok(match &c.val {
            Val::Column { name, ty } => {
                let col = quote_ident(name);
                match ty {
                    ColumnType::Text => text_test(&col, &c.op, negated)?,
                    // Only null tests reach a timestamp column (the profile's check).
                    ColumnType::Integer
                    | ColumnType::Real
                    | ColumnType::Boolean
                    | ColumnType::Timestamp => typed_column_test(&col, &c.op, negated),
                    ColumnType::Json => unreachable!("JSON columns are read as dynamic values"),
                }
            }
            Val::Json(j) => dynamic_test(&self.dynamic(j, elements)?, &c.op, negated)?,
        })
    }
}

impl Cx<'_> {
    /// One side of a `field()` comparison: the expression, its column type (`None` for a
    /// `dynamic` value) and what the plan knows of it.
    fn side(&self, v: &Val, known: Known, elements: &Elements) -> Result<Side, Unsupported> {
        Ok(match v {
            Val::Column { name, ty } => Side {
                x: quote_ident(name),
                ty: Some(*ty),
                known,
            },
            Val::Json(j) => Side {
                x: self.dynamic(j, elements)?,
                ty: None,
                known,
            },
        })
    }
}

/// A value compared by `field()`.
struct Side {
    x: String,
    ty: Option<ColumnType>,
    known: Known,
}

impl Side {
    /// The plan's fact `has` (`None`: never) about the value, spelled: a test of `gettype()`
    /// (`types` a KQL list or one quoted name), or the column not being null.
    fn has(&self, has: Option<Has>, types: &str) -> Pair {
        let x = &self.x;
        match has {
            Some(Has::Test) if types.starts_with('(') => Pair::new(
                B::atom(format!("gettype({x}) in {types}")),
                B::atom(format!("gettype({x}) !in {types}")),
            ),
            Some(Has::Test) => Pair::new(
                B::Text(format!("gettype({x}) == {types}"), Prec::Cmp),
                B::Text(format!("gettype({x}) != {types}"), Prec::Cmp),
            ),
            // KQL spelling: a `string` column is never null (missing reads as ""), and "not
            // null" is `isnotempty` since KQL cannot tell "" from missing.
            Some(Has::UnlessNull) if self.ty == Some(ColumnType::Text) => Pair::new(
                B::atom(format!("isnotempty({x})")),
                B::atom(format!("isempty({x})")),
            ),
            Some(Has::UnlessNull) => Pair::new(
                B::atom(format!("isnotnull({x})")),
                B::atom(format!("isnull({x})")),
            ),
            None => Pair::constant(false),
        }
    }

    fn string(&self) -> Pair {
        self.has(Some(self.known.kind), "\"string\"")
    }

    fn bool(&self) -> Pair {
        self.has(Some(self.known.kind), "\"bool\"")
    }

    fn number(&self) -> Pair {
        self.has(Some(self.known.kind), NUMBER_TYPES)
    }

    fn integer(&self) -> Pair {
        self.has(self.known.integer, INTEGER_TYPES)
    }

    /// A number that is not an integer.
    fn fraction(&self) -> Pair {
        match self.known.integer {
            Some(Has::Test) => self.has(Some(Has::Test), FRACTION_TYPES),
            Some(Has::UnlessNull) => Pair::constant(false),
            None => self.number(),
        }
    }

    /// The value as `to` (`tostring`, `tolong`, ...), or the column itself when it has that
    /// type already.
    fn to(&self, to: &str, col: ColumnType) -> String {
        if self.ty == Some(col) {
            self.x.clone()
        } else {
            format!("{to}({})", self.x)
        }
    }
}

/// One kind of `a op field(b)` (the plan's `FieldTest`) as a positive and a two-valued
/// negated form: both sides have the kind and the test holds. Numbers compare as `long`s when
/// both are integers (`int`/`long`), as `real`s otherwise.
fn field_pair(test: FieldTest, a: &Side, b: &Side) -> Pair {
    let cmp = |x: String, sym: &str, y: String| B::Text(format!("{x} {sym} {y}"), Prec::Cmp);
    match test {
        FieldTest::Str { op, ci } => {
            let (p, n) = string_ops(op, false, ci);
            let (sa, sb) = (a.string(), b.string());
            let (ta, tb) = (
                a.to("tostring", ColumnType::Text),
                b.to("tostring", ColumnType::Text),
            );
            Pair::new(
                and(vec![sa.pos, sb.pos, cmp(ta.clone(), p, tb.clone())]),
                or(vec![sa.neg, sb.neg, cmp(ta, n, tb)]),
            )
        }
        FieldTest::Num { cmp: c, ints } => {
            let (p, n) = (cmp_op(c), cmp_complement(c));
            let (la, lb) = (
                a.to("tolong", ColumnType::Integer),
                b.to("tolong", ColumnType::Integer),
            );
            let (ra, rb) = (
                a.to("toreal", ColumnType::Real),
                b.to("toreal", ColumnType::Real),
            );
            let (na, nb) = (a.number(), b.number());
            match ints {
                Ints::Always => Pair::new(
                    and(vec![na.pos, nb.pos, cmp(la.clone(), p, lb.clone())]),
                    or(vec![na.neg, nb.neg, cmp(la, n, lb)]),
                ),
                Ints::Never => Pair::new(
                    and(vec![na.pos, nb.pos, cmp(ra.clone(), p, rb.clone())]),
                    or(vec![na.neg, nb.neg, cmp(ra, n, rb)]),
                ),
                Ints::Unknown => {
                    let (ia, ib) = (a.integer(), b.integer());
                    let (fa, fb) = (a.fraction(), b.fraction());
                    Pair::new(
                        or(vec![
                            and(vec![ia.pos, ib.pos, cmp(la.clone(), p, lb.clone())]),
                            and(vec![
                                na.pos,
                                nb.pos,
                                or(vec![fa.pos, fb.pos]),
                                cmp(ra.clone(), p, rb.clone()),
                            ]),
                        ]),
                        and(vec![
                            or(vec![ia.neg, ib.neg, cmp(la, n, lb)]),
                            or(vec![
                                na.neg,
                                nb.neg,
                                and(vec![fa.neg, fb.neg]),
                                cmp(ra, n, rb),
                            ]),
                        ]),
                    )
                }
            }
        }
        FieldTest::Bool => {
            let (ba, bb) = (a.bool(), b.bool());
            let (xa, xb) = (
                a.to("tobool", ColumnType::Boolean),
                b.to("tobool", ColumnType::Boolean),
            );
            Pair::new(
                and(vec![ba.pos, bb.pos, cmp(xa.clone(), "==", xb.clone())]),
                or(vec![ba.neg, bb.neg, cmp(xa, "!=", xb)]),
            )
        }
    }
}

/// The elements of the enclosing quantifiers: (quantifier id, element column).
type Elements = Vec<(usize, String)>;

impl Spell for Cx<'_> {
    type Scope = Elements;

    fn and_sep(&self) -> &str {
        " and "
    }

    fn or_sep(&self) -> &str {
        " or "
    }

    /// `and` binds tighter than `or` in KQL; an `and` inside an `and` needs no parentheses.
    fn group_junctions(&self) -> bool {
        false
    }

    fn dropped(&self, from: usize) {
        let mut scopes = self.scopes.borrow_mut();
        let scope = scopes.last_mut().expect("a scope");
        scope.used.retain(|(_, at)| *at < from);
    }

    fn check(
        &self,
        c: &Check,
        elements: &Elements,
        out: &mut String,
    ) -> Result<Piece, Unsupported> {
        Ok(match self.spelled(c, elements)? {
            B::Const(b) => Piece::Const(b),
            B::Text(s, p) => {
                out.push_str(&s);
                Piece::Text(p)
            }
        })
    }

    /// `any` (or `all`, as "no element fails the body") over the array: an `mv-apply` stage
    /// counts the elements that satisfy the body.
    fn quant(
        &self,
        q: &Quant,
        elements: &Elements,
        out: &mut String,
    ) -> Result<Piece, Unsupported> {
        let arr = self.dynamic(&q.array, elements)?;
        let any = q.exists;
        // A quantifier over an array another one of this scope reads shares its `mv-apply`.
        let shared = self
            .scopes
            .borrow()
            .last()
            .expect("a scope")
            .groups
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
                return Err(Unsupported::new(format!(
                    "the column `{name}` has the name of a helper column the KQL query needs"
                )));
            }
        }
        let mut inner = elements.clone();
        inner.push((q.id, elem.clone()));
        self.scopes.borrow_mut().push(Scope::default());
        let mut body = String::new();
        let rendered = plan::write(self, &q.body, &inner, &mut body);
        let mut nested = self
            .scopes
            .borrow_mut()
            .pop()
            .expect("the quantifier scope");
        let b = match rendered? {
            // No element can satisfy the body.
            Piece::Const(false) => return Ok(Piece::Const(!any)),
            // Every element satisfies it: the question is whether there is an element.
            Piece::Const(true) => {
                return Ok(if any {
                    out.push_str(&format!(
                        "gettype({arr}) == \"array\" and array_length({arr}) > 0"
                    ));
                    Piece::Text(Prec::And)
                } else {
                    out.push_str(&format!(
                        "gettype({arr}) != \"array\" or array_length({arr}) == 0"
                    ));
                    Piece::Text(Prec::Or)
                });
            }
            Piece::Text(p) => B::Text(body, p),
        };
        let pred = b.operand(true, false);
        let uses = nested.take_used();
        let nested: Vec<Rendered> = nested
            .groups
            .into_iter()
            .filter_map(|g| g.render(&uses))
            .collect();
        let mut scopes = self.scopes.borrow_mut();
        let scope = scopes.last_mut().expect("a scope");
        let group = match scope.groups.iter().position(|g| g.array == arr) {
            Some(i) => &mut scope.groups[i],
            None => {
                scope.groups.push(Group {
                    array: arr.clone(),
                    elem,
                    index,
                    nested: Vec::new(),
                    counts: Vec::new(),
                });
                scope.groups.last_mut().expect("just pushed")
            }
        };
        // The same test on the same array is counted once.
        let count = match group.counts.iter().find(|c| c.pred == pred) {
            Some(c) => c.name.clone(),
            None => {
                group.nested.extend(nested);
                group.counts.push(Count {
                    name: count.clone(),
                    pred,
                    uses,
                });
                count
            }
        };
        scope.used.push((count.clone(), out.len()));
        out.push_str(&count);
        out.push_str(if any { " > 0" } else { " == 0" });
        Ok(Piece::Text(Prec::Cmp))
    }
}

/// `in_cidr` on a `string` expression with `ipv4_is_in_any_range` / `ipv6_is_in_any_range`:
/// each family's ranges in one call, behind a regex that admits exactly SPEC's address texts of
/// that family (SPEC §3.7: no leading zeros, no zone id, IPv4 only in IPv4 ranges). On such a
/// text Kusto's parse cannot fail, so the call is never null and its negation is two-valued.
/// Ranges are written as dotted quads and eight hex groups (`cidr::plain_text`).
fn cidr_test(x: &str, ranges: &[Cidr]) -> Result<Pair, Unsupported> {
    let mut pos = Vec::new();
    let mut neg = Vec::new();
    for (v4, guard, function) in [
        (true, cidr::ipv4_text(), "ipv4_is_in_any_range"),
        (false, cidr::ipv6_text(), "ipv6_is_in_any_range"),
    ] {
        let family: Vec<String> = ranges
            .iter()
            .filter(|r| r.addr.is_ipv4() == v4)
            .map(|r| format!("\"{}\"", cidr::plain_text(r)))
            .collect();
        if family.is_empty() {
            continue;
        }
        let re = verbatim_literal(&regexp::translate(&guard, Flavour::Re2)?.pattern);
        let call = format!("{function}({x}, dynamic([{}]))", family.join(", "));
        pos.push(B::Text(
            format!("{x} matches regex {re} and {call}"),
            Prec::And,
        ));
        neg.push(B::Text(
            format!("not({x} matches regex {re}) or not({call})"),
            Prec::Or,
        ));
    }
    Ok(Pair::new(or(pos), and(neg)))
}

/// A test on a `string` expression, which is never null (a missing string is `""`): the
/// positive form, or the negated one (`negated`), written straight into one string.
fn text_test(x: &str, op: &Op, negated: bool) -> Result<B, Unsupported> {
    Ok(match op {
        // KQL spelling: a missing string reads as "", so null and empty are one test.
        Op::IsNull | Op::IsEmpty => one(
            negated,
            || B::atom(format!("isempty({x})")),
            || B::atom(format!("isnotempty({x})")),
        ),
        // Every string contains, starts and ends with "", and a missing one reads as "".
        Op::Kind(_) => B::Const(!negated),
        Op::Str { op, values, ci, .. } => {
            let (p, n) = string_ops(*op, values.len() > 1, *ci);
            let lits: usize = values.iter().map(|v| v.len() + 4).sum();
            let mut s = String::with_capacity(x.len() + 20 + lits);
            s.push_str(x);
            s.push(' ');
            s.push_str(if negated { n } else { p });
            s.push(' ');
            if let [v] = values.as_slice() {
                push_string_literal(&mut s, v)?;
            } else {
                s.push('(');
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        s.push_str(", ");
                    }
                    push_string_literal(&mut s, v)?;
                }
                s.push(')');
            }
            B::atom(s)
        }
        Op::Regex(p) | Op::Cidr(p, _) => {
            let re = verbatim_literal(&regexp::translate(&p.source, Flavour::Re2)?.pattern);
            B::atom(if negated {
                format!("not({x} matches regex {re})")
            } else {
                format!("{x} matches regex {re}")
            })
        }
        Op::Num { .. } | Op::Bool(_) => unreachable!("the plan folds non-string tests on text"),
        Op::Field { .. } => unreachable!("`spelled` spells field() with `field_pair`"),
    })
}

/// A test on a `dynamic` value: the JSON type is checked first. The positive form, or the
/// negated one (`negated`).
fn dynamic_test(x: &str, op: &Op, negated: bool) -> Result<B, Unsupported> {
    // Each spelled only where an arm uses it.
    let is_string = || B::atom(format!("gettype({x}) == \"string\""));
    let not_string = || B::atom(format!("gettype({x}) != \"string\""));
    Ok(match op {
        Op::IsNull => one(
            negated,
            || B::atom(format!("isnull({x})")),
            || B::atom(format!("isnotnull({x})")),
        ),
        // `tostring()` is "" exactly for null and for the string "" (every other value prints
        // as something), and prints an empty array or object as `[]` / `{}`; `gettype()` keeps
        // the strings "[]" and "{}" out. No part is ever null.
        Op::IsEmpty => one(
            negated,
            || {
                B::Text(
                    format!(
                        "tostring({x}) == \"\" or (gettype({x}) in (\"array\", \"dictionary\") \
                         and tostring({x}) in (\"[]\", \"{{}}\"))"
                    ),
                    Prec::Or,
                )
            },
            || {
                B::Text(
                    format!(
                        "tostring({x}) != \"\" and (gettype({x}) !in (\"array\", \"dictionary\") \
                         or tostring({x}) !in (\"[]\", \"{{}}\"))"
                    ),
                    Prec::And,
                )
            },
        ),
        Op::Kind(Kind::String) => one(negated, is_string, not_string),
        Op::Kind(Kind::Bool) => one(
            negated,
            || B::atom(format!("gettype({x}) == \"bool\"")),
            || B::atom(format!("gettype({x}) != \"bool\"")),
        ),
        Op::Kind(Kind::Number) => one(
            negated,
            || B::atom(format!("gettype({x}) in {NUMBER_TYPES}")),
            || B::atom(format!("gettype({x}) !in {NUMBER_TYPES}")),
        ),
        Op::Str { .. } | Op::Regex(_) | Op::Cidr(..) => {
            let t = text_test(&format!("tostring({x})"), op, negated)?;
            if negated {
                or(vec![not_string(), t])
            } else {
                and(vec![is_string(), t])
            }
        }
        Op::Num { cmp, values } => dynamic_number(x, *cmp, values).pick(negated),
        Op::Bool(b) => one(
            negated,
            || {
                B::Text(
                    format!("gettype({x}) == \"bool\" and tobool({x}) == {b}"),
                    Prec::And,
                )
            },
            || {
                B::Text(
                    format!("gettype({x}) != \"bool\" or tobool({x}) != {b}"),
                    Prec::Or,
                )
            },
        ),
        Op::Field { .. } => unreachable!("`spelled` spells field() with `field_pair`"),
    })
}

/// `long`, `real`, `bool` (and `datetime`) columns: null when missing, so a negation tests
/// for null first. The plan has turned `is_empty` on them into `is_null` and folded the tests
/// their type cannot pass. The positive form, or the negated one (`negated`).
fn typed_column_test(col: &str, op: &Op, negated: bool) -> B {
    let null_or = |s: String| B::Text(format!("isnull({col}) or {s}"), Prec::Or);
    match op {
        Op::IsNull => one(
            negated,
            || B::atom(format!("isnull({col})")),
            || B::atom(format!("isnotnull({col})")),
        ),
        Op::Kind(_) => one(
            negated,
            || B::atom(format!("isnotnull({col})")),
            || B::atom(format!("isnull({col})")),
        ),
        Op::Num { cmp, values } => match values.as_slice() {
            [n] => {
                let one = number_literal(&n.value);
                if negated {
                    null_or(format!("{col} {} {one}", cmp_complement(*cmp)))
                } else {
                    B::atom(format!("{col} {} {one}", cmp_op(*cmp)))
                }
            }
            _ => {
                let lits: Vec<String> = values.iter().map(|n| number_literal(&n.value)).collect();
                let list = lits.join(", ");
                if negated {
                    null_or(format!("{col} !in ({list})"))
                } else {
                    B::atom(format!("{col} in ({list})"))
                }
            }
        },
        Op::Bool(b) => one(
            negated,
            || B::atom(format!("{col} == {b}")),
            || null_or(format!("{col} != {b}")),
        ),
        _ => unreachable!("the plan folds the tests a column's type cannot pass"),
    }
}

/// A number test on a `dynamic` value: `op` against `nums[0]`, or (`op` None) equality with
/// any of `nums`. Numbers are compared as doubles when that is exact for every `long` (SPEC:
/// integers compare exactly, anything else as IEEE doubles); a literal integer of 2^53 or more
/// compares `long` values with `tolong`. (KQL spelling: `toreal()` rounds a `long`, which is
/// why the threshold is KQL's own; the SQL engines compare an integer with a double exactly.)
fn dynamic_number(x: &str, op: Option<CmpOp>, nums: &[plan::NumLit]) -> Pair {
    let is_num = format!("gettype({x}) in {NUMBER_TYPES}");
    let not_num = format!("gettype({x}) !in {NUMBER_TYPES}");
    if nums
        .iter()
        .all(|n| matches!(n.how, plan::NumCmp::Double | plan::NumCmp::Either))
    {
        let lits: Vec<String> = nums.iter().map(|n| number_literal(&n.value)).collect();
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
            B::Text(format!("{is_num} and {pos}"), Prec::And),
            B::Text(format!("{not_num} or {neg}"), Prec::Or),
        );
    }
    // One pair per literal: integers (`int`, `long`) exactly, fractions as doubles.
    let mut pos = Vec::new();
    let mut neg = Vec::new();
    for n in nums {
        let (p, q) = dynamic_wide_number(x, op, &n.value);
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
    let frac_pos = B::Text(
        format!("{is_frac} and toreal({x}) {} {real}", cmp_op(op)),
        Prec::And,
    );
    let frac_neg = B::Text(
        format!("{not_frac} or toreal({x}) {} {real}", cmp_complement(op)),
        Prec::Or,
    );
    let (int_pos, int_neg) = match plan::integer_cmp(op, n) {
        Some(Ok(i)) => (
            B::Text(
                format!("{is_int} and tolong({x}) {} {i}", cmp_op(op)),
                Prec::And,
            ),
            B::Text(
                format!("{not_int} or tolong({x}) {} {i}", cmp_complement(op)),
                Prec::Or,
            ),
        ),
        // Every `long` gives the same answer (the plan decides which).
        Some(Err(true)) => (B::atom(is_int), B::atom(not_int)),
        Some(Err(false)) => (B::Const(false), B::Const(true)),
        // A fraction ordered against an integer: as doubles.
        None => (
            B::Text(
                format!("{is_int} and toreal({x}) {} {real}", cmp_op(op)),
                Prec::And,
            ),
            B::Text(
                format!("{not_int} or toreal({x}) {} {real}", cmp_complement(op)),
                Prec::Or,
            ),
        ),
    };
    (or(vec![int_pos, frac_pos]), and(vec![int_neg, frac_neg]))
}

/// `out` (the base) followed by member and index accessors (the plan keeps every index within `long`).
fn access(mut out: String, steps: &[Step]) -> Result<String, Unsupported> {
    for s in steps {
        match s {
            Step::Key(k) if is_plain_name(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Key(k) => {
                out.push('[');
                push_string_literal(&mut out, k)?;
                out.push(']');
            }
            Step::Index(i) => write!(out, "[{i}]").expect("writing to a String"),
        }
    }
    Ok(out)
}

/// `--target kql`: a Microsoft Sentinel / Log Analytics query, placed by the profile's `kql`
/// section, deployed as Sentinel analytics rules.
pub struct KqlTarget;

impl crate::compile::Backend for KqlTarget {
    fn name(&self) -> &'static str {
        "kql"
    }

    fn title(&self) -> &'static str {
        "KQL"
    }

    fn about(&self) -> &'static str {
        "A Microsoft Sentinel / Log Analytics KQL query"
    }

    fn implied_by_profile(&self) -> Option<&'static str> {
        Some("sentinel")
    }

    fn section(
        &self,
        profile: &crate::profile::Profile,
        _dialect: Option<crate::backend::sql::SqlDialect>,
    ) -> Result<(), String> {
        profile.kql().map(|_| ())
    }

    fn reading<'r>(
        &self,
        rule: &'r Rule,
        profile: &crate::profile::Profile,
        _dialect: Option<crate::backend::sql::SqlDialect>,
    ) -> Result<(std::borrow::Cow<'r, Rule>, Vec<Option<TableSchema>>), Diagnostic> {
        let p = profile
            .kql()
            .map_err(crate::compile::profile_error_at(rule))?;
        let read = p.rename(rule);
        let schemas = rule
            .log_types
            .iter()
            .map(|lt| Ok(p.placement(&profile.name, &read, lt)?.schema))
            .collect::<Result<_, Diagnostic>>()?;
        Ok((read, schemas))
    }

    fn render(
        &self,
        rule: &Rule,
        profile: &crate::profile::Profile,
        _dialect: Option<crate::backend::sql::SqlDialect>,
    ) -> Result<String, Diagnostic> {
        let p = profile.kql().map_err(crate::compile::profile_error)?;
        let renamed = p.rename(rule);
        render_placed_query(&renamed, &|lt| p.placement(&profile.name, &renamed, lt))
    }

    fn schemas<'p>(
        &self,
        profile: &'p crate::profile::Profile,
    ) -> Option<&'p std::sync::Arc<crate::backend::schema::SchemaSet>> {
        profile.kql.as_ref().and_then(|k| k.resolved.as_ref())
    }

    fn print(&self, out: &mut String, rule_id: &str, query: &str) {
        std::fmt::Write::write_fmt(out, format_args!("// {rule_id}\n{query}\n\n"))
            .expect("writing to a String");
    }

    fn packaging(&self) -> &'static dyn crate::package::Packaging {
        &crate::package::sentinel::SentinelRules
    }
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
        assert_eq!(quote_ident("Where"), "['Where']");
        assert_eq!(quote_ident("int16"), "['int16']");
        assert_eq!(quote_ident("wherever"), "wherever");
        assert_eq!(quote_ident("user agent"), "['user agent']");
        assert_eq!(quote_ident("a'b\\c"), r"['a\'b\\c']");
        assert_eq!(quote_ident("@timestamp"), "['@timestamp']");
        assert_eq!(verbatim_literal(r#"say "hi"\d"#), r#"@"say ""hi""\d""#);
    }

    #[test]
    fn keywords_are_lowercase_and_sorted_for_the_binary_search() {
        assert!(KEYWORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(KEYWORDS.iter().all(|k| *k == k.to_ascii_lowercase()));
        assert!(KEYWORDS.iter().all(|k| !is_plain_name(k)));
    }

    fn texts(p: &Pair) -> (String, String) {
        (p.pos.operand(true, false), p.neg.operand(false, false))
    }

    #[test]
    fn field_pairs_check_kinds_and_negate_two_valued() {
        let dynamic = |x: &str| Side {
            x: x.into(),
            ty: None,
            known: Known::of(None),
        };
        let column = |x: &str, ty| Side {
            x: x.into(),
            ty: Some(ty),
            known: Known::of(Some(ty)),
        };
        // A string column is present when not empty; the negation is the exact complement.
        let (pos, neg) = texts(&field_pair(
            FieldTest::Str {
                op: StrOp::Contains,
                ci: false,
            },
            &column("cmd", ColumnType::Text),
            &dynamic("u.name"),
        ));
        assert_eq!(
            pos,
            r#"isnotempty(cmd) and gettype(u.name) == "string" and cmd contains_cs tostring(u.name)"#
        );
        assert_eq!(
            neg,
            r#"isempty(cmd) or gettype(u.name) != "string" or cmd !contains_cs tostring(u.name)"#
        );
        // Two long columns compare as longs; a real one makes it a double comparison.
        let (pos, neg) = texts(&field_pair(
            FieldTest::Num {
                cmp: Some(CmpOp::Gt),
                ints: Ints::Always,
            },
            &column("a", ColumnType::Integer),
            &column("b", ColumnType::Integer),
        ));
        assert_eq!(pos, "isnotnull(a) and isnotnull(b) and a > b");
        assert_eq!(neg, "isnull(a) or isnull(b) or a <= b");
        let (pos, _) = texts(&field_pair(
            FieldTest::Num {
                cmp: Some(CmpOp::Le),
                ints: Ints::Never,
            },
            &column("a", ColumnType::Integer),
            &column("r", ColumnType::Real),
        ));
        assert_eq!(pos, "isnotnull(a) and isnotnull(r) and toreal(a) <= r");
        // Two `dynamic` numbers: exactly as `long`s when both are integers.
        let (pos, _) = texts(&field_pair(
            FieldTest::Num {
                cmp: None,
                ints: Ints::Unknown,
            },
            &dynamic("a"),
            &column("n", ColumnType::Integer),
        ));
        assert_eq!(
            pos,
            r#"((gettype(a) in ("int", "long") and isnotnull(n) and tolong(a) == n) or (gettype(a) in ("int", "long", "real", "decimal") and isnotnull(n) and gettype(a) in ("real", "decimal") and toreal(a) == toreal(n)))"#
        );
        // `eq~` is string equality only.
        let (pos, _) = texts(&field_pair(
            FieldTest::Str {
                op: StrOp::Eq,
                ci: true,
            },
            &dynamic("a"),
            &dynamic("b"),
        ));
        assert_eq!(
            pos,
            r#"gettype(a) == "string" and gettype(b) == "string" and tostring(a) =~ tostring(b)"#
        );
    }

    fn condition(text: &str, cols: &[(&str, ColumnType)]) -> String {
        let ast = crate::syntax::parser::parse(text).expect("parses");
        let ir = crate::ir::normalize::normalize(
            crate::ir::lower::lower_condition(&ast).expect("lowers"),
        );
        let schema = TableSchema {
            columns: cols.iter().map(|(k, t)| (k.to_string(), *t)).collect(),
            complete: true,
        };
        render_condition(&ir, &schema).expect("renders")
    }

    #[test]
    fn stages_run_only_for_counts_the_query_reads() {
        use ColumnType::*;
        let cols = [("d", Real), ("e", Real), ("x", Text), ("xs", Json)];
        // `x contains ""` is true on a `string` column, so the `or` holding the quantifier is
        // dropped: its count is read nowhere and no `mv-apply` runs.
        assert_eq!(
            condition(
                r#"d eq 1 or (e eq 2 and (any xs (@ eq 1) or x contains ""))"#,
                &cols
            ),
            "| where d == 1 or e == 2"
        );
        // Kept, it runs, and the test without counts runs before it.
        assert_eq!(
            condition(r#"d eq 1 and (e eq 2 or any xs (@ eq 1))"#, &cols),
            "| where d == 1\n\
             | mv-apply with_itemindex=__i1 __e1 = array_concat(dynamic([null]), \
             iff(gettype(xs) == \"array\", xs, dynamic([]))) on (\n    \
             summarize __n1 = countif(__i1 > 0 and gettype(__e1) in (\"int\", \"long\", \
             \"real\", \"decimal\") and toreal(__e1) == 1)\n)\n\
             | where e == 2 or __n1 > 0\n\
             | project-away __n1"
        );
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
        assert!(plan::double_cmp_is_exact(&n("9007199254740991")));
        assert!(!plan::double_cmp_is_exact(&n("9007199254740992")));
        assert!(!plan::double_cmp_is_exact(&n("-9007199254740993")));
        assert!(plan::double_cmp_is_exact(&n("0.1")));
    }
}
