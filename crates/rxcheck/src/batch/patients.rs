//! Cross-prescription checks: one patient's concurrent prescriptions, together. A first pass
//! over the file gathers every course of treatment by patient; the findings it produces are
//! added to the rows involved when the file is validated. This handles files in any order,
//! with memory proportional to the number of rows that name a patient.

use super::{
    BatchError, BatchOptions, Columns, RowFields, RowKind, RowSplitter, Worker, read_header,
};
use crate::finding::{Assessment, Category, Finding, Severity};
use crate::formulary::{Formulary, normalize_name};
use crate::request::{MAX_DURATION_DAYS, Prescription, parse_date, parse_whole};
use crate::validate::{CourseFacts, course_facts};
use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use std::borrow::Cow;
use std::io::Read;

/// One prescription row as a course of treatment of its patient.
struct Course {
    row: u32,
    rx_id: Box<str>,
    start: NaiveDate,
    /// The last day of the course; `None` when no duration is given (open-ended).
    end: Option<NaiveDate>,
    drug: CourseDrug,
}

enum CourseDrug {
    /// A drug of the formulary, with what the row prescribes of it.
    Covered { facts: Facts, systemic: bool },
    /// Any other drug: it still counts as a co-medication of the patient.
    Other { name: Box<str> },
}

impl Course {
    fn overlaps(&self, other: &Course) -> bool {
        let starts_before_other_ends = other.end.is_none_or(|end| self.start <= end);
        let other_starts_before_end = self.end.is_none_or(|end| other.start <= end);
        starts_before_other_ends && other_starts_before_end
    }

    fn active_on(&self, day: NaiveDate) -> bool {
        self.start <= day && self.end.is_none_or(|end| day <= end)
    }
}

/// [`CourseFacts`] in a compact form: a file may hold millions of courses.
#[derive(Clone, Copy)]
struct Facts {
    drug: u16,
    form: u16,
    brand: Option<u16>,
    daily: Option<Decimal>,
}

impl Facts {
    fn new(facts: CourseFacts) -> Option<Facts> {
        Some(Facts {
            drug: u16::try_from(facts.drug).ok()?,
            form: u16::try_from(facts.form).ok()?,
            brand: match facts.brand {
                Some(b) => Some(u16::try_from(b).ok()?),
                None => None,
            },
            daily: facts.daily,
        })
    }
}

/// A finding about one row that comes from its patient's other rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossFinding {
    pub severity: Severity,
    pub category: Category,
    pub rule: String,
    pub message: String,
    pub source: String,
}

/// One patient's concurrent prescriptions, gathered from a whole file: the findings for a row
/// are worked out when the row is validated, from the courses of its patient.
pub struct CrossFindings<'f> {
    formulary: &'f Formulary,
    /// Every course, in row order.
    courses: Vec<Course>,
    /// Course indices grouped by patient: each patient's run is contiguous.
    by_patient: Vec<u32>,
    /// Each patient's run of `by_patient`: start and length.
    groups: Vec<(u32, u32)>,
    /// The group of each course.
    group_of_course: Vec<u32>,
    /// Patients with at least one row.
    pub patients: usize,
    /// Rows that name a patient.
    pub courses_read: usize,
}

impl<'f> CrossFindings<'f> {
    /// The findings for data row `row` (0-based) from its patient's other rows.
    pub fn for_row(&self, row: u64) -> Vec<CrossFinding> {
        let Ok(row) = u32::try_from(row) else {
            return Vec::new();
        };
        let Ok(index) = self.courses.binary_search_by_key(&row, |c| c.row) else {
            return Vec::new();
        };
        let group = self
            .group_of_course
            .get(index)
            .and_then(|g| self.groups.get(*g as usize));
        let Some(&(start, len)) = group.filter(|(_, len)| *len > 1) else {
            return Vec::new();
        };
        let (start, len) = (start as usize, len as usize);
        let members: Vec<&Course> = self
            .by_patient
            .get(start..start + len)
            .unwrap_or(&[])
            .iter()
            .filter_map(|i| self.courses.get(*i as usize))
            .collect();
        match (
            members.iter().position(|c| c.row == row),
            self.courses.get(index),
        ) {
            (Some(position), Some(course)) => {
                check_course(self.formulary, &members, position, course)
            }
            _ => Vec::new(),
        }
    }

