//! Splunk SPL. A rule becomes one search:
//!
//! ```text
//! sourcetype="<LogType>" <prefilter terms> [| eval <iteration fields>] | where <exact filter> [| table ...]
//! ```
//!
//! Splunk's search terms are case-insensitive and treat `*` as a wildcard that cannot be
//! escaped, so they are only a *prefilter*: positive, wildcard-free `field="value"` terms whose
//! value is plain ASCII (a superset of the rule). The exact semantics of SPEC §3 live in the
//! `| where` eval expression, decided here once:
//!
//! - fields are read as Splunk's JSON extraction names them (`a.b.c`, `argv{}`,
//!   `resources{}.type`), single-quoted in eval when the name is not a plain identifier;
//! - `is_null` / `is_empty`, `[n]` and quantifiers that need "the same element" read the event
//!   JSON with `json_extract(_raw, ...)`, which tells JSON null, missing and objects apart;
//! - a positive test is written plainly (a missing field makes it NULL, which `where` drops);
//!   a negated one is `isnull(<guard>) OR NOT (<test>)`, true when the field is missing;
//! - string literals are escaped (`\"`, `\\`); characters that must not appear raw in a search
//!   (control characters such as a newline, `` ` ``, `$`) are spelled `urldecode("%0A")`;
//! - `contains` is `match()` with a regex in which every character of the value is literal,
//!   `starts_with`/`ends_with` are `substr()` comparisons, so `*`, `%`, `_` or a regex
//!   metacharacter in a value never widens a test; `matches` is translated to an equivalent PCRE.
//!
//! What Splunk cannot express exactly is an `Unsupported` error (E0401) naming the reason.
//! docs/targets/splunk.md lists the data layout assumed and every divergence.

use std::cell::{Cell, RefCell};

use crate::backend::Unsupported;
use crate::backend::plan::{self, Check, Cond, JsonPath, Op, Piece, Prec, Quant, Spell, StrOp};
use crate::backend::regexp::{self, Flavour};
use crate::backend::schema::TableSchema;
use crate::diag::Diagnostic;
use crate::ir::{CmpOp, FieldPath, Node, Scalar, Step};
use crate::rule::{OutputField, Rule};

/// The SPL search for a rule (base search on the rule's log types).
pub fn render_query(rule: &Rule) -> Result<String, Diagnostic> {
    render_rule_search(&rule.log_types, &rule.condition.ir, &rule.output_fields)
        .map_err(|u| crate::backend::unsupported(rule, u))
}

/// The search for a condition over the log type `Test` (for tests and `explain`-like uses).
pub fn render_search(node: &Node) -> Result<String, Unsupported> {
    render_rule_search(&["Test".to_string()], node, &[])
}

/// Where a log type's events are in Splunk (from a profile).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Base {
    /// `index="i" sourcetype="s"` (the index is optional).
    Terms {
        index: Option<String>,
        sourcetype: String,
    },
    /// A base search written by the user, used as it is (in parentheses when combined).
    Search(String),
}

/// The SPL search for a rule with each log type's base search from `base_for` (a profile).
pub fn render_placed_query(
    rule: &Rule,
    base_for: &dyn Fn(&str) -> Result<Base, Diagnostic>,
) -> Result<String, Diagnostic> {
    let mut bases = Vec::new();
    for lt in &rule.log_types {
        bases.push(base_for(lt)?);
    }
    let base = base_from(&bases).map_err(|u| crate::backend::unsupported(rule, u))?;
    render_with_base(base, &rule.condition.ir, &rule.output_fields)
        .map_err(|u| crate::backend::unsupported(rule, u))
}

fn base_from(bases: &[Base]) -> Result<String, Unsupported> {
    let mut terms = Vec::new();
    for b in bases {
        terms.push(match b {
            Base::Terms { index, sourcetype } => {
                let mut t = String::new();
                for (key, v) in [
                    ("index", index.as_deref()),
                    ("sourcetype", Some(sourcetype.as_str())),
                ] {
                    let Some(v) = v else { continue };
                    if v.is_empty() || v.chars().any(|c| is_unsafe(c) || c == '*') {
                        return Err(Unsupported::new(format!(
                            "{v:?} cannot be written as a Splunk {key} term (`*` is a wildcard \
                             there, and control characters, `` ` `` and `$` are not allowed)"
                        )));
                    }
                    if !t.is_empty() {
                        t.push(' ');
                    }
                    t.push_str(&format!("{key}={}", quote_plain(v)));
                }
                if index.is_some() && bases.len() > 1 {
                    format!("({t})")
                } else {
                    t
                }
            }
            Base::Search(s) => {
                if s.chars().any(|c| c.is_control()) {
                    return Err(Unsupported::new(
                        "a profile's base search may not contain control characters or line breaks"
                            .into(),
                    ));
                }
                if bases.len() > 1 {
                    format!("({s})")
                } else {
                    s.clone()
                }
            }
        });
    }
    Ok(match terms.len() {
        1 => terms.pop().expect("one"),
        _ => format!("({})", terms.join(" OR ")),
    })
}

/// The whole search: base search, prefilter terms, iteration fields, exact filter, projection.
pub fn render_rule_search(
    log_types: &[String],
    node: &Node,
    output_fields: &[OutputField],
) -> Result<String, Unsupported> {
    render_with_base(base_search(log_types)?, node, output_fields)
}

