//! A conservative scanner of one JSON object, the native engine's fast path: it checks a line
//! of JSON Lines and gives each top-level member's key and the span of its value's text, without
//! building anything.
//!
//! It never decides that a line is malformed. It answers `None` for anything it does not
//! vouch for, and the caller then parses the line with serde_json, whose verdict and message
//! are the ones every engine reports. When it answers `Some`, `serde_json::from_str::<Value>`
//! accepts the text. So it answers `None` for: a text that is not an object; a key with an
//! escape; a `\u` escape of a surrogate (a pair is valid, a lone half is not, and serde_json
//! says which); a control character in a string; any escape it does not know; a number with an
//! exponent or more than `MAX_DIGITS` digits before its point (these can overflow to infinity,
//! which serde_json rejects); nesting deeper than `MAX_DEPTH` (serde_json stops at 128); any
//! byte out of place, trailing text included. Duplicate keys are given as they come (a `Value`
//! keeps the last). The text is `&str`, so it is valid UTF-8 already.

/// Containers inside the top-level object that the scanner follows (serde_json allows 128 in
/// all).
const MAX_DEPTH: usize = 100;
/// Digits before a number's point that cannot reach `f64::MAX` (about 1.8e308).
const MAX_DIGITS: usize = 300;

/// Calls `member(key, start, end)` for each top-level member of the object `text`, in order,
/// `text[start..end]` being the value's text. `None` when the text is left to serde_json (some
/// members may have been given by then).
pub fn members<'t>(text: &'t str, mut member: impl FnMut(&'t str, usize, usize)) -> Option<()> {
    let b = text.as_bytes();
    let mut i = space(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = space(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return (space(b, i + 1) == b.len()).then_some(());
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let (end, plain) = string(b, i + 1)?;
        if !plain {
            return None;
        }
        let key = &text[i + 1..end - 1];
        i = space(b, end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let start = space(b, i + 1);
        i = value(b, start, 0)?;
        member(key, start, i);
        i = space(b, i);
        match b.get(i) {
            Some(b',') => i = space(b, i + 1),
            Some(b'}') => return (space(b, i + 1) == b.len()).then_some(()),
            _ => return None,
        }
    }
}

/// Calls `element(start, end)` for each element of the array `text`, in order,
/// `text[start..end]` being the element's text. Meant for a value's text that `members` gave
/// (its depth limit counts from this array). `None` when the text is left to serde_json.
pub fn elements(text: &str, mut element: impl FnMut(usize, usize)) -> Option<()> {
    let b = text.as_bytes();
    let mut i = space(b, 0);
    if b.get(i) != Some(&b'[') {
        return None;
    }
    i = space(b, i + 1);
    if b.get(i) == Some(&b']') {
        return (space(b, i + 1) == b.len()).then_some(());
    }
    loop {
        let start = i;
        i = value(b, start, 0)?;
        element(start, i);
        i = space(b, i);
        match b.get(i) {
            Some(b',') => i = space(b, i + 1),
            Some(b']') => return (space(b, i + 1) == b.len()).then_some(()),
            _ => return None,
        }
    }
}

/// The index after JSON whitespace from `i`.
fn space(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

/// A string's rest from after its opening quote: the index after its closing quote, and
/// whether it had no escape.
fn string(b: &[u8], mut i: usize) -> Option<(usize, bool)> {
    let mut plain = true;
    loop {
        i = special(b, i)?;
        match b[i] {
            b'"' => return Some((i + 1, plain)),
            b'\\' => {
                plain = false;
                match b.get(i + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                    b'u' => {
                        let mut code = 0u32;
                        for &c in b.get(i + 2..i + 6)? {
                            code = code * 16 + char::from(c).to_digit(16)?;
                        }
                        if (0xD800..0xE000).contains(&code) {
                            return None;
                        }
                        i += 6;
                    }
                    _ => return None,
                }
            }
            _ => return None,
        }
    }
}

/// The index of the first quote, backslash or control character from `i`, read sixteen bytes
/// at a time (SSE2, which every x86-64 processor has), then as `special_words` does.
#[cfg(target_arch = "x86_64")]
fn special(b: &[u8], mut i: usize) -> Option<usize> {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    while i + 16 <= b.len() {
        // SAFETY: the sixteen bytes from `i` are in `b` (checked above), and an unaligned load
        // reads no more than those; SSE2 is part of x86-64.
        let marks = unsafe {
            let v = _mm_loadu_si128(b.as_ptr().add(i).cast());
            let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
            let slash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
            // A byte below 0x20 is one whose unsigned maximum with 0x1f is 0x1f.
            let low = _mm_set1_epi8(0x1f);
            let control = _mm_cmpeq_epi8(_mm_max_epu8(v, low), low);
            _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, slash), control))
        };
        if marks != 0 {
            return Some(i + marks.trailing_zeros() as usize);
        }
        i += 16;
    }
    special_words(b, i)
}

