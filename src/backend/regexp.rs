//! One regex translator for every target. A SPEC regex (SPEC §3.4: the `regex` crate's syntax,
//! checked to be in the portable subset by `ir::lower::check_regex`) is parsed once into the
//! `regex_syntax` AST and written back by a single walk. What differs between engines is data: a
//! [`Table`] per [`Flavour`] says how each construct is written there, or why it cannot be.
//! Patterns in the flag-free vocabulary of `in_cidr` are written from the same table without the
//! AST (`translate_simple`), and long translations are remembered for the process.
//! docs/regex.md has the same tables in prose.
//!
//! The meaning kept everywhere is the SPEC's: `\d \w \s \b` (and `\D \W \S \B`) are ASCII
//! (`[0-9]`, `[0-9A-Za-z_]`, `[\t\n\f\r ]`); `.` does not match `\n` without `(?s)`; `^`/`$`
//! are the start/end of the text without `(?m)` (never before a final newline) and of a line
//! (`\n` only) with it; `(?i)` folds Unicode case. A regex is only ever used as a yes/no search,
//! so the greediness of a repetition never changes an answer: flavours without lazy
//! repetitions (Snowflake) may drop it.

use regex_syntax::ast::{
    self, AssertionKind, Ast, ClassAsciiKind, ClassPerlKind, ClassSet, ClassSetItem, ClassUnicode,
    ClassUnicodeKind, ClassUnicodeOpKind, Flag, FlagsItemKind, GroupKind, RepetitionKind,
    RepetitionRange,
};

use crate::backend::Unsupported;

/// A regex engine family, as the targets use them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// Google RE2: DuckDB `regexp_matches`, BigQuery `REGEXP_CONTAINS`, ClickHouse `match`,
    /// KQL `matches regex`.
    Re2,
    /// PostgreSQL's Advanced Regular Expressions (`~`).
    Are,
    /// `java.util.regex` (Databricks/Spark `RLIKE`).
    Java,
    /// Snowflake's POSIX ERE with Perl's `\d \w \s \b`; flags are the `parameters` argument.
    Snowflake,
    /// The `regex` crate with the SPEC's ASCII classes: the reference evaluator and the
    /// `regexp` function ruleqc registers in SQLite.
    Rust,
    /// PCRE, as Splunk's `match()` runs it (its build options may turn on UCP, so nothing
    /// that UCP changes is left to its defaults).
    Pcre,
}

/// A translated regex: the pattern, and the options the target takes beside it (Snowflake's
/// `parameters` letters `i`, `m`, `s`, in the order the pattern set them; empty elsewhere).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Regex {
    pub pattern: String,
    pub parameters: String,
}

/// Writes the SPEC regex `source` for `flavour`, or says why that engine cannot express it.
///
/// Long patterns recur across rules (the `in_cidr` regex of the same private ranges, a `|re`
/// shared by a family of Sigma rules), and parsing them is most of the cost of a translation,
/// so their translations are kept for the process ([`MEMO_MIN_LEN`], [`MEMO_MAX_BYTES`]).
pub fn translate(source: &str, flavour: Flavour) -> Result<Regex, Unsupported> {
    if source.len() < MEMO_MIN_LEN {
        return translate_uncached(source, flavour);
    }
    let memo = MEMO.get_or_init(Default::default);
    let lock = || {
        memo.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if let Some(hit) = lock().map[flavour as usize].get(source) {
        return hit.clone();
    }
    let out = translate_uncached(source, flavour);
    let size = source.len()
        + match &out {
            Ok(r) => r.pattern.len() + r.parameters.len(),
            Err(u) => u.reason.len(),
        };
    let mut m = lock();
    if m.bytes + size <= MEMO_MAX_BYTES {
        m.bytes += size;
        m.map[flavour as usize].insert(source.into(), out.clone());
    }
    out
}

/// Patterns at least this long are remembered (shorter ones parse in less time than a look-up
/// takes to pay for itself).
const MEMO_MIN_LEN: usize = 128;
/// The memo stops growing at this many bytes of sources and translations.
const MEMO_MAX_BYTES: usize = 16 << 20;

/// Translations of long patterns, per flavour (indexed by `Flavour as usize`).
#[derive(Default)]
struct Memo {
    map: [std::collections::HashMap<Box<str>, Result<Regex, Unsupported>>; 6],
    bytes: usize,
}

static MEMO: std::sync::OnceLock<std::sync::Mutex<Memo>> = std::sync::OnceLock::new();

fn translate_uncached(source: &str, flavour: Flavour) -> Result<Regex, Unsupported> {
    let t = table(flavour);
    if let Some(pattern) = translate_simple(source, t) {
        return Ok(Regex {
            pattern,
            parameters: String::new(),
        });
    }
    let parsed = ast::parse::ParserBuilder::new()
        .nest_limit(100)
        .build()
        .parse(source)
        .map_err(|e| Unsupported::new(format!("the regex `{source}` cannot be read: {e}")))?;
    let mut w = Writer {
        t,
        out: String::with_capacity(source.len() + 8),
        f: State::default(),
        started: false,
        leading: Vec::new(),
    };
    w.ast(&parsed).map_err(|why| {
        Unsupported::new(format!(
            "the regex `{source}` cannot be written for {}: {why}",
            t.engine
        ))
    })?;
    let mut pattern = w.out;
    let mut parameters = String::new();
    match t.flags {
        FlagStyle::Leading { i, m, s } => {
            let opts: String = [('i', i), ('m', m), ('s', s)]
                .iter()
                .filter(|(f, _)| w.leading.contains(f))
                .filter_map(|(_, letter)| *letter)
                .collect();
            if !opts.is_empty() {
                pattern = format!("(?{opts}){pattern}");
            }
        }
        FlagStyle::Parameters => {
            parameters = w.leading.iter().filter(|c| "ims".contains(**c)).collect();
        }
        FlagStyle::Inline { .. } | FlagStyle::CaseOnly { .. } => {}
    }
    Ok(Regex {
        pattern,
        parameters,
    })
}

/// The pattern written for `t` without the `regex_syntax` AST, when `source` is in the small
/// vocabulary `cidr::pattern` writes: `^` and `$`, non-capturing groups, alternation, classes of
/// ASCII letters and digits and their ranges, greedy repetitions, `\.` and the literals
/// `0-9 A-Z a-z :`. No flag can be set, so every construct has its flag-free spelling. `None`
/// for anything else (or anything the engine refuses), which the full translation then reads;
/// a test checks that whatever this writes is what the full translation writes.
fn translate_simple(source: &str, t: &Table) -> Option<String> {
    #[derive(Clone, Copy, PartialEq)]
    enum Last {
        Start,
        Open,
        Bar,
        /// An assertion or a repetition: no repetition may follow.
        Fixed,
        /// A literal, class or group: a repetition may follow.
        Atom,
    }
    let b = source.as_bytes();
    let mut out = String::with_capacity(source.len() + 16);
    let mut i = 0;
    let mut depth = 0u32;
    let mut last = Last::Start;
    while i < b.len() {
        let c = b[i];
        match c {
            b'^' | b'$' => {
                let r = if c == b'^' {
                    t.start_line[0]
                } else {
                    t.end_line[0]
                };
                out.push_str(row(r).ok()?);
                last = Last::Fixed;
                i += 1;
            }
            b'(' => {
                if !source[i..].starts_with("(?:") || depth >= 16 {
                    return None;
                }
                out.push_str(t.non_capturing);
                depth += 1;
                last = Last::Open;
                i += 3;
            }
            b')' => {
                if depth == 0 || matches!(last, Last::Open | Last::Bar) {
                    return None;
                }
                depth -= 1;
                out.push(')');
                last = Last::Atom;
                i += 1;
            }
            b'|' => {
                if matches!(last, Last::Start | Last::Open | Last::Bar) {
                    return None;
                }
                out.push('|');
                last = Last::Bar;
                i += 1;
            }
            b'[' => {
                i += 1;
                out.push('[');
                let mut items = 0;
                loop {
                    let lo = *b.get(i)?;
                    if lo == b']' && items > 0 {
                        break;
                    }
                    if !lo.is_ascii_alphanumeric() {
                        return None;
                    }
                    (t.literal)(lo as char, true, &mut out);
                    if b.get(i + 1) == Some(&b'-') && b.get(i + 2) != Some(&b']') {
                        let hi = *b.get(i + 2)?;
                        if !hi.is_ascii_alphanumeric() || hi < lo {
                            return None;
                        }
                        out.push('-');
                        (t.literal)(hi as char, true, &mut out);
                        i += 3;
                    } else {
                        i += 1;
                    }
                    items += 1;
                }
                out.push(']');
                last = Last::Atom;
                i += 1;
            }
            b'\\' => {
                if b.get(i + 1) != Some(&b'.') {
                    return None;
                }
                (t.literal)('.', false, &mut out);
                last = Last::Atom;
                i += 2;
            }
            b'*' | b'+' | b'?' => {
                if last != Last::Atom {
                    return None;
                }
                out.push(c as char);
                last = Last::Fixed;
                i += 1;
            }
            b'{' => {
                if last != Last::Atom {
                    return None;
                }
                let close = i + source[i..].find('}')?;
                let count = |s: &str| -> Option<u32> {
                    if s.is_empty() || !s.bytes().all(|d| d.is_ascii_digit()) {
                        return None;
                    }
                    s.parse().ok()
                };
                let inner = &source[i + 1..close];
                let (text, max) = match inner.split_once(',') {
                    None => {
                        let n = count(inner)?;
                        (format!("{{{n}}}"), n)
                    }
                    Some((m, "")) => {
                        let m = count(m)?;
                        (format!("{{{m},}}"), m)
                    }
                    Some((m, n)) => {
                        let (m, n) = (count(m)?, count(n)?);
                        if m > n {
                            return None;
                        }
                        (format!("{{{m},{n}}}"), n)
                    }
                };
                if max > t.max_repeat {
                    return None;
                }
                out.push_str(&text);
                last = Last::Fixed;
                i = close + 1;
            }
            b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z' | b':' => {
                (t.literal)(c as char, false, &mut out);
                last = Last::Atom;
                i += 1;
            }
            _ => return None,
        }
    }
    (depth == 0 && last != Last::Bar).then_some(out)
}