    /// Appends row `row`'s findings to its assessment.
    pub fn add_to(&self, row: u64, assessment: &mut Assessment<'_>) {
        for f in self.for_row(row) {
            assessment.findings.push(Finding {
                severity: f.severity,
                category: f.category,
                rule: Cow::Owned(f.rule),
                message: Cow::Owned(f.message),
                source: Cow::Owned(f.source),
            });
        }
    }
}

/// Reads every row of `input` and works out the findings across each patient's concurrent
/// prescriptions. `None` when the header has no `patient_id` column.
pub fn scan_patients<'f>(
    formulary: &'f Formulary,
    input: impl Read,
    options: &BatchOptions,
) -> Result<Option<CrossFindings<'f>>, BatchError> {
    let mut splitter = RowSplitter::new(input, options.max_field_bytes);
    let (columns, delimiter) = read_header(&mut splitter, options)?;
    let Some(patient_column) = columns.patient_id else {
        return Ok(None);
    };
    let mut worker = Worker::new(delimiter);
    let mut bytes = Vec::new();
    let mut courses: Vec<Course> = Vec::new();
    let mut patient_ids: Vec<Box<str>> = Vec::new();
    let mut row = 0u64;
    while let Some(span) = splitter
        .next_row(delimiter, &mut bytes)
        .map_err(BatchError::Read)?
    {
        let index = row;
        row += 1;
        if span.kind == RowKind::Complete {
            let count = worker.parse(bytes.get(span.bytes.clone()).unwrap_or(&[]));
            let fields = worker.row_fields(count);
            if count == columns.width {
                if let Some((patient, course)) = course(
                    formulary,
                    &columns,
                    patient_column,
                    &fields,
                    index,
                    options.as_of,
                ) {
                    patient_ids.push(patient.into());
                    courses.push(course);
                }
            }
        }
        bytes.clear();
    }
    // Group the courses by patient (stably, so each group stays in row order); the patient
    // ids themselves are not kept.
    let mut by_patient: Vec<u32> = (0..courses.len())
        .filter_map(|i| u32::try_from(i).ok())
        .collect();
    by_patient.sort_by(|a, b| {
        patient_ids
            .get(*a as usize)
            .cmp(&patient_ids.get(*b as usize))
    });
    let mut groups: Vec<(u32, u32)> = Vec::new();
    let mut group_of_course = vec![0u32; courses.len()];
    let mut previous: Option<&str> = None;
    for (position, &course) in by_patient.iter().enumerate() {
        let patient = patient_ids.get(course as usize).map(|p| &**p);
        if previous != patient {
            groups.push((u32::try_from(position).unwrap_or(u32::MAX), 0));
            previous = patient;
        }
        if let Some(group) = groups.last_mut() {
            group.1 += 1;
        }
        if let Some(slot) = group_of_course.get_mut(course as usize) {
            *slot = u32::try_from(groups.len() - 1).unwrap_or(u32::MAX);
        }
    }
    drop(patient_ids);
    Ok(Some(CrossFindings {
        formulary,
        patients: groups.len(),
        courses_read: courses.len(),
        courses,
        by_patient,
        groups,
        group_of_course,
    }))
}

/// The course a row describes, with its patient; `None` for rows without a patient, a drug or
/// a readable date.
fn course<'r>(
    formulary: &Formulary,
    columns: &Columns,
    patient_column: usize,
    fields: &RowFields<'r>,
    row: u64,
    as_of: NaiveDate,
) -> Option<(&'r str, Course)> {
    let row = u32::try_from(row).ok()?;
    let get = |column: Option<usize>| column.and_then(|c| fields.get(c)).unwrap_or("");
    let patient = get(Some(patient_column)).trim();
    let drug = get(Some(columns.drug));
    if patient.is_empty() || drug.trim().is_empty() {
        return None;
    }
    let date = get(columns.date);
    let start = if date.trim().is_empty() {
        as_of
    } else {
        parse_date(date)?
    };
    let end = parse_whole(get(columns.duration_days), 1, MAX_DURATION_DAYS)
        .and_then(|days| start.checked_add_days(Days::new(u64::from(days) - 1)));
    let rx = Prescription {
        drug,
        form: get(Some(columns.form)),
        strength: get(columns.strength),
        dose: get(Some(columns.dose)),
        times_per_day: get(Some(columns.times_per_day)),
        ..Prescription::default()
    };
    let what = match course_facts(formulary, &rx).and_then(|f| Some((f, Facts::new(f)?))) {
        Some((facts, mut compact)) => {
            let form = formulary
                .drugs
                .get(facts.drug)
                .and_then(|d| d.forms.get(facts.form));
            let systemic = form.is_some_and(|f| f.systemic);
            // Only doses in mg add up against a daily maximum in mg.
            if form.and_then(|f| f.dose_dimension) != Some(crate::units::Dimension::Mass) {
                compact.daily = None;
            }
            CourseDrug::Covered {
                facts: compact,
                systemic,
            }
        }
        None => CourseDrug::Other {
            name: normalize_name(drug).into(),
        },
    };
    let course = Course {
        row,
        rx_id: get(Some(columns.rx_id)).trim().into(),
        start,
        end,
        drug: what,
    };
    Some((patient, course))
}

