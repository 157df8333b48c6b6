//! PostgreSQL: JSON in `jsonb` columns, read with `->` (text keys, integer indexes, so a key
//! never finds an array element and an index never finds an object member), `jsonb_typeof`,
//! `jsonb_array_elements`; regexes translated to POSIX AREs for `~`.

use super::dialect::*;
use crate::backend::schema::ColumnType;
use crate::ir::{CmpOp, Step};

pub struct Postgres;

impl Postgres {
    /// The jsonb value at `r`, parenthesised. An index applies only to arrays: PostgreSQL's
    /// `-> 0` also returns a scalar itself (a jsonb scalar is stored as a one-element array).
    fn value(&self, r: &JsonRef) -> Spelled {
        if r.steps.is_empty() {
            return Ok(r.base.clone());
        }
        let mut s = r.base.clone();
        for step in &r.steps {
            s = match step {
                Step::Key(k) => format!("({s} -> {})", self.string_literal(k)?),
                Step::Index(i) => {
                    format!("(CASE WHEN jsonb_typeof({s}) = 'array' THEN {s} -> {i} END)")
                }
            };
        }
        Ok(s)
    }

    fn jtype(&self, r: &JsonRef) -> Spelled {
        Ok(format!("jsonb_typeof({})", self.value(r)?))
    }
}

/// Rewrites a SPEC regex (regex-crate syntax) as a PostgreSQL ARE with the same meaning:
/// `.` does not match a newline unless `(?s)` (ARE's `.` does), `\b`/`\B` are `\y`/`\Y`, `\z`
/// is `\Z`, named groups lose their names, and leading flags become ARE embedded options.
pub fn to_are(pattern: &str) -> Spelled {
    let mut rest = pattern;
    let (mut i_flag, mut s_flag, mut m_flag, mut x_flag) = (false, false, false, false);
    // Leading `(?flags)` groups only: AREs accept options at the start alone.
    while let Some(after) = rest.strip_prefix("(?") {
        let Some(end) = after.find(')') else { break };
        let flags = &after[..end];
        if flags.is_empty() || !flags.chars().all(|c| "isxmU".contains(c)) {
            break;
        }
        for c in flags.chars() {
            match c {
                'i' => i_flag = true,
                's' => s_flag = true,
                'm' => m_flag = true,
                'x' => x_flag = true,
                _ => {
                    return Err(Unsupported::new(
                        "PostgreSQL regexes have no `U` (swap greed) flag".into(),
                    ));
                }
            }
        }
        rest = &after[end + 1..];
    }
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(e) = chars.next() else { break };
                const W: &str = "[0-9A-Za-z_]";
                match e {
                    // ASCII word boundaries, as SPEC regexes mean them (ARE's \y follows the
                    // locale's idea of a word character).
                    'b' if !in_class => {
                        out.push_str(&format!("(?:(?<={W})(?!{W})|(?<!{W})(?={W}))"))
                    }
                    'B' if !in_class => {
                        out.push_str(&format!("(?:(?<={W})(?={W})|(?<!{W})(?!{W}))"))
                    }
                    'd' => out.push_str(if in_class { "0-9" } else { "[0-9]" }),
                    'w' => out.push_str(if in_class { "0-9A-Za-z_" } else { W }),
                    's' => out.push_str(if in_class {
                        "\\t\\n\\f\\r "
                    } else {
                        "[\\t\\n\\f\\r ]"
                    }),
                    'D' if !in_class => out.push_str("[^0-9]"),
                    'W' if !in_class => out.push_str("[^0-9A-Za-z_]"),
                    'S' if !in_class => out.push_str("[^\\t\\n\\f\\r ]"),
                    'D' | 'W' | 'S' => {
                        return Err(Unsupported::new(format!(
                            "`\\{e}` inside a character class has no exact PostgreSQL equivalent"
                        )));
                    }
                    'z' => out.push_str("\\Z"),
                    'A' => out.push_str("\\A"),
                    'x' | 'u' | 'U' => {
                        // A code point: write the character itself (ARE's `\x` takes any
                        // number of hex digits, so it cannot be copied).
                        let mut hex = String::new();
                        if chars.peek() == Some(&'{') {
                            chars.next();
                            for h in chars.by_ref() {
                                if h == '}' {
                                    break;
                                }
                                hex.push(h);
                            }
                        } else {
                            let n = match e {
                                'x' => 2,
                                'u' => 4,
                                _ => 8,
                            };
                            for _ in 0..n {
                                if let Some(h) = chars.next() {
                                    hex.push(h);
                                }
                            }
                        }
                        let c = u32::from_str_radix(&hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or_else(|| Unsupported::new(format!("bad escape `\\{e}{hex}`")))?;
                        if c.is_alphanumeric() || c == '_' {
                            out.push(c);
                        } else if c == '\n' {
                            out.push_str("\\n");
                        } else {
                            out.push('\\');
                            out.push(c);
                        }
                    }
                    'p' | 'P' => {
                        return Err(Unsupported::new(format!(
                            "the regex escape `\\{e}` has no exact PostgreSQL equivalent"
                        )));
                    }
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // A `]` or `^]` right after `[` is literal.
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().expect("peeked"));
                }
                if chars.peek() == Some(&']') {
                    out.push(chars.next().expect("peeked"));
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '.' if !in_class && !s_flag => out.push_str("[^\\n]"),
            '(' if !in_class && chars.peek() == Some(&'?') => {
                chars.next();
                let mut group = String::new();
                while let Some(&n) = chars.peek() {
                    if n == ':' || n == ')' || n == '<' || n == 'P' {
                        break;
                    }
                    group.push(n);
                    chars.next();
                }
                match chars.next() {
                    Some(':') if group.is_empty() => out.push_str("(?:"),
                    Some('P') | Some('<') => {
                        // Named group: drop the name.
                        for n in chars.by_ref() {
                            if n == '>' {
                                break;
                            }
                        }
                        out.push('(');
                    }
                    _ => {
                        return Err(Unsupported::new(
                            "PostgreSQL regexes accept flags only at the start of the pattern"
                                .into(),
                        ));
                    }
                }
            }
            c => out.push(c),
        }
    }
    let mut opts = String::new();
    if i_flag {
        opts.push('i');
    }
    if m_flag {
        // `^`/`$` at line breaks; `.` is handled above.
        opts.push('w');
    }
    if x_flag {
        opts.push('x');
    }
    Ok(if opts.is_empty() {
        out
    } else {
        format!("(?{opts}){out}")
    })
}

