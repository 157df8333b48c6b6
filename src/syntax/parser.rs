//! Condition text -> AST: the pest grammar in `grammar/condition.pest`, precedence by pest's
//! `PrattParser`, and errors a rule author can read.

use std::sync::LazyLock;

use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};

use super::ast::*;
use crate::diag::Diagnostic;

#[derive(pest_derive::Parser)]
#[grammar = "grammar/condition.pest"]
struct ConditionParser;

/// Deepest nesting of parentheses, `not` and quantifiers a condition may have (SPEC §3.1).
pub const MAX_NESTING: usize = 64;

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::or_op, Assoc::Left))
        .op(Op::infix(Rule::and_op, Assoc::Left))
        .op(Op::prefix(Rule::not_op))
});

/// Parses a whole condition. Spans in the result and in errors are byte offsets in `text`.
///
/// pest runs without a call limit (its per-call tracker costs time on every rule): `prepare`
/// rejects nesting deeper than [`MAX_NESTING`], and no alternative in the grammar re-parses a
/// nested body after it failed, so the work stays linear in the text's length at bounded depth.
/// For the same reason pest is built without its `std` feature (Cargo.toml), which on Linux
/// asks the thread for its remaining stack on every rule call: bounded depth needs no probe.
pub fn parse(text: &str) -> Result<Expr, Diagnostic> {
    let prepared = prepare(text)?;
    let mut pairs = ConditionParser::parse(Rule::condition, &prepared)
        .map_err(|e| syntax_error(&prepared, e))?;
    let condition = pairs.next().expect("condition rule");
    let span = span_of(&condition);
    let mut lines = Vec::new();
    for pair in condition.into_inner() {
        if pair.as_rule() == Rule::expr {
            lines.push(build_expr(pair.into_inner())?);
        }
    }
    Ok(match lines.len() {
        1 => lines.pop().expect("one line"),
        _ => Expr {
            kind: ExprKind::And(lines),
            span,
        },
    })
}

/// Parses a field path on its own (`SummaryAttributes`, `OutputFields`).
pub fn parse_path(text: &str) -> Result<Path, Diagnostic> {
    let mut pairs =
        ConditionParser::parse(Rule::path_only, text).map_err(|e| syntax_error(text, e))?;
    let path = pairs
        .next()
        .and_then(|p| p.into_inner().find(|p| p.as_rule() == Rule::path))
        .expect("path rule");
    build_path(path)
}

fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    Span::new(s.start(), s.end())
}

fn build_expr(pairs: Pairs<'_, Rule>) -> Result<Expr, Diagnostic> {
    PRATT
        .map_primary(build_primary)
        .map_prefix(|op, rhs| {
            let rhs = rhs?;
            let span = span_of(&op).to(rhs.span);
            Ok(Expr {
                kind: ExprKind::Not(Box::new(rhs)),
                span,
            })
        })
        .map_infix(|lhs, op, rhs| {
            let (lhs, rhs) = (lhs?, rhs?);
            let span = lhs.span.to(rhs.span);
            let is_and = op.as_rule() == Rule::and_op;
            let kind = match (lhs.kind, is_and) {
                (ExprKind::And(mut items), true) => {
                    items.push(rhs);
                    ExprKind::And(items)
                }
                (ExprKind::Or(mut items), false) => {
                    items.push(rhs);
                    ExprKind::Or(items)
                }
                (kind, _) => {
                    let lhs = Expr {
                        kind,
                        span: lhs.span,
                    };
                    if is_and {
                        ExprKind::And(vec![lhs, rhs])
                    } else {
                        ExprKind::Or(vec![lhs, rhs])
                    }
                }
            };
            Ok(Expr { kind, span })
        })
        .parse(pairs)
}