fn render_with_base(
    base: String,
    node: &Node,
    output_fields: &[OutputField],
) -> Result<String, Unsupported> {
    let mut search = base;
    let cx = Cx::default();
    // Splunk has no column types: every top-level field is read as it comes.
    let cond = plan::lower(node, &TableSchema::default());
    let filter = cx.text(&cond, &Scope::Event)?;
    if let Some(terms) = plan::implied(&cond).as_ref().and_then(prefilter) {
        search.push(' ');
        search.push_str(&terms);
    }
    let evals = cx.evals.into_inner();
    if !evals.is_empty() {
        let assigns: Vec<String> = evals.iter().map(|(n, e)| format!("{n}={e}")).collect();
        search.push_str(&format!(" | eval {}", assigns.join(", ")));
    }
    match filter {
        B::Const(true) => {}
        B::Const(false) => search.push_str(" | where false()"),
        B::Expr { spl, .. } => search.push_str(&format!(" | where {spl}")),
    }
    if !output_fields.is_empty() {
        let (fields, projected) = table_fields(&cond, output_fields)?;
        if !projected.is_empty() {
            let assigns: Vec<String> = projected
                .iter()
                .map(|(tmp, _, e)| format!("{tmp}={e}"))
                .collect();
            search.push_str(&format!(" | eval {}", assigns.join(", ")));
            for (tmp, label, _) in &projected {
                search.push_str(&format!(" | rename {tmp} AS \"{label}\""));
            }
        }
        search.push_str(&format!(" | table {fields}"));
    } else if !evals.is_empty() {
        let names: Vec<&str> = evals.iter().map(|(n, _)| n.as_str()).collect();
        search.push_str(&format!(" | fields - {}", names.join(", ")));
    }
    Ok(search)
}

/// `sourcetype="A"` or `(sourcetype="A" OR sourcetype="B")`.
fn base_search(log_types: &[String]) -> Result<String, Unsupported> {
    let mut terms = Vec::new();
    for lt in log_types {
        if lt.is_empty() || lt.chars().any(|c| is_unsafe(c) || c == '*') {
            return Err(Unsupported::new(format!(
                "the log type {lt:?} cannot be written as a Splunk sourcetype term (`*` is a \
                 wildcard there, and control characters, `` ` `` and `$` are not allowed)"
            )));
        }
        terms.push(format!("sourcetype={}", quote_plain(lt)));
    }
    Ok(match terms.len() {
        1 => terms.pop().expect("one"),
        _ => format!("({})", terms.join(" OR ")),
    })
}

// ---------------------------------------------------------------------------------------------
// Spelling: strings, field names, JSON paths

/// Characters never written raw into a search: control characters (a newline would end it),
/// the macro quote `` ` ``, the token marker `$`, and the Unicode line/paragraph separators.
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '`' | '$' | '\u{2028}' | '\u{2029}')
}

/// `"..."` with `\` and `"` escaped; `s` must hold no unsafe character.
fn quote_plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if matches!(c, '\\' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// An eval expression whose value is exactly `s`: an escaped literal, with unsafe characters
/// spelled `urldecode("%XX")` and joined with the concatenation operator `.`.
pub fn string_expr(s: &str) -> String {
    let mut parts = Vec::new();
    let mut run = String::new();
    let mut enc = String::new();
    for c in s.chars() {
        if is_unsafe(c) {
            if !run.is_empty() {
                parts.push(quote_plain(&run));
                run.clear();
            }
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                enc.push_str(&format!("%{b:02X}"));
            }
        } else {
            if !enc.is_empty() {
                parts.push(format!("urldecode(\"{enc}\")"));
                enc.clear();
            }
            run.push(c);
        }
    }
    if !run.is_empty() {
        parts.push(quote_plain(&run));
    }
    if !enc.is_empty() {
        parts.push(format!("urldecode(\"{enc}\")"));
    }
    match parts.len() {
        0 => "\"\"".to_string(),
        1 => parts.pop().expect("one"),
        _ => format!("({})", parts.join(" . ")),
    }
}

const EVAL_KEYWORDS: &[&str] = &[
    "and", "or", "not", "xor", "like", "in", "true", "false", "null",
];

