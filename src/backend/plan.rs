//! The lowering stage: normalised IR + a table schema → a target-neutral plan.
//!
//! Every semantic decision of SPEC §3 that a query language has to make is made here, once, for
//! SQL, SPL and KQL alike:
//!
//! - **where a value lives**: each path is resolved against the schema to a typed top-level
//!   column, a value inside a semi-structured column or array element, or nothing at all (a field
//!   the schema says is missing, a member of a scalar column, an index no array can reach);
//! - **typed comparison**: a test is chosen by the value's type and the literal's
//!   (`Str`, `Num`, `Bool`, or only the JSON kind); a typed column that cannot hold the
//!   literal's type folds the leaf to a constant, as does a literal beyond a column's range;
//! - **case folding**: the `~` forms carry their literals already simple-lower-cased;
//! - **constants**: missing fields, impossible tests and constant quantifier bodies are folded
//!   and propagated through `and`/`or`, so a backend never sees a leaf that is decided;
//! - **guards and negation**: a [`Check`] means "the value has the test's kind and the test
//!   holds"; a negated check means exactly the opposite and is therefore true when the value is
//!   missing, null or of another kind (SPEC §3.6). Backends spell that two-valued negation with
//!   their own null model (`NOT COALESCE(.., FALSE)`, `isnull(x) or ...`) but never decide it;
//! - **quantifier shape**: `all P (E)` is `no element of P satisfies (not E)`, with `not E`
//!   normalised; a [`Quant`] is either "some element satisfies the body" or "no element does";
//! - **precedence**: [`write`] joins the spelled pieces with `and`/`or`, drops constants and
//!   adds the parentheses binding strength asks for, into one output buffer.
//!
//! A backend implements [`Spell`]: how a check, a quantifier and the two junctions are written.

use std::fmt;

use serde_json::Number;

use crate::backend::Unsupported;
use crate::backend::schema::{ColumnType, TableSchema};
use crate::ir::eval::simple_lowercase;
use crate::ir::{Cidr, CmpOp, FieldOp, FieldPath, Leaf, Node, Pattern, Scalar, Step, Test};
use crate::syntax::ast::Span;

/// A boolean condition over one row (or one array element inside a quantifier).
#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    Const(bool),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Check(Check),
    Quant(Quant),
}

/// One test on one value. Positive: the value exists, has the kind `op` tests, and `op` holds.
/// Negated: the opposite, so true when the value is missing or null.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    pub val: Val,
    pub op: Op,
    pub negated: bool,
    /// The predicate in the condition text.
    pub span: Span,
}

/// Where a value is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Val {
    /// A typed top-level column (never `ColumnType::Json`).
    Column { name: String, ty: ColumnType },
    /// A value inside a semi-structured document: a JSON column or an array element.
    Json(JsonPath),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonPath {
    pub base: Base,
    /// Steps from the base; every index fits an `i64`.
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Base {
    /// A semi-structured top-level column.
    Column(String),
    /// The element the quantifier with this id is visiting.
    Element(usize),
}

impl Val {
    /// The path from the row (for a column base) or from the element, as IR steps.
    pub fn steps(&self) -> Vec<Step> {
        match self {
            Val::Column { name, .. } => vec![Step::Key(name.clone())],
            Val::Json(JsonPath {
                base: Base::Column(c),
                steps,
            }) => {
                let mut all = vec![Step::Key(c.clone())];
                all.extend(steps.iter().cloned());
                all
            }
            Val::Json(JsonPath { steps, .. }) => steps.clone(),
        }
    }
}

/// The JSON kinds a check can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    String,
    Number,
    Bool,
}

/// String operators. `Eq` with several values is `in`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrOp {
    Eq,
    Contains,
    StartsWith,
    EndsWith,
}

/// What a check tests.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// Missing or JSON null. Two-valued: true when missing.
    IsNull,
    /// Missing, null, `""`, `[]` or `{}`. Two-valued: true when missing.
    IsEmpty,
    /// The value has this kind (and nothing more is asked: `contains ""`, `in [true, false]`).
    Kind(Kind),
    /// A string test. `values` is non-empty (several only for `Eq`, meaning `in`), each value
    /// non-empty for the substring operators, as the rule wrote them. With `ci` the comparison
    /// ignores case: `folded` holds the values simple-lower-cased (SPEC §3.4), for targets that
    /// lower-case the field's value and compare; targets with case-insensitive operators of
    /// their own use `values`.
    Str {
        op: StrOp,
        values: Vec<String>,
        ci: bool,
        folded: Vec<String>,
    },
    /// An unanchored search with a checked SPEC regex.
    Regex(Pattern),
    /// `in_cidr`: `pattern` is the anchored regex matching exactly the address texts inside
    /// `ranges` (SPEC §3.7), which a target spells as it spells [`Op::Regex`] unless it has
    /// exact range functions of its own (KQL's compact form).
    Cidr(Pattern, Vec<Cidr>),
    /// Numeric comparison; `cmp` None is equality with any of `values` (`in`), otherwise
    /// `values` has one element. Each value says how it compares with the checked value.
    Num {
        cmp: Option<CmpOp>,
        values: Vec<NumLit>,
    },
    /// The boolean `b`.
    Bool(bool),
    /// A comparison with another value of the same row (SPEC §3.7 `field()`), for one JSON
    /// kind: true when the checked value and `other` both have the kind `test` names and the
    /// test holds. The plan writes `PATH op field(PATH2)` as the `or` of one such check per
    /// kind `op` compares (a negated comparison as the `and` of the negated checks), leaving
    /// out the kinds a typed column cannot hold. `sides` says what is known of the checked
    /// value (`[0]`) and of `other` (`[1]`).
    Field {
        test: FieldTest,
        other: Val,
        sides: [Known; 2],
    },
}

/// What the plan knows of one side of a `field()` comparison, so that a target only spells
/// the tests that are left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Known {
    /// Whether the value has the kind the test compares (the plan leaves out the kinds a
    /// typed column cannot hold, so a typed column has it unless it is null).
    pub kind: Has,
    /// Whether the value is an integer (SPEC §3.4), read when the test compares numbers:
    /// `None` when it never is (a typed column of another type).
    pub integer: Option<Has>,
}

/// A fact about a value that is true unless the value is missing, or that only the value tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Has {
    /// A typed column: true unless the column is null (missing).
    UnlessNull,
    /// A semi-structured value: the target tests its JSON type.
    Test,
}

impl Known {
    /// The facts for a value of column type `ty` (`None`: semi-structured).
    pub fn of(ty: Option<ColumnType>) -> Known {
        match ty {
            None => Known {
                kind: Has::Test,
                integer: Some(Has::Test),
            },
            Some(t) => Known {
                kind: Has::UnlessNull,
                integer: (t == ColumnType::Integer).then_some(Has::UnlessNull),
            },
        }
    }
}

/// A number literal of [`Op::Num`] and how it compares with the checked value.
#[derive(Clone, Debug, PartialEq)]
pub struct NumLit {
    pub value: Number,
    pub how: NumCmp,
}

/// How a number literal compares with a value (SPEC §3.4: an integer value and an integer
/// literal compare exactly, any other pair as IEEE doubles), decided here for every target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumCmp {
    /// The value is a 64-bit integer (an integer column) and so is the literal: exactly.
    Exact,
    /// As doubles: the value read as a double against the literal's double. A literal with a
    /// fraction or an exponent, on any value.
    Double,
    /// An integer literal below 2^53 in magnitude, on a value that may be a double (a real
    /// column, a semi-structured value): the literal is exactly a double and every double near
    /// it is an integer, so comparing exactly and comparing as doubles agree for every value;
    /// one comparison of either sort is right.
    Either,
    /// An integer literal of 2^53 or more in magnitude, on a value that may be a double: an
    /// integer value compares exactly (reading it as a double would round it), a double value
    /// with the literal's double. `literal_is_double`: the literal is exactly a double, so one
    /// comparison that is exact across kinds (an integer and a double by their values) is
    /// right too; otherwise a double value needs the literal rounded to a double first.
    ByKind { literal_is_double: bool },
}

