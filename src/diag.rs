//! One diagnostic type for every stage, rendered once, at the CLI edge.
//!
//! Stages report spans in their own text (the condition's byte offsets for the parser and the
//! IR lowering); the rule loader maps them to byte offsets in the rule file before a
//! diagnostic leaves `rule::load`, so every rendered diagnostic points into the file.

use std::ops::Range;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable code, e.g. `E0201`; listed in docs/diagnostics.md.
    pub code: &'static str,
    pub message: String,
    /// Byte range of the offending text; `None` for problems that belong to no position.
    pub span: Option<Range<usize>>,
    /// Short text under the caret.
    pub label: Option<String>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>, span: Range<usize>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span: Some(span),
            label: None,
            help: None,
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn map_span(mut self, f: impl Fn(Range<usize>) -> Range<usize>) -> Self {
        self.span = self.span.map(f);
        self
    }
}

/// A 1-based line and column (in characters) of a byte offset in `source`.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(source, offset.min(source.len()));
    let before = &source[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = source[line_start..offset].chars().count() + 1;
    (line, col)
}

pub fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// How diagnostics are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Style {
    /// `error[E0201]: ...`, the location, the source line and a caret, `help:`.
    #[default]
    Human,
    /// Human, with ANSI colours.
    Color,
    /// One line: `file:line:col: error[E0201]: message [label] (help: ...)`.
    Short,
}

/// Renders one diagnostic against the file it belongs to.
pub fn render(d: &Diagnostic, path: &str, source: &str, style: Style) -> String {
    if style == Style::Short {
        let (line, col) = d
            .span
            .as_ref()
            .map_or((1, 1), |s| line_col(source, s.start));
        let sev = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut out = format!("{path}:{line}:{col}: {sev}[{}]: {}", d.code, d.message);
        if let Some(label) = &d.label {
            out.push_str(" [");
            out.push_str(label);
            out.push(']');
        }
        if let Some(help) = &d.help {
            out.push_str(" (help: ");
            out.push_str(help);
            out.push(')');
        }
        return out;
    }
    let level = match d.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    };
    let title = level.primary_title(d.message.as_str()).id(d.code);
    let mut group = match &d.span {
        Some(span) => {
            let start = floor_char_boundary(source, span.start.min(source.len()));
            let mut end = floor_char_boundary(source, span.end.min(source.len())).max(start);
            // A span that runs over a line break would print several lines; the first is enough.
            if let Some(nl) = source[start..end].find('\n') {
                end = start + nl;
            }
            // Only the annotated line is shown, so only it is handed to the renderer, with its
            // number: the renderer splits and measures all the text it is given, and a W0601
            // warning points into a file of forty lines (`tests::one_line_renders_as_the_file`).
            let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
            let line_end = source[end..]
                .find('\n')
                .map_or(source.len(), |i| end + i + 1);
            let line_no = 1 + memchr::memchr_iter(b'\n', &source.as_bytes()[..line_start]).count();
            let mut ann = AnnotationKind::Primary.span(start - line_start..end - line_start);
            if let Some(label) = &d.label {
                ann = ann.label(label.as_str());
            }
            title.element(
                Snippet::source(&source[line_start..line_end])
                    .line_start(line_no)
                    .path(path)
                    .annotation(ann),
            )
        }
        None => title.element(annotate_snippets::Origin::path(path)),
    };
    if let Some(help) = &d.help {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    let report: &[Group<'_>] = &[group];
    let renderer = if style == Style::Color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    renderer.render(report)
}

/// Edit distance between two short words (insertions, deletions, substitutions and swaps of
/// neighbours, each costing 1), for "did you mean" suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    Rows::default().distance(&a, &b)
}

/// The three rows of the distance table that the recurrence reads, kept between candidates
/// so that ranking a word against a schema's columns allocates once, not per column.
#[derive(Default)]
struct Rows {
    two_up: Vec<usize>,
    up: Vec<usize>,
    cur: Vec<usize>,
}

