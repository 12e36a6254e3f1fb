//! The regimen fields of a prescription: times per day, course length, strength, and the
//! dose in the form's base unit, per administration and per day.

use super::values::{FrequencyError, MAX_DURATION_DAYS, parse_frequency, parse_whole, trim};
use super::{Input, Prescription, Target};
use crate::finding::Assessment;
use crate::formulary::normalize_name;
use crate::units::{Amount, Dimension, Strength, Unit, parse_dose, parse_quantity, parse_strength};
use rust_decimal::Decimal;

/// An amount the patient may take: a range's low end and top (equal for a single amount).
/// Maximums are checked against the top, minimums against the low end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub low: Decimal,
    pub top: Decimal,
}

impl Range {
    /// The range times `n`; `None` if it is too large to compute with.
    pub fn times(self, n: u32) -> Option<Range> {
        let n = Decimal::from(n);
        Some(Range {
            low: self.low.checked_mul(n)?,
            top: self.top.checked_mul(n)?,
        })
    }
}

/// The course length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duration {
    NotGiven,
    Days(u32),
    /// Given but unreadable (already recorded as invalid).
    Invalid,
}

/// The strength that converts counts and volumes to mass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrengthGiven {
    /// Not given: the form's default strength, if it has one.
    Default(Option<Strength>),
    Given(Strength),
    /// Given but unreadable (already recorded as invalid).
    Invalid,
}

impl StrengthGiven {
    /// The strength to convert with: the given one, else the form's default.
    pub fn strength(self) -> Option<Strength> {
        match self {
            StrengthGiven::Default(s) => s,
            StrengthGiven::Given(s) => Some(s),
            StrengthGiven::Invalid => None,
        }
    }
}

pub(super) fn times_per_day(rx: &Prescription<'_>, out: &mut Assessment<'_>) -> Option<u32> {
    if trim(rx.times_per_day).is_empty() {
        Input::TimesPerDay.invalid(out, "times_per_day is missing".into());
        return None;
    }
    match parse_frequency(rx.times_per_day) {
        Ok(times) => Some(times),
        Err(FrequencyError::NotWhole(hours)) => {
            Input::TimesPerDay.invalid(
                out,
                format!(
                    "times_per_day `{}`: every {hours} hours is not a whole number of times a day; give the times a day",
                    rx.times_per_day.trim()
                ),
            );
            None
        }
        Err(FrequencyError::Unknown) => {
            Input::TimesPerDay.invalid(
                out,
                format!(
                    "times_per_day `{}` is not a frequency rxcheck reads: give a whole number (3), or qd, bid, tid, qid, q8h, every 8 hours, 3x, 3 times a day, 3 раза в день",
                    rx.times_per_day.trim()
                ),
            );
            None
        }
    }
}

pub(super) fn duration(rx: &Prescription<'_>, out: &mut Assessment<'_>) -> Duration {
    if trim(rx.duration_days).is_empty() {
        return Duration::NotGiven;
    }
    match parse_whole(rx.duration_days, 1, MAX_DURATION_DAYS) {
        Some(days) => Duration::Days(days),
        None => {
            Input::DurationDays.invalid(
                out,
                format!(
                    "duration_days `{}` is not a whole number of days from 1 to {MAX_DURATION_DAYS}",
                    rx.duration_days.trim()
                ),
            );
            Duration::Invalid
        }
    }
}

fn strength(rx: &Prescription<'_>, target: &Target<'_>, out: &mut Assessment<'_>) -> StrengthGiven {
    if rx.strength.trim().is_empty() {
        return StrengthGiven::Default(target.form.default_strength);
    }
    match parse_strength(rx.strength) {
        Ok(strength) => StrengthGiven::Given(strength),
        Err(e) => {
            Input::Strength.invalid(out, format!("strength {e}"));
            StrengthGiven::Invalid
        }
    }
}

