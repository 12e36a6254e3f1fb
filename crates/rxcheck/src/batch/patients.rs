//! Cross-prescription checks over a file: a first pass turns every row that names a patient
//! into a course record and files it, by a hash of the patient id, in one of
//! [`FAN_OUT`] parts; each part (a set of whole patients) is then worked out on its own
//! ([`crate::validate::courses`]), and its findings are kept in row order, to be merged into
//! the rows as the file is validated. With spill files ([`BatchOptions::spill`]) the parts
//! leave memory once they outgrow [`BatchOptions::memory_budget`], and a part too large to
//! work out in memory is split again by other bits of the hash, so memory does not grow with
//! the file (only with the rows of the largest single patient).
//!
//! A file sorted by patient id takes one pass instead: each row is checked on its own and
//! waits, with its course as its checks parsed it, until its patient's rows are all read;
//! then [`OnePatient`] works their findings out and the rows are written.

use super::spill::{SpillTo, Stream};
use super::{
    BatchError, BatchOptions, Columns, FirstAndLast, RowKind, RowSpan, RowSplitter, Waiting,
    Worker, misfit_rx_id, patient_of, prescription, read_header, read_in_batches,
};
use crate::fasthash::{FastMap, FnvHasher};
use crate::finding::Assessment;
use crate::formulary::Formulary;
use crate::packed::{Put, Take, frame, read_record};
use crate::request::{
    Field, Input, ParseCache, Prescription, parse_course_days, parse_regimen_cached,
};
use crate::validate::courses::{
    Course, CourseDrug, CrossCheck, CrossFinding, course_days, spans_overlap, unreadable_facts,
};
use chrono::{Datelike, NaiveDate};
use rayon::prelude::*;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hash::Hasher;
use std::io::{self, BufRead, Read};
use std::ops::Range;

/// How many parts the courses are filed in, by patient.
const FAN_OUT: usize = 64;

/// How many parts a part too large to work out in memory is split in (fewer, so that the
/// files open at once stay few), and how many runs of findings are merged at once.
const SPLIT: usize = 8;

/// Bits of the patient hash the first level of parts uses, and each further level.
const FAN_OUT_BITS: u32 = FAN_OUT.trailing_zeros();
const SPLIT_BITS: u32 = SPLIT.trailing_zeros();

/// A part's findings that take at most this many bytes stay in memory.
const SMALL_FINDINGS: u64 = 64 * 1024;

/// The findings across each patient's concurrent prescriptions, gathered from a whole file and
/// worked out once per patient, in row order; [`CrossFindings::take_before`] hands them out as
/// the file is validated.
pub struct CrossFindings {
    /// The formulary the findings were worked out with (they name its rules by place).
    formulary: u64,
    /// Each part's findings, in row order.
    parts: Vec<Findings>,
    /// The parts by the row of their next finding, lowest first.
    next: BinaryHeap<Reverse<(u32, usize)>>,
    /// Patients with at least one row.
    pub patients: usize,
    /// Rows that name a patient.
    pub courses_read: usize,
}

/// One part's findings, read back in row order.
struct Findings {
    input: Box<dyn BufRead + Send>,
    /// The next finding's record (its row first).
    record: Vec<u8>,
}

impl Findings {
    /// Reads the next finding; its row, or `None` at the end.
    fn advance(&mut self) -> io::Result<Option<u32>> {
        if !read_record(&mut self.input, &mut self.record)? {
            return Ok(None);
        }
        Take(&self.record)
            .u32()
            .map(Some)
            .ok_or_else(|| corrupt("a finding"))
    }
}

