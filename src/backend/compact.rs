//! Shorter, equivalent conditions, for a target whose queries have a length limit (a Sentinel
//! analytics rule takes at most 10,000 characters of KQL). Sigma rules in particular test one
//! field against long lists (`CommandLine|contains: [...]`, `DestinationIp|cidr: [...]`), which
//! become one leaf per value. [`merge_lists`] rewrites the normalised IR so that:
//!
//! - the `in_cidr` leaves of one `or` on the same path are one `in_cidr` with all the ranges
//!   (and the negated ones of one `and`: `not a and not b` is `not (a or b)`);
//! - the `contains`/`starts_with`/`ends_with` leaves of one `or` on the same path and with the
//!   same case rule are one `matches` with a regex that matches exactly the same strings
//!   (negated ones of one `and` likewise).
//!
//! Both are exact (SPEC §3.4, §3.7): the unit tests check the rewritten condition against the
//! original on the reference evaluator. The `~` forms fold with SPEC's simple lower-casing, not
//! with the regex's own `(?i)` (which is Unicode simple case *folding*, and differs on a few
//! characters such as `ſ`, `İ`): a character whose SPEC class differs from its `(?i)` class is
//! written as an explicit class with `(?i)` off.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use regex_syntax::hir::{ClassUnicode, ClassUnicodeRange};

use crate::ir::eval::simple_lowercase;
use crate::ir::{Cidr, FieldPath, Leaf, Node, Pattern, Test};

/// `node` with the lists of each `or` (and the negated lists of each `and`) merged; see the
/// module comment.
pub fn merge_lists(node: &Node) -> Node {
    match node {
        Node::And(items) => Node::And(merge(flat(items, true), true)),
        Node::Or(items) => Node::Or(merge(flat(items, false), false)),
        Node::Not(inner) => Node::Not(Box::new(merge_lists(inner))),
        Node::Leaf(_) => node.clone(),
        Node::Any { path, body } => Node::Any {
            path: path.clone(),
            body: Box::new(merge_lists(body)),
        },
        Node::All { path, body } => Node::All {
            path: path.clone(),
            body: Box::new(merge_lists(body)),
        },
    }
}

