//! The text a `timestamp` column accepts, and the one instant it stands for.
//!
//! Accepted: RFC 3339 date-times, `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, with `t`/`z` in
//! either case, a space allowed for the `T` (as RFC 3339 itself permits), and the offset
//! allowed to be absent, meaning UTC (Panther's `p_event_time` is written that way). Years 0001
//! to 9999 (after conversion to UTC too), no leap second (`:60`): every engine holds exactly
//! these. Fractions are kept to the microsecond (what DuckDB and PostgreSQL hold); further
//! digits are accepted and dropped, so every engine sees the same instant.

use std::sync::LazyLock;

/// An instant in UTC: days since 1970-01-01 and microseconds into the day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant {
    days: i64,
    micros: i64,
}

static FORM: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))?$",
    )
    .expect("timestamp pattern")
});

/// The instant `text` stands for, or `None` when it is not an accepted timestamp.
pub fn parse(text: &str) -> Option<Instant> {
    let c = FORM.captures(text)?;
    let n = |i: usize| -> i64 { c.get(i).map_or(0, |m| m.as_str().parse().unwrap_or(0)) };
    let (y, mo, d, h, mi, s) = (n(1), n(2), n(3), n(4), n(5), n(6));
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    if y < 1 {
        return None;
    }
    let micros_frac = c.get(7).map_or(0, |m| {
        let digits: String = m
            .as_str()
            .chars()
            .chain(std::iter::repeat('0'))
            .take(6)
            .collect();
        digits.parse::<i64>().unwrap_or(0)
    });
    let offset_minutes = match c.get(9) {
        Some(sign) => {
            let (oh, om) = (n(10), n(11));
            if oh > 23 || om > 59 {
                return None;
            }
            let m = oh * 60 + om;
            if sign.as_str() == "-" { -m } else { m }
        }
        None => 0,
    };
    let local =
        days_from_civil(y, mo, d) * DAY + ((h * 60 + mi) * 60 + s) * 1_000_000 + micros_frac;
    let utc = local - offset_minutes * 60 * 1_000_000;
    let instant = Instant {
        days: utc.div_euclid(DAY),
        micros: utc.rem_euclid(DAY),
    };
    let (year, _, _) = civil_from_days(instant.days);
    (1..=9999).contains(&year).then_some(instant)
}

const DAY: i64 = 86_400 * 1_000_000;

impl Instant {
    /// The instant `secs` seconds after 1970-01-01T00:00:00Z.
    pub fn from_unix_seconds(secs: i64) -> Instant {
        Instant {
            days: secs.div_euclid(86_400),
            micros: secs.rem_euclid(86_400) * 1_000_000,
        }
    }

    /// Now, to the second.
    pub fn now() -> Instant {
        Instant::from_unix_seconds(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
        )
    }
    /// `YYYY-MM-DD HH:MM:SS[.ffffff]` in UTC: what SQLite's `datetime()` writes (its lookback
    /// filter compares this text), with the microseconds when there are any.
    pub fn sqlite_text(self) -> String {
        let (y, m, d) = civil_from_days(self.days);
        let secs = self.micros / 1_000_000;
        let mut out = format!(
            "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        );
        let frac = self.micros % 1_000_000;
        if frac != 0 {
            out.push_str(&format!(".{frac:06}"));
        }
        out
    }

    /// RFC 3339 in UTC (`2026-12-01T22:05:09.5Z` as `2026-12-01T22:05:09.500000Z`): the
    /// text loaded into DuckDB and PostgreSQL, read the same whatever the session's time zone.
    pub fn rfc3339(self) -> String {
        let text = self.sqlite_text();
        format!("{}Z", text.replacen(' ', "T", 1))
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the era arithmetic: 400-year eras of
/// 146097 days, years counted from March so that the leap day ends the year).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01 (the inverse of `days_from_civil`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms_and_their_instant() {
        let utc = |s: &str| parse(s).map(Instant::sqlite_text);
        assert_eq!(
            utc("2026-12-01T22:05:09Z").as_deref(),
            Some("2026-12-01 22:05:09")
        );
        assert_eq!(
            utc("2026-12-01t22:05:09z").as_deref(),
            Some("2026-12-01 22:05:09")
        );
        assert_eq!(
            utc("2026-12-01 22:05:09").as_deref(),
            Some("2026-12-01 22:05:09")
        );
        assert_eq!(
            utc("2026-12-01T23:35:09.5+01:30").as_deref(),
            Some("2026-12-01 22:05:09.500000")
        );
        // Across a day, a month, a year and a leap day.
        assert_eq!(
            utc("2024-03-01T01:00:00+02:00").as_deref(),
            Some("2024-02-29 23:00:00")
        );
        assert_eq!(
            utc("2025-12-31T23:30:00-01:00").as_deref(),
            Some("2026-01-01 00:30:00")
        );
        // Nanoseconds are dropped past the microsecond.
        assert_eq!(
            utc("2026-12-01T22:05:09.123456789Z").as_deref(),
            Some("2026-12-01 22:05:09.123456")
        );
        assert_eq!(
            parse("2026-12-01T22:05:09.000001Z").unwrap().rfc3339(),
            "2026-12-01T22:05:09.000001Z"
        );
        assert!(parse("2026-12-01T22:05:09Z") < parse("2026-12-01T22:05:09.000001Z"));
        for bad in [
            "",
            "2026-12-01",
            "2026-12-01T22:05Z",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-12-01T24:00:00Z",
            "2026-12-31T23:59:60Z",
            "2026-12-01T22:05:09+24:00",
            "0000-01-01T00:00:00Z",
            "0001-01-01T00:00:00+00:01",
            "9999-12-31T23:59:59-00:01",
            "1733090709",
            " 2026-12-01T22:05:09Z",
            "2026-12-01T22:05:09.Z",
            "２026-12-01T22:05:09Z",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        assert!(parse("2000-02-29T00:00:00Z").is_some());
        assert!(parse("1900-02-29T00:00:00Z").is_none());
    }

    #[test]
    fn civil_days_round_trip() {
        for days in (-800_000..3_000_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(
            Instant::from_unix_seconds(1_764_626_709).rfc3339(),
            "2025-12-01T22:05:09Z"
        );
        assert_eq!(
            Instant::from_unix_seconds(-1).sqlite_text(),
            "1969-12-31 23:59:59"
        );
    }
}
