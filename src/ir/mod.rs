//! The predicate IR: where the semantics of SPEC §3 live.
//!
//! `lower` turns the AST into IR after checking every operator against its literal;
//! `normalize` pushes `not` down to the leaves and flattens `and`/`or`, so that a normalised
//! tree has no `Not` node: each leaf carries its own `negated` flag and says whether it is true
//! when the field is missing (SPEC §3.6). The reference evaluator (`eval`) and every backend
//! read the same normalised tree.

pub mod eval;
pub mod lower;
pub mod normalize;

use std::fmt::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::syntax::ast::Span;

/// A boolean expression over one event (or, inside a quantifier, one array element).
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    /// Only before `normalize`.
    Not(Box<Node>),
    Leaf(Leaf),
    /// True when the value at `path` is an array and some element satisfies `body`
    /// (evaluated with the element as its root).
    Any {
        path: FieldPath,
        body: Box<Node>,
    },
    /// True when the value at `path` is not an array, or every element satisfies `body`.
    All {
        path: FieldPath,
        body: Box<Node>,
    },
}

/// A path relative to the event (or to the current element inside a quantifier). Never
/// contains `[*]`: that is lowered to an `Any` node. An empty path is the root itself (`@`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct FieldPath(pub Vec<Step>);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    Key(String),
    Index(u64),
}

impl FieldPath {
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The path in the DSL's syntax (`@` for the root).
    pub fn display(&self) -> String {
        if self.0.is_empty() {
            return "@".into();
        }
        let segs: Vec<crate::syntax::ast::Segment> = self
            .0
            .iter()
            .map(|s| match s {
                Step::Key(k) => crate::syntax::ast::Segment::Key(k.clone()),
                Step::Index(i) => crate::syntax::ast::Segment::Index(*i),
            })
            .collect();
        let out = crate::syntax::ast::display_segments(&segs);
        // A path that starts with an index (`@[0]`) needs the element marker in front.
        if matches!(self.0.first(), Some(Step::Index(_))) {
            format!("@{out}")
        } else {
            out
        }
    }
}

/// One typed comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Leaf {
    pub path: FieldPath,
    pub test: Test,
    /// String tests only: compare after Unicode simple lower-casing.
    pub case_insensitive: bool,
    /// The leaf is the negation of `test` (`ne`, `not_in`, `is_not_null`, `not (...)`).
    pub negated: bool,
    /// The predicate in the condition text.
    pub span: Span,
}

impl Leaf {
    /// The leaf's truth value when the field is missing (SPEC §3.6): every positive test is
    /// false on a missing field except `is_null`/`is_empty`; a negated leaf flips that.
    pub fn true_when_missing(&self) -> bool {
        let positive = matches!(self.test, Test::IsNull | Test::IsEmpty);
        positive != self.negated
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Test {
    /// Same JSON type and equal (numbers numerically).
    Eq(Scalar),
    /// `Eq` some element; the list is non-empty and of one type.
    In(Vec<Scalar>),
    Contains(String),
    StartsWith(String),
    EndsWith(String),
    /// Unanchored search.
    Matches(Pattern),
    Compare(CmpOp, serde_json::Number),
    IsNull,
    IsEmpty,
    /// SPEC §3.7: the value is a string holding an IP address inside one of the ranges.
    InCidr(Vec<Cidr>),
    /// SPEC §3.7: compare with another field's value in the same event (or element).
    Field(FieldOp, FieldRef),
}

/// A range with host bits cleared; `text` is the literal as written (for display/errors).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub addr: std::net::IpAddr,
    pub prefix: u8,
    pub text: String,
}

/// The comparison a `field(PATH2)` leaf makes; `ne`, `not_contains`, ... are these negated.
/// As with literals: `Eq` on the same JSON type (numbers numerically), the string operators
/// on two strings, `Compare` on two numbers; with `case_insensitive`, two strings. Every one
/// is false when either side is missing or null, and arrays and objects are never equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldOp {
    Eq,
    Contains,
    StartsWith,
    EndsWith,
    Compare(CmpOp),
}

/// The other side of a field comparison: PATH2, and the scope it is read in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldRef {
    pub path: FieldPath,
    /// How many quantifier scopes up PATH2 is read: 0 = where the leaf is evaluated (the event,
    /// or the element inside `any`/`all`); 1 for the `[*]` shorthand `a[*] eq field(b)`, whose
    /// PATH2 is read where the predicate is written, not from the element `[*]` visits.
    pub up: usize,
}

