//! Diagnostics about a rule set against its resolved schemas: test events that contradict a
//! profile's column types (E0406, errors) and condition fields the log type's schema does not
//! have (W0601, warnings).

use std::ops::Range;

use super::{Profile, SchemaConflict, rename_rule};
use crate::backend::schema::{SchemaSet, describe};
use crate::diag::{Diagnostic, Severity, closest};
use crate::ir::{Node, Step};
use crate::rule::Rule;
use crate::rule::yaml::{self, Kind};

/// One rule file as the schema checks see it.
pub struct RuleFile<'a> {
    pub rule: &'a Rule,
    /// The file's text, to point into a test's `Log`.
    pub text: &'a str,
}

/// Resolves `profile`'s schemas over `rules` (`Profile::resolve_schemas`) and returns, per
/// rule (by index), its schema diagnostics: E0406 errors, then W0601 warnings.
pub fn schema_diagnostics(
    profile: &mut Profile,
    rules: &[RuleFile<'_>],
) -> Vec<(usize, Diagnostic)> {
    let only: Vec<&Rule> = rules.iter().map(|r| r.rule).collect();
    let conflicts = profile.resolve_schemas(&only);
    let mut out: Vec<(usize, Diagnostic)> = conflicts
        .iter()
        .map(|c| {
            let f = &rules[c.contradiction.rule];
            (
                c.contradiction.rule,
                contradiction(f.rule, f.text, c, &profile.name),
            )
        })
        .collect();
    if let Some(unknown) = UnknownFields::new(profile) {
        // Per rule on all cores, in rule order.
        let found = crate::par::map(rules.iter().collect(), |f| unknown.of(f.rule));
        for (i, ds) in found.into_iter().enumerate() {
            out.extend(ds.into_iter().map(|d| (i, d)));
        }
    }
    out
}

/// The W0601 check against a profile's resolved schemas (`schema_diagnostics` runs it over a
/// whole set; the command line runs it a window of rules at a time, so that the warnings of
/// a large set are not all held at once).
pub struct UnknownFields<'p> {
    set: &'p SchemaSet,
    renames: &'p [(crate::ir::FieldPath, String)],
    /// Each log type's known columns, once for the set (sorted: the schema's columns are).
    known: std::collections::HashMap<&'p str, Vec<&'p str>>,
}

impl<'p> UnknownFields<'p> {
    /// `None` until the profile's SQL schemas are resolved.
    pub fn new(profile: &'p Profile) -> Option<Self> {
        let sql = profile.sql.as_ref()?;
        let set = sql.resolved.as_deref()?;
        let known = set
            .log_types
            .iter()
            .map(|(lt, s)| (lt.as_str(), s.known().collect()))
            .collect();
        Some(UnknownFields {
            set,
            renames: &sql.renames,
            known,
        })
    }

    /// The rule's W0601 warnings, in order.
    pub fn of(&self, rule: &Rule) -> Vec<Diagnostic> {
        unknown_fields(
            rule,
            &rename_rule(rule, self.renames),
            self.set,
            &self.known,
        )
    }
}

/// E0406: a test event's value that the profile's column type cannot hold; `text` is the
/// rule file's.
pub fn contradiction(rule: &Rule, text: &str, c: &SchemaConflict, profile: &str) -> Diagnostic {
    let k = &c.contradiction;
    let test = &rule.tests[k.test];
    let span = field_span(text, k.test, &c.key).unwrap_or(test.span.start..test.span.start);
    let column = if c.key == k.column {
        format!("`{}`", k.column)
    } else {
        format!("`{}` (column `{}`)", c.key, k.column)
    };
    Diagnostic::error(
        "E0406",
        format!(
            "test `{}` of rule `{}` gives {column} {}, but profile {profile} declares it {} for {}",
            test.name,
            rule.rule_id,
            describe(&k.value),
            k.declared.name(),
            k.log_type
        ),
        span,
    )
    .with_label(format!("not a {} value", k.declared.name()))
    .with_help(
        "a query deployed against that column would never see this value; fix the event, or \
         declare the column `json` if its values differ in type",
    )
}

/// Where the top-level key `key` of test number `test`'s `Log` is in a rule file.
pub fn field_span(text: &str, test: usize, key: &str) -> Option<Range<usize>> {
    let root = yaml::parse(text).ok()??;
    let entry = |n: &yaml::Node, name: &str| -> Option<(yaml::Node, yaml::Node)> {
        match &n.kind {
            Kind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.scalar_text() == Some(name))
                .cloned(),
            _ => None,
        }
    };
    let (_, tests) = entry(&root, "Tests")?;
    let Kind::Seq(items) = &tests.kind else {
        return None;
    };
    let (_, log) = entry(items.get(test)?, "Log")?;
    Some(entry(&log, key)?.0.span)
}

