//! Checks across one patient's concurrent prescriptions: the cumulative daily dose of a drug
//! from several systemic rows, duplicate therapy and interactions between rows. Each row is
//! a [`Course`] made from its parsed request; the rules are the single-row ones
//! ([`super::co_therapy`]). [`CrossCheck`] works a patient's findings out all at once, in
//! time O(n log n) in the patient's rows.

mod overlaps;
#[cfg(test)]
mod tests;
mod totals;

use super::co_therapy::{
    OtherDrug, duplicate_rules, duplicate_severity, interaction_rules, interaction_severity,
    interactions_from, topical_note,
};
use crate::finding::{Category, Finding, Rows, Severity};
use crate::formulary::{
    ClassRule, CombinedMax, Drug, DuplicateRule, Formulary, Profile, Substance, normalize_name,
};
use crate::packed::{Put, Take};
use crate::request::{Duration, Input, Range, Request, Target, named_part, written_topical};
use crate::units::Dimension;
use chrono::{Datelike, Days, NaiveDate};
use overlaps::{CourseSets, FirstCourses, Query};
use rust_decimal::Decimal;
use std::borrow::Cow;
use std::fmt::Write;
use totals::DailyTotals;

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
    /// Any other drug: it still counts as a co-medication of the patient; `systemic` unless
    /// written as a product for the skin (`ketoprofen gel`, `topical ibuprofen`).
    Other {
        name: Box<str>,
        known: Option<&'f Substance>,
        systemic: bool,
    },
    /// A row of the patient's that cannot be read (it has not the header's fields): what it
    /// prescribes, and when, is not known.
    Unreadable,
}

/// The first and last days of a course that starts on `date` and lasts `duration` (open-ended
/// when it is not given or cannot be read). A date that cannot be read (`None`) may be any
/// day: the course is taken to span every day, so that it is checked against every other
/// course of the patient's rather than dropped.
pub fn course_days(date: Option<NaiveDate>, duration: Duration) -> (NaiveDate, Option<NaiveDate>) {
    let Some(start) = date else {
        return (NaiveDate::MIN, None);
    };
    let end = match duration {
        Duration::Days(days) => start.checked_add_days(Days::new(u64::from(days) - 1)),
        Duration::NotGiven | Duration::Invalid => None,
    };
    (start, end)
}

impl<'f> CourseDrug<'f> {
    /// What a parsed row prescribes; `None` without a drug.
    pub fn from_request(request: &Request<'f, '_>) -> Option<CourseDrug<'f>> {
        let regimen = (request.target.as_ref(), request.daily);
        CourseDrug::new(request.formulary, request.rx.drug, regimen)
    }

    /// What a row prescribes, from its drug as written and its drug form and daily dose as
    /// parsed; `None` without a drug.
    pub fn new(
        formulary: &'f Formulary,
        drug: &str,
        (target, daily): (Option<&Target<'f>>, Option<Range>),
    ) -> Option<CourseDrug<'f>> {
        if drug.trim().is_empty() {
            return None;
        }
        Some(match target {
            Some(t) => CourseDrug::Covered {
                drug: u16::try_from(t.drug_index).ok()?,
                form: u16::try_from(t.form_index).ok()?,
                brand: match t.brand {
                    Some(b) => Some(u16::try_from(b).ok()?),
                    None => None,
                },
                // Only doses in mg add up against a daily maximum in mg.
                daily_mg: daily
                    .filter(|_| t.form.dose_dimension == Some(Dimension::Mass))
                    .map(|d| d.top),
                systemic: t.form.systemic,
            },
            None => {
                let written = drug;
                let named = named_part(drug, |part| formulary.substance(part));
                let (drug, known) = named.map_or((drug, None), |(part, s)| (part, Some(s)));
                // A near miss of a formulary drug's name (`diclofenak`) is taken for that drug,
                // whose course it may be.
                let known = known.or_else(|| {
                    let meant = formulary.misspelt_drug(drug)?;
                    formulary.substance(&meant).filter(|s| s.drug.is_some())
                });
                CourseDrug::Other {
                    name: normalize_name(drug).into(),
                    known,
                    systemic: !written_topical(written),
                }
            }
        })
    }
}

/// A row as a course of its patient's: its first and last days, and what it prescribes.
pub type CourseFacts<'f> = ((NaiveDate, Option<NaiveDate>), CourseDrug<'f>);