/// A pattern matching exactly `text` (every character literal) in `flavour`.
pub fn literal(text: &str, flavour: Flavour) -> String {
    let t = table(flavour);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        (t.literal)(c, false, &mut out);
    }
    out
}

// ---- the tables -----------------------------------------------------------------------------

/// How one construct is written: the text, or why the engine has no exact spelling.
#[derive(Clone, Copy, Debug)]
enum Row {
    Text(&'static str),
    No(&'static str),
}
use Row::{No, Text};

/// How inline flags are carried.
#[derive(Clone, Copy, Debug)]
enum FlagStyle {
    /// Written where the source has them (`(?i)`, `(?s:..)`), with the letters in `known`
    /// (`x` is never written: the parser already dropped the white space it allows).
    Inline { known: &'static str },
    /// Only case-insensitivity is written (`on`/`off`, also as group prefixes `on:`); `.`,
    /// `^`, `$` and greed are resolved by the walk, so `s`, `m` and `U` need no spelling.
    CaseOnly { on: &'static str, off: &'static str },
    /// Options for the whole pattern, allowed only before anything else and written as one
    /// leading `(?..)`: the letter that stands for `i`, `m` and `s` (`None`: the walk spells
    /// that flag itself, so it may also change later).
    Leading {
        i: Option<char>,
        m: Option<char>,
        s: Option<char>,
    },
    /// Like `Leading`, but the letters go to the target's parameters argument; no flag may
    /// change after the start.
    Parameters,
}

/// How repetition greed is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Greed {
    /// `?` after a lazy repetition as written; `U` is an inline flag.
    AsWritten,
    /// `U` resolved: `?` exactly where the repetition is lazy.
    Resolved,
    /// Lazy repetitions written greedy (same yes/no answer).
    Greedy,
}

/// The spellings of one flavour.
struct Table {
    /// The engine, for error messages.
    engine: &'static str,
    flags: FlagStyle,
    /// `.` without / with `(?s)`.
    dot: [Row; 2],
    /// `^`, `$`, `\A`, `\z` without / with `(?m)`.
    start_line: [Row; 2],
    end_line: [Row; 2],
    start_text: [Row; 2],
    end_text: [Row; 2],
    /// `\b`, `\B`.
    word_boundary: Row,
    not_word_boundary: Row,
    /// `\d \w \s`: [outside a class, negated outside, inside a class, negated inside].
    digit: [Row; 4],
    word: [Row; 4],
    space: [Row; 4],
    /// `[:name:]` inside a class: as written, spelled as ASCII ranges, or refused; and the
    /// spelling of a negated one.
    ascii: Ascii,
    /// `\p{..}` / `\P{..}` (the flag says whether `(?i)` is on).
    unicode: fn(&ClassUnicode, bool) -> Result<String, String>,
    /// One literal character, outside or inside a class.
    literal: fn(char, bool, &mut String),
    greed: Greed,
    /// Largest count in `{n,m}`.
    max_repeat: u32,
    /// Named group: `(?P<name>` when `true`, else a plain capture group.
    named_groups: bool,
    /// Written for `(?:` (Snowflake's ERE has only plain groups).
    non_capturing: &'static str,
}

#[derive(Clone, Copy, Debug)]
enum Ascii {
    /// `[:alpha:]`, `[:^alpha:]` as written.
    AsWritten,
    /// The class's ASCII ranges; a negated one as `\P{Name}` (Java) or refused.
    Ranges {
        negated: Option<fn(&ClassAsciiKind) -> &'static str>,
    },
    /// `[:alpha:]` as written; a negated one refused.
    PlainOnly,
}

const W: &str = "[0-9A-Za-z_]";
/// `\b` and `\B` as look-around on ASCII word characters.
const WORD_BOUNDARY: &str =
    "(?:(?<=[0-9A-Za-z_])(?![0-9A-Za-z_])|(?<![0-9A-Za-z_])(?=[0-9A-Za-z_]))";
const NOT_WORD_BOUNDARY: &str =
    "(?:(?<=[0-9A-Za-z_])(?=[0-9A-Za-z_])|(?<![0-9A-Za-z_])(?![0-9A-Za-z_]))";

const RE2: Table = Table {
    engine: "RE2",
    flags: FlagStyle::Inline { known: "imsU" },
    dot: [Text("."), Text(".")],
    start_line: [Text("^"), Text("^")],
    end_line: [Text("$"), Text("$")],
    start_text: [Text("\\A"), Text("\\A")],
    end_text: [Text("\\z"), Text("\\z")],
    word_boundary: Text("\\b"),
    not_word_boundary: Text("\\B"),
    digit: [Text("\\d"), Text("\\D"), Text("\\d"), Text("\\D")],
    word: [Text("\\w"), Text("\\W"), Text("\\w"), Text("\\W")],
    space: [Text("\\s"), Text("\\S"), Text("\\s"), Text("\\S")],
    ascii: Ascii::AsWritten,
    unicode: re2_unicode,
    literal: re2_literal,
    greed: Greed::AsWritten,
    max_repeat: 1000,
    named_groups: true,
    non_capturing: "(?:",
};

const ARE: Table = Table {
    engine: "PostgreSQL",
    flags: FlagStyle::Leading {
        i: Some('i'),
        m: Some('w'),
        s: None,
    },
    dot: [Text("[^\\n]"), Text(".")],
    start_line: [Text("^"), Text("^")],
    end_line: [Text("$"), Text("$")],
    start_text: [Text("\\A"), Text("\\A")],
    end_text: [Text("\\Z"), Text("\\Z")],
    word_boundary: Text(WORD_BOUNDARY),
    not_word_boundary: Text(NOT_WORD_BOUNDARY),
    digit: [
        Text("[0-9]"),
        Text("[^0-9]"),
        Text("0-9"),
        No("`\\D` inside a character class has no exact spelling"),
    ],
    word: [
        Text(W),
        Text("[^0-9A-Za-z_]"),
        Text("0-9A-Za-z_"),
        No("`\\W` inside a character class has no exact spelling"),
    ],
    space: [
        Text("[\\t\\n\\f\\r ]"),
        Text("[^\\t\\n\\f\\r ]"),
        Text("\\t\\n\\f\\r "),
        No("`\\S` inside a character class has no exact spelling"),
    ],
    ascii: Ascii::Ranges { negated: None },
    unicode: no_unicode,
    literal: are_literal,
    greed: Greed::Resolved,
    max_repeat: 255,
    named_groups: false,
    non_capturing: "(?:",
};

const JAVA: Table = Table {
    engine: "Java (Databricks)",
    flags: FlagStyle::CaseOnly {
        on: "(?iu",
        off: "(?-i",
    },
    // Java's `^` without MULTILINE is the start of the input, but its `$` also matches before
    // a final line terminator, and its `.` skips `\r`, U+0085, U+2028 and U+2029 as well.
    dot: [Text("[^\\n]"), Text("(?s:.)")],
    start_line: [Text("^"), Text("(?<![^\\n])")],
    end_line: [Text("\\z"), Text("(?![^\\n])")],
    start_text: [Text("\\A"), Text("\\A")],
    end_text: [Text("\\z"), Text("\\z")],
    word_boundary: Text(WORD_BOUNDARY),
    not_word_boundary: Text(NOT_WORD_BOUNDARY),
    digit: [Text("[0-9]"), Text("[^0-9]"), Text("0-9"), Text("\\D")],
    word: [
        Text(W),
        Text("[^0-9A-Za-z_]"),
        Text("0-9A-Za-z_"),
        Text("\\W"),
    ],
    // Java's `\S` leaves out VT, which SPEC's `\S` includes.
    space: [
        Text("[\\t\\n\\f\\r ]"),
        Text("[^\\t\\n\\f\\r ]"),
        Text("\\t\\n\\f\\r "),
        Text("\\S\\x{b}"),
    ],
    ascii: Ascii::Ranges {
        negated: Some(java_posix),
    },
    unicode: java_unicode,
    literal: java_literal,
    greed: Greed::Resolved,
    max_repeat: u32::MAX,
    named_groups: false,
    non_capturing: "(?:",
};

const SNOWFLAKE: Table = Table {
    engine: "Snowflake",
    flags: FlagStyle::Parameters,
    dot: [Text("."), Text(".")],
    start_line: [Text("^"), Text("^")],
    end_line: [Text("$"), Text("$")],
    start_text: [
        Text("^"),
        No("`\\A` under `(?m)` (Snowflake's `^` then matches at every line)"),
    ],
    end_text: [
        Text("$"),
        No("`\\z` under `(?m)` (Snowflake's `$` then matches at every line)"),
    ],
    word_boundary: Text("\\b"),
    not_word_boundary: Text("\\B"),
    digit: [Text("\\d"), Text("\\D"), Text("\\d"), Text("\\D")],
    word: [Text("\\w"), Text("\\W"), Text("\\w"), Text("\\W")],
    space: [Text("\\s"), Text("\\S"), Text("\\s"), Text("\\S")],
    ascii: Ascii::PlainOnly,
    unicode: no_unicode,
    literal: snowflake_literal,
    greed: Greed::Greedy,
    max_repeat: u32::MAX,
    named_groups: false,
    non_capturing: "(",
};

const RUST: Table = Table {
    engine: "the regex crate",
    flags: FlagStyle::Inline { known: "imsUu" },
    dot: [Text("."), Text(".")],
    start_line: [Text("^"), Text("^")],
    end_line: [Text("$"), Text("$")],
    start_text: [Text("\\A"), Text("\\A")],
    end_text: [Text("\\z"), Text("\\z")],
    word_boundary: Text("(?-u:\\b)"),
    not_word_boundary: Text("(?-u:\\B)"),
    digit: [
        Text("[0-9]"),
        Text("[^0-9]"),
        Text("0-9"),
        Text("[:^digit:]"),
    ],
    word: [
        Text(W),
        Text("[^0-9A-Za-z_]"),
        Text("0-9A-Za-z_"),
        Text("[:^word:]"),
    ],
    // The crate's `[:space:]` has VT, which SPEC's `\s` leaves out: `[:^space:]` adds it back.
    space: [
        Text("[\\t\\n\\f\\r ]"),
        Text("[^\\t\\n\\f\\r ]"),
        Text("\\t\\n\\f\\r "),
        Text("[:^space:]\\x0B"),
    ],
    ascii: Ascii::AsWritten,
    unicode: rust_unicode,
    literal: rust_literal,
    greed: Greed::AsWritten,
    max_repeat: u32::MAX,
    named_groups: true,
    non_capturing: "(?:",
};

const PCRE: Table = Table {
    engine: "PCRE",
    flags: FlagStyle::CaseOnly {
        on: "(?i",
        off: "(?-i",
    },
    dot: [Text("[^\\n]"), Text("(?s:.)")],
    start_line: [Text("\\A"), Text("(?<![^\\n])")],
    end_line: [Text("\\z"), Text("(?![^\\n])")],
    start_text: [Text("\\A"), Text("\\A")],
    end_text: [Text("\\z"), Text("\\z")],
    word_boundary: Text(WORD_BOUNDARY),
    not_word_boundary: Text(NOT_WORD_BOUNDARY),
    digit: [
        Text("[0-9]"),
        Text("[^0-9]"),
        Text("0-9"),
        Text("[:^digit:]"),
    ],
    word: [
        Text(W),
        Text("[^0-9A-Za-z_]"),
        Text("0-9A-Za-z_"),
        Text("[:^word:]"),
    ],
    // PCRE's `[:space:]` has VT, which SPEC's `\s` leaves out: `[:^space:]` adds it back.
    space: [
        Text("[\\t\\n\\f\\r\\ ]"),
        Text("[^\\t\\n\\f\\r\\ ]"),
        Text("\\t\\n\\f\\r\\ "),
        Text("[:^space:]\\x{B}"),
    ],
    ascii: Ascii::AsWritten,
    unicode: pcre_unicode,
    literal: pcre_literal,
    greed: Greed::Resolved,
    max_repeat: 65535,
    named_groups: false,
    non_capturing: "(?:",
};

fn table(flavour: Flavour) -> &'static Table {
    match flavour {
        Flavour::Re2 => &RE2,
        Flavour::Are => &ARE,
        Flavour::Java => &JAVA,
        Flavour::Snowflake => &SNOWFLAKE,
        Flavour::Rust => &RUST,
        Flavour::Pcre => &PCRE,
    }
}

// ---- the walk -------------------------------------------------------------------------------

/// The flags in force, as the `regex` crate scopes them (to the end of the enclosing group).
#[derive(Clone, Copy, Default)]
struct State {
    i: bool,
    m: bool,
    s: bool,
    swap: bool,
}

struct Writer {
    t: &'static Table,
    out: String,
    f: State,
    /// Something other than a flag has been written: later flags are not at the start.
    started: bool,
    /// `Leading`/`Parameters`: the flags on at the start, in the order they were set.
    leading: Vec<char>,
}

type Walk = Result<(), String>;

fn row(r: Row) -> Result<&'static str, String> {
    match r {
        Text(s) => Ok(s),
        No(why) => Err(why.to_string()),
    }
}