impl Rows {
    /// `edit_distance` of two words as characters; row `i` holds the distances between
    /// `a[..i]` and each `b[..j]`.
    fn distance(&mut self, a: &[char], b: &[char]) -> usize {
        let width = b.len() + 1;
        for row in [&mut self.two_up, &mut self.up, &mut self.cur] {
            row.clear();
            row.resize(width, 0);
        }
        for (j, cell) in self.up.iter_mut().enumerate() {
            *cell = j;
        }
        for i in 1..=a.len() {
            self.cur[0] = i;
            for j in 1..=b.len() {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut d = (self.up[j] + 1)
                    .min(self.cur[j - 1] + 1)
                    .min(self.up[j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d = d.min(self.two_up[j - 2] + 1);
                }
                self.cur[j] = d;
            }
            std::mem::swap(&mut self.two_up, &mut self.up);
            std::mem::swap(&mut self.up, &mut self.cur);
        }
        self.up[b.len()]
    }
}

/// The candidate closest to `word` (case-insensitively), if it is close enough to be a typo:
/// within a third of the longer one's length in bytes, the first of the closest.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower: Vec<char> = word.to_lowercase().chars().collect();
    let mut rows = Rows::default();
    let mut cand: Vec<char> = Vec::new();
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        if let Some((0, _)) = best {
            break;
        }
        let limit = (c.len().max(word.len()) / 3).max(1);
        // Only a candidate strictly closer than the best so far can win.
        let limit = best.map_or(limit, |(d, _)| limit.min(d.saturating_sub(1)));
        // The distance is at least the difference in length in characters (an ASCII name's
        // lower case has one character per byte): skip the table for candidates that cannot
        // be close enough.
        let ascii = c.is_ascii();
        if ascii && c.len().abs_diff(lower.len()) > limit {
            continue;
        }
        cand.clear();
        if ascii {
            cand.extend(c.bytes().map(|b| char::from(b.to_ascii_lowercase())));
        } else {
            cand.extend(c.to_lowercase().chars());
        }
        if cand.len().abs_diff(lower.len()) > limit {
            continue;
        }
        let d = rows.distance(&lower, &cand);
        if d <= limit && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        let src = "a: 1\nbé: x\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 5), (2, 1));
        // `x` is after a two-byte character: column counts characters.
        assert_eq!(line_col(src, src.find('x').unwrap()), (2, 5));
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            closest("Severty", ["Severity", "Tags", "RuleID"]),
            Some("Severity")
        );
        assert_eq!(closest("ruleid", ["RuleID", "Tags"]), Some("RuleID"));
        assert_eq!(closest("Banana", ["RuleID", "Tags"]), None);
        assert_eq!(closest("tabel", ["table", "fields"]), Some("table"));
        // Lengths three apart with three edits allowed (9 / 3): the length bound keeps it;
        // four apart with three allowed (10 / 3) it does not.
        assert_eq!(closest("abcdef", ["abcdefghi"]), Some("abcdefghi"));
        assert_eq!(closest("abcdef", ["abcdefghij"]), None);
        assert_eq!(edit_distance("ab", "ba"), 1);
        // The first of equally close candidates.
        assert_eq!(closest("ab", ["AB", "ab"]), Some("AB"));
        assert_eq!(closest("abcd", ["abce", "abcf", "abcd"]), Some("abcd"));
        assert_eq!(closest("abcdef", ["abcdeg", "abcdeh"]), Some("abcdeg"));
    }

    /// The table as first written (the whole matrix, a lower-cased copy of every candidate),
    /// to hold the faster `closest` to the same answers.
    fn closest_reference<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
        fn distance(a: &str, b: &str) -> usize {
            let a: Vec<char> = a.chars().collect();
            let b: Vec<char> = b.chars().collect();
            let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
            for (i, row) in d.iter_mut().enumerate() {
                row[0] = i;
            }
            for (j, cell) in d[0].iter_mut().enumerate() {
                *cell = j;
            }
            for i in 1..=a.len() {
                for j in 1..=b.len() {
                    let cost = usize::from(a[i - 1] != b[j - 1]);
                    d[i][j] = (d[i - 1][j] + 1)
                        .min(d[i][j - 1] + 1)
                        .min(d[i - 1][j - 1] + cost);
                    if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                        d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
                    }
                }
            }
            d[a.len()][b.len()]
        }
        let lower = word.to_lowercase();
        candidates
            .iter()
            .filter_map(|c| {
                let limit = (c.len().max(word.len()) / 3).max(1);
                let d = distance(&lower, &c.to_lowercase());
                (d <= limit).then_some((d, *c))
            })
            .min_by_key(|(d, _)| *d)
            .map(|(_, c)| c)
    }

    /// `render` as it was before it cut the source to the annotated line: the whole file
    /// handed to annotate_snippets.
    fn render_whole_file(d: &Diagnostic, path: &str, source: &str, style: Style) -> String {
        let level = match d.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let title = level.primary_title(d.message.as_str()).id(d.code);
        let span = d.span.clone().expect("the tests give a span");
        let start = floor_char_boundary(source, span.start.min(source.len()));
        let mut end = floor_char_boundary(source, span.end.min(source.len())).max(start);
        if let Some(nl) = source[start..end].find('\n') {
            end = start + nl;
        }
        let mut ann = AnnotationKind::Primary.span(start..end);
        if let Some(label) = &d.label {
            ann = ann.label(label.as_str());
        }
        let mut group = title.element(Snippet::source(source).path(path).annotation(ann));
        if let Some(help) = &d.help {
            group = group.element(Level::HELP.message(help.as_str()));
        }
        let renderer = if style == Style::Color {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        renderer.render(&[group])
    }

    proptest::proptest! {
        /// Files of up to 120 lines (the line number's width changes at 10 and 100) of ASCII,
        /// tabs, CR LF endings, wide and combining characters and long lines (cut to the
        /// terminal's width), spans anywhere (empty, over a line break, at the end of the
        /// file, inside a character), with and without label and help: the same bytes as the
        /// whole file rendered.
        #[test]
        fn one_line_renders_as_the_file(
            lines in proptest::collection::vec("([ \t]{0,30}[a-z =\"\\[\\]]{0,12}(\u{6f22}|e\u{301}|\t)?[a-z ]{0,200})", 1..120),
            crlf in proptest::bool::ANY,
            final_newline in proptest::bool::ANY,
            at in 0.0f64..1.0,
            len in 0usize..300,
            label in proptest::option::of("[a-z `]{0,60}"),
            help in proptest::option::of("[a-z `.]{0,300}"),
            color in proptest::bool::ANY,
        ) {
            let mut source = lines.join(if crlf { "\r\n" } else { "\n" });
            if final_newline {
                source.push('\n');
            }
            let start = ((source.len() as f64) * at) as usize;
            let d = Diagnostic {
                severity: Severity::Warning,
                code: "W0601",
                message: "unknown field `x`".into(),
                span: Some(start..start + len),
                label,
                help,
            };
            let style = if color { Style::Color } else { Style::Human };
            proptest::prop_assert_eq!(
                render(&d, "dir/rule.yml", &source, style),
                render_whole_file(&d, "dir/rule.yml", &source, style)
            );
        }
    }

    proptest::proptest! {
        /// Words from a small alphabet (so that many are close), with capitals, a non-ASCII
        /// letter whose lower case is longer (`İ`), and swaps: the same suggestion, the first
        /// of equally close candidates included.
        #[test]
        fn closest_matches_the_reference(
            word in "[abcAB\u{130}é_]{0,9}",
            candidates in proptest::collection::vec("[abcAB\u{130}é_]{0,10}", 0..12),
        ) {
            let refs: Vec<&str> = candidates.iter().map(String::as_str).collect();
            proptest::prop_assert_eq!(closest(&word, refs.iter().copied()), closest_reference(&word, &refs));
            for c in &refs {
                proptest::prop_assert_eq!(closest(&word, [*c]), closest_reference(&word, &[*c]));
            }
        }
    }
}
