//! The Splunk SPL backend. No Splunk runs here, so every emitted search goes through a
//! well-formedness checker for the subset of SPL ruleqc writes (below, with its own negative
//! tests); the lowering of each construct, each trap (case, missing fields under negation,
//! wildcards and regex metacharacters in values, hostile strings, nested and array access,
//! quantifiers) and each documented divergence (docs/targets/splunk.md) has a test; the search
//! of every rule in rules/ is an insta snapshot under snapshots/spl/, reviewed by hand.

use ruleqc::backend::spl::{regex_literal, render_query, render_search, string_expr, to_pcre};
use ruleqc::ir::{Node, lower::lower_condition, normalize::normalize};
use ruleqc::rule::{Rule, load_paths};

// =============================================================================================
// The checker

mod check {
    //! A tokenizer and recursive-descent parser for the SPL ruleqc emits:
    //!
    //! ```text
    //! search   := base ("|" command)*
    //! base     := group+                      group := TERM | "(" disj ")"
    //! disj     := conj ("OR" conj)*           conj  := group+
    //! TERM     := name "=" "string"           (the first group names sourcetype)
    //! command  := "where" expr | "eval" name "=" expr ("," name "=" expr)*
    //!           | "table" arg+ | "fields" "-" name ("," name)* | "rename" name "AS" "string"
    //! expr     := or;  or := and ("OR" and)*;  and := not ("AND" not)*;  not := "NOT" not | cmp
    //! cmp      := cat (("=="|"!="|">="|"<="|">"|"<") cat)?
    //! cat      := unary ("." unary)*;  unary := "-" NUMBER | primary
    //! primary  := NUMBER | "string" | 'field' | ident | ident "(" args ")" | "(" expr ")"
    //! ```
    //!
    //! Checked besides the grammar: no raw control character (newline, tab, ...) or backtick
    //! anywhere; strings use only the escapes `\\` and `\"`; a term value has no `*`; bare
    //! names in eval are plain identifiers (anything else must be single-quoted); known
    //! functions with the right arity and argument kinds (booleans where SPL wants a predicate);
    //! `mvfilter` reads exactly one field; every regex argument (`match`, `mvfind`) is a
    //! well-formed pattern (balanced groups and classes, no dangling escape).

    use std::collections::BTreeSet;

    #[derive(Clone, Debug, PartialEq)]
    enum Tok {
        Str(String),
        Field(String),
        Word(String),
        Num(String),
        Op(&'static str),
    }

