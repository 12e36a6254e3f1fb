//! Cross-prescription checks over a file: a first pass gathers every course of treatment by
//! patient and works each patient's findings out once ([`crate::validate::courses`]); they
//! are added to the rows involved when the file is validated. This handles files in any
//! order, with memory proportional to the rows that name a patient and to their findings.

use super::{
    BatchError, BatchOptions, Columns, RowFields, RowKind, RowSpan, RowSplitter, Worker,
    prescription, read_header, read_in_batches,
};
use crate::fasthash::{FastMap, FnvHasher};
use crate::finding::Assessment;
use crate::formulary::Formulary;
use crate::request::{Field, parse};
use crate::validate::courses::{Course, CrossCheck, CrossFinding};
use rayon::prelude::*;
use std::hash::Hasher;
use std::io::Read;
use std::sync::{Mutex, PoisonError};

/// The findings across each patient's concurrent prescriptions, gathered from a whole file and
/// worked out once per patient; they are added to their rows when the file is validated.
pub struct CrossFindings<'f> {
    formulary: &'f Formulary,
    /// Every course, grouped by patient, each patient's in row order.
    courses: Vec<Course<'f>>,
    /// The findings, patient by patient, in parts worked out on different threads.
    findings: Vec<Vec<RowFinding<'f>>>,
    /// The findings in row order (part and place), each row's in the order worked out.
    in_row_order: Vec<(u32, u32)>,
    /// One bit per row: whether it has findings (most rows have none).
    rows_found: Vec<u64>,
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
        let found = usize::try_from(row / 64)
            .ok()
            .and_then(|word| self.rows_found.get(word))
            .is_some_and(|bits| bits & (1 << (row % 64)) != 0);
        let Some(row) = u32::try_from(row).ok().filter(|_| found) else {
            return;
        };
        let of = |&(part, at): &(u32, u32)| self.findings.get(part as usize)?.get(at as usize);
        let at = self
            .in_row_order
            .partition_point(|i| of(i).is_some_and(|f| f.row < row));
        let of_row = self.in_row_order.get(at..).unwrap_or(&[]).iter();
        for found in of_row.map_while(of).take_while(|f| f.row == row) {
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
    input: impl Read + Send,
    options: &BatchOptions,
) -> Result<Option<CrossFindings<'f>>, BatchError> {
    let mut splitter = RowSplitter::new(input, options.max_field_bytes);
    let (columns, delimiter) = read_header(&mut splitter, options)?;
    if columns.patient_id.is_none() {
        return Ok(None);
    }
    // Rows are read in batches on a thread of their own; each batch's rows are parsed into
    // courses on every core, each with its patient's key, and the courses are kept in row
    // order.
    let keys = PatientKeys::default();
    let mut courses: Vec<(PatientKey, Course<'f>)> = Vec::new();
    std::thread::scope(|scope| {
        let batch_rows = options.batch_rows.max(1) * 4;
        let (batches, spent) = read_in_batches(scope, splitter, delimiter, batch_rows, None);
        for batch in batches {
            let batch = batch.map_err(BatchError::Read)?;
            let chunk = batch
                .rows
                .len()
                .div_ceil(rayon::current_num_threads().max(1) * 4)
                .max(1);
            let parsed: Vec<Vec<(PatientKey, Course<'f>)>> = batch
                .rows
                .par_chunks(chunk)
                .enumerate()
                .map(|(i, spans)| {
                    let first = batch.first_row + (i * chunk) as u64;
                    parse_courses(
                        formulary,
                        &columns,
                        delimiter,
                        options,
                        &keys,
                        &batch.bytes,
                        spans,
                        first,
                    )
                })
                .collect();
            courses.extend(parsed.into_iter().flatten());
            let _ = spent.send(batch);
        }
        Ok::<(), BatchError>(())
    })?;
    Ok(Some(CrossFindings::work_out(formulary, courses)))
}

impl<'f> CrossFindings<'f> {
    /// Groups `courses` (each with its patient's key, in row order) by patient, then works each
    /// patient's findings out, on every core.
    fn work_out(
        formulary: &'f Formulary,
        mut courses: Vec<(PatientKey, Course<'f>)>,
    ) -> CrossFindings<'f> {
        courses.par_sort_unstable_by_key(|(patient, course)| (*patient, course.row));
        let mut groups: Vec<(usize, usize)> = Vec::new();
        let mut start = 0;
        for group in courses.chunk_by(|a, b| a.0 == b.0) {
            groups.push((start, group.len()));
            start += group.len();
        }
        let mut courses: Vec<Course<'f>> = courses.into_iter().map(|(_, course)| course).collect();
        courses.shrink_to_fit();
        let parts = groups
            .par_iter()
            .filter(|(_, len)| *len > 1)
            .fold(
                || (CrossCheck::default(), Vec::new()),
                |(mut check, mut out), &(start, len)| {
                    let patient = courses.get(start..start + len).unwrap_or(&[]);
                    check.check(formulary, patient, |finding| {
                        if let Some(course) = patient.get(finding.course()) {
                            out.push(RowFinding {
                                row: course.row,
                                patient: u32::try_from(start).unwrap_or(u32::MAX),
                                finding,
                            });
                        }
                    });
                    (check, out)
                },
            )
            .map(|(_, out)| out)
            .collect::<Vec<Vec<RowFinding<'f>>>>();
        // Sorted by row, then by place: a row's findings stay in the order they were worked out.
        let mut in_row_order: Vec<(u32, u32)> = (0u32..)
            .zip(&parts)
            .flat_map(|(part, found)| (0..found.len() as u32).map(move |at| (part, at)))
            .collect();
        let row_of = |&(part, at): &(u32, u32)| {
            parts
                .get(part as usize)
                .and_then(|found| found.get(at as usize))
                .map(|f| f.row)
        };
        in_row_order.par_sort_unstable_by_key(|place| (row_of(place), *place));
        let mut rows_found = Vec::new();
        for row in parts.iter().flatten().map(|f| f.row as usize) {
            if rows_found.len() <= row / 64 {
                rows_found.resize(row / 64 + 1, 0);
            }
            if let Some(bits) = rows_found.get_mut(row / 64) {
                *bits |= 1 << (row % 64);
            }
        }
        CrossFindings {
            formulary,
            patients: groups.len(),
            courses_read: courses.len(),
            courses,
            findings: parts,
            in_row_order,
            rows_found,
        }
    }
}

/// The courses of the rows `spans` of `bytes` (the first of which is data row `first`), each
/// with its patient's key.
#[expect(
    clippy::too_many_arguments,
    reason = "the parts of a batch job, borrowed"
)]
fn parse_courses<'f>(
    formulary: &'f Formulary,
    columns: &Columns,
    delimiter: u8,
    options: &BatchOptions,
    keys: &PatientKeys,
    bytes: &[u8],
    spans: &[RowSpan],
    first: u64,
) -> Vec<(PatientKey, Course<'f>)> {
    let mut worker = Worker::new(delimiter);
    // Parsing records its findings here; the first pass keeps none of them.
    let mut scratch = Assessment::default();
    (first..)
        .zip(spans)
        .filter(|(_, span)| span.kind == RowKind::Complete)
        .filter_map(|(index, span)| {
            let count = worker.parse(bytes.get(span.bytes.clone()).unwrap_or(&[]));
            if count != columns.width {
                return None;
            }
            // A row that is not UTF-8 stops the run when it is validated.
            let fields = worker.row_fields(count)?;
            let (patient, course) =
                course(formulary, columns, (&fields, index), options, &mut scratch)?;
            Some((keys.key(patient), course))
        })
        .collect()
}