#[cfg(not(target_arch = "x86_64"))]
fn special(b: &[u8], i: usize) -> Option<usize> {
    special_words(b, i)
}

/// The index of the first quote, backslash or control character from `i`, read eight bytes
/// at a time.
fn special_words(b: &[u8], mut i: usize) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    // Bytes that are zero, or below 0x20, have their high bit set here; a borrow can only
    // mark bytes after the first one marked, so the lowest mark is exact.
    let marks = |w: u64| {
        let quote = w ^ (ONES * u64::from(b'"'));
        let slash = w ^ (ONES * u64::from(b'\\'));
        (quote.wrapping_sub(ONES) & !quote
            | slash.wrapping_sub(ONES) & !slash
            | w.wrapping_sub(ONES * 0x20) & !w)
            & HIGH
    };
    while let Some(chunk) = b.get(i..i + 8) {
        let m = marks(u64::from_le_bytes(chunk.try_into().expect("eight bytes")));
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// A value starting at `i` (no whitespace before it), `depth` containers deep: the index
/// after it.
fn value(b: &[u8], i: usize, depth: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => string(b, i + 1).map(|(end, _)| end),
        b'{' => container(b, i, depth, b'}', true),
        b'[' => container(b, i, depth, b']', false),
        b't' => literal(b, i, b"true"),
        b'f' => literal(b, i, b"false"),
        b'n' => literal(b, i, b"null"),
        b'-' | b'0'..=b'9' => number(b, i),
        _ => None,
    }
}

