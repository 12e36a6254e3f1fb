//! Checks across one patient's concurrent prescriptions: the cumulative daily dose of a drug
//! from several systemic rows, duplicate therapy and interactions between rows. Each row is
//! a [`Course`] made from its parsed request; the rules are the single-row ones
//! ([`super::co_therapy`]).

use super::co_therapy::{OtherDrug, duplicate_rules, duplicate_severity, interaction_rules};
use crate::finding::{Category, Finding, Rows, Severity};
use crate::formulary::{Formulary, Rule, Substance, normalize_name};
use crate::request::{Duration, Request};
use crate::units::Dimension;
use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;

/// One prescription row as a course of treatment of its patient.
#[derive(Debug, Clone)]
pub struct Course<'f> {
    /// The data row (0-based).
    pub row: u32,
    pub rx_id: Box<str>,
    pub start: NaiveDate,
    /// The last day of the course; `None` when no duration is given (open-ended).
    pub end: Option<NaiveDate>,
    pub drug: CourseDrug<'f>,
}

/// What a course prescribes.
#[derive(Debug, Clone)]
pub enum CourseDrug<'f> {
    /// A drug form of the formulary.
    Covered {
        drug: u16,
        form: u16,
        brand: Option<u16>,
        /// The top of the daily dose in mg, when it is a mass that can be worked out.
        daily_mg: Option<Decimal>,
        systemic: bool,
    },
    /// Any other drug: it still counts as a co-medication of the patient.
    Other {
        name: Box<str>,
        known: Option<&'f Substance>,
    },
}

impl<'f> Course<'f> {
    /// The course a parsed row describes; `None` without a drug or a readable date.
    pub fn from_request(request: &Request<'f, '_>, row: u32, rx_id: &str) -> Option<Course<'f>> {
        let drug = request.rx.drug;
        if drug.trim().is_empty() {
            return None;
        }
        let start = request.date?;
        let end = match request.duration {
            Duration::Days(days) => start.checked_add_days(Days::new(u64::from(days) - 1)),
            Duration::NotGiven | Duration::Invalid => None,
        };
        let drug = match &request.target {
            Some(t) => CourseDrug::Covered {
                drug: u16::try_from(t.drug_index).ok()?,
                form: u16::try_from(t.form_index).ok()?,
                brand: match t.brand {
                    Some(b) => Some(u16::try_from(b).ok()?),
                    None => None,
                },
                // Only doses in mg add up against a daily maximum in mg.
                daily_mg: request
                    .daily
                    .filter(|_| t.form.dose_dimension == Some(Dimension::Mass))
                    .map(|d| d.top),
                systemic: t.form.systemic,
            },
            None => CourseDrug::Other {
                name: normalize_name(drug).into(),
                known: request.formulary.substance(drug),
            },
        };
        Some(Course {
            row,
            rx_id: rx_id.trim().into(),
            start,
            end,
            drug,
        })
    }

    fn overlaps(&self, other: &Course<'_>) -> bool {
        let starts_before_other_ends = other.end.is_none_or(|end| self.start <= end);
        let other_starts_before_end = self.end.is_none_or(|end| other.start <= end);
        starts_before_other_ends && other_starts_before_end
    }

    fn active_on(&self, day: NaiveDate) -> bool {
        self.start <= day && self.end.is_none_or(|end| day <= end)
    }

    /// The course's drug as the co-therapy rules see it.
    fn as_other(&self, formulary: &'f Formulary) -> OtherDrug<'f> {
        match &self.drug {
            CourseDrug::Covered { drug, systemic, .. } => OtherDrug {
                drug: Some(usize::from(*drug)),
                classes: formulary
                    .drugs
                    .get(usize::from(*drug))
                    .map_or(&[], |d| d.classes.as_slice()),
                systemic: *systemic,
            },
            CourseDrug::Other { known, .. } => OtherDrug {
                drug: known.and_then(|s| s.drug),
                classes: known.map_or(&[], |s| s.classes.as_slice()),
                systemic: true,
            },
        }
    }
}

/// How many other rows a finding describes before it says "N more rows".
const ROWS_NAMED: usize = 5;

