//! `in_cidr` as a regex (SPEC §3.7). An address is inside a range exactly when its text has one
//! of finitely many shapes: a dotted quad without leading zeros whose leading octets are fixed
//! and whose next octet lies in an interval, or an RFC 4291 IPv6 text form (with or without
//! `::`, with or without a trailing dotted quad) whose leading groups are fixed. Written as an
//! anchored regex in the portable subset, it is spelled exactly by every target's regex
//! translator, so no target depends on its engine's own address parser (which differ on
//! leading zeros, zone ids and IPv4-mapped forms).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, OnceLock};

use crate::ir::Cidr;

/// One anchored regex matching exactly the address texts inside one of `ranges`.
///
/// The same lists recur across rules (private and loopback ranges), so the patterns are kept
/// for the process, up to [`MEMO_MAX_BYTES`].
pub fn pattern(ranges: &[Cidr]) -> String {
    let key: Vec<(IpAddr, u8)> = ranges.iter().map(|r| (r.addr, r.prefix)).collect();
    let memo = MEMO.get_or_init(Default::default);
    let lock = || {
        memo.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if let Some(hit) = lock().0.get(&key) {
        return hit.clone();
    }
    let out = pattern_uncached(ranges);
    let mut m = lock();
    if m.1 + out.len() <= MEMO_MAX_BYTES {
        m.1 += out.len();
        m.0.insert(key, out.clone());
    }
    out
}

/// The memo of [`pattern`] stops growing at this many bytes of patterns.
const MEMO_MAX_BYTES: usize = 8 << 20;

type Memo = (HashMap<Vec<(IpAddr, u8)>, String>, usize);

static MEMO: OnceLock<Mutex<Memo>> = OnceLock::new();

fn pattern_uncached(ranges: &[Cidr]) -> String {
    let mut alts: Vec<String> = Vec::new();
    for r in ranges {
        let alt = match r.addr {
            IpAddr::V4(a) => ipv4(u32::from(a), r.prefix),
            IpAddr::V6(a) => ipv6(u128::from(a), r.prefix),
        };
        if !alts.contains(&alt) {
            alts.push(alt);
        }
    }
    format!("^(?:{})$", alts.join("|"))
}

/// An anchored regex matching exactly the texts SPEC §3.7 reads as an IPv4 address: a dotted
/// quad without leading zeros (`std::net::Ipv4Addr`'s syntax).
pub fn ipv4_text() -> String {
    format!("^{}$", any_ipv4())
}

/// An anchored regex matching exactly the texts SPEC §3.7 reads as an IPv6 address: the RFC 4291
/// forms (1–4 hex digits a group, at most one `::` standing for at least one zero group, the
/// last 32 bits optionally a dotted quad), without a zone id (`std::net::Ipv6Addr`'s syntax).
/// Written with counted repetitions: `p` groups before `::` and `q` after, `p + q` at most 7
/// (at most 5 before a dotted quad, which is two groups).
pub fn ipv6_text() -> String {
    const H: &str = "[0-9A-Fa-f]{1,4}";
    let mut alts = vec![format!("(?:{H}:){{7}}{H}"), format!("(?:{H}:){{1,7}}:")];
    // `::` after p ≥ 1 groups, followed by 1..=j groups, p ≤ 7 - j.
    for j in 1..=6 {
        let before = if j == 6 {
            format!("{H}:")
        } else {
            format!("(?:{H}:){{1,{}}}", 7 - j)
        };
        let after = if j == 1 {
            format!(":{H}")
        } else {
            format!("(?::{H}){{1,{j}}}")
        };
        alts.push(format!("{before}{after}"));
    }
    alts.push(format!(":(?:(?::{H}){{1,7}}|:)"));
    // Before a dotted quad: six groups, or `::` with p + q ≤ 5 groups around it.
    let mut tails = vec![format!("(?:{H}:){{6}}"), format!("::(?:{H}:){{0,5}}")];
    for q in 0..=4 {
        let after = match q {
            0 => String::new(),
            1 => format!("{H}:"),
            _ => format!("(?:{H}:){{{q}}}"),
        };
        tails.push(format!("(?:{H}:){{1,{}}}:{after}", 5 - q));
    }
    alts.push(format!("(?:{}){}", tails.join("|"), any_ipv4()));
    format!("^(?:{})$", alts.join("|"))
}

/// Any dotted quad without leading zeros (unanchored).
fn any_ipv4() -> String {
    const OCTET: &str = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
    format!("{OCTET}(?:\\.{OCTET}){{3}}")
}

/// A range in the form every address parser reads the same way: a dotted quad for IPv4, eight
/// hex groups (no `::`, no dotted quad) for IPv6, then `/length`.
pub fn plain_text(range: &Cidr) -> String {
    match range.addr {
        IpAddr::V4(a) => format!("{a}/{}", range.prefix),
        IpAddr::V6(a) => {
            let groups: Vec<String> = a.segments().iter().map(|g| format!("{g:x}")).collect();
            format!("{}/{}", groups.join(":"), range.prefix)
        }
    }
}

/// The values of a `bits`-wide field whose top `fixed` bits equal those of `value`.
fn block(value: u128, bits: u32, fixed: u32) -> (u128, u128) {
    let free = bits - fixed;
    let mask = if free == 0 { 0 } else { (1u128 << free) - 1 };
    let lo = value & !mask & ((1u128 << bits) - 1);
    (lo, lo | mask)
}

/// How many of a field's bits a prefix of `prefix` bits fixes, for a field starting at bit
/// `start` (from the top) that is `bits` wide.
fn fixed_bits(prefix: u32, start: u32, bits: u32) -> u32 {
    prefix.saturating_sub(start).min(bits)
}

// ---- IPv4 -------------------------------------------------------------------------------------

/// A dotted quad (no leading zeros) whose 32-bit value has the top `prefix` bits of `value`.
fn ipv4(value: u32, prefix: u8) -> String {
    dotted(u128::from(value), 32, u32::from(prefix))
}

/// A dotted quad for the low 32 bits of a `width`-bit field whose top `fixed` bits (of those 32)
/// are those of `value`.
fn dotted(value: u128, _width: u32, fixed: u32) -> String {
    let mut parts = Vec::with_capacity(4);
    for i in 0..4u32 {
        let octet = (value >> (24 - 8 * i)) & 0xff;
        let (lo, hi) = block(octet, 8, fixed_bits(fixed, 8 * i, 8));
        parts.push(decimal_range(lo as u32, hi as u32));
    }
    parts.join("\\.")
}

/// Decimal numbers without leading zeros (but `0` itself) from `lo` to `hi` (≤ 255).
fn decimal_range(lo: u32, hi: u32) -> String {
    if lo == 0 && hi == 255 {
        return "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])".into();
    }
    let mut alts = Vec::new();
    for digits in 1..=3u32 {
        let min = if digits == 1 {
            0
        } else {
            10u32.pow(digits - 1)
        };
        let max = 10u32.pow(digits) - 1;
        let (a, b) = (lo.max(min), hi.min(max));
        if a > b {
            continue;
        }
        fixed_len_range(
            &to_digits(a, 10, digits),
            &to_digits(b, 10, digits),
            10,
            &mut String::new(),
            &mut alts,
        );
    }
    group(alts)
}

// ---- IPv6 -------------------------------------------------------------------------------------

/// Every IPv6 text form (RFC 4291: eight groups of 1–4 hex digits, one `::` for one or more
/// zero groups, the last 32 bits optionally as a dotted quad) whose 128-bit value has the top
/// `prefix` bits of `value`.
fn ipv6(value: u128, prefix: u8) -> String {
    let prefix = u32::from(prefix);
    // The allowed values of group i (bits 16i..16i+16 from the top).
    let groups: Vec<(u128, u128)> = (0..8u32)
        .map(|i| {
            let g = (value >> (112 - 16 * i)) & 0xffff;
            block(g, 16, fixed_bits(prefix, 16 * i, 16))
        })
        .collect();
    let zero_ok = |i: usize| groups[i].0 == 0;
    let hex = |i: usize| hex_range(groups[i].0, groups[i].1);
    let v4 = || dotted(value & 0xffff_ffff, 32, prefix.saturating_sub(96));
    let mut alts: Vec<String> = Vec::new();
    // Without `::`: eight groups, or six and a dotted quad.
    alts.push((0..8).map(hex).collect::<Vec<_>>().join(":"));
    alts.push(format!(
        "{}:{}",
        (0..6).map(hex).collect::<Vec<_>>().join(":"),
        v4()
    ));
    // With `::` for groups k..8-m (at least one): k groups before, m after (the last two of
    // which may be a dotted quad).
    for tail_v4 in [false, true] {
        let width = if tail_v4 { 6 } else { 8 };
        for k in 0..width {
            for m in 0..(width - k) {
                // Groups k..width-m are compressed: they must be allowed to be zero.
                if !(k..width - m).all(zero_ok) {
                    continue;
                }
                let before: Vec<String> = (0..k).map(hex).collect();
                let mut after: Vec<String> = (width - m..width).map(hex).collect();
                if tail_v4 {
                    after.push(v4());
                }
                alts.push(format!("{}::{}", before.join(":"), after.join(":")));
            }
        }
    }
    group(alts)
}

/// 1 to 4 hex digits (leading zeros allowed, either case) with a value from `lo` to `hi`.
fn hex_range(lo: u128, hi: u128) -> String {
    if lo == 0 && hi == 0xffff {
        return "[0-9A-Fa-f]{1,4}".into();
    }
    let mut alts = Vec::new();
    for digits in 1..=4u32 {
        let max = 16u128.pow(digits) - 1;
        let (a, b) = (lo, hi.min(max));
        if a > b {
            continue;
        }
        fixed_len_range(
            &to_digits(a as u32, 16, digits),
            &to_digits(b as u32, 16, digits),
            16,
            &mut String::new(),
            &mut alts,
        );
    }
    group(alts)
}

// ---- ranges of fixed-length numbers -----------------------------------------------------------

fn to_digits(mut n: u32, base: u32, len: u32) -> Vec<u32> {
    let mut d = vec![0; len as usize];
    for i in (0..len as usize).rev() {
        d[i] = n % base;
        n /= base;
    }
    d
}

/// Appends to `out` the alternatives (each prefixed with `prefix`) matching exactly the
/// `lo.len()`-digit strings from `lo` to `hi` in `base`.
fn fixed_len_range(lo: &[u32], hi: &[u32], base: u32, prefix: &mut String, out: &mut Vec<String>) {
    if lo.is_empty() {
        out.push(prefix.clone());
        return;
    }
    let rest = lo.len() - 1;
    let all_min = lo[1..].iter().all(|&d| d == 0);
    let all_max = hi[1..].iter().all(|&d| d == base - 1);
    if lo[0] == hi[0] {
        let len = prefix.len();
        prefix.push_str(&class(lo[0], lo[0], base));
        fixed_len_range(&lo[1..], &hi[1..], base, prefix, out);
        prefix.truncate(len);
        return;
    }
    // The first digit's whole span where the rest is free.
    let first_full = if all_min { lo[0] } else { lo[0] + 1 };
    let last_full = if all_max { hi[0] } else { hi[0] - 1 };
    if !all_min {
        let len = prefix.len();
        prefix.push_str(&class(lo[0], lo[0], base));
        let top = vec![base - 1; rest];
        fixed_len_range(&lo[1..], &top, base, prefix, out);
        prefix.truncate(len);
    }
    if first_full <= last_full {
        let mut alt = prefix.clone();
        alt.push_str(&class(first_full, last_full, base));
        if rest > 0 {
            alt.push_str(&class(0, base - 1, base));
            if rest > 1 {
                alt.push_str(&format!("{{{rest}}}"));
            }
        }
        out.push(alt);
    }
    if !all_max {
        let len = prefix.len();
        prefix.push_str(&class(hi[0], hi[0], base));
        let bottom = vec![0; rest];
        fixed_len_range(&bottom, &hi[1..], base, prefix, out);
        prefix.truncate(len);
    }
}

/// A character class for the digits `a..=b` in `base` (hex letters in either case).
fn class(a: u32, b: u32, base: u32) -> String {
    let digit = |d: u32| std::char::from_digit(d, base).expect("a digit");
    let mut spans: Vec<(char, char)> = Vec::new();
    let (da, db) = (a.min(9), b.min(9));
    if a <= 9 {
        spans.push((digit(da), digit(db)));
    }
    if b >= 10 {
        let (la, lb) = (a.max(10), b);
        spans.push((digit(la), digit(lb)));
        spans.push((
            digit(la).to_ascii_uppercase(),
            digit(lb).to_ascii_uppercase(),
        ));
    }
    if spans.len() == 1 && spans[0].0 == spans[0].1 {
        return spans[0].0.to_string();
    }
    let mut out = String::from("[");
    for (x, y) in spans {
        out.push(x);
        if y != x {
            if y as u32 > x as u32 + 1 {
                out.push('-');
            }
            out.push(y);
        }
    }
    out.push(']');
    out
}

fn group(alts: Vec<String>) -> String {
    if alts.len() == 1 {
        alts.into_iter().next().expect("one")
    } else {
        format!("(?:{})", alts.join("|"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::parse_address;

    fn re(ranges: &[&str]) -> regex::Regex {
        let rs: Vec<Cidr> = ranges
            .iter()
            .map(|r| Cidr::parse(r).expect("range"))
            .collect();
        regex::Regex::new(&pattern(&rs)).expect("a valid regex")
    }

    /// What SPEC §3.7 says, by the reference implementation.
    fn reference(ranges: &[&str], s: &str) -> bool {
        let rs: Vec<Cidr> = ranges
            .iter()
            .map(|r| Cidr::parse(r).expect("range"))
            .collect();
        parse_address(s).is_some_and(|ip| rs.iter().any(|r| r.contains(&ip)))
    }

    fn agree(ranges: &[&str], inputs: &[&str]) {
        let r = re(ranges);
        for s in inputs {
            assert_eq!(r.is_match(s), reference(ranges, s), "{ranges:?} on {s:?}");
        }
    }

    /// A remembered pattern is the one written fresh, for the list it was written for: the
    /// order of the ranges and their prefixes are part of the key.
    #[test]
    fn remembered_patterns_are_fresh_ones() {
        let lists: [&[&str]; 4] = [
            &["10.0.0.0/8", "fe80::/10"],
            &["fe80::/10", "10.0.0.0/8"],
            &["10.0.0.0/9", "fe80::/10"],
            &["10.0.0.0/8"],
        ];
        for ranges in lists {
            let rs: Vec<Cidr> = ranges
                .iter()
                .map(|r| Cidr::parse(r).expect("range"))
                .collect();
            let fresh = pattern_uncached(&rs);
            assert_eq!(pattern(&rs), fresh, "{ranges:?}");
            assert_eq!(pattern(&rs), fresh, "{ranges:?}");
        }
        let a: Vec<Cidr> = ["10.0.0.0/8"]
            .iter()
            .map(|r| Cidr::parse(r).unwrap())
            .collect();
        let b: Vec<Cidr> = ["10.0.0.0/9"]
            .iter()
            .map(|r| Cidr::parse(r).unwrap())
            .collect();
        assert_ne!(pattern(&a), pattern(&b));
    }

    #[test]
    fn decimal_and_hex_ranges() {
        let r = regex::Regex::new(&format!("^{}$", decimal_range(16, 31))).unwrap();
        for n in 0..300 {
            assert_eq!(r.is_match(&n.to_string()), (16..=31).contains(&n), "{n}");
        }
        assert!(!r.is_match("016"));
        let r = regex::Regex::new(&format!("^{}$", hex_range(0x0db8, 0x0db8))).unwrap();
        for s in ["db8", "0db8", "DB8", "0Db8"] {
            assert!(r.is_match(s), "{s}");
        }
        for s in ["00db8", "db9", "db"] {
            assert!(!r.is_match(s), "{s}");
        }
        for (lo, hi) in [
            (0u128, 0xff),
            (0x100, 0x1ff),
            (0x2000, 0x3fff),
            (7, 7),
            (0, 0),
        ] {
            let r = regex::Regex::new(&format!("^{}$", hex_range(lo, hi))).unwrap();
            for v in (0..=0xffffu128).step_by(7).chain([lo, hi, hi + 1]) {
                for s in [format!("{v:x}"), format!("{v:04X}")] {
                    if s.len() <= 4 {
                        assert_eq!(r.is_match(&s), (lo..=hi).contains(&v), "{lo}..{hi} {s}");
                    }
                }
            }
        }
    }

    #[test]
    fn ipv4_ranges_match_exactly() {
        let inputs = [
            "10.0.0.0",
            "10.255.255.255",
            "11.0.0.0",
            "9.255.255.255",
            "10.1.2.3",
            "010.0.0.1",
            "10.01.0.1",
            "10.0.0",
            "10.0.0.0.0",
            "10.0.0.256",
            " 10.0.0.1",
            "172.15.255.255",
            "172.16.0.0",
            "172.31.255.255",
            "172.32.0.0",
            "0.0.0.0",
            "255.255.255.255",
            "192.168.1.1",
            "192.168.1.0",
            "::ffff:10.0.0.1",
            "",
        ];
        for ranges in [
            &["10.0.0.0/8"][..],
            &["172.16.0.0/12"],
            &["0.0.0.0/0"],
            &["192.168.1.1/32"],
            &["192.168.1.7/31"],
            &["10.1.2.3/8", "172.16.0.0/12"],
        ] {
            agree(ranges, &inputs);
        }
    }

    #[test]
    fn ipv6_ranges_match_exactly() {
        let inputs = [
            "2001:db8::",
            "2001:db8::1",
            "2001:DB8::1",
            "2001:0db8:0000:0000:0000:0000:0000:0001",
            "2001:db8:0:0:0:0:0:1",
            "2001:db9::1",
            "2001:db7:ffff::",
            "2001:db8::1.2.3.4",
            "::",
            "::1",
            "0::0",
            "::ffff:10.0.0.1",
            "::ffff:0a00:0001",
            "::ffff:10.0.0.256",
            "::ffff:010.0.0.1",
            "fe80::1",
            "fe80::1%eth0",
            "fe80:0:0:0:0:0:0:1",
            "fe81::1",
            "febf::1",
            "fec0::1",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1:2:3:4:5:6:1.2.3.4",
            "1::2:3:4:5:6:7",
            "1:::2",
            "1:2:3:4:5:6:7:8:9",
            "12345::",
            "10.0.0.1",
            "2001:db8::g",
            ":",
            "2001:db8:",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ];
        for ranges in [
            &["2001:db8::/32"][..],
            &["::/0"],
            &["::1/128"],
            &["fe80::/10"],
            &["::ffff:0:0/96"],
            &["::ffff:10.0.0.0/104"],
            &["2001:db8::1/127"],
            &["ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124"],
            &["2001:db8::/32", "10.0.0.0/8"],
        ] {
            agree(ranges, &inputs);
        }
    }

    /// Every address printed in several text forms, against the reference, for ranges at
    /// every prefix length.
    #[test]
    fn generated_addresses_agree() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for len in (0..=128u32).step_by(5).chain([127, 128]) {
            let base = (u128::from(next()) << 64 | u128::from(next())) & !0xffff_0000u128;
            let range = format!("{}/{len}", std::net::Ipv6Addr::from(base));
            let r = re(&[&range]);
            for _ in 0..40 {
                // Near the range: flip one bit of the base, sometimes inside the prefix.
                let bit = next() % 128;
                let v = base ^ (1u128 << bit);
                let a = std::net::Ipv6Addr::from(v);
                let full: Vec<String> = a.segments().iter().map(|g| format!("{g:x}")).collect();
                let o = a.octets();
                let mixed = format!(
                    "{}:{}.{}.{}.{}",
                    full[..6].join(":"),
                    o[12],
                    o[13],
                    o[14],
                    o[15]
                );
                for s in [
                    a.to_string(),
                    full.join(":"),
                    mixed,
                    a.to_string().to_uppercase(),
                ] {
                    assert_eq!(r.is_match(&s), reference(&[&range], &s), "{range} on {s}");
                }
            }
            let base4 = next() as u32;
            let v4 = format!("{}/{}", std::net::Ipv4Addr::from(base4), len.min(32));
            let r4 = re(&[&v4]);
            for _ in 0..40 {
                let a = std::net::Ipv4Addr::from(base4 ^ (1 << (next() % 32)));
                let s = a.to_string();
                assert_eq!(r4.is_match(&s), reference(&[&v4], &s), "{v4} on {s}");
            }
        }
    }

    /// The address guards accept exactly what `std::net` parses (SPEC §3.7's address texts).
    #[test]
    fn address_guards_match_the_parsers() {
        let v4 = regex::Regex::new(&ipv4_text()).unwrap();
        let v6 = regex::Regex::new(&ipv6_text()).unwrap();
        let mut inputs: Vec<String> = [
            "10.0.0.0",
            "255.255.255.255",
            "256.0.0.1",
            "010.0.0.1",
            "1.2.3",
            "1.2.3.4.5",
            "0.0.0.0",
            "1.2.3.04",
            " 1.2.3.4",
            "1.2.3.4 ",
            "::",
            "::1",
            "1::",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "1::2::3",
            ":1::",
            "1:::2",
            "::ffff:1.2.3.4",
            "1:2:3:4:5:6:1.2.3.4",
            "1:2:3:4:5:6:7:1.2.3.4",
            "1::1.2.3.4",
            "1:2:3:4:5::1.2.3.4",
            "1:2:3:4:5:6::1.2.3.4",
            "::1:2:3:4:5:1.2.3.4",
            "::1:2:3:4:5:6:1.2.3.4",
            "12345::",
            "fe80::1%eth0",
            "FE80::A",
            "g::",
            "1.2.3.4::",
            "::1.2.3",
            "::01.2.3.4",
            "1:2:3:4:5:6:7",
            ":",
            "",
            "0:0:0:0:0:0:0:0",
            "00000::",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Every way of writing some addresses: each split of eight groups around `::`.
        for groups in [
            [1u16, 0, 0, 0xabcd, 0, 0, 0, 9],
            [0, 0, 0, 0, 0, 0, 0, 0],
            [0xffff; 8],
        ] {
            let g: Vec<String> = groups.iter().map(|v| format!("{v:x}")).collect();
            inputs.push(g.join(":"));
            inputs.push(format!("{}:255.0.10.1", g[..6].join(":")));
            for k in 0..=8 {
                for m in 0..=(8 - k) {
                    inputs.push(format!("{}::{}", g[..k].join(":"), g[8 - m..].join(":")));
                    if m >= 2 {
                        let tail = g[8 - m..6].join(":");
                        let sep = if tail.is_empty() { "" } else { ":" };
                        inputs.push(format!("{}::{tail}{sep}9.8.7.6", g[..k].join(":")));
                    }
                }
            }
        }
        for s in &inputs {
            assert_eq!(
                v4.is_match(s),
                s.parse::<std::net::Ipv4Addr>().is_ok(),
                "v4 {s:?}"
            );
            assert_eq!(
                v6.is_match(s),
                s.parse::<std::net::Ipv6Addr>().is_ok(),
                "v6 {s:?}"
            );
        }
        for n in 0..=300 {
            for s in [
                format!("{n}.1.1.1"),
                format!("0{n}.1.1.1"),
                format!("1.1.1.{n}"),
            ] {
                assert_eq!(
                    v4.is_match(&s),
                    s.parse::<std::net::Ipv4Addr>().is_ok(),
                    "{s}"
                );
            }
        }
        for r in ["::ffff:10.0.0.0/104", "2001:db8::/32", "10.1.0.0/16"] {
            let c = Cidr::parse(r).unwrap();
            let again = Cidr::parse(&plain_text(&c)).unwrap();
            assert_eq!((again.addr, again.prefix), (c.addr, c.prefix), "{r}");
        }
        assert_eq!(
            plain_text(&Cidr::parse("::1/128").unwrap()),
            "0:0:0:0:0:0:0:1/128"
        );
    }
}
