//! Sigma profiles: what pySigma's processing pipelines do, as data. A profile maps a Sigma
//! `logsource` (product, category, service) to a ruleqc log type, Sigma field names to paths
//! in the events, adds the conditions a log source implies (Sysmon process creation is
//! `EventID: 1`), gives the values of `|expand` placeholders and names the field that holds
//! the raw message for keyword searches.
//!
//! ```yaml
//! log_type: "{product}.{category}"          # default: product.category.service, those given
//! field_template: "{field}"                   # Sigma field -> path; `.` separates keys
//! raw_field: message                          # keyword searches; omit: they are an error
//! fields: {EventID: Event.System.EventID}     # explicit field paths (ruleqc path syntax)
//! placeholders: {Workstations: [ws1, ws2]}    # `|expand` values
//! logsources:                                 # matched by the keys each entry names
//!   - {product: windows, category: process_creation, log_type: Sysmon, conditions: {EventID: 1}}
//! ```
//! Every entry whose product/category/service all equal the rule's applies, most specific
//! last: its `log_type`, `field_template` and `raw_field` win, `fields` are merged and
//! `conditions` are all added (each written like a Sigma selection).

use std::collections::BTreeMap;

use crate::diag::{Diagnostic, closest, line_col};
use crate::rule::yaml::{self, Kind, Node};

/// The built-in profile's name.
pub const BUILT_IN: &str = "windows-json";
const WINDOWS_JSON: &str = include_str!("profiles/windows-json.yml");

#[derive(Clone, Debug, Default)]
pub struct SigmaProfile {
    pub name: String,
    pub base: Settings,
    pub logsources: Vec<Entry>,
    pub placeholders: BTreeMap<String, Vec<String>>,
}

/// What an entry (or the profile's top level) sets.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub log_type: Option<String>,
    pub field_template: Option<String>,
    /// `Some(None)`: `raw_field: null`, keyword searches explicitly unavailable.
    pub raw_field: Option<Option<String>>,
    pub fields: BTreeMap<String, String>,
    /// The implied conditions, as the YAML text of a Sigma selection (kept as text so the
    /// rule lowering reads them like any selection).
    pub conditions: Option<Node>,
}

#[derive(Clone, Debug, Default)]
pub struct Entry {
    pub product: Option<String>,
    pub category: Option<String>,
    pub service: Option<String>,
    pub settings: Settings,
}

/// A rule's log source, as written.
#[derive(Clone, Debug, Default)]
pub struct LogSource {
    pub product: Option<String>,
    pub category: Option<String>,
    pub service: Option<String>,
}

/// What the profile says for one log source.
#[derive(Clone, Debug)]
pub struct Resolved<'p> {
    pub log_type: String,
    pub field_template: String,
    pub raw_field: Option<String>,
    /// The `fields` mappings that apply, the profile's top level first: a later one wins
    /// (see [`Resolved::field`]). Looked up rather than merged into one map: every rule
    /// resolves its log source, and only the few fields it names are ever looked up.
    pub fields: Vec<&'p BTreeMap<String, String>>,
    pub conditions: Vec<&'p Node>,
}

impl Resolved<'_> {
    /// The path a Sigma field maps to, if the profile maps it: the last applicable mapping's.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .rev()
            .find_map(|m| m.get(name))
            .map(String::as_str)
    }
}

impl SigmaProfile {
    pub fn built_in() -> SigmaProfile {
        parse(BUILT_IN, WINDOWS_JSON).expect("the built-in Sigma profile is valid")
    }