fn build_primary(pair: Pair<'_, Rule>) -> Result<Expr, Diagnostic> {
    let span = span_of(&pair);
    match pair.as_rule() {
        Rule::group => {
            let inner = pair.into_inner().next().expect("group expr");
            let expr = build_expr(inner.into_inner())?;
            Ok(Expr {
                kind: ExprKind::Group(Box::new(expr)),
                span,
            })
        }
        Rule::quantifier => {
            let mut inner = pair.into_inner();
            let kind = match inner.next().expect("quantifier keyword").as_str() {
                "any" => Quantifier::Any,
                _ => Quantifier::All,
            };
            let path = build_path(inner.next().expect("quantifier path"))?;
            let body = build_expr(inner.next().expect("quantifier body").into_inner())?;
            Ok(Expr {
                kind: ExprKind::Quantifier {
                    kind,
                    path,
                    body: Box::new(body),
                },
                span,
            })
        }
        Rule::predicate => {
            let mut inner = pair.into_inner();
            let path = build_path(inner.next().expect("predicate path"))?;
            let op_pair = inner.next().expect("predicate operator");
            let op_span = span_of(&op_pair);
            let mut name = "";
            let mut case_insensitive = false;
            for p in op_pair.into_inner() {
                match p.as_rule() {
                    Rule::op_name => name = p.as_str(),
                    Rule::ci_flag => case_insensitive = true,
                    _ => {}
                }
            }
            let op = Operator::from_word(name).expect("grammar only admits known operators");
            let value = inner.next().map(build_literal).transpose()?;
            Ok(Expr {
                kind: ExprKind::Predicate(Predicate {
                    path,
                    op,
                    case_insensitive,
                    op_span,
                    value,
                }),
                span,
            })
        }
        other => unreachable!("unexpected primary {other:?}"),
    }
}

fn build_path(pair: Pair<'_, Rule>) -> Result<Path, Diagnostic> {
    let span = span_of(&pair);
    let mut segments = Vec::new();
    for p in pair.into_inner() {
        let seg = match p.as_rule() {
            Rule::elem_ref => Segment::Element,
            Rule::ident => Segment::Key(p.as_str().to_string()),
            Rule::quoted_ident => {
                let s = p.as_str();
                if s == "``" {
                    // docs/language-decisions.md: no SQL engine names an empty column, and
                    // DuckDB cannot load events with an empty key.
                    let sp = span_of(&p);
                    return Err(Diagnostic::error(
                        "E0201",
                        "empty field name",
                        sp.start..sp.end,
                    )
                    .with_label("a key needs at least one character")
                    .with_help(
                        "an empty key cannot be read on every target; rename it in the events",
                    ));
                }
                Segment::Key(s[1..s.len() - 1].replace("``", "`"))
            }
            Rule::index => {
                let s = p.as_str();
                let n = s[1..s.len() - 1].parse::<u64>().map_err(|_| {
                    let sp = span_of(&p);
                    Diagnostic::error("E0205", "array index is too large", sp.start..sp.end)
                })?;
                Segment::Index(n)
            }
            Rule::any_index => Segment::AnyElement,
            other => unreachable!("unexpected path part {other:?}"),
        };
        segments.push(seg);
    }
    Ok(Path { segments, span })
}