/// The items merged, with nested junctions of the same kind spliced in (`a and (b and c)` is
/// `a and b and c`), so that leaves written in different selections meet.
fn flat(items: &[Node], and: bool) -> Vec<Node> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match merge_lists(item) {
            Node::And(inner) if and => out.extend(inner),
            Node::Or(inner) if !and => out.extend(inner),
            other => out.push(other),
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Group {
    Cidr,
    /// String tests; `true`: case-insensitive.
    Str(bool),
}

/// The group a leaf can be merged in: positive leaves under `or`, negated ones under `and`.
fn group_of(node: &Node, and: bool) -> Option<(&FieldPath, Group)> {
    let Node::Leaf(l) = node else { return None };
    if l.negated != and {
        return None;
    }
    let g = match &l.test {
        Test::InCidr(_) => Group::Cidr,
        Test::Contains(s) | Test::StartsWith(s) | Test::EndsWith(s) => {
            // Every character must have a spelling (see `char_regex`).
            let folded = if l.case_insensitive {
                simple_lowercase(s)
            } else {
                s.clone()
            };
            if l.case_insensitive && folded.chars().any(|c| char_regex(c).is_none()) {
                return None;
            }
            Group::Str(l.case_insensitive)
        }
        _ => return None,
    };
    Some((&l.path, g))
}

fn merge(items: Vec<Node>, and: bool) -> Vec<Node> {
    let keys: Vec<Option<(FieldPath, Group)>> = items
        .iter()
        .map(|n| group_of(n, and).map(|(p, g)| (p.clone(), g)))
        .collect();
    let mut done = vec![false; items.len()];
    let mut out = Vec::with_capacity(items.len());
    for i in 0..items.len() {
        if done[i] {
            continue;
        }
        let members: Vec<usize> = match &keys[i] {
            Some(k) => (i..items.len())
                .filter(|&j| keys[j].as_ref() == Some(k))
                .collect(),
            None => vec![i],
        };
        if members.len() < 2 {
            out.push(items[i].clone());
            continue;
        }
        let leaves: Vec<&Leaf> = members
            .iter()
            .map(|&j| match &items[j] {
                Node::Leaf(l) => l,
                _ => unreachable!("only leaves have a group"),
            })
            .collect();
        for &j in &members {
            done[j] = true;
        }
        let first = leaves[0];
        let test = match keys[i].as_ref().expect("a group").1 {
            Group::Cidr => {
                let mut ranges: Vec<Cidr> = Vec::new();
                for l in &leaves {
                    if let Test::InCidr(rs) = &l.test {
                        for r in rs {
                            if !ranges
                                .iter()
                                .any(|x| x.addr == r.addr && x.prefix == r.prefix)
                            {
                                ranges.push(r.clone());
                            }
                        }
                    }
                }
                Test::InCidr(ranges)
            }
            Group::Str(ci) => Test::Matches(Pattern {
                source: list_regex(&leaves, ci),
                regex: OnceLock::new(),
            }),
        };
        out.push(Node::Leaf(Leaf {
            path: first.path.clone(),
            test,
            case_insensitive: false,
            negated: first.negated,
            span: first.span,
        }));
    }
    out
}

/// One regex for the string tests of `leaves` (contains / starts_with / ends_with, one case
/// rule): the alternation of the needles of each operator, anchored as the operator asks, with
/// common prefixes (or suffixes) factored out (`\\(?:a|b)\.dll$` for two `ends_with`).
fn list_regex(leaves: &[&Leaf], ci: bool) -> String {
    let mut contains: Vec<Vec<String>> = Vec::new();
    let mut starts: Vec<Vec<String>> = Vec::new();
    let mut ends: Vec<Vec<String>> = Vec::new();
    for l in leaves {
        let (s, list) = match &l.test {
            Test::Contains(s) => (s, &mut contains),
            Test::StartsWith(s) => (s, &mut starts),
            Test::EndsWith(s) => (s, &mut ends),
            _ => unreachable!("only string tests are grouped"),
        };
        let atoms: Vec<String> = if ci {
            simple_lowercase(s)
                .chars()
                .map(|c| char_regex(c).expect("checked when grouping"))
                .collect()
        } else {
            s.chars()
                .map(|c| {
                    let mut a = String::new();
                    push_literal(&mut a, c);
                    a
                })
                .collect()
        };
        list.push(atoms);
    }
    let mut alts = Vec::new();
    if !contains.is_empty() {
        let (p, q) = (factor(&contains, false), factor(&contains, true));
        alts.push(if q.len() < p.len() { q } else { p });
    }
    if !starts.is_empty() {
        alts.push(format!("^{}", factor(&starts, false)));
    }
    if !ends.is_empty() {
        alts.push(format!("{}$", factor(&ends, true)));
    }
    let body = if alts.len() == 1 {
        alts.pop().expect("one")
    } else {
        format!("(?:{})", alts.join("|"))
    };
    format!("{}{body}", if ci { "(?i)" } else { "" })
}

/// A trie of needles (sequences of spelled characters), for factoring.
#[derive(Default)]
struct Trie {
    end: bool,
    children: std::collections::BTreeMap<String, Trie>,
}

/// The needles as one regex group with their common prefixes factored out, or their common
/// suffixes with `suffixes`.
fn factor(needles: &[Vec<String>], suffixes: bool) -> String {
    let mut root = Trie::default();
    for n in needles {
        let mut node = &mut root;
        let atoms: Box<dyn Iterator<Item = &String>> = if suffixes {
            Box::new(n.iter().rev())
        } else {
            Box::new(n.iter())
        };
        for a in atoms {
            node = node.children.entry(a.clone()).or_default();
        }
        node.end = true;
    }
    write_trie(&root, suffixes)
}

/// A trie node as a regex: each child's atom and subtree (the subtree before the atom when the
/// trie holds reversed needles), as an alternation; a node where a needle ends as well as
/// continues is optional.
fn write_trie(node: &Trie, reversed: bool) -> String {
    let alts: Vec<String> = node
        .children
        .iter()
        .map(|(atom, child)| {
            let rest = write_trie(child, reversed);
            if reversed {
                format!("{rest}{atom}")
            } else {
                format!("{atom}{rest}")
            }
        })
        .collect();
    match (alts.len(), node.end) {
        (0, _) => String::new(),
        // An atom is one character's spelling: `x`, `\.`, `[iİ]`, `(?-i:[Ss])`, each a single
        // regex item, so `?` applies to all of it.
        (1, true) if node.children.values().all(|c| c.children.is_empty()) => {
            format!("{}?", alts[0])
        }
        (1, false) => alts.into_iter().next().expect("one"),
        (_, end) => format!("(?:{}){}", alts.join("|"), if end { "?" } else { "" }),
    }
}

/// A regex-syntax metacharacter is escaped; every other character is itself.
fn push_literal(out: &mut String, c: char) {
    if "\\.+*?()|[]{}^$".contains(c) {
        out.push('\\');
    }
    out.push(c);
}

/// Under `(?i)`, the spelling of a lower-cased character `c` that matches exactly the
/// characters whose simple lower case is `c` (SPEC §3.4); `None` if no character lower-cases
/// to `c` itself (it cannot occur in a lower-cased field value).
fn char_regex(c: char) -> Option<String> {
    let spec = preimage(c);
    if !spec.contains(&c) {
        return None;
    }
    let orbit = |x: char| -> BTreeSet<char> {
        let mut class = ClassUnicode::new([ClassUnicodeRange::new(x, x)]);
        class.case_fold_simple();
        class
            .iter()
            .flat_map(|r| r.start()..=r.end())
            .collect::<BTreeSet<char>>()
    };
    let mut s = String::new();
    if orbit(c) == spec {
        push_literal(&mut s, c);
        return Some(s);
    }
    let union: BTreeSet<char> = spec.iter().flat_map(|&x| orbit(x)).collect();
    if union != spec {
        let class: String = spec.iter().collect();
        return Some(format!("(?-i:[{class}])"));
    }
    // The fewest characters whose `(?i)` classes cover the SPEC class, `c` first.
    let mut covered = orbit(c);
    let mut class = String::from(c);
    for &x in &spec {
        if !covered.contains(&x) {
            covered.extend(orbit(x));
            class.push(x);
        }
    }
    Some(format!("[{class}]"))
}

/// Every character whose simple lower case is `c` (SPEC's `simple_lowercase`).
fn preimage(c: char) -> BTreeSet<char> {
    static INVERSE: OnceLock<std::collections::HashMap<char, BTreeSet<char>>> = OnceLock::new();
    let inverse = INVERSE.get_or_init(|| {
        let mut m: std::collections::HashMap<char, BTreeSet<char>> = Default::default();
        for x in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let lower = x.to_lowercase().next().unwrap_or(x);
            if lower != x {
                m.entry(lower).or_default().insert(x);
            }
        }
        m
    });
    let mut set = inverse.get(&c).cloned().unwrap_or_default();
    if c.to_lowercase().next() == Some(c) {
        set.insert(c);
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::eval::eval;
    use serde_json::json;

    fn leaf(path: &str, test: Test, ci: bool, negated: bool) -> Node {
        Node::Leaf(Leaf {
            path: FieldPath(vec![crate::ir::Step::Key(path.into())]),
            test,
            case_insensitive: ci,
            negated,
            span: Default::default(),
        })
    }

    #[test]
    fn characters_fold_as_spec_does() {
        assert_eq!(char_regex('a').as_deref(), Some("a"));
        assert_eq!(char_regex('k').as_deref(), Some("k"));
        // `İ` lower-cases to `i`, but `(?i)i` does not match it.
        assert_eq!(char_regex('i').as_deref(), Some("[iİ]"));
        // `(?i)s` matches `ſ`, whose lower case is itself.
        assert_eq!(char_regex('s').as_deref(), Some("(?-i:[Ss])"));
        assert_eq!(char_regex('.').as_deref(), Some("\\."));
        assert_eq!(char_regex('😀').as_deref(), Some("😀"));
    }

    /// The merged condition gives the reference evaluator's verdict of the original on values
    /// chosen to hit every fold and anchor.
    #[test]
    fn merged_lists_agree_with_the_original() {
        let needles = [
            "abc", "Sys", "İx", "K1", "a.c", "σ", "😀", "ſ", "x*y", "ẞ", "ab", "abd", "xbc", "bc",
            "abcd", "c", "ss", "abc", "yab", "ab",
        ];
        let values = [
            "abc", "ABC", "xabcx", "SYStem", "ſys", "İx", "ix", "Ix", "ıx", "K1", "k1", "K1",
            "abc.c", "a.c", "aXc", "Σ", "ς", "σx", "😀", "s", "ſ", "S", "x*y", "xxy", "ß", "ẞ",
            "ss", "", "zz", "ab", "abd", "xab", "abx", "yabz", "xbc", "bc", "c", "abcd", "ABD",
            "Sſ", "yAB",
        ];
        for ci in [false, true] {
            for negated in [false, true] {
                let mut items = Vec::new();
                for (i, n) in needles.iter().enumerate() {
                    let t = match i % 3 {
                        0 => Test::Contains(n.to_string()),
                        1 => Test::StartsWith(n.to_string()),
                        _ => Test::EndsWith(n.to_string()),
                    };
                    items.push(leaf("f", t, ci, negated));
                }
                items.push(leaf("g", Test::Contains("q".into()), ci, negated));
                let node = if negated {
                    Node::And(items)
                } else {
                    Node::Or(items)
                };
                let merged = merge_lists(&node);
                let n_items = match &merged {
                    Node::And(v) | Node::Or(v) => v.len(),
                    _ => 0,
                };
                assert_eq!(n_items, 2, "{merged:?}");
                for v in values {
                    for g in ["q", "Q", "x"] {
                        for ev in [json!({"f": v, "g": g}), json!({"g": g}), json!({"f": 5})] {
                            assert_eq!(
                                eval(&merged, &ev),
                                eval(&node, &ev),
                                "ci {ci} negated {negated} on {ev}: {merged:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn cidr_leaves_of_one_field_merge() {
        let r = |s: &str| Cidr::parse(s).unwrap();
        let node = Node::And(vec![
            leaf("ip", Test::InCidr(vec![r("10.0.0.0/8")]), false, true),
            leaf(
                "ip",
                Test::InCidr(vec![r("::1/128"), r("10.0.0.0/8")]),
                false,
                true,
            ),
            leaf("ip", Test::Contains("1".into()), false, true),
            leaf("other", Test::InCidr(vec![r("10.0.0.0/8")]), false, true),
        ]);
        let merged = merge_lists(&node);
        let Node::And(items) = &merged else {
            panic!("{merged:?}")
        };
        assert_eq!(items.len(), 3);
        assert!(
            matches!(&items[0], Node::Leaf(Leaf { test: Test::InCidr(rs), negated: true, .. }) if rs.len() == 2)
        );
        for ip in ["10.1.1.1", "::1", "11.0.0.1", "0::1", "x"] {
            for ev in [json!({"ip": ip, "other": "1.1.1.1"}), json!({"ip": ip})] {
                assert_eq!(eval(&merged, &ev), eval(&node, &ev), "{ev}");
            }
        }
        // Positive leaves under `and` are not merged (that would be `or`).
        let node = Node::And(vec![
            leaf("ip", Test::InCidr(vec![r("10.0.0.0/8")]), false, false),
            leaf("ip", Test::InCidr(vec![r("11.0.0.0/8")]), false, false),
        ]);
        assert_eq!(merge_lists(&node), node);
    }
}