/// A field reference in eval: bare when it is a plain identifier, otherwise single-quoted.
fn eval_field(name: &str) -> Result<String, Unsupported> {
    if name.is_empty() {
        return Err(Unsupported::new(
            "an empty field name cannot be written in SPL".into(),
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|&c| (is_unsafe(c) && c != '$') || c == '\'' || c == '\\')
    {
        return Err(Unsupported::new(format!(
            "the field name {name:?} cannot be written in SPL: {c:?} cannot appear in a \
             single-quoted eval field name"
        )));
    }
    let plain = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !EVAL_KEYWORDS.contains(&name.to_ascii_lowercase().as_str());
    Ok(if plain {
        name.to_string()
    } else {
        format!("'{name}'")
    })
}

/// The name Splunk's JSON extraction gives a keys-only path (`a.b.c`); `None` when the path
/// has an array index.
fn extracted_name(path: &FieldPath) -> Result<Option<String>, Unsupported> {
    let mut keys = Vec::new();
    for step in &path.0 {
        match step {
            Step::Key(k) if k.is_empty() => {
                return Err(Unsupported::new(
                    "Splunk's JSON extraction gives an empty key no field name".into(),
                ));
            }
            Step::Key(k) => keys.push(k.as_str()),
            Step::Index(_) => return Ok(None),
        }
    }
    Ok(Some(keys.join(".")))
}

/// One step of a location inside the event JSON.
#[derive(Clone, Debug)]
enum Part {
    Key(String),
    Index(u64),
    /// `{<field>}`: the array element whose index is the value of an eval field.
    Var(String),
    /// `{}`: every element (a JSON array of the values that follow).
    All,
}

/// A JSON value: `base` holds a JSON document (`_raw`), `parts` lead into it.
#[derive(Clone, Debug)]
struct JsonLoc {
    base: String,
    parts: Vec<Part>,
}

impl JsonLoc {
    fn raw() -> JsonLoc {
        JsonLoc {
            base: "_raw".into(),
            parts: Vec::new(),
        }
    }

    fn join(&self, path: &FieldPath) -> JsonLoc {
        let mut loc = self.clone();
        loc.parts.extend(path.0.iter().map(|s| match s {
            Step::Key(k) => Part::Key(k.clone()),
            Step::Index(i) => Part::Index(*i),
        }));
        loc
    }
}

/// A key `json_extract` can take inside a path string: anything else (`.`, braces, brackets,
/// quotes, white space, digits only, empty) is read with `json_extract_exact`.
fn path_key_ok(k: &str) -> bool {
    !k.is_empty()
        && !k.chars().all(|c| c.is_ascii_digit())
        && !k.chars().any(|c| {
            is_unsafe(c)
                || c.is_whitespace()
                || matches!(c, '.' | '{' | '}' | '[' | ']' | '"' | '\\')
        })
}

/// A path string for `json_extract`, as an eval expression (`"a.b{0}"`, or with an index
/// variable `"a{" . ruleqc_i1 . "}.b"`).
fn path_string(parts: &[Part]) -> String {
    let mut pieces: Vec<String> = Vec::new();
    let mut text = String::new();
    for (i, p) in parts.iter().enumerate() {
        match p {
            Part::Key(k) => {
                if i > 0 {
                    text.push('.');
                }
                text.push_str(k);
            }
            Part::Index(n) => text.push_str(&format!("{{{n}}}")),
            Part::All => text.push_str("{}"),
            Part::Var(v) => {
                text.push('{');
                pieces.push(quote_plain(&text));
                pieces.push(v.clone());
                text = "}".into();
            }
        }
    }
    if !text.is_empty() || pieces.is_empty() {
        pieces.push(quote_plain(&text));
    }
    pieces.join(" . ")
}

/// The value at `loc` as Splunk's native type (string, number, boolean; NULL for JSON null or
/// a missing value; JSON text for objects and arrays).
fn json_value(loc: &JsonLoc) -> String {
    if loc.parts.is_empty() {
        return format!("json_extract({})", loc.base);
    }
    let mut cur = loc.base.clone();
    let mut run: Vec<Part> = Vec::new();
    for p in &loc.parts {
        match p {
            Part::Key(k) if !path_key_ok(k) => {
                if !run.is_empty() {
                    cur = format!("json_extract({cur}, {})", path_string(&run));
                    run.clear();
                }
                cur = format!("json_extract_exact({cur}, {})", string_expr(k));
            }
            p => run.push(p.clone()),
        }
    }
    if !run.is_empty() {
        cur = format!("json_extract({cur}, {})", path_string(&run));
    }
    cur
}

/// A PCRE matching exactly the text `s` (every character literal).
pub fn regex_literal(s: &str) -> String {
    regexp::literal(s, Flavour::Pcre)
}

/// Translates a SPEC regex into a PCRE with the same matches (see `backend::regexp`).
pub fn to_pcre(pattern: &str) -> Result<String, Unsupported> {
    Ok(regexp::translate(pattern, Flavour::Pcre)?.pattern)
}

// ---------------------------------------------------------------------------------------------
// The filter

/// A rendered boolean test (a leaf's positive form).
#[derive(Clone, Debug, PartialEq)]
enum B {
    Const(bool),
    Expr {
        spl: String,
        /// Has a top-level AND/OR: parenthesised inside another operator.
        compound: bool,
    },
}

impl B {
    fn plain(spl: String) -> B {
        B::Expr {
            spl,
            compound: false,
        }
    }

    fn compound(spl: String) -> B {
        B::Expr {
            spl,
            compound: true,
        }
    }

    fn top(&self) -> String {
        match self {
            B::Const(true) => "true()".into(),
            B::Const(false) => "false()".into(),
            B::Expr { spl, .. } => spl.clone(),
        }
    }
}

/// Where the checks of a plan are read.
#[derive(Clone, Debug)]
enum Scope {
    /// The event: fields as extracted, or `_raw` for JSON questions.
    Event,
    /// Inside `mvfilter` over one multivalue field: every check on the element of quantifier
    /// `id` reads the current value.
    Mv { id: usize, field: String },
    /// Inside `mvmap` over element indexes: the current element of the array of quantifier
    /// `id`, in `_raw`.
    Elem { id: usize, loc: JsonLoc },
}

/// A value a leaf tests.
enum Val {
    /// An extracted field (its text).
    Field(String),
    /// A `json_extract` expression (Splunk's native type).
    Json(String),
}

impl Val {
    fn expr(&self) -> &str {
        match self {
            Val::Field(s) | Val::Json(s) => s,
        }
    }
}

#[derive(Default)]
struct Cx {
    /// `| eval` assignments the filter needs (element index lists), in order.
    evals: RefCell<Vec<(String, String)>>,
    counter: Cell<usize>,
}

/// Where a plan value is read in `scope`: the event (`None`, with the path from the event) or
/// the scope's element (with the path from it).
fn located<'a>(
    v: &plan::Val,
    scope: &'a Scope,
) -> Result<(Option<&'a Scope>, FieldPath), Unsupported> {
    match v {
        plan::Val::Column { name, .. } => Ok((None, FieldPath(vec![Step::Key(name.clone())]))),
        plan::Val::Json(JsonPath {
            base: plan::Base::Column(_),
            ..
        }) => match scope {
            Scope::Event => Ok((None, FieldPath(v.steps()))),
            _ => Err(Unsupported::new(
                "a field of the event read inside a quantifier cannot be written in SPL".into(),
            )),
        },
        plan::Val::Json(JsonPath {
            base: plan::Base::Element(id),
            steps,
        }) => match scope {
            Scope::Mv { id: s, .. } | Scope::Elem { id: s, .. } if s == id => {
                Ok((Some(scope), FieldPath(steps.clone())))
            }
            _ => Err(Unsupported::new(
                "an outer element read inside a nested quantifier cannot be written in SPL".into(),
            )),
        },
    }
}

impl Cx {
    /// The value a check at `v` reads in `scope`.
    fn value(&self, v: &plan::Val, scope: &Scope) -> Result<Val, Unsupported> {
        Ok(match located(v, scope)? {
            (None, path) => match extracted_name(&path)? {
                Some(name) => Val::Field(eval_field(&name)?),
                None => Val::Json(json_value(&JsonLoc::raw().join(&path))),
            },
            (Some(Scope::Mv { field, .. }), _) => Val::Field(field.clone()),
            (Some(Scope::Elem { loc, .. }), path) => Val::Json(json_value(&loc.join(&path))),
            (Some(Scope::Event), _) => unreachable!("located in an element"),
        })
    }

    /// The JSON value at `v` (for null/empty questions).
    fn json(&self, v: &plan::Val, scope: &Scope) -> Result<String, Unsupported> {
        match located(v, scope)? {
            (None, path) => Ok(json_value(&JsonLoc::raw().join(&path))),
            (Some(Scope::Elem { loc, .. }), path) => Ok(json_value(&loc.join(&path))),
            _ => Err(Unsupported::new(
                "internal: a null/empty test inside a multivalue filter".into(),
            )),
        }
    }

    /// A plan condition as the text of a `where`/`if` argument (`true()`/`false()` for
    /// constants).
    fn text(&self, c: &Cond, scope: &Scope) -> Result<B, Unsupported> {
        let mut out = String::new();
        Ok(match plan::write(self, c, scope, &mut out)? {
            Piece::Const(b) => B::Const(b),
            Piece::Text(p) if p <= Prec::And => B::compound(out),
            Piece::Text(_) => B::plain(out),
        })
    }

    /// `any`/`all` whose body is always true: whether the array has an element at all.
    fn nonempty(&self, path: &FieldPath, exists: bool) -> String {
        let j = json_value(&JsonLoc::raw().join(path));
        let n = format!("coalesce(mvcount(json_array_to_mv({j})), 0)");
        if exists {
            format!("{n} > 0")
        } else {
            format!("{n} == 0")
        }
    }

    /// The multivalue field that gives the quantifier exactly, if there is one: the body reads
    /// one keys-only path `r` of the element, has no null/empty test and no quantifier, and is
    /// false for every element Splunk's extraction leaves out of `p{}.r` (missing `r`, JSON
    /// null, objects, arrays), so filtering the extracted values decides it. Returns the field
    /// and the plan body to filter with (the innermost of a chain of `any`).
    fn mv_field<'q>(
        &self,
        path: &FieldPath,
        q: &'q Quant,
    ) -> Result<Option<(String, &'q Quant)>, Unsupported> {
        let Some(mut name) = extracted_name(path)? else {
            return Ok(None);
        };
        // `any a (any b (X))` reads the flattened `a{}.b{}` values.
        let mut q = q;
        while let Cond::Quant(inner) = q.body.as_ref() {
            if !inner.exists {
                return Ok(None);
            }
            let Some(p) = extracted_name(&FieldPath(inner.array.steps.clone()))? else {
                return Ok(None);
            };
            name = if p.is_empty() {
                format!("{name}{{}}")
            } else {
                format!("{name}{{}}.{p}")
            };
            q = inner;
        }
        let Some(scalar) = q.scalar() else {
            return Ok(None);
        };
        let Some(rel) = extracted_name(&scalar.path)? else {
            return Ok(None);
        };
        let field = if rel.is_empty() {
            format!("{name}{{}}")
        } else {
            format!("{name}{{}}.{rel}")
        };
        Ok(Some((eval_field(&field)?, q)))
    }

    /// `any`/`all` over the array at `loc` in `_raw`: an eval field lists its element indexes
    /// and `mvmap` evaluates the body on each element (read with `json_extract(_raw, "p{i}")`),
    /// so several conditions see the same element.
    fn iterate(&self, mut loc: JsonLoc, q: &Quant) -> Result<String, Unsupported> {
        let n = self.counter.get() + 1;
        self.counter.set(n);
        let var = format!("ruleqc_i{n}");
        // `any a (any b (X))`: iterate the flattened `a{}.b{}` (json_extract's `{}` steps).
        let mut q = q;
        let mut flat = false;
        while let Cond::Quant(inner) = q.body.as_ref() {
            let p = FieldPath(inner.array.steps.clone());
            if !inner.exists || !flat_path_ok(&loc, &p) {
                break;
            }
            loc.parts.push(Part::All);
            loc = loc.join(&p);
            q = inner;
            flat = true;
        }
        if flat {
            loc.parts.push(Part::All);
            let name = format!("ruleqc_a{n}");
            self.evals
                .borrow_mut()
                .push((name.clone(), json_value(&loc)));
            loc = JsonLoc {
                base: name,
                parts: Vec::new(),
            };
        }
        let array = if loc.parts.is_empty() {
            loc.base.clone()
        } else {
            json_value(&loc)
        };
        self.evals.borrow_mut().push((
            var.clone(),
            format!("mvrange(0, coalesce(mvcount(json_array_to_mv({array})), 0))"),
        ));
        let mut elem = loc;
        elem.parts.push(Part::Var(var.clone()));
        let body = self.text(
            &q.body,
            &Scope::Elem {
                id: q.id,
                loc: elem,
            },
        )?;
        let hits = match body {
            B::Const(c) => format!("mvmap({var}, \"{}\")", if c { 1 } else { 0 }),
            b => format!("mvmap({var}, if({}, \"1\", \"0\"))", b.top()),
        };
        Ok(format!("mvfind({hits}, \"^1$\")"))
    }

    /// A quantifier inside an element (`any a (any b (...))`): `mvmap` cannot nest an
    /// iteration, so the inner array's values (at the body's one field) are flattened with
    /// `json_extract(..., "b{}.r")` and searched with `mvfind` for an exact string match.
    fn nested_quantifier(&self, loc: &JsonLoc, q: &Quant) -> Result<String, Unsupported> {
        let reason = "a quantifier nested in another quantifier compiles for Splunk only when \
                      it tests one field of the inner element with `eq`/`in` on strings or \
                      booleans (case-sensitive), and is false for elements that lack it: \
                      `mvmap` cannot iterate inside `mvmap`, so the inner array is searched \
                      as a flattened list of values with `mvfind`";
        // `any b (any c (X))` inside an element: the flattened `b{}.c{}` values.
        let mut values = loc.clone();
        let mut q = q;
        let mut chained = false;
        while let Cond::Quant(inner) = q.body.as_ref() {
            if !inner.exists {
                return Err(Unsupported::new(reason.into()));
            }
            values.parts.push(Part::All);
            values = values.join(&FieldPath(inner.array.steps.clone()));
            q = inner;
            chained = true;
        }
        let Some(plan::ScalarBody {
            path: r,
            one_of: Some(one_of),
        }) = q.scalar()
        else {
            return Err(Unsupported::new(reason.into()));
        };
        // The flattened list also holds the text of JSON containers (and `null`): a string
        // that looks like one could match it.
        let mut alts = Vec::with_capacity(one_of.len());
        for s in one_of {
            match s {
                Scalar::Str(s) if !s.starts_with(['{', '[']) && s != "null" => alts.push(s.clone()),
                Scalar::Bool(b) => alts.push(b.to_string()),
                _ => return Err(Unsupported::new(reason.into())),
            }
        }
        if r.0.iter().any(|s| matches!(s, Step::Index(_))) {
            return Err(Unsupported::new(reason.into()));
        }
        if chained || !r.is_root() {
            // `{}` then the keys: every element's value at `r`, as one JSON array.
            values.parts.push(Part::All);
            values = values.join(&r);
        }
        if values
            .parts
            .iter()
            .any(|p| matches!(p, Part::Key(k) if !path_key_ok(k)))
        {
            return Err(Unsupported::new(format!(
                "{reason}; a key in this path needs `json_extract_exact`, which takes no `{{}}`"
            )));
        }
        let values = json_value(&values);
        let alternation: Vec<String> = alts.iter().map(|a| regex_literal(a)).collect();
        let re = format!("\\A(?:{})\\z", alternation.join("|"));
        Ok(format!(
            "mvfind(json_array_to_mv({values}), {})",
            quote_plain(&re)
        ))
    }
}

