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
            if style == Style::Human
                && let Some(out) = plain::render(
                    d,
                    path,
                    &source[line_start..line_end],
                    line_no,
                    start - line_start..end - line_start,
                )
            {
                return out;
            }
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

/// The plain rendering of the common case, written directly: one annotated line of printable
/// ASCII, a non-empty span on it, printable ASCII texts. annotate_snippets lays every
/// diagnostic out in a grid of styled characters; for the tens of thousands of W0601
/// warnings of a large rule set that was a sixth of `compile`'s instructions. This writes the
/// same bytes as `Renderer::plain()` (its default width of 140 columns, its margin and its
/// `...` cuts), and `tests::plain_renders_as_annotate_snippets` holds it to that renderer;
/// anything else is left to annotate_snippets.
mod plain {
    use super::{Diagnostic, Severity};
    use std::ops::Range;

    /// annotate_snippets' default terminal width.
    const TERM_WIDTH: usize = 140;
    /// Columns its margin keeps beyond a span or label before cutting a line.
    const ELLIPSIS_PASSING: usize = 6;
    const LONG_WHITESPACE: usize = 20;
    const LONG_WHITESPACE_PADDING: usize = 4;

    fn printable(s: &str) -> bool {
        s.bytes().all(|b| (0x20..0x7f).contains(&b))
    }