impl Writer {
    fn push(&mut self, r: Row) -> Walk {
        let s = row(r)?;
        self.out.push_str(s);
        Ok(())
    }

    fn ast(&mut self, a: &Ast) -> Walk {
        if !matches!(
            a,
            Ast::Flags(_) | Ast::Empty(_) | Ast::Concat(_) | Ast::Alternation(_)
        ) {
            self.started = true;
        }
        match a {
            Ast::Empty(_) => {}
            Ast::Flags(set) => {
                let text = self.flags(&set.flags, false)?;
                self.out.push_str(&text);
            }
            Ast::Literal(l) => (self.t.literal)(l.c, false, &mut self.out),
            Ast::Dot(_) => self.push(self.t.dot[usize::from(self.f.s)])?,
            Ast::Assertion(x) => {
                let m = usize::from(self.f.m);
                let r = match x.kind {
                    AssertionKind::StartLine => self.t.start_line[m],
                    AssertionKind::EndLine => self.t.end_line[m],
                    AssertionKind::StartText => self.t.start_text[m],
                    AssertionKind::EndText => self.t.end_text[m],
                    AssertionKind::WordBoundary => self.t.word_boundary,
                    AssertionKind::NotWordBoundary => self.t.not_word_boundary,
                    _ => No("word-start/word-end assertions (`\\<`, `\\>`, `\\b{..}`)"),
                };
                self.push(r)?;
            }
            Ast::ClassUnicode(c) => {
                let s = (self.t.unicode)(c, self.f.i)?;
                self.out.push_str(&s);
            }
            Ast::ClassPerl(c) => self.perl(c, false)?,
            Ast::ClassBracketed(c) => {
                self.out.push('[');
                if c.negated {
                    self.out.push('^');
                }
                self.class_set(&c.kind)?;
                self.out.push(']');
            }
            Ast::Repetition(r) => self.repetition(r)?,
            Ast::Group(g) => self.group(g)?,
            Ast::Alternation(alt) => {
                for (k, x) in alt.asts.iter().enumerate() {
                    if k > 0 {
                        self.out.push('|');
                    }
                    self.ast(x)?;
                    self.started = true;
                }
            }
            Ast::Concat(c) => {
                for x in &c.asts {
                    self.ast(x)?;
                }
            }
        }
        Ok(())
    }