/// The strength given (or the form's default) and the dose per administration in the form's
/// base unit.
pub(super) fn strength_and_dose(
    rx: &Prescription<'_>,
    t: &Target<'_>,
    out: &mut Assessment<'_>,
) -> (StrengthGiven, Option<Range>) {
    let strength = strength(rx, t, out);
    let unit_volume = unit_volume(rx, out);
    // A strength of one container (`75 mg/3 ml`) says its volume: another given is no dose.
    if let (StrengthGiven::Given(Strength::Concentration { ml, .. }), Some(volume)) =
        (strength, unit_volume)
    {
        if ml != Decimal::ONE && ml != volume {
            Input::UnitVolume.invalid(
                out,
                format!(
                    "unit_volume `{}` disagrees with strength `{}`, which is {} ml a unit; give one of them, or both alike",
                    rx.unit_volume.trim(),
                    rx.strength.trim(),
                    ml.normalize()
                ),
            );
            return (strength, None);
        }
    }
    let single = match strength {
        StrengthGiven::Invalid => None,
        given => single_dose(rx, t, given.strength(), unit_volume, out),
    };
    (strength, single)
}

/// The volume of one ampoule or other container, in ml, when given; a bare number is in ml
/// (`unit_volume_ml` columns), the unit every ampoule is measured in.
fn unit_volume(rx: &Prescription<'_>, out: &mut Assessment<'_>) -> Option<Decimal> {
    let text = rx.unit_volume.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(ml) = text.parse::<Decimal>() {
        if ml > Decimal::ZERO {
            return Some(ml);
        }
    }
    match parse_quantity(text).map(|q| q.to_amount()) {
        Ok(Some(Ok(Amount {
            value,
            dimension: Dimension::Volume,
        }))) if !value.is_zero() => Some(value),
        _ => {
            Input::UnitVolume.invalid(
                out,
                format!("unit_volume `{text}` is not a volume, such as `3 ml`"),
            );
            None
        }
    }
}

/// A dose of `dimension` as an example: a gel's in grams (`systemic` false), else in mg.
fn example_unit(dimension: Dimension, systemic: bool) -> &'static str {
    match dimension {
        Dimension::Mass if !systemic => "2 g",
        Dimension::Mass => "50 mg",
        Dimension::Volume => "3 ml",
        Dimension::Length => "10 cm",
        Dimension::Count => "1 unit",
    }
}