    /// `--sigma-profile NAME|FILE`.
    pub fn load(arg: &str) -> Result<SigmaProfile, String> {
        if arg == BUILT_IN {
            return Ok(Self::built_in());
        }
        let text = std::fs::read_to_string(arg)
            .map_err(|e| format!("{arg}: {e} (built-in Sigma profile: {BUILT_IN})"))?;
        parse(arg, &text).map_err(|ds| {
            ds.iter()
                .map(|d| {
                    let (l, c) = d.span.as_ref().map_or((1, 1), |s| line_col(&text, s.start));
                    let help = d.help.as_ref().map_or(String::new(), |h| format!(" ({h})"));
                    format!("{arg}:{l}:{c}: {}{help}", d.message)
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
    }

    pub fn resolve(&self, ls: &LogSource) -> Resolved<'_> {
        let eq = |want: &Option<String>, have: &Option<String>| match want {
            None => true,
            Some(w) => have.as_ref().is_some_and(|h| h.eq_ignore_ascii_case(w)),
        };
        let mut matching: Vec<&Entry> = self
            .logsources
            .iter()
            .filter(|e| {
                eq(&e.product, &ls.product)
                    && eq(&e.category, &ls.category)
                    && eq(&e.service, &ls.service)
            })
            .collect();
        let specificity = |e: &Entry| {
            [&e.product, &e.category, &e.service]
                .iter()
                .filter(|x| x.is_some())
                .count()
        };
        matching.sort_by_key(|e| specificity(e));
        let mut out = Resolved {
            log_type: String::new(),
            field_template: "{field}".into(),
            raw_field: None,
            fields: Vec::new(),
            conditions: Vec::new(),
        };
        let mut log_type = None;
        for s in std::iter::once(&self.base).chain(matching.iter().map(|e| &e.settings)) {
            if let Some(l) = &s.log_type {
                log_type = Some(l.clone());
            }
            if let Some(t) = &s.field_template {
                out.field_template = t.clone();
            }
            if let Some(r) = &s.raw_field {
                out.raw_field = r.clone();
            }
            if !s.fields.is_empty() {
                out.fields.push(&s.fields);
            }
            if let Some(c) = &s.conditions {
                out.conditions.push(c);
            }
        }
        let part = |x: &Option<String>| x.clone().unwrap_or_default();
        let lt = match log_type {
            Some(t) => t
                .replace("{product}", &part(&ls.product))
                .replace("{category}", &part(&ls.category))
                .replace("{service}", &part(&ls.service)),
            None => [&ls.product, &ls.category, &ls.service]
                .iter()
                .filter_map(|x| x.as_deref())
                .collect::<Vec<_>>()
                .join("."),
        };
        out.log_type = lt.trim_matches('.').replace("..", ".");
        out
    }
}

const TOP_KEYS: &[&str] = &[
    "log_type",
    "field_template",
    "raw_field",
    "fields",
    "placeholders",
    "logsources",
];
const ENTRY_KEYS: &[&str] = &[
    "product",
    "category",
    "service",
    "log_type",
    "field_template",
    "raw_field",
    "fields",
    "conditions",
];

/// Parses a Sigma profile; every problem with its position.
pub fn parse(name: &str, text: &str) -> Result<SigmaProfile, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let root = match yaml::parse(text) {
        Ok(Some(r)) => r,
        Ok(None) => {
            return Err(vec![Diagnostic::error(
                "E0601",
                "the Sigma profile is empty",
                0..0,
            )]);
        }
        Err(d) => return Err(vec![d]),
    };
    let mut p = SigmaProfile {
        name: name.into(),
        ..Default::default()
    };
    let Kind::Map(entries) = &root.kind else {
        return Err(vec![bad(&root, "a Sigma profile", "a mapping")]);
    };
    for (k, v) in entries {
        let key = k.scalar_text().unwrap_or("");
        match key {
            "placeholders" => match &v.kind {
                Kind::Map(items) => {
                    for (pk, pv) in items {
                        let values = match &pv.kind {
                            Kind::Seq(xs) => xs
                                .iter()
                                .filter_map(|x| x.scalar_text())
                                .map(String::from)
                                .collect(),
                            Kind::Scalar { value, .. } => vec![value.clone()],
                            _ => {
                                errors.push(bad(pv, "a placeholder", "a list of values"));
                                continue;
                            }
                        };
                        if values.is_empty() {
                            errors.push(bad(pv, "a placeholder", "a non-empty list of values"));
                        }
                        p.placeholders
                            .insert(pk.scalar_text().unwrap_or("").to_string(), values);
                    }
                }
                _ => errors.push(bad(v, "placeholders", "a mapping of name -> values")),
            },
            "logsources" => match &v.kind {
                Kind::Seq(items) => {
                    for item in items {
                        let Kind::Map(fields) = &item.kind else {
                            errors.push(bad(item, "a logsources entry", "a mapping"));
                            continue;
                        };
                        let mut e = Entry::default();
                        for (ek, ev) in fields {
                            let ekey = ek.scalar_text().unwrap_or("");
                            match ekey {
                                "product" => e.product = string(ev, ekey, &mut errors),
                                "category" => e.category = string(ev, ekey, &mut errors),
                                "service" => e.service = string(ev, ekey, &mut errors),
                                _ if ENTRY_KEYS.contains(&ekey) => {
                                    settings(&mut e.settings, ekey, ev, &mut errors)
                                }
                                _ => errors.push(unknown(ek, ekey, ENTRY_KEYS)),
                            }
                        }
                        p.logsources.push(e);
                    }
                }
                _ => errors.push(bad(v, "logsources", "a list of entries")),
            },
            _ if TOP_KEYS.contains(&key) => settings(&mut p.base, key, v, &mut errors),
            _ => errors.push(unknown(k, key, TOP_KEYS)),
        }
    }
    if errors.is_empty() {
        Ok(p)
    } else {
        Err(errors)
    }
}

fn settings(s: &mut Settings, key: &str, v: &Node, errors: &mut Vec<Diagnostic>) {
    match key {
        "log_type" => s.log_type = string(v, key, errors),
        "field_template" => {
            s.field_template = string(v, key, errors);
            if let Some(t) = &s.field_template
                && !t.contains("{field}")
            {
                errors.push(
                    Diagnostic::error(
                        "E0601",
                        "`field_template` must contain `{field}`",
                        v.span.clone(),
                    )
                    .with_help("e.g. `Event.EventData.{field}`"),
                );
            }
        }
        "raw_field" => {
            s.raw_field = Some(if matches!(v.resolve(), Ok(yaml::Resolved::Null)) {
                None
            } else {
                let f = string(v, key, errors);
                if let Some(f) = &f {
                    check_path(v, f, errors);
                }
                f
            })
        }
        "fields" => match &v.kind {
            Kind::Map(items) => {
                for (fk, fv) in items {
                    if let (Some(k), Some(path)) =
                        (fk.scalar_text(), string(fv, "a field path", errors))
                    {
                        check_path(fv, &path, errors);
                        s.fields.insert(k.to_string(), path);
                    }
                }
            }
            _ => errors.push(bad(v, "fields", "a mapping of Sigma field -> path")),
        },
        "conditions" => match &v.kind {
            Kind::Map(_) => s.conditions = Some(v.clone()),
            _ => errors.push(bad(
                v,
                "conditions",
                "a mapping written like a Sigma selection",
            )),
        },
        _ => {}
    }
}

fn check_path(v: &Node, path: &str, errors: &mut Vec<Diagnostic>) {
    if let Err(d) = crate::syntax::parse_path(path) {
        errors.push(
            Diagnostic::error("E0601", format!("`{path}` is not a field path: {}", d.message), v.span.clone())
                .with_help("write a ruleqc path: dotted keys, odd names in backticks (Event.System.`#attributes`)"),
        );
    }
}

fn string(v: &Node, key: &str, errors: &mut Vec<Diagnostic>) -> Option<String> {
    match &v.kind {
        Kind::Scalar { value, .. } => Some(value.clone()),
        _ => {
            errors.push(bad(v, key, "a string"));
            None
        }
    }
}

fn bad(v: &Node, key: &str, expected: &str) -> Diagnostic {
    Diagnostic::error(
        "E0601",
        format!("`{key}` must be {expected}"),
        v.span.clone(),
    )
    .with_label(format!("found {}", v.kind_name()))
}

fn unknown(k: &Node, key: &str, known: &[&str]) -> Diagnostic {
    let mut d = Diagnostic::error(
        "E0601",
        format!("unknown key `{key}` in a Sigma profile"),
        k.span.clone(),
    );
    d = match closest(key, known.iter().copied()) {
        Some(c) => d.with_help(format!("did you mean `{c}`?")),
        None => d.with_help(format!("known keys: {}", known.join(", "))),
    };
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(p: &str, c: Option<&str>, s: Option<&str>) -> LogSource {
        LogSource {
            product: Some(p.into()),
            category: c.map(String::from),
            service: s.map(String::from),
        }
    }

    #[test]
    fn built_in_resolves_windows_and_others() {
        let p = SigmaProfile::built_in();
        let r = p.resolve(&ls("windows", Some("process_creation"), None));
        assert_eq!(r.log_type, "windows.process_creation");
        assert_eq!(r.field_template, "Event.EventData.{field}");
        assert_eq!(r.field("EventID"), Some("Event.System.EventID"));
        assert_eq!(r.conditions.len(), 1);
        assert_eq!(r.raw_field.as_deref(), Some("Event.RenderingInfo.Message"));
        let r = p.resolve(&ls("aws", None, Some("cloudtrail")));
        assert_eq!(
            (r.log_type.as_str(), r.field_template.as_str()),
            ("aws.cloudtrail", "{field}")
        );
        assert!(r.conditions.is_empty());
        assert_eq!(r.raw_field.as_deref(), Some("message"));
        let r = p.resolve(&ls("kubernetes", Some("application"), Some("audit")));
        assert_eq!(r.log_type, "kubernetes.application.audit");
    }

    #[test]
    fn profile_errors_have_positions() {
        let e = parse("p.yml", "fields: {a: 'b c'}\nlogsorces: []\n").unwrap_err();
        assert_eq!(e.len(), 2);
        assert!(
            e[0].message.contains("`b c` is not a field path"),
            "{}",
            e[0].message
        );
        assert_eq!(e[1].help.as_deref(), Some("did you mean `logsources`?"));
        assert_eq!(e[1].span, Some(19..28));
    }
}