impl CrossFindings {
    /// Reads the findings that working out parts gave, to hand them out in row order.
    fn merging(formulary: &Formulary, worked: Vec<WorkedOut>) -> io::Result<CrossFindings> {
        let mut cross = CrossFindings {
            formulary: formulary.identity(),
            parts: Vec::new(),
            next: BinaryHeap::new(),
            patients: 0,
            courses_read: 0,
        };
        for worked in worked {
            cross.patients += worked.patients;
            cross.courses_read += worked.courses;
            let mut findings = Findings {
                input: worked.findings.into_reader()?,
                record: Vec::new(),
            };
            if let Some(row) = findings.advance()? {
                cross.next.push(Reverse((row, cross.parts.len())));
                cross.parts.push(findings);
            }
        }
        Ok(cross)
    }

    /// Hands the record of the next finding in row order to `take`, when its row is before
    /// `end`; `false` when there is none.
    fn next_before(
        &mut self,
        end: u64,
        take: impl FnOnce(u32, &[u8]) -> io::Result<()>,
    ) -> io::Result<bool> {
        let Some(&Reverse((row, part))) = self.next.peek() else {
            return Ok(false);
        };
        if u64::from(row) >= end {
            return Ok(false);
        }
        self.next.pop();
        let findings = self.parts.get_mut(part).ok_or_else(|| corrupt("a part"))?;
        take(row, &findings.record)?;
        if let Some(row) = findings.advance()? {
            self.next.push(Reverse((row, part)));
        }
        Ok(true)
    }

    /// Moves the findings of the data rows (0-based) before `end` into `into`, in row order,
    /// each row's in the order they were worked out. They name the rules of the formulary they
    /// were worked out with: any other is an error.
    pub fn take_before(
        &mut self,
        formulary: &Formulary,
        end: u64,
        into: &mut RowFindings,
    ) -> io::Result<()> {
        if formulary.identity() != self.formulary {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "findings across rows worked out with one formulary cannot be added with another",
            ));
        }
        into.records.clear();
        into.ends.clear();
        while self.next_before(end, |row, record| {
            into.records.extend_from_slice(record);
            into.ends.push((row, into.records.len()));
            Ok(())
        })? {}
        Ok(())
    }
}

/// Some rows' findings across their patients' rows, in row order, as records (they are read
/// when their row is validated, on the thread that validates it).
#[derive(Default)]
pub struct RowFindings {
    records: Vec<u8>,
    /// Each record's row and where it ends in `records`.
    ends: Vec<(u32, usize)>,
}

impl RowFindings {
    /// The findings of data row `row`, appended to `assessment`; a finding that cannot be read
    /// back (which would be a fault of rxcheck's own) makes the row invalid.
    pub fn add_to<'f>(&self, formulary: &'f Formulary, row: u64, assessment: &mut Assessment<'f>) {
        let at = self.ends.partition_point(|&(r, _)| u64::from(r) < row);
        let mut start = match at.checked_sub(1) {
            Some(before) => self.ends.get(before).map_or(0, |&(_, end)| end),
            None => 0,
        };
        let of_row = self.ends.get(at..).unwrap_or(&[]).iter();
        for &(_, end) in of_row.take_while(|&&(r, _)| u64::from(r) == row) {
            let record = self.records.get(start..end).unwrap_or(&[]);
            let mut take = Take(record);
            let finding = take
                .u32()
                .and_then(|_| CrossFinding::take(formulary, &mut take, assessment.terse));
            match finding {
                Some(finding) => assessment.findings.push(finding),
                None => Input::Row.invalid(
                    assessment,
                    "a finding across this patient's rows could not be read back from rxcheck's working data; the row cannot be verified (please report this)".into(),
                ),
            }
            start = end;
        }
    }
}

fn corrupt(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("a spill file holds {what} that cannot be read back"),
    )
}