fn build_literal(pair: Pair<'_, Rule>) -> Result<Literal, Diagnostic> {
    let span = span_of(&pair);
    let kind = match pair.as_rule() {
        Rule::string => {
            let text = pair.as_str();
            // Without a backslash the text between the quotes is the value (the grammar
            // admits no `"` or control character there): no JSON decoder needed.
            if !text.contains('\\') {
                let value = text[1..text.len() - 1].to_string();
                return Ok(Literal {
                    kind: LiteralKind::String { value, raw: false },
                    span,
                });
            }
            let value: String = serde_json::from_str(text).map_err(|e| {
                Diagnostic::error("E0204", "invalid escape in string", span.start..span.end)
                    .with_label(e.to_string().split(" at line").next().unwrap_or("").to_string())
                    .with_help("strings use JSON escapes: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX (a surrogate pair for characters above U+FFFF)")
            })?;
            LiteralKind::String { value, raw: false }
        }
        Rule::raw_string => {
            let text = pair.as_str();
            LiteralKind::String {
                value: text[2..text.len() - 1].to_string(),
                raw: true,
            }
        }
        Rule::number => {
            let n: serde_json::Number = serde_json::from_str(pair.as_str()).map_err(|_| {
                Diagnostic::error("E0205", "number out of range", span.start..span.end)
                    .with_label("not representable as a 64-bit number")
            })?;
            LiteralKind::Number(n)
        }
        Rule::boolean => LiteralKind::Bool(pair.as_str() == "true"),
        Rule::null_lit => LiteralKind::Null,
        Rule::field_ref => {
            let path = pair
                .into_inner()
                .find(|p| p.as_rule() == Rule::path)
                .expect("field() holds a path");
            LiteralKind::Field(build_path(path)?)
        }
        Rule::list => {
            let items = pair
                .into_inner()
                .map(build_literal)
                .collect::<Result<Vec<_>, _>>()?;
            LiteralKind::List(items)
        }
        other => unreachable!("unexpected literal {other:?}"),
    };
    Ok(Literal { kind, span })
}

/// The nesting check [`parse`] makes first, on its own: for a syntax tree built without parsing
/// (a Sigma rule's generated condition), which must meet the same limit.
pub fn check_nesting(text: &str) -> Result<(), Diagnostic> {
    prepare(text).map(drop)
}

/// Prepares the text for the grammar and rejects nesting deeper than [`MAX_NESTING`] before
/// the recursive parser sees it, so that no input can exhaust the stack.
///
/// In one pass that skips strings and backtick segments: comments are replaced by spaces, and
/// so are line breaks inside `( )` and `[ ]` (where SPEC §3.1 makes them white space). Every
/// byte keeps its offset. Nesting counts open brackets and chains of `not`.
fn prepare(text: &str) -> Result<String, Diagnostic> {
    let mut b = text.as_bytes().to_vec();
    // Per open bracket: the depth outside it. `nots` counts prefix `not`s since the last operand.
    let mut outer: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    let mut nots = 0usize;
    let mut i = 0;
    let too_deep = |start: usize, end: usize| {
        Diagnostic::error(
            "E0203",
            format!("condition is nested deeper than {MAX_NESTING} levels"),
            start..end,
        )
        .with_label("too deep")
        .with_help("split the condition, or remove redundant parentheses and `not`s")
    };
    while i < b.len() {
        match b[i] {
            b'"' => i = skip_quoted(&b, i + 1, b'"', true).0,
            b'`' => i = skip_quoted(&b, i + 1, b'`', false).0,
            b'#' => {
                while i < b.len()
                    && b[i] != b'\n'
                    && !(b[i] == b'\r' && b.get(i + 1) == Some(&b'\n'))
                {
                    b[i] = b' ';
                    i += 1;
                }
            }
            b'\n' | b'\r' if !outer.is_empty() => {
                b[i] = b' ';
                i += 1;
            }
            b'\n' => {
                nots = 0;
                i += 1;
            }
            b'(' | b'[' => {
                outer.push(depth);
                depth += nots + 1;
                nots = 0;
                if depth > MAX_NESTING {
                    return Err(too_deep(i, i + 1));
                }
                i += 1;
            }
            b')' | b']' => {
                depth = outer.pop().unwrap_or(0);
                nots = 0;
                i += 1;
            }
            c if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'@' | b'$' | b'-') => {
                let start = i;
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'@' | b'$' | b'-'))
                {
                    i += 1;
                }
                if i < b.len() && b[i] == b'"' && &b[start..i] == b"r" {
                    i = skip_quoted(&b, i + 1, b'"', false).0;
                    continue;
                }
                match &b[start..i] {
                    b"not" => {
                        nots += 1;
                        if depth + nots > MAX_NESTING {
                            return Err(too_deep(start, i));
                        }
                    }
                    b"and" | b"or" => nots = 0,
                    _ => {}
                }
            }
            _ => i += 1,
        }
    }
    // Only ASCII bytes were replaced, and only whole characters: still UTF-8.
    Ok(String::from_utf8(b).expect("blanking keeps UTF-8"))
}

