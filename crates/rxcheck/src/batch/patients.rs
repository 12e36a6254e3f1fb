//! Cross-prescription checks over a file: a first pass gathers every course of treatment by
//! patient and works each patient's findings out once ([`crate::validate::courses`]); they
//! are added to the rows involved when the file is validated. This handles files in any
//! order, with memory proportional to the number of rows that name a patient.

use super::{
    BatchError, BatchOptions, Columns, RowFields, RowKind, RowSpan, RowSplitter, Worker,
    prescription, read_header,
};
use crate::fasthash::FastMap;
use crate::finding::Assessment;
use crate::formulary::Formulary;
use crate::request::{Field, parse};
use crate::validate::courses::{Course, CrossCheck, CrossFinding};
use rayon::prelude::*;
use std::io::Read;

/// The findings across each patient's concurrent prescriptions, gathered from a whole file and
/// worked out once per patient; they are added to their rows when the file is validated.
pub struct CrossFindings<'f> {
    formulary: &'f Formulary,
    /// Every course, grouped by patient, each patient's in row order.
    courses: Vec<Course<'f>>,
    /// The findings, in row order.
    findings: Vec<RowFinding<'f>>,
    /// Patients with at least one row.
    pub patients: usize,
    /// Rows that name a patient.
    pub courses_read: usize,
}

/// A finding of data row `row`, whose patient's courses start at `patient` in
/// [`CrossFindings::courses`].
struct RowFinding<'f> {
    row: u32,
    patient: u32,
    finding: CrossFinding<'f>,
}

impl<'f> CrossFindings<'f> {
    /// Appends the findings of data row `row` (0-based) to its assessment.
    pub fn add_to(&self, row: u64, assessment: &mut Assessment<'f>) {
        let Ok(row) = u32::try_from(row) else {
            return;
        };
        let at = self.findings.partition_point(|f| f.row < row);
        let of_row = self.findings.get(at..).unwrap_or(&[]).iter();
        for found in of_row.take_while(|f| f.row == row) {
            let courses = self.courses.get(found.patient as usize..).unwrap_or(&[]);
            assessment
                .findings
                .push(found.finding.finding(self.formulary, courses));
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
    let patients = numbers.len();
    drop(numbers);
    // Group the courses by patient (a stable sort keeps each patient's in row order), then work
    // each patient's findings out, on every core.
    let mut grouped: Vec<(u32, Course<'f>)> = patient_of_course.into_iter().zip(courses).collect();
    grouped.par_sort_by_key(|(patient, _)| *patient);
    let mut groups: Vec<(u32, u32)> = Vec::with_capacity(patients);
    let mut start = 0u32;
    for group in grouped.chunk_by(|a, b| a.0 == b.0) {
        let len = u32::try_from(group.len()).unwrap_or(u32::MAX);
        groups.push((start, len));
        start = start.saturating_add(len);
    }
    let courses: Vec<Course<'f>> = grouped.into_iter().map(|(_, course)| course).collect();
    let mut findings: Vec<RowFinding<'f>> = groups
        .par_iter()
        .filter(|(_, len)| *len > 1)
        .fold(
            || (CrossCheck::default(), Vec::new(), Vec::new()),
            |(mut check, mut found, mut out), &(start, len)| {
                let patient = courses
                    .get(start as usize..(start + len) as usize)
                    .unwrap_or(&[]);
                found.clear();
                check.check(formulary, patient, &mut found);
                out.extend(found.drain(..).filter_map(|finding| {
                    Some(RowFinding {
                        row: patient.get(finding.course())?.row,
                        patient: start,
                        finding,
                    })
                }));
                (check, found, out)
            },
        )
        .map(|(_, _, out)| out)
        .reduce(Vec::new, |mut a, mut b| {
            a.append(&mut b);
            a
        });
    // Stable: a row's findings stay in the order they were worked out.
    findings.par_sort_by_key(|f| f.row);
    Ok(Some(CrossFindings {
        formulary,
        patients,
        courses_read: courses.len(),
        courses,
        findings,
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