impl FieldOp {
    pub fn name(self) -> &'static str {
        match self {
            FieldOp::Eq => "eq",
            FieldOp::Contains => "contains",
            FieldOp::StartsWith => "starts_with",
            FieldOp::EndsWith => "ends_with",
            FieldOp::Compare(op) => op.symbol(),
        }
    }
}

impl Cidr {
    /// Parses a range such as `10.0.0.0/8` or `2001:db8::/32` (SPEC §3.7). The address is read
    /// by `std::net`, which takes dotted quads without leading zeros and the RFC 4291 IPv6
    /// forms without a zone id; host bits are cleared (`10.1.2.3/8` is `10.0.0.0/8`). The error
    /// says what is wrong, in a sentence that fits after "invalid range: ".
    pub fn parse(text: &str) -> Result<Cidr, CidrError> {
        let Some((addr_text, len_text)) = text.split_once('/') else {
            let what = if text.parse::<IpAddr>().is_ok() {
                "a single address"
            } else {
                "no `/length`"
            };
            return Err(CidrError {
                label: format!("{what}: a range needs its prefix length"),
                help: "write the range with its length, e.g. `10.0.0.0/8`; one address is `/32` (IPv4) or `/128` (IPv6)".into(),
            });
        };
        let addr = parse_address(addr_text).ok_or_else(|| CidrError {
            label: if addr_text.is_empty() {
                "the address is missing".into()
            } else {
                format!("`{addr_text}` is not an IP address")
            },
            help: address_help(addr_text).into(),
        })?;
        let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
        let family = if addr.is_ipv4() { "IPv4" } else { "IPv6" };
        let prefix = (!len_text.is_empty()
            && len_text.len() <= 3
            && len_text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| len_text.parse::<u8>().ok())
        .flatten()
        .filter(|p| *p <= max)
        .ok_or_else(|| CidrError {
            label: format!("`/{len_text}` is not a prefix length for an {family} range"),
            help: format!("an {family} prefix length is a number from 0 to {max}"),
        })?;
        Ok(Cidr {
            addr: mask(addr, prefix),
            prefix,
            text: text.to_string(),
        })
    }

    /// Is `ip` inside the range? An IPv4 address is only inside IPv4 ranges and an IPv6
    /// address (`::ffff:10.0.0.1` included) only inside IPv6 ranges.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                mask(*ip, self.prefix) == self.addr
            }
            _ => false,
        }
    }
}

/// An IP address as SPEC §3.7 reads it in an event: an IPv4 dotted quad without leading
/// zeros, or an IPv6 address in an RFC 4291 text form without a zone id. `std::net`'s parsers
/// are exactly that (they reject `010.0.0.1`, `1.2.3`, `fe80::1%eth0` and surrounding space).
pub fn parse_address(text: &str) -> Option<IpAddr> {
    text.parse().ok()
}

fn address_help(text: &str) -> &'static str {
    if text.contains('%') {
        "zone ids (`%eth0`) are not part of a range; write the address without it"
    } else if text.contains('.') && !text.contains(':') {
        "an IPv4 address is four numbers from 0 to 255 without leading zeros, e.g. `10.0.0.0`"
    } else {
        "write an IPv4 address such as `10.0.0.0` or an IPv6 address such as `2001:db8::`"
    }
}

/// `addr` with every bit after the first `prefix` cleared.
fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let keep = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(bits & keep))
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let keep = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(bits & keep))
        }
    }
}

/// Why a range literal does not parse: a label for the literal and a help line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CidrError {
    pub label: String,
    pub help: String,
}

impl fmt::Display for Cidr {
    /// The range with host bits cleared, e.g. `10.0.0.0/8`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Gt => "gt",
            CmpOp::Ge => "ge",
            CmpOp::Lt => "lt",
            CmpOp::Le => "le",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    Str(String),
    Num(serde_json::Number),
    Bool(bool),
}

/// A checked regex: the source as written and the compiled form the evaluator uses, built
/// when first needed (compiling a rule never needs it). The compiled form is boxed so that an
/// unbuilt one costs a pointer: a `Regex` inline made `Pattern` the largest `Test`, and so set
/// the size of every IR node.
#[derive(Clone, Debug)]
pub struct Pattern {
    pub source: String,
    pub regex: std::sync::OnceLock<Box<regex::Regex>>,
}

impl Pattern {
    /// The compiled regex, with the SPEC's ASCII `\d \w \s \b`.
    pub fn regex(&self) -> &regex::Regex {
        self.regex.get_or_init(|| {
            Box::new(Self::build(&self.source)
                .expect("check_regex accepted the pattern, and only a size limit is left to fail; patterns that could reach it are built there"))
        })
    }

