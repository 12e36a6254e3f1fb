//! Batch validation of prescription CSV: rows in, one verdict per row out, in input order,
//! in bounded memory, on every core. Generic over any reader and writer. Input that is not
//! UTF-8 stops a run at the row of its first bad byte (the rest of such a file is in some
//! other encoding too).

mod columns;
mod patients;
mod reader;
mod spill;

pub use columns::{
    ColumnMap, ColumnTarget, Columns, HeaderError, MappingError, detect_delimiter, normalize_header,
};
pub use patients::{CrossFindings, RowFindings, scan_patients};

pub use reader::{RowKind, RowSpan, RowSplitter};
pub use spill::{SpillFile, SpillTo};

use crate::ack::Acknowledgements;
use crate::fasthash::WordMap;
use crate::finding::{Assessment, Severity, Verdict};
use crate::formulary::Formulary;
use crate::report::{Printer, Record};
use crate::request::{
    Dates, Field, Input, ParseCache, Prescription, named_part, parse_cached, trim,
};
use crate::validate::courses::{CourseFacts, course_facts, unreadable_facts};
use crate::validate::validate_then;

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};

/// How a batch run behaves.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// The as-of date and the format dates are written in.
    pub dates: Dates,
    /// The field delimiter; `None` detects it from the header.
    pub delimiter: Option<u8>,
    /// A quoted field longer than this is an unbalanced quote.
    pub max_field_bytes: usize,
    /// Rows of drugs outside the formulary get `skipped` instead of `invalid`.
    pub skip_uncovered: bool,
    /// Rows per batch handed to the worker threads.
    pub batch_rows: usize,
    /// Validate with one worker thread (for comparison with the parallel run).
    pub sequential: bool,
    /// Column names the header matching does not find on its own, and columns to ignore.
    pub columns: ColumnMap,
    /// Findings below this are left out of the records (verdicts and the summary count them).
    pub min_severity: Severity,
    /// Acknowledgements that cover findings (`--acknowledged`).
    pub acknowledgements: Option<Arc<Acknowledgements>>,
    /// Updated with the input bytes consumed so far.
    pub progress: Option<Arc<AtomicU64>>,
    /// Where the checks across a patient's rows keep what outgrows `memory_budget`; without
    /// it, they keep everything in memory.
    pub spill: Option<SpillTo>,
    /// Bytes of working data the checks across a patient's rows hold in memory before they
    /// spill it.
    pub memory_budget: usize,
}

impl BatchOptions {
    /// The defaults, with dates read as `dates` says (a date alone: ISO dates as of it).
    pub fn new(dates: impl Into<Dates>) -> Self {
        BatchOptions {
            dates: dates.into(),
            delimiter: None,
            max_field_bytes: 64 * 1024,
            skip_uncovered: false,
            batch_rows: 4096,
            sequential: false,
            columns: ColumnMap::default(),
            min_severity: Severity::Info,
            acknowledgements: None,
            progress: None,
            spill: None,
            memory_budget: 24 << 20,
        }
    }
}

/// Why a batch could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("cannot read input: {0}")]
    Read(io::Error),
    #[error("cannot write output: {0}")]
    Write(io::Error),
    #[error("input is empty: there is no header row")]
    NoHeader,
    #[error("cannot read input: {0}")]
    NotUtf8(NotUtf8),
    #[error(
        "the header row has an unbalanced quote or is too long; check the first line of the file"
    )]
    HeaderShape,
    #[error("{0}")]
    Header(#[from] HeaderError),
    #[error(
        "cannot use a temporary file for the checks across rows ({0}); set TMPDIR to a writable directory with free space, or use --no-by-patient"
    )]
    Spill(io::Error),
    /// A run told the rows are sorted by patient id found one that is not (the run is to be
    /// made again with the findings across rows worked out from the whole file first).
    #[error(
        "the checks across a patient's rows cannot be made batch by batch: the rows are not sorted by patient_id, or there is no patient_id column"
    )]
    NotSortedByPatient,
    /// The checks across rows could not use their own working data (a fault of rxcheck's).
    #[error(
        "the checks across rows failed ({0}); please report this, and use --no-by-patient meanwhile"
    )]
    CrossRows(io::Error),
}

impl BatchError {
    /// A failure of the checks across rows' working data: of a temporary file, or of what it
    /// holds.
    pub(crate) fn spill(e: io::Error) -> BatchError {
        match e.kind() {
            io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput => BatchError::CrossRows(e),
            _ => BatchError::Spill(e),
        }
    }
}

/// Input that is not UTF-8: the line of the first bad byte, and the byte.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "line {line} is not UTF-8 (byte 0x{byte:02X}); give the file's encoding with --encoding (such as --encoding windows-1252), or save it as UTF-8"
)]
pub struct NotUtf8 {
    pub line: u64,
    pub byte: u8,
}

impl NotUtf8 {
    /// The first bad byte of a row that starts on `line`, if it has one.
    fn find(row: &[u8], line: u64) -> Option<NotUtf8> {
        let at = std::str::from_utf8(row).err()?.valid_up_to();
        let (before, rest) = row.split_at_checked(at)?;
        Some(NotUtf8 {
            line: line + before.iter().filter(|&&b| b == b'\n').count() as u64,
            byte: rest.first().copied()?,
        })
    }
}

/// How often one rule fired in a run, and what became of its findings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleCounts {
    pub fired: u64,
    /// Covered by an acknowledgement.
    pub acknowledged: u64,
    /// Changed by the site overlay (re-graded, tightened or hidden).
    pub overlay_changed: u64,
    /// Hidden by the site overlay.
    pub hidden: u64,
}

impl RuleCounts {
    fn add(&mut self, other: RuleCounts) {
        self.fired += other.fired;
        self.acknowledged += other.acknowledged;
        self.overlay_changed += other.overlay_changed;
        self.hidden += other.hidden;
    }
}