    fn lex(src: &str, search_mode: bool) -> Result<Vec<Tok>, String> {
        let chars: Vec<char> = src.chars().collect();
        let mut i = 0;
        let mut out = Vec::new();
        while i < chars.len() {
            let c = chars[i];
            if c == ' ' {
                i += 1;
                continue;
            }
            if c == '"' {
                let mut s = String::new();
                i += 1;
                loop {
                    let Some(&d) = chars.get(i) else {
                        return Err("unterminated string".into());
                    };
                    match d {
                        '"' => break,
                        '\\' => match chars.get(i + 1) {
                            Some('\\') => {
                                s.push('\\');
                                i += 1;
                            }
                            Some('"') => {
                                s.push('"');
                                i += 1;
                            }
                            other => return Err(format!("invalid escape \\{other:?} in a string")),
                        },
                        d => s.push(d),
                    }
                    i += 1;
                }
                i += 1;
                out.push(Tok::Str(s));
                continue;
            }
            if c == '\'' && !search_mode {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated quoted field name".into()),
                        Some('\'') => break,
                        Some('\\') => return Err("backslash in a quoted field name".into()),
                        Some(&d) => s.push(d),
                    }
                    i += 1;
                }
                i += 1;
                if s.is_empty() {
                    return Err("empty quoted field name".into());
                }
                out.push(Tok::Field(s));
                continue;
            }
            let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
            if let Some(op) = ["==", "!=", ">=", "<="].into_iter().find(|o| *o == two) {
                out.push(Tok::Op(op));
                i += 2;
                continue;
            }
            if let Some(op) = ["(", ")", ",", "=", ">", "<", "|", "-", "."]
                .into_iter()
                .find(|o| o.starts_with(c))
            {
                // In the base search and in names a `.`/`-` is part of a word.
                if !(search_mode && (c == '.' || c == '-')) {
                    out.push(Tok::Op(op));
                    i += 1;
                    continue;
                }
            }
            if c.is_ascii_digit() {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_digit()
                        || chars[i] == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())
                        || matches!(chars[i], 'e' | 'E'))
                {
                    i += 1;
                }
                out.push(Tok::Num(chars[start..i].iter().collect()));
                continue;
            }
            let word_char = |d: char| {
                d.is_ascii_alphanumeric()
                    || d == '_'
                    || (search_mode && matches!(d, '.' | '{' | '}' | '-' | '@' | '*' | '$'))
            };
            if word_char(c) {
                let start = i;
                while i < chars.len() && word_char(chars[i]) {
                    i += 1;
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
                continue;
            }
            return Err(format!("unexpected character {c:?}"));
        }
        Ok(out)
    }

    /// Splits a search at `|` outside strings and quoted names.
    fn pipeline(src: &str) -> Result<Vec<String>, String> {
        let mut parts = Vec::new();
        let mut cur = String::new();
        let mut quote: Option<char> = None;
        let mut esc = false;
        for c in src.chars() {
            match quote {
                Some(q) => {
                    cur.push(c);
                    if esc {
                        esc = false;
                    } else if c == '\\' && q == '"' {
                        esc = true;
                    } else if c == q {
                        quote = None;
                    }
                }
                None if c == '|' => parts.push(std::mem::take(&mut cur)),
                None => {
                    if c == '"' || c == '\'' {
                        quote = Some(c);
                    }
                    cur.push(c);
                }
            }
        }
        if quote.is_some() {
            return Err("unterminated quote".into());
        }
        parts.push(cur);
        Ok(parts)
    }

    /// Checks a whole search; `Err` says what is wrong.
    pub fn search(src: &str) -> Result<(), String> {
        if let Some(c) = src.chars().find(|c| c.is_control()) {
            return Err(format!("raw control character {c:?} in the search"));
        }
        if src.contains('`') {
            return Err("a backtick (macro call) in the search".into());
        }
        let parts = pipeline(src)?;
        base(parts[0].trim())?;
        let mut seen_where = false;
        for (k, part) in parts.iter().enumerate().skip(1) {
            let part = part.trim();
            let (cmd, rest) = part.split_once(' ').unwrap_or((part, ""));
            match cmd {
                "where" => {
                    if seen_where {
                        return Err("two `where` commands".into());
                    }
                    seen_where = true;
                    let mut p = Parser::new(lex(rest, false)?);
                    let kind = p.expr()?;
                    p.end()?;
                    if kind != Kind::Bool {
                        return Err("`where` needs a boolean expression".into());
                    }
                }
                "eval" => {
                    let mut p = Parser::new(lex(rest, false)?);
                    loop {
                        match p.next() {
                            Some(Tok::Word(w)) if is_ident(&w) => {}
                            t => return Err(format!("`eval` needs a field name, found {t:?}")),
                        }
                        p.expect(Tok::Op("="))?;
                        if p.expr()? == Kind::Bool {
                            return Err("`eval` cannot store a boolean".into());
                        }
                        if p.peek() == Some(&Tok::Op(",")) {
                            p.next();
                            continue;
                        }
                        p.end()?;
                        break;
                    }
                }
                "table" => {
                    let toks = lex(rest, true)?;
                    if toks.is_empty() {
                        return Err("`table` without fields".into());
                    }
                    for t in toks {
                        match t {
                            Tok::Word(_) | Tok::Str(_) => {}
                            t => return Err(format!("bad `table` argument {t:?}")),
                        }
                    }
                    if k != parts.len() - 1 {
                        return Err("`table` must be the last command".into());
                    }
                }
                "fields" => {
                    let toks = lex(rest, false)?;
                    if toks.first() != Some(&Tok::Op("-")) || toks.len() < 2 {
                        return Err("`fields` must remove fields: `fields - a, b`".into());
                    }
                    for (j, t) in toks.iter().enumerate().skip(1) {
                        let ok = if j % 2 == 1 {
                            matches!(t, Tok::Word(w) if is_ident(w))
                        } else {
                            *t == Tok::Op(",")
                        };
                        if !ok {
                            return Err(format!("bad `fields` argument {t:?}"));
                        }
                    }
                }
                "rename" => {
                    let toks = lex(rest, false)?;
                    match toks.as_slice() {
                        [Tok::Word(a), Tok::Word(as_), Tok::Str(_)]
                            if is_ident(a) && as_ == "AS" => {}
                        _ => return Err(format!("bad `rename`: {rest}")),
                    }
                }
                "" => return Err("empty command in the pipeline".into()),
                other => return Err(format!("unknown command `{other}`")),
            }
        }
        Ok(())
    }

    fn is_ident(w: &str) -> bool {
        w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && ![
                "and", "or", "not", "xor", "like", "in", "true", "false", "null",
            ]
            .contains(&w.to_ascii_lowercase().as_str())
    }

    /// The base search: sourcetype term(s), then prefilter terms.
    fn base(src: &str) -> Result<(), String> {
        if src.is_empty() {
            return Err("empty base search".into());
        }
        let toks = lex(src, true)?;
        let mut p = Parser::new(toks);
        let first = p.pos;
        let mut groups = 0;
        while p.peek().is_some() {
            p.search_group()?;
            groups += 1;
        }
        // The first group is the sourcetype term or an OR of them.
        let names = p.term_names[first..].to_vec();
        if groups == 0 || names.first().map(String::as_str) != Some("sourcetype") {
            return Err("the search must start with sourcetype=".into());
        }
        Ok(())
    }

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Kind {
        Bool,
        Value,
    }

    struct Parser {
        toks: Vec<Tok>,
        pos: usize,
        term_names: Vec<String>,
        fields: BTreeSet<String>,
    }

    impl Parser {
        fn new(toks: Vec<Tok>) -> Parser {
            Parser {
                toks,
                pos: 0,
                term_names: Vec::new(),
                fields: BTreeSet::new(),
            }
        }

        fn peek(&self) -> Option<&Tok> {
            self.toks.get(self.pos)
        }

        fn next(&mut self) -> Option<Tok> {
            let t = self.toks.get(self.pos).cloned();
            self.pos += 1;
            t
        }

        fn expect(&mut self, t: Tok) -> Result<(), String> {
            match self.next() {
                Some(x) if x == t => Ok(()),
                x => Err(format!("expected {t:?}, found {x:?}")),
            }
        }

        fn end(&self) -> Result<(), String> {
            match self.peek() {
                None => Ok(()),
                Some(t) => Err(format!("unexpected {t:?} after the expression")),
            }
        }

        fn is_word(&self, w: &str) -> bool {
            matches!(self.peek(), Some(Tok::Word(x)) if x == w)
        }

        // ---- base search

        fn search_group(&mut self) -> Result<(), String> {
            if self.peek() == Some(&Tok::Op("(")) {
                self.next();
                loop {
                    // A conjunction of groups up to OR or ")".
                    let mut n = 0;
                    while !self.is_word("OR") && self.peek() != Some(&Tok::Op(")")) {
                        if self.peek().is_none() {
                            return Err("unbalanced parentheses in the search".into());
                        }
                        self.search_group()?;
                        n += 1;
                    }
                    if n == 0 {
                        return Err("empty operand of OR".into());
                    }
                    if self.is_word("OR") {
                        self.next();
                        continue;
                    }
                    self.expect(Tok::Op(")"))?;
                    return Ok(());
                }
            }
            match self.next() {
                Some(Tok::Word(name)) => {
                    if name.contains('*') || name == "OR" || name == "AND" || name == "NOT" {
                        return Err(format!("bad field name in a term: {name}"));
                    }
                    self.expect(Tok::Op("="))?;
                    match self.next() {
                        Some(Tok::Str(v)) if !v.contains('*') => {}
                        Some(Tok::Str(_)) => {
                            return Err("a term value with `*` is a wildcard".into());
                        }
                        t => return Err(format!("a term needs a quoted value, found {t:?}")),
                    }
                    self.term_names.push(name);
                    Ok(())
                }
                t => Err(format!("expected a term, found {t:?}")),
            }
        }

        // ---- eval expressions

        fn expr(&mut self) -> Result<Kind, String> {
            let mut k = self.and()?;
            while self.is_word("OR") {
                self.next();
                self.need(k, Kind::Bool, "OR")?;
                let r = self.and()?;
                self.need(r, Kind::Bool, "OR")?;
                k = Kind::Bool;
            }
            Ok(k)
        }

        fn need(&self, got: Kind, want: Kind, what: &str) -> Result<(), String> {
            if got == want {
                Ok(())
            } else {
                Err(format!("{what} needs a {want:?} operand, found a {got:?}"))
            }
        }

        fn and(&mut self) -> Result<Kind, String> {
            let mut k = self.not()?;
            while self.is_word("AND") {
                self.next();
                self.need(k, Kind::Bool, "AND")?;
                let r = self.not()?;
                self.need(r, Kind::Bool, "AND")?;
                k = Kind::Bool;
            }
            Ok(k)
        }

        fn not(&mut self) -> Result<Kind, String> {
            if self.is_word("NOT") {
                self.next();
                let k = self.not()?;
                self.need(k, Kind::Bool, "NOT")?;
                return Ok(Kind::Bool);
            }
            self.cmp()
        }

        fn cmp(&mut self) -> Result<Kind, String> {
            let l = self.cat()?;
            if let Some(Tok::Op(op)) = self.peek()
                && ["==", "!=", ">=", "<=", ">", "<"].contains(op)
            {
                let op = *op;
                self.next();
                self.need(l, Kind::Value, op)?;
                let r = self.cat()?;
                self.need(r, Kind::Value, op)?;
                return Ok(Kind::Bool);
            }
            Ok(l)
        }

        fn cat(&mut self) -> Result<Kind, String> {
            let start = self.pos;
            let k = self.unary()?;
            if self.peek() != Some(&Tok::Op(".")) {
                return Ok(k);
            }
            self.cat_operand(start)?;
            while self.peek() == Some(&Tok::Op(".")) {
                self.next();
                let s = self.pos;
                self.unary()?;
                self.cat_operand(s)?;
            }
            Ok(Kind::Value)
        }

        /// A concatenation joins strings, calls and index variables; a bare name would be a
        /// dotted field name written without quotes (`a.b`).
        fn cat_operand(&self, at: usize) -> Result<(), String> {
            match &self.toks[at] {
                Tok::Str(_) => Ok(()),
                Tok::Word(w) if w.starts_with("ruleqc_") => Ok(()),
                Tok::Word(w) if self.toks.get(at + 1) == Some(&Tok::Op("(")) && !w.is_empty() => {
                    Ok(())
                }
                t => Err(format!(
                    "{t:?} in a concatenation: a dotted field name must be single-quoted"
                )),
            }
        }

        fn unary(&mut self) -> Result<Kind, String> {
            if self.peek() == Some(&Tok::Op("-")) {
                self.next();
                return match self.next() {
                    Some(Tok::Num(_)) => Ok(Kind::Value),
                    t => Err(format!("`-` before {t:?}")),
                };
            }
            self.primary()
        }

        fn primary(&mut self) -> Result<Kind, String> {
            match self.next() {
                Some(Tok::Num(_)) | Some(Tok::Str(_)) => Ok(Kind::Value),
                Some(Tok::Field(f)) => {
                    self.fields.insert(f);
                    Ok(Kind::Value)
                }
                Some(Tok::Op("(")) => {
                    let k = self.expr()?;
                    self.expect(Tok::Op(")"))?;
                    Ok(k)
                }
                Some(Tok::Word(w)) if self.peek() == Some(&Tok::Op("(")) => self.call(&w),
                Some(Tok::Word(w)) if is_ident(&w) => {
                    self.fields.insert(w);
                    Ok(Kind::Value)
                }
                t => Err(format!("unexpected {t:?} in an expression")),
            }
        }

        fn call(&mut self, name: &str) -> Result<Kind, String> {
            use Kind::*;
            // (min args, max args, argument kinds (last repeats), result)
            let (min, max, args, result): (usize, usize, &[Kind], Kind) = match name {
                "isnull" | "isnotnull" => (1, 1, &[Value], Bool),
                "match" => (2, 2, &[Value, Value], Bool),
                "true" | "false" => (0, 0, &[], Bool),
                "lower" | "len" | "urldecode" | "mvcount" => (1, 1, &[Value], Value),
                "tostring" | "tonumber" => (1, 2, &[Value], Value),
                "substr" => (2, 3, &[Value], Value),
                "json_extract" => (1, 8, &[Value], Value),
                "json_extract_exact" => (2, 2, &[Value], Value),
                "json_array_to_mv" => (1, 2, &[Value, Bool], Value),
                "mvfind" => (2, 2, &[Value, Value], Value),
                "mvmap" => (2, 2, &[Value, Value], Value),
                "mvfilter" => (1, 1, &[Bool], Value),
                "mvrange" => (2, 3, &[Value], Value),
                "coalesce" => (1, 16, &[Value], Value),
                "if" => (3, 3, &[Bool, Value, Value], Value),
                other => return Err(format!("unknown function `{other}`")),
            };
            self.expect(Tok::Op("("))?;
            let outer = std::mem::take(&mut self.fields);
            let mut n = 0;
            let mut regex_arg: Option<String> = None;
            if self.peek() != Some(&Tok::Op(")")) {
                loop {
                    let want = args.get(n).or(args.last()).copied().unwrap_or(Value);
                    let at = self.pos;
                    let k = self.expr()?;
                    if k != want {
                        return Err(format!("argument {} of {name}() must be a {want:?}", n + 1));
                    }
                    if (name == "match" || name == "mvfind") && n == 1 {
                        match (&self.toks[at], self.pos == at + 1) {
                            (Tok::Str(s), true) => regex_arg = Some(s.clone()),
                            _ => return Err(format!("the regex of {name}() must be a literal")),
                        }
                    }
                    if name == "mvmap"
                        && n == 0
                        && !matches!(&self.toks[at], Tok::Word(w) if self.pos == at + 1 && is_ident(w))
                    {
                        return Err("mvmap() iterates a field named by its first argument".into());
                    }
                    n += 1;
                    if self.peek() == Some(&Tok::Op(",")) {
                        self.next();
                        continue;
                    }
                    break;
                }
            }
            self.expect(Tok::Op(")"))?;
            if n < min || n > max {
                return Err(format!("{name}() takes {min}..={max} arguments, got {n}"));
            }
            if name == "mvfilter" && self.fields.len() != 1 {
                return Err(format!(
                    "mvfilter() must read exactly one field, reads {:?}",
                    self.fields
                ));
            }
            if let Some(re) = regex_arg {
                regex(&re)?;
            }
            let inner = std::mem::replace(&mut self.fields, outer);
            self.fields.extend(inner);
            Ok(result)
        }
    }

    /// A PCRE is well formed: escapes complete, classes closed, groups balanced, no raw
    /// control characters.
    pub fn regex(re: &str) -> Result<(), String> {
        let chars: Vec<char> = re.chars().collect();
        let mut depth = 0i32;
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                c if c.is_control() => return Err(format!("raw {c:?} in a regex")),
                '\\' => {
                    i += 1;
                    if i >= chars.len() {
                        return Err("regex ends with a backslash".into());
                    }
                }
                '[' => {
                    i += 1;
                    if chars.get(i) == Some(&'^') {
                        i += 1;
                    }
                    if chars.get(i) == Some(&']') {
                        i += 1;
                    }
                    loop {
                        match chars.get(i) {
                            None => return Err("unclosed character class".into()),
                            Some('\\') => i += 1,
                            Some('[') if chars.get(i + 1) == Some(&':') => {
                                let rest: String = chars[i..].iter().collect();
                                let end = rest.find(":]").ok_or("unclosed POSIX class")?;
                                i += rest[..end].chars().count() + 1;
                            }
                            Some(']') => break,
                            _ => {}
                        }
                        i += 1;
                    }
                }
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth < 0 {
                        return Err("unbalanced `)` in a regex".into());
                    }
                }
                _ => {}
            }
            i += 1;
        }
        if depth != 0 {
            return Err("unbalanced `(` in a regex".into());
        }
        Ok(())
    }
}

