//! Dosage: the strength, the dose per administration and per day, times per day and course
//! length, against the form's dosage statements for the patient's age (and strength).

use crate::finding::{Assessment, Category, Finding, Severity};
use crate::formulary::{DoseRule, Dosing, Limits};
use crate::request::{Duration, Range, Request, StrengthGiven, Target};
use crate::units::Dimension;
use rust_decimal::Decimal;

pub(super) fn check<'f>(req: &Request<'f, '_>, t: &Target<'f>, out: &mut Assessment<'f>) {
    let f = req.formulary;
    if let StrengthGiven::Given(strength) = req.strength {
        if !t.form.strengths.contains(&strength) {
            strength_not_listed(req, t, out);
        }
    }
    let rules = match &t.form.dosing {
        Dosing::Unknown {
            rule,
            reason,
            source,
        } => {
            if req.single.is_some() || t.form.dose_dimension.is_none() {
                let message = || format!("the dose of {} cannot be verified: {reason}", t.name());
                out.push(
                    Severity::Warn,
                    Category::DoseSingle,
                    rule.as_str(),
                    message,
                    f.citation(*source),
                );
            }
            return;
        }
        Dosing::Known(rules) => rules,
    };
    let Some(dimension) = t.form.dose_dimension else {
        return;
    };
    let by_age = |r: &&'f DoseRule| match req.age {
        Some(a) => r.covers_age(a),
        None => r.ages.is_none(),
    };
    let Some(first_for_age) = rules.iter().find(by_age) else {
        if let Some(age) = req.age {
            age_not_covered(req, t, rules, age, out);
        }
        return;
    };
    // Entries for every strength always apply; of the strength-specific ones, those of the
    // prescribed strength, or (when it is not given or not listed) the strictest.
    let prescribed = req.strength.strength();
    let specific = |r: &&'f DoseRule| r.strength.is_some();
    let matches = |r: &&'f DoseRule| r.strength.is_some() && r.strength == prescribed;
    let strength_matched = rules.iter().filter(by_age).any(|r| matches(&r));
    let strength_unknown = !strength_matched && rules.iter().filter(by_age).any(|r| specific(&r));
    if strength_unknown {
        out.push(
            Severity::Info,
            Category::DoseSingle,
            t.form.dose_rule_ids.strength_not_given.as_str(),
            || format!(
                "the dosage of {} depends on the strength, which is not given or not listed; checked against the strictest",
                t.name()
            ),
            f.citation(first_for_age.source),
        );
    }
    for rule in rules.iter().filter(by_age) {
        if !specific(&rule) || matches(&rule) {
            apply(req, t, rule, dimension, out);
        }
    }
    if strength_unknown {
        let mut worst: Option<(Severity, Vec<Finding<'f>>)> = None;
        for rule in rules.iter().filter(by_age).filter(specific) {
            let start = out.findings.len();
            apply(req, t, rule, dimension, out);
            let found: Vec<Finding<'f>> = out.findings.drain(start..).collect();
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
            out.findings.extend(found);
        }
    }
}