/// What a run saw: rows, verdicts, and how often each rule fired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub rows: u64,
    /// Rows per verdict, in the order of [`Verdict::ALL`].
    pub verdicts: [u64; 5],
    /// Each rule's findings: those of warn and above, and any the site overlay changed or an
    /// acknowledgement covers.
    pub rules: WordMap<String, RuleCounts>,
    /// Header columns no field took, as written.
    pub ignored_columns: Vec<String>,
    /// The row that stopped the run, not being UTF-8 (no row after it was checked).
    not_utf8: Option<NotUtf8>,
    /// Checking by patient: the patients with a course, and the rows that are courses (they
    /// name a patient and a drug).
    pub patients: usize,
    pub courses_read: usize,
}

impl Summary {
    /// The worst verdict of the run that counts toward the exit code (skipped rows do not).
    pub fn worst(&self) -> Verdict {
        Verdict::ALL
            .into_iter()
            .filter(|v| *v != Verdict::Skipped && self.count_of(*v) > 0)
            .max()
            .unwrap_or(Verdict::Ok)
    }

    /// How many rows got `verdict`.
    pub fn count_of(&self, verdict: Verdict) -> u64 {
        Verdict::ALL
            .iter()
            .position(|v| *v == verdict)
            .and_then(|i| self.verdicts.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// Every rule that fired, most first (ties by name).
    pub fn rules_by_count(&self) -> Vec<(&str, RuleCounts)> {
        let mut rules: Vec<(&str, RuleCounts)> =
            self.rules.iter().map(|(r, c)| (r.as_str(), *c)).collect();
        rules.sort_by(|a, b| b.1.fired.cmp(&a.1.fired).then(a.0.cmp(b.0)));
        rules
    }

    fn merge(&mut self, other: Summary) {
        self.not_utf8 = self.not_utf8.take().or(other.not_utf8);
        self.rows += other.rows;
        self.patients += other.patients;
        self.courses_read += other.courses_read;
        for (mine, theirs) in self.verdicts.iter_mut().zip(other.verdicts) {
            *mine += theirs;
        }
        for (r, n) in other.rules {
            self.rules.entry(r).or_default().add(n);
        }
    }

    /// Counts one record.
    pub fn count(&mut self, assessment: &Assessment<'_>) {
        self.rows += 1;
        let verdict = assessment.verdict();
        if let Some(n) = Verdict::ALL
            .iter()
            .position(|v| *v == verdict)
            .and_then(|i| self.verdicts.get_mut(i))
        {
            *n += 1;
        }
        for f in &assessment.findings {
            if f.severity == Severity::Info && f.overlay.is_none() && f.acknowledged.is_none() {
                continue;
            }
            let counts = RuleCounts {
                fired: 1,
                acknowledged: u64::from(f.acknowledged.is_some()),
                overlay_changed: u64::from(f.overlay.is_some()),
                hidden: u64::from(!f.is_shown()),
            };
            match self.rules.get_mut(f.rule.as_ref()) {
                Some(n) => n.add(counts),
                None => {
                    self.rules.insert(f.rule.to_string(), counts);
                }
            }
        }
    }
}

/// A batch of rows: their bytes, back to back, and where each starts.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    rows: Vec<RowSpan>,
    /// Index (0-based, among data rows) of the first row.
    first_row: u64,
}

/// A validated batch: its records, its acknowledgement template lines (when one is written),
/// and what it counted.
#[derive(Default)]
struct Processed {
    output: Vec<u8>,
    template: Vec<u8>,
    summary: Summary,
    /// The first and last patient ids of its courses, when its findings across rows were
    /// worked out on their own ([`Across::SortedByPatient`]).
    ids: Option<FirstAndLast>,
}

/// The first and last patient ids of a batch's courses.
type FirstAndLast = (Box<[u8]>, Box<[u8]>);

/// Where a run's findings across each patient's rows come from.
pub enum Across<'c> {
    /// Every row is checked on its own.
    Alone,
    /// Worked out from the whole file beforehand ([`scan_patients`]).
    Scanned(&'c mut CrossFindings),
    /// Worked out batch by batch, as the rows are read, for a file sorted by patient id:
    /// each batch holds every row of its patients. A row out of that order, a patient's rows
    /// parted by a row of no patient or too many for one batch (more than `batch_rows`), or a
    /// header without a `patient_id` column stops the run with
    /// [`BatchError::NotSortedByPatient`]. A run stopped by an error may have written records
    /// that lack findings across rows.
    SortedByPatient,
}

/// Batches of rows, handed to the workers in turn with the findings across rows of their
/// rows.
struct Handout<'c> {
    batches: mpsc::Receiver<Result<Batch, BatchError>>,
    cross: Option<&'c mut CrossFindings>,
    /// The number of the next batch.
    next: u64,
}

/// The next batch and its number, with its rows' findings across rows in `found`; `None` when
/// there are no more.
fn take_batch(
    handout: &std::sync::Mutex<Handout<'_>>,
    formulary: &Formulary,
    found: &mut RowFindings,
) -> Option<(u64, Result<Batch, BatchError>)> {
    let mut handout = handout.lock().ok()?;
    let batch = handout.batches.recv().ok()?;
    let seq = handout.next;
    handout.next += 1;
    let batch = batch.and_then(|batch| {
        if let Some(cross) = handout.cross.as_deref_mut() {
            let end = batch.first_row + batch.rows.len() as u64;
            cross
                .take_before(formulary, end, found)
                .map_err(BatchError::spill)?;
        }
        Ok(batch)
    });
    Some((seq, batch))
}

thread_local! {
    /// The parses this thread remembers, from one chunk of rows to the next.
    static PARSE_CACHE: RefCell<ParseCache> = RefCell::new(ParseCache::default());
}

