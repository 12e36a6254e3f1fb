//! A prescription as it arrives (borrowed fields, from flags, a CSV row or a case file) and
//! the typed [`Request`] it is parsed into, once, before any check runs. A field that cannot
//! be parsed is `None` (or its enum's unknown value) and its `invalid` finding is already
//! recorded, so the checks never see raw text and never pass what they could not read.

mod cache;
mod fields;
mod input;
mod names;
mod patient;
mod regimen;
mod target;
mod values;

pub use cache::ParseCache;
pub use fields::{Field, FieldInfo};
pub use input::Input;
pub use names::{Named, first_word, named_part, written_topical};
pub use patient::{BREASTFEEDING_ICD10, GivenCondition, PREGNANCY_ICD10, Pregnancy, Sex};
pub use regimen::{Duration, Range, StrengthGiven};
pub use target::Target;
pub(crate) use values::trim;
pub use values::{
    DateFormat, Dates, Flag, MAX_AGE_YEARS, MAX_DURATION_DAYS, MAX_GESTATIONAL_WEEK,
    MAX_TIMES_PER_DAY, completed_years, list_items, parse_date, parse_flag, parse_frequency,
    parse_whole,
};

use crate::finding::Assessment;
use crate::formulary::Formulary;
use chrono::NaiveDate;

/// One prescription: the patient and the proposed regimen, each field as written.
/// An empty field means "not given". Lists are `;`-separated.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Prescription<'a> {
    pub rx_id: &'a str,
    pub drug: &'a str,
    pub form: &'a str,
    pub strength: &'a str,
    pub unit_volume: &'a str,
    pub dose: &'a str,
    pub times_per_day: &'a str,
    pub duration_days: &'a str,
    pub age_years: &'a str,
    pub birth_date: &'a str,
    pub sex: &'a str,
    pub date: &'a str,
    pub pregnant: &'a str,
    pub gestational_week: &'a str,
    pub breastfeeding: &'a str,
    pub conditions: &'a str,
    pub allergies: &'a str,
    pub co_medications: &'a str,
}

impl<'a> Prescription<'a> {
    /// A prescription from its fields in the order of [`Field::ALL`].
    pub fn from_fields(fields: [&'a str; Field::COUNT]) -> Self {
        let [
            rx_id,
            drug,
            form,
            strength,
            unit_volume,
            dose,
            times_per_day,
            duration_days,
            age_years,
            birth_date,
            sex,
            date,
            pregnant,
            gestational_week,
            breastfeeding,
            conditions,
            allergies,
            co_medications,
        ] = fields;
        Prescription {
            rx_id,
            drug,
            form,
            strength,
            unit_volume,
            dose,
            times_per_day,
            duration_days,
            age_years,
            birth_date,
            sex,
            date,
            pregnant,
            gestational_week,
            breastfeeding,
            conditions,
            allergies,
            co_medications,
        }
    }

    /// Sets one field.
    pub fn set(&mut self, field: Field, value: &'a str) {
        *self.slot(field) = value;
    }

    /// A fingerprint of everything the prescription says but its id: each field trimmed and
    /// in lower case, hashed (FNV-1a, 64 bits, 16 hex digits). An acknowledgement records it,
    /// and covers the finding only while the prescription still has it.
    pub fn fingerprint(&self) -> String {
        use std::hash::Hasher;
        let mut hasher = crate::fasthash::FnvHasher::default();
        let mut copy = *self;
        for field in Field::ALL.into_iter().filter(|f| *f != Field::RxId) {
            hasher.write(field.name().as_bytes());
            hasher.write(b"=");
            hasher.write(copy.slot(field).trim().to_lowercase().as_bytes());
            hasher.write(b"\n");
        }
        format!("{:016x}", hasher.finish())
    }

    fn slot(&mut self, field: Field) -> &mut &'a str {
        match field {
            Field::RxId => &mut self.rx_id,
            Field::Drug => &mut self.drug,
            Field::Form => &mut self.form,
            Field::Strength => &mut self.strength,
            Field::UnitVolume => &mut self.unit_volume,
            Field::Dose => &mut self.dose,
            Field::TimesPerDay => &mut self.times_per_day,
            Field::DurationDays => &mut self.duration_days,
            Field::AgeYears => &mut self.age_years,
            Field::BirthDate => &mut self.birth_date,
            Field::Sex => &mut self.sex,
            Field::Date => &mut self.date,
            Field::Pregnant => &mut self.pregnant,
            Field::GestationalWeek => &mut self.gestational_week,
            Field::Breastfeeding => &mut self.breastfeeding,
            Field::Conditions => &mut self.conditions,
            Field::Allergies => &mut self.allergies,
            Field::CoMedications => &mut self.co_medications,
        }
    }
}