/// How many parts the long ids of [`PatientKeys`] are split into, each locked on its own.
const ID_SHARDS: u64 = 16;

/// A key for each patient id, the same for the same id and distinct for distinct ids, handed
/// out to the threads that read rows. An id of up to 15 bytes (most) is its own key: its
/// bytes packed in a number, then its length in the last byte. A longer id is numbered on
/// first sight, in a map split into parts by hash so that threads seldom wait for each other;
/// its key is its number with all the bits of the last byte set.
struct PatientKeys {
    long: Vec<Mutex<FastMap<Box<str>, u64>>>,
}

/// A patient's key (see [`PatientKeys`]).
type PatientKey = [u64; 2];

/// The last byte of the key of a long id.
const LONG_ID: u128 = 0xFF << 120;

impl Default for PatientKeys {
    fn default() -> Self {
        PatientKeys {
            long: (0..ID_SHARDS).map(|_| Mutex::default()).collect(),
        }
    }
}

impl PatientKeys {
    fn key(&self, id: &str) -> PatientKey {
        let key = packed(id).unwrap_or_else(|| LONG_ID | u128::from(self.number(id)));
        // Two halves: a course with its key keeps the course's alignment.
        [(key >> 64) as u64, key as u64]
    }

    fn number(&self, id: &str) -> u64 {
        let mut hasher = FnvHasher::default();
        hasher.write(id.as_bytes());
        // Bits the maps do not use to place their keys.
        let shard = (hasher.finish() >> 32) % ID_SHARDS;
        let Some(ids) = self.long.get(shard as usize) else {
            return 0;
        };
        let mut ids = ids.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(&number) = ids.get(id) {
            return number;
        }
        let number = ids.len() as u64 * ID_SHARDS + shard;
        ids.insert(id.into(), number);
        number
    }
}

/// An id of up to 15 bytes packed in a number: its bytes, then its length in the last byte.
fn packed(id: &str) -> Option<u128> {
    let mut bytes = [0u8; 16];
    bytes.get_mut(..id.len())?.copy_from_slice(id.as_bytes());
    *bytes.last_mut()? = u8::try_from(id.len()).ok().filter(|&len| len < 16)?;
    Some(u128::from_le_bytes(bytes))
}

/// The course a row describes, with its patient; `None` for rows without a patient, a drug or
/// a readable date. The row is parsed as the validator parses it.
fn course<'f, 'r>(
    formulary: &'f Formulary,
    columns: &Columns,
    (fields, row): (&RowFields<'r>, u64),
    options: &BatchOptions,
    scratch: &mut Assessment<'f>,
) -> Option<(&'r str, Course<'f>)> {
    let row = u32::try_from(row).ok()?;
    let patient = fields.get(columns.patient_id?).trim();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patient_keys_are_alike_when_ids_are_equal_and_apart_when_not() {
        let keys = PatientKeys::default();
        let ids = [
            "P1",
            "P1\0",
            "",
            "UNKNOWN",
            "fifteen-bytes15",
            "sixteen-bytes-16",
            "a much longer id, numbered in a map",
            "another long id, numbered in a map",
        ];
        let first: Vec<PatientKey> = ids.iter().map(|id| keys.key(id)).collect();
        for (i, a) in first.iter().enumerate() {
            for b in &first[i + 1..] {
                assert_ne!(a, b);
            }
        }
        let again: Vec<PatientKey> = ids.iter().map(|id| keys.key(id)).collect();
        assert_eq!(first, again);
    }
}
