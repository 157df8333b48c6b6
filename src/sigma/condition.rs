//! A Sigma `condition` expression -> a small AST with byte spans in the condition text.

use std::sync::LazyLock;

use pest::Parser as _;
use pest::error::InputLocation;
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};

use crate::diag::Diagnostic;

#[derive(pest_derive::Parser)]
#[grammar = "src/sigma/condition.pest"]
struct SigmaConditionParser;

/// Byte range in the condition text.
pub type Span = std::ops::Range<usize>;

#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
    /// A selection by name.
    Name(String, Span),
    /// `1 of X` (`all: false`) or `all of X`; `pattern` is `None` for `them`.
    Of {
        all: bool,
        pattern: Option<String>,
        span: Span,
    },
}

/// Deepest nesting of parentheses and `not`.
const MAX_NESTING: usize = 32;

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::or_op, Assoc::Left))
        .op(Op::infix(Rule::and_op, Assoc::Left))
        .op(Op::prefix(Rule::not_op))
});

/// Parses a condition; errors carry spans in `text` and code E0602 (syntax) or E0605
/// (aggregations and `near`, which Sigma 2 moved to correlation rules).
pub fn parse(text: &str) -> Result<Cond, Diagnostic> {
    if let Some(at) = text.find('|') {
        return Err(Diagnostic::error(
            "E0605",
            "aggregation expressions (`| count() ...`) are not supported",
            at..text.len(),
        )
        .with_label("aggregation")
        .with_help("Sigma 2 expresses counting as a correlation rule, which ruleqc does not compile; keep the search part only"));
    }
    if let Some(at) = find_word(text, "near") {
        return Err(Diagnostic::error(
            "E0605",
            "`near` is not supported",
            at..at + 4,
        )
        .with_label("temporal proximity")
        .with_help("`near` needs events correlated in time; ruleqc compiles single-event conditions"));
    }
    let depth = text.chars().filter(|c| *c == '(').count();
    if depth > MAX_NESTING * 4 {
        return Err(Diagnostic::error(
            "E0602",
            "the condition is nested too deeply",
            0..text.len(),
        ));
    }
    let mut pairs = SigmaConditionParser::parse(Rule::condition, text).map_err(|e| {
        let at = match e.location {
            InputLocation::Pos(p) => p,
            InputLocation::Span((s, _)) => s,
        };
        let found = text[at..]
            .split_whitespace()
            .next()
            .map_or("the end of the condition".to_string(), |w| format!("`{w}`"));
        let end = (at + text[at..].chars().next().map_or(0, char::len_utf8)).min(text.len());
        Diagnostic::error(
            "E0602",
            format!("invalid Sigma condition: unexpected {found}"),
            at..end,
        )
        .with_label("here")
        .with_help("a condition combines selection names with `and`, `or`, `not`, `( )`, `1 of NAME*`, `all of NAME*`, `1 of them` and `all of them`")
    })?;
    let condition = pairs.next().expect("condition rule");
    let expr = condition
        .into_inner()
        .find(|p| p.as_rule() == Rule::expr)
        .expect("an expression");
    let c = build(expr.into_inner())?;
    if nesting(&c) > MAX_NESTING {
        return Err(Diagnostic::error(
            "E0602",
            format!("the condition nests deeper than {MAX_NESTING} levels"),
            0..text.len(),
        ));
    }
    Ok(c)
}

fn find_word(text: &str, word: &str) -> Option<usize> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.';
    text.match_indices(word)
        .map(|(i, _)| i)
        .find(|&i| !text[..i].ends_with(is_name) && !text[i + word.len()..].starts_with(is_name))
}

fn nesting(c: &Cond) -> usize {
    match c {
        Cond::And(a, b) | Cond::Or(a, b) => nesting(a).max(nesting(b)),
        Cond::Not(a) => 1 + nesting(a),
        _ => 0,
    }
}

fn build(pairs: Pairs<'_, Rule>) -> Result<Cond, Diagnostic> {
    PRATT
        .map_primary(primary)
        .map_prefix(|_, rhs| Ok(Cond::Not(Box::new(rhs?))))
        .map_infix(|lhs, op, rhs| {
            let (l, r) = (Box::new(lhs?), Box::new(rhs?));
            Ok(match op.as_rule() {
                Rule::and_op => Cond::And(l, r),
                _ => Cond::Or(l, r),
            })
        })
        .parse(pairs)
}

fn primary(pair: Pair<'_, Rule>) -> Result<Cond, Diagnostic> {
    let span = pair.as_span().start()..pair.as_span().end();
    match pair.as_rule() {
        Rule::group => {
            let inner = pair.into_inner().next().expect("group expr");
            build(inner.into_inner())
        }
        Rule::name => Ok(Cond::Name(pair.as_str().to_string(), span)),
        Rule::quantified => {
            let mut inner = pair.into_inner().filter(|p| p.as_rule() != Rule::of_kw);
            let quantity = inner.next().expect("quantity");
            let target = inner.next().expect("them or pattern");
            Ok(Cond::Of {
                all: quantity.as_str() == "all",
                pattern: (target.as_rule() == Rule::pattern).then(|| target.as_str().to_string()),
                span,
            })
        }
        r => unreachable!("primary {r:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(c: &Cond) -> String {
        match c {
            Cond::And(a, b) => format!("({} and {})", show(a), show(b)),
            Cond::Or(a, b) => format!("({} or {})", show(a), show(b)),
            Cond::Not(a) => format!("not {}", show(a)),
            Cond::Name(n, _) => n.clone(),
            Cond::Of { all, pattern, .. } => format!(
                "{} of {}",
                if *all { "all" } else { "1" },
                pattern.as_deref().unwrap_or("them")
            ),
        }
    }

    #[test]
    fn precedence_and_quantifiers() {
        for (text, want) in [
            ("a or b and not c", "(a or (b and not c))"),
            ("(a or b) and c", "((a or b) and c)"),
            (
                "selection and not 1 of filter_*",
                "(selection and not 1 of filter_*)",
            ),
            ("all of them", "all of them"),
            ("any of sel*", "1 of sel*"),
            ("1 of them and not filter", "(1 of them and not filter)"),
            ("not not a", "not not a"),
            ("sel-1 or sel.2", "(sel-1 or sel.2)"),
            ("order or notes", "(order or notes)"),
        ] {
            assert_eq!(show(&parse(text).unwrap()), want, "{text}");
        }
    }

    #[test]
    fn errors_have_positions() {
        let e = parse("selection and").unwrap_err();
        assert_eq!((e.code, e.span), ("E0602", Some(13..13)));
        let e = parse("selection | count() by host > 5").unwrap_err();
        assert_eq!((e.code, e.span.map(|s| s.start)), ("E0605", Some(10)));
        let e = parse("a near b").unwrap_err();
        assert_eq!((e.code, e.span), ("E0605", Some(2..6)));
        assert!(parse("nearby or a").is_ok());
        assert_eq!(parse("a or ) b").unwrap_err().span, Some(5..6));
        let deep = format!("{}a{}", "(".repeat(200), ")".repeat(200));
        assert_eq!(parse(&deep).unwrap_err().code, "E0602");
    }
}