/// A strength the formulary does not list: the dose is still checked as given.
fn strength_not_listed<'f>(req: &Request<'f, '_>, t: &Target<'f>, out: &mut Assessment<'f>) {
    let listed = || {
        if t.form.strengths.is_empty() {
            "the reference lists no strengths for it".to_string()
        } else {
            format!(
                "it lists {}",
                t.form
                    .strengths
                    .iter()
                    .map(|st| format!("`{st}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    };
    out.push(
        Severity::Info,
        Category::DoseSingle,
        t.form.dose_rule_ids.strength.as_str(),
        || format!(
            "strength `{}` is not listed in the formulary for {} ({}); the dose is checked as given",
            req.rx.strength.trim(),
            t.name(),
            listed()
        ),
        "rxcheck formulary: strengths the reference names",
    );
}

/// The form has dosage only for other ages: the dose cannot be verified.
fn age_not_covered<'f>(
    req: &Request<'f, '_>,
    t: &Target<'f>,
    rules: &'f [DoseRule],
    age: u32,
    out: &mut Assessment<'f>,
) {
    let bands = || {
        rules
            .iter()
            .filter_map(|r| r.ages.map(|(lo, hi)| format!("{lo}-{hi}")))
            .collect::<Vec<_>>()
            .join(", ")
    };
    out.push(
        Severity::Warn,
        Category::DoseSingle,
        t.form.dose_rule_ids.age_not_covered.as_str(),
        || format!(
            "the dose of {} cannot be verified for a patient of {age} years: the reference gives its dosage for ages {}",
            t.name(),
            bands()
        ),
        rules.first().map_or("", |r| req.formulary.citation(r.source)),
    );
    // Whatever the dose for this age, it is not above the most the drug is given at any age.
    let limit = t.drug.combined_daily_max.as_ref();
    let daily = req
        .daily
        .filter(|_| t.form.systemic && t.form.dose_dimension == Some(Dimension::Mass));
    if let (Some(limit), Some(daily)) = (limit, daily) {
        if daily.top > limit.max_mg {
            out.push(
                Severity::Reject,
                Category::DoseDaily,
                limit.rule.as_str(),
                || format!(
                    "daily dose {} mg is above the most the reference gives {} at any age ({} mg a day from all forms together)",
                    daily.top.normalize(),
                    t.drug.id,
                    limit.max_mg.normalize()
                ),
                req.formulary.citation(limit.source),
            );
        }
    }
}

/// Checks the dose, frequency and course length against one dosage statement.
fn apply<'f>(
    req: &Request<'f, '_>,
    t: &Target<'f>,
    rule: &'f DoseRule,
    dimension: Dimension,
    out: &mut Assessment<'f>,
) {
    let source = req.formulary.citation(rule.source);
    let below = BelowGrade::of(rule, req.daily, source);
    let ids = &rule.limit_ids;
    if let Some(single) = req.single {
        let ids = [&ids.single_min, &ids.single_usual_max, &ids.single_max];
        let limits = &rule.per_administration;
        check_limits(
            out,
            ids,
            "single dose",
            Category::DoseSingle,
            single,
            limits,
            dimension,
            (source, &below),
        );
    }
    if let Some(daily) = req.daily {
        let ids = [&ids.daily_min, &ids.daily_usual_max, &ids.daily_max];
        let limits = &rule.per_day;
        check_limits(
            out,
            ids,
            "daily dose",
            Category::DoseDaily,
            daily,
            limits,
            dimension,
            (source, &below),
        );
    }
    if let Some(times) = req.times_per_day {
        if let Some(max) = rule.times_per_day.1.filter(|&m| times > m) {
            let message = || {
                format!(
                    "{times} times a day is more than the maximum of {max} for {}",
                    t.name()
                )
            };
            out.push(
                Severity::Reject,
                Category::Frequency,
                ids.times_max.as_str(),
                message,
                source,
            );
        } else if let Some(min) = rule.times_per_day.0.filter(|&m| times < m) {
            // Fewer intakes are endorsed with a low dose only: not a whole day's dose at once
            // (150 mg of diclofenac once a day), which goes beyond the form's usual daily minimum.
            let low = match (req.daily, rule.per_day.min) {
                (Some(daily), Some(floor)) => daily.top <= floor,
                (Some(_), None) => true,
                // A daily dose not known is not known to be low.
                (None, _) => false,
            };
            let below = match low {
                true => below,
                false => BelowGrade::of_plain(source),
            };
            let message = || {
                format!(
                    "{times} times a day is fewer than the minimum of {min} for {}{}",
                    t.name(),
                    below.note
                )
            };
            out.push(
                below.severity,
                Category::Frequency,
                ids.times_min.as_str(),
                message,
                below.source,
            );
        }
    }
    if let Some(max) = rule.max_duration_days {
        match req.duration {
            Duration::Days(days) if days > max => {
                let message = || {
                    format!(
                        "a course of {days} days is longer than the maximum of {max} days for {}",
                        t.name()
                    )
                };
                out.push(
                    Severity::Reject,
                    Category::Duration,
                    ids.duration.as_str(),
                    message,
                    source,
                );
            }
            Duration::NotGiven => {
                let message = || {
                    format!(
                        "the course length is not given, so the maximum of {max} days for {} cannot be verified",
                        t.name()
                    )
                };
                out.push(
                    Severity::Warn,
                    Category::Duration,
                    ids.duration.as_str(),
                    message,
                    source,
                );
            }
            Duration::Days(_) | Duration::Invalid => {}
        }
    }
}

/// How a below-minimum finding is graded and cited: `warn` on the dosage sentence, unless the
/// reference endorses lower doses (and the daily dose is not below the endorsement's floor).
struct BelowGrade<'f> {
    severity: Severity,
    source: &'f str,
    note: &'static str,
}

impl<'f> BelowGrade<'f> {
    fn of(rule: &'f DoseRule, daily: Option<Range>, source: &'f str) -> Self {
        let endorsed = rule.below_minimum.as_ref().filter(|b| match b.daily_floor {
            // An unknown daily dose cannot be shown to be above the floor.
            Some(floor) => daily.is_some_and(|d| d.low >= floor),
            None => true,
        });
        match endorsed {
            Some(b) => BelowGrade {
                severity: b.severity,
                source: b.citation.as_str(),
                note: "; the reference endorses lower doses here",
            },
            None => BelowGrade::of_plain(source),
        }
    }

    /// Not endorsed: `warn` on the dosage sentence.
    fn of_plain(source: &'f str) -> Self {
        BelowGrade {
            severity: Severity::Warn,
            source,
            note: "",
        }
    }
}

fn amount(value: Decimal, dimension: Dimension) -> String {
    format!("{} {}", value.normalize(), dimension.base_unit())
}

/// Checks an amount against min / usual max / max; `ids` are the rule ids in that order.
#[expect(
    clippy::too_many_arguments,
    reason = "one limit check: the amount, its limits, and what the finding says"
)]
fn check_limits<'f>(
    out: &mut Assessment<'f>,
    ids: [&'f String; 3],
    what: &str,
    category: Category,
    range: Range,
    limits: &Limits,
    dimension: Dimension,
    (source, below): (&'f str, &BelowGrade<'f>),
) {
    let [min_id, usual_id, max_id] = ids;
    let value = range.top;
    if let Some(max) = limits.max.filter(|m| value > *m) {
        let message = || {
            format!(
                "{what} {} is above the maximum of {}",
                amount(value, dimension),
                amount(max, dimension)
            )
        };
        out.push(Severity::Reject, category, max_id.as_str(), message, source);
    } else if let Some(usual) = limits.usual_max.filter(|m| value > *m) {
        let message = || {
            format!(
                "{what} {} is above the usual maximum of {}{}",
                amount(value, dimension),
                amount(usual, dimension),
                limits.max.map_or_else(String::new, |m| format!(
                    " (allowed up to {} only where the reference says so)",
                    amount(m, dimension)
                ))
            )
        };
        out.push(Severity::Warn, category, usual_id.as_str(), message, source);
    } else if let Some(min) = limits.min.filter(|m| range.low < *m) {
        let message = || {
            format!(
                "{what} {} is below the minimum of {}{}",
                amount(range.low, dimension),
                amount(min, dimension),
                below.note
            )
        };
        out.push(
            below.severity,
            category,
            min_id.as_str(),
            message,
            below.source,
        );
    }
}
