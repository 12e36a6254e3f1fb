//! The patient fields of a prescription: the date it is for, age, pregnancy, breastfeeding
//! and conditions, each parsed once.

use super::values::{
    Dates, Flag, MAX_AGE_YEARS, MAX_GESTATIONAL_WEEK, completed_years, list_items, parse_flag,
    parse_whole, trim, word_value,
};
use super::{Input, Prescription};
use crate::finding::Assessment;
use crate::formulary::{Formulary, normalize_icd10};
use chrono::NaiveDate;

/// What is known of a pregnancy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pregnancy {
    No,
    Unknown,
    /// Pregnant, at this many completed weeks when given.
    Yes(Option<u32>),
}

/// The patient's sex, as far as pregnancy and breastfeeding go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Female,
    Male,
    /// Not given, `unknown`, or `other`: the questions a woman is asked still apply.
    Unknown,
}

/// A condition the patient has: the formulary condition and how the prescription gave it
/// (a condition implied by another keeps the name of the one given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GivenCondition<'r> {
    pub condition: usize,
    pub given: &'r str,
}

/// The prescription date: as written, or the as-of date when not given; `None` when
/// unreadable.
pub(super) fn date(
    rx: &Prescription<'_>,
    dates: &Dates,
    out: &mut Assessment<'_>,
) -> Option<NaiveDate> {
    if trim(rx.date).is_empty() {
        return Some(dates.as_of);
    }
    let parsed = dates.parse(rx.date);
    if parsed.is_none() {
        Input::Date.invalid(
            out,
            format!(
                "date `{}` is not a real date written {}",
                rx.date.trim(),
                dates.written()
            ),
        );
    }
    parsed
}

/// Age in completed years at `date`, from the birth date or else the age given; both given
/// and more than a year apart, neither (the input is invalid).
pub(super) fn age(
    rx: &Prescription<'_>,
    dates: &Dates,
    date: Option<NaiveDate>,
    out: &mut Assessment<'_>,
) -> Option<u32> {
    if !trim(rx.birth_date).is_empty() {
        let Some(birth) = dates.parse(rx.birth_date) else {
            Input::Age.invalid(
                out,
                format!(
                    "birth_date `{}` is not a real date written {}",
                    rx.birth_date.trim(),
                    dates.written()
                ),
            );
            return None;
        };
        let date = date?;
        return match completed_years(birth, date) {
            None => {
                Input::Age.invalid(
                    out,
                    format!("birth_date {birth} is after the prescription date {date}"),
                );
                None
            }
            Some(years) if years > MAX_AGE_YEARS => {
                Input::Age.invalid(
                    out,
                    format!(
                        "birth_date {birth} makes the patient {years} years old, over {MAX_AGE_YEARS}"
                    ),
                );
                None
            }
            // An age given beside it that is more than a year apart, both at the prescription
            // date and on the day of the check (an export's age is often its own day's), says
            // one of them is wrong (a placeholder birth date such as 1900-01-01).
            Some(years) => match parse_whole(rx.age_years, 0, MAX_AGE_YEARS) {
                Some(given)
                    if given.abs_diff(years) > 1
                        && completed_years(birth, dates.as_of)
                            .is_none_or(|now| given.abs_diff(now) > 1) =>
                {
                    Input::Age.invalid(
                        out,
                        format!(
                            "birth_date {birth} makes the patient {years} years old, but age_years is {given}; check both"
                        ),
                    );
                    None
                }
                _ => Some(years),
            },
        };
    }
    if !trim(rx.age_years).is_empty() {
        let age = parse_whole(rx.age_years, 0, MAX_AGE_YEARS);
        if age.is_none() {
            Input::Age.invalid(
                out,
                format!(
                    "age_years `{}` is not a whole number of years from 0 to {MAX_AGE_YEARS}",
                    rx.age_years.trim()
                ),
            );
        }
        return age;
    }
    Input::Age.invalid(out, "no age: give birth_date or age_years".into());
    None
}

/// Sex, in English or Russian, whole or by its initial; unreadable counts as unknown, and is
/// recorded.
pub(super) fn sex(rx: &Prescription<'_>, out: &mut Assessment<'_>) -> Sex {
    let text = trim(rx.sex);
    if text.is_empty() {
        return Sex::Unknown;
    }
    const WORDS: [(&str, Sex); 20] = [
        ("female", Sex::Female),
        ("f", Sex::Female),
        ("w", Sex::Female),
        ("woman", Sex::Female),
        ("ж", Sex::Female),
        ("жен", Sex::Female),
        ("женский", Sex::Female),
        ("женщина", Sex::Female),
        ("male", Sex::Male),
        ("m", Sex::Male),
        ("man", Sex::Male),
        ("м", Sex::Male),
        ("муж", Sex::Male),
        ("мужской", Sex::Male),
        ("мужчина", Sex::Male),
        ("unknown", Sex::Unknown),
        ("u", Sex::Unknown),
        ("other", Sex::Unknown),
        ("x", Sex::Unknown),
        ("неизвестно", Sex::Unknown),
    ];
    let sex = word_value(text.trim_end_matches('.'), &WORDS);
    sex.unwrap_or_else(|| {
        Input::Sex.invalid(
            out,
            format!("sex `{text}` is not `female`, `male` or `unknown`"),
        );
        Sex::Unknown
    })
}

