//! A loaded rule at rest, as one byte buffer (`rule::Keep::pack`).
//!
//! `compile` and `check` hold every loaded rule until the set's schemas are resolved, but read
//! each rule's condition and metadata only while it is checked or rendered, a window of rules
//! at a time. A rule as `Rule` is a few hundred small allocations (every IR node, path step,
//! literal and string); packed, it is one buffer, written on the worker that loaded it and read
//! back (`unpack`) when its window comes. What the whole-set steps read (the id, the path, the
//! log types, the tests and their events' shapes, the spans; the columns the rule implies are
//! taken before packing, `Loaded::implied`) stays in the rule, whose other parts are left
//! empty until it is unpacked.
//!
//! The encoding is private to this module and never leaves the process: numbers as LEB128,
//! strings as their length and bytes, each enum as its variant's byte, in field order.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::Number;

use crate::ir::{
    Cidr, CmpOp, FieldOp, FieldPath, FieldRef, Leaf, Node, Pattern, Scalar, Step, Test,
};
use crate::rule::model::{
    Cadence, Condition, Entity, EntityKind, FileOffsets, OutputField, Rule, Schedule, Severity,
};
use crate::syntax::ast::Span;

/// Moves what `unpack` restores out of `rule` into a buffer; `rule` keeps its id, path, log
/// types, tests, shapes and spans, its other parts left empty.
pub fn pack(rule: &mut Rule) -> Box<[u8]> {
    let mut w = Writer(Vec::with_capacity(1024));
    let c = &rule.condition;
    // The condition's IR and offsets first: `unpack_condition` reads only those.
    w.node(&c.ir);
    w.offsets(&c.file_offsets);
    w.str(&c.text);
    for s in [
        &rule.display_name,
        &rule.description,
        &rule.runbook,
        &rule.reference,
    ] {
        w.opt_str(s.as_deref());
    }
    w.byte(u8::from(rule.enabled));
    w.byte(rule.severity.map_or(0, |s| 1 + s as u8));
    w.strs(&rule.tags);
    w.uint(rule.reports.len() as u64);
    for (framework, ids) in &rule.reports {
        w.str(framework);
        w.strs(ids);
    }
    w.uint(u64::from(rule.dedup_period_minutes));
    w.uint(u64::from(rule.threshold));
    w.uint(rule.output_fields.len() as u64);
    for f in &rule.output_fields {
        w.output_field(f);
    }
    match &rule.schedule.cadence {
        Cadence::RateMinutes(m) => {
            w.byte(0);
            w.uint(u64::from(*m));
        }
        Cadence::Cron(c) => {
            w.byte(1);
            w.str(c);
        }
    }
    w.uint(u64::from(rule.schedule.lookback_minutes));
    w.uint(rule.entities.len() as u64);
    for e in &rule.entities {
        w.byte(e.kind as u8);
        w.output_field(&e.field);
    }
    let hollow = Rule {
        rule_id: std::mem::take(&mut rule.rule_id),
        log_types: std::mem::take(&mut rule.log_types),
        tests: std::mem::take(&mut rule.tests),
        spans: std::mem::take(&mut rule.spans),
        shapes: std::mem::take(&mut rule.shapes),
        ..Rule::blank(std::mem::take(&mut rule.path))
    };
    *rule = hollow;
    w.0.into_boxed_slice()
}

/// The rule `pack` took apart: `head` (the rule it left) with the buffer's parts restored.
pub fn unpack(head: &Rule, bytes: &[u8]) -> Rule {
    let mut r = Reader { bytes, at: 0 };
    let ir = r.node();
    let file_offsets = r.offsets();
    let text = r.string();
    let [display_name, description, runbook, reference] = [(); 4].map(|()| r.opt_string());
    let enabled = r.byte() == 1;
    let severity = match r.byte() {
        0 => None,
        n => Some(Severity::ALL[usize::from(n - 1)]),
    };
    let tags = r.strings();
    let reports = (0..r.uint()).map(|_| (r.string(), r.strings())).collect();
    let dedup_period_minutes = r.uint() as u32;
    let threshold = r.uint() as u32;
    let output_fields = (0..r.uint()).map(|_| r.output_field()).collect();
    let cadence = match r.byte() {
        0 => Cadence::RateMinutes(r.uint() as u32),
        _ => Cadence::Cron(r.string()),
    };
    let schedule = Schedule {
        cadence,
        lookback_minutes: r.uint() as u32,
    };
    let entities = (0..r.uint())
        .map(|_| Entity {
            kind: EntityKind::ALL[usize::from(r.byte())],
            field: r.output_field(),
        })
        .collect();
    debug_assert_eq!(r.at, bytes.len(), "a packed rule is read to its end");
    Rule {
        rule_id: head.rule_id.clone(),
        path: head.path.clone(),
        condition: Condition {
            text,
            ir,
            file_offsets,
        },
        log_types: head.log_types.clone(),
        display_name,
        description,
        runbook,
        reference,
        enabled,
        severity,
        tags,
        reports,
        dedup_period_minutes,
        threshold,
        output_fields,
        schedule,
        tests: head.tests.clone(),
        spans: head.spans.clone(),
        entities,
        shapes: head.shapes.clone(),
    }
}