/// A prescription parsed into typed values, checked against `formulary`.
#[derive(Debug, Clone)]
pub struct Request<'f, 'r> {
    pub formulary: &'f Formulary,
    /// The fields as written, for messages that quote them.
    pub rx: &'r Prescription<'r>,
    /// The drug form prescribed; `None` when it is not in the formulary.
    pub target: Option<Target<'f>>,
    /// The prescription date (the as-of date when not given).
    pub date: Option<NaiveDate>,
    /// Completed years at the prescription date.
    pub age: Option<u32>,
    pub sex: Sex,
    pub pregnancy: Pregnancy,
    pub breastfeeding: Flag,
    /// Every condition the patient has, with everything each implies.
    pub conditions: Vec<GivenCondition<'r>>,
    pub allergies: Vec<Named<'f, 'r>>,
    pub co_medications: Vec<Named<'f, 'r>>,
    pub times_per_day: Option<u32>,
    pub duration: Duration,
    /// Only read when the drug form is known.
    pub strength: StrengthGiven,
    /// The dose per administration in the form's base unit (mg for most forms).
    pub single: Option<Range>,
    /// The dose per day in the same unit.
    pub daily: Option<Range>,
}

impl Request<'_, '_> {
    /// Whether pregnancy and breastfeeding can apply when their status is not given: the
    /// patient is not known to be male, and is of unknown age or within the formulary's
    /// childbearing years.
    pub fn of_childbearing_potential(&self) -> bool {
        let (youngest, oldest) = self.formulary.childbearing_years;
        self.sex != Sex::Male
            && self
                .age
                .is_none_or(|age| (youngest..=oldest).contains(&age))
    }
}

/// The prescription date (the as-of date when not given) and the duration of a
/// prescription, read as [`parse`] reads them, and nothing else.
pub fn parse_course_days(
    rx: &Prescription<'_>,
    dates: &Dates,
    out: &mut Assessment<'_>,
) -> (Option<NaiveDate>, Duration) {
    (patient::date(rx, dates, out), regimen::duration(rx, out))
}

/// Parses a prescription once, reading its dates as `dates` says, recording an
/// `invalid` finding in `out` for every field that cannot be read.
pub fn parse<'f, 'r>(
    formulary: &'f Formulary,
    rx: &'r Prescription<'r>,
    dates: &Dates,
    out: &mut Assessment<'f>,
) -> Request<'f, 'r> {
    parse_cached(formulary, rx, dates, out, &mut ParseCache::default())
}

/// What a course across a patient's rows needs of a prescription: its drug form and daily
/// dose.
pub struct Regimen<'f> {
    pub target: Option<Target<'f>>,
    pub daily: Option<Range>,
}

/// Parses only the drug form and the daily dose of a prescription, as [`parse_cached`] does
/// (recording their `invalid` findings in `out`): the other fields are not read.
pub fn parse_regimen_cached<'f>(
    formulary: &'f Formulary,
    rx: &Prescription<'_>,
    out: &mut Assessment<'f>,
    cache: &mut ParseCache,
) -> Regimen<'f> {
    cache.use_formulary(formulary);
    let target = cache.target(formulary, rx, out);
    let times_per_day = regimen::times_per_day(rx, out);
    let single = target
        .as_ref()
        .and_then(|t| cache.strength_and_dose(rx, t, out).1);
    let daily = regimen::daily_dose(rx, single, times_per_day, out);
    Regimen { target, daily }
}

/// Like [`parse`], with what rows repeat (the drug, the dose, the conditions) remembered in
/// `cache` (the batch hot path): the same request and findings.
pub fn parse_cached<'f, 'r>(
    formulary: &'f Formulary,
    rx: &'r Prescription<'r>,
    dates: &Dates,
    out: &mut Assessment<'f>,
    cache: &mut ParseCache,
) -> Request<'f, 'r> {
    cache.use_formulary(formulary);
    let target = cache.target(formulary, rx, out);
    let date = patient::date(rx, dates, out);
    let age = patient::age(rx, dates, date, out);
    let sex = patient::sex(rx, out);
    let (coded_pregnancy, coded_lactation) = patient::status_codes(rx.conditions);
    let pregnancy = patient::pregnancy(rx, sex, coded_pregnancy, out);
    let breastfeeding = patient::breastfeeding(rx, sex, coded_lactation, out);
    let conditions = cache.conditions(formulary, rx.conditions, out);
    let times_per_day = regimen::times_per_day(rx, out);
    let duration = regimen::duration(rx, out);
    let (strength, single) = match &target {
        Some(t) => cache.strength_and_dose(rx, t, out),
        None => (StrengthGiven::Default(None), None),
    };
    let daily = regimen::daily_dose(rx, single, times_per_day, out);
    let allergies = cache.names(formulary, rx.allergies);
    let co_medications = cache.names(formulary, rx.co_medications);
    Request {
        formulary,
        rx,
        target,
        date,
        age,
        sex,
        pregnancy,
        breastfeeding,
        conditions,
        allergies,
        co_medications,
        times_per_day,
        duration,
        strength,
        single,
        daily,
    }
}
