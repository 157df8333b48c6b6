//! Findings (diagnostics, failed tests, coverage gaps) in the machine-readable output formats:
//! JSON, GitHub workflow commands, SARIF 2.1.0 and JUnit XML.

use serde_json::{Value, json};

use crate::diag::{Diagnostic, Severity, line_col};

/// One problem, placed in a file.
#[derive(Clone, Debug)]
pub struct Finding {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// `error`, `warning` or `note`.
    pub level: &'static str,
    /// A diagnostic code (`E0304`) or a kind of result (`test-failed`, `no-tests`).
    pub code: String,
    pub message: String,
    pub help: Option<String>,
}

impl Finding {
    pub fn from_diagnostic(d: &Diagnostic, file: &str, text: &str) -> Self {
        let (line, column) = d.span.as_ref().map_or((1, 1), |s| line_col(text, s.start));
        Finding {
            file: file.to_string(),
            line,
            column,
            level: match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            },
            code: d.code.to_string(),
            message: d.message.clone(),
            help: d.help.clone(),
        }
    }

    pub fn json(&self) -> Value {
        json!({
            "file": self.file, "line": self.line, "column": self.column,
            "severity": self.level, "code": self.code, "message": self.message,
            "help": self.help,
        })
    }

    /// A GitHub Actions workflow command, which annotates the file in a pull request.
    pub fn github(&self) -> String {
        let command = match self.level {
            "error" => "error",
            "warning" => "warning",
            _ => "notice",
        };
        let mut message = self.message.clone();
        if let Some(h) = &self.help {
            message.push_str("\nhelp: ");
            message.push_str(h);
        }
        format!(
            "::{command} file={},line={},col={},title={}::{}",
            github_property(&self.file),
            self.line,
            self.column,
            github_property(&format!("ruleqc {}", self.code)),
            github_data(&message)
        )
    }

    fn sarif(&self) -> Value {
        let mut text = self.message.clone();
        if let Some(h) = &self.help {
            text.push_str(&format!(" (help: {h})"));
        }
        json!({
            "ruleId": self.code,
            "level": self.level,
            "message": {"text": text},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": uri(&self.file)},
                    "region": {"startLine": self.line, "startColumn": self.column},
                }
            }],
        })
    }
}

/// Workflow command data: `%`, CR and LF escaped.
fn github_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Workflow command property values: the data escapes, and `:` and `,`.
fn github_property(s: &str) -> String {
    github_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A relative URI reference for a file path: `/` separators, characters outside RFC 3986's
/// unreserved set and `/` percent-encoded.
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A SARIF 2.1.0 log of one run with `findings`.
pub fn sarif(findings: &[Finding]) -> Value {
    let mut codes: Vec<&str> = findings.iter().map(|f| f.code.as_str()).collect();
    codes.sort();
    codes.dedup();
    let rules: Vec<Value> = codes.iter().map(|c| json!({"id": c})).collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "ruleqc",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": findings.iter().map(Finding::sarif).collect::<Vec<_>>(),
        }],
    })
}

/// Text for XML content and attribute values.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_commands_escape_their_parts() {
        let f = Finding {
            file: "rules/a,b:c.yml".into(),
            line: 3,
            column: 7,
            level: "error",
            code: "E0304".into(),
            message: "100% wrong\nsecond line".into(),
            help: None,
        };
        assert_eq!(
            f.github(),
            "::error file=rules/a%2Cb%3Ac.yml,line=3,col=7,title=ruleqc E0304::100%25 wrong%0Asecond line"
        );
    }

    #[test]
    fn uris_and_xml() {
        assert_eq!(uri("rules/my rule#1.yml"), "rules/my%20rule%231.yml");
        assert_eq!(
            xml_escape("a<b & \"c\"\u{1}"),
            "a&lt;b &amp; &quot;c&quot;\\u0001"
        );
    }
}