/// Scratch space for parsing rows and validating them.
struct Worker<'f> {
    delimiter: u8,
    /// The CSV reader for rows with quotes, built on the first such row.
    csv: Option<csv_core::Reader>,
    /// The unquoted fields of a row with quotes, back to back.
    unquoted: Vec<u8>,
    /// Where each field of the row split last ends.
    ends: Vec<usize>,
    assessment: Assessment<'f>,
}

impl<'f> Worker<'f> {
    fn new(delimiter: u8) -> Self {
        Worker {
            delimiter,
            csv: None,
            unquoted: Vec::new(),
            ends: Vec::new(),
            assessment: Assessment::default(),
        }
    }

    /// Splits a row into its fields (unquoting, unless it is `plain`: without quotes, see
    /// [`RowSpan::plain`]), checked as UTF-8 once; `None` when they are not UTF-8.
    fn split<'a>(&'a mut self, row: &'a [u8], plain: bool) -> Option<RowFields<'a>> {
        if self.ends.len() < row.len() + 1 {
            self.ends.resize(row.len() + 1, 0);
        }
        // A row without quotes is its fields between delimiters, as csv_core would read
        // them, and the fields are read in the row itself: most rows take this path.
        let (bytes, count, gap) = if plain && !row.is_empty() {
            (row, self.split_plain(row), 1)
        } else {
            let count = self.unquote(row);
            let end = self.ends.get(..count).and_then(|e| e.last()).copied();
            let bytes = self.unquoted.get(..end.unwrap_or(0)).unwrap_or(&[]);
            (bytes, count, 0)
        };
        Some(RowFields {
            text: std::str::from_utf8(bytes).ok()?,
            ends: self.ends.get(..count).unwrap_or(&[]),
            gap,
        })
    }

    /// Reads a row with quotes with csv_core: `unquoted` gets its fields back to back and
    /// `ends` where each ends; returns the field count.
    fn unquote(&mut self, row: &[u8]) -> usize {
        if self.unquoted.len() < row.len() + 1 {
            self.unquoted.resize(row.len() + 1, 0);
        }
        let delimiter = self.delimiter;
        let csv = self.csv.get_or_insert_with(|| {
            csv_core::ReaderBuilder::new()
                .delimiter(delimiter)
                .terminator(csv_core::Terminator::Any(b'\n'))
                .build()
        });
        csv.reset();
        let (mut input, mut out_at, mut ends_at) = (row, 0, 0);
        let mut finishing = false;
        loop {
            let (result, read, written, ends) = csv.read_record(
                input,
                self.unquoted.get_mut(out_at..).unwrap_or_default(),
                self.ends.get_mut(ends_at..).unwrap_or_default(),
            );
            input = input.get(read..).unwrap_or_default();
            out_at += written;
            // csv_core reports field ends as offsets into the whole record's output.
            ends_at += ends;
            match result {
                csv_core::ReadRecordResult::InputEmpty if !input.is_empty() => continue,
                csv_core::ReadRecordResult::InputEmpty if !finishing => finishing = true,
                csv_core::ReadRecordResult::Record | csv_core::ReadRecordResult::End => {
                    return ends_at;
                }
                _ => return ends_at,
            }
        }
    }

    /// Finds where the fields of a row without quotes end, at its delimiters, into `ends`;
    /// returns the field count.
    fn split_plain(&mut self, row: &[u8]) -> usize {
        // Eight bytes at a time, as a word with the high bit set in each byte that is the
        // delimiter (and no other bit): no branch on each byte.
        let pattern = u64::from_le_bytes([self.delimiter; 8]);
        let mut count = 0;
        let mut mark = |at: usize, word: [u8; 8]| {
            let v = u64::from_le_bytes(word) ^ pattern;
            let mut delimiters = !((v & LOW_BITS).wrapping_add(LOW_BITS) | v | LOW_BITS);
            while delimiters != 0 {
                if let Some(end) = self.ends.get_mut(count) {
                    *end = at + delimiters.trailing_zeros() as usize / 8;
                }
                count += 1;
                delimiters &= delimiters - 1;
            }
        };
        let mut words = row.chunks_exact(8);
        let mut at = 0;
        for word in words.by_ref() {
            if let Ok(word) = word.try_into() {
                mark(at, word);
            }
            at += 8;
        }
        let mut last = [!self.delimiter; 8];
        if let Some(rest) = last.get_mut(..words.remainder().len()) {
            rest.copy_from_slice(words.remainder());
        }
        mark(at, last);
        if let Some(end) = self.ends.get_mut(count) {
            *end = row.len();
        }
        count + 1
    }
}

/// The low seven bits of each byte of a word.
const LOW_BITS: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// One parsed row's fields: the unquoted text and where each field ends.
struct RowFields<'w> {
    text: &'w str,
    ends: &'w [usize],
    /// Bytes between a field's end and the next one's start.
    gap: usize,
}

impl<'w> RowFields<'w> {
    fn count(&self) -> usize {
        self.ends.len()
    }

    fn range(&self, index: usize) -> std::ops::Range<usize> {
        let start = match index.checked_sub(1) {
            Some(previous) => self.ends.get(previous).map_or(0, |end| end + self.gap),
            None => 0,
        };
        start..self.ends.get(index).copied().unwrap_or(start)
    }

    /// Field `index` as text; a missing field is empty. Fields split at ASCII bytes, so their
    /// bounds are character boundaries.
    fn get(&self, index: usize) -> &'w str {
        self.text.get(self.range(index)).unwrap_or("")
    }
}

/// The patient id a row names (trimmed); `None` when it names none. A row not as wide as the
/// header names the one in the `patient_id` column, as far as it can be read: it is a row of
/// that patient's that cannot be read
/// ([`crate::validate::courses::CourseDrug::Unreadable`]).
fn patient_of<'a>(columns: &Columns, fields: &RowFields<'a>) -> Option<&'a str> {
    let patient = fields.get(columns.patient_id?).trim();
    (!patient.is_empty()).then_some(patient)
}