/// The prescribed dose's low and top ends in the base unit of the form's dimension,
/// converted through `strength` where the dose counts units or gives a volume (a count of
/// ampoules of a per-ml concentration through `unit_volume`, the ml one holds).
fn single_dose(
    rx: &Prescription<'_>,
    t: &Target<'_>,
    strength: Option<Strength>,
    unit_volume: Option<Decimal>,
    out: &mut Assessment<'_>,
) -> Option<Range> {
    let dose = match parse_dose(rx.dose) {
        Ok(d) => d,
        Err(e) => {
            Input::Dose.invalid(out, format!("dose {e}"));
            return None;
        }
    };
    let top = &dose.top;
    let dimension = t.form.dose_dimension?;
    let unit_word = normalize_name(top.unit);
    let is_form_unit = t
        .form
        .unit_names
        .iter()
        .chain(t.equivalent.iter().flat_map(|e| &e.unit_names))
        .any(|u| u.as_str() == unit_word.as_ref());
    // A product for the skin is dosed in grams of it: less than a gram written in mg may be
    // of the active substance (80 mg of diclofenac is 8 g of a 1 % gel), so the dose cannot
    // be read.
    let unit = top.unit_kind();
    if let Unit::Measure {
        dimension: Dimension::Mass,
        factor,
    } = unit
    {
        let under_a_gram = top.value.checked_mul(factor) < Some(Decimal::ONE_THOUSAND);
        let small_unit = factor < Decimal::ONE_THOUSAND;
        if !t.form.systemic && dimension == Dimension::Mass && small_unit && under_a_gram {
            Input::Dose.invalid(
                out,
                format!(
                    "dose `{}` of {} is in {}, which may be of the active substance rather than of the {}: give the amount of it in g (such as `2 g`)",
                    rx.dose.trim(),
                    t.name(),
                    top.unit,
                    t.form.id
                ),
            );
            return None;
        }
    }
    // How many base units one written unit is.
    let factor = match (unit, dimension) {
        (
            Unit::Measure {
                dimension: d,
                factor,
            },
            want,
        ) if d == want => Some(factor),
        (
            Unit::Measure {
                dimension: Dimension::Volume,
                factor,
            },
            Dimension::Mass,
        ) => {
            let Some(per_ml) = strength.and_then(Strength::mg_per_ml) else {
                Input::Dose.invalid(out, format!(
                    "dose `{}` is a volume; give the strength as a concentration (such as `75 mg/3 ml`) to convert it to mg",
                    rx.dose.trim()
                ));
                return None;
            };
            factor.checked_mul(per_ml)
        }
        (Unit::Word, Dimension::Mass) if is_form_unit => {
            let per_unit = match (strength, unit_volume) {
                (Some(given @ Strength::Concentration { .. }), Some(ml)) => {
                    given.mg_per_ml().and_then(|per_ml| per_ml.checked_mul(ml))
                }
                (given, _) => given.and_then(Strength::mg_per_unit),
            };
            let Some(per_unit) = per_unit else {
                let message = match strength {
                    Some(given @ Strength::Concentration { .. }) => format!(
                        "dose `{}` counts units, but strength `{given}` is a concentration that does not say how much one unit holds; give the dose in mg or ml, the strength per unit (such as `75 mg/3 ml`), or the volume of one unit (unit_volume, such as `3 ml`)",
                        rx.dose.trim()
                    ),
                    Some(given) => format!(
                        "dose `{}` counts units, but strength `{given}` does not say how much one holds; give it in mg (such as `50 mg`)",
                        rx.dose.trim()
                    ),
                    None => format!(
                        "dose `{}` counts units, but no strength is given and {} has no default strength; give the strength (such as `50 mg`)",
                        rx.dose.trim(),
                        t.name()
                    ),
                };
                Input::Dose.invalid(out, message);
                return None;
            };
            Some(per_unit)
        }
        (Unit::Word, Dimension::Count) if is_form_unit => Some(Decimal::ONE),
        (Unit::Word, _) => {
            let accepted = match t.form.unit_names.first() {
                Some(unit) => format!(" or `{unit}`"),
                None => String::new(),
            };
            Input::Dose.invalid(
                out,
                format!(
                    "dose `{}`: unit `{}` does not fit {} (doses are {}, such as `{}`{accepted})",
                    rx.dose.trim(),
                    top.unit,
                    t.name(),
                    dimension.as_str(),
                    example_unit(dimension, t.form.systemic)
                ),
            );
            return None;
        }
        (Unit::Measure { dimension: d, .. }, want) => {
            Input::Dose.invalid(
                out,
                format!(
                    "dose `{}` is a {}, but doses of {} are measured in {} (such as `{}`)",
                    rx.dose.trim(),
                    d.as_str(),
                    t.name(),
                    want.as_str(),
                    example_unit(want, t.form.systemic)
                ),
            );
            return None;
        }
    };
    let converted = factor.and_then(|f| {
        Some(Range {
            low: dose.low.checked_mul(f)?,
            top: top.value.checked_mul(f)?,
        })
    });
    if converted.is_none() {
        Input::Dose.invalid(
            out,
            format!("dose `{}` is too large to compute with", rx.dose.trim()),
        );
    }
    converted
}

/// The daily dose: the single dose times the times per day.
pub(super) fn daily_dose(
    rx: &Prescription<'_>,
    single: Option<Range>,
    times: Option<u32>,
    out: &mut Assessment<'_>,
) -> Option<Range> {
    let (single, times) = (single?, times?);
    let daily = single.times(times);
    if daily.is_none() {
        Input::Dose.invalid(
            out,
            format!(
                "the daily dose of `{}` x {times} is too large to compute with",
                rx.dose.trim()
            ),
        );
    }
    daily
}