impl Spell for Cx {
    type Scope = Scope;

    fn and_sep(&self) -> &str {
        " AND "
    }

    fn or_sep(&self) -> &str {
        " OR "
    }

    fn check(&self, c: &Check, scope: &Scope, out: &mut String) -> Result<Piece, Unsupported> {
        if matches!(c.op, Op::IsNull | Op::IsEmpty) {
            let j = self.json(&c.val, scope)?;
            let (pos, prec) = match c.op {
                Op::IsNull => (format!("isnull({j})"), Prec::Atom),
                _ => (
                    format!(
                        "isnull({j}) OR {j} == \"\" OR match({j}, {})",
                        quote_plain(r"\A\s*(?:\[\s*\]|\{\s*\})\s*\z")
                    ),
                    Prec::Or,
                ),
            };
            // Both are two-valued: NOT is exact.
            if c.negated {
                out.push_str("NOT ");
                plan::operand(out, &pos, prec, Prec::Atom);
                return Ok(Piece::Text(Prec::Not));
            }
            out.push_str(&pos);
            return Ok(Piece::Text(prec));
        }
        let v = self.value(&c.val, scope)?;
        let (test, guard) = positive(&c.op, &v)?;
        Ok(match test {
            B::Const(b) => Piece::Const(b != c.negated),
            B::Expr { spl, .. } if c.negated => {
                out.push_str(&format!("isnull({guard}) OR NOT "));
                let call = positive_is_call(&c.op);
                plan::operand(
                    out,
                    &spl,
                    if call { Prec::Atom } else { Prec::Cmp },
                    Prec::Atom,
                );
                Piece::Text(Prec::Or)
            }
            B::Expr { spl, compound } => {
                out.push_str(&spl);
                Piece::Text(if compound { Prec::Or } else { Prec::Cmp })
            }
        })
    }

