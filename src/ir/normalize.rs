//! Canonical form: `not` pushed down to the leaves (De Morgan; `not any` = `all not`), nested
//! `and`/`or` of the same kind flattened. The result has no `Node::Not`.

use super::Node;

pub fn normalize(node: Node) -> Node {
    push(node, false)
}

fn push(node: Node, negate: bool) -> Node {
    match node {
        Node::Not(inner) => push(*inner, !negate),
        Node::And(items) => combine(items, negate, !negate),
        Node::Or(items) => combine(items, negate, negate),
        Node::Leaf(mut leaf) => {
            leaf.negated ^= negate;
            Node::Leaf(leaf)
        }
        Node::Any { path, body } => {
            let body = Box::new(push(*body, negate));
            if negate {
                Node::All { path, body }
            } else {
                Node::Any { path, body }
            }
        }
        Node::All { path, body } => {
            let body = Box::new(push(*body, negate));
            if negate {
                Node::Any { path, body }
            } else {
                Node::All { path, body }
            }
        }
    }
}

/// Pushes `negate` into each item and joins them with `and` (when `as_and`) or `or`,
/// splicing in children of the same kind.
fn combine(items: Vec<Node>, negate: bool, as_and: bool) -> Node {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match (push(item, negate), as_and) {
            (Node::And(inner), true) | (Node::Or(inner), false) => out.extend(inner),
            (other, _) => out.push(other),
        }
    }
    if out.len() == 1 {
        return out.pop().expect("one item");
    }
    // Splicing grows `out` past its items; a loaded rule keeps the tree, so no spare room.
    out.shrink_to_fit();
    if as_and {
        Node::And(out)
    } else {
        Node::Or(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::ir::lower::lower_condition;
    use crate::syntax::parser::parse;

    fn ir(text: &str) -> String {
        let ast = parse(text).expect("parses");
        super::normalize(lower_condition(&ast).expect("lowers")).pretty()
    }

    #[test]
    fn de_morgan_and_flattening() {
        assert_eq!(
            ir("not (a eq 1 or (b eq 2 or c eq 3))"),
            "and\n  not a eq 1  [true when missing]\n  not b eq 2  [true when missing]\n  not c eq 3  [true when missing]\n"
        );
        assert_eq!(
            ir("not (a eq 1 and not b is_null)"),
            "or\n  not a eq 1  [true when missing]\n  b is_null  [true when missing]\n"
        );
    }

    #[test]
    fn negated_quantifiers_swap() {
        assert_eq!(
            ir("not any xs (@ eq 1)"),
            "all xs\n  not @ eq 1  [true when missing]\n"
        );
        assert_eq!(
            ir("not all xs (@ gt 1)"),
            "any xs\n  not @ gt 1  [true when missing]\n"
        );
        assert_eq!(
            ir("not (xs[*] eq 1)"),
            "all xs\n  not @ eq 1  [true when missing]\n"
        );
    }

    #[test]
    fn double_negation_cancels() {
        assert_eq!(ir("not not a ne 1"), "not a eq 1  [true when missing]\n");
    }
}