/// What a parsed row makes as a course; `None` without a drug.
pub fn course_facts<'f>(request: &Request<'f, '_>) -> Option<CourseFacts<'f>> {
    let days = course_days(request.date, request.duration);
    Some((days, CourseDrug::from_request(request)?))
}

/// A row of the patient's that cannot be read as a course: of any drug, on any day.
pub fn unreadable_facts<'f>() -> CourseFacts<'f> {
    ((NaiveDate::MIN, None), CourseDrug::Unreadable)
}

impl<'f> Course<'f> {
    /// The course a parsed row describes; `None` without a drug.
    pub fn from_request(request: &Request<'f, '_>, row: u32, rx_id: &str) -> Option<Course<'f>> {
        let ((start, end), drug) = course_facts(request)?;
        Some(Course {
            row,
            rx_id: rx_id.trim().into(),
            start,
            end,
            drug,
        })
    }

    /// The last day of the course; the latest date when it is open-ended.
    fn last_day(&self) -> NaiveDate {
        self.end.unwrap_or(NaiveDate::MAX)
    }

    /// The course of a row of the patient's that cannot be read ([`unreadable_facts`]).
    pub fn unreadable(row: u32, rx_id: &str) -> Course<'f> {
        let ((start, end), drug) = unreadable_facts();
        Course {
            row,
            rx_id: rx_id.trim().into(),
            start,
            end,
            drug,
        }
    }

    /// The daily dose in mg of a course of a formulary drug, when it is known.
    fn daily_mg(&self) -> Option<Decimal> {
        match self.drug {
            CourseDrug::Covered { daily_mg, .. } => daily_mg,
            CourseDrug::Other { .. } | CourseDrug::Unreadable => None,
        }
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
            CourseDrug::Other {
                known, systemic, ..
            } => OtherDrug {
                drug: known.and_then(|s| s.drug),
                classes: known.map_or(&[], |s| s.classes.as_slice()),
                systemic: *systemic,
            },
            // No rule matches it: its own finding says what cannot be verified.
            CourseDrug::Unreadable => OtherDrug {
                drug: None,
                classes: &[],
                systemic: true,
            },
        }
    }
}

/// How many other rows a finding describes before it says "N more rows".
const ROWS_NAMED: usize = 5;

/// A finding across one patient's rows, as worked out: what it takes to write it.
#[derive(Debug, Clone)]
pub struct CrossFinding<'f> {
    what: Cross<'f>,
    /// The course it is for.
    course: u32,
    /// The first of the other courses it involves, in row order (while it is worked out, its
    /// own course may be among them).
    others: FirstCourses,
    /// How many other courses it involves.
    involved: u32,
}

#[derive(Debug, Clone, Copy)]
enum Cross<'f> {
    /// The same drug from several systemic rows: `total` mg a day from `day` on.
    DailyTotal {
        drug: &'f Drug,
        limit: &'f CombinedMax,
        day: NaiveDate,
        total: Decimal,
    },
    /// The same drug from other systemic rows whose daily dose is not known in mg: the daily
    /// total cannot be verified.
    DailyTotalUnknown {
        drug: &'f Drug,
        limit: &'f CombinedMax,
    },
    Duplicate {
        rule: &'f DuplicateRule,
        both_systemic: bool,
    },
    /// `class` is the class of the first other row that matched; `systemic`: whether the
    /// course and one of those rows are both of systemic forms (else only advice).
    Interaction {
        rule: &'f ClassRule,
        class: usize,
        systemic: bool,
    },
    /// A rule of another drug's, `drug` (a formulary drug), whose `class` the course's drug
    /// is of (one of `drug.any_form_interactions`); `systemic`: whether the course and one of
    /// the other drug's rows are both of systemic forms (else only advice).
    InteractionFrom {
        drug: &'f Drug,
        rule: &'f ClassRule,
        class: usize,
        systemic: bool,
    },
    /// Other rows of the patient's that cannot be read: the findings across rows cannot be
    /// verified with them.
    Unreadable,
}