    /// `line` is the annotated line with its line break, `span` within it.
    pub(super) fn render(
        d: &Diagnostic,
        path: &str,
        line: &str,
        line_no: usize,
        span: Range<usize>,
    ) -> Option<String> {
        let text = line.strip_suffix('\n').unwrap_or(line);
        if span.start >= span.end
            || span.end > text.len()
            || !printable(text)
            || !printable(&d.message)
            || !printable(d.code)
            || !printable(path)
            || d.label
                .as_deref()
                .is_some_and(|l| l.is_empty() || !printable(l))
            || d.help.as_deref().is_some_and(|h| !printable(h))
        {
            return None;
        }
        let (s, e) = (span.start, span.end);
        let num = line_no.to_string();
        let w = num.len();
        let code_offset = w + 3;
        let label_len = d.label.as_ref().map_or(0, |l| l.len() + 1);

        // The margin (annotate_snippets' `Margin::new` and `compute`), in columns; ASCII has
        // one column per byte.
        let leading = text.bytes().take_while(|&b| b == b' ').count();
        let whitespace_left = if leading == text.len() { 0 } else { leading }.min(s);
        let whitespace_left = whitespace_left.saturating_sub(ELLIPSIS_PASSING);
        let span_left = s.saturating_sub(ELLIPSIS_PASSING);
        let span_right = e + ELLIPSIS_PASSING;
        let label_right = e + label_len + ELLIPSIS_PASSING;
        let term_width = TERM_WIDTH.saturating_sub(code_offset);
        if e - s > 2 * term_width {
            // annotate_snippets cuts the middle out of a span this long.
            return None;
        }
        let mut computed_left = if whitespace_left > LONG_WHITESPACE {
            whitespace_left - (LONG_WHITESPACE - LONG_WHITESPACE_PADDING)
        } else {
            0
        };
        let mut computed_right = text.len().max(computed_left);
        if computed_right - computed_left > term_width {
            if label_right.saturating_sub(whitespace_left) <= term_width
                && label_right >= whitespace_left
            {
                computed_left = whitespace_left;
                computed_right = computed_left + term_width;
            } else if label_right - span_left <= term_width {
                let padding_left = (term_width - (label_right - span_left)) / 2;
                computed_left = span_left.saturating_sub(padding_left);
                computed_right = computed_left + term_width;
            } else if span_right - span_left <= term_width {
                let padding_left = (term_width - (span_right - span_left)) / 5 * 2;
                computed_left = span_left.saturating_sub(padding_left);
                computed_right = computed_left + term_width;
            } else {
                computed_left = span_left;
                computed_right = span_right;
            }
        }
        let line_len = text.len();
        let left = computed_left.min(line_len);
        let right = if line_len.saturating_sub(computed_left) <= term_width {
            line_len
        } else {
            line_len.min(computed_right)
        };

        // The source line: the visible columns, `...` over the first three when cut on the
        // left and over the last three when cut on the right.
        let mut code: Vec<u8> = text.as_bytes()[left..right.max(left)].to_vec();
        if computed_left > 0 {
            let n = code.len().min(3);
            code[..n].copy_from_slice(&b"..."[..n]);
            if n < 3 {
                code.extend_from_slice(&b"..."[n..]);
            }
        }
        if line_len > right {
            let visible = code.len().min(right.max(left) - left);
            let n = visible.min(3);
            let at = visible - n;
            if code.len() < at + 3 {
                code.resize(at + 3, b' ');
            }
            code[at..at + 3].copy_from_slice(b"...");
        }

        // The annotation line: `|` under the separator, carets from the span's start, the
        // label one column after them (each cell written in annotate_snippets' order).
        let mut marks: Vec<u8> = vec![b' '; w + 2];
        marks[w + 1] = b'|';
        let mut put = |col: usize, bytes: &[u8]| {
            if marks.len() < col + bytes.len() {
                marks.resize(col + bytes.len(), b' ');
            }
            marks[col..col + bytes.len()].copy_from_slice(bytes);
        };
        if let Some(label) = &d.label {
            put(code_offset + (e + 1).saturating_sub(left), label.as_bytes());
        }
        for p in s..e {
            put((code_offset + p).saturating_sub(left), b"^");
        }

        let severity = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let pad = " ".repeat(w + 1);
        let mut out = String::with_capacity(
            64 + d.message.len()
                + path.len()
                + 2 * line_len
                + d.help.as_ref().map_or(0, String::len),
        );
        out.push_str(severity);
        out.push('[');
        out.push_str(d.code);
        out.push_str("]: ");
        out.push_str(&d.message);
        out.push('\n');
        out.push_str(&pad[1..]);
        out.push_str("--> ");
        out.push_str(path);
        out.push(':');
        out.push_str(&num);
        out.push(':');
        out.push_str(&(s + 1).to_string());
        out.push('\n');
        out.push_str(&pad);
        out.push_str("|\n");
        out.push_str(&num);
        out.push_str(" | ");
        out.push_str(std::str::from_utf8(&code).expect("ASCII"));
        out.push('\n');
        out.push_str(std::str::from_utf8(&marks).expect("ASCII"));
        if let Some(help) = &d.help {
            out.push('\n');
            out.push_str(&pad);
            out.push_str("|\n");
            out.push_str(&pad);
            out.push_str("= help: ");
            out.push_str(help);
        }
        Some(out)
    }
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
        /// The direct plain rendering against annotate_snippets, where it applies: lines of
        /// printable ASCII from empty to four times the terminal's width, indented by up to
        /// 60 spaces, spans and labels of every length (each of the margin's four cases),
        /// line numbers of one to three digits, errors and warnings, with and without help.
        #[test]
        fn plain_renders_as_annotate_snippets(
            indent in 0usize..60,
            body in "[ -~]{0,560}",
            before in 0usize..9,
            after in 0usize..120,
            at in 0.0f64..1.0,
            len in 1usize..300,
            label in proptest::option::of("[ -~]{1,160}"),
            help in proptest::option::of("[ -~]{0,300}"),
            error in proptest::bool::ANY,
        ) {
            let line = format!("{}{body}", " ".repeat(indent));
            let mut source = "x\n".repeat(before * before * 2);
            let line_start = source.len();
            source.push_str(&line);
            source.push('\n');
            source.push_str(&"y\n".repeat(after));
            let start = ((line.len() as f64) * at) as usize;
            // Mostly within the line (the direct rendering), sometimes past its end.
            let end = if len % 7 == 0 { start + len } else { (start + len).min(line.len()) };
            let (start, end) = (line_start + start, line_start + end);
            let d = Diagnostic {
                severity: if error { Severity::Error } else { Severity::Warning },
                code: if error { "E0307" } else { "W0601" },
                message: "unknown field `a.b` for `T`; did you mean `a.c`?".into(),
                span: Some(start..end),
                label,
                help,
            };
            proptest::prop_assert_eq!(
                render(&d, "rules/x.yml", &source, Style::Human),
                render_whole_file(&d, "rules/x.yml", &source, Style::Human)
            );
        }
    }

    /// The direct rendering is taken for a W0601 warning of the corpus's kind (a cut line),
    /// so the property above compares it, not annotate_snippets with itself.
    #[test]
    fn plain_rendering_applies_to_a_long_line() {
        let line = format!("  (a == 1 or {} or b.c == 2)", "x == 1 or ".repeat(30));
        let at = line.find("b.c").unwrap();
        let source = format!("{}{line}\n", "\n".repeat(29));
        let d = Diagnostic {
            severity: Severity::Warning,
            code: "W0601",
            message: "unknown field `b.c` for T".into(),
            span: Some(29 + at..29 + at + 3),
            label: Some("no `b` in a test event has it".into()),
            help: Some("add a test event".into()),
        };
        let out =
            plain::render(&d, "r.yml", &format!("{line}\n"), 30, at..at + 3).expect("plain ASCII");
        assert_eq!(out, render_whole_file(&d, "r.yml", &source, Style::Human));
        assert!(
            out.contains("30 | ...") && out.contains("^^^ no `b`"),
            "{out}"
        );
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