    fn repetition(&mut self, r: &ast::Repetition) -> Walk {
        self.ast(&r.ast)?;
        match &r.op.kind {
            RepetitionKind::ZeroOrOne => self.out.push('?'),
            RepetitionKind::ZeroOrMore => self.out.push('*'),
            RepetitionKind::OneOrMore => self.out.push('+'),
            RepetitionKind::Range(range) => {
                let (text, max) = match *range {
                    RepetitionRange::Exactly(n) => (format!("{{{n}}}"), n),
                    RepetitionRange::AtLeast(n) => (format!("{{{n},}}"), n),
                    RepetitionRange::Bounded(m, n) => (format!("{{{m},{n}}}"), m.max(n)),
                };
                if max > self.t.max_repeat {
                    return Err(format!(
                        "repetition counts stop at {} (found {max})",
                        self.t.max_repeat
                    ));
                }
                self.out.push_str(&text);
            }
        }
        let lazy = match self.t.greed {
            Greed::AsWritten => !r.greedy,
            Greed::Resolved => r.greedy == self.f.swap,
            Greed::Greedy => false,
        };
        if lazy {
            self.out.push('?');
        }
        Ok(())
    }

    fn group(&mut self, g: &ast::Group) -> Walk {
        let saved = self.f;
        match &g.kind {
            GroupKind::CaptureName { name, .. } if self.t.named_groups => {
                self.out.push_str(&format!("(?P<{}>", name.name));
            }
            GroupKind::CaptureIndex(_) | GroupKind::CaptureName { .. } => self.out.push('('),
            GroupKind::NonCapturing(flags) => {
                let text = self.flags(flags, true)?;
                self.out.push_str(&text);
            }
        }
        self.ast(&g.ast)?;
        self.out.push(')');
        self.f = saved;
        Ok(())
    }

    /// Applies a flag set (`(?..)` alone, or `(?..:` when `group`) and returns its spelling.
    fn flags(&mut self, flags: &ast::Flags, group: bool) -> Result<String, String> {
        let before = self.f;
        let mut on = true;
        let mut written = String::new();
        for item in &flags.items {
            let f = match &item.kind {
                FlagsItemKind::Negation => {
                    on = false;
                    written.push('-');
                    continue;
                }
                FlagsItemKind::Flag(f) => f,
            };
            let letter = match f {
                Flag::CaseInsensitive => {
                    self.f.i = on;
                    'i'
                }
                Flag::MultiLine => {
                    self.f.m = on;
                    'm'
                }
                Flag::DotMatchesNewLine => {
                    self.f.s = on;
                    's'
                }
                Flag::SwapGreed => {
                    self.f.swap = on;
                    'U'
                }
                // White space and comments are not in the tree: nothing to carry over.
                Flag::IgnoreWhitespace => continue,
                Flag::Unicode => {
                    if !on
                        && !matches!(self.t.flags, FlagStyle::Inline { known } if known.contains('u'))
                    {
                        return Err("the flag `(?-u)` (bytes instead of Unicode)".into());
                    }
                    'u'
                }
                Flag::CRLF => return Err("the flag `R` (CRLF line ends)".into()),
            };
            if !self.started {
                self.leading.retain(|c| *c != letter);
                if on {
                    self.leading.push(letter);
                }
            }
            written.push(letter);
        }
        let open = if group { self.t.non_capturing } else { "" };
        match self.t.flags {
            FlagStyle::Inline { known } => {
                let mut text: String = written
                    .chars()
                    .filter(|c| *c == '-' || known.contains(*c))
                    .collect();
                // A negation with nothing after it is not valid syntax.
                if text.ends_with('-') {
                    text.pop();
                }
                Ok(match (text.is_empty(), group) {
                    (true, false) => String::new(),
                    (true, true) => open.to_string(),
                    (false, false) => format!("(?{text})"),
                    (false, true) => format!("(?{text}:"),
                })
            }
            FlagStyle::CaseOnly { on, off } => Ok(match (self.f.i != before.i, self.f.i, group) {
                (false, _, false) => String::new(),
                (false, _, true) => open.to_string(),
                (true, true, false) => format!("{on})"),
                (true, true, true) => format!("{on}:"),
                (true, false, false) => format!("{off})"),
                (true, false, true) => format!("{off}:"),
            }),
            FlagStyle::Leading { s, .. } => {
                let later = self.started || group;
                if later
                    && (self.f.i != before.i
                        || self.f.m != before.m
                        || (s.is_some() && self.f.s != before.s))
                {
                    return Err(
                        "flags `i` and `m` are options of the whole pattern here: put them at the start"
                            .into(),
                    );
                }
                Ok(open.to_string())
            }
            FlagStyle::Parameters => {
                let later = self.started || group;
                if later && (self.f.i != before.i || self.f.m != before.m || self.f.s != before.s) {
                    return Err(
                        "flags `i`, `m` and `s` are parameters of the whole pattern: put them at the start"
                            .into(),
                    );
                }
                Ok(open.to_string())
            }
        }
    }

    fn perl(&mut self, c: &ast::ClassPerl, in_class: bool) -> Walk {
        let rows = match c.kind {
            ClassPerlKind::Digit => &self.t.digit,
            ClassPerlKind::Word => &self.t.word,
            ClassPerlKind::Space => &self.t.space,
        };
        let r = rows[usize::from(in_class) * 2 + usize::from(c.negated)];
        self.push(r)
    }

    fn class_set(&mut self, set: &ClassSet) -> Walk {
        match set {
            ClassSet::Item(item) => self.class_item(item),
            ClassSet::BinaryOp(_) => Err("class set operations (`&&`, `--`, `~~`)".into()),
        }
    }

    fn class_item(&mut self, item: &ClassSetItem) -> Walk {
        let lit = self.t.literal;
        match item {
            ClassSetItem::Empty(_) => {}
            ClassSetItem::Literal(l) => lit(l.c, true, &mut self.out),
            ClassSetItem::Range(r) => {
                lit(r.start.c, true, &mut self.out);
                self.out.push('-');
                lit(r.end.c, true, &mut self.out);
            }
            ClassSetItem::Ascii(a) => self.ascii_class(a)?,
            ClassSetItem::Unicode(u) => {
                let s = (self.t.unicode)(u, self.f.i)?;
                self.out.push_str(&s);
            }
            ClassSetItem::Perl(p) => self.perl(p, true)?,
            ClassSetItem::Bracketed(b) if b.negated => {
                return Err("a negated class nested in a class".into());
            }
            ClassSetItem::Bracketed(_) => return Err("a class nested in a class".into()),
            ClassSetItem::Union(u) => {
                for i in &u.items {
                    self.class_item(i)?;
                }
            }
        }
        Ok(())
    }

    fn ascii_class(&mut self, a: &ast::ClassAscii) -> Walk {
        let name = ascii_name(&a.kind);
        match (self.t.ascii, a.negated) {
            (Ascii::AsWritten, _) | (Ascii::PlainOnly, false) => {
                let neg = if a.negated { "^" } else { "" };
                self.out.push_str(&format!("[:{neg}{name}:]"));
            }
            (Ascii::Ranges { .. }, false) => {
                for (lo, hi) in ascii_ranges(&a.kind) {
                    (self.t.literal)(*lo, true, &mut self.out);
                    if hi != lo {
                        self.out.push('-');
                        (self.t.literal)(*hi, true, &mut self.out);
                    }
                }
            }
            (
                Ascii::Ranges {
                    negated: Some(spell),
                },
                true,
            ) => self.out.push_str(spell(&a.kind)),
            (Ascii::Ranges { negated: None }, true) | (Ascii::PlainOnly, true) => {
                return Err(format!("the negated class `[:^{name}:]`"));
            }
        }
        Ok(())
    }
}

