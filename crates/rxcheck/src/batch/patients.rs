//! Cross-prescription checks over a file: a first pass gathers every course of treatment by
//! patient; the findings their concurrent courses produce (worked out by
//! [`crate::validate::courses`]) are added to the rows involved when the file is validated.
//! This handles files in any order, with memory proportional to the number of rows that name
//! a patient.

use super::{
    BatchError, BatchOptions, Columns, RowFields, RowKind, RowSplitter, Worker, prescription,
    read_header,
};
use crate::finding::{Assessment, Finding};
use crate::formulary::Formulary;
use crate::request::{Field, parse};
use crate::validate::courses::{Course, check_course};
use std::io::Read;

/// One patient's concurrent prescriptions, gathered from a whole file: the findings for a row
/// are worked out when the row is validated, from the courses of its patient.
pub struct CrossFindings<'f> {
    formulary: &'f Formulary,
    /// Every course, in row order.
    courses: Vec<Course<'f>>,
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
    pub fn for_row(&self, row: u64) -> Vec<Finding<'f>> {
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
        let members: Vec<&Course<'f>> = self
            .by_patient
            .get(start..start + len)
            .unwrap_or(&[])
            .iter()
            .filter_map(|i| self.courses.get(*i as usize))
            .collect();
        match self.courses.get(index) {
            Some(course) => check_course(self.formulary, &members, course),
            None => Vec::new(),
        }
    }

    /// Appends row `row`'s findings to its assessment.
    pub fn add_to(&self, row: u64, assessment: &mut Assessment<'f>) {
        assessment.findings.extend(self.for_row(row));
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
    let mut courses: Vec<Course<'f>> = Vec::new();
    // Parsing records its findings here; the first pass keeps none of them.
    let mut scratch = Assessment::default();
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
                let row = (&fields, index);
                if let Some((patient, course)) = course(
                    formulary,
                    &columns,
                    patient_column,
                    row,
                    options,
                    &mut scratch,
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
/// a readable date. The row is parsed as the validator parses it.
fn course<'f, 'r>(
    formulary: &'f Formulary,
    columns: &Columns,
    patient_column: usize,
    (fields, row): (&RowFields<'r>, u64),
    options: &BatchOptions,
    scratch: &mut Assessment<'f>,
) -> Option<(&'r str, Course<'f>)> {
    let row = u32::try_from(row).ok()?;
    let patient = fields.get(patient_column)?.trim();
    if patient.is_empty() {
        return None;
    }
    let mut joined = Vec::new();
    let wanted = [
        Field::RxId,
        Field::Drug,
        Field::Form,
        Field::Strength,
        Field::UnitVolume,
        Field::Dose,
        Field::TimesPerDay,
        Field::DurationDays,
        Field::Date,
    ];
    let rx = prescription(columns, fields, &mut joined, &wanted).ok()?;
    scratch.clear();
    let request = parse(formulary, &rx, &options.dates, scratch);
    Some((patient, Course::from_request(&request, row, rx.rx_id)?))
}