/// The rows involved, in input order: at most a few ids, then how many more.
fn rows(courses: &mut Vec<&Course<'_>>) -> Rows {
    courses.sort_by_key(|c| c.row);
    Rows {
        ids: courses
            .iter()
            .take(ROWS_NAMED + 1)
            .map(|c| c.rx_id.clone())
            .collect(),
        more: courses.len().saturating_sub(ROWS_NAMED + 1),
    }
}

/// The other rows of a finding, described, at most a few.
fn describe_all(formulary: &Formulary, courses: &[&Course<'_>]) -> String {
    let mut text: Vec<String> = courses
        .iter()
        .take(ROWS_NAMED)
        .map(|c| describe(formulary, c))
        .collect();
    if courses.len() > ROWS_NAMED {
        text.push(format!("{} more rows", courses.len() - ROWS_NAMED));
    }
    text.join(" and ")
}

fn describe(formulary: &Formulary, course: &Course<'_>) -> String {
    match &course.drug {
        CourseDrug::Covered { drug, form, .. } => {
            let drug = formulary.drugs.get(usize::from(*drug));
            let form = drug.and_then(|d| d.forms.get(usize::from(*form)));
            format!(
                "`{}` ({} {})",
                course.rx_id,
                drug.map_or("", |d| d.id.as_str()),
                form.map_or("", |f| f.id.as_str())
            )
        }
        CourseDrug::Other { name, .. } => format!("`{}` ({name})", course.rx_id),
    }
}

/// A finding of `rule` on `course` because of the other rows `hits`, which it names.
fn naming_rows<'f, 'c>(
    formulary: &'f Formulary,
    course: &'c Course<'f>,
    mut hits: Vec<&'c Course<'f>>,
    category: Category,
    severity: Severity,
    rule: &'f Rule,
    what: &str,
) -> Finding<'f> {
    let text = describe_all(formulary, &hits);
    hits.push(course);
    Finding {
        rows: Some(Box::new(rows(&mut hits))),
        ..Finding::new(
            severity,
            category,
            rule.rule.as_str(),
            format!("prescribed at the same time as {text}: {what}"),
            formulary.citation(rule.source),
        )
    }
}