/// The rx id of a row not as wide as the header, whose fields may be out of place: the one in
/// its column, or in the first of those it is joined from.
fn misfit_rx_id<'a>(columns: &Columns, fields: &RowFields<'a>) -> &'a str {
    fields.get(columns.rx_id_at())
}

/// Everything a worker needs to check a row.
struct Job<'a, 'f> {
    formulary: &'f Formulary,
    columns: &'a Columns,
    /// Each column's place among the prescription's fields ([`Columns::slots`]).
    slots: Vec<Option<usize>>,
    options: &'a BatchOptions,
    printer: &'a dyn Printer,
    /// The printer of the acknowledgement template, when one is written.
    template: Option<&'a dyn Printer>,
    delimiter: u8,
}

impl<'f> Job<'_, 'f> {
    /// Whether no report shows the findings' messages (so the checks leave them empty).
    fn terse(&self) -> bool {
        !self.printer.shows_messages() && self.template.is_none_or(|t| !t.shows_messages())
    }

    /// Checks the rows of `spans`, the first of which is data row `first`, with the findings
    /// across their patients' rows in `cross` (by row, in row order), and appends their
    /// records to `out` (and their template lines to `template`); a row that is not UTF-8 ends
    /// the chunk (and the run).
    fn run(
        &self,
        (bytes, spans, first): (&[u8], &[RowSpan], u64),
        cross: &RowFindings,
        out: (&mut Vec<u8>, &mut Vec<u8>),
    ) -> Summary {
        let mut worker = Worker::new(self.delimiter);
        worker.assessment.terse = self.terse();
        let mut cache = PARSE_CACHE.take();
        let mut summary = Summary::default();
        // The row's rx id as its prescription reads it (joined, when it is several columns).
        let mut rx_id = String::new();
        for (index, span) in (first..).zip(spans) {
            let row = bytes.get(span.bytes.clone()).unwrap_or(&[]);
            let mut assessment = std::mem::take(&mut worker.assessment);
            assessment.clear();
            rx_id.clear();
            let (mut patient_id, mut inputs) = (None, String::new());
            match span.kind {
                RowKind::Complete => {
                    let Some(fields) = worker.split(row, span.plain) else {
                        summary.not_utf8 = NotUtf8::find(row, span.line);
                        worker.assessment = assessment;
                        break;
                    };
                    patient_id = self.columns.patient_id.map(|i| fields.get(i));
                    let checking = (&mut assessment, &mut cache);
                    self.check_fields(&fields, checking, None, &mut rx_id, |rx, assessment| {
                        cross.add_to(self.formulary, index, assessment);
                        inputs = self.conclude(rx.rx_id, || rx.fingerprint(), assessment);
                    });
                }
                _ => {
                    rx_id.push_str(self.rx_id_before_quote(span, row));
                    self.unreadable(span, &mut assessment);
                }
            }
            let record = (span.line, rx_id.as_str(), patient_id, inputs.as_str());
            self.write(record, &assessment, out.0, &mut *out.1, &mut summary);
            worker.assessment = assessment;
        }
        PARSE_CACHE.set(cache);
        summary
    }

    /// Like [`Job::run`], for a batch that holds every row of its patients (the file being
    /// sorted by patient id): each row is checked on its own and waits in `sorted` while the
    /// rest of its patient's rows are read, then the findings across them are worked out from
    /// what the checks parsed, and their records are written.
    /// [`BatchError::NotSortedByPatient`] when a patient id is before the one of the rows
    /// above it.
    fn run_sorted(
        &self,
        (bytes, spans, first): (&[u8], &[RowSpan], u64),
        sorted: &mut Sorted<'f>,
        (out, template): (&mut Vec<u8>, &mut Vec<u8>),
    ) -> Result<(Summary, patients::SortedBatch), BatchError> {
        let mut worker = Worker::new(self.delimiter);
        let terse = self.terse();
        let fingerprinted = self.options.acknowledgements.is_some() || self.template.is_some();
        let mut cache = PARSE_CACHE.take();
        let mut summary = Summary::default();
        let mut batch = patients::SortedBatch::default();
        let Sorted {
            waiting,
            text,
            patient,
        } = sorted;
        text.clear();
        // The rows waiting, and the patient (in `text`) of those of them that are courses.
        let (mut count, mut group) = (0, None);
        let mut flush = |waiting: &mut [Waiting<'f>], text: &str, summary: &mut Summary| {
            patient.add_findings(self.formulary, text, waiting);
            for w in waiting {
                let rx_id = text.get(w.rx_id.clone()).unwrap_or("");
                let mut inputs = String::new();
                if w.checked {
                    inputs = self.conclude(rx_id, || w.fingerprint.clone(), &mut w.assessment);
                }
                let patient_id = w.patient_id.clone().and_then(|p| text.get(p));
                let record = (w.line, rx_id, patient_id, inputs.as_str());
                self.write(record, &w.assessment, out, template, summary);
            }
        };
        for (index, span) in (first..).zip(spans) {
            if waiting.len() == count {
                waiting.push(Waiting::default());
            }
            let Some(w) = waiting.get_mut(count) else {
                break;
            };
            w.clear((index, span.line), terse);
            let row = bytes.get(span.bytes.clone()).unwrap_or(&[]);
            let mut of_patient = None;
            match span.kind {
                RowKind::Complete => {
                    let Some(fields) = worker.split(row, span.plain) else {
                        summary.not_utf8 = NotUtf8::find(row, span.line);
                        break;
                    };
                    w.patient_id = self
                        .columns
                        .patient_id
                        .map(|i| push_text(text, fields.get(i)));
                    of_patient = patient_of(self.columns, &fields).filter(|_| index <= MAX_ROW);
                    let course = of_patient.map(|_| &mut w.course);
                    let checking = (&mut w.assessment, &mut cache);
                    let start = text.len();
                    self.check_fields(&fields, checking, course, text, |rx, _| {
                        w.checked = true;
                        if fingerprinted {
                            w.fingerprint = rx.fingerprint();
                        }
                    });
                    w.rx_id = start..text.len();
                }
                _ => {
                    w.rx_id = push_text(text, self.rx_id_before_quote(span, row));
                    self.unreadable(span, &mut w.assessment);
                }
            }
            count += 1;
            let Some(id) = of_patient.filter(|_| w.course.is_some()) else {
                continue;
            };
            // The first course of another patient: the rows before it are complete.
            if group
                .as_ref()
                .is_none_or(|g: &std::ops::Range<usize>| text.get(g.clone()) != Some(id))
            {
                let id = push_text(text, id);
                if let Err(error) = batch.next_patient(text, id.clone()) {
                    PARSE_CACHE.set(cache);
                    return Err(error);
                }
                let before = count - 1;
                flush(
                    waiting.get_mut(..before).unwrap_or_default(),
                    text,
                    &mut summary,
                );
                waiting.swap(0, before);
                count = 1;
                group = Some(id);
            }
            batch.courses += 1;
        }
        PARSE_CACHE.set(cache);
        flush(
            waiting.get_mut(..count).unwrap_or_default(),
            text,
            &mut summary,
        );
        Ok((summary, batch))
    }

    /// The rx id of a row with a stray quote, when its column comes before the quote (the
    /// fields before it are as written); empty otherwise.
    fn rx_id_before_quote<'r>(&self, span: &RowSpan, row: &'r [u8]) -> &'r str {
        let before = match memchr::memchr(b'"', row) {
            Some(quote) if span.kind == RowKind::UnbalancedQuote => row.get(..quote),
            _ => None,
        };
        let mut pieces = before
            .unwrap_or_default()
            .split(|&c| c == self.delimiter)
            .skip(self.columns.rx_id_at());
        let field = pieces.next();
        // The last piece before the quote is the quoted field's own start, not a whole field.
        field
            .filter(|_| pieces.next().is_some())
            .and_then(|f| std::str::from_utf8(f).ok())
            .map_or("", str::trim)
    }

    /// Records why a row that could not be read as a whole row is invalid.
    fn unreadable(&self, span: &RowSpan, assessment: &mut Assessment<'f>) {
        let message = match span.kind {
            RowKind::UnbalancedQuote => format!(
                "unbalanced quote: a quoted field opened on line {} never closes, runs past {} bytes, or closes on a later line in a row of the wrong width; reading resumed on the next line",
                span.line, self.options.max_field_bytes
            ),
            _ => format!(
                "row on line {} is too long to be a prescription; it was skipped",
                span.line
            ),
        };
        Input::Row.invalid(assessment, message);
    }

    /// Writes a row's record (its line, rx id, patient id and prescription fingerprint) to
    /// `out`, and to `template` when one is written, and counts it.
    fn write(
        &self,
        (line, rx_id, patient_id, inputs): (u64, &str, Option<&str>, &str),
        assessment: &Assessment<'_>,
        out: &mut Vec<u8>,
        template: &mut Vec<u8>,
        summary: &mut Summary,
    ) {
        let record = Record {
            line: Some(line),
            rx_id: Some(rx_id),
            patient_id,
            assessment,
            min_severity: self.options.min_severity,
            inputs: Some(inputs).filter(|i| !i.is_empty()),
        };
        self.printer.record(out, &record);
        if let Some(printer) = self.template {
            printer.record(template, &record);
        }
        summary.count(assessment);
    }

    /// Checks a row's fields on its own, appending its rx id to `rx_id` (as its prescription
    /// reads it: joined, when it is several columns); with `course`, also sets the row as a
    /// course of its patient's, when it is one. When the row was checked (neither of the wrong
    /// width nor skipped), hands its prescription to `checked`, which is to add the findings
    /// across its patient's rows and [`Job::conclude`] it, or to keep what that will take.
    fn check_fields(
        &self,
        row: &RowFields<'_>,
        (assessment, cache): (&mut Assessment<'f>, &mut ParseCache),
        course: Option<&mut Option<CourseFacts<'f>>>,
        rx_id: &mut String,
        checked: impl FnOnce(&Prescription<'_>, &mut Assessment<'f>),
    ) {
        let c = self.columns;
        let count = row.count();
        if count != c.width {
            rx_id.push_str(misfit_rx_id(c, row));
            if let Some(course) = course {
                *course = Some(unreadable_facts());
            }
            Input::Row.invalid(
                assessment,
                format!("row has {count} fields; the header has {}", c.width),
            );
            return;
        }
        let mut joined = Vec::new();
        let rx = prescription(c, row, &mut joined, &self.slots);
        rx_id.push_str(rx.rx_id);
        let dates = &self.options.dates;
        if self.options.skip_uncovered
            && !rx.drug.trim().is_empty()
            && !may_be_covered(self.formulary, rx.drug)
        {
            // A skipped row is still a course of its patient's (its findings are not kept).
            if let Some(course) = course {
                let request = parse_cached(self.formulary, &rx, dates, assessment, cache);
                *course = course_facts(&request);
                assessment.clear();
            }
            assessment.skipped = true;
            return;
        }
        let wanted = course.is_some();
        let facts = validate_then(self.formulary, &rx, dates, (assessment, cache), |request| {
            wanted.then(|| course_facts(request)).flatten()
        });
        if let Some(course) = course {
            *course = facts;
        }
        if trim(rx.rx_id).is_empty() {
            Input::RxId.invalid(assessment, "rx_id is empty".into());
        }
        // A value under no column name cannot be told what it is (a list's item shifted
        // there by a delimiter too many, say): the row cannot be checked as written.
        for &at in &c.nameless {
            let value = row.get(at).trim();
            if !value.is_empty() {
                Input::Row.invalid(
                    assessment,
                    format!(
                        "field {} (`{value}`) is under a column the header gives no name; name the column, or remove the value or the delimiter before it",
                        at + 1
                    ),
                );
            }
        }
        checked(&rx, assessment);
    }

    /// Concludes a checked row once the findings across its patient's rows are among its
    /// own: the site overlay and the acknowledgements apply. The prescription's fingerprint
    /// (from `fingerprint`) when an acknowledgement template is to list the row.
    fn conclude(
        &self,
        rx_id: &str,
        fingerprint: impl Fn() -> String,
        assessment: &mut Assessment<'f>,
    ) -> String {
        self.formulary.regrade(assessment);
        if let Some(acks) = &self.options.acknowledgements {
            acks.apply(rx_id, &fingerprint, assessment);
        }
        let open = |f: &crate::finding::Finding<'_>| f.counts() && f.severity >= Severity::Warn;
        match self.template.is_some() && assessment.findings.iter().any(open) {
            true => fingerprint(),
            false => String::new(),
        }
    }
}