/// `RX-1,RX-2`: the rows involved, in input order.
/// How many other rows a finding names before it says "and N more".
const ROWS_NAMED: usize = 5;

/// `RX-1,RX-2`: the rows involved, in input order (at most a few, then `+N`).
fn row_list(rows: &mut Vec<&Course>) -> String {
    rows.sort_by_key(|c| c.row);
    let mut list: Vec<&str> = rows
        .iter()
        .take(ROWS_NAMED + 1)
        .map(|c| c.rx_id.as_ref())
        .collect();
    let more = rows.len().saturating_sub(ROWS_NAMED + 1);
    let more_text = format!("+{more}");
    if more > 0 {
        list.push(&more_text);
    }
    list.join(",")
}

/// The other rows of a finding, described, at most a few.
fn describe_all(formulary: &Formulary, rows: &[&Course]) -> String {
    let mut text: Vec<String> = rows
        .iter()
        .take(ROWS_NAMED)
        .map(|c| describe(formulary, c))
        .collect();
    if rows.len() > ROWS_NAMED {
        text.push(format!("{} more rows", rows.len() - ROWS_NAMED));
    }
    text.join(" and ")
}

fn describe(formulary: &Formulary, course: &Course) -> String {
    match &course.drug {
        CourseDrug::Covered { facts, .. } => {
            let drug = formulary.drugs.get(usize::from(facts.drug));
            let form = drug.and_then(|d| d.forms.get(usize::from(facts.form)));
            format!(
                "`{}` ({} {})",
                course.rx_id,
                drug.map_or("", |d| d.id.as_str()),
                form.map_or("", |f| f.id.as_str())
            )
        }
        CourseDrug::Other { name } => format!("`{}` ({name})", course.rx_id),
    }
}

/// The classes of the drug a course prescribes.
fn classes<'f>(formulary: &'f Formulary, course: &Course) -> &'f [usize] {
    match &course.drug {
        CourseDrug::Covered { facts, .. } => formulary
            .drugs
            .get(usize::from(facts.drug))
            .map_or(&[], |d| d.classes.as_slice()),
        CourseDrug::Other { name } => formulary
            .substance(name)
            .map_or(&[], |s| s.classes.as_slice()),
    }
}

/// Whether two courses prescribe the same drug.
fn same_drug(formulary: &Formulary, a: &Course, b: &Course) -> bool {
    let drug_of = |c: &Course| match &c.drug {
        CourseDrug::Covered { facts, .. } => Some(usize::from(facts.drug)),
        CourseDrug::Other { name } => formulary.substance(name).and_then(|s| s.drug),
    };
    drug_of(a).is_some_and(|d| drug_of(b) == Some(d))
}

/// A finding of `rule` on `course` because of the other rows `hits`, which it names.
fn naming_rows<'c>(
    formulary: &Formulary,
    course: &'c Course,
    mut hits: Vec<&'c Course>,
    category: Category,
    severity: Severity,
    rule: &crate::formulary::Rule,
    what: &str,
) -> CrossFinding {
    let text = describe_all(formulary, &hits);
    hits.push(course);
    let ids = row_list(&mut hits);
    CrossFinding {
        severity,
        category,
        rule: format!("{}({ids})", rule.rule),
        message: format!("prescribed at the same time as {text}: {what}"),
        source: formulary.citation(rule.source).to_string(),
    }
}