/// W0601: each top-level column the condition reads (as renamed by the profile) that its log
/// type's schema does not have, once per column, at its first predicate. Only for log types
/// whose columns are known from the profile or from test events.
fn unknown_fields(
    rule: &Rule,
    renamed: &Rule,
    set: &SchemaSet,
    known: &std::collections::HashMap<&str, Vec<&str>>,
) -> Vec<Diagnostic> {
    let mut reads: Vec<(String, crate::syntax::ast::Span)> = Vec::new();
    top_level_reads(&renamed.condition.ir, &mut reads);
    let mut out = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    // The places read below the top level, found once for all the rule's log types.
    let mut places: Option<Vec<(Vec<Option<String>>, crate::syntax::ast::Span)>> = None;
    for lt in &renamed.log_types {
        let Some(schema) = set.log_types.get(lt) else {
            continue;
        };
        let known = &known[lt.as_str()];
        if known.is_empty() {
            continue;
        }
        for (key, span) in &reads {
            if known.binary_search(&key.as_str()).is_ok() || seen.contains(&key.as_str()) {
                continue;
            }
            seen.push(key);
            let mut d = Diagnostic {
                severity: Severity::Warning,
                code: "W0601",
                message: format!("unknown field `{key}` for {lt}"),
                span: Some(rule.condition.to_file(*span)),
                label: Some("no test event or profile column has it".into()),
                help: Some(format!(
                    "the field is missing in every event of {lt} that the rule set's tests show; \
                     if it is real, add a test event that has it (rule `{}`)",
                    rule.rule_id
                )),
            };
            if let Some(c) = closest(key, known.iter().copied()) {
                d.message = format!("unknown field `{key}` for {lt}; did you mean `{c}`?");
            }
            out.push(d);
        }
        // Below the top level: a key that an object the events show never has.
        let places = places.get_or_insert_with(|| {
            let mut places = Vec::new();
            nested_reads(&renamed.condition.ir, &mut Vec::new(), &mut places);
            places
        });
        let mut seen_nested: Vec<String> = Vec::new();
        for &(ref place, span) in places.iter() {
            let Some((parent, key)) = (1..place.len()).find_map(|i| {
                let key = place[i].as_deref()?;
                let keys = schema.objects.get(&place[..i])?;
                (!keys.contains(key)).then_some((&place[..i], key))
            }) else {
                continue;
            };
            let shown = display_place(parent, Some(key));
            if seen_nested.contains(&shown) {
                continue;
            }
            let keys = schema.objects.get(parent).expect("found above");
            let mut message = format!("unknown field `{shown}` for {lt}");
            if let Some(c) = closest(key, keys.iter()) {
                message.push_str(&format!(
                    "; did you mean `{}`?",
                    display_place(parent, Some(c))
                ));
            }
            out.push(Diagnostic {
                severity: Severity::Warning,
                code: "W0601",
                message,
                span: Some(rule.condition.to_file(span)),
                label: Some(format!(
                    "no `{}` in a test event has it",
                    display_place(parent, None)
                )),
                help: Some(format!(
                    "the test events of {lt} across the rule set show `{}` with the keys {}; if \
                     the field is real, add a test event that has it (rule `{}`)",
                    display_place(parent, None),
                    listed(keys),
                    rule.rule_id
                )),
            });
            seen_nested.push(shown);
        }
    }
    out
}

/// Up to eight keys, quoted, for a help line.
fn listed(keys: crate::backend::schema::ObjectKeys<'_>) -> String {
    let mut names: Vec<String> = keys.iter().take(8).map(|k| format!("`{k}`")).collect();
    if keys.len() > 8 {
        names.push(format!("... ({} in all)", keys.len()));
    }
    names.join(", ")
}

/// A place in the condition's path syntax (`resources[*].type`), with `key` after it.
fn display_place(place: &[Option<String>], key: Option<&str>) -> String {
    use crate::syntax::ast::Segment;
    let segments: Vec<Segment> = place
        .iter()
        .map(|s| match s {
            Some(k) => Segment::Key(k.clone()),
            None => Segment::AnyElement,
        })
        .chain(key.map(|k| Segment::Key(k.to_string())))
        .collect();
    crate::syntax::ast::display_segments(&segments)
}

/// Every path the condition reads, from the event's top level (a quantifier's body below its
/// array's elements; an index as any element), with its predicate.
fn nested_reads(
    node: &Node,
    prefix: &mut Vec<Option<String>>,
    out: &mut Vec<(Vec<Option<String>>, crate::syntax::ast::Span)>,
) {
    let full = |prefix: &[Option<String>], path: &crate::ir::FieldPath| {
        let mut place = prefix.to_vec();
        place.extend(path.0.iter().map(|s| match s {
            Step::Key(k) => Some(k.clone()),
            Step::Index(_) => None,
        }));
        place
    };
    match node {
        Node::And(v) | Node::Or(v) => v.iter().for_each(|n| nested_reads(n, prefix, out)),
        Node::Not(n) => nested_reads(n, prefix, out),
        Node::Leaf(l) => out.push((full(prefix, &l.path), l.span)),
        Node::Any { path, body } | Node::All { path, body } => {
            let mut inner = full(prefix, path);
            if let Some(span) = first_span(body) {
                out.push((inner.clone(), span));
            }
            inner.push(None);
            nested_reads(body, &mut inner, out);
        }
    }
}

/// The top-level keys the condition reads outside quantifier bodies, with the predicate.
fn top_level_reads(node: &Node, out: &mut Vec<(String, crate::syntax::ast::Span)>) {
    match node {
        Node::And(v) | Node::Or(v) => v.iter().for_each(|n| top_level_reads(n, out)),
        Node::Not(n) => top_level_reads(n, out),
        Node::Leaf(l) => {
            if let Some(Step::Key(k)) = l.path.0.first() {
                out.push((k.clone(), l.span));
            }
        }
        Node::Any { path, body } | Node::All { path, body } => {
            if let (Some(Step::Key(k)), Some(span)) = (path.0.first(), first_span(body)) {
                out.push((k.clone(), span));
            }
        }
    }
}

fn first_span(node: &Node) -> Option<crate::syntax::ast::Span> {
    match node {
        Node::Leaf(l) => Some(l.span),
        Node::And(v) | Node::Or(v) => v.iter().find_map(first_span),
        Node::Not(n) | Node::Any { body: n, .. } | Node::All { body: n, .. } => first_span(n),
    }
}
