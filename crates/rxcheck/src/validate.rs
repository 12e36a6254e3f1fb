//! The validator: a pure function of (formulary, prescription, as-of date) that returns every
//! finding. It fails closed: what it cannot verify becomes a finding, never a silent pass.

use crate::finding::{Assessment, Category, Finding, Severity};
use crate::formulary::{
    DoseRule, Dosing, Drug, Form, Formulary, Limits, Profile, Rule, normalize_icd10, normalize_name,
};
use crate::request::{
    Flag, MAX_AGE_YEARS, MAX_DURATION_DAYS, MAX_GESTATIONAL_WEEK, MAX_TIMES_PER_DAY, Prescription,
    completed_years, list_items, parse_date, parse_flag, parse_whole,
};
use crate::units::{Dimension, Strength, Unit, parse_dose, parse_strength};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::borrow::Cow;

/// Validates one prescription as of `as_of` (the prescription date when it gives none).
pub fn validate<'f>(
    formulary: &'f Formulary,
    rx: &Prescription<'_>,
    as_of: NaiveDate,
) -> Assessment<'f> {
    let mut out = Assessment::default();
    validate_into(formulary, rx, as_of, &mut out);
    out
}

/// Like [`validate`], reusing `out`'s allocation (the batch hot path).
pub fn validate_into<'f>(
    formulary: &'f Formulary,
    rx: &Prescription<'_>,
    as_of: NaiveDate,
    out: &mut Assessment<'f>,
) {
    out.clear();
    let mut v = Validation { f: formulary, out };
    let target = v.resolve_target(rx);
    let patient = v.patient(rx, as_of);
    let regimen = v.regimen(rx);
    let Some((drug, form_index, brand)) = target else {
        return;
    };
    let (Some(form), Some(profile)) = (drug.forms.get(form_index), drug.profile(form_index, brand))
    else {
        // Cannot happen with a formulary that loaded; never an `ok` all the same.
        v.invalid(
            Input::Form,
            format!("form of `{}` is not in the formulary", drug.id),
        );
        return;
    };
    let subject = Subject {
        drug,
        form,
        profile,
    };
    v.check_age(&subject, patient.age);
    v.check_dose(&subject, rx, &regimen, patient.age);
    v.check_pregnancy(&subject, patient.pregnancy);
    v.check_breastfeeding(&subject, patient.breastfeeding);
    v.check_conditions(&subject, &patient.conditions);
    v.check_allergies(&subject, rx.allergies);
    v.check_co_medications(&subject, rx.co_medications);
    v.check_unknown_names(rx);
    v.check_administration(&subject);
}

/// What one prescription contributes to its patient's concurrent courses of treatment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CourseFacts {
    pub drug: usize,
    pub form: usize,
    pub brand: Option<usize>,
    /// The top of the daily dose, in the base unit of the form's dimension (mg for
    /// systemic forms), when it can be worked out.
    pub daily: Option<Decimal>,
}

/// The drug, form and daily dose of a prescription, worked out exactly as [`validate`] does;
/// `None` when the drug or form is not in the formulary.
pub fn course_facts(formulary: &Formulary, rx: &Prescription<'_>) -> Option<CourseFacts> {
    let mut scratch = Assessment::default();
    let mut v = Validation {
        f: formulary,
        out: &mut scratch,
    };
    let (drug, form_index, brand) = v.resolve_target(rx)?;
    let form = drug.forms.get(form_index)?;
    let profile = drug.profile(form_index, brand)?;
    let subject = Subject {
        drug,
        form,
        profile,
    };
    let times = parse_whole(rx.times_per_day, 1, MAX_TIMES_PER_DAY);
    let (strength, _) = v.strength(&subject, rx.strength);
    let single = v.dose_amount(&subject, rx, strength);
    let daily = single
        .zip(times)
        .and_then(|(d, t)| d.top.checked_mul(Decimal::from(t)));
    let drug_index = formulary.drugs.iter().position(|d| std::ptr::eq(d, drug))?;
    Some(CourseFacts {
        drug: drug_index,
        form: form_index,
        brand,
        daily,
    })
}

struct Validation<'f, 'o> {
    f: &'f Formulary,
    out: &'o mut Assessment<'f>,
}

struct Subject<'f> {
    drug: &'f Drug,
    form: &'f Form,
    profile: &'f Profile,
}

impl Subject<'_> {
    fn name(&self) -> String {
        format!("{} {}", self.drug.id, self.form.id)
    }
}

#[derive(Clone, Copy)]
enum Pregnancy {
    No,
    Unknown,
    Yes(Option<u32>),
}

struct Patient<'r> {
    age: Option<u32>,
    pregnancy: Pregnancy,
    breastfeeding: Flag,
    /// Every condition the patient has, with everything it implies, and how it was given.
    conditions: Vec<(usize, &'r str)>,
}