/// Reads every row of `input` and works out the findings across each patient's concurrent
/// prescriptions. `None` when the header has no `patient_id` column.
pub fn scan_patients(
    formulary: &Formulary,
    input: impl Read + Send,
    options: &BatchOptions,
) -> Result<Option<CrossFindings>, BatchError> {
    let mut splitter = RowSplitter::new(input, options.max_field_bytes);
    let (columns, delimiter) = read_header(&mut splitter, options)?;
    if columns.patient_id.is_none() {
        return Ok(None);
    }
    // Rows are read in batches on a thread of their own; each batch's rows are turned into
    // course records on every core, and the records are filed by patient, in row order.
    let mut parts = Parts::new(options.spill.clone(), options.memory_budget);
    std::thread::scope(|scope| {
        let batch_rows = options.batch_rows.max(1) * 4;
        let (batches, spent) =
            read_in_batches(scope, splitter, (delimiter, None), batch_rows, None);
        // The records of one batch are filed while the next batch's are made.
        let mut made: Vec<CourseRecords> = Vec::new();
        for batch in batches {
            let batch = batch?;
            let chunk = batch
                .rows
                .len()
                .div_ceil(rayon::current_num_threads().max(1) * 4)
                .max(1);
            let (filed, records) = rayon::join(
                || parts.file_all(&made),
                || {
                    batch
                        .rows
                        .par_chunks(chunk)
                        .enumerate()
                        .map(|(i, spans)| {
                            let first = batch.first_row + (i * chunk) as u64;
                            let rows = (batch.bytes.as_slice(), spans, first);
                            course_records(&columns, delimiter, options, rows)
                        })
                        .collect()
                },
            );
            filed.map_err(BatchError::spill)?;
            made = records;
            let _ = spent.send(batch);
        }
        parts.file_all(&made).map_err(BatchError::spill)
    })?;
    parts.work_out(formulary).map(Some)
}

/// The course records of some rows, back to back, each with its patient's hash.
#[derive(Default)]
struct CourseRecords {
    bytes: Vec<u8>,
    /// Each record's patient hash and where it ends in `bytes`.
    ends: Vec<(u64, usize)>,
}

/// The course records of the rows `spans` of `bytes` (the first of which is data row `first`).
fn course_records(
    columns: &Columns,
    delimiter: u8,
    options: &BatchOptions,
    (bytes, spans, first): (&[u8], &[RowSpan], u64),
) -> CourseRecords {
    let mut worker = Worker::new(delimiter);
    // Parsing records its findings here; the first pass keeps none of them.
    let mut scratch = Assessment::default();
    let mut records = CourseRecords::default();
    let slots = columns.slots(&COURSE_FIELDS);
    for (index, span) in (first..).zip(spans) {
        if span.kind != RowKind::Complete {
            continue;
        }
        // A row that is not UTF-8 stops the run when it is validated.
        let Some(fields) = worker.split(bytes.get(span.bytes.clone()).unwrap_or(&[]), span.plain)
        else {
            continue;
        };
        let Some(patient) = patient_of(columns, &fields) else {
            continue;
        };
        let Ok(row) = u32::try_from(index) else {
            continue;
        };
        if fields.count() != columns.width {
            let (days, _) = unreadable_facts();
            let rx_id = misfit_rx_id(columns, &fields);
            frame(&mut records.bytes, |r| {
                put_course(r, (patient, row, days), Written::Unreadable(rx_id))
            });
        } else {
            let mut joined = Vec::new();
            let rx = prescription(columns, &fields, &mut joined, &slots);
            if rx.drug.trim().is_empty() {
                continue;
            }
            scratch.clear();
            let (date, duration) = parse_course_days(&rx, &options.dates, &mut scratch);
            let days = course_days(date, duration);
            frame(&mut records.bytes, |r| {
                put_course(r, (patient, row, days), Written::Fields(&rx))
            });
        }
        records
            .ends
            .push((patient_hash(patient.as_bytes()), records.bytes.len()));
    }
    records
}

/// The fields a course record keeps: the regimen is parsed only when the patient's courses
/// overlap.
const COURSE_FIELDS: [Field; 9] = [
    Field::RxId,
    Field::Date,
    Field::DurationDays,
    Field::Drug,
    Field::Form,
    Field::Strength,
    Field::UnitVolume,
    Field::Dose,
    Field::TimesPerDay,
];

