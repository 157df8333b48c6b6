//! A deterministic generator of varied rule files, shared by `benches/compile.rs` (in memory)
//! and `examples/gen_corpus.rs` (written to a directory for the whole-process benchmarks).
//!
//! Every generated rule is valid and compiles for every SQL dialect. The corpus covers every
//! operator and alias, the `~` forms, raw and escaped strings, numbers in every JSON spelling,
//! booleans, dotted and backticked paths (spaces, dots, doubled backticks, keyword names,
//! non-ASCII), `[n]` and `[*]`, nested `any`/`all` quantifiers with `@`, `not`, multi-line
//! groups with comments, lists of up to 500 values, several lines per condition,
//! `SummaryAttributes`/`OutputFields`, schedules, ignored Panther keys and `Tests` whose
//! `ExpectedResult` is what the reference evaluator says (so `ruleqc test` passes on it too).

use std::fmt::Write as _;

use serde_json::{Map, Value};

/// The seed the benchmarks use.
pub const SEED: u64 = 0x5eed_2024_0c0f_fee5;

/// splitmix64: small, fast, and the same on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `pct`%.
    pub fn chance(&mut self, pct: usize) -> bool {
        self.below(100) < pct
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// One generated rule file.
pub struct GenRule {
    /// A relative file name, e.g. `aws/bench_00042.yml`.
    pub file: String,
    pub text: String,
}

/// `n` rule files from `seed`. The same arguments always give the same files.
pub fn generate(n: usize, seed: u64) -> Vec<GenRule> {
    let mut rng = Rng::new(seed);
    (0..n).map(|i| generate_one(&mut rng, i)).collect()
}

const LOG_TYPES: &[&str] = &[
    "AWS.CloudTrail",
    "Amazon.EKS.Audit",
    "GCP.AuditLog",
    "GitHub.Audit",
    "Linux.ProcessExecution",
    "Okta.SystemLog",
    "OnePassword.SignInAttempt",
    "OnePassword.ItemUsage",
    "Slack.AuditLogs",
    "Gravitational.TeleportAudit",
    "Zoom.Operation",
    "Custom.Firewall",
];

const DIRS: &[&str] = &[
    "aws",
    "eks",
    "gcp",
    "github",
    "linux",
    "okta",
    "onepassword",
    "slack",
    "teleport",
    "zoom",
];

/// Top-level keys written without backticks.
const TOP_KEYS: &[&str] = &[
    "eventName",
    "eventSource",
    "eventType",
    "action",
    "actor",
    "user",
    "userIdentity",
    "requestParameters",
    "responseElements",
    "process",
    "host",
    "client",
    "target",
    "detail",
    "details",
    "protoPayload",
    "objectRef",
    "annotations",
    "errorCode",
    "sourceIPAddress",
    "userAgent",
    "verb",
    "status",
    "severity",
    "bytes_out",
    "duration_ms",
    "count",
    "score",
    "argv",
    "roles",
    "resources",
    "@timestamp",
    "$meta",
    "trace-id",
    "p_any_ip_addresses",
    "select",
    "order",
];

/// Top-level keys that need backticks (no backtick, quote or backslash inside, so that every
/// dialect can name the column).
const TOP_QUOTED: &[&str] = &[
    "user agent",
    "source.ip",
    "x-amz-acl",
    "not",
    "and",
    "any",
    "null",
    "1st-field",
    "Größe",
];

/// Keys below the top level.
const NESTED_KEYS: &[&str] = &[
    "name",
    "id",
    "arn",
    "type",
    "userName",
    "args",
    "items",
    "labels",
    "region",
    "policyArn",
    "scopes",
    "email",
    "ipAddress",
    "code",
    "reason",
    "result",
    "roleRef",
    "spec",
    "containers",
    "securityContext",
    "privileged",
    "alternateId",
    "country",
    "app_name",
    "cidrIp",
    "fromPort",
    "value",
    "key",
    "parent",
    "path",
    "@type",
    "$ref",
];

/// Keys below the top level that need backticks (a doubled backtick among them).
const NESTED_QUOTED: &[&str] = &[
    "user agent",
    "authorization.k8s.io/decision",
    "x-amz-acl",
    "a`b",
    "or",
    "true",
    "all",
    "with space",
    "日本語",
    "semi;colon",
    "pipe|key",
    "0day",
];

const WORDS: &[&str] = &[
    "admin",
    "root",
    "iam.amazonaws.com",
    "CreateAccessKey",
    "session.command",
    "nc",
    "wget",
    "/dev/null",
    "system:anonymous",
    "AWS::KMS::Key",
    "0.0.0.0/0",
    "user.session.start",
    "SUCCESS",
    "FAILURE",
    "allUsers",
    "roles/owner",
    "kube-system",
    "exec",
    "ConsoleLogin",
    "public-read",
    "Update",
    "change role",
    "from on to off",
    "1Password for Mac",
    "protected_branch.destroy",
    "anomaly",
    "role_change_to_admin",
    "editor",
    "user.login",
    "local",
    "storage.googleapis.com",
    "SetIamPolicy",
    "mfa_failed",
    "US",
    "reveal",
];

/// Strings with characters a backend must escape or keep literal: `(literal text, value)`.
const SPECIAL_STRINGS: &[(&str, &str)] = &[
    (r#""it's""#, "it's"),
    (r#""say \"hi\"""#, "say \"hi\""),
    (r#""C:\\Windows\\System32""#, "C:\\Windows\\System32"),
    (r#""line\nbreak""#, "line\nbreak"),
    (r#""tab\there""#, "tab\there"),
    (r#""100%_done*""#, "100%_done*"),
    (r#""a;b|c $HOME""#, "a;b|c $HOME"),
    (r#""caf\u00e9""#, "café"),
    (r#""Grüße""#, "Grüße"),
    (r#""日本""#, "日本"),
    (r#""\/slash""#, "/slash"),
    (r#""""#, ""),
    (r#""--""#, "--"),
    (r#""' OR 1=1 --""#, "' OR 1=1 --"),
];

/// Portable regexes (no look-around, no back-references, no `\p{..}`).
const REGEXES: &[&str] = &[
    r"^arn:aws:iam::\d{12}:role/.+$",
    r"(?i)admin(istrator)?",
    r"^-[A-Za-z]*l[A-Za-z]*$",
    r"/dev/(tcp|udp)/[^/\s]+/[0-9]+",
    r"\.ConfigServiceV2\.(DeleteSink|UpdateSink|DeleteBucket)$",
    r"^[a-f0-9]{32}$",
    r"\bpasswd\b",
    r"^(cron|CRON|systemd|sshd)$",
    r"(?i)^(super|organization) administrator$",
    r"[0-9]{1,3}(\.[0-9]{1,3}){3}",
    r"^s3://[a-z0-9.-]+/",
    r"(?s)BEGIN.*END",
    r"\w+@example\.(com|org)",
    r"^\s*$",
    r"x{2,5}y?",
    r"from [A-Za-z ]+ to (Admin|Owner)$",
];

const SEVERITIES: &[&str] = &["Info", "Low", "Medium", "High", "Critical", "high", "LOW"];

const TAGS: &[&str] = &[
    "AWS",
    "Identity & Access Management",
    "Persistence:Additional Cloud Credentials",
    "Defense Evasion",
    "Kubernetes",
    "Initial Access",
    "Okta",
    "Privilege Escalation:Account Manipulation",
];

const TEXT: &[&str] = &[
    "the",
    "principal",
    "changed",
    "a",
    "sensitive",
    "setting",
    "outside",
    "of",
    "change",
    "management",
    "review",
    "who",
    "made",
    "call",
    "and",
    "why",
    "this",
    "often",
    "means",
    "an",
    "attacker",
    "keeps",
    "access",
    "or",
    "moves",
    "sideways",
    "confirm",
    "with",
    "owner",
];

#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Index(usize),
    Any,
}

/// `(path segments, value)`: an assignment that tends to make a predicate true, used to build
/// test events.
type Witness = (Vec<Seg>, Value);

#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    Top,
    /// Inside `any`/`all`: paths are relative to the element and may start with `@`.
    Element,
}

struct Gen<'r> {
    rng: &'r mut Rng,
    /// Lists in this rule may be long (up to 500 values).
    big_lists: bool,
    witnesses: Vec<Witness>,
    max_depth: usize,
}

fn ident_ok(k: &str) -> bool {
    const KEYWORDS: &[&str] = &["and", "or", "not", "any", "all", "true", "false", "null"];
    let mut chars = k.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '_' | '@' | '$'));
    first_ok
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '@' | '$' | '-'))
        && !KEYWORDS.contains(&k)
}

fn key_text(k: &str) -> String {
    if ident_ok(k) {
        k.to_string()
    } else {
        format!("`{}`", k.replace('`', "``"))
    }
}

fn segs_text(head_elem: bool, segs: &[Seg]) -> String {
    let mut s = String::new();
    if head_elem {
        s.push('@');
    }
    for (i, seg) in segs.iter().enumerate() {
        match seg {
            Seg::Key(k) => {
                if i > 0 || head_elem {
                    s.push('.');
                }
                s.push_str(&key_text(k));
            }
            Seg::Index(n) => {
                let _ = write!(s, "[{n}]");
            }
            Seg::Any => s.push_str("[*]"),
        }
    }
    s
}

impl Gen<'_> {
    fn nested_key(&mut self) -> String {
        if self.rng.chance(15) {
            self.rng.pick(NESTED_QUOTED).to_string()
        } else {
            self.rng.pick(NESTED_KEYS).to_string()
        }
    }

    /// A path: its DSL text and segments (`@` is no segment). `star` allows one `[*]`.
    fn path(&mut self, ctx: Ctx, star: bool) -> (String, Vec<Seg>) {
        let mut segs = Vec::new();
        let head_elem = ctx == Ctx::Element && self.rng.chance(45);
        if !head_elem {
            let head = if ctx == Ctx::Top {
                if self.rng.chance(8) {
                    self.rng.pick(TOP_QUOTED).to_string()
                } else {
                    self.rng.pick(TOP_KEYS).to_string()
                }
            } else {
                self.nested_key()
            };
            segs.push(Seg::Key(head));
        }
        let tails = if head_elem {
            self.rng.range(0, 1)
        } else {
            *self.rng.pick(&[0, 0, 1, 1, 1, 2, 2, 3])
        };
        let mut used_star = false;
        for _ in 0..tails {
            let r = self.rng.below(100);
            if r < 15 {
                segs.push(Seg::Index(self.rng.range(0, 3)));
            } else if r < 27 && star && !used_star {
                used_star = true;
                segs.push(Seg::Any);
            } else {
                let k = self.nested_key();
                segs.push(Seg::Key(k));
            }
        }
        // A trailing `[*]` on its own (`argv[*] eq "-l"`).
        if star && !used_star && !head_elem && self.rng.chance(8) {
            segs.push(Seg::Any);
        }
        (segs_text(head_elem, &segs), segs)
    }

    fn string_value(&mut self) -> (String, String) {
        let r = self.rng.below(100);
        let value = if r < 12 {
            let (lit, v) = *self.rng.pick(SPECIAL_STRINGS);
            return (lit.to_string(), v.to_string());
        } else if r < 60 {
            self.rng.pick(WORDS).to_string()
        } else {
            format!("{}-{}", self.rng.pick(WORDS), self.rng.next_u64() % 100_000)
        };
        (serde_json::to_string(&value).expect("json"), value)
    }

    fn number_value(&mut self) -> (String, Value) {
        match self.rng.below(7) {
            0 => {
                let n = -(self.rng.range(1, 1000) as i64);
                (n.to_string(), Value::from(n))
            }
            1 => {
                let a = self.rng.range(0, 99);
                let b = self.rng.range(1, 9);
                let f: f64 = format!("{a}.{b}").parse().expect("float");
                (format!("{a}.{b}"), Value::from(f))
            }
            2 => {
                let e = self.rng.range(1, 6);
                (format!("1e{e}"), Value::from(10f64.powi(e as i32)))
            }
            3 => ("2.5E-2".to_string(), Value::from(0.025)),
            _ => {
                let n = *self
                    .rng
                    .pick(&[0u64, 1, 22, 80, 200, 300, 443, 999, 3389, 65535]);
                let n = if self.rng.chance(30) {
                    self.rng.next_u64() % 1_000_000
                } else {
                    n
                };
                (n.to_string(), Value::from(n))
            }
        }
    }

    fn list(&mut self, strings: bool) -> (String, Value) {
        let len = if self.big_lists && self.rng.chance(60) {
            self.rng.range(100, 500)
        } else {
            *self.rng.pick(&[1, 2, 2, 3, 3, 4, 5, 8, 12])
        };
        let mut items = Vec::with_capacity(len);
        let mut first = Value::Null;
        for i in 0..len {
            let (lit, v) = if strings {
                if len > 20 {
                    // Long allow/deny lists: distinct, realistic-looking values.
                    let v = format!("{}-{i:04}", self.rng.pick(WORDS));
                    (serde_json::to_string(&v).expect("json"), Value::from(v))
                } else {
                    let (l, v) = self.string_value();
                    (l, Value::from(v))
                }
            } else if len > 20 {
                let n = 1000 + i as u64 * 7;
                (n.to_string(), Value::from(n))
            } else {
                self.number_value()
            };
            if i == 0 {
                first = v;
            }
            items.push(lit);
        }
        let trailing = if self.rng.chance(20) { "," } else { "" };
        let text = if len > 6 {
            // Across lines: newlines inside `[ ]` are white space.
            let mut s = String::from("[\n");
            for chunk in items.chunks(8) {
                let _ = writeln!(s, "    {},", chunk.join(", "));
            }
            s.truncate(s.len() - 2);
            let _ = write!(s, "{trailing}\n  ]");
            s
        } else {
            format!("[{}{trailing}]", items.join(", "))
        };
        (text, first)
    }

    fn regex_literal(&mut self) -> String {
        let re = *self.rng.pick(REGEXES);
        if self.rng.chance(70) {
            format!("r\"{re}\"")
        } else {
            serde_json::to_string(re).expect("json")
        }
    }

    fn ci(&mut self) -> &'static str {
        if self.rng.chance(25) { "~" } else { "" }
    }

    /// `PATH OP [VALUE]`.
    fn predicate(&mut self, ctx: Ctx) -> String {
        let (path, segs) = self.path(ctx, true);
        let r = self.rng.below(100);
        let (op, value, witness): (String, String, Value) = if r < 22 {
            let op = *self.rng.pick(&["eq", "eq", "==", "ne", "!="]);
            match self.rng.below(10) {
                0..=5 => {
                    let (lit, v) = self.string_value();
                    let op = if op.len() == 2 && op.chars().all(char::is_alphabetic) {
                        format!("{op}{}", self.ci())
                    } else {
                        op.to_string()
                    };
                    (op, lit, Value::from(v))
                }
                6..=8 => {
                    let (lit, v) = self.number_value();
                    (op.to_string(), lit, v)
                }
                _ => {
                    let b = self.rng.chance(50);
                    (op.to_string(), b.to_string(), Value::from(b))
                }
            }
        } else if r < 40 {
            let op = *self.rng.pick(&["in", "in", "not_in"]);
            if self.rng.chance(75) {
                let (text, first) = self.list(true);
                (format!("{op}{}", self.ci()), text, first)
            } else {
                let (text, first) = self.list(false);
                (op.to_string(), text, first)
            }
        } else if r < 60 {
            let op = *self.rng.pick(&[
                "contains",
                "starts_with",
                "ends_with",
                "not_contains",
                "not_starts_with",
                "not_ends_with",
            ]);
            let (lit, v) = self.string_value();
            (format!("{op}{}", self.ci()), lit, Value::from(v))
        } else if r < 70 {
            let op = *self.rng.pick(&["matches", "matches", "not_matches"]);
            let lit = self.regex_literal();
            (op.to_string(), lit, Value::from("admin"))
        } else if r < 85 {
            let op = *self
                .rng
                .pick(&["gt", "ge", "lt", "le", ">", ">=", "<", "<="]);
            let (lit, v) = self.number_value();
            (op.to_string(), lit, v)
        } else {
            let op = *self
                .rng
                .pick(&["is_null", "is_not_null", "is_empty", "is_not_empty"]);
            let w = if op.starts_with("is_not") {
                Value::from("x")
            } else {
                Value::Null
            };
            (op.to_string(), String::new(), w)
        };
        self.witnesses.push((segs, witness));
        if value.is_empty() {
            format!("{path} {op}")
        } else {
            format!("{path} {op} {value}")
        }
    }

    /// `any PATH (EXPR)` / `all PATH (EXPR)`; the body's witnesses become one array element.
    fn quantifier(&mut self, depth: usize) -> String {
        let kw = if self.rng.chance(65) { "any" } else { "all" };
        // Inside a body this path is relative to the element, like every other path there.
        let (path, segs) = self.path(Ctx::Top, false);
        let outer = std::mem::take(&mut self.witnesses);
        let body = self.expr(depth + 1, Ctx::Element);
        let inner = std::mem::replace(&mut self.witnesses, outer);
        let mut element = Value::Null;
        for (s, v) in inner {
            set_path(&mut element, &s, v);
        }
        self.witnesses.push((segs, Value::Array(vec![element])));
        format!("{kw} {path} ({body})")
    }

    fn expr(&mut self, depth: usize, ctx: Ctx) -> String {
        let r = self.rng.below(100);
        if depth >= self.max_depth || r < 50 {
            return self.predicate(ctx);
        }
        if r < 60 {
            let inner = if self.rng.chance(50) {
                self.predicate(ctx)
            } else {
                format!("({})", self.expr(depth + 1, ctx))
            };
            return format!("not {inner}");
        }
        if r < 76 {
            let n = self.rng.range(2, 3);
            let parts: Vec<String> = (0..n).map(|_| self.expr(depth + 1, ctx)).collect();
            return format!("({})", parts.join(" or "));
        }
        if r < 86 {
            let a = self.expr(depth + 1, ctx);
            let b = self.expr(depth + 1, ctx);
            return format!("({a} and {b})");
        }
        if ctx == Ctx::Top || self.rng.chance(50) {
            // Relative paths inside a nested quantifier are relative to the inner element.
            self.quantifier(depth)
        } else {
            self.predicate(ctx)
        }
    }

    /// The condition block: several lines, comments, a multi-line `or` group now and then.
    fn condition(&mut self) -> String {
        let lines = self.rng.range(1, 7);
        let mut out = String::new();
        for i in 0..lines {
            if self.rng.chance(15) {
                let _ = writeln!(out, "# {} {}", self.rng.pick(TEXT), self.rng.pick(TEXT));
            }
            if i > 0 && self.rng.chance(5) {
                out.push('\n');
            }
            if self.rng.chance(12) {
                let n = self.rng.range(2, 4);
                out.push_str("(\n");
                for j in 0..n {
                    let e = self.expr(1, Ctx::Top);
                    let sep = if j == 0 { "  " } else { "  or " };
                    let comment = if self.rng.chance(20) {
                        "   # alternative"
                    } else {
                        ""
                    };
                    let _ = writeln!(out, "{sep}{e}{comment}");
                }
                out.push_str(")\n");
            } else {
                let e = self.expr(0, Ctx::Top);
                out.push_str(&e);
                out.push('\n');
            }
        }
        out
    }
}

/// Sets `segs` in `root` to `v`, creating objects and arrays on the way.
fn set_path(root: &mut Value, segs: &[Seg], v: Value) {
    let Some((first, rest)) = segs.split_first() else {
        *root = v;
        return;
    };
    let next = match first {
        Seg::Key(k) => {
            if !root.is_object() {
                *root = Value::Object(Map::new());
            }
            root.as_object_mut()
                .expect("object")
                .entry(k.clone())
                .or_insert(Value::Null)
        }
        Seg::Index(n) => {
            if !root.is_array() {
                *root = Value::Array(Vec::new());
            }
            let items = root.as_array_mut().expect("array");
            while items.len() <= *n {
                items.push(Value::from("pad"));
            }
            &mut items[*n]
        }
        Seg::Any => {
            if !root.is_array() {
                *root = Value::Array(Vec::new());
            }
            let items = root.as_array_mut().expect("array");
            if items.is_empty() {
                items.push(Value::Null);
            }
            &mut items[0]
        }
    };
    set_path(next, rest, v);
}

fn words(rng: &mut Rng, n: usize) -> String {
    (0..n)
        .map(|_| *rng.pick(TEXT))
        .collect::<Vec<_>>()
        .join(" ")
}

fn generate_one(rng: &mut Rng, i: usize) -> GenRule {
    let dir = *rng.pick(DIRS);
    let file = format!("{dir}/bench_{i:05}.yml");
    let mut t = String::new();
    let _ = writeln!(t, "RuleID: \"Bench.{dir}.Rule{i:05}\"");
    let _ = writeln!(t, "DisplayName: \"{} {}\"", words(rng, 4), i);
    let _ = writeln!(t, "Enabled: {}", !rng.chance(10));
    t.push_str("LogTypes:\n");
    let n_types = if rng.chance(85) { 1 } else { rng.range(2, 3) };
    let first = rng.below(LOG_TYPES.len());
    for k in 0..n_types {
        let _ = writeln!(t, "  - {}", LOG_TYPES[(first + k) % LOG_TYPES.len()]);
    }
    let _ = writeln!(t, "Severity: {}", rng.pick(SEVERITIES));
    let _ = writeln!(
        t,
        "Description: >\n  {}\n  {}",
        words(rng, 14),
        words(rng, 12)
    );
    if rng.chance(60) {
        let _ = writeln!(t, "Runbook: >\n  {}\n  {}", words(rng, 12), words(rng, 10));
    }
    if rng.chance(50) {
        let _ = writeln!(t, "Reference: https://example.com/docs/{i}");
    }
    t.push_str("Tags:\n");
    for _ in 0..rng.range(1, 4) {
        let _ = writeln!(t, "  - \"{}\"", rng.pick(TAGS));
    }
    let _ = writeln!(
        t,
        "Reports:\n  MITRE ATT&CK:\n    - TA{:04}:T{}",
        rng.range(1, 40),
        rng.range(1000, 1600)
    );
    let _ = writeln!(t, "DedupPeriodMinutes: {}", rng.pick(&[15, 30, 60, 1440]));
    let _ = writeln!(t, "Threshold: {}", rng.pick(&[1, 1, 1, 5, 10]));
    if rng.chance(15) {
        t.push_str("AnalysisType: rule\n");
    }
    if rng.chance(25) {
        if rng.chance(50) {
            t.push_str("Schedule:\n  RateMinutes: 30\n  LookbackMinutes: 60\n");
        } else {
            t.push_str("Schedule:\n  CronExpression: \"0 */2 * * *\"\n  LookbackMinutes: 120\n");
        }
    }
    if rng.chance(75) {
        let key = if rng.chance(80) {
            "SummaryAttributes"
        } else {
            "OutputFields"
        };
        let _ = writeln!(t, "{key}:");
        let mut g = Gen {
            rng,
            big_lists: false,
            witnesses: Vec::new(),
            max_depth: 0,
        };
        let mut fields: Vec<String> = Vec::new();
        for _ in 0..g.rng.range(1, 8) {
            let (p, _) = g.path(Ctx::Top, false);
            if !fields.contains(&p) {
                fields.push(p);
            }
        }
        for p in fields {
            // Always double-quoted: `@`, `$` and backticks cannot start a plain YAML scalar.
            let _ = writeln!(t, "  - \"{p}\"");
        }
    }
    let mut g = Gen {
        rng,
        big_lists: false,
        witnesses: Vec::new(),
        max_depth: 3,
    };
    g.big_lists = g.rng.chance(5);
    let condition = g.condition();
    let witnesses = std::mem::take(&mut g.witnesses);
    t.push_str("Condition: |\n");
    for line in condition.lines() {
        if line.is_empty() {
            t.push('\n');
        } else {
            let _ = writeln!(t, "  {line}");
        }
    }

    if rng.chance(50) {
        // Test events: every witness, half of them, and an empty event; the expected result is
        // the reference evaluator's.
        let loaded = ruleqc::rule::load_str(&file, t.clone());
        let rule = match loaded.result {
            Ok(r) => r,
            Err(e) => panic!("generated rule {file} does not load: {e:?}\n{t}"),
        };
        let mut all = Value::Object(Map::new());
        let mut half = Value::Object(Map::new());
        for (k, (segs, v)) in witnesses.into_iter().enumerate() {
            if k % 2 == 0 {
                set_path(&mut half, &segs, v.clone());
            }
            set_path(&mut all, &segs, v);
        }
        if !all.is_object() {
            all = Value::Object(Map::new());
        }
        t.push_str("Tests:\n");
        for (name, log) in [
            ("Witness event", all),
            ("Half the fields", half),
            ("Empty event", Value::Object(Map::new())),
        ] {
            let expected = ruleqc::ir::eval::eval(&rule.condition.ir, &log);
            let _ = writeln!(
                t,
                "  - Name: {name}\n    ExpectedResult: {expected}\n    Log: {}",
                serde_json::to_string(&log).expect("json")
            );
        }
    }
    GenRule { file, text: t }
}