#[test]
fn the_checker_accepts_the_subset() {
    for ok in [
        r#"sourcetype="A""#,
        r#"(sourcetype="A" OR sourcetype="B") a="x" (b="y" OR (c="z" d="w")) | where a == "x""#,
        r#"sourcetype="A" | where 'a.b' == ("x" . urldecode("%0A")) AND NOT isnull(c)"#,
        r#"sourcetype="A" | eval ruleqc_i1=mvrange(0, coalesce(mvcount(json_array_to_mv(json_extract(_raw, "a"))), 0)) | where isnotnull(mvfind(mvmap(ruleqc_i1, if(json_extract(_raw, "a{" . ruleqc_i1 . "}.b") == "x", "1", "0")), "^1$")) | fields - ruleqc_i1"#,
        r#"sourcetype="A" | where coalesce(mvcount(mvfilter('a{}' == "x" OR match('a{}', "\\Ax\\z"))), 0) > 0 | table a a{}* "b c""#,
        r#"sourcetype="A" | where len(a) >= 2 AND substr(a, -2) == "xy" | eval ruleqc_o1=json_extract(_raw, "a{0}") | rename ruleqc_o1 AS "a{0}" | table "a{0}""#,
    ] {
        if let Err(e) = check::search(ok) {
            panic!("rejected {ok}: {e}");
        }
    }
}