    /// Compiles a pattern with the SPEC's ASCII classes (the `Rust` regex flavour).
    pub fn build(source: &str) -> Result<regex::Regex, regex::Error> {
        use crate::backend::regexp::{Flavour, translate};
        let spec = translate(source, Flavour::Rust).map_err(|e| regex::Error::Syntax(e.reason))?;
        regex::Regex::new(&spec.pattern)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Str(s) => f.write_str(&quote(s)),
            Scalar::Num(n) => write!(f, "{n}"),
            Scalar::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl fmt::Display for Leaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ci = if self.case_insensitive { "~" } else { "" };
        let neg = if self.negated { "not " } else { "" };
        let path = self.path.display();
        match &self.test {
            Test::Eq(v) => write!(f, "{neg}{path} eq{ci} {v}")?,
            Test::In(vs) => {
                let items: Vec<String> = vs.iter().map(|v| v.to_string()).collect();
                write!(f, "{neg}{path} in{ci} [{}]", items.join(", "))?
            }
            Test::Contains(s) => write!(f, "{neg}{path} contains{ci} {}", quote(s))?,
            Test::StartsWith(s) => write!(f, "{neg}{path} starts_with{ci} {}", quote(s))?,
            Test::EndsWith(s) => write!(f, "{neg}{path} ends_with{ci} {}", quote(s))?,
            Test::Matches(p) => write!(f, "{neg}{path} matches {}", quote(&p.source))?,
            Test::Compare(op, n) => write!(f, "{neg}{path} {} {n}", op.symbol())?,
            Test::IsNull => write!(f, "{neg}{path} is_null")?,
            Test::IsEmpty => write!(f, "{neg}{path} is_empty")?,
            Test::InCidr(ranges) => {
                let items: Vec<String> = ranges.iter().map(|r| quote(&r.to_string())).collect();
                match items.as_slice() {
                    [one] => write!(f, "{neg}{path} in_cidr {one}")?,
                    _ => write!(f, "{neg}{path} in_cidr [{}]", items.join(", "))?,
                }
            }
            Test::Field(op, r) => {
                write!(
                    f,
                    "{neg}{path} {}{ci} field({})",
                    op.name(),
                    r.path.display()
                )?;
                match r.up {
                    0 => {}
                    1 => f.write_str("  [field() read outside the element]")?,
                    n => write!(f, "  [field() read {n} elements out]")?,
                }
            }
        }
        if self.true_when_missing() {
            f.write_str("  [true when missing]")?;
        }
        Ok(())
    }
}

impl Node {
    /// An indented tree, one node per line (`ruleqc explain --stage ir`).
    pub fn pretty(&self) -> String {
        let mut out = String::new();
        self.write_tree(&mut out, 0);
        out
    }