impl<'f> CrossFinding<'f> {
    fn new(course: u32, what: Cross<'f>, involved: u32) -> CrossFinding<'f> {
        CrossFinding {
            what,
            course,
            others: FirstCourses::default(),
            involved,
        }
    }

    /// The course it is for (an index into its patient's courses).
    pub fn course(&self) -> usize {
        self.course as usize
    }

    /// The finding, written out; `courses` are those of the patient it was worked out for.
    /// With `terse`, its message is left empty (see [`crate::finding::Assessment::terse`]).
    pub fn finding(
        &self,
        formulary: &'f Formulary,
        courses: &[Course<'_>],
        terse: bool,
    ) -> Finding<'f> {
        let others: Vec<&Course<'_>> = self
            .others
            .as_slice()
            .iter()
            .filter_map(|&i| courses.get(i as usize))
            .collect();
        let involved = self.involved as usize;
        // The message, from the text that names the other rows.
        let message = |write: &dyn Fn(&str) -> String| match terse {
            true => String::new(),
            false => write(&describe_all(formulary, &others, involved)),
        };
        let rows = courses
            .get(self.course())
            .map(|own| Box::new(rows(&others, own, involved)));
        let citation = |source: usize| -> Cow<'f, str> { formulary.citation(source).into() };
        let (severity, category, rule, message, source) = match self.what {
            Cross::DailyTotal {
                drug,
                limit,
                day,
                total,
            } => (
                Severity::Reject,
                Category::DoseDaily,
                limit.rule.as_str(),
                message(&|text| {
                    format!(
                        "together with {text} the patient gets {} mg of {} a day (from {day}), above the maximum of {} mg a day from all forms together",
                        total.normalize(),
                        drug.id,
                        limit.max_mg.normalize()
                    )
                }),
                citation(limit.source),
            ),
            Cross::DailyTotalUnknown { drug, limit } => (
                Severity::Warn,
                Category::DoseDaily,
                limit.rule.as_str(),
                message(&|text| {
                    format!(
                        "prescribed at the same time as {text}, whose daily dose is not known in mg: the total of {} from all forms together cannot be verified against the maximum of {} mg a day",
                        drug.id,
                        limit.max_mg.normalize()
                    )
                }),
                citation(limit.source),
            ),
            Cross::Duplicate {
                rule,
                both_systemic,
            } => {
                let note = if both_systemic {
                    ""
                } else {
                    " (a topical form: low systemic absorption)"
                };
                let class = formulary
                    .classes
                    .get(rule.class)
                    .map_or("", |c| c.id.as_str());
                (
                    duplicate_severity(rule, both_systemic),
                    Category::DuplicateTherapy,
                    rule.rule.rule.as_str(),
                    message(&|text| {
                        [
                            "prescribed at the same time as ",
                            text,
                            ": two `",
                            class,
                            "` drugs at once, duplicate therapy",
                            note,
                        ]
                        .concat()
                    }),
                    citation(rule.rule.source),
                )
            }
            Cross::InteractionFrom {
                rule,
                class,
                systemic,
                ..
            } => {
                let label = formulary
                    .classes
                    .get(class)
                    .map_or("", |c| c.label.as_str());
                let own = match courses.get(self.course()).map(|c| &c.drug) {
                    Some(CourseDrug::Covered { drug, .. }) => {
                        formulary.drugs.get(usize::from(*drug))
                    }
                    _ => None,
                };
                let own = own.map_or("", |d| d.id.as_str());
                (
                    interaction_severity(rule, systemic),
                    Category::Interaction,
                    rule.rule.rule.as_str(),
                    message(&|text| {
                        [
                            "prescribed at the same time as ",
                            text,
                            ", whose rules name the ",
                            label,
                            ": ",
                            own,
                            " is one of them",
                            topical_note(systemic),
                        ]
                        .concat()
                    }),
                    citation(rule.rule.source),
                )
            }
            Cross::Interaction {
                rule,
                class,
                systemic,
            } => {
                let label = formulary
                    .classes
                    .get(class)
                    .map_or("", |c| c.label.as_str());
                (
                    interaction_severity(rule, systemic),
                    Category::Interaction,
                    rule.rule.rule.as_str(),
                    message(&|text| {
                        [
                            "prescribed at the same time as ",
                            text,
                            ": one of the ",
                            label,
                            topical_note(systemic),
                        ]
                        .concat()
                    }),
                    citation(rule.rule.source),
                )
            }
            Cross::Unreadable => (
                Severity::Warn,
                Category::Input,
                Input::Row.rule(),
                message(&|text| {
                    format!(
                        "prescribed for the same patient as {text}: what that row prescribes, and when, is not known, so duplicate therapy, interactions and the total daily dose across the patient's rows cannot be verified; correct the row and check the file again"
                    )
                }),
                Input::Row.source().into(),
            ),
        };
        Finding {
            rows,
            ..Finding::new(severity, category, rule, message, source)
        }
    }
}

impl<'f> CrossFinding<'f> {
    /// Writes what it takes to write this finding out later, without the rest of its
    /// patient's courses (`courses`): what it found, its rule by its place in its course's rule
    /// profile, and the courses it names. `None` when its rule is not in that profile or a
    /// course is not among `courses` (what was written is then to be dropped).
    pub(crate) fn put(
        &self,
        formulary: &Formulary,
        courses: &[Course<'_>],
        out: &mut Vec<u8>,
    ) -> Option<()> {
        let own = courses.get(self.course())?;
        let profile = own.profile(formulary);
        match self.what {
            Cross::DailyTotal { day, total, .. } => {
                out.put_u8(0);
                out.put_u32(day.num_days_from_ce() as u32);
                out.put_decimal(total);
            }
            Cross::DailyTotalUnknown { .. } => out.put_u8(3),
            Cross::Unreadable => out.put_u8(5),
            Cross::Duplicate {
                rule,
                both_systemic,
            } => {
                let place = profile?
                    .duplicate_therapy
                    .iter()
                    .position(|r| std::ptr::eq(r, rule))?;
                let place = u32::try_from(place).ok()?;
                out.put_u8(1);
                out.put_u32(place);
                out.put_u8(u8::from(both_systemic));
            }
            Cross::Interaction {
                rule,
                class,
                systemic,
            } => {
                let place = profile?
                    .interactions
                    .iter()
                    .position(|r| std::ptr::eq(r, rule))?;
                let (place, class) = (u32::try_from(place).ok()?, u32::try_from(class).ok()?);
                out.put_u8(2);
                out.put_u32(place);
                out.put_u32(class);
                out.put_u8(u8::from(systemic));
            }
            Cross::InteractionFrom {
                drug,
                rule,
                class,
                systemic,
            } => {
                let place =
                    (drug.any_form_interactions.iter()).position(|r| std::ptr::eq(r, rule))?;
                let drug = formulary.drugs.iter().position(|d| std::ptr::eq(d, drug))?;
                out.put_u8(4);
                for n in [drug, place, class] {
                    out.put_u32(u32::try_from(n).ok()?);
                }
                out.put_u8(u8::from(systemic));
            }
        }
        out.put_u32(self.involved);
        let others = self.others.as_slice();
        out.put_u8(u8::try_from(others.len()).ok()?);
        for &other in others {
            courses.get(other as usize)?.put_named(out);
        }
        own.put_named(out);
        Some(())
    }

    /// Reads a finding [`CrossFinding::put`] wrote, and writes it out (`terse`: without its
    /// message).
    pub(crate) fn take(
        formulary: &'f Formulary,
        take: &mut Take<'_>,
        terse: bool,
    ) -> Option<Finding<'f>> {
        let kind = take.u8()?;
        let mut from = None;
        let (day, total, place, flag) = match kind {
            0 => {
                let day = NaiveDate::from_num_days_from_ce_opt(take.u32()? as i32)?;
                (Some(day), take.decimal()?, 0, 0)
            }
            1 => (None, Decimal::ZERO, take.u32()?, u32::from(take.u8()?)),
            3 | 5 => (None, Decimal::ZERO, 0, 0),
            4 => {
                let drug = formulary.drugs.get(take.u32()? as usize)?;
                let place = take.u32()? as usize;
                from = Some(Cross::InteractionFrom {
                    drug,
                    rule: drug.any_form_interactions.get(place)?,
                    class: take.u32()? as usize,
                    systemic: take.u8()? != 0,
                });
                (None, Decimal::ZERO, 0, 0)
            }
            _ => (None, Decimal::ZERO, take.u32()?, take.u32()?),
        };
        let systemic = kind == 2 && take.u8()? != 0;
        let involved = take.u32()?;
        let named = take.u8()?;
        let mut courses = Vec::with_capacity(usize::from(named) + 1);
        for _ in 0..=named {
            courses.push(Course::take_named(take)?);
        }
        let own = courses.last()?;
        let CourseDrug::Covered { drug, .. } = own.drug else {
            return None;
        };
        let drug = formulary.drugs.get(usize::from(drug))?;
        let profile = own.profile(formulary);
        let what = match kind {
            0 => Cross::DailyTotal {
                drug,
                limit: drug.combined_daily_max.as_ref()?,
                day: day?,
                total,
            },
            3 => Cross::DailyTotalUnknown {
                drug,
                limit: drug.combined_daily_max.as_ref()?,
            },
            4 => from?,
            5 => Cross::Unreadable,
            1 => Cross::Duplicate {
                rule: profile?.duplicate_therapy.get(place as usize)?,
                both_systemic: flag != 0,
            },
            _ => Cross::Interaction {
                rule: profile?.interactions.get(place as usize)?,
                class: flag as usize,
                systemic,
            },
        };
        let finding = CrossFinding {
            what,
            course: u32::from(named),
            others: FirstCourses::first(u32::from(named)),
            involved,
        };
        Some(finding.finding(formulary, &courses, terse))
    }
}

impl Course<'_> {
    /// The rule profile of a course of a formulary drug form.
    fn profile<'f>(&self, formulary: &'f Formulary) -> Option<&'f Profile> {
        let CourseDrug::Covered {
            drug, form, brand, ..
        } = self.drug
        else {
            return None;
        };
        formulary
            .drugs
            .get(usize::from(drug))?
            .profile(usize::from(form), brand.map(usize::from))
    }

    /// Writes what a finding says of a course: its row, id and drug.
    fn put_named(&self, out: &mut Vec<u8>) {
        out.put_u32(self.row);
        out.put_str(&self.rx_id);
        match &self.drug {
            CourseDrug::Covered {
                drug, form, brand, ..
            } => {
                out.put_u8(0);
                out.put_u32(u32::from(*drug));
                out.put_u32(u32::from(*form));
                out.put_u32(brand.map_or(u32::MAX, u32::from));
            }
            CourseDrug::Other { name, .. } => {
                out.put_u8(1);
                out.put_str(name);
            }
            CourseDrug::Unreadable => out.put_u8(2),
        }
    }

    /// Reads what [`Course::put_named`] wrote (a course with only what a finding says of it).
    fn take_named<'f>(take: &mut Take<'_>) -> Option<Course<'f>> {
        let row = take.u32()?;
        let rx_id = take.str()?.into();
        let drug = match take.u8()? {
            0 => CourseDrug::Covered {
                drug: u16::try_from(take.u32()?).ok()?,
                form: u16::try_from(take.u32()?).ok()?,
                brand: match take.u32()? {
                    u32::MAX => None,
                    brand => Some(u16::try_from(brand).ok()?),
                },
                daily_mg: None,
                systemic: false,
            },
            1 => CourseDrug::Other {
                name: take.str()?.into(),
                known: None,
                systemic: true,
            },
            _ => CourseDrug::Unreadable,
        };
        Some(Course {
            row,
            rx_id,
            start: NaiveDate::MIN,
            end: None,
            drug,
        })
    }
}

