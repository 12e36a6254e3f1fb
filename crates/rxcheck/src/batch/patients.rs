//! Cross-prescription checks over a file: a first pass gathers every course of treatment by
//! patient; the findings their concurrent courses produce (worked out by
//! [`crate::validate::courses`]) are added to the rows involved when the file is validated.
//! This handles files in any order, with memory proportional to the number of rows that name
//! a patient.

use super::{
    BatchError, BatchOptions, Columns, RowFields, RowKind, RowSpan, RowSplitter, Worker,
    prescription, read_header,
};
use crate::fasthash::FastMap;
use crate::finding::{Assessment, Finding};
use crate::formulary::Formulary;
use crate::request::{Field, parse};
use crate::validate::courses::{Course, check_course};
use rayon::prelude::*;
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
        let members = self
            .by_patient
            .get(start..start + len)
            .unwrap_or(&[])
            .iter()
            .filter_map(|i| self.courses.get(*i as usize));
        match self.courses.get(index) {
            Some(course) => check_course(self.formulary, members, course),
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
    // Rows are read in batches; each batch's rows are parsed into courses on every core, and
    // the courses are kept in row order.
    let batch_rows = options.batch_rows.max(1) * 4;
    let mut courses: Vec<Course<'f>> = Vec::new();
    // Patient ids are interned: each course keeps only its patient's number.
    let mut numbers: FastMap<Box<str>, u32> = FastMap::default();
    let mut patient_of_course: Vec<u32> = Vec::new();
    let mut bytes = Vec::new();
    let mut spans: Vec<RowSpan> = Vec::new();
    let mut first_row = 0u64;
    let mut done = false;
    while !done {
        bytes.clear();
        spans.clear();
        while spans.len() < batch_rows {
            match splitter
                .next_row(delimiter, &mut bytes)
                .map_err(BatchError::Read)?
            {
                Some(span) => spans.push(span),
                None => {
                    done = true;
                    break;
                }
            }
        }
        let chunk = spans
            .len()
            .div_ceil(rayon::current_num_threads().max(1) * 4)
            .max(1);
        let parsed: Vec<Vec<(Box<str>, Course<'f>)>> = spans
            .par_chunks(chunk)
            .enumerate()
            .map(|(i, chunk_spans)| {
                let mut worker = Worker::new(delimiter);
                // Parsing records its findings here; the first pass keeps none of them.
                let mut scratch = Assessment::default();
                let first = first_row + (i * chunk) as u64;
                (first..)
                    .zip(chunk_spans)
                    .filter(|(_, span)| span.kind == RowKind::Complete)
                    .filter_map(|(index, span)| {
                        let count = worker.parse(bytes.get(span.bytes.clone()).unwrap_or(&[]));
                        if count != columns.width {
                            return None;
                        }
                        // A row that is not UTF-8 stops the run when it is validated.
                        let fields = worker.row_fields(count)?;
                        let row = (&fields, index);
                        course(
                            formulary,
                            &columns,
                            patient_column,
                            row,
                            options,
                            &mut scratch,
                        )
                        .map(|(patient, course)| (patient.into(), course))
                    })
                    .collect()
            })
            .collect();
        for (patient, course) in parsed.into_iter().flatten() {
            let next = u32::try_from(numbers.len()).unwrap_or(u32::MAX);
            patient_of_course.push(*numbers.entry(patient).or_insert(next));
            courses.push(course);
        }
        first_row += spans.len() as u64;
    }
    // Group the courses by patient with a counting sort (each group stays in row order).
    let mut groups: Vec<(u32, u32)> = vec![(0, 0); numbers.len()];
    drop(numbers);
    for &patient in &patient_of_course {
        if let Some(group) = groups.get_mut(patient as usize) {
            group.1 += 1;
        }
    }
    let mut start = 0u32;
    for group in &mut groups {
        group.0 = start;
        start = start.saturating_add(group.1);
    }
    let mut filled: Vec<u32> = groups.iter().map(|g| g.0).collect();
    let mut by_patient = vec![0u32; courses.len()];
    for (course, &patient) in patient_of_course.iter().enumerate() {
        if let Some(next) = filled.get_mut(patient as usize) {
            if let Some(slot) = by_patient.get_mut(*next as usize) {
                *slot = u32::try_from(course).unwrap_or(u32::MAX);
            }
            *next += 1;
        }
    }
    let group_of_course = patient_of_course;
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
    let patient = fields.get(patient_column).trim();
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
    let rx = prescription(columns, fields, &mut joined, &wanted);
    scratch.clear();
    let request = parse(formulary, &rx, &options.dates, scratch);
    Some((patient, Course::from_request(&request, row, rx.rx_id)?))
}