/// Appends `field` to `text`; where it is.
fn push_text(text: &mut String, field: &str) -> std::ops::Range<usize> {
    let start = text.len();
    text.push_str(field);
    start..text.len()
}

/// A worker's working space for batches sorted by patient id, kept from one batch to the next.
#[derive(Default)]
struct Sorted<'f> {
    /// The rows checked on their own, waiting for the rest of their patient's rows.
    waiting: Vec<Waiting<'f>>,
    /// Their rx and patient ids.
    text: String,
    patient: patients::OnePatient<'f>,
}

/// The last data row (0-based) that can be a course of a patient's.
const MAX_ROW: u64 = u32::MAX as u64;

/// A row of a batch sorted by patient id, checked on its own, waiting for the findings
/// across its patient's rows ([`Job::run_sorted`]).
#[derive(Default)]
struct Waiting<'f> {
    assessment: Assessment<'f>,
    /// Its data row (0-based) and line.
    row: u64,
    line: u64,
    /// Where its rx id and patient id, as written, are in the batch's text.
    rx_id: std::ops::Range<usize>,
    patient_id: Option<std::ops::Range<usize>>,
    /// Whether it was checked, so that [`Job::conclude`] applies.
    checked: bool,
    /// Its prescription's fingerprint, when the acknowledgements or their template need it.
    fingerprint: String,
    /// The row as a course of its patient's, when it is one.
    course: Option<CourseFacts<'f>>,
}