/// Index just past the closing `quote`, and whether there was one before the end of the line.
fn skip_quoted(b: &[u8], mut i: usize, quote: u8, escapes: bool) -> (usize, bool) {
    while i < b.len() && b[i] != b'\n' {
        if escapes && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == quote {
            if quote == b'`' && b.get(i + 1) == Some(&b'`') {
                i += 2;
                continue;
            }
            return (i + 1, true);
        }
        i += 1;
    }
    (i.min(b.len()), false)
}

/// Words for what the parser expected, instead of grammar rule names.
fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::expr | Rule::condition | Rule::predicate | Rule::group | Rule::quantifier => {
            "a condition such as `field eq \"value\"`"
        }
        Rule::path | Rule::ident | Rule::quoted_ident | Rule::elem_ref | Rule::path_only => {
            "a field path"
        }
        Rule::op | Rule::op_name => "an operator such as `eq`, `in`, `contains`, `is_null`",
        Rule::ci_flag => return None,
        Rule::list
        | Rule::string
        | Rule::raw_string
        | Rule::number
        | Rule::boolean
        | Rule::null_lit
        | Rule::str_inner
        | Rule::str_escape
        | Rule::raw_inner
        | Rule::field_ref
        | Rule::field_open => "a value (a string, a number, `true`, `false` or a `[...]` list)",
        Rule::and_op => "`and`",
        Rule::or_op => "`or`",
        Rule::not_op => "`not`",
        Rule::quant_kw => "`any` or `all`",
        Rule::index | Rule::any_index => "`[`",
        Rule::field_close => "`)` to close `field(`",
        Rule::EOI => "the end of the line",
        _ => return None,
    })
}

fn join_alternatives(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} or {}", rest.join(", "), last),
    }
}

/// What the text at `pos` looks like, for "found ..." in a message.
fn found_at(text: &str, pos: usize) -> String {
    let rest = &text[pos.min(text.len())..];
    let rest = rest.trim_start_matches([' ', '\t']);
    if rest.is_empty() {
        return "the end of the condition".into();
    }
    if rest.starts_with('\n') || rest.starts_with("\r\n") {
        return "the end of the line".into();
    }
    let token: String = if rest.starts_with(|c: char| c.is_alphanumeric() || "_@$-.".contains(c)) {
        rest.chars()
            .take_while(|c| c.is_alphanumeric() || "_@$-.~".contains(*c))
            .take(40)
            .collect()
    } else {
        rest.chars().take(1).collect()
    };
    format!("`{token}`")
}