    fn quant(&self, q: &Quant, scope: &Scope, out: &mut String) -> Result<Piece, Unsupported> {
        let any = q.exists;
        match scope {
            Scope::Event => {
                let path = FieldPath(plan::Val::Json(q.array.clone()).steps());
                if let Some((field, inner)) = self.mv_field(&path, q)? {
                    let mv = Scope::Mv {
                        id: inner.id,
                        field,
                    };
                    let text = match self.text(&inner.body, &mv)? {
                        B::Const(false) => return Ok(Piece::Const(!any)),
                        B::Const(true) => self.nonempty(&path, any),
                        b => {
                            let n = format!("coalesce(mvcount(mvfilter({})), 0)", b.top());
                            if any {
                                format!("{n} > 0")
                            } else {
                                format!("{n} == 0")
                            }
                        }
                    };
                    out.push_str(&text);
                    return Ok(Piece::Text(Prec::Cmp));
                }
                let found = self.iterate(JsonLoc::raw().join(&path), q)?;
                out.push_str(if any { "isnotnull(" } else { "isnull(" });
                out.push_str(&found);
                out.push(')');
                Ok(Piece::Text(Prec::Atom))
            }
            Scope::Elem { loc, .. } => {
                let (_, path) = located(&plan::Val::Json(q.array.clone()), scope)?;
                let found = self.nested_quantifier(&loc.join(&path), q)?;
                out.push_str(if any { "isnotnull(" } else { "isnull(" });
                out.push_str(&found);
                out.push(')');
                Ok(Piece::Text(Prec::Atom))
            }
            Scope::Mv { .. } => Err(Unsupported::new(
                "internal: a quantifier inside a multivalue filter".into(),
            )),
        }
    }
}