/// Pregnancy from the flag, the gestational week (a week alone says pregnant) and a pregnancy
/// code among the conditions (`coded_pregnancy`, from [`status_codes`]); a man
/// said to be pregnant is recorded as invalid input.
pub(super) fn pregnancy(
    rx: &Prescription<'_>,
    sex: Sex,
    coded_pregnancy: Option<&str>,
    out: &mut Assessment<'_>,
) -> Pregnancy {
    let status = (Input::Pregnant, "pregnant", "pregnancy", "pregnancy");
    let flag = status_flag(status, rx.pregnant, coded_pregnancy, out);
    let week = if trim(rx.gestational_week).is_empty() {
        None
    } else {
        let week = parse_whole(rx.gestational_week, 0, MAX_GESTATIONAL_WEEK);
        if week.is_none() {
            Input::GestationalWeek.invalid(
                out,
                format!(
                    "gestational_week `{}` is not a whole number of weeks from 0 to {MAX_GESTATIONAL_WEEK}",
                    rx.gestational_week.trim()
                ),
            );
        }
        week
    };
    // ICD-10-CM's weeks of gestation (Z3A.30 is 30 weeks): a week given may be later (the
    // code may be older), not earlier.
    let coded_week = coded_pregnancy.and_then(coded_weeks);
    let week = match (week, coded_week) {
        (Some(given), Some(coded)) if coded > given => {
            Input::GestationalWeek.invalid(
                out,
                format!(
                    "gestational_week {given} is given, but the conditions list `{}`, {coded} weeks of gestation; check both",
                    coded_pregnancy.unwrap_or_default().trim()
                ),
            );
            Some(given)
        }
        (None, coded) => coded,
        (given, _) => given,
    };
    let pregnancy = match (flag, week) {
        (Some(Flag::No), Some(w)) => {
            Input::GestationalWeek.invalid(
                out,
                format!("gestational_week {w} is given but pregnant is `no`"),
            );
            Pregnancy::Unknown
        }
        (Some(Flag::No), None) => Pregnancy::No,
        (Some(Flag::Yes), w) => Pregnancy::Yes(w),
        // A gestational week says the patient is pregnant even when the flag is unknown.
        (_, Some(w)) => Pregnancy::Yes(Some(w)),
        _ if !trim(rx.gestational_week).is_empty() => Pregnancy::Yes(None),
        _ => Pregnancy::Unknown,
    };
    if sex == Sex::Male && matches!(pregnancy, Pregnancy::Yes(_)) {
        Input::Sex.invalid(
            out,
            "the patient is recorded as pregnant and as male; check the sex and pregnancy fields"
                .into(),
        );
    }
    pregnancy
}

/// Breastfeeding: yes, no or unknown (unreadable counts as unknown, and is recorded); a
/// lactation code among the conditions says yes. A man said to be breastfeeding is recorded
/// as invalid input.
pub(super) fn breastfeeding(
    rx: &Prescription<'_>,
    sex: Sex,
    coded_lactation: Option<&str>,
    out: &mut Assessment<'_>,
) -> Flag {
    let status = (
        Input::Breastfeeding,
        "breastfeeding",
        "lactation",
        "breastfeeding",
    );
    let flag = status_flag(status, rx.breastfeeding, coded_lactation, out).unwrap_or(Flag::Unknown);
    if sex == Sex::Male && flag == Flag::Yes {
        Input::Sex.invalid(
            out,
            "the patient is recorded as breastfeeding and as male; check the sex and breastfeeding fields"
                .into(),
        );
    }
    flag
}

/// A status flag as written (`field`, of `input`) beside a code of that status (`kind`) among
/// the conditions (`coded`): an unreadable flag is recorded and `None`; a code makes an
/// unknown or unreadable flag yes; `no` beside a code is recorded as a conflict (the fields
/// to check: `fields` and conditions), and unknown.
fn status_flag(
    (input, field, kind, fields): (Input, &str, &str, &str),
    text: &str,
    coded: Option<&str>,
    out: &mut Assessment<'_>,
) -> Option<Flag> {
    let flag = parse_flag(text);
    if flag.is_none() {
        input.invalid(
            out,
            format!("{field} `{}` is not `yes`, `no` or `unknown`", text.trim()),
        );
    }
    match (flag, coded) {
        (Some(Flag::No), Some(code)) => {
            input.invalid(
                out,
                format!("{field} is `no`, but the conditions list `{code}`, a {kind} code; check the {fields} and conditions fields"),
            );
            Some(Flag::Unknown)
        }
        (Some(Flag::Unknown) | None, Some(_)) => Some(Flag::Yes),
        (flag, _) => flag,
    }
}