/// The rows involved, in input order: at most a few ids, then how many more. `others` are the
/// first of the `involved` other courses, in row order.
fn rows(others: &[&Course<'_>], own: &Course<'_>, involved: usize) -> Rows {
    let mut named: Vec<&Course<'_>> = others.to_vec();
    named.push(own);
    named.sort_by_key(|c| c.row);
    Rows {
        ids: named
            .iter()
            .take(ROWS_NAMED + 1)
            .map(|c| c.rx_id.clone())
            .collect(),
        more: (involved + 1).saturating_sub(ROWS_NAMED + 1),
    }
}

/// The other rows of a finding described, at most a few, joined by "and": `first` are the
/// first of the `involved` ones, in row order.
fn describe_all(formulary: &Formulary, first: &[&Course<'_>], involved: usize) -> String {
    let mut text = String::new();
    for course in first.iter().take(ROWS_NAMED) {
        if !text.is_empty() {
            text.push_str(" and ");
        }
        describe(&mut text, formulary, course);
    }
    if involved > ROWS_NAMED {
        if !text.is_empty() {
            text.push_str(" and ");
        }
        let _ = write!(text, "{} more rows", involved - ROWS_NAMED);
    }
    text
}

/// Writes "`RX` (drug form)", or "`RX` (name)" for a drug outside the formulary, or says the
/// row cannot be read.
fn describe(text: &mut String, formulary: &Formulary, course: &Course<'_>) {
    for part in ["`", &course.rx_id, "` ("] {
        text.push_str(part);
    }
    match &course.drug {
        CourseDrug::Covered { drug, form, .. } => {
            let drug = formulary.drugs.get(usize::from(*drug));
            let form = drug.and_then(|d| d.forms.get(usize::from(*form)));
            text.push_str(drug.map_or("", |d| d.id.as_str()));
            text.push(' ');
            text.push_str(form.map_or("", |f| f.id.as_str()));
        }
        CourseDrug::Other { name, .. } => text.push_str(name),
        CourseDrug::Unreadable => text.push_str("a row that cannot be read"),
    }
    text.push(')');
}

/// Whether any two of `courses` run on a same day (most patients' courses do not, and then
/// there is nothing to work out); `spans` is working space.
fn any_overlap(courses: &[Course<'_>], spans: &mut Vec<(NaiveDate, NaiveDate)>) -> bool {
    spans.clear();
    spans.extend(courses.iter().map(|c| (c.start, c.last_day())));
    spans_overlap(spans)
}

/// Whether any two of `spans` (first and last days, a course's, as dates or day numbers)
/// share a day; sorts them.
pub fn spans_overlap<Day: Ord + Copy>(spans: &mut [(Day, Day)]) -> bool {
    spans.sort_unstable();
    let mut last = None;
    spans.iter().any(|&(start, end)| {
        let overlaps = last.is_some_and(|last| start <= last);
        last = last.max(Some(end));
        overlaps
    })
}

/// Works out the findings across each patient's concurrent courses, in time O(n log n) in the
/// patient's courses: every other course is seen through the sets it belongs to (those of its
/// drug as the rules see it, and those of each drug's daily total), which are counted by
/// binary search and searched for their first rows all at once. Keeps its working space from
/// one patient to the next.
#[derive(Debug, Default)]
pub struct CrossCheck<'f> {
    sets: CourseSets,
    totals: DailyTotals,
    /// The patient's distinct drugs as the co-therapy rules see them; set `i` holds the
    /// courses of drug `i`.
    drugs: Vec<OtherDrug<'f>>,
    /// (set or drug number, course index) pairs, grouped by sorting.
    members: Vec<(u32, u32)>,
    queries: Vec<Query>,
    /// For each query, the finding it is for and the class its rule matched.
    asked_for: Vec<(u32, usize)>,
    /// The findings being worked out: each one's first courses gather as its queries are
    /// answered (a daily total's own course among them).
    pending: Vec<CrossFinding<'f>>,
    spans: Vec<(NaiveDate, NaiveDate)>,
    /// The sets of formulary drugs, as (drug, set), by drug.
    by_drug: Vec<(usize, u32)>,
}

impl<'f> CrossCheck<'f> {
    /// Hands `found` the findings across `courses` (one patient's, in row order), by course
    /// and in the order the checks report them.
    pub fn check(
        &mut self,
        formulary: &'f Formulary,
        courses: &[Course<'f>],
        found: impl FnMut(CrossFinding<'f>),
    ) {
        if !any_overlap(courses, &mut self.spans) {
            return;
        }
        self.sets.clear();
        self.queries.clear();
        self.asked_for.clear();
        self.pending.clear();
        self.group_by_drug(formulary, courses);
        self.daily_totals(formulary, courses);
        for (index, course) in (0..).zip(courses) {
            self.co_therapy(formulary, course, index);
        }
        self.unreadable(formulary, courses);
        let (pending, asked_for) = (&mut self.pending, &self.asked_for);
        self.sets.answer(&self.queries, |query, first| {
            let Some((finding, class)) = asked_for
                .get(query)
                .and_then(|&(f, class)| Some((pending.get_mut(f as usize)?, class)))
            else {
                return;
            };
            // An interaction names the class of the first course that matched.
            let lowest = |f: &FirstCourses| f.as_slice().first().copied().unwrap_or(u32::MAX);
            if let Cross::Interaction { class: named, .. } = &mut finding.what {
                if lowest(first) < lowest(&finding.others) {
                    *named = class;
                }
            }
            finding.others.merge(first);
        });
        // Stable: each course's daily total first, then its rules in order.
        self.pending.sort_by_key(|f| f.course);
        self.pending
            .drain(..)
            .map(|f| CrossFinding {
                others: f.others.without(f.course),
                ..f
            })
            .for_each(found);
        // A patient with very many findings does not keep their room for the next ones.
        self.pending.shrink_to(1024);
    }

    /// One set per distinct drug as the rules see it.
    fn group_by_drug(&mut self, formulary: &'f Formulary, courses: &[Course<'f>]) {
        self.drugs.clear();
        self.members.clear();
        for (index, course) in (0..).zip(courses) {
            let drug = course.as_other(formulary);
            let number = match self.drugs.iter().position(|d| {
                d.drug == drug.drug && d.systemic == drug.systemic && d.classes == drug.classes
            }) {
                Some(number) => number,
                None => {
                    self.drugs.push(drug);
                    self.drugs.len() - 1
                }
            };
            self.members
                .push((u32::try_from(number).unwrap_or(u32::MAX), index));
        }
        self.by_drug.clear();
        self.by_drug.extend(
            (0..)
                .zip(&self.drugs)
                .filter_map(|(set, d)| Some((d.drug?, set))),
        );
        self.by_drug.sort_unstable();
        self.members.sort_unstable();
        for group in self.members.chunk_by(|a, b| a.0 == b.0) {
            self.sets.add(
                group.iter().filter_map(|&(_, i)| {
                    courses.get(i as usize).map(|c| (c.start, c.last_day(), i))
                }),
            );
        }
    }

    /// The same drug from several systemic rows at once: for each course whose daily dose is
    /// known, the peak daily total while it runs; or, when that is within the maximum and a
    /// course of the drug whose daily dose is not known in mg runs at the same time, that the
    /// total cannot be verified.
    fn daily_totals(&mut self, formulary: &'f Formulary, courses: &[Course<'f>]) {
        self.members.clear();
        for (index, course) in (0..).zip(courses) {
            let drug = course.as_other(formulary);
            if let Some(drug) = drug.drug.filter(|_| drug.systemic) {
                self.members
                    .push((u32::try_from(drug).unwrap_or(u32::MAX), index));
            }
        }
        self.members.sort_unstable();
        for group in self.members.chunk_by(|a, b| a.0 == b.0) {
            let Some((drug, limit)) = group
                .first()
                .and_then(|&(drug, _)| formulary.drugs.get(drug as usize))
                .and_then(|d| Some((d, d.combined_daily_max.as_ref()?)))
                .filter(|_| group.len() > 1)
            else {
                continue;
            };
            let same = |known: bool| {
                group
                    .iter()
                    .filter_map(|&(_, i)| Some((i, courses.get(i as usize)?)))
                    .filter(move |(_, c)| c.daily_mg().is_some() == known)
            };
            let span = |(i, c): (u32, &Course<'_>)| (c.start, c.last_day(), i);
            let set = self.sets.add(same(true).map(span));
            let unknown = self.sets.add(same(false).map(span));
            self.totals
                .build(same(true).filter_map(|(_, c)| Some((c.start, c.end, c.daily_mg()?))));
            for (index, course) in same(true) {
                let Some(own) = course.daily_mg() else {
                    continue;
                };
                if course.profile(formulary).is_none() {
                    continue;
                }
                let peak = self.totals.peak(course.start, course.end);
                let (query, what, involved) = match peak {
                    Some((day, total)) if total > own && total > limit.max_mg => (
                        Query {
                            set,
                            from: day,
                            to: day,
                        },
                        Cross::DailyTotal {
                            drug,
                            limit,
                            day,
                            total,
                        },
                        self.sets.count(set, day, day).saturating_sub(1),
                    ),
                    _ if own > limit.max_mg => continue,
                    _ => {
                        let (from, to) = (course.start, course.last_day());
                        let query = Query {
                            set: unknown,
                            from,
                            to,
                        };
                        let what = Cross::DailyTotalUnknown { drug, limit };
                        (query, what, self.sets.count(unknown, from, to))
                    }
                };
                if involved == 0 {
                    continue;
                }
                self.asked_for.push((self.pending.len() as u32, 0));
                self.queries.push(query);
                self.pending.push(CrossFinding::new(index, what, involved));
            }
        }
    }

    /// For each course of a formulary drug, the patient's rows that cannot be read (of any
    /// day, so every one overlaps it): the checks across rows cannot be verified with them.
    fn unreadable(&mut self, formulary: &'f Formulary, courses: &[Course<'f>]) {
        let unreadable = |c: &Course<'_>| matches!(c.drug, CourseDrug::Unreadable);
        if !courses.iter().any(unreadable) {
            return;
        }
        let set = self.sets.add(
            (0..)
                .zip(courses)
                .filter(|(_, c)| unreadable(c))
                .map(|(i, c)| (c.start, c.last_day(), i)),
        );
        for (index, course) in (0..).zip(courses) {
            if course.profile(formulary).is_none() {
                continue;
            }
            let (from, to) = (course.start, course.last_day());
            let involved = self.sets.count(set, from, to);
            if involved == 0 {
                continue;
            }
            self.asked_for.push((self.pending.len() as u32, 0));
            self.queries.push(Query { set, from, to });
            self.pending
                .push(CrossFinding::new(index, Cross::Unreadable, involved));
        }
    }

    /// Duplicate therapy and interactions between course `index` and the patient's other
    /// courses that overlap it, by its own rules and by theirs.
    fn co_therapy(&mut self, formulary: &'f Formulary, course: &Course<'f>, index: u32) {
        let CourseDrug::Covered {
            drug: own,
            systemic,
            ..
        } = course.drug
        else {
            return;
        };
        let own = usize::from(own);
        let Some(profile) = course.profile(formulary) else {
            return;
        };
        for rule in &profile.duplicate_therapy {
            let matches = |other: &OtherDrug<'_>| {
                duplicate_rules(profile, other)
                    .any(|r| std::ptr::eq(r, rule))
                    .then_some(rule.class)
            };
            if let Some((involved, any_systemic)) = self.ask(course, own, matches) {
                let what = Cross::Duplicate {
                    rule,
                    both_systemic: systemic && any_systemic,
                };
                self.pending.push(CrossFinding::new(index, what, involved));
            }
        }
        for rule in &profile.interactions {
            let matches = |other: &OtherDrug<'_>| {
                interaction_rules(profile, own, other)
                    .find(|(r, _)| std::ptr::eq(*r, rule))
                    .map(|(_, class)| class)
            };
            if let Some((involved, any_systemic)) = self.ask(course, own, matches) {
                let what = Cross::Interaction {
                    rule,
                    class: 0,
                    systemic: systemic && any_systemic,
                };
                self.pending.push(CrossFinding::new(index, what, involved));
            }
        }
        if let Some(classes) = formulary.drugs.get(own).map(|d| d.classes.as_slice()) {
            self.interactions_from(
                formulary,
                (course, index),
                (own, classes, systemic),
                profile,
            );
        }
    }

    /// Interactions of course `index` with the patient's overlapping courses of other
    /// formulary drugs, from those drugs' rules ([`interactions_from`]): one finding per rule
    /// id, in the order of the drugs and their rules.
    /// `own` is the course's drug, its classes and whether its form is systemic.
    fn interactions_from(
        &mut self,
        formulary: &'f Formulary,
        (course, index): (&Course<'f>, u32),
        (own, classes, systemic): (usize, &[usize], bool),
        profile: &Profile,
    ) {
        let first = self.pending.len();
        let (from, to) = (course.start, course.last_day());
        for &(drug, set) in &self.by_drug {
            let Some(other) = formulary.drugs.get(drug).filter(|_| drug != own) else {
                continue;
            };
            let mut count = None;
            for (rule, class) in interactions_from(profile, classes, other) {
                let count = *count.get_or_insert_with(|| self.sets.count(set, from, to));
                if count == 0 {
                    break;
                }
                let same_id = |f: &CrossFinding<'_>| matches!(f.what, Cross::InteractionFrom { rule: r, .. } if r.rule.rule == rule.rule.rule);
                // Graded as a topical pair unless both drugs are of systemic forms.
                let both = systemic && self.drugs.get(set as usize).is_some_and(|d| d.systemic);
                let finding = match self.pending.iter().skip(first).position(same_id) {
                    Some(place) => {
                        let finding = first + place;
                        if let Some(f) = self.pending.get_mut(finding) {
                            f.involved += count;
                            if let Cross::InteractionFrom { systemic, .. } = &mut f.what {
                                *systemic |= both;
                            }
                        }
                        finding
                    }
                    None => {
                        let what = Cross::InteractionFrom {
                            drug: other,
                            rule,
                            class,
                            systemic: both,
                        };
                        self.pending.push(CrossFinding::new(index, what, count));
                        self.pending.len() - 1
                    }
                };
                self.queries.push(Query { set, from, to });
                self.asked_for.push((finding as u32, class));
            }
        }
    }

    /// Asks for the courses overlapping `course` of every other drug that `matches` (giving
    /// the class it matched on), for the finding to be pushed next: how many courses, and
    /// whether any is systemic. `None` when there are none (and nothing was asked).
    fn ask(
        &mut self,
        course: &Course<'f>,
        own: usize,
        matches: impl Fn(&OtherDrug<'_>) -> Option<usize>,
    ) -> Option<(u32, bool)> {
        let finding = self.pending.len() as u32;
        let (mut involved, mut any_systemic) = (0, false);
        let (from, to) = (course.start, course.last_day());
        for (set, drug) in (0..).zip(&self.drugs) {
            let Some(class) = matches(drug).filter(|_| drug.drug != Some(own)) else {
                continue;
            };
            let count = self.sets.count(set, from, to);
            if count == 0 {
                continue;
            }
            involved += count;
            any_systemic |= drug.systemic;
            self.queries.push(Query { set, from, to });
            self.asked_for.push((finding, class));
        }
        (involved > 0).then_some((involved, any_systemic))
    }
}