fn ascii_name(kind: &ClassAsciiKind) -> &'static str {
    match kind {
        ClassAsciiKind::Alnum => "alnum",
        ClassAsciiKind::Alpha => "alpha",
        ClassAsciiKind::Ascii => "ascii",
        ClassAsciiKind::Blank => "blank",
        ClassAsciiKind::Cntrl => "cntrl",
        ClassAsciiKind::Digit => "digit",
        ClassAsciiKind::Graph => "graph",
        ClassAsciiKind::Lower => "lower",
        ClassAsciiKind::Print => "print",
        ClassAsciiKind::Punct => "punct",
        ClassAsciiKind::Space => "space",
        ClassAsciiKind::Upper => "upper",
        ClassAsciiKind::Word => "word",
        ClassAsciiKind::Xdigit => "xdigit",
    }
}

/// The `regex` crate's `[:name:]` classes as ASCII ranges.
fn ascii_ranges(kind: &ClassAsciiKind) -> &'static [(char, char)] {
    match kind {
        ClassAsciiKind::Alnum => &[('0', '9'), ('A', 'Z'), ('a', 'z')],
        ClassAsciiKind::Alpha => &[('A', 'Z'), ('a', 'z')],
        ClassAsciiKind::Ascii => &[('\x00', '\x7F')],
        ClassAsciiKind::Blank => &[('\t', '\t'), (' ', ' ')],
        ClassAsciiKind::Cntrl => &[('\x00', '\x1F'), ('\x7F', '\x7F')],
        ClassAsciiKind::Digit => &[('0', '9')],
        ClassAsciiKind::Graph => &[('!', '~')],
        ClassAsciiKind::Lower => &[('a', 'z')],
        ClassAsciiKind::Print => &[(' ', '~')],
        ClassAsciiKind::Punct => &[('!', '/'), (':', '@'), ('[', '`'), ('{', '~')],
        ClassAsciiKind::Space => &[('\t', '\r'), (' ', ' ')],
        ClassAsciiKind::Upper => &[('A', 'Z')],
        ClassAsciiKind::Word => &[('0', '9'), ('A', 'Z'), ('a', 'z'), ('_', '_')],
        ClassAsciiKind::Xdigit => &[('0', '9'), ('A', 'F'), ('a', 'f')],
    }
}

/// Java's negated POSIX classes (ASCII-only without `UNICODE_CHARACTER_CLASS`).
fn java_posix(kind: &ClassAsciiKind) -> &'static str {
    match kind {
        ClassAsciiKind::Alnum => "\\P{Alnum}",
        ClassAsciiKind::Alpha => "\\P{Alpha}",
        ClassAsciiKind::Ascii => "\\P{ASCII}",
        ClassAsciiKind::Blank => "\\P{Blank}",
        ClassAsciiKind::Cntrl => "\\P{Cntrl}",
        ClassAsciiKind::Digit => "\\P{Digit}",
        ClassAsciiKind::Graph => "\\P{Graph}",
        ClassAsciiKind::Lower => "\\P{Lower}",
        ClassAsciiKind::Print => "\\P{Print}",
        ClassAsciiKind::Punct => "\\P{Punct}",
        ClassAsciiKind::Space => "\\P{Space}",
        ClassAsciiKind::Upper => "\\P{Upper}",
        ClassAsciiKind::Word => "\\W",
        ClassAsciiKind::Xdigit => "\\P{XDigit}",
    }
}

// ---- literal characters ---------------------------------------------------------------------

const META: &[char] = &[
    '\\', '.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$',
];

/// RE2: syntax characters escaped, control characters as escapes so the pattern stays on one
/// line.
fn re2_literal(c: char, in_class: bool, out: &mut String) {
    let meta: &[char] = if in_class {
        &['\\', ']', '[', '^', '-']
    } else {
        META
    };
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
            out.push_str(&format!("\\x{{{:x}}}", c as u32));
        }
        c if meta.contains(&c) => {
            out.push('\\');
            out.push(c);
        }
        c => out.push(c),
    }
}

/// Java: as RE2, and `&` in a class (`&&` is Java's class intersection).
fn java_literal(c: char, in_class: bool, out: &mut String) {
    if in_class && c == '&' {
        out.push_str("\\&");
    } else {
        re2_literal(c, in_class, out);
    }
}

/// ARE: syntax characters escaped; control characters as `\uXXXX` (ARE's `\x` takes any
/// number of hex digits, so it cannot be followed by one).
fn are_literal(c: char, in_class: bool, out: &mut String) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
            out.push_str(&format!("\\u{:04x}", c as u32));
        }
        c => re2_literal(c, in_class, out),
    }
}

/// Snowflake: syntax characters escaped; other characters as they are (the SQL string
/// literal escapes control characters).
fn snowflake_literal(c: char, in_class: bool, out: &mut String) {
    let meta: &[char] = if in_class {
        &['\\', ']', '[', '^', '-']
    } else {
        META
    };
    if meta.contains(&c) {
        out.push('\\');
    }
    out.push(c);
}

/// The `regex` crate: its meta characters escaped (they include `-`, `&`, `~`, `#`, so this is
/// right inside a class too), control characters as `\x{..}`.
fn rust_literal(c: char, _in_class: bool, out: &mut String) {
    if c.is_control() {
        out.push_str(&format!("\\x{{{:x}}}", c as u32));
    } else {
        if regex_syntax::is_meta_character(c) {
            out.push('\\');
        }
        out.push(c);
    }
}

/// PCRE (Splunk): ASCII punctuation is escaped with `\` (always literal in PCRE); characters
/// that must not appear raw in a search (control characters, `` ` ``, `$`, the line and
/// paragraph separators) are `\x{..}`.
fn pcre_literal(c: char, _in_class: bool, out: &mut String) {
    if c.is_ascii_alphanumeric() || c == '_' {
        out.push(c);
    } else if c.is_control() || matches!(c, '`' | '$' | '\u{2028}' | '\u{2029}') {
        out.push_str(&format!("\\x{{{:X}}}", c as u32));
    } else if c.is_ascii() {
        out.push('\\');
        out.push(c);
    } else {
        out.push(c);
    }
}

// ---- Unicode classes ------------------------------------------------------------------------

/// General categories (RE2, Java and PCRE spell them alike).
const GENERAL_CATEGORIES: &[&str] = &[
    "C", "Cc", "Cf", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me", "Mn", "N",
    "Nd", "Nl", "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk", "Sm", "So",
    "Z", "Zl", "Zp", "Zs",
];

/// Property names the `regex` crate accepts but that are neither a general category nor a
/// script (long category names and binary properties).
const NOT_SCRIPTS: &[&str] = &[
    "Alphabetic",
    "Assigned",
    "Ascii",
    "Cased",
    "Dash",
    "Emoji",
    "Hex_Digit",
    "Ideographic",
    "Letter",
    "Lowercase",
    "Mark",
    "Math",
    "Number",
    "Other",
    "Punctuation",
    "Separator",
    "Symbol",
    "Uppercase",
    "White_Space",
    "Whitespace",
];