impl NumLit {
    /// `value` compared with a value of column type `ty` (`None`: semi-structured).
    fn new(value: Number, ty: Option<ColumnType>) -> NumLit {
        let integer = value.is_i64() || value.is_u64();
        let how = match (ty, integer) {
            (_, false) => NumCmp::Double,
            (Some(ColumnType::Integer), true) => NumCmp::Exact,
            (_, true) if double_cmp_is_exact(&value) => NumCmp::Either,
            (_, true) => NumCmp::ByKind {
                literal_is_double: integer_is_a_double(&value),
            },
        };
        NumLit { value, how }
    }
}

/// Whether an integer literal is exactly a double (false for a fraction).
fn integer_is_a_double(n: &Number) -> bool {
    let exact = n
        .as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from));
    exact.is_some_and(|i| {
        let f = i as f64;
        f.is_finite() && f as i128 == i
    })
}

/// One kind of a `field()` comparison (SPEC §3.7 with the typing of §3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldTest {
    /// Both are strings and `value op other` holds; with `ci` on the simple-lower-cased texts.
    Str { op: StrOp, ci: bool },
    /// Both are numbers and `value cmp other` holds (`None`: equal): exactly when both are
    /// integers, as IEEE doubles otherwise. `ints` says whether both are integers.
    Num { cmp: Option<CmpOp>, ints: Ints },
    /// Both are booleans and equal.
    Bool,
}

/// Whether the two numbers of a `field()` comparison are integers in SPEC §3.4's sense.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ints {
    /// Two integer columns: compare exactly.
    Always,
    /// A real column on one side: compare as doubles.
    Never,
    /// A semi-structured side (and no real column): only the values tell; compare exactly when
    /// both are integers, as doubles otherwise.
    Unknown,
}

impl Op {
    /// The values a string test compares with a field value that was lower-cased when `ci`.
    pub fn compared(values: &[String], ci: bool, folded: &[String]) -> Vec<String> {
        if ci { folded.to_vec() } else { values.to_vec() }
    }

    /// Whether the op is two-valued by itself (true on a missing value).
    pub fn true_when_missing(&self) -> bool {
        matches!(self, Op::IsNull | Op::IsEmpty)
    }
}

/// `any`/`all` over the array at `array`.
#[derive(Clone, Debug, PartialEq)]
pub struct Quant {
    /// Names the element in the body (`Base::Element(id)`); unique in a plan.
    pub id: usize,
    pub array: JsonPath,
    /// True: some element satisfies `body` (`any`). False: no element does (`all P (E)` with
    /// `body` = `not E`). A value that is not an array has no elements.
    pub exists: bool,
    /// Never `Const(false)` (that folds the quantifier); `Const(true)` asks whether the array
    /// has an element at all.
    pub body: Box<Cond>,
    /// The first predicate in the body, for positions in errors.
    pub span: Span,
}

/// A quantifier body that reads one scalar of the element: it reads only `path` (with no
/// null/empty test and no quantifier), and is false whenever the value there is missing,
/// JSON null, an object or an array.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalarBody {
    /// The path from the element.
    pub path: FieldPath,
    /// Some when the body is exactly "the value is one of these strings or booleans": positive,
    /// case-sensitive `eq`/`in` joined by `or`.
    pub one_of: Option<Vec<Scalar>>,
}

impl Cond {
    fn and(items: Vec<Cond>) -> Cond {
        Cond::junction(items, true)
    }

    fn or(items: Vec<Cond>) -> Cond {
        Cond::junction(items, false)
    }

    /// Constants folded, nested junctions of the same kind spliced.
    fn junction(items: Vec<Cond>, and: bool) -> Cond {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Cond::Const(b) if b == and => {}
                Cond::Const(b) => return Cond::Const(b),
                Cond::And(inner) if and => out.extend(inner),
                Cond::Or(inner) if !and => out.extend(inner),
                other => out.push(other),
            }
        }
        match out.len() {
            0 => Cond::Const(and),
            1 => out.pop().expect("one item"),
            _ if and => Cond::And(out),
            _ => Cond::Or(out),
        }
    }
}

/// Lowers a normalised condition against a table's schema.
pub fn lower(node: &Node, schema: &TableSchema) -> Cond {
    Lowerer {
        schema,
        next: 0,
        outer: Vec::new(),
    }
    .node(node, None, false)
}

/// Where an output field is read in a row of a table with this schema; `None` when the field
/// cannot exist there.
pub fn resolve(path: &FieldPath, schema: &TableSchema) -> Option<Val> {
    Lowerer {
        schema,
        next: 0,
        outer: Vec::new(),
    }
    .resolve(path, None)
}

struct Lowerer<'a> {
    schema: &'a TableSchema,
    next: usize,
    /// The roots of the enclosing scopes, outermost first (`None` is the row).
    outer: Vec<Option<usize>>,
}

/// An integer literal a 64-bit integer column can never equal: beyond the `i64` range.
fn beyond_i64(n: &Number) -> Option<std::cmp::Ordering> {
    if n.as_i64().is_some() {
        return None;
    }
    if n.is_u64() {
        return Some(std::cmp::Ordering::Greater);
    }
    None
}

/// SPEC §3.4 for a 64-bit integer value (a typed integer column, or an integer where the
/// target holds integers as 64 bits) against the literal `n` under `cmp` (`None`: equality):
/// `Some(Ok(i))` compares exactly with `i`; `Some(Err(b))` when every such integer gives the
/// answer `b` (`n` above `i64::MAX`, or equality with a fraction); `None` when the two compare
/// as doubles (a fraction ordered against an integer).
pub fn integer_cmp(cmp: Option<CmpOp>, n: &Number) -> Option<Result<i64, bool>> {
    if let Some(i) = n.as_i64() {
        return Some(Ok(i));
    }
    match (beyond_i64(n), cmp) {
        // Above every 64-bit integer.
        (Some(_), c) => Some(Err(matches!(c, Some(CmpOp::Lt | CmpOp::Le)))),
        (None, None) => Some(Err(false)),
        (None, Some(_)) => None,
    }
}

/// Whether comparing any 64-bit integer, converted to a double, with `n` gives SPEC §3.4's
/// answer: `n` is a fraction (compared as a double anyway) or an integer of magnitude below
/// 2^53 (every double near it is an integer, so rounding the other side keeps the order).
pub fn double_cmp_is_exact(n: &Number) -> bool {
    match (n.as_i64(), n.as_u64()) {
        (Some(i), _) => i.unsigned_abs() < 1 << 53,
        (None, Some(_)) => false,
        (None, None) => true,
    }
}