#[test]
fn the_checker_rejects_broken_searches() {
    for (bad, why) in [
        (r#"sourcetype="A"#, "unterminated string"),
        ("sourcetype=\"A\" | where a == \"x\ny\"", "raw newline"),
        (
            r#"sourcetype="A" | where a == "x\ny""#,
            "unknown escape \\n",
        ),
        (r#"sourcetype="A" | where (a == "x""#, "unbalanced ("),
        (r#"sourcetype="A" | where a == "x")"#, "unbalanced )"),
        (
            r#"sourcetype="A" | where 'a.b == "x""#,
            "unterminated field quote",
        ),
        (
            r#"sourcetype="A" | where a.b == "x""#,
            "dotted name unquoted",
        ),
        (r#"sourcetype="A" | where argv{} == "x""#, "braces unquoted"),
        (
            r#"sourcetype="A" a="x*" | where a == "x*""#,
            "wildcard term",
        ),
        (r#"a="x" | where a == "x""#, "no sourcetype"),
        (r#"sourcetype="A" | | where a == "x""#, "empty command"),
        (r#"sourcetype="A" | where a"#, "where needs a boolean"),
        (r#"sourcetype="A" | where NOT "x""#, "NOT of a value"),
        (r#"sourcetype="A" | where frob(a) == 1"#, "unknown function"),
        (r#"sourcetype="A" | where match(a) "#, "arity"),
        (r#"sourcetype="A" | where isnull(a, b)"#, "arity"),
        (
            r#"sourcetype="A" | where coalesce(mvcount(mvfilter(a == b)), 0) > 0"#,
            "mvfilter two fields",
        ),
        (r#"sourcetype="A" | where match(a, "(x")"#, "regex group"),
        (r#"sourcetype="A" | where match(a, "[x")"#, "regex class"),
        (
            r#"sourcetype="A" | where match(a, "x\\")"#,
            "regex dangling escape",
        ),
        (r#"sourcetype="A" | where a == `m`"#, "backtick"),
        (
            r#"sourcetype="A" | where a == "x" | where b == "y""#,
            "two where",
        ),
        (
            r#"sourcetype="A" | table a | where a == "x""#,
            "table not last",
        ),
        (r#"sourcetype="A" | search a"#, "unknown command"),
        (
            r#"sourcetype="A" (a="x" OR) | where a == "x""#,
            "empty OR operand",
        ),
        (
            r#"sourcetype="A" | where if(a, "1", "0") == "1""#,
            "if needs a predicate",
        ),
    ] {
        assert!(check::search(bad).is_err(), "accepted ({why}): {bad}");
    }
}

// =============================================================================================
// Helpers

fn rules(dir: &str) -> Vec<Rule> {
    load_paths(&[dir.into()])
        .expect(dir)
        .into_iter()
        .map(|l| {
            *l.result
                .unwrap_or_else(|e| panic!("{}: {e:?}", l.file.path))
        })
        .collect()
}

fn compile(condition: &str) -> Node {
    let ast = ruleqc::syntax::parse(condition).unwrap_or_else(|e| panic!("{condition}: {e:?}"));
    normalize(lower_condition(&ast).unwrap_or_else(|e| panic!("{condition}: {e:?}")))
}

/// The checked search for a condition (log type `Test`).
fn spl(condition: &str) -> String {
    let s = render_search(&compile(condition)).unwrap_or_else(|e| panic!("{condition}: {e:?}"));
    if let Err(e) = check::search(&s) {
        panic!("{condition}: the checker rejects the search: {e}\n{s}");
    }
    s
}

/// The `| where` expression of a condition's search.
fn filter(condition: &str) -> String {
    let s = spl(condition);
    let at = s
        .find(" | where ")
        .unwrap_or_else(|| panic!("no where: {s}"));
    let rest = &s[at + " | where ".len()..];
    rest.split(" | ").next().unwrap().to_string()
}

/// The base search and prefilter terms.
fn terms(condition: &str) -> String {
    spl(condition).split(" | ").next().unwrap().to_string()
}

fn unsupported(condition: &str) -> String {
    match render_search(&compile(condition)) {
        Ok(s) => panic!("{condition}: expected E0401, got {s}"),
        Err(u) => u.reason,
    }
}

/// Decodes an eval string expression written by `string_expr`: `"..."` literals and
/// `urldecode("%XX...")` joined by ` . `, in optional parentheses.
fn decode_string_expr(e: &str) -> String {
    let e = e
        .strip_prefix('(')
        .and_then(|x| x.strip_suffix(')'))
        .unwrap_or(e);
    let mut out = String::new();
    let mut rest = e;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("urldecode(\"") {
            let end = r.find("\")").unwrap();
            let bytes: Vec<u8> = r[..end]
                .split('%')
                .skip(1)
                .map(|h| u8::from_str_radix(h, 16).unwrap())
                .collect();
            out.push_str(&String::from_utf8(bytes).unwrap());
            rest = &r[end + 2..];
        } else {
            let r = rest.strip_prefix('"').expect("a literal");
            let mut chars = r.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => out.push(chars.next().unwrap().1),
                    '"' => {
                        end = Some(i);
                        break;
                    }
                    c => out.push(c),
                }
            }
            rest = &r[end.unwrap() + 1..];
        }
        rest = rest.strip_prefix(" . ").unwrap_or(rest);
    }
    out
}

const HOSTILE: &[&str] = &[
    "",
    "plain",
    r#"a"b"#,
    r"a\b",
    r#"\""#,
    "\\",
    "line\nbreak\r\n",
    "tab\there",
    "*",
    "a*b?c",
    "%_%",
    "| delete",
    "`macro`",
    "$token$",
    "' OR 1==1 '",
    "\u{0}\u{7f}\u{85}\u{2028}",
    "naïve ключ 🎉",
    r"^.*$[](){}+?|\d",
    r#"x") OR true() OR ("x"#,
];

// =============================================================================================
// Every rule and the conformance corpus compile to well-formed SPL

/// Compiles every rule of `dir`; returns the E0401 messages (a typed error, never bad SPL).
fn check_corpus(dir: &str) -> (usize, Vec<String>) {
    let mut n = 0;
    let mut unsupported = Vec::new();
    for rule in rules(dir) {
        match render_query(&rule) {
            Ok(q) => {
                if let Err(e) = check::search(&q) {
                    panic!("{}: the checker rejects the search: {e}\n{q}", rule.rule_id);
                }
                n += 1;
            }
            Err(e) => {
                assert_eq!(e.code, "E0401", "{e:?}");
                unsupported.push(format!("{}: {}", rule.rule_id, e.message));
            }
        }
    }
    (n, unsupported)
}

#[test]
fn every_rule_compiles_to_well_formed_spl() {
    let (n, unsupported) = check_corpus("rules");
    assert_eq!(unsupported, Vec::<String>::new());
    assert_eq!(n, 49);
}

#[test]
fn the_conformance_corpus_compiles_to_well_formed_spl() {
    let (n, mut unsupported) = check_corpus("tests/conformance");
    // SPEC §3.7 `field()` cannot be written exactly in SPL: a typed E0401, with the reason,
    // for each such rule.
    let before = unsupported.len();
    unsupported.retain(|u| {
        !(u.starts_with("Conformance.Field.")
            && (u.contains("`field()` between two numbers cannot be written in SPL")
                || u.contains("`field()` cannot be written in SPL: extracted fields")))
    });
    assert!(
        before - unsupported.len() >= 25,
        "{}",
        before - unsupported.len()
    );
    // Integer literals from 2^53 on, which eval's doubles cannot meet exactly (SPEC §3.4).
    let mut wide: Vec<&str> = unsupported
        .iter()
        .filter(|u| u.contains("an integer literal of 2^53 or more cannot be written in SPL"))
        .map(|u| u.split(':').next().unwrap())
        .collect();
    wide.sort();
    assert_eq!(
        wide,
        [
            "Conformance.Number.Big",
            "Conformance.Number.BigPrecision",
            "Conformance.Number.Near2p53IntegerLiteral",
            "Conformance.Number.Near2p53Nested",
            "Conformance.Number.Near2p63",
            "Conformance.Number.Near2p63Real",
        ]
    );
    unsupported.retain(|u| !u.contains("an integer literal of 2^53 or more"));
    // The documented limits (docs/targets/splunk.md), and nothing else.
    assert_eq!(
        unsupported,
        [
            "Conformance.Path.BacktickBacktick: the field name \"a`b\" cannot be written in SPL: '`' cannot appear in a single-quoted eval field name".to_string(),
            "Conformance.Path.BacktickNonAscii: the field name \"naïve-ключ.a'b\\\"c\" cannot be written in SPL: '\\'' cannot appear in a single-quoted eval field name".to_string(),
        ]
    );
    assert!(n >= 140, "{n}");
}

#[test]
fn rule_searches_as_reviewed() {
    for rule in rules("rules") {
        let q = render_query(&rule).unwrap();
        insta::with_settings!({
            snapshot_path => "../snapshots/spl",
            prepend_module_to_snapshot => false,
            description => rule.condition.text.as_str(),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(rule.rule_id.clone(), q);
        });
    }
}

// =============================================================================================
// The lowering, construct by construct

#[test]
fn base_search_and_prefilter_terms() {
    assert_eq!(
        terms(r#"event eq "session.command" and program in ["nc", "wget"]"#),
        r#"sourcetype="Test" event="session.command" (program="nc" OR program="wget")"#
    );
    // Several log types: one OR group.
    let rule = rules("rules")
        .into_iter()
        .find(|r| r.rule_id == "Teleport.SuspiciousCommands")
        .unwrap();
    let q = ruleqc::backend::spl::render_rule_search(
        &["A.B".into(), "C".into()],
        &rule.condition.ir,
        &[],
    )
    .unwrap();
    assert!(
        q.starts_with(r#"(sourcetype="A.B" OR sourcetype="C") event="#),
        "{q}"
    );
    // Search binds OR tighter than the implicit AND: a conjunction inside OR is parenthesised.
    assert_eq!(
        terms(r#"a eq "x" or (b eq "y" and c eq "z")"#),
        r#"sourcetype="Test" (a="x" OR (b="y" c="z"))"#
    );
    // An OR with an operand that has no safe term gives no term at all.
    assert_eq!(
        terms(r#"a eq "x" or b contains "y""#),
        r#"sourcetype="Test""#
    );
    // `[*]` and `any` on one field: the multivalue name.
    assert_eq!(
        terms(r#"resources[*].type eq "AWS::S3::Bucket""#),
        r#"sourcetype="Test" resources{}.type="AWS::S3::Bucket""#
    );
    assert_eq!(
        terms("enabled eq false"),
        r#"sourcetype="Test" enabled="false""#
    );
}

#[test]
fn prefilter_terms_are_only_ever_a_superset() {
    // Negations: `NOT user="root"` would also drop `Root`; `user!="root"` drops missing users.
    for c in [
        r#"user ne "root""#,
        r#"user not_in ["root", "admin"]"#,
        r#"not (user eq "root")"#,
        r#"all groups (@ eq "x")"#,
    ] {
        assert_eq!(terms(c), r#"sourcetype="Test""#, "{c}");
    }
    // Values a term cannot hold exactly: wildcards, characters JSON may escape in _raw, white
    // space, non-ASCII (case-insensitive matching), numbers (5 vs 5.0), case-insensitive forms.
    for c in [
        r#"a eq "x*""#,
        r#"a eq "a b""#,
        r#"a eq "C:\\dir""#,
        r#"a eq "a/b""#,
        r#"a eq "é""#,
        r#"a eq "q\"""#,
        r#"a eq """#,
        "a eq 5",
        r#"a eq~ "admin""#,
        r#"a contains "x""#,
        r#"`user agent` eq "x""#,
        r#"argv[0] eq "x""#,
    ] {
        assert_eq!(terms(c), r#"sourcetype="Test""#, "{c}");
    }
}

#[test]
fn fields_are_named_as_splunk_extracts_json() {
    assert_eq!(filter(r#"event eq "x""#), r#"event == "x""#);
    assert_eq!(filter(r#"a.b.c eq "x""#), r#"'a.b.c' == "x""#);
    assert_eq!(
        filter(r#"detail.`user agent` eq "x""#),
        r#"'detail.user agent' == "x""#
    );
    assert_eq!(filter(r#"`OR` eq "x""#), r#"'OR' == "x""#);
    assert_eq!(filter(r#"$meta.@src eq "x""#), r#"'$meta.@src' == "x""#);
    // A key with a quote cannot be single-quoted in eval.
    assert!(unsupported(r#"`it's` eq "x""#).contains("cannot appear in a single-quoted"));
}

#[test]
fn comparisons_are_case_sensitive_and_tilde_lowers_both_sides() {
    assert_eq!(filter(r#"user eq "Root""#), r#"user == "Root""#);
    assert_eq!(filter(r#"user eq~ "RooT""#), r#"lower(user) == "root""#);
    assert_eq!(
        filter(r#"user in~ ["A", "İ"]"#),
        r#"lower(user) == "a" OR lower(user) == "i""#
    );
    assert_eq!(filter(r#"x contains~ "AB""#), r#"match(lower(x), "ab")"#);
    assert_eq!(
        filter(r#"x starts_with~ "AB""#),
        r#"substr(lower(x), 1, 2) == "ab""#
    );
}

#[test]
fn negations_keep_events_whose_field_is_missing() {
    assert_eq!(filter(r#"x ne "a""#), r#"isnull(x) OR NOT (x == "a")"#);
    assert_eq!(
        filter(r#"x not_in ["a", "b"]"#),
        r#"isnull(x) OR NOT (x == "a" OR x == "b")"#
    );
    assert_eq!(
        filter(r#"x not_contains "a""#),
        r#"isnull(x) OR NOT match(x, "a")"#
    );
    assert_eq!(
        filter(r#"x not_ends_with "ab""#),
        r#"isnull(x) OR NOT (len(x) >= 2 AND substr(x, -2) == "ab")"#
    );
    // Numbers: a value that is not a number (tonumber gives NULL) is not `gt 5` either.
    assert_eq!(
        filter("not (x gt 5)"),
        "isnull(tonumber(x)) OR NOT (tonumber(x) > 5)"
    );
    assert_eq!(filter("x ne true"), r#"isnull(x) OR NOT (x == "true")"#);
    // Inside `and`/`or` the guarded negation is parenthesised.
    assert_eq!(
        filter(r#"a eq "x" and b ne "y""#),
        r#"a == "x" AND (isnull(b) OR NOT (b == "y"))"#
    );
    // A positive test is plain: NULL on a missing field, which `where` drops.
    assert_eq!(filter("x ge 1.5"), "tonumber(x) >= 1.5");
}

#[test]
fn null_and_empty_read_the_event_json() {
    assert_eq!(filter("x is_null"), r#"isnull(json_extract(_raw, "x"))"#);
    assert_eq!(
        filter("a.b is_not_null"),
        r#"NOT isnull(json_extract(_raw, "a.b"))"#
    );
    let j = r#"json_extract(_raw, "x")"#;
    assert_eq!(
        filter("x is_empty"),
        format!(
            r#"isnull({j}) OR {j} == "" OR match({j}, "\\A\\s*(?:\\[\\s*\\]|\\{{\\s*\\}})\\s*\\z")"#
        )
    );
    assert!(filter("x is_not_empty").starts_with("NOT (isnull("));
    // Keys json_extract cannot take in a path go through json_extract_exact.
    assert_eq!(
        filter("a.`b.c`.d is_null"),
        r#"isnull(json_extract(json_extract_exact(json_extract(_raw, "a"), "b.c"), "d"))"#
    );
}

#[test]
fn wildcards_percent_underscore_and_metacharacters_stay_literal() {
    assert_eq!(filter(r#"x eq "a*b""#), r#"x == "a*b""#);
    assert_eq!(filter(r#"x contains "%_*?""#), r#"match(x, "\\%_\\*\\?")"#);
    assert_eq!(
        filter(r#"x contains "a.b(c)[d]{1}|^$\\""#),
        r#"match(x, "a\\.b\\(c\\)\\[d\\]\\{1\\}\\|\\^\\x{24}\\\\")"#
    );
    assert_eq!(filter(r#"x starts_with "*""#), r#"substr(x, 1, 1) == "*""#);
    assert_eq!(
        filter(r#"x ends_with "%""#),
        r#"len(x) >= 1 AND substr(x, -1) == "%""#
    );
    // An empty needle: any value.
    assert_eq!(filter(r#"x contains """#), "isnotnull(x)");
    // The literal regex matches exactly the text, nothing wider (checked with the regex crate,
    // whose syntax agrees with PCRE on these escapes).
    for s in HOSTILE {
        if s.contains(['<', '>']) {
            continue;
        }
        let re = regex::Regex::new(&format!(r"\A(?:{})\z", regex_literal(s))).unwrap();
        assert!(re.is_match(s), "{s:?}");
        for other in ["", "x", "*", "ab", "a\\b", "%"] {
            assert_eq!(re.is_match(other), other == *s, "{s:?} vs {other:?}");
        }
    }
}

#[test]
fn hostile_strings_stay_one_literal() {
    for s in HOSTILE {
        let e = string_expr(s);
        assert!(
            !e.contains(|c: char| c.is_control() || c == '`' || c == '$'),
            "{e}"
        );
        assert_eq!(decode_string_expr(&e), *s, "{e}");
        let json = serde_json::to_string(s).unwrap();
        for cond in [
            format!("x eq {json}"),
            format!("x ne {json}"),
            format!("x in [{json}, \"other\"]"),
            format!("x contains~ {json}"),
            format!("x ends_with {json}"),
            format!("any xs (@ eq {json} and @ ne \"z\")"),
        ] {
            spl(&cond);
        }
    }
    assert_eq!(
        filter(r#"x eq "a\nb""#),
        r#"x == ("a" . urldecode("%0A") . "b")"#
    );
    assert_eq!(
        filter(r#"x eq "`rm`""#),
        r#"x == (urldecode("%60") . "rm" . urldecode("%60"))"#
    );
}

#[test]
fn regexes_are_translated_to_pcre() {
    assert_eq!(
        filter(r#"x matches "^a.c$""#),
        r#"match(x, "\\Aa[^\\n]c\\z")"#
    );
    for (spec, pcre) in [
        (r"a.b$", r"a[^\n]b\z"),
        (r"(?s)a.b", r"a(?s:.)b"),
        (r"(?m)^a$", r"(?<![^\n])a(?![^\n])"),
        (r"\d\w\s", r"[0-9][0-9A-Za-z_][\t\n\f\r\ ]"),
        (r"[^\d\S]", r"[^0-9[:^space:]\x{B}]"),
        (
            r"\bcurl\b",
            r"(?:(?<=[0-9A-Za-z_])(?![0-9A-Za-z_])|(?<![0-9A-Za-z_])(?=[0-9A-Za-z_]))curl(?:(?<=[0-9A-Za-z_])(?![0-9A-Za-z_])|(?<![0-9A-Za-z_])(?=[0-9A-Za-z_]))",
        ),
        (r"(?i)abc", r"(?i)abc"),
        (r"a(?i:b)c", r"a(?i:b)c"),
        (r"(?P<name>x)", r"(x)"),
        (r"(?U)a*", r"a*?"),
        (r"(?x) a \  b", r"a\ b"),
        (r"x{2,}y{1,3}", r"x{2,}y{1,3}"),
        (r"\x41\u{1F600}", r"A😀"),
        (r"[[:alpha:]-]", r"[[:alpha:]\-]"),
        (r"\pL\P{Greek}", r"\p{L}\P{Greek}"),
        (r"a|b|", r"a|b|"),
    ] {
        assert_eq!(to_pcre(spec).unwrap(), pcre, "{spec}");
        check::regex(pcre).unwrap();
    }
    for (spec, why) in [
        (r"(?i)\p{Lu}", "case-folded"),
        (r"\p{Script=Greek}", "name=value"),
        (r"\p{Linear_B}", "no certain PCRE spelling"),
        (r"[a[^b]]", "negated class nested"),
        (r"(?-u)a", "(?-u)"),
    ] {
        let e = to_pcre(spec).unwrap_err().reason;
        assert!(e.contains(why), "{spec}: {e}");
    }
    // A regex that cannot be translated is E0401, not a wrong search.
    assert!(unsupported(r#"x matches r"\p{Linear_B}""#).contains("Linear_B"));
}

#[test]
fn regex_flags_scope_like_the_regex_crate() {
    // The translation tracks flags in source order, restored at the end of a group; these
    // are the regex crate's scoping rules (PCRE's are the same).
    for (re, text, want) in [
        ("a(?i)b|c", "C", true),
        ("(?:a(?i)b)c", "aBC", false),
        ("(a(?s))..", "a\n\n", false),
    ] {
        assert_eq!(regex::Regex::new(re).unwrap().is_match(text), want, "{re}");
    }
    assert_eq!(to_pcre("a(?i)b|c").unwrap(), "a(?i)b|c");
    assert_eq!(to_pcre("(a(?s)).").unwrap(), "(a)[^\\n]");
}

#[test]
fn numbers_and_booleans() {
    assert_eq!(filter("x eq 5"), "tonumber(x) == 5");
    assert_eq!(
        filter("x in [1, 2.5]"),
        "tonumber(x) == 1 OR tonumber(x) == 2.5"
    );
    assert_eq!(filter("x lt -1"), "tonumber(x) < -1");
    // Eval compares doubles, so an integer literal from 2^53 on (which an integer value must
    // meet exactly) is E0401; one below it compares the same either way.
    for big in ["9007199254740993", "9007199254740992", "-9007199254740992"] {
        assert!(
            unsupported(&format!("x eq {big}")).contains("2^53 or more"),
            "{big}"
        );
    }
    assert!(unsupported("x in [1, 9007199254740992]").contains("2^53 or more"));
    assert_eq!(
        filter("x eq 9007199254740991"),
        "tonumber(x) == 9007199254740991"
    );
    // A double literal is the double nearest to what is written (ties to even): 2^53.
    assert_eq!(
        filter("x eq 9007199254740993.0"),
        "tonumber(x) == 9007199254740992.0"
    );
    // Never in exponent form.
    assert_eq!(filter("x gt 1e16"), "tonumber(x) > 10000000000000000");
    assert_eq!(filter("x eq true"), r#"x == "true""#);
    assert_eq!(
        filter("x in [true, false]"),
        r#"x == "true" OR x == "false""#
    );
}

#[test]
fn array_index_reads_the_element_itself() {
    // `[n]` is json_extract's `{n}` (0-based, only on arrays), not mvindex over `argv{}`,
    // which would skip null, object and array elements and shift every index after them.
    assert_eq!(
        filter(r#"argv[0] eq "-l""#),
        r#"json_extract(_raw, "argv{0}") == "-l""#
    );
    assert_eq!(
        filter(r#"a[1].b[2] ne "x""#),
        r#"isnull(json_extract(_raw, "a{1}.b{2}")) OR NOT (json_extract(_raw, "a{1}.b{2}") == "x")"#
    );
    assert_eq!(
        filter("a[0] gt 1"),
        r#"tonumber(json_extract(_raw, "a{0}")) > 1"#
    );
    assert_eq!(
        filter("a[0] eq true"),
        r#"lower(tostring(json_extract(_raw, "a{0}"))) == "true""#
    );
}

#[test]
fn star_on_one_field_filters_the_multivalue_field() {
    assert_eq!(
        filter(r#"argv[*] eq "-l""#),
        r#"coalesce(mvcount(mvfilter('argv{}' == "-l")), 0) > 0"#
    );
    assert_eq!(
        filter(r#"resources[*].type in ["a", "b"]"#),
        r#"coalesce(mvcount(mvfilter('resources{}.type' == "a" OR 'resources{}.type' == "b")), 0) > 0"#
    );
    // `not (argv[*] eq "-l")`: no element is "-l" (true for a missing or empty array).
    assert_eq!(
        filter(r#"not (argv[*] eq "-l")"#),
        r#"coalesce(mvcount(mvfilter('argv{}' == "-l")), 0) == 0"#
    );
    // Several tests on the one value of each element stay in one mvfilter.
    assert_eq!(
        filter(r#"any argv (@ starts_with "-" and @ ne "--")"#),
        r#"coalesce(mvcount(mvfilter(substr('argv{}', 1, 1) == "-" AND (isnull('argv{}') OR NOT ('argv{}' == "--")))), 0) > 0"#
    );
    // Nested arrays: Splunk's `a{}{}`.
    assert_eq!(
        filter("any matrix (@[*] eq 1)"),
        r#"coalesce(mvcount(mvfilter(tonumber('matrix{}{}') == 1)), 0) > 0"#
    );
}

#[test]
fn star_is_iterated_when_unextracted_elements_would_count() {
    // `any xs (@ ne "a")` is true for an element that is an object or null, which `xs{}`
    // leaves out; `all xs (k eq 1)` is false for an element without `k`, which `xs{}.k`
    // leaves out. Both iterate the elements in `_raw`.
    for c in [
        r#"any xs (@ ne "a")"#,
        "all xs (k eq 1)",
        "any xs (@ is_null)",
    ] {
        let s = spl(c);
        assert!(s.contains("| eval ruleqc_i1=mvrange(0, coalesce(mvcount(json_array_to_mv(json_extract(_raw, \"xs\"))), 0))"), "{c}: {s}");
        assert!(s.contains("mvmap(ruleqc_i1, if("), "{c}: {s}");
        assert!(s.ends_with("| fields - ruleqc_i1"), "{s}");
    }
}

#[test]
fn quantifiers_test_the_same_element() {
    let s = spl(r#"any threats (status eq "active" and id eq 5)"#);
    assert_eq!(
        s,
        r#"sourcetype="Test" threats{}.status="active" | eval ruleqc_i1=mvrange(0, coalesce(mvcount(json_array_to_mv(json_extract(_raw, "threats"))), 0)) | where isnotnull(mvfind(mvmap(ruleqc_i1, if(json_extract(_raw, "threats{" . ruleqc_i1 . "}.status") == "active" AND tonumber(json_extract(_raw, "threats{" . ruleqc_i1 . "}.id")) == 5, "1", "0")), "^1$")) | fields - ruleqc_i1"#
    );
    // `all` is "no element fails": true for a missing, empty or non-array value.
    assert!(
        filter(r#"all xs (a eq "x" and b eq "y")"#)
            .starts_with("isnull(mvfind(mvmap(ruleqc_i1, if((isnull(json_extract")
    );
    // `any a (any b (X))`: the flattened `a{}.b{}` elements.
    assert_eq!(
        spl(r#"any groups (any members (name eq "root" and active eq true))"#),
        r#"sourcetype="Test" groups{}.members{}.name="root" groups{}.members{}.active="true" | eval ruleqc_a1=json_extract(_raw, "groups{}.members{}"), ruleqc_i1=mvrange(0, coalesce(mvcount(json_array_to_mv(ruleqc_a1)), 0)) | where isnotnull(mvfind(mvmap(ruleqc_i1, if(json_extract(ruleqc_a1, "{" . ruleqc_i1 . "}.name") == "root" AND lower(tostring(json_extract(ruleqc_a1, "{" . ruleqc_i1 . "}.active"))) == "true", "1", "0")), "^1$")) | fields - ruleqc_a1, ruleqc_i1"#
    );
    // A quantifier inside an element with other conditions: an exact mvfind over the inner
    // values.
    assert_eq!(
        filter(r#"any a (b eq "x" and any c (d eq "y"))"#),
        r#"isnotnull(mvfind(mvmap(ruleqc_i1, if(json_extract(_raw, "a{" . ruleqc_i1 . "}.b") == "x" AND isnotnull(mvfind(json_array_to_mv(json_extract(_raw, "a{" . ruleqc_i1 . "}.c{}.d")), "\\A(?:y)\\z")), "1", "0")), "^1$"))"#
    );
}

#[test]
fn quantifiers_splunk_cannot_express_are_e0401_with_the_reason() {
    for c in [
        // Two fields of the inner element.
        r#"any a (b eq "x" and any c (d eq "y" and e eq "z"))"#,
        // Not an exact string match (the flattened list also holds object texts).
        r#"any a (b eq "x" and any c (d contains "y"))"#,
        // Numbers have no exact text.
        r#"any a (b eq "x" and any c (@ eq 1))"#,
        // Case-insensitive.
        r#"any a (b eq "x" and any c (@ eq~ "y"))"#,
        // True for an inner element without `d`.
        r#"any a (b eq "x" and any c (d ne "y"))"#,
    ] {
        let e = unsupported(c);
        assert!(
            e.starts_with("a quantifier nested in another quantifier"),
            "{c}: {e}"
        );
    }
}

#[test]
fn output_fields_become_table() {
    let q = |text: &str| {
        let rule = ruleqc::rule::load_str("t.yml", text.to_string())
            .result
            .unwrap();
        let q = render_query(&rule).unwrap();
        check::search(&q).unwrap();
        q
    };
    let head = "RuleID: T.R\nLogTypes: [T]\n";
    assert!(
        q(&format!(
            "{head}OutputFields: [a, b.c, \"`user agent`\"]\nCondition: |\n  a eq \"x\"\n"
        ))
        .ends_with(r#"| where a == "x" | table a b.c "user agent""#)
    );
    // Arrays and objects the condition uses: their flattened members too.
    assert!(
        q(&format!(
            "{head}OutputFields: [argv, req]\nCondition: |\n  argv[*] eq \"x\"\n  req.k eq 1\n"
        ))
        .ends_with("| table argv argv{}* req req.*")
    );
    // One element: read from the event JSON and renamed.
    assert!(q(&format!(
        "{head}OutputFields: [\"target[0].id\"]\nCondition: |\n  a eq \"x\"\n"
    ))
    .ends_with(r#"| eval ruleqc_o1=json_extract(_raw, "target{0}.id") | rename ruleqc_o1 AS "target{0}.id" | table "target{0}.id""#));
}

#[test]
fn constant_folding() {
    // `x contains ""` is "x is present"; a quantifier whose body is always true/false.
    assert_eq!(
        filter(r#"x contains "" or y eq "a""#),
        r#"isnotnull(x) OR y == "a""#
    );
    let s = spl(r#"a eq "x""#);
    assert!(!s.contains("true()"), "{s}");
}

// =============================================================================================
// Divergences (docs/targets/splunk.md), one test each

#[test]
fn divergence_untyped_values() {
    // Extracted field values are text: `eq "5"` and `eq 5` read the same field, so the
    // string "5" matches `eq 5` and the number 5 matches `eq "5"`; likewise "true"/true.
    assert_eq!(filter(r#"x eq "5""#), r#"x == "5""#);
    assert_eq!(filter("x eq 5"), "tonumber(x) == 5");
    assert_eq!(filter(r#"x eq "true""#), r#"x == "true""#);
    assert_eq!(filter("x eq true"), r#"x == "true""#);
}

#[test]
fn divergence_json_null_is_the_text_null_in_fields() {
    // is_null reads the event JSON (exact), but a value test reads the extracted field, where
    // a JSON null is assumed to be the text `null`: `x eq "null"` also matches a JSON null.
    assert_eq!(filter(r#"x eq "null""#), r#"x == "null""#);
    assert_eq!(filter("x is_null"), r#"isnull(json_extract(_raw, "x"))"#);
}

#[test]
fn divergence_case_folding_is_splunk_lower() {
    // `~` compares `lower(field)` with the literal lowered by ruleqc (Unicode simple
    // lower-casing); Splunk's lower() decides the field's side.
    assert_eq!(filter(r#"x eq~ "ÉCOLE""#), r#"lower(x) == "école""#);
}

#[test]
fn divergence_flattened_names_and_dotted_keys() {
    // A key with a dot has the same extracted name as the nested path.
    assert_eq!(filter(r#"a.`b.c` eq "x""#), filter(r#"a.b.c eq "x""#));
}

#[test]
fn divergence_string_that_looks_like_an_empty_container() {
    // json_extract returns strings unquoted and objects/arrays as JSON text: a string "[]"
    // or "{}" reads like an empty array/object for is_empty.
    assert!(
        filter("x is_empty").contains(
            r#"match(json_extract(_raw, "x"), "\\A\\s*(?:\\[\\s*\\]|\\{\\s*\\})\\s*\\z")"#
        )
    );
}

#[test]
fn divergence_char_counts_for_prefix_and_suffix() {
    // starts_with/ends_with compare `substr` with the literal's length in characters.
    assert_eq!(
        filter(r#"x starts_with "é!""#),
        r#"substr(x, 1, 2) == "é!""#
    );
}