impl Waiting<'_> {
    /// Empties it for data row `row`, on `line`, keeping its allocations.
    fn clear(&mut self, (row, line): (u64, u64), terse: bool) {
        self.assessment.clear();
        self.assessment.terse = terse;
        (self.row, self.line) = (row, line);
        self.rx_id = 0..0;
        self.patient_id = None;
        self.checked = false;
        self.fingerprint.clear();
        self.course = None;
    }
}

/// The prescription a row holds: the fields of `slots` (each column's place in
/// [`Field::ALL`], see [`Columns::slots`]) from their columns, read in one pass, and every
/// field made of several columns, joined by a space, or by `; ` for a list (kept in `joined`).
fn prescription<'a>(
    columns: &Columns,
    row: &RowFields<'a>,
    joined: &'a mut Vec<String>,
    slots: &[Option<usize>],
) -> Prescription<'a> {
    let mut texts = [""; Field::COUNT];
    let mut start = 0;
    for (&end, &slot) in row.ends.iter().zip(slots) {
        if let Some(text) = slot.and_then(|slot| texts.get_mut(slot)) {
            *text = row.text.get(start..end).unwrap_or("");
        }
        start = end + row.gap;
    }
    for (field, parts) in &columns.joined {
        // A list's columns each hold items (`allergy_1`, `allergy_2`); others hold words.
        let separator = if field.info().list { "; " } else { " " };
        let mut text = String::new();
        for &column in parts {
            let part = row.get(column).trim();
            if !part.is_empty() {
                if !text.is_empty() {
                    text.push_str(separator);
                }
                text.push_str(part);
            }
        }
        joined.push(text);
    }
    let joined: &'a [String] = joined;
    for ((field, _), text) in columns.joined.iter().zip(joined) {
        if let Some(slot) = texts.get_mut(field.index()) {
            *slot = text;
        }
    }
    Prescription::from_fields(texts)
}

/// Reads the header row: the columns it names and the delimiter (given, or detected from it).
fn read_header<R: Read>(
    splitter: &mut RowSplitter<R>,
    options: &BatchOptions,
) -> Result<(Columns, u8), BatchError> {
    let mut header_bytes = Vec::new();
    let probe = options.delimiter.unwrap_or(b',');
    let mut next_row =
        |bytes: &mut Vec<u8>| match splitter.next_row(probe, bytes).map_err(BatchError::Read)? {
            Some(span) if span.kind == RowKind::Complete => Ok(span),
            Some(_) => Err(BatchError::HeaderShape),
            None => Err(BatchError::NoHeader),
        };
    let mut header = next_row(&mut header_bytes)?;
    // Spreadsheets write the delimiter on a line of its own before the header (`sep=;`).
    let mut hinted = None;
    if let [s, e, p, b'=', delimiter] = header_bytes.get(header.bytes.clone()).unwrap_or(&[]) {
        if [s, e, p].map(u8::to_ascii_lowercase) == [b's', b'e', b'p'] {
            hinted = Some(*delimiter);
            header_bytes.clear();
            header = next_row(&mut header_bytes)?;
        }
    }
    let header_row = header_bytes.get(header.bytes.clone()).unwrap_or(&[]);
    let delimiter = options
        .delimiter
        .or(hinted)
        .unwrap_or_else(|| detect_delimiter(header_row));
    let mut header_worker = Worker::new(delimiter);
    let Some(header_fields) = header_worker.split(header_row, header.plain) else {
        return Err(NotUtf8::find(header_row, header.line)
            .map_or(BatchError::HeaderShape, BatchError::NotUtf8));
    };
    let names: Vec<&str> = (0..header_fields.count())
        .map(|i| header_fields.get(i))
        .collect();
    let columns = Columns::from_header(names, &options.columns)?;
    splitter.set_width(columns.width);
    Ok((columns, delimiter))
}