/// The prescribed dose in the form's base unit: per administration and per day.
struct DoseFacts {
    single: Option<Range>,
    daily: Option<Range>,
    dimension: Dimension,
}

/// An amount the patient may take: a range's low end and top (equal for a single amount).
/// Maximums are checked against the top, minimums against the low end.
#[derive(Clone, Copy)]
struct Range {
    low: Decimal,
    top: Decimal,
}

struct Regimen {
    times_per_day: Option<u32>,
    duration_days: Option<u32>,
    /// Whether `duration_days` was given at all (valid or not).
    duration_given: bool,
}

/// The input field an `invalid` finding is about: its rule id and the rule it breaks.
#[derive(Clone, Copy)]
enum Input {
    Dose,
    Strength,
    TimesPerDay,
    DurationDays,
    Age,
    Date,
    Pregnant,
    Breastfeeding,
    GestationalWeek,
    Conditions,
    Drug,
    Form,
}

impl Input {
    fn rule(self) -> &'static str {
        match self {
            Input::Dose => "input.dose",
            Input::Strength => "input.strength",
            Input::TimesPerDay => "input.times_per_day",
            Input::DurationDays => "input.duration_days",
            Input::Age => "input.age",
            Input::Date => "input.date",
            Input::Pregnant => "input.pregnant",
            Input::Breastfeeding => "input.breastfeeding",
            Input::GestationalWeek => "input.gestational_week",
            Input::Conditions => "input.conditions",
            Input::Drug => "input.drug",
            Input::Form => "input.form",
        }
    }

    fn source(self) -> &'static str {
        match self {
            Input::Dose => {
                "rxcheck input rules: a dose is a positive number and a unit, such as `50 mg`, `0.1 g`, `3 ml`, `1 tablet`, `10 cm`, or a range `50-100 mg`"
            }
            Input::Strength => {
                "rxcheck input rules: a strength is written `100 mg`, `75 mg/3 ml` or `5%`"
            }
            Input::TimesPerDay => {
                "rxcheck input rules: times_per_day is a whole number of at least 1"
            }
            Input::DurationDays => {
                "rxcheck input rules: duration_days is a whole number of days, at least 1"
            }
            Input::Age => {
                "rxcheck input rules: an age comes from birth_date (YYYY-MM-DD) or age_years (0-130), in completed years at the prescription date"
            }
            Input::Date => "rxcheck input rules: dates are written YYYY-MM-DD",
            Input::Pregnant | Input::Breastfeeding => {
                "rxcheck input rules: yes/no flags are `yes`, `no` or `unknown`"
            }
            Input::GestationalWeek => {
                "rxcheck input rules: gestational_week is completed weeks, 0-45"
            }
            Input::Conditions => {
                "rxcheck input rules: a condition is a formulary condition id or an ICD-10 code"
            }
            Input::Drug | Input::Form => {
                "rxcheck input rules: the drug and form must be in the formulary"
            }
        }
    }
}

fn amount(value: Decimal, dimension: Dimension) -> String {
    format!("{} {}", value.normalize(), dimension.base_unit())
}

