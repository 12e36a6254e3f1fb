//! Parsers of single field values: yes/no flags, whole numbers, dates, lists, and the
//! bounds past which a number is taken as a typo.

use chrono::NaiveDate;

/// The largest age in completed years that is taken as real (prescriptions and rules alike).
pub const MAX_AGE_YEARS: u32 = 130;
/// The largest gestational week (completed weeks) that is taken as real.
pub const MAX_GESTATIONAL_WEEK: u32 = 45;
/// The largest frequency or course length that is taken as a number rather than a typo.
pub const MAX_TIMES_PER_DAY: u32 = 1000;
pub const MAX_DURATION_DAYS: u32 = 36_500;

/// A yes / no / unknown answer; an empty field is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    Yes,
    No,
    Unknown,
}

/// Parses `yes`, `no`, `unknown` (any case; also `y`/`n`, `true`/`false`, `1`/`0`), or empty.
pub fn parse_flag(text: &str) -> Option<Flag> {
    let text = text.trim();
    if text.is_empty() {
        return Some(Flag::Unknown);
    }
    let lower = text.to_ascii_lowercase();
    match lower.as_str() {
        "yes" | "y" | "true" | "1" => Some(Flag::Yes),
        "no" | "n" | "false" | "0" => Some(Flag::No),
        "unknown" | "u" => Some(Flag::Unknown),
        _ => None,
    }
}

/// Parses a whole number of at least `min` and at most `max` written as plain digits.
pub fn parse_whole(text: &str, min: u32, max: u32) -> Option<u32> {
    let text = text.trim();
    if text.is_empty() || text.len() > 10 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u32>().ok().filter(|n| (min..=max).contains(n))
}

/// Parses a calendar date written `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim().as_bytes();
    let [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = *text else {
        return None;
    };
    let digits = [y1, y2, y3, y4, m1, m2, d1, d2];
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let number = |ds: &[u8]| ds.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    let year = i32::try_from(number(&[y1, y2, y3, y4])).ok()?;
    NaiveDate::from_ymd_opt(year, number(&[m1, m2]), number(&[d1, d2]))
}

/// Completed years between a birth date and a date; `None` when born after it.
pub fn completed_years(birth: NaiveDate, on: NaiveDate) -> Option<u32> {
    on.years_since(birth)
}

/// The non-empty items of a `;`-separated list, trimmed.
pub fn list_items(text: &str) -> impl Iterator<Item = &str> {
    text.split(';').map(str::trim).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completed_years_count_birthdays_on_the_day() {
        let birth = parse_date("2012-03-15").unwrap();
        assert_eq!(
            completed_years(birth, parse_date("2024-03-14").unwrap()),
            Some(11)
        );
        assert_eq!(
            completed_years(birth, parse_date("2024-03-15").unwrap()),
            Some(12)
        );
        assert_eq!(
            completed_years(birth, parse_date("2012-03-14").unwrap()),
            None
        );
        let leap = parse_date("2008-02-29").unwrap();
        assert_eq!(
            completed_years(leap, parse_date("2020-02-28").unwrap()),
            Some(11)
        );
        assert_eq!(
            completed_years(leap, parse_date("2020-02-29").unwrap()),
            Some(12)
        );
    }

    #[test]
    fn whole_numbers_are_plain_digits() {
        assert_eq!(parse_whole("3", 1, 1000), Some(3));
        for bad in ["0", "two", "1e9", "-1", "2.5", "", "1001", "99999999999"] {
            assert_eq!(parse_whole(bad, 1, 1000), None, "{bad}");
        }
    }

    #[test]
    fn dates_must_exist() {
        assert!(parse_date("2023-02-30").is_none());
        assert!(parse_date("2024-02-29").is_some());
        assert!(parse_date("24-02-29").is_none());
    }
}