/// The rule's id, log types and condition (its IR and offsets, not its text), everything else
/// empty: all the W0601 search reads of a rule (`profile::diagnostics::UnknownFields::of`,
/// without renames, which a packed rule never has), without unpacking the rest.
pub fn unpack_condition(head: &Rule, bytes: &[u8]) -> Rule {
    let mut r = Reader { bytes, at: 0 };
    let ir = r.node();
    let file_offsets = r.offsets();
    Rule {
        rule_id: head.rule_id.clone(),
        condition: Condition {
            text: String::new(),
            ir,
            file_offsets,
        },
        log_types: head.log_types.clone(),
        ..Rule::blank(String::new())
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn byte(&mut self, b: u8) {
        self.0.push(b);
    }

    fn uint(&mut self, mut n: u64) {
        loop {
            let low = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                self.0.push(low);
                return;
            }
            self.0.push(low | 0x80);
        }
    }

    fn str(&mut self, s: &str) {
        self.uint(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }

    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.byte(0),
            Some(s) => {
                self.byte(1);
                self.str(s);
            }
        }
    }

    fn strs(&mut self, list: &[String]) {
        self.uint(list.len() as u64);
        for s in list {
            self.str(s);
        }
    }

    fn offsets(&mut self, o: &FileOffsets) {
        self.uint(o.runs.len() as u64);
        for &(text, file) in &o.runs {
            self.uint(u64::from(text));
            self.uint(u64::from(file));
        }
        self.uint(u64::from(o.len));
        self.byte(u8::from(o.flat));
    }

    fn output_field(&mut self, f: &OutputField) {
        self.str(&f.text);
        self.path(&f.path);
    }

    fn path(&mut self, p: &FieldPath) {
        self.uint(p.0.len() as u64);
        for s in &p.0 {
            match s {
                Step::Key(k) => {
                    self.byte(0);
                    self.str(k);
                }
                Step::Index(i) => {
                    self.byte(1);
                    self.uint(*i);
                }
            }
        }
    }

    fn span(&mut self, s: Span) {
        self.uint(s.start as u64);
        self.uint(s.end as u64);
    }

    fn number(&mut self, n: &Number) {
        if let Some(u) = n.as_u64() {
            self.byte(0);
            self.uint(u);
        } else if let Some(i) = n.as_i64() {
            self.byte(1);
            self.0.extend_from_slice(&i.to_le_bytes());
        } else {
            self.byte(2);
            let f = n
                .as_f64()
                .expect("a number that is not an integer is a double");
            self.0.extend_from_slice(&f.to_bits().to_le_bytes());
        }
    }

    fn scalar(&mut self, s: &Scalar) {
        match s {
            Scalar::Str(s) => {
                self.byte(0);
                self.str(s);
            }
            Scalar::Num(n) => {
                self.byte(1);
                self.number(n);
            }
            Scalar::Bool(b) => self.byte(2 + u8::from(*b)),
        }
    }

    fn nodes(&mut self, items: &[Node]) {
        self.uint(items.len() as u64);
        for n in items {
            self.node(n);
        }
    }

    fn node(&mut self, n: &Node) {
        match n {
            Node::And(items) => {
                self.byte(0);
                self.nodes(items);
            }
            Node::Or(items) => {
                self.byte(1);
                self.nodes(items);
            }
            Node::Not(inner) => {
                self.byte(2);
                self.node(inner);
            }
            Node::Leaf(leaf) => {
                self.byte(3);
                self.leaf(leaf);
            }
            Node::Any { path, body } => {
                self.byte(4);
                self.path(path);
                self.node(body);
            }
            Node::All { path, body } => {
                self.byte(5);
                self.path(path);
                self.node(body);
            }
        }
    }

    fn leaf(&mut self, l: &Leaf) {
        self.path(&l.path);
        self.byte(u8::from(l.case_insensitive) | u8::from(l.negated) << 1);
        self.span(l.span);
        match &l.test {
            Test::Eq(s) => {
                self.byte(0);
                self.scalar(s);
            }
            Test::In(list) => {
                self.byte(1);
                self.uint(list.len() as u64);
                for s in list {
                    self.scalar(s);
                }
            }
            Test::Contains(s) => {
                self.byte(2);
                self.str(s);
            }
            Test::StartsWith(s) => {
                self.byte(3);
                self.str(s);
            }
            Test::EndsWith(s) => {
                self.byte(4);
                self.str(s);
            }
            Test::Matches(p) => {
                self.byte(5);
                self.str(&p.source);
            }
            Test::Compare(op, n) => {
                self.byte(6);
                self.byte(*op as u8);
                self.number(n);
            }
            Test::IsNull => self.byte(7),
            Test::IsEmpty => self.byte(8),
            Test::InCidr(ranges) => {
                self.byte(9);
                self.uint(ranges.len() as u64);
                for c in ranges {
                    match c.addr {
                        IpAddr::V4(a) => {
                            self.byte(4);
                            self.0.extend_from_slice(&a.octets());
                        }
                        IpAddr::V6(a) => {
                            self.byte(6);
                            self.0.extend_from_slice(&a.octets());
                        }
                    }
                    self.byte(c.prefix);
                    self.str(&c.text);
                }
            }
            Test::Field(op, to) => {
                self.byte(10);
                match op {
                    FieldOp::Eq => self.byte(0),
                    FieldOp::Contains => self.byte(1),
                    FieldOp::StartsWith => self.byte(2),
                    FieldOp::EndsWith => self.byte(3),
                    FieldOp::Compare(c) => self.byte(4 + *c as u8),
                }
                self.path(&to.path);
                self.uint(to.up as u64);
            }
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

const CMP: [CmpOp; 4] = [CmpOp::Gt, CmpOp::Ge, CmpOp::Lt, CmpOp::Le];

impl Reader<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.bytes[self.at];
        self.at += 1;
        b
    }

    fn take<const N: usize>(&mut self) -> [u8; N] {
        let out = self.bytes[self.at..self.at + N]
            .try_into()
            .expect("N bytes");
        self.at += N;
        out
    }

    fn uint(&mut self) -> u64 {
        let mut n = 0u64;
        let mut shift = 0;
        loop {
            let b = self.byte();
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return n;
            }
            shift += 7;
        }
    }

    fn str(&mut self) -> &str {
        let len = self.uint() as usize;
        let s = &self.bytes[self.at..self.at + len];
        self.at += len;
        std::str::from_utf8(s).expect("packed from a str")
    }

    fn string(&mut self) -> String {
        self.str().to_owned()
    }

    fn opt_string(&mut self) -> Option<String> {
        (self.byte() == 1).then(|| self.string())
    }

    fn strings(&mut self) -> Vec<String> {
        (0..self.uint()).map(|_| self.string()).collect()
    }

    fn offsets(&mut self) -> FileOffsets {
        let runs = (0..self.uint())
            .map(|_| (self.uint() as u32, self.uint() as u32))
            .collect();
        FileOffsets {
            runs,
            len: self.uint() as u32,
            flat: self.byte() == 1,
        }
    }

    fn output_field(&mut self) -> OutputField {
        OutputField {
            text: self.string(),
            path: self.path(),
        }
    }

    fn path(&mut self) -> FieldPath {
        FieldPath(
            (0..self.uint())
                .map(|_| match self.byte() {
                    0 => Step::Key(self.string()),
                    _ => Step::Index(self.uint()),
                })
                .collect(),
        )
    }

    fn span(&mut self) -> Span {
        Span {
            start: self.uint() as usize,
            end: self.uint() as usize,
        }
    }

    fn number(&mut self) -> Number {
        match self.byte() {
            0 => Number::from(self.uint()),
            1 => Number::from(i64::from_le_bytes(self.take())),
            _ => Number::from_f64(f64::from_bits(u64::from_le_bytes(self.take())))
                .expect("packed from a finite double"),
        }
    }

    fn scalar(&mut self) -> Scalar {
        match self.byte() {
            0 => Scalar::Str(self.string()),
            1 => Scalar::Num(self.number()),
            b => Scalar::Bool(b == 3),
        }
    }

    fn nodes(&mut self) -> Vec<Node> {
        (0..self.uint()).map(|_| self.node()).collect()
    }

    fn node(&mut self) -> Node {
        match self.byte() {
            0 => Node::And(self.nodes()),
            1 => Node::Or(self.nodes()),
            2 => Node::Not(Box::new(self.node())),
            3 => Node::Leaf(self.leaf()),
            4 => Node::Any {
                path: self.path(),
                body: Box::new(self.node()),
            },
            _ => Node::All {
                path: self.path(),
                body: Box::new(self.node()),
            },
        }
    }

    fn leaf(&mut self) -> Leaf {
        let path = self.path();
        let flags = self.byte();
        let span = self.span();
        let test = match self.byte() {
            0 => Test::Eq(self.scalar()),
            1 => Test::In((0..self.uint()).map(|_| self.scalar()).collect()),
            2 => Test::Contains(self.string()),
            3 => Test::StartsWith(self.string()),
            4 => Test::EndsWith(self.string()),
            5 => Test::Matches(Pattern {
                source: self.string(),
                regex: std::sync::OnceLock::new(),
            }),
            6 => {
                let op = CMP[usize::from(self.byte())];
                Test::Compare(op, self.number())
            }
            7 => Test::IsNull,
            8 => Test::IsEmpty,
            9 => Test::InCidr(
                (0..self.uint())
                    .map(|_| {
                        let addr = match self.byte() {
                            4 => IpAddr::V4(Ipv4Addr::from(self.take::<4>())),
                            _ => IpAddr::V6(Ipv6Addr::from(self.take::<16>())),
                        };
                        Cidr {
                            addr,
                            prefix: self.byte(),
                            text: self.string(),
                        }
                    })
                    .collect(),
            ),
            _ => {
                let op = match self.byte() {
                    0 => FieldOp::Eq,
                    1 => FieldOp::Contains,
                    2 => FieldOp::StartsWith,
                    3 => FieldOp::EndsWith,
                    c => FieldOp::Compare(CMP[usize::from(c - 4)]),
                };
                Test::Field(
                    op,
                    FieldRef {
                        path: self.path(),
                        up: self.uint() as usize,
                    },
                )
            }
        };
        Leaf {
            path,
            test,
            case_insensitive: flags & 1 != 0,
            negated: flags & 2 != 0,
            span,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{pack, unpack};
    use crate::rule::load_str;

    /// Every node, test, literal kind and rule part, and the numbers at the edges of their
    /// encodings, come back as they were packed (`Debug` shows every field).
    #[test]
    fn a_packed_rule_unpacks_to_the_rule() {
        let text = r#"RuleID: T.Pack
DisplayName: "Näme"
Description: "multi\nline"
Runbook: ""
Reference: https://example.com
Enabled: false
Severity: Critical
Tags: [a, "b c", "ü"]
Reports: {MITRE ATT&CK: [TA0002:T1059, TA0003], Other: x}
DedupPeriodMinutes: 1440
Threshold: 300
Schedule: {CronExpression: "0 * * * *", LookbackMinutes: 60}
LogTypes: [X.Y, Z.W]
OutputFields: [a, user.name, "b[3].c"]
Entities:
  Account: user.name
  IP: src.ip
Condition: |
  a eq 18446744073709551615 or a eq -9223372036854775808 or a eq -1.5e300 or a eq 0.1
  b eq "s" and b eq~ "S" and c eq true and c ne false
  d in [1, 2.5, -3] and d not_in~ ["x", "Y"]
  e contains "c" and e starts_with~ "s" and e not_ends_with "e" and e matches r"a{2,3}\d"
  f gt 1 and f ge -1 and f lt 1.25 and f le 18446744073709551615
  g is_null or g is_not_empty
  h in_cidr ["10.0.0.0/8", "2001:db8::/32"] and h not_in_cidr "192.168.1.64/26"
  i eq field(j) and i lt field(k.l) and i starts_with~ field(m)
  any n (@ eq 1 and all @.o (@[0] ne field(p))) and q[*] eq field(r)
  not (s[2].t eq 1 or `u v`.w eq "x")
Tests:
  - Name: one
    ExpectedResult: false
    Log: {a: 1, b: {c: [1, "x"]}}
"#;
        let loaded = load_str("t.yml", text.into());
        let mut rule = loaded.rule().expect("loads").clone();
        let before = format!("{rule:?}");
        let bytes = pack(&mut rule);
        assert!(rule.condition.text.is_empty() && rule.output_fields.is_empty());
        assert_eq!(rule.rule_id, "T.Pack", "the head keeps the id");
        assert_eq!(rule.tests.len(), 1, "and the tests");
        assert_eq!(format!("{:?}", unpack(&rule, &bytes)), before);
    }
}