impl Lowerer<'_> {
    /// `element`: the id of the quantifier whose element is the root, or `None` for the row.
    /// `neg`: lower `not node` (negation pushed to the leaves as `normalize` does, without
    /// building the negated IR).
    fn node(&mut self, node: &Node, element: Option<usize>, neg: bool) -> Cond {
        match node {
            Node::And(items) | Node::Or(items) => {
                let and = matches!(node, Node::And(_)) != neg;
                Cond::junction(
                    items.iter().map(|i| self.node(i, element, neg)).collect(),
                    and,
                )
            }
            // Only reached if a caller skipped `normalize`.
            Node::Not(inner) => self.node(inner, element, !neg),
            Node::Leaf(leaf) => self.leaf(leaf, element, leaf.negated != neg),
            Node::Any { path, body } => self.quantifier(path, body, element, true, neg),
            Node::All { path, body } => self.quantifier(path, body, element, false, neg),
        }
    }

    fn resolve(&self, path: &FieldPath, element: Option<usize>) -> Option<Val> {
        // No array has more elements than an i64 counts.
        if path
            .0
            .iter()
            .any(|s| matches!(s, Step::Index(i) if i64::try_from(*i).is_err()))
        {
            return None;
        }
        if let Some(id) = element {
            return Some(Val::Json(JsonPath {
                base: Base::Element(id),
                steps: path.0.clone(),
            }));
        }
        match path.0.split_first() {
            Some((Step::Key(k), rest)) => match self.schema.column(k)? {
                ColumnType::Json => Some(Val::Json(JsonPath {
                    base: Base::Column(k.clone()),
                    steps: rest.to_vec(),
                })),
                ty if rest.is_empty() => Some(Val::Column {
                    name: k.clone(),
                    ty,
                }),
                // A scalar column has no members.
                _ => None,
            },
            // The event is an object: an index or `@` at its top finds nothing.
            _ => None,
        }
    }

    /// `any` (or `all`) `path (body)`, negated when `neg`: `not any P (B)` is "no element
    /// satisfies B", `all P (B)` is "no element satisfies not B", `not all P (B)` is "some
    /// element satisfies not B".
    fn quantifier(
        &mut self,
        path: &FieldPath,
        body: &Node,
        element: Option<usize>,
        any: bool,
        neg: bool,
    ) -> Cond {
        let exists = any != neg;
        let array = match self.resolve(path, element) {
            Some(Val::Json(j)) => j,
            // Missing, or a scalar column: not an array, so no element.
            _ => return Cond::Const(!exists),
        };
        self.next += 1;
        let id = self.next;
        self.outer.push(element);
        let inner = self.node(body, Some(id), !any);
        self.outer.pop();
        match inner {
            Cond::Const(false) => Cond::Const(!exists),
            inner => Cond::Quant(Quant {
                id,
                array,
                exists,
                body: Box::new(inner),
                span: first_span(body),
            }),
        }
    }

    /// The leaf, negated when `negated` (the leaf's own negation with any pushed onto it).
    fn leaf(&mut self, leaf: &Leaf, element: Option<usize>, negated: bool) -> Cond {
        let Some(val) = self.resolve(&leaf.path, element) else {
            // SPEC §3.6: only `is_null`/`is_empty` hold on a missing field; negation flips it.
            return Cond::Const(matches!(leaf.test, Test::IsNull | Test::IsEmpty) != negated);
        };
        let ty = match &val {
            Val::Column { ty, .. } => Some(*ty),
            Val::Json(_) => None,
        };
        if let Test::Field(op, r) = &leaf.test {
            // PATH2 is read `up` scopes out from where the leaf is evaluated.
            let root = if r.up == 0 {
                Some(element)
            } else {
                self.outer.len().checked_sub(r.up).map(|i| self.outer[i])
            };
            let Some(other) = root.and_then(|root| self.resolve(&r.path, root)) else {
                return Cond::Const(negated);
            };
            let other_ty = match &other {
                Val::Column { ty, .. } => Some(*ty),
                Val::Json(_) => None,
            };
            let sides = [Known::of(ty), Known::of(other_ty)];
            let checks = field_tests(*op, leaf.case_insensitive, ty, other_ty, sides)
                .into_iter()
                .map(|test| {
                    Cond::Check(Check {
                        val: val.clone(),
                        op: Op::Field {
                            test,
                            other: other.clone(),
                            sides,
                        },
                        negated,
                        span: leaf.span,
                    })
                })
                .collect();
            // Not (a or b) is (not a) and (not b); no kind left folds to the leaf's constant.
            return if negated {
                Cond::and(checks)
            } else {
                Cond::or(checks)
            };
        }
        match op_for(&leaf.test, leaf.case_insensitive, ty) {
            Some(op) => Cond::Check(Check {
                val,
                op,
                negated,
                span: leaf.span,
            }),
            // The value can never pass the test: the positive leaf is false.
            None => Cond::Const(negated),
        }
    }
}

impl Quant {
    /// Some when the body reads one value of the element and nothing else, so that the
    /// element's scalar values at that path decide the quantifier (for a target that searches
    /// a flattened list of values rather than visiting elements: SPL).
    pub fn scalar(&self) -> Option<ScalarBody> {
        /// Every check reads the same path of this quantifier's element, with a test that
        /// asks for a kind (not null/empty, not `field()`).
        fn single<'a>(c: &'a Cond, id: usize, seen: &mut Option<&'a [Step]>) -> bool {
            match c {
                Cond::And(items) | Cond::Or(items) => items.iter().all(|i| single(i, id, seen)),
                Cond::Check(ch)
                    if !matches!(ch.op, Op::IsNull | Op::IsEmpty | Op::Field { .. }) =>
                {
                    match &ch.val {
                        Val::Json(JsonPath {
                            base: Base::Element(e),
                            steps,
                        }) if *e == id => match seen {
                            Some(p) => *p == steps.as_slice(),
                            None => {
                                *seen = Some(steps);
                                true
                            }
                        },
                        _ => false,
                    }
                }
                _ => false,
            }
        }
        /// False when the value is missing, null, an object or an array: a positive check
        /// asks for a string, number or boolean; a negated one is then true.
        fn false_off_scalars(c: &Cond) -> bool {
            match c {
                Cond::And(items) => items.iter().any(false_off_scalars),
                Cond::Or(items) => items.iter().all(false_off_scalars),
                Cond::Check(ch) => !ch.negated,
                _ => false,
            }
        }
        fn one_of(c: &Cond, out: &mut Vec<Scalar>) -> bool {
            match c {
                Cond::Or(items) => items.iter().all(|i| one_of(i, out)),
                Cond::Check(ch) if !ch.negated => match &ch.op {
                    Op::Str {
                        op: StrOp::Eq,
                        values,
                        ci: false,
                        ..
                    } => {
                        out.extend(values.iter().map(|v| Scalar::Str(v.clone())));
                        true
                    }
                    Op::Bool(b) => {
                        out.push(Scalar::Bool(*b));
                        true
                    }
                    Op::Kind(Kind::Bool) => {
                        out.extend([Scalar::Bool(true), Scalar::Bool(false)]);
                        true
                    }
                    _ => false,
                },
                _ => false,
            }
        }
        let mut seen = None;
        if !single(&self.body, self.id, &mut seen) || !false_off_scalars(&self.body) {
            return None;
        }
        let path = FieldPath(seen?.to_vec());
        let mut alternatives = Vec::new();
        Some(ScalarBody {
            path,
            one_of: one_of(&self.body, &mut alternatives).then_some(alternatives),
        })
    }
}

fn first_span(node: &Node) -> Span {
    match node {
        Node::Leaf(l) => l.span,
        Node::And(items) | Node::Or(items) => items.first().map(first_span).unwrap_or_default(),
        Node::Not(inner) => first_span(inner),
        Node::Any { body, .. } | Node::All { body, .. } => first_span(body),
    }
}

