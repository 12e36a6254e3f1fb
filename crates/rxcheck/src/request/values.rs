//! Parsers of single field values: yes/no flags, whole numbers, dates, lists, and the
//! bounds past which a number is taken as a typo.

use chrono::{Datelike, NaiveDate};

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

/// `text` without leading and trailing whitespace, as [`str::trim`] has it; a field that
/// starts and ends with a visible ASCII character (most do) is given back at once.
pub(crate) fn trim(text: &str) -> &str {
    let visible = |b: Option<&u8>| b.is_some_and(|&b| b > b' ' && b < 0x7f);
    if visible(text.as_bytes().first()) && visible(text.as_bytes().last()) {
        text
    } else {
        text.trim()
    }
}

/// Parses `yes`, `no`, `unknown` (any case; also `y`/`n`, `true`/`false`, `1`/`0`, and
/// Russian `да`/`нет`), or empty.
pub fn parse_flag(text: &str) -> Option<Flag> {
    const WORDS: [(&str, Flag); 13] = [
        ("да", Flag::Yes),
        ("нет", Flag::No),
        ("неизвестно", Flag::Unknown),
        ("yes", Flag::Yes),
        ("y", Flag::Yes),
        ("true", Flag::Yes),
        ("1", Flag::Yes),
        ("no", Flag::No),
        ("n", Flag::No),
        ("false", Flag::No),
        ("0", Flag::No),
        ("unknown", Flag::Unknown),
        ("u", Flag::Unknown),
    ];
    let text = trim(text);
    if text.is_empty() {
        return Some(Flag::Unknown);
    }
    word_value(text, &WORDS)
}

/// What `words` (lower case, each with its value) give the word `text`, in any case. ASCII
/// is compared ignoring case, with nothing lowered first (reading a row's flags allocates
/// nothing); other text is lowered first (a letter such as the Kelvin sign lowers to ASCII).
pub(crate) fn word_value<T: Copy>(text: &str, words: &[(&str, T)]) -> Option<T> {
    let at = word_place(text, words.iter().map(|&(word, _)| word))?;
    words.get(at).map(|&(_, value)| value)
}

/// Where the word `text` is among `words` (lower case), in any case, compared as
/// [`word_value`] compares.
pub(crate) fn word_place<'w>(
    text: &str,
    words: impl IntoIterator<Item = &'w str>,
) -> Option<usize> {
    let lowered;
    let text = if text.is_ascii() {
        text
    } else {
        lowered = text.to_lowercase();
        &lowered
    };
    words
        .into_iter()
        .position(|word| text.eq_ignore_ascii_case(word))
}

/// Parses a whole number of at least `min` and at most `max` written as plain digits.
pub fn parse_whole(text: &str, min: u32, max: u32) -> Option<u32> {
    let text = trim(text);
    if text.is_empty() || text.len() > 10 {
        return None;
    }
    // Digit by digit: a number of ten digits may still be too large.
    let number = text.bytes().try_fold(0u32, |number, b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        number.checked_mul(10)?.checked_add(u32::from(digit))
    })?;
    Some(number).filter(|n| (min..=max).contains(n))
}

/// Why a frequency could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrequencyError {
    /// Not a notation rxcheck knows.
    Unknown,
    /// `every N hours` where N does not divide a day.
    NotWhole(u32),
}