    fn write_tree(&self, out: &mut String, depth: usize) {
        let pad = "  ".repeat(depth);
        match self {
            Node::And(items) | Node::Or(items) => {
                let name = if matches!(self, Node::And(_)) {
                    "and"
                } else {
                    "or"
                };
                let _ = writeln!(out, "{pad}{name}");
                for item in items {
                    item.write_tree(out, depth + 1);
                }
            }
            Node::Not(inner) => {
                let _ = writeln!(out, "{pad}not");
                inner.write_tree(out, depth + 1);
            }
            Node::Leaf(leaf) => {
                let _ = writeln!(out, "{pad}{leaf}");
            }
            Node::Any { path, body } | Node::All { path, body } => {
                let name = if matches!(self, Node::Any { .. }) {
                    "any"
                } else {
                    "all"
                };
                let _ = writeln!(out, "{pad}{name} {}", path.display());
                body.write_tree(out, depth + 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(text: &str) -> Cidr {
        Cidr::parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"))
    }

    fn ip(text: &str) -> IpAddr {
        parse_address(text).unwrap_or_else(|| panic!("{text} is an address"))
    }

    #[test]
    fn ranges_clear_host_bits_and_keep_the_text() {
        let c = cidr("10.1.2.3/8");
        assert_eq!(
            (c.to_string(), c.text.as_str()),
            ("10.0.0.0/8".into(), "10.1.2.3/8")
        );
        assert_eq!(cidr("2001:db8:ffff::1/32").to_string(), "2001:db8::/32");
        assert_eq!(cidr("192.168.1.77/0").to_string(), "0.0.0.0/0");
        assert_eq!(cidr("ffff::1/0").to_string(), "::/0");
        assert_eq!(cidr("192.168.1.77/32").to_string(), "192.168.1.77/32");
        assert_eq!(cidr("2001:db8::1/128").to_string(), "2001:db8::1/128");
        assert_eq!(cidr("10.255.255.255/31").to_string(), "10.255.255.254/31");
        // An IPv4-mapped range is an IPv6 range.
        assert!(cidr("::ffff:10.0.0.0/104").addr.is_ipv6());
    }

    #[test]
    fn bad_ranges_say_why() {
        for (text, says) in [
            ("10.0.0.0", "a single address"),
            ("2001:db8::", "a single address"),
            ("ten", "no `/length`"),
            (
                "10.0.0.0/33",
                "`/33` is not a prefix length for an IPv4 range",
            ),
            ("::/129", "`/129` is not a prefix length for an IPv6 range"),
            ("10.0.0.0/", "`/` is not"),
            ("10.0.0.0/+8", "`/+8` is not"),
            ("10.0.0.0/ 8", "`/ 8` is not"),
            ("10.0.0.0/8/8", "`/8/8` is not"),
            ("10.0.0.0/0008", "`/0008` is not"),
            ("010.0.0.0/8", "`010.0.0.0` is not an IP address"),
            ("10.0.0/8", "`10.0.0` is not an IP address"),
            ("256.0.0.0/8", "`256.0.0.0` is not an IP address"),
            ("fe80::%eth0/64", "`fe80::%eth0` is not an IP address"),
            (" 10.0.0.0/8", "` 10.0.0.0` is not an IP address"),
            ("/8", "the address is missing"),
        ] {
            let e = Cidr::parse(text).expect_err(text);
            assert!(e.label.contains(says), "{text}: {}", e.label);
            assert!(!e.help.is_empty());
        }
        assert!(
            Cidr::parse("fe80::%eth0/64")
                .unwrap_err()
                .help
                .contains("zone id")
        );
        assert!(
            Cidr::parse("010.0.0.0/8")
                .unwrap_err()
                .help
                .contains("leading zeros")
        );
    }

    /// SPEC §3.7 leans on what `std::net` accepts; these pin it down.
    #[test]
    fn addresses_are_what_std_net_parses() {
        for ok in [
            "0.0.0.0",
            "255.255.255.255",
            "10.0.0.1",
            "::",
            "::1",
            "2001:DB8::1",
            "2001:0db8:0000:0000:0000:0000:0000:0001",
            "::ffff:10.0.0.1",
            "64:ff9b::192.0.2.33",
        ] {
            assert!(parse_address(ok).is_some(), "{ok}");
        }
        for bad in [
            "010.0.0.1",
            "10.00.0.1",
            "10.0.0.01",
            "10.0.0",
            "10.0.0.1.5",
            "10.0.0.256",
            "0x0a.0.0.1",
            "167772161",
            " 10.0.0.1",
            "10.0.0.1 ",
            "10.0.0.1/32",
            "fe80::1%eth0",
            "fe80::1%1",
            "[::1]",
            "2001:db8::g",
            "1:2:3:4:5:6:7:8:9",
            "::ffff:010.0.0.1",
            "",
        ] {
            assert!(parse_address(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn contains_checks_family_and_boundaries() {
        let c = cidr("10.0.0.0/8");
        assert!(c.contains(&ip("10.0.0.0")));
        assert!(c.contains(&ip("10.255.255.255")));
        assert!(!c.contains(&ip("9.255.255.255")));
        assert!(!c.contains(&ip("11.0.0.0")));
        // IPv4 ranges never hold IPv6 addresses, IPv4-mapped ones included, and back.
        assert!(!c.contains(&ip("::ffff:10.0.0.1")));
        assert!(!cidr("::/0").contains(&ip("10.0.0.1")));
        assert!(cidr("::/0").contains(&ip("::ffff:10.0.0.1")));
        assert!(cidr("::ffff:0:0/96").contains(&ip("::ffff:10.0.0.1")));
        assert!(!cidr("::ffff:0:0/96").contains(&ip("10.0.0.1")));
        assert!(cidr("0.0.0.0/0").contains(&ip("255.255.255.255")));
        let one = cidr("192.168.1.1/32");
        assert!(one.contains(&ip("192.168.1.1")) && !one.contains(&ip("192.168.1.2")));
        let v6 = cidr("2001:db8::/32");
        assert!(v6.contains(&ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")));
        assert!(!v6.contains(&ip("2001:db9::")));
        assert!(!v6.contains(&ip("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff")));
        let host = cidr("2001:db8::1/128");
        assert!(host.contains(&ip("2001:0DB8:0::1")) && !host.contains(&ip("2001:db8::2")));
    }
}
