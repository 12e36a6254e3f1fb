//! The quadratic way of working out a patient's findings, course against every other course,
//! kept as the reference that [`CrossCheck`] must agree with byte for byte (for doses that are
//! decimals: see [`super::totals`]).

use super::*;
use crate::formulary::{ClassRule, Rule};
use proptest::prelude::*;
use std::sync::OnceLock;

fn overlaps(a: &Course<'_>, b: &Course<'_>) -> bool {
    let starts_before_other_ends = b.end.is_none_or(|end| a.start <= end);
    let other_starts_before_end = a.end.is_none_or(|end| b.start <= end);
    starts_before_other_ends && other_starts_before_end
}

fn active_on(course: &Course<'_>, day: NaiveDate) -> bool {
    course.start <= day && course.end.is_none_or(|end| day <= end)
}

/// A finding of `rule` on `course` because of the other rows `hits`, which it names.
fn naming_rows<'f, 'c>(
    formulary: &'f Formulary,
    course: &'c Course<'f>,
    hits: Vec<&'c Course<'f>>,
    category: Category,
    severity: Severity,
    rule: &'f Rule,
    what: &str,
) -> Finding<'f> {
    let text = describe_all(formulary, &hits, hits.len());
    Finding {
        rows: Some(Box::new(rows(&hits, course, hits.len()))),
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
/// which holds it too), worked out against every other course: the reference.
fn check_course<'f, 'c>(
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
    let own_systemic = *systemic;
    let own_index = usize::from(*own);
    let Some(drug) = formulary.drugs.get(own_index) else {
        return Vec::new();
    };
    let Some(profile) = drug.profile(usize::from(*form), brand.map(usize::from)) else {
        return Vec::new();
    };
    let others: Vec<&Course<'f>> = courses
        .into_iter()
        .filter(|c| c.row != course.row && overlaps(c, course))
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
        let peak = peak_total(course, *own_daily, &same).filter(|&(_, t)| t > limit.max_mg);
        if let Some((day, total)) = peak {
            let involved: Vec<&Course<'f>> = same
                .iter()
                .filter(|(c, _)| active_on(c, day))
                .map(|(c, _)| *c)
                .collect();
            let others_text = describe_all(formulary, &involved, involved.len());
            found.push(Finding {
                    rows: Some(Box::new(rows(&involved, course, involved.len()))),
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
        } else if own_daily <= &limit.max_mg {
            // Within the maximum as far as it is known: is any of it not known?
            let unknown: Vec<&Course<'f>> = others
                .iter()
                .filter(|c| {
                    let other = c.as_other(formulary);
                    other.drug == Some(own_index) && other.systemic && c.daily_mg().is_none()
                })
                .copied()
                .collect();
            if !unknown.is_empty() {
                let text = describe_all(formulary, &unknown, unknown.len());
                found.push(Finding {
                        rows: Some(Box::new(rows(&unknown, course, unknown.len()))),
                        ..Finding::new(
                            Severity::Warn,
                            Category::DoseDaily,
                            limit.rule.as_str(),
                            format!(
                                "prescribed at the same time as {text}, whose daily dose is not known in mg: the total of {} from all forms together cannot be verified against the maximum of {} mg a day",
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
        let any_systemic = hits.iter().any(|(_, o)| o.systemic);
        let hits: Vec<&Course<'f>> = hits.into_iter().map(|(c, _)| *c).collect();
        let severity = duplicate_severity(rule, *systemic && any_systemic);
        let note = if *systemic && any_systemic {
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
        let mut systemic = false;
        let hits: Vec<&Course<'f>> = as_other
            .iter()
            .filter(|(_, o)| {
                let hit =
                    interaction_rules(profile, own_index, o).find(|(r, _)| std::ptr::eq(*r, rule));
                class = class.or(hit.map(|(_, c)| c));
                systemic |= hit.is_some() && o.systemic && own_systemic;
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
        let what = format!("one of the {label}{}", topical_note(systemic));
        let severity = interaction_severity(rule, systemic);
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
    // The other formulary drugs' rules that name this drug's class: one finding per rule id.
    let mut from_others: Vec<(&ClassRule, usize, Vec<&Course<'f>>)> = Vec::new();
    for (index, other_drug) in formulary.drugs.iter().enumerate() {
        let hits: Vec<&Course<'f>> = others
            .iter()
            .filter(|c| index != own_index && c.as_other(formulary).drug == Some(index))
            .copied()
            .collect();
        if hits.is_empty() {
            continue;
        }
        for (rule, class) in interactions_from(profile, &drug.classes, other_drug) {
            match from_others
                .iter_mut()
                .find(|(r, _, _)| r.rule.rule == rule.rule.rule)
            {
                Some((_, _, all)) => all.extend(&hits),
                None => from_others.push((rule, class, hits.clone())),
            }
        }
    }
    for (rule, class, mut hits) in from_others {
        hits.sort_by_key(|c| c.row);
        let text = describe_all(formulary, &hits, hits.len());
        let label = &formulary.classes[class].label;
        // A topical pair unless the course and one of the other drug's rows are systemic.
        let both = own_systemic && hits.iter().any(|c| c.as_other(formulary).systemic);
        found.push(Finding {
            rows: Some(Box::new(rows(&hits, course, hits.len()))),
            ..Finding::new(
                interaction_severity(rule, both),
                Category::Interaction,
                rule.rule.rule.as_str(),
                format!(
                    "prescribed at the same time as {text}, whose rules name the {label}: {} is one of them{}",
                    drug.id,
                    topical_note(both)
                ),
                formulary.citation(rule.rule.source),
            )
        });
    }
    // Rows that cannot be read, last.
    let unreadable: Vec<&Course<'f>> = others
        .iter()
        .filter(|c| matches!(c.drug, CourseDrug::Unreadable))
        .copied()
        .collect();
    if !unreadable.is_empty() {
        let text = describe_all(formulary, &unreadable, unreadable.len());
        found.push(Finding {
            rows: Some(Box::new(rows(&unreadable, course, unreadable.len()))),
            ..Finding::new(
                Severity::Warn,
                Category::Input,
                "input.row",
                format!("prescribed for the same patient as {text}: what that row prescribes, and when, is not known, so duplicate therapy, interactions and the total daily dose across the patient's rows cannot be verified; correct the row and check the file again"),
                Input::Row.source(),
            )
        });
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

fn formulary() -> &'static Formulary {
    static F: OnceLock<Formulary> = OnceLock::new();
    F.get_or_init(|| Formulary::embedded().unwrap())
}

/// Drugs of other rows: formulary drugs in no form they have, NSAIDs, a hepatotoxic drug, an
/// anticoagulant, an unknown name.
const OTHERS: [&str; 8] = [
    "diclofenac",
    "nimesulide",
    "ibuprofen",
    "aspirin",
    "paracetamol",
    "warfarin",
    "methotrexate",
    "nonexistium",
];

/// A course: its first day, length (none: open-ended), and what it prescribes: a drug form,
/// brand and daily dose of the formulary, another drug, or a row that cannot be read.
fn course() -> impl Strategy<Value = (u32, Option<u32>, usize, usize, usize, Option<u32>)> {
    (
        0u32..60,
        prop::option::weighted(0.8, 1u32..40),
        0usize..8,
        0usize..8,
        0usize..4,
        prop::option::weighted(0.8, 1u32..24),
    )
}

fn make(i: usize, spec: (u32, Option<u32>, usize, usize, usize, Option<u32>)) -> Course<'static> {
    let f = formulary();
    let (start, days, drug, form, brand, daily) = spec;
    let start = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap() + Days::new(u64::from(start));
    let end = days.map(|d| start + Days::new(u64::from(d) - 1));
    let drug = if drug < f.drugs.len() + 2 {
        let index = drug % f.drugs.len();
        let d = &f.drugs[index];
        let form = form % d.forms.len();
        CourseDrug::Covered {
            drug: index as u16,
            form: form as u16,
            brand: (brand < d.brands.len()).then_some(brand as u16),
            daily_mg: daily.map(|n| Decimal::new(i64::from(n) * 125, 1)),
            systemic: d.forms[form].systemic,
        }
    } else if drug == 7 && form == 0 {
        return Course::unreadable(i as u32 * 3 + 1, &format!("R{i}"));
    } else {
        let name = OTHERS[(form + brand) % OTHERS.len()];
        CourseDrug::Other {
            name: name.into(),
            known: f.substance(name),
            systemic: true,
        }
    };
    Course {
        row: i as u32 * 3 + 1,
        rx_id: format!("R{i}").into(),
        start,
        end,
        drug,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_findings_are_those_of_every_course_against_every_other(
        specs in prop::collection::vec(course(), 0..40),
    ) {
        let f = formulary();
        let courses: Vec<Course<'static>> = specs.into_iter().enumerate().map(|(i, s)| make(i, s)).collect();
        let mut found = Vec::new();
        CrossCheck::default().check(f, &courses, |x| found.push(x));
        for (index, course) in courses.iter().enumerate() {
            let expected = check_course(f, &courses, course);
            let got: Vec<Finding<'_>> = found
                .iter()
                .filter(|x| x.course() == index)
                .map(|x| x.finding(f, &courses, false))
                .collect();
            prop_assert_eq!(got, expected);
        }
    }
}