/// The op a test becomes on a value of column type `ty` (`None`: semi-structured, any JSON
/// value). `None` when no value of that type can pass it.
fn op_for(test: &Test, ci: bool, ty: Option<ColumnType>) -> Option<Op> {
    let text_ok = matches!(ty, None | Some(ColumnType::Text));
    let num_ok = matches!(
        ty,
        None | Some(ColumnType::Integer) | Some(ColumnType::Real)
    );
    let bool_ok = matches!(ty, None | Some(ColumnType::Boolean));
    let str_op = |op: StrOp, s: &str| {
        if !text_ok {
            None
        } else if s.is_empty() {
            // Every string contains, starts and ends with "".
            Some(Op::Kind(Kind::String))
        } else {
            Some(Op::Str {
                op,
                values: vec![s.to_string()],
                ci,
                folded: if ci {
                    vec![simple_lowercase(s)]
                } else {
                    Vec::new()
                },
            })
        }
    };
    match test {
        Test::IsNull => Some(Op::IsNull),
        // A number or boolean column is empty only when it is null.
        Test::IsEmpty if matches!(ty, None | Some(ColumnType::Text)) => Some(Op::IsEmpty),
        Test::IsEmpty => Some(Op::IsNull),
        Test::Contains(s) => str_op(StrOp::Contains, s),
        Test::StartsWith(s) => str_op(StrOp::StartsWith, s),
        Test::EndsWith(s) => str_op(StrOp::EndsWith, s),
        Test::Matches(p) => text_ok.then(|| Op::Regex(p.clone())),
        Test::Compare(op, n) => {
            if !num_ok {
                return None;
            }
            if ty == Some(ColumnType::Integer)
                && let Some(Err(every)) = integer_cmp(Some(*op), n)
            {
                // Above every value the column can hold.
                return every.then_some(Op::Kind(Kind::Number));
            }
            Some(Op::Num {
                cmp: Some(*op),
                values: vec![NumLit::new(n.clone(), ty)],
            })
        }
        Test::Eq(s) => scalar_op(std::slice::from_ref(s), ci, ty, text_ok, num_ok, bool_ok),
        Test::In(items) => scalar_op(items, ci, ty, text_ok, num_ok, bool_ok),
        // An address inside one of the ranges is a string of an exact shape: the ranges become
        // one anchored regex, which every target already spells exactly.
        Test::InCidr(ranges) => text_ok.then(|| Op::Cidr(cidr_pattern(ranges), ranges.clone())),
        Test::Field(..) => unreachable!("field references are lowered by the caller"),
    }
}

/// The regex matching exactly the address texts SPEC §3.7 places inside one of `ranges`.
fn cidr_pattern(ranges: &[Cidr]) -> Pattern {
    let source = crate::backend::cidr::pattern(ranges);
    Pattern {
        source,
        regex: std::sync::OnceLock::new(),
    }
}

/// The kinds `PATH op field(PATH2)` compares, with PATH on a value of column type `ty`
/// (`None`: semi-structured) and PATH2 at `other`: `eq` compares strings, numbers and
/// booleans (only strings with `~`), the string operators strings, `gt`..`le` numbers (SPEC
/// §3.7, §3.4). A kind a typed column cannot hold is left out.
fn field_tests(
    op: FieldOp,
    ci: bool,
    ty: Option<ColumnType>,
    other_ty: Option<ColumnType>,
    sides: [Known; 2],
) -> Vec<FieldTest> {
    let both = |k: Kind| {
        let holds = |t: Option<ColumnType>| match (t, k) {
            (None, _) => true,
            (Some(t), Kind::String) => t == ColumnType::Text,
            (Some(t), Kind::Number) => matches!(t, ColumnType::Integer | ColumnType::Real),
            (Some(t), Kind::Bool) => t == ColumnType::Boolean,
        };
        holds(ty) && holds(other_ty)
    };
    let str_op = match op {
        FieldOp::Eq => Some(StrOp::Eq),
        FieldOp::Contains => Some(StrOp::Contains),
        FieldOp::StartsWith => Some(StrOp::StartsWith),
        FieldOp::EndsWith => Some(StrOp::EndsWith),
        FieldOp::Compare(_) => None,
    };
    let cmp = match op {
        FieldOp::Eq if !ci => Some(None),
        FieldOp::Compare(c) => Some(Some(c)),
        _ => None,
    };
    let mut tests = Vec::with_capacity(3);
    if let Some(op) = str_op
        && both(Kind::String)
    {
        tests.push(FieldTest::Str { op, ci });
    }
    if let Some(cmp) = cmp
        && both(Kind::Number)
    {
        let ints = match sides.map(|s| s.integer) {
            [None, _] | [_, None] => Ints::Never,
            [Some(Has::UnlessNull), Some(Has::UnlessNull)] => Ints::Always,
            _ => Ints::Unknown,
        };
        tests.push(FieldTest::Num { cmp, ints });
    }
    if op == FieldOp::Eq && !ci && both(Kind::Bool) {
        tests.push(FieldTest::Bool);
    }
    tests
}

impl FieldTest {
    /// The kind both values must have.
    pub fn kind(self) -> Kind {
        match self {
            FieldTest::Str { .. } => Kind::String,
            FieldTest::Num { .. } => Kind::Number,
            FieldTest::Bool => Kind::Bool,
        }
    }
}

/// `eq`/`in` with literals of one type.
fn scalar_op(
    items: &[Scalar],
    ci: bool,
    ty: Option<ColumnType>,
    text_ok: bool,
    num_ok: bool,
    bool_ok: bool,
) -> Option<Op> {
    match items.first()? {
        Scalar::Str(_) if text_ok => {
            let mut values: Vec<String> = Vec::with_capacity(items.len());
            let mut folded: Vec<String> = Vec::new();
            for i in items {
                if let Scalar::Str(s) = i {
                    if ci {
                        let f = simple_lowercase(s);
                        if !folded.contains(&f) {
                            folded.push(f);
                            values.push(s.clone());
                        }
                    } else if !values.contains(s) {
                        values.push(s.clone());
                    }
                }
            }
            Some(Op::Str {
                op: StrOp::Eq,
                values,
                ci,
                folded,
            })
        }
        Scalar::Num(_) if num_ok => {
            let mut values = Vec::with_capacity(items.len());
            for i in items {
                if let Scalar::Num(n) = i {
                    // A 64-bit integer column never holds a value beyond its range.
                    if ty == Some(ColumnType::Integer) && beyond_i64(n).is_some() {
                        continue;
                    }
                    if !values.iter().any(|v: &NumLit| v.value == *n) {
                        values.push(NumLit::new(n.clone(), ty));
                    }
                }
            }
            (!values.is_empty()).then_some(Op::Num { cmp: None, values })
        }
        Scalar::Bool(_) if bool_ok => {
            let t = items.contains(&Scalar::Bool(true));
            let f = items.contains(&Scalar::Bool(false));
            Some(if t && f {
                Op::Kind(Kind::Bool)
            } else {
                Op::Bool(t)
            })
        }
        _ => None,
    }
}

// ---- facts for a target's search and projection ----------------------------------------------

/// One step of a path from the row: a key, an index, or every element of an array (the
/// element a quantifier visits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hop {
    Key(String),
    Index(u64),
    Each,
}

/// A condition every row the plan keeps satisfies (a superset of the plan), made only of
/// "the value at this path is one of these scalars" facts: for a target that can narrow the
/// rows with a cheap search before it applies the exact filter (SPL's search terms).
#[derive(Clone, Debug, PartialEq)]
pub enum Implied {
    And(Vec<Implied>),
    Or(Vec<Implied>),
    /// The value at `path` (some element's, where the path has [`Hop::Each`]) is one of
    /// `values`, compared case-sensitively and by type.
    OneOf {
        path: Vec<Hop>,
        values: Vec<Scalar>,
    },
}

/// The paths of the elements of the enclosing quantifiers: (quantifier id, path from the row).
type Elements = Vec<(usize, Vec<Hop>)>;

/// The path from the row to `v`; `None` for a path into an element no scope visits.
fn hops(v: &Val, elements: &Elements) -> Option<Vec<Hop>> {
    let (mut path, steps) = match v {
        Val::Column { name, .. } => return Some(vec![Hop::Key(name.clone())]),
        Val::Json(JsonPath {
            base: Base::Column(c),
            steps,
        }) => (vec![Hop::Key(c.clone())], steps),
        Val::Json(JsonPath {
            base: Base::Element(id),
            steps,
        }) => (
            elements.iter().rev().find(|(e, _)| e == id)?.1.clone(),
            steps,
        ),
    };
    path.extend(steps.iter().map(|s| match s {
        Step::Key(k) => Hop::Key(k.clone()),
        Step::Index(i) => Hop::Index(*i),
    }));
    Some(path)
}