/// Can `q` follow a `{}` step in a json_extract path (keys json_extract takes, no index
/// variable before it)?
fn flat_path_ok(loc: &JsonLoc, q: &FieldPath) -> bool {
    loc.parts.iter().all(|p| {
        matches!(p, Part::Key(k) if path_key_ok(k)) || matches!(p, Part::Index(_) | Part::All)
    }) && q.0.iter().all(|s| match s {
        Step::Key(k) => path_key_ok(k),
        Step::Index(_) => true,
    })
}

/// A number as an eval literal: never in exponent form (`1e16` is written out).
fn number(n: &serde_json::Number) -> String {
    let s = n.to_string();
    match n.as_f64() {
        Some(f) if s.contains(['e', 'E']) => format!("{f}"),
        _ => s,
    }
}

/// Whether the positive spelling of `op` is a single call (`match(...)`), which `NOT` takes
/// without parentheses.
fn positive_is_call(op: &Op) -> bool {
    matches!(
        op,
        Op::Regex(_) | Op::Cidr(..) | Op::Kind(plan::Kind::String)
    ) || matches!(
        op,
        Op::Str {
            op: StrOp::Contains,
            ..
        }
    )
}

/// The positive test on `v`, and the expression whose NULL makes it NULL (for negation).
fn positive(op: &Op, v: &Val) -> Result<(B, String), Unsupported> {
    let e = v.expr().to_string();
    // Spelled only for the ops that read them (most tests are string tests).
    let num = || format!("tonumber({e})");
    let bool_text = || match v {
        Val::Field(f) => f.clone(),
        // json_extract gives a Boolean; tostring spells it True/False.
        Val::Json(j) => format!("lower(tostring({j}))"),
    };
    let either = |parts: Vec<String>| -> B {
        if parts.len() == 1 {
            B::plain(parts.into_iter().next().expect("one"))
        } else {
            B::compound(parts.join(" OR "))
        }
    };
    Ok(match op {
        Op::Str {
            op,
            values,
            ci,
            folded,
        } => {
            let text = if *ci {
                format!("lower({e})")
            } else {
                e.clone()
            };
            let vs = Op::compared(values, *ci, folded);
            let first = &vs[0];
            let t = match op {
                StrOp::Eq => either(
                    vs.iter()
                        .map(|s| format!("{text} == {}", string_expr(s)))
                        .collect(),
                ),
                StrOp::Contains => B::plain(format!(
                    "match({text}, {})",
                    quote_plain(&regex_literal(first))
                )),
                StrOp::StartsWith => {
                    let n = first.chars().count();
                    B::plain(format!("substr({text}, 1, {n}) == {}", string_expr(first)))
                }
                StrOp::EndsWith => {
                    let n = first.chars().count();
                    B::compound(format!(
                        "len({text}) >= {n} AND substr({text}, -{n}) == {}",
                        string_expr(first)
                    ))
                }
            };
            (t, e)
        }
        Op::Kind(plan::Kind::String) => (B::plain(format!("isnotnull({e})")), e),
        Op::Kind(plan::Kind::Number) => {
            let num = num();
            (B::plain(format!("isnotnull({num})")), num)
        }
        Op::Kind(plan::Kind::Bool) => {
            let bool_text = bool_text();
            (
                B::compound(format!(
                    "{bool_text} == \"true\" OR {bool_text} == \"false\""
                )),
                e,
            )
        }
        Op::Bool(b) => (B::plain(format!("{} == \"{b}\"", bool_text())), e),
        // Eval numbers are IEEE doubles: where an integer value must meet the literal exactly
        // (SPEC §3.4), SPL has no exact spelling.
        Op::Num { values, .. }
            if values
                .iter()
                .any(|n| matches!(n.how, plan::NumCmp::ByKind { .. })) =>
        {
            return Err(Unsupported::new(
                "an integer literal of 2^53 or more cannot be written in SPL: eval numbers are \
                 IEEE doubles, and SPEC §3.4 compares an integer value with it exactly (2^53 + 1 \
                 must differ from 2^53)"
                    .into(),
            ));
        }
        Op::Num { cmp: None, values } => {
            let num = num();
            (
                either(
                    values
                        .iter()
                        .map(|n| format!("{num} == {}", number(&n.value)))
                        .collect(),
                ),
                num,
            )
        }
        Op::Num {
            cmp: Some(op),
            values,
        } => {
            let sym = match op {
                CmpOp::Gt => ">",
                CmpOp::Ge => ">=",
                CmpOp::Lt => "<",
                CmpOp::Le => "<=",
            };
            let num = num();
            (
                B::plain(format!("{num} {sym} {}", number(&values[0].value))),
                num,
            )
        }
        Op::Regex(p) | Op::Cidr(p, _) => {
            let re = to_pcre(&p.source)?;
            (B::plain(format!("match({e}, {})", quote_plain(&re))), e)
        }
        Op::IsNull | Op::IsEmpty => unreachable!("handled by the caller"),
        Op::Field { test, .. } => return Err(field_unsupported(*test)),
    })
}