/// What working out one batch of a file sorted by patient id gave.
#[derive(Default)]
pub(super) struct SortedBatch {
    /// The first and last patient ids of its courses, when it has any.
    pub ids: Option<FirstAndLast>,
    pub patients: usize,
    pub courses: usize,
}

impl SortedBatch {
    /// Takes the next patient of the batch, `id` (in `text`), after the one before:
    /// [`BatchError::NotSortedByPatient`] when it comes before it.
    pub(super) fn next_patient(&mut self, text: &str, id: Range<usize>) -> Result<(), BatchError> {
        let id = text.get(id).unwrap_or("").as_bytes();
        self.ids = match self.ids.take() {
            Some((_, last)) if id < &*last => return Err(BatchError::NotSortedByPatient),
            Some((first, _)) => Some((first, id.into())),
            None => Some((id.into(), id.into())),
        };
        self.patients += 1;
        Ok(())
    }
}

/// Working space for the findings across one patient's rows, kept from one patient to the
/// next.
#[derive(Default)]
pub(super) struct OnePatient<'f> {
    check: CrossCheck<'f>,
    spans: Vec<(NaiveDate, NaiveDate)>,
    courses: Vec<Course<'f>>,
    /// Where each course's row is among the rows waiting.
    at: Vec<usize>,
}

impl<'f> OnePatient<'f> {
    /// Adds to the rows `waiting` (their ids in `text`), whose courses are all one patient's,
    /// the findings across them.
    pub(super) fn add_findings(
        &mut self,
        formulary: &'f Formulary,
        text: &str,
        waiting: &mut [Waiting<'f>],
    ) {
        self.spans.clear();
        self.spans.extend(waiting.iter().filter_map(|w| {
            let ((start, end), _) = w.course.as_ref()?;
            Some((*start, end.unwrap_or(NaiveDate::MAX)))
        }));
        if self.spans.len() < 2 || !spans_overlap(&mut self.spans) {
            return;
        }
        self.courses.clear();
        self.at.clear();
        for (i, w) in waiting.iter().enumerate() {
            let Some(((start, end), drug)) = w.course.clone() else {
                continue;
            };
            let (Ok(row), Some(rx_id)) = (u32::try_from(w.row), text.get(w.rx_id.clone())) else {
                continue;
            };
            let rx_id = rx_id.trim().into();
            self.courses.push(Course {
                row,
                rx_id,
                start,
                end,
                drug,
            });
            self.at.push(i);
        }
        let (courses, at) = (&self.courses, &self.at);
        self.check.check(formulary, courses, |finding| {
            let own = at.get(finding.course()).and_then(|&i| waiting.get_mut(i));
            if let Some(w) = own {
                let terse = w.assessment.terse;
                let finding = finding.finding(formulary, courses, terse);
                w.assessment.findings.push(finding);
            }
        });
    }
}

/// A patient id's hash: its low bits choose the part, the next ones the part within a part.
fn patient_hash(id: &[u8]) -> u64 {
    let mut hasher = FnvHasher::default();
    hasher.write(id);
    // FNV's low bits mix poorly; these spread them.
    hasher
        .finish()
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(32)
}

/// The part a patient hash falls in at `level`.
fn part_of(hash: u64, level: u32) -> usize {
    match level.checked_sub(1) {
        None => (hash as usize) % FAN_OUT,
        Some(below) => ((hash >> (FAN_OUT_BITS + below * SPLIT_BITS)) as usize) % SPLIT,
    }
}

/// How many times a part may be split again (the hash has bits for this many levels).
const MAX_LEVEL: u32 = (u64::BITS - FAN_OUT_BITS) / SPLIT_BITS;

/// Course records filed by patient.
struct Parts {
    parts: Vec<Part>,
    spill: Option<SpillTo>,
    budget: usize,
}

/// Some patients' course records.
#[derive(Default)]
struct Part {
    records: Stream,
    /// The level of the hash bits that chose its patients.
    level: u32,
}

impl Parts {
    fn new(spill: Option<SpillTo>, budget: usize) -> Parts {
        Parts {
            parts: (0..FAN_OUT).map(|_| Part::default()).collect(),
            spill,
            budget,
        }
    }