/// The columns a header line names, read as a run would read them (to decide, before a run,
/// whether standard input has a patient id column).
pub fn header_columns(header_line: &[u8], options: &BatchOptions) -> Result<Columns, BatchError> {
    let mut splitter = RowSplitter::new(header_line, options.max_field_bytes);
    read_header(&mut splitter, options).map(|(columns, _)| columns)
}

/// How many times `batch_rows` rows a batch may grow to while it takes the rest of its last
/// patient's rows; a patient with more rows stops a run by patient batch by batch.
const LONGEST_BATCH: usize = 2;

/// Reads the rows of `splitter` in batches of `batch_rows` on a thread of `scope`, so that
/// reading overlaps with the work on the batches read before. Batches sent back are reused.
/// With `patients` (the columns of a header with a `patient_id` column), a batch goes on past
/// `batch_rows` rows (up to [`LONGEST_BATCH`] times as many) while the rows name the patient
/// of its last row, so that in a file sorted by patient id a batch holds every row of its
/// patients.
fn read_in_batches<'scope, R: Read + Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    mut splitter: RowSplitter<R>,
    (delimiter, patients): (u8, Option<&'scope Columns>),
    batch_rows: usize,
    progress: Option<Arc<AtomicU64>>,
) -> (
    mpsc::Receiver<Result<Batch, BatchError>>,
    mpsc::Sender<Batch>,
) {
    let (full_tx, full_rx) = mpsc::sync_channel::<Result<Batch, BatchError>>(2);
    let (empty_tx, empty_rx) = mpsc::channel::<Batch>();
    scope.spawn(move || {
        let mut rows_read = 0u64;
        let mut worker = Worker::new(delimiter);
        // A row read past the end of the batch before, which begins the next one.
        let mut carried: Option<(Vec<u8>, RowSpan)> = None;
        loop {
            let mut batch = empty_rx.try_recv().unwrap_or_default();
            batch.bytes.clear();
            batch.rows.clear();
            batch.first_row = rows_read;
            if let Some((bytes, span)) = carried.take() {
                batch.bytes.extend_from_slice(&bytes);
                batch.rows.push(RowSpan {
                    bytes: 0..bytes.len(),
                    ..span
                });
            }
            let mut done = false;
            // The patient of a full batch's last row, whose rows it goes on taking.
            let mut last: Option<Box<[u8]>> = None;
            loop {
                if batch.rows.len() >= batch_rows && last.is_none() {
                    last = patients.zip(batch.rows.last()).and_then(|(columns, span)| {
                        let patient = row_patient(&mut worker, columns, &batch.bytes, span);
                        patient.map(|p| Box::from(p.as_bytes()))
                    });
                    if last.is_none() {
                        break;
                    }
                }
                // A patient with more rows than a batch may hold cannot be checked batch by
                // batch: the run is to be made in two passes, in bounded memory.
                if batch.rows.len() >= batch_rows.saturating_mul(LONGEST_BATCH) {
                    let _ = full_tx.send(Err(BatchError::NotSortedByPatient));
                    return;
                }
                let before = batch.bytes.len();
                match splitter.next_row(delimiter, &mut batch.bytes) {
                    Ok(Some(span)) => {
                        if let (Some(last), Some(columns)) = (&last, patients) {
                            let patient = row_patient(&mut worker, columns, &batch.bytes, &span);
                            if patient.is_none_or(|p| p.as_bytes() != &**last) {
                                let row = batch.bytes.get(span.bytes.clone()).unwrap_or(&[]);
                                carried = Some((row.to_vec(), span));
                                batch.bytes.truncate(before);
                                break;
                            }
                        }
                        batch.rows.push(span);
                    }
                    Ok(None) => {
                        done = true;
                        break;
                    }
                    Err(e) => {
                        let _ = full_tx.send(Err(BatchError::Read(e)));
                        return;
                    }
                }
            }
            rows_read += batch.rows.len() as u64;
            if let Some(p) = &progress {
                p.store(splitter.consumed(), Ordering::Relaxed);
            }
            if !batch.rows.is_empty() && full_tx.send(Ok(batch)).is_err() {
                return;
            }
            if done {
                return;
            }
        }
    });
    (full_rx, empty_tx)
}

/// The patient id row `span` of `bytes` names, as [`patient_of`] reads it.
fn row_patient<'a>(
    worker: &'a mut Worker<'_>,
    columns: &Columns,
    bytes: &'a [u8],
    span: &RowSpan,
) -> Option<&'a str> {
    if span.kind != RowKind::Complete {
        return None;
    }
    let fields = worker.split(bytes.get(span.bytes.clone())?, span.plain)?;
    patient_of(columns, &fields)
}