/// An object or array starting at `i` (its opening bracket).
fn container(b: &[u8], i: usize, depth: usize, close: u8, object: bool) -> Option<usize> {
    if depth >= MAX_DEPTH {
        return None;
    }
    let mut i = space(b, i + 1);
    if b.get(i) == Some(&close) {
        return Some(i + 1);
    }
    loop {
        if object {
            if b.get(i) != Some(&b'"') {
                return None;
            }
            i = space(b, string(b, i + 1)?.0);
            if b.get(i) != Some(&b':') {
                return None;
            }
            i = space(b, i + 1);
        }
        i = space(b, value(b, i, depth + 1)?);
        match *b.get(i)? {
            b',' => i = space(b, i + 1),
            c if c == close => return Some(i + 1),
            _ => return None,
        }
    }
}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    (b.get(i..i + word.len())? == word).then_some(i + word.len())
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, with at most `MAX_DIGITS` digits before the point; an
/// exponent is left to serde_json. What follows is checked by the caller.
fn number(b: &[u8], mut i: usize) -> Option<usize> {
    if b[i] == b'-' {
        i += 1;
    }
    let digits = |mut i: usize| {
        while let Some(b'0'..=b'9') = b.get(i) {
            i += 1;
        }
        i
    };
    let start = i;
    match *b.get(i)? {
        b'0' => i += 1,
        b'1'..=b'9' => i = digits(i),
        _ => return None,
    }
    if i - start > MAX_DIGITS {
        return None;
    }
    if b.get(i) == Some(&b'.') {
        let fraction = i + 1;
        i = digits(fraction);
        if i == fraction {
            return None;
        }
    }
    if let Some(b'e' | b'E') = b.get(i) {
        return None;
    }
    Some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(text: &str) -> Option<Vec<(&str, &str)>> {
        let mut out = Vec::new();
        members(text, |k, s, e| out.push((k, &text[s..e])))?;
        Some(out)
    }

    /// Sixteen and eight bytes at a time, the first quote, backslash or control character,
    /// wherever it falls, whatever bytes (non-ASCII ones, 0x20 and 0x1f too) come before or
    /// after it, and whatever the text's length.
    #[test]
    fn finds_the_first_special_byte() {
        let fill = "aé~ \x7f\u{10ffff}!#[]".as_bytes();
        for find in [special, special_words] {
            for special_byte in [b'"', b'\\', 0, 0x1f, b'\n'] {
                for at in 0..40 {
                    for after in [b'"', b'a', 0x80, 0, 0xff] {
                        for tail in [0, 1, 7, 15, 16, 30] {
                            let mut text: Vec<u8> = fill.iter().cycle().take(at).copied().collect();
                            text.push(special_byte);
                            text.push(after);
                            text.extend(std::iter::repeat_n(b'x', tail));
                            for from in [0, at / 2, at] {
                                assert_eq!(find(&text, from), Some(at), "{text:?} {from}");
                            }
                        }
                    }
                }
            }
            for len in 0..40 {
                let text: Vec<u8> = fill.iter().cycle().take(len).copied().collect();
                assert_eq!(find(&text, 0), None, "{text:?}");
            }
            assert_eq!(find(b"abcdefghijklmnop", 0), None);
            assert_eq!(find(b"abcdefghijklmn\"p", 3), Some(14));
            assert_eq!(find(b"abcdefghijklmn\"p\"", 15), Some(16));
        }
    }

    #[test]
    fn gives_keys_and_value_texts() {
        assert_eq!(
            spans(r#" { "a" : [1, {"b": "x\"y"}] , "c":-0.5,"a":null }  "#).unwrap(),
            vec![("a", r#"[1, {"b": "x\"y"}]"#), ("c", "-0.5"), ("a", "null")]
        );
        assert_eq!(spans("{}").unwrap(), vec![]);
    }

    #[test]
    fn gives_element_texts() {
        let texts = |text: &str| {
            let mut out = Vec::new();
            elements(text, |s, e| out.push(text[s..e].to_string()))?;
            Some(out)
        };
        assert_eq!(
            texts(r#"[ 1 , "a,b" ,[2,[]], {"c": [3]},null ]"#).unwrap(),
            ["1", r#""a,b""#, "[2,[]]", r#"{"c": [3]}"#, "null"]
        );
        assert_eq!(texts("[]").unwrap(), Vec::<String>::new());
        assert_eq!(texts(" [ ] ").unwrap(), Vec::<String>::new());
        for text in ["[1,]", "[,1]", "[1 2]", "[1", "{}", "[1]x", "[1e5]"] {
            assert_eq!(texts(text), None, "{text}");
        }
    }

    /// Whatever it vouches for, serde_json accepts; what it leaves, serde_json may reject.
    #[test]
    fn leaves_what_it_does_not_vouch_for() {
        for text in [
            r#"{"a": 1e5}"#,
            r#"{"a": "\ud83d\ude00"}"#,
            r#"{"a\n": 1}"#,
            r#"{"a": 01}"#,
            r#"{"a": 1.}"#,
            r#"{"a": -}"#,
            r#"{"a": tru}"#,
            r#"{"a": 1,}"#,
            r#"{"a": [1,]}"#,
            r#"{"a": 1} x"#,
            "{\"a\": \"\u{1f}\"}",
            "{\"a\":\u{a0}1}",
            r#"[1]"#,
            r#"{"a": "\x"}"#,
            &format!("{{\"a\": {}}}", "9".repeat(MAX_DIGITS + 1)),
            &format!(
                "{{\"a\": {}{}}}",
                "[".repeat(MAX_DEPTH + 1),
                "]".repeat(MAX_DEPTH + 1)
            ),
        ] {
            assert_eq!(spans(text), None, "{text}");
        }
        let deep = format!(
            "{{\"a\": {}{}}}",
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        );
        assert!(spans(&deep).is_some());
        assert!(serde_json::from_str::<serde_json::Value>(&deep).is_ok());
    }
}