/// What a Unicode class names, in the spelling RE2 and Java know.
enum Property {
    Category(&'static str),
    Script(String),
    Any,
}

fn property(c: &ClassUnicode) -> Result<Property, String> {
    let name = match &c.kind {
        ClassUnicodeKind::OneLetter(l) => l.to_string(),
        ClassUnicodeKind::Named(n) => n.clone(),
        ClassUnicodeKind::NamedValue { name, value, op } => {
            if *op == ClassUnicodeOpKind::NotEqual {
                return Err("a Unicode class of the form `\\p{name!=value}`".into());
            }
            match name
                .to_ascii_lowercase()
                .replace(['_', ' ', '-'], "")
                .as_str()
            {
                "script" | "sc" | "generalcategory" | "gc" => value.clone(),
                _ => return Err(format!("the Unicode property `{name}`")),
            }
        }
    };
    if let Some(gc) = GENERAL_CATEGORIES
        .iter()
        .find(|g| g.eq_ignore_ascii_case(&name))
    {
        return Ok(Property::Category(gc));
    }
    if name == "Any" {
        return Ok(Property::Any);
    }
    // Script names as RE2 and Java spell them: `Greek`, `Old_Italic`.
    let script_like = name.split('_').all(|w| {
        let mut cs = w.chars();
        cs.next().is_some_and(|c| c.is_ascii_uppercase()) && cs.all(|c| c.is_ascii_lowercase())
    });
    let long_category = [
        "_Letter",
        "_Number",
        "_Punctuation",
        "_Symbol",
        "_Separator",
        "_Mark",
    ]
    .iter()
    .any(|s| name.ends_with(s));
    if !script_like || NOT_SCRIPTS.contains(&name.as_str()) || long_category {
        return Err(format!(
            "the Unicode class `{name}` (general categories such as `L`, `Lu` and script \
             names such as `Greek` are written on every engine that has Unicode classes)"
        ));
    }
    Ok(Property::Script(name))
}

fn p(c: &ClassUnicode) -> char {
    if c.negated { 'P' } else { 'p' }
}

fn re2_unicode(c: &ClassUnicode, _ci: bool) -> Result<String, String> {
    let name = match property(c)? {
        Property::Category(gc) => gc.to_string(),
        Property::Script(s) => s,
        Property::Any => "Any".to_string(),
    };
    Ok(if name.len() == 1 {
        format!("\\{}{name}", p(c))
    } else {
        format!("\\{}{{{name}}}", p(c))
    })
}

fn java_unicode(c: &ClassUnicode, ci: bool) -> Result<String, String> {
    if ci {
        return Err(
            "a Unicode class under `(?i)` is case-folded by the regex crate but not by Java".into(),
        );
    }
    Ok(match property(c)? {
        Property::Category(gc) => format!("\\{}{{{gc}}}", p(c)),
        Property::Script(s) => format!("\\{}{{Is{s}}}", p(c)),
        Property::Any => return Err("the Unicode class `Any`".into()),
    })
}

fn pcre_unicode(c: &ClassUnicode, ci: bool) -> Result<String, String> {
    const CATEGORIES: &[&str] = &[
        "L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No", "P", "Pc",
        "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "S", "Sm", "Sc", "Sk", "So", "Z", "Zs", "Zl", "Zp",
        "C", "Cc", "Cf", "Co", "Cn",
    ];
    const SCRIPTS: &[&str] = &[
        "Arabic",
        "Armenian",
        "Bengali",
        "Common",
        "Cyrillic",
        "Devanagari",
        "Georgian",
        "Greek",
        "Han",
        "Hangul",
        "Hebrew",
        "Hiragana",
        "Katakana",
        "Latin",
        "Thai",
    ];
    if ci {
        return Err(
            "a Unicode class under `(?i)` is case-folded by the regex crate but not by PCRE".into(),
        );
    }
    let name = match &c.kind {
        ClassUnicodeKind::OneLetter(l) => l.to_string(),
        ClassUnicodeKind::Named(n) => n.clone(),
        ClassUnicodeKind::NamedValue { .. } => {
            return Err(
                "Unicode classes of the form `\\p{name=value}` have no PCRE spelling".into(),
            );
        }
    };
    if !CATEGORIES.contains(&name.as_str()) && !SCRIPTS.contains(&name.as_str()) {
        return Err(format!(
            "the Unicode class `{name}` has no certain PCRE spelling; use a general \
             category (`L`, `Lu`, `Nd`, ...) or a common script name"
        ));
    }
    Ok(format!("\\{}{{{name}}}", p(c)))
}

/// The `regex` crate reads its own classes: written back as they are.
fn rust_unicode(c: &ClassUnicode, _ci: bool) -> Result<String, String> {
    Ok(match &c.kind {
        ClassUnicodeKind::OneLetter(l) => format!("\\{}{l}", p(c)),
        ClassUnicodeKind::Named(n) => format!("\\{}{{{n}}}", p(c)),
        ClassUnicodeKind::NamedValue { op, name, value } => {
            let op = match op {
                ClassUnicodeOpKind::Equal => "=",
                ClassUnicodeOpKind::Colon => ":",
                ClassUnicodeOpKind::NotEqual => "!=",
            };
            format!("\\{}{{{name}{op}{value}}}", p(c))
        }
    })
}

fn no_unicode(_: &ClassUnicode, _: bool) -> Result<String, String> {
    Err("Unicode classes (`\\p{..}`)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The full translation, through the `regex_syntax` AST.
    fn full(source: &str, flavour: Flavour) -> Result<Regex, Unsupported> {
        let t = table(flavour);
        let parsed = ast::parse::ParserBuilder::new()
            .nest_limit(100)
            .build()
            .parse(source)
            .map_err(|e| Unsupported::new(e.to_string()))?;
        let mut w = Writer {
            t,
            out: String::new(),
            f: State::default(),
            started: false,
            leading: Vec::new(),
        };
        w.ast(&parsed).map_err(Unsupported::new)?;
        assert!(w.leading.is_empty(), "{source}");
        Ok(Regex {
            pattern: w.out,
            parameters: String::new(),
        })
    }

    const FLAVOURS: [Flavour; 6] = [
        Flavour::Re2,
        Flavour::Are,
        Flavour::Java,
        Flavour::Snowflake,
        Flavour::Rust,
        Flavour::Pcre,
    ];

    /// What the shortcut writes is what the full translation writes; where the full one refuses
    /// (or the text is not a regex), the shortcut writes nothing. Every `in_cidr` pattern takes
    /// the shortcut, and so do random strings over its alphabet, where they parse.
    #[test]
    fn the_shortcut_writes_what_the_full_translation_writes() {
        let mut sources: Vec<String> = [
            "",
            "^(?:10\\.[0-9]+)$",
            "[9-0]",
            "a{2,1}",
            "a{01}",
            "a{0,}",
            "(?:a",
            "a)",
            "a|",
            "|a",
            "(?:)",
            "(?:|a)",
            "a**",
            "^*",
            "[a-]",
            "[]a]",
            "[a-b-c]",
            "a{2}?",
            "a{2}{3}",
            "a{70000}",
            "a{300}",
            "\\d",
            ".",
            "x:y",
            "(?:(?:(?:a)+)*)?",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for ranges in [
            &[
                "10.0.0.0/8",
                "172.16.0.0/12",
                "192.168.0.0/16",
                "127.0.0.0/8",
            ][..],
            &["0.0.0.0/0"],
            &["1.2.3.4/32", "100.64.0.0/10", "169.254.0.0/16"],
            &["::1/128", "fe80::/10", "fc00::/7"],
            &["2001:db8::/32", "2001:db8:1234:5678::/61", "::ffff:0:0/96"],
            &["::/0", "10.0.0.0/8"],
        ] {
            let rs: Vec<crate::ir::Cidr> = ranges
                .iter()
                .map(|r| crate::ir::Cidr::parse(r).expect("range"))
                .collect();
            let p = crate::backend::cidr::pattern(&rs);
            for flavour in FLAVOURS {
                assert!(
                    translate_simple(&p, table(flavour)).is_some(),
                    "{flavour:?}: {p}"
                );
            }
            sources.push(p);
        }
        // Random strings over the alphabet (a fixed linear congruential sequence).
        let alphabet: Vec<char> = "^$(?:)|[]-09af:\\.*+{},2".chars().collect();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            let mut s = String::new();
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            for _ in 0..(x >> 60) + 1 {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                s.push(alphabet[((x >> 33) % alphabet.len() as u64) as usize]);
            }
            sources.push(s);
        }
        let mut taken = 0;
        for source in &sources {
            for flavour in FLAVOURS {
                let full = full(source, flavour);
                if let Some(p) = translate_simple(source, table(flavour)) {
                    taken += 1;
                    let want = full.unwrap_or_else(|e| {
                        panic!(
                            "{flavour:?}: {source:?} is refused ({}) but was written",
                            e.reason
                        )
                    });
                    assert_eq!(p, want.pattern, "{flavour:?}: {source:?}");
                }
            }
        }
        // About 5,900 of the 120,000 (source, flavour) pairs.
        assert!(taken > 3_000, "only {taken} took the shortcut");
    }

    /// A remembered translation is the one a fresh parse gives, for every flavour, whether the
    /// pattern is written or refused, on the first call and on the repeated one.
    #[test]
    fn remembered_translations_are_fresh_ones() {
        let long = |tail: &str| format!("(?i)^{}{tail}$", "ab[0-9]{1,3}\\.".repeat(12));
        let written = long("(?:x|y)+");
        // A look-behind never parses; `(?s)` later in the pattern is refused by the flavours
        // whose flags are options of the whole pattern.
        let refused = long("(?<=x)");
        let late_flag = long("(?s:.)");
        assert!(written.len() >= MEMO_MIN_LEN);
        for flavour in FLAVOURS {
            for source in [&written, &refused, &late_flag] {
                let fresh = translate_uncached(source, flavour);
                assert_eq!(translate(source, flavour), fresh, "{flavour:?}: {source}");
                assert_eq!(translate(source, flavour), fresh, "{flavour:?}: {source}");
            }
        }
        assert!(translate(&refused, Flavour::Pcre).is_err());
        assert!(translate(&written, Flavour::Pcre).is_ok());
    }

    /// Checks one flavour: every `(source, written)` pair, then every `(source, reason)`
    /// rejection (the reason is part of the message).
    fn check(flavour: Flavour, written: &[(&str, &str)], refused: &[(&str, &str)]) {
        for (source, want) in written {
            let got =
                translate(source, flavour).unwrap_or_else(|e| panic!("{source}: {}", e.reason));
            assert_eq!(got.pattern, *want, "{flavour:?}: {source}");
            if flavour != Flavour::Snowflake {
                assert_eq!(got.parameters, "", "{flavour:?}: {source}");
            }
        }
        for (source, why) in refused {
            let e = translate(source, flavour).expect_err(source).reason;
            assert!(e.contains(why), "{flavour:?}: {source}: {e}");
            assert!(e.contains(table(flavour).engine), "{e}");
        }
    }

    /// What every flavour refuses: the constructs SPEC §3.4 leaves out of the portable subset
    /// (`check_regex` rejects them first; a direct call gets a reason, not wrong text).
    const NOT_PORTABLE: &[(&str, &str)] = &[
        (r"[a[bc]]", "a class nested in a class"),
        (r"[a[^b]]", "negated class nested"),
        (r"[a-z&&[^aeiou]]", "class set operations"),
        (r"\<a\>", "word-start/word-end"),
        (r"(?R)a", "`R`"),
    ];

    const WB: &str = "(?:(?<=[0-9A-Za-z_])(?![0-9A-Za-z_])|(?<![0-9A-Za-z_])(?=[0-9A-Za-z_]))";
    const NWB: &str = "(?:(?<=[0-9A-Za-z_])(?=[0-9A-Za-z_])|(?<![0-9A-Za-z_])(?![0-9A-Za-z_]))";

    #[test]
    fn re2() {
        check(
            Flavour::Re2,
            &[
                // flags, as written (`x` applied, `u` dropped)
                (r"(?i)pass(word)?=", r"(?i)pass(word)?="),
                (r"a(?i:b)c(?-i)d", r"a(?i:b)c(?-i)d"),
                (r"(?x) a b # comment", "ab"),
                (r"(?x:a\ b)c", "(?:a b)c"),
                (r"(?u)a", "a"),
                // dot, anchors: RE2 means what SPEC means
                (r"(?s)a.b", r"(?s)a.b"),
                (r"(?m)^a$", r"(?m)^a$"),
                (r"\Aa\z", r"\Aa\z"),
                (r"\ba\B", r"\ba\B"),
                // Perl classes: ASCII in RE2 too
                (r"\d\D[\d\D]", r"\d\D[\d\D]"),
                (r"\w\W[\w\W]", r"\w\W[\w\W]"),
                (r"\s\S[\s\S]", r"\s\S[\s\S]"),
                (r"[[:^alpha:]\d]+?", r"[[:^alpha:]\d]+?"),
                // Unicode classes in RE2's names
                (
                    r"\p{Greek}\pL\P{Lu}\p{sc=Latin}",
                    r"\p{Greek}\pL\P{Lu}\p{Latin}",
                ),
                // literals: syntax escaped, controls as escapes, code points as themselves
                (r"say \x22hi\x22|it's", r#"say "hi"|it's"#),
                (r"\$\{jndi:(ldap|rmi)://", r"\$\{jndi:(ldap|rmi)://"),
                (r"[\]\-^a]", r"[\]\-\^a]"),
                ("a\nb\u{1}", r"a\nb\x{1}"),
                (r"\u00e9\U0001F600", "é😀"),
                // greed, counts, groups
                (r"(?U)a+b+?", r"(?U)a+b+?"),
                (r"\d{3}-\d{4}", r"\d{3}-\d{4}"),
                (r"(?<year>\d+)(?:x)", r"(?P<year>\d+)(?:x)"),
            ],
            &[
                (r"\p{Letter}", "Unicode class `Letter`"),
                (r"\p{Greek_Letter}", "Unicode class"),
                (r"\p{Age=3.0}", "Unicode property `Age`"),
                (r"a{1001}", "stop at 1000"),
                (r"(?-u:\w)", "(?-u)"),
            ],
        );
        check(Flavour::Re2, &[], NOT_PORTABLE);
    }

    #[test]
    fn are() {
        check(
            Flavour::Are,
            &[
                // flags: options of the whole pattern (`m` is ARE's `w`); `s` only changes `.`
                (r"(?i)\bcurl", &format!("(?i){WB}curl")),
                (r"(?m)^a$", r"(?w)^a$"),
                (r"(?mi)a", r"(?iw)a"),
                (r"(?s)a.b", r"a.b"),
                (r"a.(?s:.)", r"a[^\n](?:.)"),
                (r"(?x) a b", "ab"),
                // dot, anchors
                (r"a.b", r"a[^\n]b"),
                (r"\Ax\z", r"\Ax\Z"),
                (r"\Bx", &format!("{NWB}x")),
                // Perl classes, spelled out
                (r"\d+[\w-]\s", r"[0-9]+[0-9A-Za-z_\-][\t\n\f\r ]"),
                (r"\D\W\S", r"[^0-9][^0-9A-Za-z_][^\t\n\f\r ]"),
                // POSIX classes as ASCII ranges (ARE's follow the locale)
                (r"[[:alpha:][:punct:]]", r"[A-Za-z!-/:-@\[-`{-~]"),
                (r"[[:cntrl:]]", r"[\u0000-\u001f\u007f]"),
                // literals
                (r"\x41B\x{27}\u0020", r"AB' "),
                (r"[.\]^]x", r"[.\]\^]x"),
                ("a\u{1}", r"a\u0001"),
                // greed resolved, groups plain
                (r"(?U)a+b+?", r"a+?b+"),
                (r"(?P<n>a)(?:b)", r"(a)(?:b)"),
                (r"a{2,255}", r"a{2,255}"),
            ],
            &[
                (r"a(?i)b", "put them at the start"),
                (r"(?i:a)", "put them at the start"),
                (r"a|(?m)b", "put them at the start"),
                (r"[\D]", r"`\D` inside a character class"),
                (r"[\W]", r"`\W` inside a character class"),
                (r"[\S]", r"`\S` inside a character class"),
                (r"[[:^alpha:]]", "negated class"),
                (r"\p{Greek}", "Unicode classes"),
                (r"a{256}", "stop at 255"),
            ],
        );
        check(Flavour::Are, &[], NOT_PORTABLE);
    }

    #[test]
    fn java() {
        check(
            Flavour::Java,
            &[
                // flags: only `i` is written, with `u` (Java's `(?i)` alone is ASCII)
                (r"(?i)ab(?-i)c", r"(?iu)ab(?-i)c"),
                (r"a(?i:b)c", r"a(?iu:b)c"),
                (r"(?is)a", r"(?iu)a"),
                // dot: Java's also skips `\r`, U+0085, U+2028, U+2029
                (r"a.b", r"a[^\n]b"),
                (r"(?s)a.b", r"a(?s:.)b"),
                // anchors: Java's `$` also matches before a final line terminator
                (r"^a$", r"^a\z"),
                (r"(?m)^a$", r"(?<![^\n])a(?![^\n])"),
                (r"\Aa\z", r"\Aa\z"),
                // `\b` by ASCII word characters (Java's follows Unicode letters)
                (r"\bx\B", &format!("{WB}x{NWB}")),
                // Perl classes: `\s` spelled out (Java's has VT)
                (r"\d\D[\d\D]", r"[0-9][^0-9][0-9\D]"),
                (r"\w\W[\w\W]", r"[0-9A-Za-z_][^0-9A-Za-z_][0-9A-Za-z_\W]"),
                (r"\s\S[\s\S]", r"[\t\n\f\r ][^\t\n\f\r ][\t\n\f\r \S\x{b}]"),
                // POSIX classes: Java has no `[:name:]`
                (r"[[:alpha:]][[:^digit:]]", r"[A-Za-z][\P{Digit}]"),
                // Unicode classes: categories as they are, scripts with `Is`
                (r"\pL\P{Lu}\p{Greek}", r"\p{L}\P{Lu}\p{IsGreek}"),
                // literals: `&` in a class (Java's `&&` is intersection)
                (r"[a\&\&b]", r"[a\&\&b]"),
                (r"a\.b\[\x{1}", r"a\.b\[\x{1}"),
                // greed resolved (Java's `(?U)` means Unicode classes), names dropped
                (r"(?U)a+b+?", r"a+?b+"),
                (r"(?P<n>a)(?:b)", r"(a)(?:b)"),
                (r"a{2000}", r"a{2000}"),
            ],
            &[
                (r"(?i)\p{Lu}", "case-folded"),
                (r"\p{Any}", "`Any`"),
                (r"\p{Letter}", "Unicode class"),
                (r"(?-u)a", "(?-u)"),
            ],
        );
        check(Flavour::Java, &[], NOT_PORTABLE);
    }

    #[test]
    fn snowflake() {
        // The leading flags become parameters, in the order they were set.
        for (source, pattern, parameters) in [
            (r"(?i)a", "a", "i"),
            (r"(?s)a.b", "a.b", "s"),
            (r"(?m)^a$", "^a$", "m"),
            (r"(?is)a", "a", "is"),
            (r"(?im)^a", "^a", "im"),
            (r"(?i)(?s)a", "a", "is"),
            (r"(?sm)(?x)a b", "ab", "sm"),
            (r"(?i)(?-i)a", "a", ""),
            (r"(?i)a|b", "a|b", "i"),
            (r"(?U)a+", "a+", ""),
        ] {
            let r = translate(source, Flavour::Snowflake).unwrap();
            assert_eq!(
                (r.pattern.as_str(), r.parameters.as_str()),
                (pattern, parameters)
            );
        }
        check(
            Flavour::Snowflake,
            &[
                // anchors: `\A`/`\z` are `^`/`$` without `m`
                (r"\Aa\z", r"^a$"),
                (r"\ba\B", r"\ba\B"),
                // Perl classes as Snowflake documents them
                (r"\d\D[\d\D]", r"\d\D[\d\D]"),
                (r"\w\W[\w\W]", r"\w\W[\w\W]"),
                (r"\s\S[\s\S]", r"\s\S[\s\S]"),
                (r"[[:alpha:]]", r"[[:alpha:]]"),
                // literals: control characters stay (the SQL literal escapes them)
                ("a\\.b\t[\\]]", "a\\.b\t[\\]]"),
                // greed dropped (a search finds a match either way), plain groups only
                (r"a+?b*?", r"a+b*"),
                (r"(?P<n>a)(?:b)", r"(a)(b)"),
            ],
            &[
                (r"a(?i)b", "put them at the start"),
                (r"(?i:a)b", "put them at the start"),
                (r"(?i)a(?-i)b", "put them at the start"),
                (r"(?m)\Aa", r"`\A` under `(?m)`"),
                (r"(?m)a\z", r"`\z` under `(?m)`"),
                (r"[[:^alpha:]]", "negated class"),
                (r"\pL", "Unicode classes"),
            ],
        );
        check(Flavour::Snowflake, &[], NOT_PORTABLE);
    }

    #[test]
    fn rust() {
        check(
            Flavour::Rust,
            &[
                (
                    r"(?i)a(?-i:b)(?m)^(?s).(?U)a+",
                    r"(?i)a(?-i:b)(?m)^(?s).(?U)a+",
                ),
                (r"(?-u:a)", r"(?-u:a)"),
                (r"a.b$", r"a.b$"),
                (r"\Aa\z", r"\Aa\z"),
                (r"\bx\B", r"(?-u:\b)x(?-u:\B)"),
                (r"\d\D[\d\D]", r"[0-9][^0-9][0-9[:^digit:]]"),
                (
                    r"\w\W[\w\W]",
                    r"[0-9A-Za-z_][^0-9A-Za-z_][0-9A-Za-z_[:^word:]]",
                ),
                (
                    r"\s\S[\s\S]",
                    r"[\t\n\f\r ][^\t\n\f\r ][\t\n\f\r [:^space:]\x0B]",
                ),
                (r"[[:^alpha:]]", r"[[:^alpha:]]"),
                (r"\pL\P{Greek}\p{sc=Latin}", r"\pL\P{Greek}\p{sc=Latin}"),
                ("a\\.b[\\-&~]\t", r"a\.b[\-\&\~]\x{9}"),
                (r"a+?", r"a+?"),
                (r"(?P<n>a)(?:b){2}", r"(?P<n>a)(?:b){2}"),
            ],
            &[],
        );
        check(Flavour::Rust, &[], NOT_PORTABLE);
    }

    /// The SPEC form really has the SPEC's meaning in the `regex` crate.
    #[test]
    fn rust_form_is_ascii() {
        let re =
            |s: &str| regex::Regex::new(&translate(s, Flavour::Rust).unwrap().pattern).unwrap();
        assert!(!re(r"\d").is_match("٣"));
        assert!(!re(r"\w").is_match("é"));
        assert!(re(r"x\b").is_match("xé"));
        assert!(!re(r"\s").is_match("\u{b}"));
        assert!(re(r"[\S]").is_match("\u{b}"));
        assert!(!re(r"[\S]").is_match(" "));
        assert!(re(r"[^\D]").is_match("7") && !re(r"[^\D]").is_match("٣"));
    }

    #[test]
    fn pcre() {
        check(
            Flavour::Pcre,
            &[
                (r"(?i)ab(?-i)c", r"(?i)ab(?-i)c"),
                (r"(?P<n>a)(?i:b)", r"(a)(?i:b)"),
                (r"a.b$", r"a[^\n]b\z"),
                (r"(?s)a.b", r"a(?s:.)b"),
                (r"(?m)^a$", r"(?<![^\n])a(?![^\n])"),
                (r"\bx\B", &format!("{WB}x{NWB}")),
                (r"\d+[\w-]\s", r"[0-9]+[0-9A-Za-z_\-][\t\n\f\r\ ]"),
                (
                    r"[^\D][\W][\S]",
                    r"[^[:^digit:]][[:^word:]][[:^space:]\x{B}]",
                ),
                (r"[[:alpha:]-]", r"[[:alpha:]\-]"),
                (r"\pL\P{Greek}", r"\p{L}\P{Greek}"),
                (r"\$`", r"\x{24}\x{60}"),
                (r"(?U)a+b+?", r"a+?b+"),
                (r"(?x) a b # c", r"ab"),
                (r"x{2,}y{1,3}", r"x{2,}y{1,3}"),
            ],
            &[
                (r"(?i)\p{Lu}", "case-folded"),
                (r"\p{Script=Greek}", "name=value"),
                (r"\p{Linear_B}", "no certain PCRE spelling"),
                (r"a{65536}", "stop at 65535"),
                (r"(?-u)a", "(?-u)"),
            ],
        );
        check(Flavour::Pcre, &[], NOT_PORTABLE);
    }

    #[test]
    fn literal_text() {
        assert_eq!(
            literal("a.b*$`\n é", Flavour::Pcre),
            r"a\.b\*\x{24}\x{60}\x{A}\ é"
        );
        assert_eq!(literal("a.b*[", Flavour::Re2), r"a\.b\*\[");
    }
}