    /// Files each of `made`'s records in its part; once the parts hold more than the budget
    /// in memory, they move to spill files.
    fn file_all(&mut self, made: &[CourseRecords]) -> io::Result<()> {
        for records in made {
            let mut start = 0;
            for &(hash, end) in &records.ends {
                if let (Some(part), Some(record)) = (
                    self.parts.get_mut(part_of(hash, 0)),
                    records.bytes.get(start..end),
                ) {
                    part.records.write(record)?;
                }
                start = end;
            }
        }
        let held: usize = self.parts.iter().map(|p| p.records.in_memory()).sum();
        if let Some(to) = self.spill.as_ref().filter(|_| held > self.budget) {
            for part in &mut self.parts {
                part.records.spill(to)?;
            }
        }
        Ok(())
    }

    /// Works each part's findings out, on every core.
    fn work_out(self, formulary: &Formulary) -> Result<CrossFindings, BatchError> {
        let Parts {
            parts,
            spill,
            budget,
        } = self;
        // A part is worked out in memory when its records take at most this much (each core
        // works on one part at a time, and its courses take a few times its records).
        let in_memory = budget / 8;
        let worked: Vec<WorkedOut> = parts
            .into_par_iter()
            .map(|part| part.work_out(formulary, spill.as_ref(), in_memory))
            .collect::<io::Result<_>>()
            .map_err(BatchError::spill)?;
        CrossFindings::merging(formulary, worked).map_err(BatchError::spill)
    }
}

/// What working a part out gave: its findings, in row order, and what it counted.
struct WorkedOut {
    findings: Stream,
    patients: usize,
    courses: usize,
}

impl Part {
    /// Works this part's findings out: in memory when its records take at most `in_memory`
    /// bytes (or it cannot be split further), else split again by the next bits of the hash.
    fn work_out(
        self,
        formulary: &Formulary,
        spill: Option<&SpillTo>,
        in_memory: usize,
    ) -> io::Result<WorkedOut> {
        let spilled = self.records.is_spilled();
        let too_large = self.records.len > in_memory as u64 && self.level < MAX_LEVEL;
        let level = self.level + 1;
        if too_large {
            let mut input = self.records.into_reader()?;
            let mut record = Vec::new();
            let mut parts: Vec<Part> = (0..SPLIT)
                .map(|_| Part {
                    level,
                    ..Part::default()
                })
                .collect();
            let mut framed = Vec::new();
            // The first record's patient, and whether every record is of that patient.
            let mut first: Option<Vec<u8>> = None;
            let mut one_patient = true;
            while read_record(&mut input, &mut record)? {
                let patient = Take(&record).text().ok_or_else(|| corrupt("a course"))?;
                match &first {
                    Some(first) => one_patient &= first.as_slice() == patient,
                    None => first = Some(patient.to_vec()),
                }
                let part = parts
                    .get_mut(part_of(patient_hash(patient), level))
                    .ok_or_else(|| corrupt("a part"))?;
                framed.clear();
                frame(&mut framed, |f| f.extend_from_slice(&record));
                part.records.write(&framed)?;
                // Each part may keep its share of what may stay in memory.
                if let Some(to) = spill.filter(|_| part.records.in_memory() > in_memory / SPLIT) {
                    part.records.spill(to)?;
                }
            }
            drop(input);
            let mut worked = Vec::new();
            for mut part in parts.into_iter().filter(|p| p.records.len > 0) {
                // One patient's rows cannot be split: they are worked out together, however many.
                if one_patient {
                    part.level = MAX_LEVEL;
                }
                worked.push(part.work_out(formulary, spill, in_memory)?);
            }
            return one_stream(formulary, worked, (spill, spilled));
        }
        let bytes = self.records.into_bytes()?;
        let runs = work_out_records(formulary, &bytes, (spill, in_memory))?;
        one_stream(formulary, runs, (spill, spilled))
    }
}

/// The findings of `worked` (each in row order) as one stream in row order, so that the files
/// open at once stay few however often a part was split. It is in a spill file (with `spill`)
/// when the part's records were (`spilled`), or when it merges several streams.
fn one_stream(
    formulary: &Formulary,
    mut worked: Vec<WorkedOut>,
    (spill, spilled): (Option<&SpillTo>, bool),
) -> io::Result<WorkedOut> {
    if worked.len() == 1 {
        if let Some(mut only) = worked.pop() {
            if let Some(to) = spill.filter(|_| spilled && only.findings.len > SMALL_FINDINGS) {
                only.findings.spill(to)?;
            }
            return Ok(only);
        }
    }
    let mut merged = CrossFindings::merging(formulary, worked)?;
    let mut findings = Stream::default();
    if let Some(to) = spill {
        findings.spill(to)?;
    }
    let mut framed = Vec::new();
    while merged.next_before(u64::MAX, |_, record| {
        framed.clear();
        frame(&mut framed, |f| f.extend_from_slice(record));
        findings.write(&framed)
    })? {}
    Ok(WorkedOut {
        findings,
        patients: merged.patients,
        courses: merged.courses_read,
    })
}

/// Works out the findings of the course records `bytes` (whole patients'), in runs in row
/// order of at most about `in_memory` bytes each (spilled with `spill`); the first run counts
/// the patients and courses. Only the courses of patients with courses that overlap are read
/// whole.
fn work_out_records(
    formulary: &Formulary,
    bytes: &[u8],
    (spill, in_memory): (Option<&SpillTo>, usize),
) -> io::Result<Vec<WorkedOut>> {
    let mut keys = PatientKeys::default();
    let mut scratch = Assessment::default();
    let mut cache = ParseCache::default();
    let mut heads: Vec<Head> = Vec::new();
    let mut rest = Take(bytes);
    while !rest.0.is_empty() {
        let len = rest.u32().and_then(|n| usize::try_from(n).ok());
        let at = bytes.len() - rest.0.len();
        let (record, after) = len
            .and_then(|len| rest.0.split_at_checked(len))
            .ok_or_else(|| corrupt("a course"))?;
        rest = Take(after);
        let (patient, row, days) =
            take_head(&mut Take(record)).ok_or_else(|| corrupt("a course"))?;
        heads.push(Head {
            patient: keys.key(patient),
            row,
            days,
            record: at..at + record.len(),
        });
    }
    heads.sort_unstable_by_key(|h| (h.patient, h.row));
    // The findings' records, back to back, and each one's row and end.
    let mut found = Vec::new();
    let mut findings: Vec<(u32, usize)> = Vec::new();
    let mut check = CrossCheck::default();
    let mut spans = Vec::new();
    let mut courses = Vec::new();
    let mut patients = 0;
    let mut runs = Vec::new();
    // What could not be kept: a finding not put (its rule not where its course says), or a
    // run not written.
    let mut unkept: io::Result<()> = Ok(());
    for of_patient in heads.chunk_by(|a, b| a.patient == b.patient) {
        patients += 1;
        spans.clear();
        spans.extend(of_patient.iter().map(|h| h.days));
        if of_patient.len() < 2 || !spans_overlap(&mut spans) {
            continue;
        }
        courses.clear();
        for head in of_patient {
            let record = bytes.get(head.record.clone());
            let mut record = Take(record.ok_or_else(|| corrupt("a course"))?);
            let parsing = (&mut scratch, &mut cache);
            courses.extend(take_course(&mut record, formulary, parsing)?);
        }
        // A patient's findings come by course, so in row order: a run may end among them.
        check.check(formulary, &courses, |finding| {
            let Some(course) = courses.get(finding.course()) else {
                return;
            };
            let start = found.len();
            found.put_u32(course.row);
            if finding.put(formulary, &courses, &mut found).is_none() {
                found.truncate(start);
                unkept = Err(corrupt("findings across rows"));
                return;
            }
            findings.push((course.row, found.len()));
            if found.len() > in_memory {
                let run = sorted_run(&found, &findings, spill).and_then(|run| {
                    runs.push(run);
                    // Runs are merged a few at a time, so that the files open at once stay few.
                    if runs.len() == SPLIT {
                        let merged =
                            one_stream(formulary, std::mem::take(&mut runs), (spill, true))?;
                        runs.push(merged);
                    }
                    Ok(())
                });
                if let Err(e) = run {
                    unkept = Err(e);
                }
                found.clear();
                findings.clear();
            }
        });
        std::mem::replace(&mut unkept, Ok(()))?;
    }
    // A part's only run stays in memory (its part decides); one of several is spilled.
    let last = sorted_run(&found, &findings, spill.filter(|_| !runs.is_empty()))?;
    runs.push(last);
    if let Some(first) = runs.first_mut() {
        first.patients = patients;
        first.courses = heads.len();
    }
    Ok(runs)
}

/// The finding records `found` (each ending where `findings` says, with its row) as a stream
/// in row order, each row's in the order they were worked out; in a spill file with `spill`.
fn sorted_run(
    found: &[u8],
    findings: &[(u32, usize)],
    spill: Option<&SpillTo>,
) -> io::Result<WorkedOut> {
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by_key(|&i| findings.get(i).map(|&(row, _)| row));
    let mut out = Stream::default();
    if let Some(to) = spill {
        out.spill(to)?;
    }
    let mut record = Vec::new();
    for i in order {
        let start = i
            .checked_sub(1)
            .and_then(|before| findings.get(before))
            .map_or(0, |&(_, end)| end);
        let end = findings.get(i).map_or(start, |&(_, end)| end);
        record.clear();
        frame(&mut record, |r| {
            r.extend_from_slice(found.get(start..end).unwrap_or(&[]));
        });
        out.write(&record)?;
    }
    Ok(WorkedOut {
        findings: out,
        patients: 0,
        courses: 0,
    })
}

/// What a course record says first: its patient, row, and first and last days (as numbers;
/// the last is the greatest for an open-ended course); and where the record is.
struct Head {
    patient: PatientKey,
    row: u32,
    days: (i32, i32),
    record: Range<usize>,
}

/// What a course record keeps of its row.
enum Written<'a> {
    /// Its rx id and regimen fields as written.
    Fields(&'a Prescription<'a>),
    /// Its rx id alone: the row cannot be read.
    Unreadable(&'a str),
}

/// Writes a course record: its patient, row, first and last days, then what it keeps of its
/// row.
fn put_course(
    out: &mut Vec<u8>,
    (patient, row, (start, end)): (&str, u32, (NaiveDate, Option<NaiveDate>)),
    written: Written<'_>,
) {
    out.put_str(patient);
    out.put_u32(row);
    out.put_u32(start.num_days_from_ce() as u32);
    match end {
        Some(end) => {
            out.put_u8(1);
            out.put_u32(end.num_days_from_ce() as u32);
        }
        None => out.put_u8(0),
    }
    let rx = match written {
        Written::Fields(rx) => rx,
        Written::Unreadable(rx_id) => {
            out.put_u8(1);
            out.put_str(rx_id);
            return;
        }
    };
    out.put_u8(0);
    let written = [
        rx.rx_id,
        rx.drug,
        rx.form,
        rx.strength,
        rx.unit_volume,
        rx.dose,
    ];
    for field in written.into_iter().chain([rx.times_per_day]) {
        out.put_str(field);
    }
}

/// Reads the start of a course record: its patient, row, and first and last days (as days
/// from the common era; `i32::MAX` for an open-ended course).
fn take_head<'b>(take: &mut Take<'b>) -> Option<(&'b [u8], u32, (i32, i32))> {
    let patient = take.text()?;
    let row = take.u32()?;
    let start = take.u32()? as i32;
    let end = match take.u8()? {
        0 => i32::MAX,
        _ => take.u32()? as i32,
    };
    Some((patient, row, (start, end)))
}