/// ICD-10 codes that record a pregnancy, by prefix: Z33 (pregnant state), Z34 (supervision of
/// normal pregnancy), Z3A (weeks of gestation, ICD-10-CM), O09 (supervision of high-risk
/// pregnancy), O20-O21 (haemorrhage in early pregnancy, hyperemesis) and O30-O48 (maternal
/// care for the fetus and amniotic cavity, up to prolonged pregnancy): codes given only
/// while the fetus is carried. Not the other O codes, which also name conditions after a
/// pregnancy (in the puerperium, O15.2, O24.43; a haemorrhage after delivery, O72) or of one
/// that ended.
pub const PREGNANCY_ICD10: [&str; 25] = [
    "Z33", "Z34", "Z3A", "O09", "O20", "O21", "O30", "O31", "O32", "O33", "O34", "O35", "O36",
    "O37", "O38", "O39", "O40", "O41", "O42", "O43", "O44", "O45", "O46", "O47", "O48",
];

/// The weeks of gestation an ICD-10-CM Z3A code gives: Z3A.08-Z3A.42 their number, Z3A.01
/// (under 8 weeks) 7 and Z3A.49 (over 42) 43, the latest each can be; none for Z3A.00 (not
/// specified) or another code.
fn coded_weeks(item: &str) -> Option<u32> {
    let code = normalize_icd10(item)?;
    let weeks: u32 = code.strip_prefix("Z3A")?.parse().ok()?;
    match weeks {
        1 => Some(7),
        8..=42 => Some(weeks),
        49 => Some(43),
        _ => None,
    }
}

/// ICD-10 codes that record breastfeeding: Z39.1 (care and examination of the lactating
/// mother).
pub const BREASTFEEDING_ICD10: [&str; 1] = ["Z391"];

/// The letters the codes of [`PREGNANCY_ICD10`] and [`BREASTFEEDING_ICD10`] begin with.
const STATUS_LETTERS: [u8; 2] = [b'O', b'Z'];

/// The first pregnancy code and the first lactation code of a conditions list, as written
/// ([`PREGNANCY_ICD10`], [`BREASTFEEDING_ICD10`]): one pass, for both statuses.
pub(super) fn status_codes(conditions: &str) -> (Option<&str>, Option<&str>) {
    let head = |b: &u8| STATUS_LETTERS.contains(&b.to_ascii_uppercase());
    // Most rows hold no such code: a letter of one before a digit is looked for first.
    let may_hold = conditions
        .as_bytes()
        .windows(2)
        .any(|pair| matches!(pair, [letter, digit] if head(letter) && digit.is_ascii_digit()));
    let (mut pregnancy, mut lactation) = (None, None);
    if !may_hold {
        return (pregnancy, lactation);
    }
    for item in list_items(conditions).filter(|item| item.as_bytes().first().is_some_and(head)) {
        let Some(code) = normalize_icd10(item) else {
            continue;
        };
        let under = |list: &[&str]| list.iter().any(|p| code.starts_with(p));
        // A code that gives the weeks of gestation (Z3A) says more than the others.
        let weeks = coded_weeks(item).is_some();
        let better = |p: &str| weeks && coded_weeks(p).is_none();
        if under(&PREGNANCY_ICD10) && pregnancy.is_none_or(better) {
            pregnancy = Some(item);
        }
        if lactation.is_none() && under(&BREASTFEEDING_ICD10) {
            lactation = Some(item);
        }
    }
    (pregnancy, lactation)
}

/// Every condition the patient has, by id or ICD-10 code, with everything each implies.
pub(super) fn conditions<'r>(
    f: &Formulary,
    text: &'r str,
    out: &mut Assessment<'_>,
) -> Vec<GivenCondition<'r>> {
    let mut found: Vec<GivenCondition<'r>> = Vec::new();
    let mut add = |condition: usize, given: &'r str| {
        if let Some(c) = f.conditions.get(condition) {
            for &implied in &c.implies {
                if !found.iter().any(|g| g.condition == implied) {
                    found.push(GivenCondition {
                        condition: implied,
                        given,
                    });
                }
            }
        }
    };
    for item in list_items(text) {
        if let Some(id) = f.find_condition(item) {
            add(id, item);
        } else if let Some(code) = normalize_icd10(item) {
            f.conditions_for_icd10(&code, |c| add(c, item));
        } else if let Some(id) = f.find_condition(&item.to_ascii_lowercase()) {
            add(id, item);
        } else {
            let hint = match f.suggest_condition(&item.to_ascii_lowercase()) {
                Some(s) => format!("; did you mean `{s}`?"),
                None => "; use a condition id of the formulary or an ICD-10 code".into(),
            };
            Input::Conditions.invalid(
                out,
                format!("condition `{item}` is not in the vocabulary{hint}"),
            );
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_code_begins_with_a_status_letter() {
        let codes = PREGNANCY_ICD10.iter().chain(&BREASTFEEDING_ICD10);
        for code in codes {
            let first = code.as_bytes().first().copied().unwrap_or_default();
            assert!(STATUS_LETTERS.contains(&first), "{code}");
        }
    }
}