/// The array a quantifier visits, and its element, as paths from the row.
fn element_path(q: &Quant, elements: &Elements) -> Option<Vec<Hop>> {
    let mut p = hops(&Val::Json(q.array.clone()), elements)?;
    p.push(Hop::Each);
    Some(p)
}

/// What every row `c` keeps satisfies, as [`Implied`] facts: positive, case-sensitive
/// equality with strings, numbers or booleans (a boolean kind test is "true or false"), and
/// some element of an `any` doing so. `None` when nothing of that shape is implied.
pub fn implied(c: &Cond) -> Option<Implied> {
    fn go(c: &Cond, elements: &mut Elements) -> Option<Implied> {
        match c {
            Cond::Const(_) => None,
            Cond::And(items) => {
                let mut facts: Vec<Implied> =
                    items.iter().filter_map(|i| go(i, elements)).collect();
                match facts.len() {
                    0 => None,
                    1 => facts.pop(),
                    _ => Some(Implied::And(facts)),
                }
            }
            Cond::Or(items) => Some(Implied::Or(
                items
                    .iter()
                    .map(|i| go(i, elements))
                    .collect::<Option<_>>()?,
            )),
            Cond::Check(ch) if !ch.negated => {
                let values = match &ch.op {
                    Op::Str {
                        op: StrOp::Eq,
                        values,
                        ci: false,
                        ..
                    } => values.iter().map(|v| Scalar::Str(v.clone())).collect(),
                    Op::Num { cmp: None, values } => values
                        .iter()
                        .map(|n| Scalar::Num(n.value.clone()))
                        .collect(),
                    Op::Bool(b) => vec![Scalar::Bool(*b)],
                    Op::Kind(Kind::Bool) => vec![Scalar::Bool(true), Scalar::Bool(false)],
                    _ => return None,
                };
                Some(Implied::OneOf {
                    path: hops(&ch.val, elements)?,
                    values,
                })
            }
            Cond::Check(_) => None,
            // Some element satisfies the body, so what the body implies holds of some element.
            Cond::Quant(q) if q.exists => {
                let path = element_path(q, elements)?;
                elements.push((q.id, path));
                let fact = go(&q.body, elements);
                elements.pop();
                fact
            }
            Cond::Quant(_) => None,
        }
    }
    go(c, &mut Vec::new())
}

/// Every value the plan reads, as a path from the row, and whether it is read as an array
/// (a quantifier's array); each in the order the plan reads it. A target that projects output
/// fields uses it to see which of them the query reads as arrays or objects.
pub fn reads(c: &Cond) -> Vec<(Vec<Hop>, bool)> {
    fn go(c: &Cond, elements: &mut Elements, out: &mut Vec<(Vec<Hop>, bool)>) {
        match c {
            Cond::Const(_) => {}
            Cond::And(items) | Cond::Or(items) => items.iter().for_each(|i| go(i, elements, out)),
            Cond::Check(ch) => {
                out.extend(hops(&ch.val, elements).map(|p| (p, false)));
                if let Op::Field { other, .. } = &ch.op {
                    out.extend(hops(other, elements).map(|p| (p, false)));
                }
            }
            Cond::Quant(q) => {
                out.extend(hops(&Val::Json(q.array.clone()), elements).map(|p| (p, true)));
                if let Some(path) = element_path(q, elements) {
                    elements.push((q.id, path));
                    go(&q.body, elements, out);
                    elements.pop();
                }
            }
        }
    }
    let mut out = Vec::new();
    go(c, &mut Vec::new(), &mut out);
    out
}

// ---- writing --------------------------------------------------------------------------------

/// How loosely a written piece binds, loosest first: an operand that binds more loosely than
/// its context needs parentheses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Prec {
    /// A top-level `or`.
    Or,
    /// A top-level `and`.
    And,
    /// A prefix `not`.
    Not,
    /// A comparison (`a = b`, `x IS NULL`, `a in (...)`).
    Cmp,
    /// A call, a name, a literal or anything in parentheses.
    Atom,
}

/// What [`write`] appended to the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Nothing was written: the condition is this constant.
    Const(bool),
    /// Text of this binding strength.
    Text(Prec),
}

/// A piece a target spells apart from the query buffer (one part of a compound test built
/// from several parts, such as KQL's type check and comparison), joined with [`join`] by the
/// same rules [`write`] applies to a plan's junctions.
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    Const(bool),
    Text(String, Prec),
}

impl Part {
    /// Text that binds like a call or a name.
    pub fn atom(s: impl Into<String>) -> Part {
        Part::Text(s.into(), Prec::Atom)
    }

    /// The text (`true`/`false` for a constant).
    pub fn text(&self) -> &str {
        match self {
            Part::Const(true) => "true",
            Part::Const(false) => "false",
            Part::Text(s, _) => s,
        }
    }

    /// As an operand of an `and` (`and` true) or an `or`, parenthesised as [`write`] would.
    pub fn operand(&self, and: bool, group: bool) -> String {
        match self {
            Part::Text(s, p) if needs_parens(*p, and, group) => format!("({s})"),
            other => other.text().to_string(),
        }
    }
}

/// Whether an operand of binding strength `p` is parenthesised inside an `and` (`and` true) or
/// an `or`: when it binds more loosely, or (with `group`, or when the junctions differ) when it
/// is a junction itself. An `and` inside an `or` is always parenthesised (clearer to read).
fn needs_parens(p: Prec, and: bool, group: bool) -> bool {
    let own = if and { Prec::And } else { Prec::Or };
    p < own || (p <= Prec::And && (group || p != own))
}

/// `parts` joined with `sep` as an `and` (`and` true) or an `or`: constants dropped or deciding
/// the whole, operands parenthesised by [`needs_parens`], one operand left as it is.
pub fn join(parts: Vec<Part>, and: bool, sep: &str, group: bool) -> Part {
    let mut kept = Vec::with_capacity(parts.len());
    for p in parts {
        match p {
            Part::Const(b) if b == and => {}
            Part::Const(b) => return Part::Const(b),
            t => kept.push(t),
        }
    }
    match kept.len() {
        0 => Part::Const(and),
        1 => kept.pop().expect("one part"),
        _ => {
            let mut out = String::new();
            for (i, p) in kept.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                match p {
                    Part::Text(s, p) if needs_parens(*p, and, group) => {
                        out.push('(');
                        out.push_str(s);
                        out.push(')');
                    }
                    p => out.push_str(p.text()),
                }
            }
            Part::Text(out, if and { Prec::And } else { Prec::Or })
        }
    }
}

/// A backend's spelling of a plan.
pub trait Spell {
    /// What the spelling needs to know about where it is (the row, an element, ...).
    type Scope;

    /// The separator between the operands of `and` (` AND `, ` and `).
    fn and_sep(&self) -> &str;
    fn or_sep(&self) -> &str;

    /// Whether an operand that has a top-level `and`/`or` of its own is parenthesised inside a
    /// junction of the same kind too. An `and` inside an `or` is always parenthesised (clearer
    /// to read), an `or` inside an `and` because precedence requires it.
    fn group_junctions(&self) -> bool {
        true
    }

    /// Writes one check; may return a constant instead (writing nothing) where the target's own
    /// data model decides it.
    fn check(&self, c: &Check, scope: &Self::Scope, out: &mut String)
    -> Result<Piece, Unsupported>;

    /// Writes one quantifier.
    fn quant(&self, q: &Quant, scope: &Self::Scope, out: &mut String)
    -> Result<Piece, Unsupported>;