/// Validates every row of `input` and writes one record per row to `output`, in order; with
/// `template`, also the acknowledgement template lines of each row, to its writer.
pub fn run(
    formulary: &Formulary,
    input: impl Read + Send,
    output: &mut dyn Write,
    printer: &dyn Printer,
    options: &BatchOptions,
    across: Across<'_>,
    mut template: Option<(&dyn Printer, &mut dyn Write)>,
) -> Result<Summary, BatchError> {
    let mut splitter = RowSplitter::new(input, options.max_field_bytes);
    let (columns, delimiter) = read_header(&mut splitter, options)?;
    let (cross, sorted) = match across {
        Across::Alone => (None, false),
        Across::Scanned(cross) => (Some(cross), false),
        Across::SortedByPatient if columns.patient_id.is_none() => {
            return Err(BatchError::NotSortedByPatient);
        }
        Across::SortedByPatient => (None, true),
    };
    // Counted beforehand when worked out from the whole file, else batch by batch.
    let scanned = cross.as_deref().map(|c| (c.patients, c.courses_read));
    let progress = options.progress.clone();
    let job = Job {
        formulary,
        columns: &columns,
        slots: columns.slots(&Field::ALL),
        options,
        printer,
        template: template.as_ref().map(|(p, _)| *p),
        delimiter,
    };
    let mut head = Vec::new();
    printer.header(&mut head);
    output.write_all(&head).map_err(BatchError::Write)?;

    let batch_rows = options.batch_rows.max(1);
    let workers = if options.sequential {
        1
    } else {
        rayon::current_num_threads().max(1)
    };
    std::thread::scope(|scope| {
        let patients = sorted.then_some(&columns);
        let (full_rx, empty_tx) =
            read_in_batches(scope, splitter, (delimiter, patients), batch_rows, progress);
        // Each worker validates whole batches, taken in turn, so that no worker waits for
        // another between batches; the records are written here, in order. A batch is taken
        // only with one of a few sets of buffers, handed back once its records are written, so
        // that memory stays bounded however far one worker runs ahead.
        let handout = Arc::new(std::sync::Mutex::new(Handout {
            batches: full_rx,
            cross,
            next: 0,
        }));
        let (buffers_tx, buffers_rx) = mpsc::sync_channel::<Processed>(workers * 2);
        for _ in 0..workers * 2 {
            let _ = buffers_tx.send(Processed::default());
        }
        let buffers_rx = Arc::new(std::sync::Mutex::new(buffers_rx));
        let (done_tx, done_rx) = mpsc::channel::<(u64, Result<Processed, BatchError>)>();
        for _ in 0..workers {
            let (handout, buffers_rx, done_tx, empty_tx) = (
                Arc::clone(&handout),
                Arc::clone(&buffers_rx),
                done_tx.clone(),
                empty_tx.clone(),
            );
            let job = &job;
            scope.spawn(move || {
                let mut found = RowFindings::default();
                let mut by_patient = Sorted::default();
                loop {
                    let buffers = buffers_rx.lock().ok().and_then(|b| b.recv().ok());
                    let Some(mut processed) = buffers else {
                        return;
                    };
                    let Some((seq, batch)) = take_batch(&handout, job.formulary, &mut found) else {
                        return;
                    };
                    let processed = batch.and_then(|batch| {
                        processed.output.clear();
                        processed.template.clear();
                        let rows = (
                            batch.bytes.as_slice(),
                            batch.rows.as_slice(),
                            batch.first_row,
                        );
                        let out = (&mut processed.output, &mut processed.template);
                        if sorted {
                            let (summary, across) = job.run_sorted(rows, &mut by_patient, out)?;
                            processed.summary = summary;
                            processed.summary.patients = across.patients;
                            processed.summary.courses_read = across.courses;
                            processed.ids = across.ids;
                        } else {
                            processed.summary = job.run(rows, &found, out);
                        }
                        let _ = empty_tx.send(batch);
                        Ok(processed)
                    });
                    if done_tx.send((seq, processed)).is_err() {
                        return;
                    }
                }
            });
        }
        drop((handout, done_tx, empty_tx));
        let mut summary = Summary::default();
        // Batches validated ahead of the next one to write.
        let mut ahead = std::collections::BTreeMap::new();
        let mut next = 0;
        // The last patient id of the batches written, when they were worked out on their own.
        let mut last_id: Option<Box<[u8]>> = None;
        for (seq, processed) in done_rx {
            ahead.insert(seq, processed);
            while let Some(processed) = ahead.remove(&next) {
                let mut processed = processed?;
                // Each batch's patients come after those of the batches before.
                if let Some((first, last)) = processed.ids.take() {
                    if last_id.is_some_and(|before| before >= first) {
                        return Err(BatchError::NotSortedByPatient);
                    }
                    last_id = Some(last);
                }
                // The records of a batch are those of the rows before any that stopped it.
                output
                    .write_all(&processed.output)
                    .map_err(BatchError::Write)?;
                if let Some((_, writer)) = &mut template {
                    writer
                        .write_all(&processed.template)
                        .map_err(BatchError::Write)?;
                }
                if let Some(bad) = processed.summary.not_utf8 {
                    return Err(BatchError::NotUtf8(bad));
                }
                summary.merge(std::mem::take(&mut processed.summary));
                next += 1;
                let _ = buffers_tx.send(processed);
            }
        }
        output.flush().map_err(BatchError::Write)?;
        if let Some((_, writer)) = &mut template {
            writer.flush().map_err(BatchError::Write)?;
        }
        if let Some((patients, courses)) = scanned {
            (summary.patients, summary.courses_read) = (patients, courses);
        }
        summary.ignored_columns = columns.ignored.clone();
        Ok(summary)
    })
}

/// Whether a drug as written may be one of the formulary's, so that its row is checked (and
/// is `invalid` if it cannot be read) rather than skipped as outside the formulary: it or
/// its leading words name one (`Diclofenac Sodium 75 MG Oral Tablet`), or it misspells one's
/// name (`diclofenak`, `diclofenak 50 mg`).
fn may_be_covered(formulary: &Formulary, drug: &str) -> bool {
    named_part(drug, |part| formulary.find_drug(part)).is_some()
        || formulary.misspelt_drug(drug).is_some()
}
