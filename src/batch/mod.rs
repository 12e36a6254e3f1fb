//! Batch validation of prescription CSV: rows in, one verdict per row out, in input order,
//! in bounded memory, on every core. Generic over any reader and writer.

mod columns;
mod reader;

pub use columns::{Columns, MissingColumn, detect_delimiter};
pub use reader::{RowKind, RowSpan, RowSplitter};

use crate::finding::{Assessment, Category, Finding, Severity, Verdict};
use crate::formulary::Formulary;
use crate::report::{Printer, Record};
use crate::request::Prescription;
use crate::validate::validate_into;
use chrono::NaiveDate;
use rayon::prelude::*;
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};

/// How a batch run behaves.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    pub as_of: NaiveDate,
    /// The field delimiter; `None` detects it from the header.
    pub delimiter: Option<u8>,
    /// A quoted field longer than this is an unbalanced quote.
    pub max_field_bytes: usize,
    /// Rows of drugs outside the formulary get `skipped` instead of `invalid`.
    pub skip_uncovered: bool,
    /// Rows per batch handed to the worker threads.
    pub batch_rows: usize,
    /// Validate on the current thread only (for comparison with the parallel run).
    pub sequential: bool,
}

impl BatchOptions {
    pub fn new(as_of: NaiveDate) -> Self {
        BatchOptions {
            as_of,
            delimiter: None,
            max_field_bytes: 64 * 1024,
            skip_uncovered: false,
            batch_rows: 4096,
            sequential: false,
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
    #[error("the header row is not valid UTF-8")]
    HeaderEncoding,
    #[error("{0}")]
    Header(#[from] MissingColumn),
}

/// What a run saw: rows, verdicts, and how often each rule fired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub rows: u64,
    pub verdicts: HashMap<Verdict, u64>,
    pub rules: HashMap<String, u64>,
}

impl Summary {
    /// The worst verdict of the run that counts toward the exit code (skipped rows do not).
    pub fn worst(&self) -> Verdict {
        self.verdicts
            .iter()
            .filter(|(v, n)| **n > 0 && **v != Verdict::Skipped)
            .map(|(v, _)| *v)
            .max()
            .unwrap_or(Verdict::Ok)
    }

    /// The `n` rules that fired most, most first (ties by name).
    pub fn top_rules(&self, n: usize) -> Vec<(&str, u64)> {
        let mut rules: Vec<(&str, u64)> =
            self.rules.iter().map(|(r, c)| (r.as_str(), *c)).collect();
        rules.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        rules.truncate(n);
        rules
    }

    fn merge(&mut self, other: Summary) {
        self.rows += other.rows;
        for (v, n) in other.verdicts {
            *self.verdicts.entry(v).or_default() += n;
        }
        for (r, n) in other.rules {
            *self.rules.entry(r).or_default() += n;
        }
    }

    fn count(&mut self, assessment: &Assessment<'_>) {
        self.rows += 1;
        *self.verdicts.entry(assessment.verdict()).or_default() += 1;
        for f in &assessment.findings {
            if f.severity > Severity::Info {
                match self.rules.get_mut(f.rule.as_ref()) {
                    Some(n) => *n += 1,
                    None => {
                        self.rules.insert(f.rule.to_string(), 1);
                    }
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
}

/// Per-thread scratch space for parsing rows and validating them.
struct Worker<'f> {
    csv: csv_core::Reader,
    fields: Vec<u8>,
    ends: Vec<usize>,
    assessment: Assessment<'f>,
}

impl<'f> Worker<'f> {
    fn new(delimiter: u8) -> Self {
        Worker {
            csv: csv_core::ReaderBuilder::new()
                .delimiter(delimiter)
                .terminator(csv_core::Terminator::Any(b'\n'))
                .build(),
            fields: Vec::new(),
            ends: Vec::new(),
            assessment: Assessment::default(),
        }
    }

    /// Splits a row into fields (unquoting); returns the field count.
    fn parse(&mut self, row: &[u8]) -> usize {
        self.csv.reset();
        if self.fields.len() < row.len() + 1 {
            self.fields.resize(row.len() + 1, 0);
        }
        let max_fields = row.len() + 1;
        if self.ends.len() < max_fields {
            self.ends.resize(max_fields, 0);
        }
        let (mut input, mut out_at, mut ends_at) = (row, 0, 0);
        let mut finishing = false;
        loop {
            let (result, read, written, ends) =
                self.csv
                    .read_record(input, &mut self.fields[out_at..], &mut self.ends[ends_at..]);
            input = &input[read..];
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

    fn field(&self, count: usize, index: usize) -> &[u8] {
        if index >= count {
            return &[];
        }
        let start = if index == 0 {
            0
        } else {
            self.ends.get(index - 1).copied().unwrap_or(0)
        };
        let end = self.ends.get(index).copied().unwrap_or(start);
        self.fields.get(start..end).unwrap_or(&[])
    }
}

const ROW_SOURCE: &str =
    "rxcheck input rules: every CSV row has the header's fields, as UTF-8, with balanced quotes";

fn row_invalid<'f>(assessment: &mut Assessment<'f>, rule: &'static str, message: String) {
    assessment.findings.push(Finding {
        severity: Severity::Invalid,
        category: Category::Input,
        rule: Cow::Borrowed(rule),
        message: Cow::Owned(message),
        source: Cow::Borrowed(ROW_SOURCE),
    });
}

/// Everything a worker needs to check a row.
struct Job<'a, 'f> {
    formulary: &'f Formulary,
    columns: &'a Columns,
    options: &'a BatchOptions,
    printer: &'a dyn Printer,
    delimiter: u8,
}

impl<'f> Job<'_, 'f> {
    /// Checks the rows of `spans` and appends their records to `out`.
    fn run(&self, bytes: &[u8], spans: &[RowSpan], out: &mut Vec<u8>) -> Summary {
        let mut worker = Worker::new(self.delimiter);
        let mut summary = Summary::default();
        for span in spans {
            self.row(
                &mut worker,
                bytes.get(span.bytes.clone()).unwrap_or(&[]),
                span,
                out,
                &mut summary,
            );
        }
        summary
    }

    fn row(
        &self,
        w: &mut Worker<'f>,
        row: &[u8],
        span: &RowSpan,
        out: &mut Vec<u8>,
        summary: &mut Summary,
    ) {
        let mut assessment = std::mem::take(&mut w.assessment);
        assessment.clear();
        let mut rx_id = String::new();
        match span.kind {
            RowKind::UnbalancedQuote => row_invalid(
                &mut assessment,
                "input.row",
                format!(
                    "unbalanced quote: a quoted field opened on line {} never closes (or runs past {} bytes); reading resumed on the next line",
                    span.line, self.options.max_field_bytes
                ),
            ),
            RowKind::TooLong => row_invalid(
                &mut assessment,
                "input.row",
                format!(
                    "row on line {} is too long to be a prescription; it was skipped",
                    span.line
                ),
            ),
            RowKind::Complete => {
                let count = w.parse(row);
                rx_id = String::from_utf8_lossy(w.field(count, self.columns.rx_id)).into_owned();
                self.check_fields(w, count, &mut assessment);
            }
        }
        let record = Record {
            line: Some(span.line),
            rx_id: Some(&rx_id),
            assessment: &assessment,
        };
        self.printer.record(out, &record);
        summary.count(&assessment);
        w.assessment = assessment;
    }

    fn check_fields(&self, w: &Worker<'f>, count: usize, assessment: &mut Assessment<'f>) {
        let c = self.columns;
        if count != c.width {
            row_invalid(
                assessment,
                "input.row",
                format!("row has {count} fields; the header has {}", c.width),
            );
            return;
        }
        let field = |index: Option<usize>, name: &'static str| -> Result<&str, &'static str> {
            match index {
                None => Ok(""),
                Some(i) => std::str::from_utf8(w.field(count, i)).map_err(|_| name),
            }
        };
        let fields = (|| {
            Ok::<_, &'static str>(Prescription {
                rx_id: field(Some(c.rx_id), "rx_id")?,
                drug: field(Some(c.drug), "drug")?,
                form: field(Some(c.form), "form")?,
                dose: field(Some(c.dose), "dose")?,
                times_per_day: field(Some(c.times_per_day), "times_per_day")?,
                strength: field(c.strength, "strength")?,
                duration_days: field(c.duration_days, "duration_days")?,
                age_years: field(c.age_years, "age_years")?,
                birth_date: field(c.birth_date, "birth_date")?,
                date: field(c.date, "date")?,
                pregnant: field(c.pregnant, "pregnant")?,
                gestational_week: field(c.gestational_week, "gestational_week")?,
                breastfeeding: field(c.breastfeeding, "breastfeeding")?,
                conditions: field(c.conditions, "conditions")?,
                allergies: field(c.allergies, "allergies")?,
                co_medications: field(c.co_medications, "co_medications")?,
            })
        })();
        let rx = match fields {
            Ok(rx) => rx,
            Err(name) => {
                row_invalid(
                    assessment,
                    "input.encoding",
                    format!("field `{name}` is not valid UTF-8"),
                );
                return;
            }
        };
        if self.options.skip_uncovered
            && !rx.drug.trim().is_empty()
            && self.formulary.find_drug(rx.drug).is_none()
        {
            assessment.skipped = true;
            return;
        }
        validate_into(self.formulary, &rx, self.options.as_of, assessment);
        if rx.rx_id.trim().is_empty() {
            row_invalid(assessment, "input.rx_id", "rx_id is empty".into());
        }
    }
}

/// Validates every row of `input` and writes one record per row to `output`, in order.
/// `progress` is updated with the input bytes consumed so far.
pub fn run(
    formulary: &Formulary,
    input: impl Read + Send,
    output: &mut dyn Write,
    printer: &dyn Printer,
    options: &BatchOptions,
    progress: Option<Arc<AtomicU64>>,
) -> Result<Summary, BatchError> {
    let mut splitter = RowSplitter::new(input, options.max_field_bytes);
    let mut header_bytes = Vec::new();
    let probe = options.delimiter.unwrap_or(b',');
    let header = match splitter
        .next_row(probe, &mut header_bytes)
        .map_err(BatchError::Read)?
    {
        Some(span) if span.kind == RowKind::Complete => span,
        Some(_) => return Err(BatchError::HeaderEncoding),
        None => return Err(BatchError::NoHeader),
    };
    let header_row = header_bytes.get(header.bytes.clone()).unwrap_or(&[]);
    let delimiter = options
        .delimiter
        .unwrap_or_else(|| detect_delimiter(header_row));
    let mut header_worker = Worker::new(delimiter);
    let count = header_worker.parse(header_row);
    let names: Vec<&str> = (0..count)
        .map(|i| {
            std::str::from_utf8(header_worker.field(count, i))
                .map_err(|_| BatchError::HeaderEncoding)
        })
        .collect::<Result<_, _>>()?;
    let columns = Columns::from_header(names)?;
    let job = Job {
        formulary,
        columns: &columns,
        options,
        printer,
        delimiter,
    };
    let mut head = Vec::new();
    printer.header(&mut head);
    output.write_all(&head).map_err(BatchError::Write)?;

    let batch_rows = options.batch_rows.max(1);
    let (full_tx, full_rx) = mpsc::sync_channel::<io::Result<Batch>>(2);
    let (empty_tx, empty_rx) = mpsc::channel::<Batch>();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            loop {
                let mut batch = empty_rx.try_recv().unwrap_or_default();
                batch.bytes.clear();
                batch.rows.clear();
                let mut done = false;
                while batch.rows.len() < batch_rows {
                    match splitter.next_row(delimiter, &mut batch.bytes) {
                        Ok(Some(span)) => batch.rows.push(span),
                        Ok(None) => {
                            done = true;
                            break;
                        }
                        Err(e) => {
                            let _ = full_tx.send(Err(e));
                            return;
                        }
                    }
                }
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
        let mut summary = Summary::default();
        let chunks = rayon::current_num_threads().max(1) * 4;
        let mut outputs: Vec<Vec<u8>> = Vec::new();
        for batch in full_rx {
            let batch = batch.map_err(BatchError::Read)?;
            let per_chunk = batch.rows.len().div_ceil(chunks).max(1);
            let pieces: Vec<&[RowSpan]> = batch.rows.chunks(per_chunk).collect();
            outputs.resize_with(pieces.len().max(outputs.len()), Vec::new);
            let work = |(spans, out): (&&[RowSpan], &mut Vec<u8>)| {
                out.clear();
                job.run(&batch.bytes, spans, out)
            };
            let summaries: Vec<Summary> = if options.sequential {
                pieces.iter().zip(outputs.iter_mut()).map(work).collect()
            } else {
                pieces
                    .par_iter()
                    .zip(outputs.par_iter_mut())
                    .map(work)
                    .collect()
            };
            for (s, out) in summaries.into_iter().zip(&outputs) {
                summary.merge(s);
                output.write_all(out).map_err(BatchError::Write)?;
            }
            let _ = empty_tx.send(batch);
        }
        output.flush().map_err(BatchError::Write)?;
        Ok(summary)
    })
}