impl<'f> Validation<'f, '_> {
    fn invalid(&mut self, field: Input, message: String) {
        let (rule, source) = (field.rule(), field.source());
        self.push(Severity::Invalid, Category::Input, rule, message, source);
    }

    /// A finding of a formulary rule, at `severity` (which may differ from the rule's own, as
    /// for a status that cannot be verified).
    fn finding(&mut self, category: Category, severity: Severity, rule: &'f Rule, message: String) {
        let source = self.f.citation(rule.source);
        self.push(severity, category, rule.rule.as_str(), message, source);
    }

    fn resolve_target(
        &mut self,
        rx: &Prescription<'_>,
    ) -> Option<(&'f Drug, usize, Option<usize>)> {
        let f = self.f;
        if rx.drug.trim().is_empty() {
            self.invalid(Input::Drug, "drug is missing".into());
            return None;
        }
        let Some(found) = f.find_drug(rx.drug) else {
            let hint = match f.suggest_drug_remembered(rx.drug) {
                Some(s) => format!("; did you mean `{s}`?"),
                None => String::new(),
            };
            self.invalid(
                Input::Drug,
                format!("drug `{}` is not in the formulary{hint}", rx.drug.trim()),
            );
            return None;
        };
        let drug = f.drugs.get(found.drug)?;
        if rx.form.trim().is_empty() {
            self.invalid(Input::Form, format!("form is missing for `{}`", drug.id));
            return None;
        }
        let Some(form) = drug.find_form(rx.form) else {
            let hint = match drug.suggest_form(rx.form) {
                Some(s) => format!("; did you mean `{s}`?"),
                None => format!(
                    "; it has {}",
                    drug.forms
                        .iter()
                        .map(|f| format!("`{}`", f.id))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            self.invalid(
                Input::Form,
                format!(
                    "form `{}` is not in the formulary for `{}`{hint}",
                    rx.form.trim(),
                    drug.id
                ),
            );
            return None;
        };
        Some((drug, form, found.brand))
    }

    fn patient<'r>(&mut self, rx: &Prescription<'r>, as_of: NaiveDate) -> Patient<'r> {
        let date = if rx.date.trim().is_empty() {
            Some(as_of)
        } else {
            let parsed = parse_date(rx.date);
            if parsed.is_none() {
                self.invalid(
                    Input::Date,
                    format!(
                        "date `{}` is not a real date written YYYY-MM-DD",
                        rx.date.trim()
                    ),
                );
            }
            parsed
        };
        let age = self.age(rx, date);
        let pregnancy = self.pregnancy(rx);
        let breastfeeding = match parse_flag(rx.breastfeeding) {
            Some(flag) => flag,
            None => {
                self.invalid(
                    Input::Breastfeeding,
                    format!(
                        "breastfeeding `{}` is not `yes`, `no` or `unknown`",
                        rx.breastfeeding.trim()
                    ),
                );
                Flag::Unknown
            }
        };
        let conditions = self.conditions(rx.conditions);
        Patient {
            age,
            pregnancy,
            breastfeeding,
            conditions,
        }
    }

    fn age(&mut self, rx: &Prescription<'_>, date: Option<NaiveDate>) -> Option<u32> {
        if !rx.birth_date.trim().is_empty() {
            let Some(birth) = parse_date(rx.birth_date) else {
                self.invalid(
                    Input::Age,
                    format!(
                        "birth_date `{}` is not a real date written YYYY-MM-DD",
                        rx.birth_date.trim()
                    ),
                );
                return None;
            };
            let date = date?;
            return match completed_years(birth, date) {
                None => {
                    self.invalid(
                        Input::Age,
                        format!("birth_date {birth} is after the prescription date {date}"),
                    );
                    None
                }
                Some(years) if years > MAX_AGE_YEARS => {
                    self.invalid(Input::Age, format!("birth_date {birth} makes the patient {years} years old, over {MAX_AGE_YEARS}"));
                    None
                }
                Some(years) => Some(years),
            };
        }
        if !rx.age_years.trim().is_empty() {
            let age = parse_whole(rx.age_years, 0, MAX_AGE_YEARS);
            if age.is_none() {
                self.invalid(
                    Input::Age,
                    format!(
                        "age_years `{}` is not a whole number of years from 0 to {MAX_AGE_YEARS}",
                        rx.age_years.trim()
                    ),
                );
            }
            return age;
        }
        self.invalid(Input::Age, "no age: give birth_date or age_years".into());
        None
    }

    fn pregnancy(&mut self, rx: &Prescription<'_>) -> Pregnancy {
        let flag = parse_flag(rx.pregnant);
        if flag.is_none() {
            self.invalid(
                Input::Pregnant,
                format!(
                    "pregnant `{}` is not `yes`, `no` or `unknown`",
                    rx.pregnant.trim()
                ),
            );
        }
        let week = if rx.gestational_week.trim().is_empty() {
            None
        } else {
            let week = parse_whole(rx.gestational_week, 0, MAX_GESTATIONAL_WEEK);
            if week.is_none() {
                self.invalid(Input::GestationalWeek, format!("gestational_week `{}` is not a whole number of weeks from 0 to {MAX_GESTATIONAL_WEEK}", rx.gestational_week.trim()));
            }
            week
        };
        match (flag, week) {
            (Some(Flag::No), Some(w)) => {
                self.invalid(
                    Input::GestationalWeek,
                    format!("gestational_week {w} is given but pregnant is `no`"),
                );
                Pregnancy::Unknown
            }
            (Some(Flag::No), None) => Pregnancy::No,
            (Some(Flag::Yes), w) => Pregnancy::Yes(w),
            // A gestational week says the patient is pregnant even when the flag is unknown.
            (_, Some(w)) => Pregnancy::Yes(Some(w)),
            _ if !rx.gestational_week.trim().is_empty() => Pregnancy::Yes(None),
            _ => Pregnancy::Unknown,
        }
    }

    fn conditions<'r>(&mut self, text: &'r str) -> Vec<(usize, &'r str)> {
        let f = self.f;
        let mut found: Vec<(usize, &'r str)> = Vec::new();
        let add = |found: &mut Vec<(usize, &'r str)>, condition: usize, given: &'r str| {
            if let Some(c) = f.conditions.get(condition) {
                for &implied in &c.implies {
                    if !found.iter().any(|(i, _)| *i == implied) {
                        found.push((implied, given));
                    }
                }
            }
        };
        for item in list_items(text) {
            if let Some(id) = f.find_condition(item) {
                add(&mut found, id, item);
            } else if let Some(code) = normalize_icd10(item) {
                let mut hits = Vec::new();
                f.conditions_for_icd10(&code, |c| hits.push(c));
                for c in hits {
                    add(&mut found, c, item);
                }
            } else if let Some(id) = f.find_condition(&item.to_ascii_lowercase()) {
                add(&mut found, id, item);
            } else {
                let hint = match f.suggest_condition(&item.to_ascii_lowercase()) {
                    Some(s) => format!("; did you mean `{s}`?"),
                    None => "; use a condition id of the formulary or an ICD-10 code".into(),
                };
                self.invalid(
                    Input::Conditions,
                    format!("condition `{item}` is not in the vocabulary{hint}"),
                );
            }
        }
        found
    }

    fn regimen(&mut self, rx: &Prescription<'_>) -> Regimen {
        let times_per_day = if rx.times_per_day.trim().is_empty() {
            self.invalid(Input::TimesPerDay, "times_per_day is missing".into());
            None
        } else {
            let t = parse_whole(rx.times_per_day, 1, MAX_TIMES_PER_DAY);
            if t.is_none() {
                self.invalid(
                    Input::TimesPerDay,
                    format!(
                        "times_per_day `{}` is not a whole number from 1 to {MAX_TIMES_PER_DAY}",
                        rx.times_per_day.trim()
                    ),
                );
            }
            t
        };
        let duration_given = !rx.duration_days.trim().is_empty();
        let duration_days = if duration_given {
            let d = parse_whole(rx.duration_days, 1, MAX_DURATION_DAYS);
            if d.is_none() {
                self.invalid(Input::DurationDays, format!("duration_days `{}` is not a whole number of days from 1 to {MAX_DURATION_DAYS}", rx.duration_days.trim()));
            }
            d
        } else {
            None
        };
        Regimen {
            times_per_day,
            duration_days,
            duration_given,
        }
    }

    fn check_age(&mut self, s: &Subject<'f>, age: Option<u32>) {
        let (Some(age), Some(rule)) = (age, &s.profile.min_age) else {
            return;
        };
        if age < rule.years {
            self.push(
                Severity::Reject,
                Category::Age,
                &rule.rule,
                format!(
                    "patient is {age} years old; {} is for patients from {} years",
                    s.name(),
                    rule.years
                ),
                self.f.citation(rule.source),
            );
        }
    }

    /// The strength that converts counts and volumes: the prescribed one, else the form's default.
    fn strength(&mut self, s: &Subject<'f>, text: &str) -> (Option<Strength>, bool) {
        if text.trim().is_empty() {
            return (s.form.default_strength, false);
        }
        match parse_strength(text) {
            Ok(strength) => {
                if !s.form.strengths.contains(&strength) {
                    let listed = if s.form.strengths.is_empty() {
                        "the reference lists no strengths for it".to_string()
                    } else {
                        format!(
                            "it lists {}",
                            s.form
                                .strengths
                                .iter()
                                .map(|st| format!("`{st}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    };
                    self.push(Severity::Info, Category::DoseSingle, &s.form.dose_rule_ids.strength, format!(
                            "strength `{}` is not listed in the formulary for {} ({listed}); the dose is checked as given",
                            text.trim(),
                            s.name()
                        ), "rxcheck formulary: strengths the reference names");
                }
                (Some(strength), true)
            }
            Err(e) => {
                self.invalid(Input::Strength, format!("strength {e}"));
                (None, true)
            }
        }
    }

    /// The prescribed dose's low and top ends in the base unit of the form's dimension,
    /// converted through `strength` where the dose counts units or gives a volume.
    fn dose_amount(
        &mut self,
        s: &Subject<'f>,
        rx: &Prescription<'_>,
        strength: Option<Strength>,
    ) -> Option<Range> {
        let dose = match parse_dose(rx.dose) {
            Ok(d) => d,
            Err(e) => {
                self.invalid(Input::Dose, format!("dose {e}"));
                return None;
            }
        };
        let top = &dose.top;
        let dimension = s.form.dose_dimension?;
        let unit_word = normalize_name(top.unit);
        let is_form_unit = s
            .form
            .unit_names
            .iter()
            .any(|u| u.as_str() == unit_word.as_ref());
        // How many base units one written unit is.
        let factor = match (top.unit_kind(), dimension) {
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
                    self.invalid(Input::Dose, format!(
                        "dose `{}` is a volume; give the strength as a concentration (such as `75 mg/3 ml`) to convert it to mg",
                        rx.dose.trim()
                    ));
                    return None;
                };
                factor.checked_mul(per_ml)
            }
            (Unit::Word, Dimension::Mass) if is_form_unit => {
                let Some(per_unit) = strength.and_then(Strength::mg_per_unit) else {
                    let message = match strength {
                        Some(given) => format!(
                            "dose `{}` counts units, but strength `{given}` does not say how much one holds; give it in mg (such as `50 mg`)",
                            rx.dose.trim()
                        ),
                        None => format!(
                            "dose `{}` counts units, but no strength is given and {} has no default strength; give the strength (such as `50 mg`)",
                            rx.dose.trim(),
                            s.name()
                        ),
                    };
                    self.invalid(Input::Dose, message);
                    return None;
                };
                Some(per_unit)
            }
            (Unit::Word, Dimension::Count) if is_form_unit => Some(Decimal::ONE),
            (Unit::Word, _) => {
                let accepted = if s.form.unit_names.is_empty() {
                    String::new()
                } else {
                    format!(
                        " or `{}`",
                        s.form.unit_names.first().map_or("", String::as_str)
                    )
                };
                self.invalid(Input::Dose, format!(
                    "dose `{}`: unit `{}` does not fit {} (doses are {}, such as `{}`{accepted})",
                    rx.dose.trim(), top.unit, s.name(), dimension.as_str(), example_unit(dimension)
                ));
                return None;
            }
            (Unit::Measure { dimension: d, .. }, want) => {
                self.invalid(
                    Input::Dose,
                    format!(
                        "dose `{}` is a {}, but doses of {} are measured in {} (such as `{}`)",
                        rx.dose.trim(),
                        d.as_str(),
                        s.name(),
                        want.as_str(),
                        example_unit(want)
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
            self.invalid(
                Input::Dose,
                format!("dose `{}` is too large to compute with", rx.dose.trim()),
            );
        }
        converted
    }

    fn check_dose(
        &mut self,
        s: &Subject<'f>,
        rx: &Prescription<'_>,
        regimen: &Regimen,
        age: Option<u32>,
    ) {
        // The strength converts the dose and picks strength-specific dosage: read it once.
        let (strength, strength_given) = self.strength(s, rx.strength);
        let single = if strength_given && strength.is_none() {
            None
        } else {
            self.dose_amount(s, rx, strength)
        };
        let rules = match &s.form.dosing {
            Dosing::Unknown {
                rule,
                reason,
                source,
            } => {
                if single.is_some() || s.form.dose_dimension.is_none() {
                    let message = format!("the dose of {} cannot be verified: {reason}", s.name());
                    let source = self.f.citation(*source);
                    self.push(Severity::Warn, Category::DoseSingle, rule, message, source);
                }
                return;
            }
            Dosing::Known(rules) => rules,
        };
        let Some(dimension) = s.form.dose_dimension else {
            return;
        };
        let by_age = |r: &&'f DoseRule| match age {
            Some(a) => r.covers_age(a),
            None => r.ages.is_none(),
        };
        let Some(first_for_age) = rules.iter().find(by_age) else {
            if let Some(age) = age {
                self.age_not_covered(s, rules, age);
            }
            return;
        };
        let prescribed_strength = strength;
        // Entries for every strength always apply; of the strength-specific ones, those of
        // the prescribed strength, or (when it is not given or not listed) the strictest.
        let specific = |r: &&'f DoseRule| r.strength.is_some();
        let matches = |r: &&'f DoseRule| r.strength.is_some() && r.strength == prescribed_strength;
        let strength_matched = rules.iter().filter(by_age).any(|r| matches(&r));
        let strength_unknown =
            !strength_matched && rules.iter().filter(by_age).any(|r| specific(&r));
        if strength_unknown {
            self.push(Severity::Info, Category::DoseSingle, &s.form.dose_rule_ids.strength_not_given, format!(
                    "the dosage of {} depends on the strength, which is not given or not listed; checked against the strictest",
                    s.name()
                ), self.f.citation(first_for_age.source));
        }
        let daily = match (single, regimen.times_per_day) {
            (Some(d), Some(t)) => {
                let times = Decimal::from(t);
                let daily = d.low.checked_mul(times).and_then(|low| {
                    Some(Range {
                        low,
                        top: d.top.checked_mul(times)?,
                    })
                });
                if daily.is_none() {
                    self.invalid(
                        Input::Dose,
                        format!(
                            "the daily dose of `{}` x {t} is too large to compute with",
                            rx.dose.trim()
                        ),
                    );
                }
                daily
            }
            _ => None,
        };
        let dose = DoseFacts {
            single,
            daily,
            dimension,
        };
        for rule in rules.iter().filter(by_age) {
            if !specific(&rule) || matches(&rule) {
                self.apply_dose_rule(s, rule, &dose, regimen);
            }
        }
        if strength_unknown {
            let mut worst: Option<(Severity, Vec<Finding<'f>>)> = None;
            for rule in rules.iter().filter(by_age).filter(specific) {
                let start = self.out.findings.len();
                self.apply_dose_rule(s, rule, &dose, regimen);
                let found: Vec<Finding<'f>> = self.out.findings.drain(start..).collect();
                let severity = found
                    .iter()
                    .map(|f| f.severity)
                    .max()
                    .unwrap_or(Severity::Info);
                if worst.as_ref().is_none_or(|(w, _)| severity > *w) {
                    worst = Some((severity, found));
                }
            }
            if let Some((_, found)) = worst {
                self.out.findings.extend(found);
            }
        }
    }

    /// The form has dosage only for other ages: the dose cannot be verified.
    fn age_not_covered(&mut self, s: &Subject<'f>, rules: &'f [DoseRule], age: u32) {
        let bands = rules
            .iter()
            .filter_map(|r| r.ages.map(|(lo, hi)| format!("{lo}-{hi}")))
            .collect::<Vec<_>>()
            .join(", ");
        self.push(Severity::Warn, Category::DoseSingle, &s.form.dose_rule_ids.age_not_covered, format!(
                "the dose of {} cannot be verified for a patient of {age} years: the reference gives its dosage for ages {bands}",
                s.name()
            ), rules.first().map_or("", |r| self.f.citation(r.source)));
    }

    fn apply_dose_rule(
        &mut self,
        s: &Subject<'f>,
        rule: &'f DoseRule,
        dose: &DoseFacts,
        regimen: &Regimen,
    ) {
        let source = self.f.citation(rule.source);
        let ids = &rule.limit_ids;
        if let Some(single) = dose.single {
            let limit_ids = [&ids.single_min, &ids.single_usual_max, &ids.single_max];
            self.check_limits(
                limit_ids,
                "single dose",
                Category::DoseSingle,
                single,
                &rule.per_administration,
                dose.dimension,
                source,
            );
        }
        if let Some(daily) = dose.daily {
            let limit_ids = [&ids.daily_min, &ids.daily_usual_max, &ids.daily_max];
            self.check_limits(
                limit_ids,
                "daily dose",
                Category::DoseDaily,
                daily,
                &rule.per_day,
                dose.dimension,
                source,
            );
        }
        if let Some(times) = regimen.times_per_day {
            if let Some(max) = rule.times_per_day.1.filter(|&m| times > m) {
                let message = format!(
                    "{times} times a day is more than the maximum of {max} for {}",
                    s.name()
                );
                self.push(
                    Severity::Reject,
                    Category::Frequency,
                    &ids.times_max,
                    message,
                    source,
                );
            } else if let Some(min) = rule.times_per_day.0.filter(|&m| times < m) {
                let message = format!(
                    "{times} times a day is fewer than the minimum of {min} for {}",
                    s.name()
                );
                self.push(
                    Severity::Warn,
                    Category::Frequency,
                    &ids.times_min,
                    message,
                    source,
                );
            }
        }
        if let Some(max) = rule.max_duration_days {
            match regimen.duration_days {
                Some(days) if days > max => {
                    let message = format!(
                        "a course of {days} days is longer than the maximum of {max} days for {}",
                        s.name()
                    );
                    self.push(
                        Severity::Reject,
                        Category::Duration,
                        &ids.duration,
                        message,
                        source,
                    );
                }
                None if !regimen.duration_given => {
                    let message = format!(
                        "the course length is not given, so the maximum of {max} days for {} cannot be verified",
                        s.name()
                    );
                    self.push(
                        Severity::Warn,
                        Category::Duration,
                        &ids.duration,
                        message,
                        source,
                    );
                }
                _ => {}
            }
        }
    }

    /// Checks an amount against min / usual max / max; `ids` are the rule ids in that order.
    #[expect(
        clippy::too_many_arguments,
        reason = "one limit check: the amount, its limits, and what the finding says"
    )]
    fn check_limits(
        &mut self,
        ids: [&'f String; 3],
        what: &str,
        category: Category,
        range: Range,
        limits: &Limits,
        dimension: Dimension,
        source: &'f str,
    ) {
        let [min_id, usual_id, max_id] = ids;
        let value = range.top;
        if let Some(max) = limits.max.filter(|m| value > *m) {
            let message = format!(
                "{what} {} is above the maximum of {}",
                amount(value, dimension),
                amount(max, dimension)
            );
            self.push(Severity::Reject, category, max_id, message, source);
        } else if let Some(usual) = limits.usual_max.filter(|m| value > *m) {
            let message = format!(
                "{what} {} is above the usual maximum of {}{}",
                amount(value, dimension),
                amount(usual, dimension),
                limits.max.map_or_else(String::new, |m| format!(
                    " (allowed up to {} only where the reference says so)",
                    amount(m, dimension)
                ))
            );
            self.push(Severity::Warn, category, usual_id, message, source);
        } else if let Some(min) = limits.min.filter(|m| range.low < *m) {
            let message = format!(
                "{what} {} is below the minimum of {}",
                amount(range.low, dimension),
                amount(min, dimension)
            );
            self.push(Severity::Warn, category, min_id, message, source);
        }
    }

    /// Records one finding.
    fn push(
        &mut self,
        severity: Severity,
        category: Category,
        rule: impl Into<Cow<'f, str>>,
        message: impl Into<Cow<'f, str>>,
        source: impl Into<Cow<'f, str>>,
    ) {
        self.out.findings.push(Finding {
            severity,
            category,
            rule: rule.into(),
            message: message.into(),
            source: source.into(),
        });
    }

    fn check_pregnancy(&mut self, s: &Subject<'f>, pregnancy: Pregnancy) {
        let rules = &s.profile.pregnancy;
        let strictest = rules
            .iter()
            .max_by_key(|r| (r.rule.severity, std::cmp::Reverse(r.weeks.0)));
        match pregnancy {
            Pregnancy::No => {}
            Pregnancy::Yes(Some(week)) => {
                for r in rules
                    .iter()
                    .filter(|r| (r.weeks.0..=r.weeks.1).contains(&week))
                {
                    let message = format!(
                        "{} at gestational week {week}: {} in weeks {}-{}",
                        s.name(),
                        verb(r.rule.severity),
                        r.weeks.0,
                        r.weeks.1
                    );
                    self.finding(Category::Pregnancy, r.rule.severity, &r.rule, message);
                }
            }
            Pregnancy::Yes(None) => {
                if let Some(r) = strictest {
                    let message = format!(
                        "pregnant with no gestational week given: the strictest pregnancy rule of {} applies ({} in weeks {}-{})",
                        s.name(),
                        verb(r.rule.severity),
                        r.weeks.0,
                        r.weeks.1
                    );
                    self.finding(Category::Pregnancy, r.rule.severity, &r.rule, message);
                }
            }
            Pregnancy::Unknown => {
                if let Some(r) = strictest {
                    let message = format!(
                        "pregnancy status is unknown, so the pregnancy rules of {} cannot be verified ({} in weeks {}-{})",
                        s.name(),
                        verb(r.rule.severity),
                        r.weeks.0,
                        r.weeks.1
                    );
                    self.finding(
                        Category::Pregnancy,
                        r.rule.severity.min(Severity::Warn),
                        &r.rule,
                        message,
                    );
                }
            }
        }
    }

    fn check_breastfeeding(&mut self, s: &Subject<'f>, flag: Flag) {
        for r in &s.profile.breastfeeding {
            match flag {
                Flag::No => {}
                Flag::Yes => {
                    let message = format!("{} while breastfeeding: {}", s.name(), verb(r.severity));
                    self.finding(Category::Breastfeeding, r.severity, r, message);
                }
                Flag::Unknown => {
                    let message = format!(
                        "breastfeeding status is unknown, so the breastfeeding rule of {} cannot be verified ({} while breastfeeding)",
                        s.name(),
                        verb(r.severity)
                    );
                    self.finding(
                        Category::Breastfeeding,
                        r.severity.min(Severity::Warn),
                        r,
                        message,
                    );
                }
            }
        }
    }

    /// One finding per contraindicated condition the patient has: the most severe rule for it
    /// (a condition both cautioned and contraindicated is reported once, as contraindicated).
    fn check_conditions(&mut self, s: &Subject<'f>, conditions: &[(usize, &str)]) {
        if conditions.is_empty() {
            return;
        }
        let rules = &s.profile.contraindications;
        for (index, rule) in rules.iter().enumerate() {
            let outranked = rules.iter().enumerate().any(|(other, r)| {
                r.condition == rule.condition
                    && (r.rule.severity > rule.rule.severity
                        || (r.rule.severity == rule.rule.severity && other < index))
            });
            if outranked {
                continue;
            }
            if let Some((_, given)) = conditions.iter().find(|(c, _)| *c == rule.condition) {
                let label = self
                    .f
                    .conditions
                    .get(rule.condition)
                    .map_or("", |c| c.label.as_str());
                let message = format!(
                    "{} with {label} (`{given}`): {}",
                    s.name(),
                    verb(rule.rule.severity)
                );
                self.finding(Category::Condition, rule.rule.severity, &rule.rule, message);
            }
        }
    }

    fn check_allergies(&mut self, s: &Subject<'f>, allergies: &str) {
        for rule in &s.profile.allergy {
            for item in list_items(allergies) {
                let hit = self.allergy_matches(s, &rule.classes, item);
                if let Some(why) = hit {
                    let message = format!(
                        "allergy to `{item}`{why}: {} is {}",
                        s.name(),
                        verb(rule.rule.severity)
                    );
                    self.finding(Category::Allergy, rule.rule.severity, &rule.rule, message);
                    break;
                }
            }
        }
    }

    /// Whether an allergy to `item` rules the drug out: the drug itself, one of `classes`,
    /// or a member of one of them. Returns how it matched.
    fn allergy_matches(&self, s: &Subject<'f>, classes: &[usize], item: &str) -> Option<String> {
        let f = self.f;
        if let Some(found) = f.find_drug(item) {
            if f.drugs
                .get(found.drug)
                .is_some_and(|d| std::ptr::eq(d, s.drug))
            {
                return Some(String::new());
            }
        }
        let name = normalize_name(item);
        let singular = name.strip_suffix('s').unwrap_or(&name);
        for &class in classes {
            let Some(c) = f.classes.get(class) else {
                continue;
            };
            let id = normalize_name(&c.id);
            if id == name.as_ref() || id == singular {
                return Some(String::new());
            }
            if f.substance(item)
                .is_some_and(|sub| sub.classes.contains(&class))
            {
                return Some(format!(" (a member of class `{}`)", c.id));
            }
        }
        None
    }

    fn check_co_medications(&mut self, s: &Subject<'f>, co_medications: &str) {
        let f = self.f;
        for item in list_items(co_medications) {
            let Some(substance) = f.substance(item) else {
                continue;
            };
            let same_drug = substance
                .drug
                .and_then(|d| f.drugs.get(d))
                .is_some_and(|d| std::ptr::eq(d, s.drug));
            for rule in &s.profile.duplicate_therapy {
                if substance.classes.contains(&rule.class) {
                    let severity = if s.form.systemic {
                        rule.rule.severity
                    } else {
                        rule.topical_severity
                    };
                    let class = f.classes.get(rule.class).map_or("", |c| c.id.as_str());
                    let what = if same_drug {
                        "the same drug".to_string()
                    } else {
                        format!("another `{class}`")
                    };
                    let note = if s.form.systemic {
                        ""
                    } else {
                        " (topical form: low systemic absorption)"
                    };
                    let message = format!(
                        "co-medication `{item}` is {what}: duplicate therapy with {}{note}",
                        s.name()
                    );
                    self.finding(Category::DuplicateTherapy, severity, &rule.rule, message);
                }
            }
            if same_drug {
                continue;
            }
            for rule in &s.profile.interactions {
                if let Some(class) = rule.classes.iter().find(|c| substance.classes.contains(c)) {
                    let class = f.classes.get(*class).map_or("", |c| c.label.as_str());
                    let message = format!(
                        "co-medication `{item}` is one of the {class}: {} with it is {}",
                        s.name(),
                        verb(rule.rule.severity)
                    );
                    self.finding(
                        Category::Interaction,
                        rule.rule.severity,
                        &rule.rule,
                        message,
                    );
                }
            }
        }
    }

    /// Allergy and co-medication names are open-ended (most drugs are outside the formulary),
    /// but a near miss of a known name is likely a typo that would hide a rule: a warning.
    fn check_unknown_names(&mut self, rx: &Prescription<'_>) {
        let f = self.f;
        let lists = [
            ("allergies", "allergy", Category::Allergy, rx.allergies),
            (
                "co_medications",
                "co-medication",
                Category::Interaction,
                rx.co_medications,
            ),
        ];
        for (field, what, category, list) in lists {
            for item in list_items(list) {
                if f.knows_name(item) {
                    continue;
                }
                if let Some(suggestion) = f.suggest_name_remembered(item) {
                    self.push(Severity::Warn, category, if field == "allergies" { "input.allergies" } else { "input.co_medications" }, format!(
                            "{what} `{item}` is not a known drug or class; did you mean `{suggestion}`? the rules that depend on it cannot be verified"
                        ), "rxcheck input rules: allergies and co-medications are drug, brand or class names; names close to a known one are checked as likely typos");
                }
            }
        }
    }

    fn check_administration(&mut self, s: &Subject<'f>) {
        for note in &s.profile.administration {
            self.push(
                note.rule.severity,
                Category::Administration,
                &note.rule.rule,
                &note.note,
                self.f.citation(note.rule.source),
            );
        }
    }
}

fn verb(severity: Severity) -> &'static str {
    match severity {
        Severity::Reject | Severity::Invalid => "contraindicated",
        Severity::Warn => "use with caution",
        Severity::Info => "note",
    }
}

fn example_unit(dimension: Dimension) -> &'static str {
    match dimension {
        Dimension::Mass => "50 mg",
        Dimension::Volume => "3 ml",
        Dimension::Length => "10 cm",
        Dimension::Count => "1 unit",
    }
}