    /// The writer has dropped what it wrote into the current buffer from byte `from` on (a
    /// junction a constant decided): a target that keeps notes on what it wrote drops the
    /// notes on that text too.
    fn dropped(&self, _from: usize) {}

    /// The most operands one `and` or `or` chain may have before it is written as
    /// parenthesised groups (a target whose parser bounds the depth of an expression: SQLite
    /// nests a chain of n operands n deep). `None`: no bound.
    fn max_operands(&self) -> Option<usize> {
        None
    }
}

/// Writes `c` into `out`. Target errors are given the position of the construct.
pub fn write<S: Spell>(
    s: &S,
    c: &Cond,
    scope: &S::Scope,
    out: &mut String,
) -> Result<Piece, Unsupported> {
    match c {
        Cond::Const(b) => Ok(Piece::Const(*b)),
        Cond::Check(ch) => s.check(ch, scope, out).map_err(|u| u.at(ch.span)),
        Cond::Quant(q) => s.quant(q, scope, out).map_err(|u| u.at(q.span)),
        Cond::And(items) => write_junction(s, items, true, s.and_sep(), scope, out),
        Cond::Or(items) => write_junction(s, items, false, s.or_sep(), scope, out),
    }
}

/// Writes `items` joined with `sep` (`and` or `or` by `and`); constants are dropped or decide
/// the whole junction; operands are parenthesised where their binding strength asks for it.
pub fn write_junction<S: Spell>(
    s: &S,
    items: &[Cond],
    and: bool,
    sep: &str,
    scope: &S::Scope,
    out: &mut String,
) -> Result<Piece, Unsupported> {
    if let Some(size) = s
        .max_operands()
        .and_then(|max| group_size(items.len(), max))
    {
        return junction(
            s,
            items.chunks(size),
            |group, out| write_junction(s, group, and, sep, scope, out),
            and,
            sep,
            out,
        );
    }
    junction(
        s,
        items,
        |item, out| write(s, item, scope, out),
        and,
        sep,
        out,
    )
}

/// For a chain of `len` operands where a target takes at most `max` in one chain: `None` when
/// it fits, else the size of the parenthesised groups to write it as (powers of `max`, so that
/// there are at most `max` groups, each of groups of `max` where needed): the depth grows with
/// the logarithm of the length.
pub fn group_size(len: usize, max: usize) -> Option<usize> {
    if len <= max {
        return None;
    }
    let mut size = max;
    while size.saturating_mul(max) < len {
        size *= max;
    }
    Some(size)
}

/// The operands `operands`, each written by `one`, joined as `write_junction` says.
fn junction<S: Spell, T>(
    s: &S,
    operands: impl IntoIterator<Item = T>,
    mut one: impl FnMut(T, &mut String) -> Result<Piece, Unsupported>,
    and: bool,
    sep: &str,
    out: &mut String,
) -> Result<Piece, Unsupported> {
    let group = s.group_junctions();
    let start = out.len();
    // The operands written so far, and where the first one starts and whether it was put in
    // parentheses (undone if it stays the only one).
    let mut written = 0;
    let mut first: Option<(usize, bool, Prec)> = None;
    for item in operands {
        let mark = out.len();
        if written > 0 {
            out.push_str(sep);
        }
        let at = out.len();
        match one(item, out)? {
            Piece::Const(b) if b == and => {
                out.truncate(mark);
                s.dropped(mark);
            }
            Piece::Const(b) => {
                out.truncate(start);
                s.dropped(start);
                return Ok(Piece::Const(b));
            }
            Piece::Text(p) => {
                // The operand is the end of the buffer: opening its parenthesis moves only
                // the operand's own text.
                let wrap = needs_parens(p, and, group);
                if wrap {
                    out.insert(at, '(');
                    out.push(')');
                }
                if written == 0 {
                    first = Some((at, wrap, p));
                }
                written += 1;
            }
        }
    }
    match (written, first) {
        (0, _) => Ok(Piece::Const(and)),
        (1, Some((at, wrap, p))) => {
            if wrap {
                out.pop();
                out.remove(at);
            }
            Ok(Piece::Text(p))
        }
        _ => Ok(Piece::Text(if and { Prec::And } else { Prec::Or })),
    }
}

/// `text` as an operand of a prefix operator such as `NOT `: in parentheses unless it binds at
/// least as tightly as `min`.
pub fn operand(out: &mut String, text: &str, prec: Prec, min: Prec) {
    if prec < min {
        out.push('(');
        out.push_str(text);
        out.push(')');
    } else {
        out.push_str(text);
    }
}