impl Dialect for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    /// PostgreSQL folds unquoted identifiers to lower case, so `objectRef` is quoted.
    fn quote_ident(&self, name: &str) -> String {
        if is_plain_identifier(name) && !name.chars().any(|c| c.is_ascii_uppercase()) {
            name.to_string()
        } else {
            format!("\"{}\"", name.replace('"', "\"\""))
        }
    }

    fn regex_search(&self, hay: &str, pattern: &str) -> Spelled {
        Ok(format!(
            "{hay} ~ {}",
            self.string_literal(&to_are(pattern)?)?
        ))
    }

    fn column_type(&self, ty: ColumnType) -> &'static str {
        match ty {
            ColumnType::Text => "text",
            ColumnType::Integer => "bigint",
            ColumnType::Real => "double precision",
            ColumnType::Boolean => "boolean",
            ColumnType::Json => "jsonb",
        }
    }

    fn json_is(&self, r: &JsonRef, kind: JsonKind) -> Spelled {
        let t = self.jtype(r)?;
        Ok(match kind {
            JsonKind::String => format!("{t} = 'string'"),
            JsonKind::Number => format!("{t} = 'number'"),
            JsonKind::Bool => format!("{t} = 'boolean'"),
            JsonKind::Array => format!("{t} = 'array'"),
        })
    }

    fn json_text(&self, r: &JsonRef) -> Spelled {
        Ok(format!("({} #>> '{{}}')", self.value(r)?))
    }

    fn json_number_cmp(&self, r: &JsonRef, op: Option<CmpOp>, n: &serde_json::Number) -> Spelled {
        // `numeric` is exact for every JSON number.
        Ok(format!(
            "({} = 'number' AND CAST({} AS numeric) {} {})",
            self.jtype(r)?,
            self.json_text(r)?,
            cmp_symbol(op),
            self.number_literal(n)
        ))
    }

    fn json_bool_is(&self, r: &JsonRef, b: bool) -> Spelled {
        Ok(format!("{} = '{b}'::jsonb", self.value(r)?))
    }

    fn json_is_null(&self, r: &JsonRef) -> Spelled {
        Ok(format!("{} = 'null'", self.jtype(r)?))
    }

    fn json_is_empty(&self, r: &JsonRef) -> Spelled {
        Ok(format!(
            "{} IN ('null'::jsonb, '\"\"'::jsonb, '[]'::jsonb, '{{}}'::jsonb)",
            self.value(r)?
        ))
    }

    fn json_value(&self, r: &JsonRef) -> Spelled {
        self.value(r)
    }

    fn exists_element(&self, r: &JsonRef, alias: &str, body: &str) -> Spelled {
        let v = self.value(r)?;
        // jsonb_array_elements fails on a non-array: feed it NULL (no rows) instead.
        Ok(format!(
            "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof({v}) = 'array' THEN {v} END) AS {alias}(value) WHERE {body})"
        ))
    }

    fn element_ref(&self, _r: &JsonRef, alias: &str) -> JsonRef {
        JsonRef::new(format!("{alias}.value"))
    }
}

#[cfg(test)]
mod tests {
    use super::to_are;

    #[test]
    fn regexes_become_ares() {
        assert_eq!(to_are(r"a.b").unwrap(), r"a[^\n]b");
        assert_eq!(to_are(r"(?s)a.b").unwrap(), r"a.b");
        assert_eq!(
            to_are(r"(?i)\bcurl").unwrap(),
            r"(?i)(?:(?<=[0-9A-Za-z_])(?![0-9A-Za-z_])|(?<![0-9A-Za-z_])(?=[0-9A-Za-z_]))curl"
        );
        assert_eq!(to_are(r"[.\b]x\z").unwrap(), r"[.\b]x\Z");
        assert_eq!(
            to_are(r"\d+[\w-]\s").unwrap(),
            r"[0-9]+[0-9A-Za-z_-][\t\n\f\r ]"
        );
        assert_eq!(to_are(r"(?P<n>a)(?:b)").unwrap(), r"(a)(?:b)");
        assert_eq!(to_are(r"(?m)^a$").unwrap(), r"(?w)^a$");
        assert!(to_are(r"a(?i)b").is_err());
        assert!(to_are(r"\p{Greek}").is_err());
        assert_eq!(to_are(r"\x41B\x{27}\u0020").unwrap(), r"AB\'\ ");
    }
}