/// The findings for `course` from the other courses of its patient (`courses`, in row order,
/// which holds it too).
pub fn check_course<'f, 'c>(
    formulary: &'f Formulary,
    courses: impl IntoIterator<Item = &'c Course<'f>>,
    course: &Course<'f>,
) -> Vec<Finding<'f>>
where
    'f: 'c,
{
    let CourseDrug::Covered {
        drug: own,
        form,
        brand,
        daily_mg,
        systemic,
    } = &course.drug
    else {
        return Vec::new();
    };
    let own_index = usize::from(*own);
    let Some(drug) = formulary.drugs.get(own_index) else {
        return Vec::new();
    };
    let Some(profile) = drug.profile(usize::from(*form), brand.map(usize::from)) else {
        return Vec::new();
    };
    let others: Vec<&Course<'f>> = courses
        .into_iter()
        .filter(|c| c.row != course.row && c.overlaps(course))
        .collect();
    let mut found = Vec::new();
    if others.is_empty() {
        return found;
    }

    // The same drug from several systemic rows at once: the peak daily total.
    if let (true, Some(limit), Some(own_daily)) = (*systemic, &drug.combined_daily_max, daily_mg) {
        let same: Vec<(&Course<'f>, Decimal)> = others
            .iter()
            .filter_map(|c| match &c.drug {
                CourseDrug::Covered {
                    drug,
                    daily_mg: Some(daily),
                    systemic: true,
                    ..
                } if drug == own => Some((*c, *daily)),
                _ => None,
            })
            .collect();
        if let Some((day, total)) = peak_total(course, *own_daily, &same) {
            if total > limit.max_mg {
                let mut involved: Vec<&Course<'f>> = same
                    .iter()
                    .filter(|(c, _)| c.active_on(day))
                    .map(|(c, _)| *c)
                    .collect();
                let others_text = describe_all(formulary, &involved);
                involved.push(course);
                found.push(Finding {
                    rows: Some(Box::new(rows(&mut involved))),
                    ..Finding::new(
                        Severity::Reject,
                        Category::DoseDaily,
                        limit.rule.as_str(),
                        format!(
                            "together with {others_text} the patient gets {} mg of {} a day (from {day}), above the maximum of {} mg a day from all forms together",
                            total.normalize(),
                            drug.id,
                            limit.max_mg.normalize()
                        ),
                        formulary.citation(limit.source),
                    )
                });
            }
        }
    }

    let as_other: Vec<(&Course<'f>, OtherDrug<'f>)> = others
        .iter()
        .map(|c| (*c, c.as_other(formulary)))
        .filter(|(_, o)| o.drug != Some(own_index))
        .collect();
    for rule in &profile.duplicate_therapy {
        let hits: Vec<&(&Course<'f>, OtherDrug<'f>)> = as_other
            .iter()
            .filter(|(_, o)| duplicate_rules(profile, o).any(|r| std::ptr::eq(r, rule)))
            .collect();
        if hits.is_empty() {
            continue;
        }
        let all_systemic = hits.iter().all(|(_, o)| o.systemic);
        let hits: Vec<&Course<'f>> = hits.into_iter().map(|(c, _)| *c).collect();
        let severity = duplicate_severity(rule, *systemic && all_systemic);
        let note = if *systemic && all_systemic {
            ""
        } else {
            " (a topical form: low systemic absorption)"
        };
        let class = formulary
            .classes
            .get(rule.class)
            .map_or("", |c| c.id.as_str());
        let what = format!("two `{class}` drugs at once, duplicate therapy{note}");
        let category = Category::DuplicateTherapy;
        found.push(naming_rows(
            formulary, course, hits, category, severity, &rule.rule, &what,
        ));
    }
    for rule in &profile.interactions {
        let mut class = None;
        let hits: Vec<&Course<'f>> = as_other
            .iter()
            .filter(|(_, o)| {
                let hit =
                    interaction_rules(profile, own_index, o).find(|(r, _)| std::ptr::eq(*r, rule));
                class = class.or(hit.map(|(_, c)| c));
                hit.is_some()
            })
            .map(|(c, _)| *c)
            .collect();
        let Some(class) = class else {
            continue;
        };
        let label = formulary
            .classes
            .get(class)
            .map_or("", |c| c.label.as_str());
        let what = format!("one of the {label}");
        let severity = rule.rule.severity;
        found.push(naming_rows(
            formulary,
            course,
            hits,
            Category::Interaction,
            severity,
            &rule.rule,
            &what,
        ));
    }
    found
}

/// The highest daily total of the drug while `course` runs, from its own daily dose and the
/// overlapping `same`-drug courses, with the day it is first reached; `None` when no other
/// course adds to it. A sweep over the days the other courses start and stop.
fn peak_total(
    course: &Course<'_>,
    own: Decimal,
    same: &[(&Course<'_>, Decimal)],
) -> Option<(NaiveDate, Decimal)> {
    let mut events: Vec<(NaiveDate, Decimal, bool)> = Vec::with_capacity(same.len() * 2);
    for (c, daily) in same {
        let from = c.start.max(course.start);
        let to = match (c.end, course.end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if to.is_some_and(|to| to < from) {
            continue;
        }
        events.push((from, *daily, true));
        if let Some(after) = to.and_then(|to| to.succ_opt()) {
            events.push((after, *daily, false));
        }
    }
    events.sort_by_key(|(day, _, _)| *day);
    let mut total = own;
    let mut peak: Option<(NaiveDate, Decimal)> = None;
    let mut index = 0;
    while let Some(&(day, _, _)) = events.get(index) {
        while let Some(&(_, amount, starts)) = events.get(index).filter(|e| e.0 == day) {
            total = if starts {
                total.checked_add(amount).unwrap_or(Decimal::MAX)
            } else {
                total.checked_sub(amount).unwrap_or(Decimal::ZERO)
            };
            index += 1;
        }
        if total > own && peak.is_none_or(|(_, best)| total > best) {
            peak = Some((day, total));
        }
    }
    peak
}