/// Parses times a day: a whole number, or the usual notations (any case): `qd`, `od`,
/// `once daily`, `bid`, `twice daily`, `tid`, `qid`, `qNh` and `every N hours` (24/N, which
/// must be whole), `Nx`, `N times a day` / `daily` / `per day`, `N/day`, and the Russian
/// `N раза в день` / `в сутки`, `дважды`, `трижды в день`.
pub fn parse_frequency(text: &str) -> Result<u32, FrequencyError> {
    if let Some(n) = parse_whole(text, 1, MAX_TIMES_PER_DAY) {
        return Ok(n);
    }
    let lower = text.trim().to_lowercase().replace('.', "");
    let words: Vec<&str> = lower.split_whitespace().collect();
    let joined = words.join(" ");
    let named = match joined.as_str() {
        "qd"
        | "od"
        | "daily"
        | "once daily"
        | "once a day"
        | "once per day"
        | "один раз в день"
        | "раз в день"
        | "1 раз в сутки"
        | "однократно" => Some(1),
        "bid"
        | "bd"
        | "twice daily"
        | "twice a day"
        | "twice per day"
        | "дважды в день"
        | "дважды в сутки" => Some(2),
        "tid"
        | "tds"
        | "three times daily"
        | "thrice daily"
        | "трижды в день"
        | "трижды в сутки" => Some(3),
        "qid" | "qds" | "four times daily" => Some(4),
        _ => None,
    };
    if let Some(n) = named {
        return Ok(n);
    }
    let number = |s: &str| parse_whole(s, 1, MAX_TIMES_PER_DAY);
    // Every N hours: `q8h`, `q 8 h`, `q8 hours`, `every 8 hours`, `every 8 h`, `каждые 8 часов`.
    let hours = |s: &str| {
        let s = s
            .trim_end_matches("hours")
            .trim_end_matches("hour")
            .trim_end_matches("hrs")
            .trim_end_matches("hr")
            .trim_end_matches("часов")
            .trim_end_matches("часа")
            .trim_end_matches('ч')
            .trim_end_matches('h')
            .trim();
        parse_whole(s, 1, 24)
    };
    let every = joined
        .strip_prefix("every ")
        .or_else(|| joined.strip_prefix("каждые "))
        .or_else(|| joined.strip_prefix("каждый "))
        .or_else(|| {
            joined
                .strip_prefix('q')
                .filter(|rest| rest.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        });
    if let Some(rest) = every {
        let unit_given = rest.trim_end().ends_with(|c: char| c.is_alphabetic());
        return match hours(rest) {
            Some(n) if unit_given && 24 % n == 0 => Ok(24 / n),
            Some(n) if unit_given => Err(FrequencyError::NotWhole(n)),
            _ => Err(FrequencyError::Unknown),
        };
    }
    // `3x`, `3 x`, `x3`, `3/day`, `3/d`, `3 times a day`, `3 раза в день`.
    let compact = joined.replace(' ', "");
    for suffix in [
        "x",
        "×",
        "/day",
        "/d",
        "/24h",
        "perday",
        "aday",
        "daily",
        "timesaday",
        "timesdaily",
        "timesperday",
        "timesday",
        "разавдень",
        "развдень",
        "развсутки",
        "разавсутки",
        "р/д",
        "р/сут",
    ] {
        if let Some(n) = compact.strip_suffix(suffix).and_then(number) {
            return Ok(n);
        }
    }
    if let Some(n) = compact.strip_prefix('x').and_then(number) {
        return Ok(n);
    }
    Err(FrequencyError::Unknown)
}

/// The one format, other than ISO, that a file's dates are written in (`%d.%m.%Y`), as
/// chrono's strftime specifiers. It must name a whole date with a four-digit year, so no date
/// read with it is a guess.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateFormat(String);

impl DateFormat {
    /// Checks `format` by writing dates with it and reading them back.
    pub fn new(format: &str) -> Result<DateFormat, String> {
        use std::fmt::Write;
        let probes = [(1901, 2, 3), (2099, 12, 31)];
        for (year, month, day) in probes {
            let date = NaiveDate::from_ymd_opt(year, month, day).ok_or("bad probe date")?;
            let mut written = String::new();
            if write!(written, "{}", date.format(format)).is_err() {
                return Err(format!(
                    "`{format}` is not a date format (such as `%d.%m.%Y`)"
                ));
            }
            if NaiveDate::parse_from_str(&written, format).ok() != Some(date) {
                return Err(format!(
                    "`{format}` does not name a whole date with a four-digit year (such as `%d.%m.%Y`); dates are never guessed"
                ));
            }
        }
        Ok(DateFormat(format.to_string()))
    }

    /// The format as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How a prescription's dates are read: the date it is checked as of when it gives none, and
/// the format its dates are written in (ISO `YYYY-MM-DD` when none is given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dates {
    pub as_of: NaiveDate,
    pub format: Option<DateFormat>,
}

impl From<NaiveDate> for Dates {
    fn from(as_of: NaiveDate) -> Dates {
        Dates::iso(as_of)
    }
}

impl Dates {
    /// ISO dates, checked as of `as_of`.
    pub fn iso(as_of: NaiveDate) -> Dates {
        Dates {
            as_of,
            format: None,
        }
    }

    /// Reads a date in this format; `None` when it is not a real date written so.
    pub fn parse(&self, text: &str) -> Option<NaiveDate> {
        match &self.format {
            None => parse_date(text),
            // chrono's `%Y` takes fewer digits too (`03.11.26` as the year 26): a year must be
            // written whole.
            Some(format) => NaiveDate::parse_from_str(text.trim(), format.as_str())
                .ok()
                .filter(|date| date.year() >= 1000),
        }
    }

    /// How dates must be written, for messages.
    pub fn written(&self) -> String {
        match &self.format {
            None => "YYYY-MM-DD".into(),
            Some(format) => format!("`{}` (the --date-format given)", format.as_str()),
        }
    }
}

/// Parses a calendar date written `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = trim(text).as_bytes();
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

/// The non-empty items of a list, trimmed, but for one that says the list is empty (`NKDA`).
/// Items are separated by `;`, as documented, and by what other systems separate them with: a
/// line break, `|`, or a comma that is not a decimal comma (`2,5 mg`) nor in brackets. No
/// drug, allergen or condition name holds one of these.
pub fn list_items(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    // A comma in brackets lists reactions or notes of one item (`penicillin (rash, hives)`).
    let mut depth = 0_u32;
    let separators = bytes.iter().enumerate().filter_map(move |(i, &b)| {
        match b {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        let separates = match b {
            b';' | b'|' | b'\n' | b'\r' => true,
            b',' => depth == 0 && !is_decimal_comma(bytes, i),
            _ => false,
        };
        separates.then_some(i)
    });
    let mut start = 0;
    separators
        .chain([text.len()])
        .map(move |end| {
            let item = text.get(start..end).unwrap_or_default();
            start = end + 1;
            trim(item)
        })
        .filter(|s| !s.is_empty() && !says_none(s))
}

/// Whether the comma at `at` is a decimal comma (`2,5 mg`, `0,1 g`): between a number of at
/// most four digits and one to three digits, neither run part of a longer code (`250.00,401.9`
/// and `73211009,38341003` are two codes each).
fn is_decimal_comma(bytes: &[u8], at: usize) -> bool {
    let digit = |b: &u8| b.is_ascii_digit();
    let before = bytes.get(..at).unwrap_or_default();
    let after = bytes.get(at + 1..).unwrap_or_default();
    let whole = before.iter().rev().take_while(|b| digit(b)).count();
    let fraction = after.iter().take_while(|b| digit(b)).count();
    let ends_code = |b: Option<&u8>| matches!(b, Some(b'.' | b','));
    (1..=4).contains(&whole)
        && (1..=3).contains(&fraction)
        && !ends_code(
            before
                .len()
                .checked_sub(whole + 1)
                .and_then(|i| before.get(i)),
        )
        && !ends_code(after.get(fraction))
}

/// What exports write for an empty list (`NKDA`, `none`, `нет`): an item that is no name.
/// (`n/a` and `-` are not among them: they may as well mean "not recorded".)
const NONE: [&str; 14] = [
    "none",
    "nil",
    "nka",
    "nkda",
    "nkma",
    "no known allergies",
    "no known allergy",
    "no known drug allergies",
    "no known drug allergy",
    "no allergies",
    "no drug allergies",
    "нет",
    "отсутствует",
    "отсутствуют",
];

/// Whether a list item says the list is empty.
fn says_none(item: &str) -> bool {
    let item = item.trim_end_matches('.');
    item.len() <= 24 && word_place(item, NONE).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_read_in_any_case_and_nothing_else_is_a_flag() {
        for (text, flag) in [
            ("YES", Some(Flag::Yes)),
            (" y ", Some(Flag::Yes)),
            ("True", Some(Flag::Yes)),
            ("1", Some(Flag::Yes)),
            ("nO", Some(Flag::No)),
            ("FALSE", Some(Flag::No)),
            ("0", Some(Flag::No)),
            ("", Some(Flag::Unknown)),
            ("Unknown", Some(Flag::Unknown)),
            // The Kelvin sign lowers to `k`.
            ("un\u{212A}nown", Some(Flag::Unknown)),
            ("yes please", None),
            ("ye", None),
            ("Да", Some(Flag::Yes)),
            ("НЕТ", Some(Flag::No)),
            ("дaа", None),
            ("10", None),
        ] {
            assert_eq!(parse_flag(text), flag, "{text:?}");
        }
    }

    #[test]
    fn list_items_split_on_commas_but_not_decimal_ones() {
        let items = |text| list_items(text).collect::<Vec<_>>();
        assert_eq!(
            items("methotrexate 2,5 mg, omeprazole"),
            ["methotrexate 2,5 mg", "omeprazole"]
        );
        assert_eq!(items("73211009,38341003"), ["73211009", "38341003"]);
        assert_eq!(items("250.00,401.9"), ["250.00", "401.9"]);
        assert_eq!(
            items("K25.4,K50.9|M17.1\nNKDA; none"),
            ["K25.4", "K50.9", "M17.1"]
        );
        assert_eq!(items("0,1 g"), ["0,1 g"]);
        assert_eq!(
            items("penicillin (skin rash, swelling), ibuprofen"),
            ["penicillin (skin rash, swelling)", "ibuprofen"]
        );
    }

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
    fn frequency_notations() {
        for (text, times) in [
            ("3", 3),
            ("qd", 1),
            ("OD", 1),
            ("once daily", 1),
            ("BID", 2),
            ("b.i.d.", 2),
            ("twice daily", 2),
            ("tid", 3),
            ("qid", 4),
            ("q12h", 2),
            ("q 8 h", 3),
            ("every 12 hours", 2),
            ("every 6 hrs", 4),
            ("2x", 2),
            ("x3", 3),
            ("3 times a day", 3),
            ("3 times daily", 3),
            ("2/day", 2),
            ("2 раза в день", 2),
            ("3 раза в сутки", 3),
            ("каждые 8 часов", 3),
            ("дважды в день", 2),
        ] {
            assert_eq!(parse_frequency(text), Ok(times), "{text}");
        }
        assert_eq!(
            parse_frequency("every 5 hours"),
            Err(FrequencyError::NotWhole(5))
        );
        for bad in [
            "",
            "often",
            "q",
            "every hours",
            "q8",
            "0",
            "2.5",
            "prn",
            "every 48 hours",
        ] {
            assert!(parse_frequency(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn whole_numbers_are_plain_digits() {
        assert_eq!(parse_whole("3", 1, 1000), Some(3));
        for bad in ["0", "two", "1e9", "-1", "2.5", "", "1001", "99999999999"] {
            assert_eq!(parse_whole(bad, 1, 1000), None, "{bad}");
        }
    }

    #[test]
    fn date_formats_name_a_whole_date() {
        let dates = Dates {
            as_of: parse_date("2026-01-01").unwrap(),
            format: Some(DateFormat::new("%d.%m.%Y").unwrap()),
        };
        assert_eq!(dates.parse("05.01.2024"), parse_date("2024-01-05"));
        assert_eq!(dates.parse("2024-01-05"), None);
        assert_eq!(dates.parse("31.02.2024"), None);
        // A two-digit year is not the year 26.
        assert_eq!(dates.parse("03.11.26"), None);
        for bad in ["%d.%m.%y", "%d.%m", "%Q", "%m/%Y", ""] {
            assert!(DateFormat::new(bad).is_err(), "{bad}");
        }
        assert!(DateFormat::new("%m/%d/%Y").is_ok());
    }

    #[test]
    fn dates_must_exist() {
        assert!(parse_date("2023-02-30").is_none());
        assert!(parse_date("2024-02-29").is_some());
        assert!(parse_date("24-02-29").is_none());
    }
}