impl fmt::Display for Cond {
    /// A readable form of the plan (`ruleqc explain --stage plan`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn val(v: &Val) -> String {
            match v {
                Val::Column { name, ty } => format!("{name}:{ty:?}"),
                Val::Json(j) => {
                    let base = match &j.base {
                        Base::Column(c) => format!("{c}:Json"),
                        Base::Element(id) => format!("@e{id}"),
                    };
                    let mut s = base;
                    for step in &j.steps {
                        match step {
                            Step::Key(k) => s.push_str(&format!(".{k:?}")),
                            Step::Index(i) => s.push_str(&format!("[{i}]")),
                        }
                    }
                    s
                }
            }
        }
        fn go(c: &Cond, f: &mut fmt::Formatter<'_>, depth: usize) -> fmt::Result {
            let pad = "  ".repeat(depth);
            match c {
                Cond::Const(b) => writeln!(f, "{pad}{b}"),
                Cond::And(items) | Cond::Or(items) => {
                    writeln!(
                        f,
                        "{pad}{}",
                        if matches!(c, Cond::And(_)) {
                            "and"
                        } else {
                            "or"
                        }
                    )?;
                    items.iter().try_for_each(|i| go(i, f, depth + 1))
                }
                Cond::Check(ch) => {
                    let not = if ch.negated { "not " } else { "" };
                    let op = match &ch.op {
                        Op::IsNull => "is_null".to_string(),
                        Op::IsEmpty => "is_empty".to_string(),
                        Op::Kind(k) => format!("is {k:?}").to_lowercase(),
                        Op::Str { op, values, ci, .. } => {
                            let name = format!("{op:?}").to_lowercase();
                            format!("{name}{} {values:?}", if *ci { "~" } else { "" })
                        }
                        Op::Regex(p) | Op::Cidr(p, _) => format!("matches {:?}", p.source),
                        Op::Num { cmp, values } => {
                            let vs: Vec<String> =
                                values.iter().map(|n| n.value.to_string()).collect();
                            format!("{} [{}]", cmp.map_or("eq", |c| c.symbol()), vs.join(", "))
                        }
                        Op::Bool(b) => format!("is {b}"),
                        Op::Field { test, other, .. } => {
                            let (kind, op) = match test {
                                FieldTest::Str { op, ci } => (
                                    "strings",
                                    format!(
                                        "{}{}",
                                        format!("{op:?}").to_lowercase(),
                                        if *ci { "~" } else { "" }
                                    ),
                                ),
                                FieldTest::Num { cmp, ints } => (
                                    match ints {
                                        Ints::Always => "integers",
                                        Ints::Never => "doubles",
                                        Ints::Unknown => "numbers",
                                    },
                                    cmp.map_or("eq", |c| c.symbol()).to_string(),
                                ),
                                FieldTest::Bool => ("bools", "eq".to_string()),
                            };
                            format!("{kind} {op} field({})", val(other))
                        }
                    };
                    writeln!(f, "{pad}{not}{} {op}", val(&ch.val))
                }
                Cond::Quant(q) => {
                    let word = if q.exists { "some" } else { "none" };
                    writeln!(
                        f,
                        "{pad}{word} @e{} in {}",
                        q.id,
                        val(&Val::Json(q.array.clone()))
                    )?;
                    go(&q.body, f, depth + 1)
                }
            }
        }
        go(self, f, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::lower::lower_condition;
    use crate::syntax::parser::parse;

    fn plan(text: &str, cols: &[(&str, ColumnType)]) -> Cond {
        let ast = parse(text).expect("parses");
        let ir = crate::ir::normalize::normalize(lower_condition(&ast).expect("lowers"));
        let schema = TableSchema {
            columns: cols.iter().map(|(k, t)| (k.to_string(), *t)).collect(),
            complete: true,
        };
        lower(&ir, &schema)
    }

    #[test]
    fn missing_fields_and_impossible_types_fold() {
        use ColumnType::*;
        assert_eq!(plan("x eq 1", &[]), Cond::Const(false));
        assert_eq!(plan("x ne 1", &[]), Cond::Const(true));
        assert_eq!(plan("x eq 1", &[("x", Text)]), Cond::Const(false));
        assert_eq!(plan("x ne \"a\"", &[("x", Integer)]), Cond::Const(true));
        assert_eq!(plan("x.y eq 1", &[("x", Integer)]), Cond::Const(false));
        assert_eq!(
            plan("x is_null or y eq 1", &[("y", Real)]),
            Cond::Const(true)
        );
        assert_eq!(
            plan("n gt 9223372036854775808", &[("n", Integer)]),
            Cond::Const(false)
        );
        assert_eq!(
            plan(
                "n in [9223372036854775808, 18446744073709551615]",
                &[("n", Integer)]
            ),
            Cond::Const(false)
        );
        assert_eq!(plan("any xs (@ eq 1)", &[("xs", Text)]), Cond::Const(false));
        assert_eq!(plan("all xs (@ eq 1)", &[]), Cond::Const(true));
    }

    #[test]
    fn ops_are_typed_and_case_folded() {
        use ColumnType::*;
        let text = plan("x in~ [\"A\", \"a\", \"Σ\"]", &[("x", Text)]).to_string();
        assert_eq!(text, "x:Text eq~ [\"A\", \"Σ\"]\n");
        assert_eq!(
            plan("x contains \"\"", &[("x", Json)]).to_string(),
            "x:Json is string\n"
        );
        assert_eq!(
            plan("b in [true, false, true]", &[("b", Boolean)]).to_string(),
            "b:Boolean is bool\n"
        );
        assert_eq!(
            plan("n lt 9223372036854775808", &[("n", Integer)]).to_string(),
            "n:Integer is number\n"
        );
        assert_eq!(
            plan("x is_empty", &[("x", Real)]).to_string(),
            "x:Real is_null\n"
        );
    }

    /// SPEC §3.4 decided per literal: exactly for two integers, as doubles otherwise, and
    /// split by the value's kind where a semi-structured or real value makes the two differ.
    #[test]
    fn number_literals_say_how_they_compare() {
        use ColumnType::*;
        let how = |text: &str, cols: &[(&str, ColumnType)]| match plan(text, cols) {
            Cond::Check(Check {
                op: Op::Num { values, .. },
                ..
            }) => values.iter().map(|n| n.how).collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        let by_kind = |literal_is_double| NumCmp::ByKind { literal_is_double };
        assert_eq!(
            how("n in [1, 1.5, 9223372036854775807]", &[("n", Integer)]),
            [NumCmp::Exact, NumCmp::Double, NumCmp::Exact]
        );
        for ty in [Real, Json] {
            assert_eq!(
                how(
                    "n in [9007199254740991, -9007199254740992, 9007199254740993, 1e3, 18446744073709551615]",
                    &[("n", ty)]
                ),
                [
                    NumCmp::Either,
                    by_kind(true),
                    by_kind(false),
                    NumCmp::Double,
                    by_kind(false)
                ]
            );
        }
        assert_eq!(
            how("n gt 9223372036854775808", &[("n", Json)]),
            [by_kind(true)]
        );
    }

    #[test]
    fn quantifiers_take_one_shape() {
        use ColumnType::*;
        assert_eq!(
            plan("all xs (@ eq \"a\")", &[("xs", Json)]).to_string(),
            "none @e1 in xs:Json\n  not @e1 eq [\"a\"]\n"
        );
        assert_eq!(
            plan("any xs (@ is_null or @ ne 1)", &[("xs", Json)]).to_string(),
            "some @e1 in xs:Json\n  or\n    @e1 is_null\n    not @e1 eq [1]\n"
        );
        // A body that can never hold folds the quantifier.
        assert_eq!(
            plan("any xs (@[18446744073709551615] eq 1)", &[("xs", Json)]),
            Cond::Const(false)
        );
    }

    #[test]
    fn field_comparisons_split_by_kind() {
        use ColumnType::*;
        // `eq` on two semi-structured values: strings, numbers (exact only when both are
        // integers) and booleans; negated, none of them.
        assert_eq!(
            plan("a eq field(b)", &[("a", Json), ("b", Json)]).to_string(),
            "or\n  a:Json strings eq field(b:Json)\n  a:Json numbers eq field(b:Json)\n  \
             a:Json bools eq field(b:Json)\n"
        );
        assert_eq!(
            plan("a ne field(b)", &[("a", Json), ("b", Json)]).to_string(),
            "and\n  not a:Json strings eq field(b:Json)\n  not a:Json numbers eq field(b:Json)\n  \
             not a:Json bools eq field(b:Json)\n"
        );
        // Typed columns keep only the kinds both can hold.
        assert_eq!(
            plan("a eq field(b)", &[("a", Integer), ("b", Json)]).to_string(),
            "a:Integer numbers eq field(b:Json)\n"
        );
        assert_eq!(
            plan("a gt field(b)", &[("a", Integer), ("b", Integer)]).to_string(),
            "a:Integer integers gt field(b:Integer)\n"
        );
        assert_eq!(
            plan("a le field(b)", &[("a", Real), ("b", Json)]).to_string(),
            "a:Real doubles le field(b:Json)\n"
        );
        assert_eq!(
            plan("a eq~ field(b)", &[("a", Json), ("b", Json)]).to_string(),
            "a:Json strings eq~ field(b:Json)\n"
        );
        assert_eq!(
            plan("a contains field(b)", &[("a", Text), ("b", Integer)]),
            Cond::Const(false)
        );
        assert_eq!(
            plan("not a contains field(b)", &[("a", Text), ("b", Integer)]),
            Cond::Const(true)
        );
        // What each side is known to be: a typed column has the kind unless null (and is an
        // integer only as an integer column), a semi-structured value is tested.
        let sides = |text: &str, cols: &[(&str, ColumnType)]| match plan(text, cols) {
            Cond::Check(Check {
                op: Op::Field { sides, .. },
                ..
            }) => sides,
            other => panic!("{other:?}"),
        };
        let column = |integer| Known {
            kind: Has::UnlessNull,
            integer,
        };
        let tested = Known {
            kind: Has::Test,
            integer: Some(Has::Test),
        };
        assert_eq!(
            sides("a gt field(b)", &[("a", Integer), ("b", Json)]),
            [column(Some(Has::UnlessNull)), tested]
        );
        assert_eq!(
            sides("a lt field(b)", &[("a", Json), ("b", Real)]),
            [tested, column(None)]
        );
        assert_eq!(
            sides("a contains field(b)", &[("a", Text), ("b", Text)]),
            [column(None), column(None)]
        );
    }

    #[test]
    fn quantifiers_say_when_one_scalar_decides_them() {
        use ColumnType::*;
        let scalar = |text: &str| match plan(text, &[("xs", Json)]) {
            Cond::Quant(q) => q.scalar(),
            other => panic!("{other:?}"),
        };
        let s = |v: &str| Scalar::Str(v.into());
        assert_eq!(
            scalar("any xs (@.k eq \"a\" or @.k in [true, false])"),
            Some(ScalarBody {
                path: FieldPath(vec![Step::Key("k".into())]),
                one_of: Some(vec![s("a"), Scalar::Bool(true), Scalar::Bool(false)]),
            })
        );
        // One path, but not only exact alternatives.
        assert_eq!(
            scalar("any xs (@ starts_with \"a\")").map(|b| b.one_of),
            Some(None)
        );
        // True on a missing value, a null test, two paths: the scalars do not decide it.
        assert_eq!(scalar("any xs (@.k ne \"a\")"), None);
        assert_eq!(scalar("any xs (@.k is_null)"), None);
        assert_eq!(scalar("any xs (@.k eq \"a\" and @.j eq \"b\")"), None);
        // A negated test beside a positive one on the same path is still false off scalars.
        assert_eq!(
            scalar("any xs (@.k eq \"a\" and @.k ne \"b\")").map(|b| b.one_of),
            Some(None)
        );
        assert_eq!(scalar("any xs (@.k eq \"a\" or @.k ne \"b\")"), None);
    }

    #[test]
    fn negation_is_pushed_while_lowering() {
        use ColumnType::*;
        let cols = [("a", Json), ("xs", Json), ("n", Integer)];
        let schema = TableSchema {
            columns: cols.iter().map(|(k, t)| (k.to_string(), *t)).collect(),
            complete: true,
        };
        for text in [
            "not (a eq 1 and any xs (@ eq 2 or not @.k is_null))",
            "not all xs (not any @.ys (@ gt 1) or n lt 18446744073709551615)",
            "not (a ne field(n) or all xs (@ eq field(n)))",
        ] {
            let raw = lower_condition(&parse(text).expect("parses")).expect("lowers");
            let normalised = crate::ir::normalize::normalize(raw.clone());
            assert_eq!(lower(&raw, &schema), lower(&normalised, &schema), "{text}");
        }
    }

    #[test]
    fn implied_facts_are_a_superset() {
        use ColumnType::*;
        let key = |k: &str| Hop::Key(k.into());
        let s = |v: &str| Scalar::Str(v.into());
        // An `and` keeps what it can; an `or` needs every operand; `~`, negation and `all`
        // imply nothing.
        assert_eq!(
            implied(&plan(
                "a eq \"x\" and b contains \"y\" and any xs (@.k in [\"p\", \"p\", \"q\"])",
                &[("a", Text), ("b", Json), ("xs", Json)]
            )),
            Some(Implied::And(vec![
                Implied::OneOf {
                    path: vec![key("a")],
                    values: vec![s("x")]
                },
                Implied::OneOf {
                    path: vec![key("xs"), Hop::Each, key("k")],
                    values: vec![s("p"), s("q")]
                },
            ]))
        );
        assert_eq!(
            implied(&plan("a eq \"x\" or a eq~ \"y\"", &[("a", Json)])),
            None
        );
        assert_eq!(
            implied(&plan(
                "b in [true, false] or n eq 2",
                &[("b", Json), ("n", Json)]
            )),
            Some(Implied::Or(vec![
                Implied::OneOf {
                    path: vec![key("b")],
                    values: vec![Scalar::Bool(true), Scalar::Bool(false)]
                },
                Implied::OneOf {
                    path: vec![key("n")],
                    values: vec![Scalar::Num(2.into())]
                },
            ]))
        );
        assert_eq!(implied(&plan("not a eq \"x\"", &[("a", Json)])), None);
        assert_eq!(implied(&plan("all xs (@ eq \"x\")", &[("xs", Json)])), None);
    }

    #[test]
    fn reads_give_paths_from_the_row() {
        use ColumnType::*;
        let key = |k: &str| Hop::Key(k.into());
        assert_eq!(
            reads(&plan(
                "u.name eq \"x\" or all xs (@[2] gt 1 and @.k eq \"y\")",
                &[("u", Json), ("xs", Json)]
            )),
            vec![
                (vec![key("u"), key("name")], false),
                (vec![key("xs")], true),
                (vec![key("xs"), Hop::Each, Hop::Index(2)], false),
                (vec![key("xs"), Hop::Each, key("k")], false),
            ]
        );
        // Both sides of a `field()` comparison are read.
        assert_eq!(
            reads(&plan("a gt field(b)", &[("a", Integer), ("b", Integer)])),
            vec![(vec![key("a")], false), (vec![key("b")], false)]
        );
    }

    /// A speller that writes a check as its column name, or as `x | y` (an `or`) for a column
    /// named `x|y`, and a quantifier as `q`.
    struct Toy {
        group: bool,
    }

    impl Spell for Toy {
        type Scope = ();
        fn and_sep(&self) -> &str {
            " & "
        }
        fn or_sep(&self) -> &str {
            " | "
        }
        fn group_junctions(&self) -> bool {
            self.group
        }
        fn check(&self, c: &Check, _: &(), out: &mut String) -> Result<Piece, Unsupported> {
            let Val::Column { name, .. } = &c.val else {
                unreachable!()
            };
            match name.as_str() {
                "never" => Ok(Piece::Const(false)),
                "always" => Ok(Piece::Const(true)),
                n if n.contains('|') => {
                    out.push_str(&n.replace('|', " | "));
                    Ok(Piece::Text(Prec::Or))
                }
                n if n.contains('&') => {
                    out.push_str(&n.replace('&', " & "));
                    Ok(Piece::Text(Prec::And))
                }
                n => {
                    out.push_str(n);
                    Ok(Piece::Text(Prec::Atom))
                }
            }
        }
        fn quant(&self, _: &Quant, _: &(), _: &mut String) -> Result<Piece, Unsupported> {
            Err(Unsupported::new("no quantifiers here".into()))
        }
    }

    fn check(name: &str) -> Cond {
        Cond::Check(Check {
            val: Val::Column {
                name: name.into(),
                ty: ColumnType::Text,
            },
            op: Op::IsNull,
            negated: false,
            span: Span { start: 3, end: 9 },
        })
    }

    fn written(c: &Cond, group: bool) -> String {
        let mut out = String::new();
        match write(&Toy { group }, c, &(), &mut out).expect("writes") {
            Piece::Const(b) => format!("const {b}"),
            Piece::Text(_) => out,
        }
    }

    #[test]
    fn parentheses_come_from_binding_strength() {
        let c = Cond::And(vec![check("a"), check("b|c"), check("d&e")]);
        assert_eq!(written(&c, true), "a & (b | c) & (d & e)");
        assert_eq!(written(&c, false), "a & (b | c) & d & e");
        let c = Cond::Or(vec![
            check("a"),
            check("d&e"),
            Cond::And(vec![check("x"), check("y|z")]),
        ]);
        assert_eq!(written(&c, false), "a | (d & e) | (x & (y | z))");
        // A single operand left is not parenthesised.
        let c = Cond::And(vec![check("always"), check("b|c")]);
        assert_eq!(written(&c, true), "b | c");
    }

    #[test]
    fn constants_from_spelling_are_dropped_or_decide() {
        let c = Cond::And(vec![check("a"), check("always"), check("b")]);
        assert_eq!(written(&c, true), "a & b");
        let c = Cond::Or(vec![
            check("a"),
            Cond::And(vec![check("b"), check("never")]),
        ]);
        assert_eq!(written(&c, true), "a");
        let c = Cond::And(vec![check("a"), check("never"), check("b")]);
        assert_eq!(written(&c, true), "const false");
    }

    #[test]
    fn target_errors_carry_the_construct() {
        let c = Cond::Quant(Quant {
            id: 1,
            array: JsonPath {
                base: Base::Column("xs".into()),
                steps: Vec::new(),
            },
            exists: true,
            body: Box::new(Cond::Const(true)),
            span: Span { start: 4, end: 7 },
        });
        let e = write(&Toy { group: true }, &c, &(), &mut String::new()).unwrap_err();
        assert_eq!(e.span, Some(Span { start: 4, end: 7 }));
    }
}
