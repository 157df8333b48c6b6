//! Printing the intermediate forms (`ruleqc explain`).

use std::fmt::Write as _;

use crate::syntax::ast::{Expr, ExprKind, LiteralKind, Quantifier};

/// The AST as an indented tree, one node per line, with each node's byte span in the condition.
pub fn ast_tree(expr: &Expr) -> String {
    let mut out = String::new();
    write_ast(expr, 0, &mut out);
    out
}

fn write_ast(expr: &Expr, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    let at = format!("@{}..{}", expr.span.start, expr.span.end);
    match &expr.kind {
        ExprKind::And(items) | ExprKind::Or(items) => {
            let name = if matches!(expr.kind, ExprKind::And(_)) {
                "And"
            } else {
                "Or"
            };
            let _ = writeln!(out, "{pad}{name} {at}");
            for item in items {
                write_ast(item, depth + 1, out);
            }
        }
        ExprKind::Not(inner) => {
            let _ = writeln!(out, "{pad}Not {at}");
            write_ast(inner, depth + 1, out);
        }
        ExprKind::Group(inner) => {
            let _ = writeln!(out, "{pad}Group {at}");
            write_ast(inner, depth + 1, out);
        }
        ExprKind::Quantifier { kind, path, body } => {
            let name = match kind {
                Quantifier::Any => "Any",
                Quantifier::All => "All",
            };
            let _ = writeln!(out, "{pad}{name} {} {at}", path.display());
            write_ast(body, depth + 1, out);
        }
        ExprKind::Predicate(p) => {
            let ci = if p.case_insensitive { "~" } else { "" };
            let value = p
                .value
                .as_ref()
                .map_or(String::new(), |v| format!(" {}", literal(&v.kind)));
            let _ = writeln!(
                out,
                "{pad}Predicate {} {}{ci}{value} {at}",
                p.path.display(),
                p.op
            );
        }
    }
}

fn literal(kind: &LiteralKind) -> String {
    match kind {
        LiteralKind::String { value, raw } => {
            let q = serde_json::to_string(value).expect("strings serialise");
            if *raw { format!("raw{q}") } else { q }
        }
        LiteralKind::Number(n) => format!("number({n})"),
        LiteralKind::Bool(b) => b.to_string(),
        LiteralKind::Null => "null".into(),
        LiteralKind::List(items) => {
            let items: Vec<String> = items.iter().map(|i| literal(&i.kind)).collect();
            format!("[{}]", items.join(", "))
        }
        LiteralKind::Field(path) => format!("field({})", path.display()),
    }
}