/// Why SPL cannot spell a kind of `field()` comparison (SPEC §3.7) exactly.
fn field_unsupported(test: plan::FieldTest) -> Unsupported {
    Unsupported::new(match test {
        plan::FieldTest::Num { .. } => {
            "`field()` between two numbers cannot be written in SPL: eval numbers are IEEE \
             doubles, so two integers beyond 2^53 cannot be compared exactly (SPEC §3.4)"
                .into()
        }
        plan::FieldTest::Str { .. } | plan::FieldTest::Bool => {
            "`field()` cannot be written in SPL: extracted fields carry no JSON type (`\"5\"` \
             and `5` read the same), and no eval function finds one field's value in another's \
             without reading it as a pattern (`like`, `match`, `replace`)"
                .into()
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Prefilter terms

/// Search terms for what the plan implies (`plan::implied`, a superset of the events it
/// matches), where Splunk's search can spell it: `field="value"` terms whose value is plain
/// ASCII (no `*`, no character JSON might escape in `_raw`, nothing Splunk's case-insensitive
/// term matching could confuse), on fields whose names search accepts bare; a conjunction
/// keeps the terms it can spell, a disjunction needs all of them.
fn prefilter(implied: &plan::Implied) -> Option<String> {
    Some(prefilter_term(implied)?.0)
}

/// A term and whether it is atomic. Splunk's search binds `OR` tighter than the implicit
/// `AND` of juxtaposed terms, so a conjunction inside an `OR` is parenthesised.
fn prefilter_term(implied: &plan::Implied) -> Option<(String, bool)> {
    match implied {
        plan::Implied::And(items) => {
            let terms: Vec<String> = items
                .iter()
                .filter_map(|i| prefilter_term(i).map(|t| t.0))
                .collect();
            match terms.len() {
                0 => None,
                1 => Some((terms[0].clone(), true)),
                _ => Some((terms.join(" "), false)),
            }
        }
        plan::Implied::Or(items) => {
            let terms: Option<Vec<(String, bool)>> = items.iter().map(prefilter_term).collect();
            let terms: Vec<String> = terms?
                .into_iter()
                .map(|(t, atomic)| if atomic { t } else { format!("({t})") })
                .collect();
            Some((format!("({})", terms.join(" OR ")), true))
        }
        plan::Implied::OneOf { path, values } => {
            let name = term_field(path)?;
            let values: Vec<String> = values.iter().map(term_value).collect::<Option<_>>()?;
            let terms: Vec<String> = values.iter().map(|v| format!("{name}=\"{v}\"")).collect();
            Some(if terms.len() == 1 {
                (terms[0].clone(), true)
            } else {
                (format!("({})", terms.join(" OR ")), true)
            })
        }
    }
}

/// The extracted name of a path (`a.b`, `a{}.b` for every element's `b`); `None` with an
/// index.
fn term_field(path: &[plan::Hop]) -> Option<String> {
    let mut name = String::new();
    for hop in path {
        match hop {
            plan::Hop::Key(k) => {
                if !name.is_empty() {
                    name.push('.');
                }
                name.push_str(k);
            }
            plan::Hop::Each => name.push_str("{}"),
            plan::Hop::Index(_) => return None,
        }
    }
    let ok = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '{' | '}'))
        && !["and", "or", "not"].contains(&name.to_ascii_lowercase().as_str());
    ok.then_some(name)
}

fn term_value(s: &Scalar) -> Option<String> {
    match s {
        Scalar::Bool(b) => Some(b.to_string()),
        Scalar::Str(s)
            if !s.is_empty()
                && s.chars().all(|c| {
                    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '@' | '-')
                }) =>
        {
            Some(s.clone())
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Projection

/// `table` arguments for the output fields: each field by its extracted name, and, where the
/// condition uses it as an array or an object, its flattened members (`p{}*`, `p.*`). A field
/// below an array index has no extracted name: it is read with `json_extract` into a temporary
/// field renamed to `p{n}.k` (returned as `(temporary, label, expression)`).
#[allow(clippy::type_complexity)]
/// The name an output field has in the search's results: keys joined with `.`, indexes as
/// `{n}` (`target{0}.id`), as `| table` lists it.
pub fn field_label(path: &FieldPath) -> String {
    let mut label = String::new();
    for (i, step) in path.0.iter().enumerate() {
        match step {
            Step::Key(k) => {
                if i > 0 {
                    label.push('.');
                }
                label.push_str(k);
            }
            Step::Index(n) => label.push_str(&format!("{{{n}}}")),
        }
    }
    label
}

/// Output fields computed with `eval`: (temporary field, label, expression).
type Projected = Vec<(String, String, String)>;

fn table_fields(
    cond: &Cond,
    output_fields: &[OutputField],
) -> Result<(String, Projected), Unsupported> {
    let used = plan::reads(cond);
    let mut out = Vec::new();
    let mut projected = Vec::new();
    let bad = |name: &str, text: &str| -> Result<(), Unsupported> {
        if name.is_empty()
            || name
                .chars()
                .any(|c| is_unsafe(c) || matches!(c, '"' | '\\' | '*' | ','))
        {
            return Err(Unsupported::new(format!(
                "the output field `{text}` cannot be named in `table`"
            )));
        }
        Ok(())
    };
    let quote = |s: String| {
        if s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '{' | '}' | '*'))
        {
            s
        } else {
            format!("\"{s}\"")
        }
    };
    for f in output_fields {
        let Some(name) = extracted_name(&f.path)? else {
            let label = field_label(&f.path);
            bad(&label, &f.text)?;
            let tmp = format!("ruleqc_o{}", projected.len() + 1);
            projected.push((
                tmp,
                label.clone(),
                json_value(&JsonLoc::raw().join(&f.path)),
            ));
            out.push(format!("\"{label}\""));
            continue;
        };
        bad(&name, &f.text)?;
        out.push(quote(name.clone()));
        let own = &f.path.0;
        let at = |p: &[plan::Hop]| {
            p.len() >= own.len()
                && own.iter().zip(p).all(|(s, h)| match (s, h) {
                    (Step::Key(a), plan::Hop::Key(b)) => a == b,
                    (Step::Index(a), plan::Hop::Index(b)) => a == b,
                    _ => false,
                })
        };
        // The step the condition takes below the field, if it reads below it.
        let next = |p: &[plan::Hop]| {
            if at(p) {
                p.get(own.len()).cloned()
            } else {
                None
            }
        };
        let as_array = used.iter().any(|(p, arr)| {
            matches!(next(p), Some(plan::Hop::Index(_) | plan::Hop::Each))
                || (*arr && p.len() == own.len() && at(p))
        });
        let as_object = used
            .iter()
            .any(|(p, _)| matches!(next(p), Some(plan::Hop::Key(_))));
        if as_array {
            out.push(quote(format!("{name}{{}}*")));
        }
        if as_object {
            out.push(quote(format!("{name}.*")));
        }
    }
    Ok((out.join(" "), projected))
}

/// `--target splunk`: a Splunk SPL search, placed by the profile's `splunk` section, deployed
/// as `savedsearches.conf`.
pub struct SplunkTarget;

impl crate::compile::Backend for SplunkTarget {
    fn name(&self) -> &'static str {
        "splunk"
    }

    fn title(&self) -> &'static str {
        "Splunk"
    }

    fn about(&self) -> &'static str {
        "A Splunk SPL search"
    }

    fn section(
        &self,
        profile: &crate::profile::Profile,
        _dialect: Option<crate::backend::sql::SqlDialect>,
    ) -> Result<(), String> {
        profile.splunk().map(|_| ())
    }

    fn reading<'r>(
        &self,
        rule: &'r Rule,
        profile: &crate::profile::Profile,
        _dialect: Option<crate::backend::sql::SqlDialect>,
    ) -> Result<(std::borrow::Cow<'r, Rule>, Vec<Option<TableSchema>>), Diagnostic> {
        let p = profile
            .splunk()
            .map_err(crate::compile::profile_error_at(rule))?;
        // SPL reads fields by name, with no column types.
        let n = rule.log_types.len();
        Ok((p.rename(rule), vec![Some(TableSchema::default()); n]))
    }

    fn render(
        &self,
        rule: &Rule,
        profile: &crate::profile::Profile,
        _dialect: Option<crate::backend::sql::SqlDialect>,
    ) -> Result<String, Diagnostic> {
        let p = profile.splunk().map_err(crate::compile::profile_error)?;
        let renamed = p.rename(rule);
        render_placed_query(&renamed, &|lt| p.base(&profile.name, &renamed, lt))
    }

    fn schemas<'p>(
        &self,
        profile: &'p crate::profile::Profile,
    ) -> Option<&'p std::sync::Arc<crate::backend::schema::SchemaSet>> {
        // SPL has no column types of its own; `explain --stage schema` shows the SQL
        // section's, as it always has.
        profile.sql.as_ref().and_then(|s| s.resolved.as_ref())
    }

    fn print(&self, out: &mut String, rule_id: &str, query: &str) {
        std::fmt::Write::write_fmt(out, format_args!("```{rule_id}```\n{query}\n\n"))
            .expect("writing to a String");
    }

    fn packaging(&self) -> &'static dyn crate::package::Packaging {
        &crate::package::savedsearches::SavedSearches
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_never_carry_raw_control_characters() {
        assert_eq!(string_expr(""), "\"\"");
        assert_eq!(string_expr(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(string_expr("a\nb"), r#"("a" . urldecode("%0A") . "b")"#);
        assert_eq!(string_expr("`$"), r#"urldecode("%60%24")"#);
        assert_eq!(string_expr("\u{85}"), r#"urldecode("%C2%85")"#);
    }

    #[test]
    fn field_names() {
        assert_eq!(eval_field("event").unwrap(), "event");
        assert_eq!(eval_field("a.b").unwrap(), "'a.b'");
        assert_eq!(eval_field("argv{}").unwrap(), "'argv{}'");
        assert_eq!(eval_field("OR").unwrap(), "'OR'");
        assert!(eval_field("a'b").is_err());
    }

    #[test]
    fn json_paths() {
        let loc = |parts: Vec<Part>| JsonLoc {
            base: "_raw".into(),
            parts,
        };
        assert_eq!(
            json_value(&loc(vec![
                Part::Key("a".into()),
                Part::Index(0),
                Part::Key("b".into())
            ])),
            r#"json_extract(_raw, "a{0}.b")"#
        );
        assert_eq!(
            json_value(&loc(vec![
                Part::Key("a".into()),
                Part::Var("ruleqc_i1".into()),
                Part::Key("b".into())
            ])),
            r#"json_extract(_raw, "a{" . ruleqc_i1 . "}.b")"#
        );
        assert_eq!(
            json_value(&loc(vec![
                Part::Key("a".into()),
                Part::Key("x.y".into()),
                Part::Key("b".into())
            ])),
            r#"json_extract(json_extract_exact(json_extract(_raw, "a"), "x.y"), "b")"#
        );
    }
}