/// Reads a course record back, parsing its drug form and daily dose as the validator does:
/// `None` when its drug cannot be a course, an error when the record cannot be read.
fn take_course<'f>(
    take: &mut Take<'_>,
    formulary: &'f Formulary,
    (scratch, cache): (&mut Assessment<'f>, &mut ParseCache),
) -> io::Result<Option<Course<'f>>> {
    /// The row, days, rx id and regimen of a course record; no regimen when its row cannot
    /// be read.
    type Read<'b> = (
        u32,
        (NaiveDate, Option<NaiveDate>),
        &'b str,
        Option<Prescription<'b>>,
    );
    fn read<'b>(take: &mut Take<'b>) -> Option<Read<'b>> {
        let (_, row, (start, end)) = take_head(take)?;
        let date = NaiveDate::from_num_days_from_ce_opt;
        let start = date(start)?;
        let end = match end {
            i32::MAX => None,
            end => Some(date(end)?),
        };
        let readable = take.u8()? == 0;
        let rx_id = take.str()?;
        if !readable {
            return Some((row, (start, end), rx_id, None));
        }
        let rx = Prescription {
            drug: take.str()?,
            form: take.str()?,
            strength: take.str()?,
            unit_volume: take.str()?,
            dose: take.str()?,
            times_per_day: take.str()?,
            ..Prescription::default()
        };
        Some((row, (start, end), rx_id, Some(rx)))
    }
    let (row, (start, end), rx_id, rx) = read(take).ok_or_else(|| corrupt("a course"))?;
    let Some(rx) = rx else {
        return Ok(Some(Course::unreadable(row, rx_id)));
    };
    scratch.clear();
    let regimen = parse_regimen_cached(formulary, &rx, scratch, cache);
    let parsed = (regimen.target.as_ref(), regimen.daily);
    Ok(
        CourseDrug::new(formulary, rx.drug, parsed).map(|drug| Course {
            row,
            rx_id: rx_id.trim().into(),
            start,
            end,
            drug,
        }),
    )
}