fn syntax_error(text: &str, err: pest::error::Error<Rule>) -> Diagnostic {
    let pos = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let pos = pos.min(text.len());
    let end = (pos + text[pos..].chars().next().map_or(0, char::len_utf8)).min(text.len());
    let here = &text[pos..];

    // Common mistakes first, in the author's terms.
    if let Some(d) = unterminated_string(text, pos) {
        return d;
    }
    if here.starts_with('\'') {
        return Diagnostic::error("E0201", "strings are written in double quotes", pos..end)
            .with_label("single quote")
            .with_help("write \"value\" (or r\"...\" for a raw string such as a regex)");
    }
    if here.starts_with("&&") || here.starts_with("||") {
        return Diagnostic::error("E0201", "unknown operator", pos..pos + 2)
            .with_label("not an operator")
            .with_help("use `and` / `or`");
    }
    if here.starts_with('!') && !here.starts_with("!=") {
        return Diagnostic::error("E0201", "unknown operator `!`", pos..end)
            .with_help("use `not` to negate a condition");
    }

    let mut expected: Vec<&str> = Vec::new();
    if let ErrorVariant::ParsingError { positives, .. } = &err.variant {
        for r in positives {
            if let Some(d) = describe(*r)
                && !expected.contains(&d)
            {
                expected.push(d);
            }
        }
    } else if let ErrorVariant::CustomError { message } = &err.variant {
        return Diagnostic::error(
            "E0201",
            format!("cannot parse the condition: {message}"),
            pos..end,
        );
    }
    // Where an operand may start, `not`, `any`/`all`, `(` and a path are all "a condition".
    if expected.iter().any(|e| e.starts_with("a condition")) {
        expected.retain(|e| !matches!(*e, "`not`" | "`any` or `all`" | "a field path"));
    }
    // After a complete predicate, pest offers the continuations; say them in one phrase.
    if expected.contains(&"`and`") && expected.contains(&"`or`") {
        expected.retain(|e| *e != "`and`" && *e != "`or`" && *e != "the end of the line");
        expected.insert(0, "`and`, `or` or the end of the line");
    }
    let message = if expected.is_empty() {
        format!("unexpected {}", found_at(text, pos))
    } else {
        format!(
            "expected {}, found {}",
            join_alternatives(&expected),
            found_at(text, pos)
        )
    };
    // Underline the whole word the parser stopped at, not just its first character.
    let word_end = pos
        + here
            .find(|c: char| !(c.is_alphanumeric() || "_@$-~".contains(c)))
            .unwrap_or(here.len());
    let end = if word_end > pos {
        word_end
    } else if here.starts_with('"') {
        pos + skip_quoted(here.as_bytes(), 1, b'"', true).0
    } else {
        end
    };
    let mut d = Diagnostic::error("E0201", message, pos..end);
    if here.trim_start().starts_with(|c: char| c.is_alphabetic())
        && expected.iter().any(|e| e.starts_with("an operator"))
    {
        let word: String = here
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let ops = [
            "eq",
            "ne",
            "in",
            "not_in",
            "contains",
            "not_contains",
            "starts_with",
            "not_starts_with",
            "ends_with",
            "not_ends_with",
            "matches",
            "not_matches",
            "gt",
            "ge",
            "lt",
            "le",
            "is_null",
            "is_not_null",
            "is_empty",
            "is_not_empty",
            "in_cidr",
            "not_in_cidr",
        ];
        if let Some(s) = crate::diag::closest(&word, ops) {
            d = d.with_help(format!("did you mean `{s}`?"));
        } else if matches!(word.as_str(), "AND" | "OR" | "NOT" | "And" | "Or" | "Not") {
            d = d.with_help("keywords are lower case: `and`, `or`, `not`");
        }
    }
    // A bare name where a value goes: most likely another field meant as the value.
    if expected.iter().any(|e| e.starts_with("a value"))
        && here.starts_with(|c: char| c.is_ascii_alphabetic() || "_@$`".contains(c))
    {
        d = d.with_help("to compare with another field's value, write `field(PATH)`");
    }
    d
}

/// An opening `"` with no closing one before the end of its line.
fn unterminated_string(text: &str, pos: usize) -> Option<Diagnostic> {
    let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
    let line = &text[line_start..line_end];
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'#' => return None,
            b'`' => {
                let (end, closed) = skip_quoted(b, i + 1, b'`', false);
                if !closed {
                    let start = line_start + i;
                    return Some(
                        Diagnostic::error(
                            "E0202",
                            "unterminated backtick segment",
                            start..line_start + b.len(),
                        )
                        .with_label("this segment has no closing backtick on its line")
                        .with_help(
                            "close the field name with `; a backtick inside it is doubled: ``",
                        ),
                    );
                }
                i = end;
            }
            b'"' => {
                let raw = i > 0 && b[i - 1] == b'r';
                let (end, closed) = skip_quoted(b, i + 1, b'"', !raw);
                if !closed {
                    let start = line_start + i - usize::from(raw);
                    return Some(
                        Diagnostic::error(
                            "E0202",
                            "unterminated string",
                            start..line_start + b.len(),
                        )
                        .with_label("this string has no closing `\"` on its line")
                        .with_help("close the string; a newline inside a string is written \\n"),
                    );
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    None
}