/// The findings for course `index` from the other courses of its patient.
fn check_course(
    formulary: &Formulary,
    courses: &[&Course],
    index: usize,
    course: &Course,
) -> Vec<CrossFinding> {
    let CourseDrug::Covered { facts, systemic } = &course.drug else {
        return Vec::new();
    };
    let Some(drug) = formulary.drugs.get(usize::from(facts.drug)) else {
        return Vec::new();
    };
    let Some(profile) = drug.profile(usize::from(facts.form), facts.brand.map(usize::from)) else {
        return Vec::new();
    };
    let others: Vec<&Course> = courses
        .iter()
        .enumerate()
        .filter(|(i, c)| *i != index && c.overlaps(course))
        .map(|(_, c)| *c)
        .collect();
    let mut found = Vec::new();
    if others.is_empty() {
        return found;
    }

    // The same drug from several systemic rows at once: the peak daily total.
    if let (true, Some(limit), Some(own)) = (*systemic, &drug.combined_daily_max, facts.daily) {
        let same: Vec<(&Course, Decimal)> = others
            .iter()
            .filter_map(|c| match &c.drug {
                CourseDrug::Covered {
                    facts: f,
                    systemic: true,
                } if f.drug == facts.drug => f.daily.map(|d| (*c, d)),
                _ => None,
            })
            .collect();
        // Sweep the days the other courses start and stop within this one: the total is
        // highest on one of those days.
        let mut events: Vec<(NaiveDate, Decimal, bool)> = Vec::with_capacity(same.len() * 2);
        for (c, daily) in &same {
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
        let peak = peak.map(|(day, total)| {
            let mut rows: Vec<&Course> = same
                .iter()
                .filter(|(c, _)| c.active_on(day))
                .map(|(c, _)| *c)
                .collect();
            rows.push(course);
            (day, total, rows)
        });
        if let Some((day, total, mut rows)) = peak.filter(|(_, total, _)| *total > limit.max_mg) {
            let others: Vec<&Course> = rows
                .iter()
                .copied()
                .filter(|c| c.row != course.row)
                .collect();
            let others_text = describe_all(formulary, &others);
            let ids = row_list(&mut rows);
            found.push(CrossFinding {
                severity: Severity::Reject,
                category: Category::DoseDaily,
                rule: format!("{}({ids})", limit.rule),
                message: format!(
                    "together with {} the patient gets {} mg of {} a day (from {day}), above the maximum of {} mg a day from all forms together",
                    others_text,
                    total.normalize(),
                    drug.id,
                    limit.max_mg.normalize()
                ),
                source: formulary.citation(limit.source).to_string(),
            });
        }
    }

    // Other drugs of a class the form flags as duplicate therapy, or an interacting class.
    let other_drugs_of = |wanted: &[usize]| -> Vec<&Course> {
        others
            .iter()
            .copied()
            .filter(|c| {
                !same_drug(formulary, c, course)
                    && classes(formulary, c).iter().any(|k| wanted.contains(k))
            })
            .collect()
    };
    for rule in &profile.duplicate_therapy {
        let hits = other_drugs_of(&[rule.class]);
        if hits.is_empty() {
            continue;
        }
        let all_systemic = *systemic
            && hits.iter().all(|c| match &c.drug {
                CourseDrug::Covered { systemic, .. } => *systemic,
                CourseDrug::Other { .. } => true,
            });
        let (severity, note) = if all_systemic {
            (rule.rule.severity, "")
        } else {
            (
                rule.topical_severity,
                " (a topical form: low systemic absorption)",
            )
        };
        let class = formulary
            .classes
            .get(rule.class)
            .map_or("", |c| c.id.as_str());
        let what = format!("two `{class}` drugs at once, duplicate therapy{note}");
        found.push(naming_rows(
            formulary,
            course,
            hits,
            Category::DuplicateTherapy,
            severity,
            &rule.rule,
            &what,
        ));
    }
    for rule in &profile.interactions {
        let hits = other_drugs_of(&rule.classes);
        if hits.is_empty() {
            continue;
        }
        let class = rule
            .classes
            .first()
            .and_then(|c| formulary.classes.get(*c))
            .map_or("", |c| c.label.as_str());
        let what = format!("one of the {class}");
        found.push(naming_rows(
            formulary,
            course,
            hits,
            Category::Interaction,
            rule.rule.severity,
            &rule.rule,
            &what,
        ));
    }
    found
}