/// A key for each patient id of a part, the same for the same id and distinct for distinct
/// ids. An id of up to 15 bytes (most) is its own key: its bytes packed in a number, then its
/// length in the last byte. A longer id is numbered on first sight; its key is its number
/// with all the bits of the last byte set.
#[derive(Default)]
struct PatientKeys<'b> {
    long: FastMap<&'b [u8], u64>,
}

/// A patient's key (see [`PatientKeys`]).
type PatientKey = u128;

/// The last byte of the key of a long id.
const LONG_ID: u128 = 0xFF << 120;

impl<'b> PatientKeys<'b> {
    fn key(&mut self, id: &'b [u8]) -> PatientKey {
        packed(id).unwrap_or_else(|| {
            let next = self.long.len() as u64;
            LONG_ID | u128::from(*self.long.entry(id).or_insert(next))
        })
    }
}

/// An id of up to 15 bytes packed in a number: its bytes, then its length in the last byte.
fn packed(id: &[u8]) -> Option<u128> {
    let mut bytes = [0u8; 16];
    bytes.get_mut(..id.len())?.copy_from_slice(id);
    *bytes.last_mut()? = u8::try_from(id.len()).ok().filter(|&len| len < 16)?;
    Some(u128::from_le_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patient_keys_are_alike_when_ids_are_equal_and_apart_when_not() {
        let mut keys = PatientKeys::default();
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
        let first: Vec<PatientKey> = ids.iter().map(|id| keys.key(id.as_bytes())).collect();
        for (i, a) in first.iter().enumerate() {
            for b in &first[i + 1..] {
                assert_ne!(a, b);
            }
        }
        let again: Vec<PatientKey> = ids.iter().map(|id| keys.key(id.as_bytes())).collect();
        assert_eq!(first, again);
    }
}
