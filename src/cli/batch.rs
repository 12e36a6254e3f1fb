//! `rxcheck batch`: every row of a prescription CSV through the validator, one verdict per
//! row, in order, with a summary on stderr.

use super::decode::decoded;
use super::{DateArgs, Fatal, FormularyArgs, load_acknowledgements, load_formulary, stdout_color};
use indicatif::{ProgressBar, ProgressStyle};
use rxcheck::ack::Acknowledgements;
use rxcheck::batch::{self, Across, BatchError, BatchOptions, ColumnMap, Summary};
use rxcheck::report::{
    AckTemplatePrinter, CsvPrinter, Detail, JsonPrinter, Printer, Record, TextPrinter,
};
use rxcheck::{Assessment, Severity, Verdict, fhir};
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(clap::Args)]
#[command(
    after_help = "Columns (header names in any order; case, spaces, hyphens, underscores, a note in
parentheses and a plural do not matter, and common synonyms are accepted: see the README):
  required: rx_id, drug, form, dose, times_per_day, and birth_date or age_years
  optional: patient_id, date, sex, strength, unit_volume, duration_days, pregnant,
            gestational_week, breastfeeding, conditions, allergies, co_medications
            (lists are `;`-separated)
A column that nearly names one of these stops the run (map it or ignore it); other unknown
columns are listed in the summary.

The output format follows the -o extension (.csv, .jsonl/.json, .txt) unless --format is
given; -o never names the input file. The CSV report's columns are line, rx_id, verdict,
findings (category:rule), patient_id, invalid, reject, warn, info (counts) and details
(severity category rule: message).

Examples:
  rxcheck batch examples/prescriptions.csv
  rxcheck batch exports/2026-11.csv -o verdicts.jsonl --skip-uncovered
  rxcheck batch export.csv --column drug=\"Medicine name\" --ignore-column Notes
  rxcheck batch prescriptions_mimic.csv --columns mimic.toml -o verdicts.csv
  rxcheck batch apteka.csv --encoding windows-1251 --date-format %d.%m.%Y -o report.csv --excel
  cat claims.csv | rxcheck batch - --format csv > verdicts.csv
  rxcheck batch --fhir orders.ndjson -o verdicts.jsonl
  rxcheck batch export.csv --site site.toml -o report.jsonl --write-ack-template to-review.jsonl
  rxcheck batch export.csv --acknowledged to-review.jsonl --summary-json summary.json"
)]
pub struct Args {
    /// Prescription CSV file; `-` or nothing reads standard input
    #[arg(conflicts_with = "fhir")]
    file: Option<PathBuf>,
    /// Read FHIR R4 JSON instead of CSV: one Bundle (or MedicationRequest) per line, NDJSON;
    /// `-` reads standard input. Each order gets a record with its line
    #[arg(long, value_name = "FILE.ndjson")]
    fhir: Option<PathBuf>,
    /// Write records to this file instead of standard output (`-` is standard output)
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Output format [default: jsonl to a file or pipe, text on a terminal]
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// How much of each finding the records show: `full` (severity, category, rule, message,
    /// source) or `compact` (severity and rule id, to join with `rxcheck formulary show`)
    #[arg(long, value_enum, default_value = "full")]
    detail: DetailArg,
    /// Leave findings below this severity out of the records (verdicts are unchanged)
    #[arg(long, value_enum, default_value = "info", value_name = "SEVERITY")]
    min_severity: SeverityArg,
    /// Acknowledgements (JSON Lines) of findings already overridden: a covered finding is
    /// reported, marked, and no longer raises the verdict or the exit code
    #[arg(long, value_name = "FILE.jsonl")]
    acknowledged: Option<PathBuf>,
    /// Also write the warn and reject findings not yet acknowledged to this file, one JSON
    /// line each with the prescription's fingerprint, for a pharmacist to fill in `reason`,
    /// `comment`, `by` and `at` and give back with --acknowledged
    #[arg(long, value_name = "FILE.jsonl")]
    write_ack_template: Option<PathBuf>,
    /// Also write the summary as JSON to this file (rows, verdicts, and per rule the findings
    /// fired, acknowledged and changed by the site overlay), for dashboards
    #[arg(long, value_name = "FILE.json")]
    summary_json: Option<PathBuf>,
    /// Write the CSV report for a spreadsheet: a UTF-8 byte order mark, and the input's
    /// delimiter [implies --format csv]
    #[arg(long)]
    excel: bool,
    /// Read column HEADER as FIELD (repeatable): `--column drug=drug_name`
    #[arg(long = "column", value_name = "FIELD=HEADER")]
    column: Vec<String>,
    /// A TOML file mapping fields to headers: `drug = "drug_name"`,
    /// `dose = ["dose_val_rx", "dose_unit_rx"]` (joined by a space), `ignore = ["hadm_id"]`
    #[arg(long, value_name = "FILE")]
    columns: Option<PathBuf>,
    /// Ignore this column even though it looks like a field's (repeatable)
    #[arg(long = "ignore-column", value_name = "HEADER")]
    ignore_column: Vec<String>,
    /// The file's text encoding, as a WHATWG label (`windows-1252`, `iso-8859-5`, `utf-16le`)
    /// [default: UTF-8, or UTF-16 when the file starts with its byte order mark]
    #[arg(long, value_parser = parse_encoding, value_name = "NAME")]
    encoding: Option<&'static encoding_rs::Encoding>,
    /// Field delimiter: `,`, `;`, `tab` or `|` [default: detected from the header]
    #[arg(long, value_parser = parse_delimiter)]
    delimiter: Option<u8>,
    /// A quoted field longer than this many bytes is an unbalanced quote
    #[arg(long, default_value_t = 64 * 1024, value_name = "BYTES")]
    max_field_bytes: usize,
    /// Give rows of drugs outside the formulary the verdict `skipped` instead of `invalid`
    #[arg(long)]
    skip_uncovered: bool,
    /// Check each patient's concurrent prescriptions together (cumulative daily dose,
    /// duplicate therapy, interactions across rows) [default: on when there is a `patient_id`
    /// column]. A file sorted by patient_id, written with -o to a file, takes one pass; any
    /// other order, or output elsewhere, two
    #[arg(long, overrides_with = "no_by_patient")]
    by_patient: bool,
    /// Check every row on its own, even when there is a `patient_id` column
    #[arg(long)]
    no_by_patient: bool,
    /// Worker threads [default: one per core]
    #[arg(long, short = 'j', value_name = "N")]
    threads: Option<usize>,
    #[command(flatten)]
    dates: DateArgs,
    /// Do not print the summary on stderr
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    formulary: FormularyArgs,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum DetailArg {
    Full,
    Compact,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SeverityArg {
    Info,
    Warn,
    Reject,
    Invalid,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Jsonl,
    Csv,
    Text,
}

fn parse_encoding(text: &str) -> Result<&'static encoding_rs::Encoding, String> {
    encoding_rs::Encoding::for_label(text.trim().as_bytes()).ok_or_else(|| {
        format!("`{text}` is not an encoding; use a label such as windows-1252, iso-8859-1, koi8-r or utf-16le")
    })
}

fn parse_delimiter(text: &str) -> Result<u8, String> {
    match text {
        "," | "comma" => Ok(b','),
        ";" | "semicolon" => Ok(b';'),
        "\t" | "tab" | "\\t" => Ok(b'\t'),
        "|" | "pipe" => Ok(b'|'),
        _ => Err(format!(
            "`{text}` is not a delimiter; use `,`, `;`, `tab` or `|`"
        )),
    }
}

/// The column mapping of `--columns`, `--column` and `--ignore-column`, in that order.
fn column_map(args: &Args) -> Result<ColumnMap, Fatal> {
    let mut map = match &args.columns {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Fatal(format!("cannot read `{}`: {e}", path.display())))?;
            ColumnMap::from_toml(&text).map_err(|e| Fatal(format!("`{}`: {e}", path.display())))?
        }
        None => ColumnMap::default(),
    };
    for pair in &args.column {
        map.add_pair(pair)
            .map_err(|e| Fatal(format!("--column: {e}")))?;
    }
    map.ignore.extend(args.ignore_column.iter().cloned());
    Ok(map)
}

/// Refuses outputs that are one of the run's inputs (the same path, or the same file by a
/// link), or the same file as each other.
fn refuse_overwriting_input(args: &Args) -> Result<(), Fatal> {
    let standard = |p: Option<&PathBuf>| p.is_none_or(|p| p.as_os_str() == "-");
    // Standard input or output redirected to a file is that file.
    let file = match args.file.as_ref().or(args.fhir.as_ref()) {
        from if standard(from) => redirected("/dev/stdin"),
        from => from.cloned(),
    };
    let inputs = [
        (file.as_ref(), "the input file"),
        (args.acknowledged.as_ref(), "the acknowledgements file"),
        (args.formulary.site.as_ref(), "the site overlay"),
        (args.columns.as_ref(), "the column mapping"),
        (args.formulary.formulary.as_ref(), "the formulary"),
    ];
    // A formulary folder's files are inputs too: no output goes in it.
    let formulary_folder = (args.formulary.formulary.as_ref())
        .filter(|f| f.is_dir())
        .and_then(|f| Some((resolved(f)?, f)));
    let (output, flag) = match args.output.as_ref() {
        to if standard(to) => (redirected("/dev/stdout"), "standard output"),
        to => (to.cloned(), "-o"),
    };
    let outputs = [
        (output.as_ref(), flag),
        (args.write_ack_template.as_ref(), "--write-ack-template"),
        (args.summary_json.as_ref(), "--summary-json"),
    ];
    for (i, (output, flag)) in outputs.iter().enumerate() {
        let Some(output) = output else { continue };
        let earlier = outputs
            .iter()
            .take(i)
            .filter_map(|(o, f)| Some((o.as_ref()?, *f)));
        // An earlier output is written to its own `NAME.partial` first: that is taken too.
        let clashes = inputs
            .iter()
            .filter_map(|(p, what)| Some(((*p)?.to_path_buf(), what.to_string())))
            .chain(earlier.flat_map(|(p, f)| {
                [
                    (p.to_path_buf(), format!("the file of {f}")),
                    (partial_path(p), format!("where {f} is first written")),
                ]
            }));
        // A file is written beside its name first (see `OutputFile`): that name must not be
        // an input either.
        let partial = partial_path(output);
        if let Some((folder, given)) = &formulary_folder {
            if resolved(output).is_some_and(|o| o.starts_with(folder)) {
                return Err(Fatal(format!(
                    "{flag} `{}` is in the formulary folder `{}`; write it to another folder",
                    output.display(),
                    given.display()
                )));
            }
        }
        for (other, what) in clashes {
            let other = &other;
            if same_file(other, output) {
                return Err(Fatal(format!(
                    "{flag} `{}` is {what}; write it to another file",
                    output.display()
                )));
            }
            if same_file(other, &partial) {
                return Err(Fatal(format!(
                    "{flag} `{}` is first written to `{}`, which is {what}; write it to another file",
                    output.display(),
                    partial.display()
                )));
            }
        }
    }
    Ok(())
}

/// A standard stream's path (`/dev/stdin`, `/dev/stdout`) when a shell redirected it to or from
/// a regular file; `None` for a terminal or a pipe.
fn redirected(stream: &str) -> Option<PathBuf> {
    let path = std::fs::canonicalize(stream).ok()?;
    std::fs::metadata(&path)
        .is_ok_and(|m| m.is_file())
        .then_some(path)
}

/// Whether two paths name the same file (the same path, or one file by a link).
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (resolved(a), resolved(b)) {
        (Some(a), Some(b)) => a == b || same_inode(&a, &b),
        _ => a == b,
    }
}

/// A path made absolute with links resolved; for a file not yet written, its folder's
/// (`./out.jsonl.partial` and `out.jsonl.partial` are one file).
fn resolved(path: &std::path::Path) -> Option<PathBuf> {
    std::fs::canonicalize(path).ok().or_else(|| {
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
        let folder = std::fs::canonicalize(folder.unwrap_or(std::path::Path::new("."))).ok()?;
        Some(folder.join(path.file_name()?))
    })
}

#[cfg(unix)]
fn same_inode(a: &std::path::Path, b: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_inode(_: &std::path::Path, _: &std::path::Path) -> bool {
    false
}

/// The format an output file's extension names, if it names one.
/// With `--excel`, the input's delimiter for the report: as given, or detected from the header
/// line (of standard input, already read, or of the file).
fn excel_delimiter(args: &Args, stdin_header: &[u8]) -> Result<Option<u8>, Fatal> {
    if !args.excel {
        return Ok(None);
    }
    if let Some(delimiter) = args.delimiter {
        return Ok(Some(delimiter));
    }
    let mut header = Vec::new();
    let line = match args.file.as_ref().filter(|p| p.as_os_str() != "-") {
        None => stdin_header,
        Some(path) => {
            let file = File::open(path)
                .map_err(|e| Fatal(format!("cannot open `{}`: {e}", path.display())))?;
            read_header_line(
                &mut io::BufReader::new(decoded(file, args.encoding)),
                &mut header,
            )
            .map_err(|e| Fatal(format!("cannot read input: {e}")))?;
            &header
        }
    };
    Ok(Some(batch::detect_delimiter(line)))
}

fn format_of(path: &std::path::Path) -> Option<Format> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "csv" => Some(Format::Csv),
        "jsonl" | "json" | "ndjson" => Some(Format::Jsonl),
        "txt" | "text" => Some(Format::Text),
        _ => None,
    }
}

pub fn run(mut args: Args) -> Result<i32, Fatal> {
    // `-o -` is standard output, as `-` is standard input.
    args.output = args.output.filter(|p| p.as_os_str() != "-");
    refuse_overwriting_input(&args)?;
    let formulary = load_formulary(&args.formulary)?;
    let acknowledgements = args
        .acknowledged
        .as_deref()
        .map(load_acknowledgements)
        .transpose()?
        .map(Arc::new);
    if let Some(path) = &args.fhir {
        return run_fhir(&args, &formulary, path, acknowledgements.as_deref());
    }
    let from_stdin = args.file.as_ref().is_none_or(|p| p.as_os_str() == "-");
    let by_patient = !args.no_by_patient;
    let mut options = BatchOptions::new(args.dates.dates());
    options.acknowledgements = acknowledgements;
    // Before any parallel work (the first pass by patient uses the pool too).
    if let Some(n) = args.threads {
        if n == 0 {
            return Err(Fatal("--threads must be at least 1".into()));
        }
        options.sequential = n == 1;
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    options.delimiter = args.delimiter;
    options.max_field_bytes = args.max_field_bytes.max(1);
    options.skip_uncovered = args.skip_uncovered;
    options.columns = column_map(&args)?;
    // The checks across a patient's rows keep what outgrows memory in temporary files.
    options.spill = Some(batch::SpillTo::new(tempfile::tempfile));
    // Checks across rows read the input twice: standard input with a `patient_id` column is
    // kept in a temporary file; without one it streams as it comes.
    // Standard input is decoded as it is read, so the header and a spooled copy are UTF-8.
    let mut stdin = io::BufReader::new(decoded(io::stdin(), args.encoding));
    let mut stdin_header = Vec::new();
    if from_stdin {
        read_header_line(&mut stdin, &mut stdin_header)
            .map_err(|e| Fatal(format!("cannot read input: {e}")))?;
    }
    let header_delimiter = excel_delimiter(&args, &stdin_header)?;
    let spooled = if by_patient && from_stdin {
        let columns =
            batch::header_columns(&stdin_header, &options).map_err(|e| Fatal(e.to_string()))?;
        if columns.patient_id.is_some() {
            let mut spool = tempfile::NamedTempFile::new()
                .map_err(|e| Fatal(format!("cannot create a temporary file: {e}")))?;
            spool
                .write_all(&stdin_header)
                .and_then(|()| io::copy(&mut stdin, &mut spool).map(drop))
                .map_err(|e| Fatal(format!("cannot keep the input in a temporary file: {e}")))?;
            stdin_header.clear();
            Some(spool)
        } else {
            None
        }
    } else {
        None
    };
    let path = match (&spooled, &args.file) {
        (Some(spool), _) => Some(spool.path().to_path_buf()),
        (None, Some(p)) if !from_stdin => Some(p.clone()),
        _ => None,
    };
    let file_encoding = if spooled.is_some() {
        None
    } else {
        args.encoding
    };
    let open = |p: &PathBuf| {
        File::open(p).map_err(|e| Fatal(format!("cannot open `{}`: {e}", p.display())))
    };
    let open_input = |p: &PathBuf| -> Result<(Box<dyn Read + Send>, Option<u64>), Fatal> {
        let file = open(p)?;
        let size = match spooled {
            Some(_) => None,
            None => file.metadata().ok().map(|m| m.len()),
        };
        Ok((decoded(file, file_encoding), size))
    };
    options.min_severity = min_severity(&args);
    let printer = choose_printer(&args, &formulary, header_delimiter)?;
    let checking = (&args, &formulary, printer.as_ref());
    // A file sorted by patient id is checked in one pass, each patient's rows together as they
    // come. A row out of that order stops the pass: what it wrote is dropped, and the file is
    // checked again with the findings across rows worked out from the whole file first. Only
    // output to files can be dropped, so output to a terminal, pipe or device takes the two
    // passes at once.
    if let (Some(p), true) = (&path, by_patient && output_can_be_dropped(&args)) {
        let result = check_rows(
            checking,
            &mut options,
            open_input(p)?,
            Across::SortedByPatient,
        )?;
        if !matches!(result, Err(BatchError::NotSortedByPatient)) {
            let note = by_patient_note(&result, " (the file is sorted by patient)");
            return finish(&args, result, note);
        }
    }
    let mut cross = match (&path, by_patient) {
        (Some(p), true) => {
            match batch::scan_patients(&formulary, decoded(open(p)?, file_encoding), &options) {
                Ok(found) => found,
                Err(e) => return Err(Fatal(e.to_string())),
            }
        }
        _ => None,
    };
    if args.by_patient && cross.is_none() {
        return Err(Fatal("--by-patient needs a `patient_id` column".into()));
    }
    let input = match &path {
        None => (
            Box::new(io::Cursor::new(stdin_header).chain(stdin)) as Box<dyn Read + Send>,
            None,
        ),
        Some(p) => open_input(p)?,
    };
    let across = match cross.as_mut() {
        Some(cross) => Across::Scanned(cross),
        None => Across::Alone,
    };
    let result = check_rows(checking, &mut options, input, across)?;
    let note = cross.and(by_patient_note(&result, ""));
    finish(&args, result, note)
}

/// The summary's line on the checks across rows, with `how` they were made.
fn by_patient_note(result: &Result<Summary, BatchError>, how: &str) -> Option<String> {
    let summary = result.as_ref().ok()?;
    Some(format!(
        "by patient: {} rows of {} patients checked together{how}",
        summary.courses_read, summary.patients
    ))
}

/// Whether the output goes to files that a run stopped part way can drop (the records, and
/// the acknowledgement template when one is written), rather than to standard output or a
/// device.
fn output_can_be_dropped(args: &Args) -> bool {
    args.output.as_deref().is_some_and(|path| !is_device(path))
}

/// Whether `path` names a device or pipe (`/dev/null`, a FIFO), written to directly.
fn is_device(path: &std::path::Path) -> bool {
    path.exists() && !path.is_file()
}

/// Checks the rows of `input` (with its size, when known, for the progress bar), writing the
/// records and the acknowledgement template; `Ok(Err)` when the run stopped (its files are
/// then dropped).
fn check_rows(
    (args, formulary, printer): (&Args, &rxcheck::Formulary, &dyn Printer),
    options: &mut BatchOptions,
    (input, size): (Box<dyn Read + Send>, Option<u64>),
    across: Across<'_>,
) -> Result<Result<Summary, BatchError>, Fatal> {
    let progress = Arc::new(AtomicU64::new(0));
    let bar = progress_bar(size, !args.quiet);
    let ticker = bar.clone().map(|bar| {
        let progress = Arc::clone(&progress);
        std::thread::spawn(move || {
            while !bar.is_finished() {
                bar.set_position(progress.load(Ordering::Relaxed));
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    });

    options.progress = Some(Arc::clone(&progress));
    let mut template = args
        .write_ack_template
        .as_deref()
        .map(OutputFile::create)
        .transpose()?;
    let run = |out: &mut dyn Write| {
        let template = template.as_mut().map(|t| {
            (
                &AckTemplatePrinter as &dyn Printer,
                &mut t.writer as &mut dyn Write,
            )
        });
        batch::run(formulary, input, out, printer, options, across, template)
    };
    let result = write_report(args, run)?;
    let result = finish_template(result, template)?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    if let Some(t) = ticker {
        let _ = t.join();
    }
    Ok(result)
}

/// The output buffer: small writes (a header, a summary) gather in it, while the records of a
/// batch of rows, larger, go straight through instead of being copied into it.
const OUTPUT_BUFFER: usize = 64 * 1024;

/// Where a file is written before it is renamed into place: `NAME.partial` beside it.
fn partial_path(path: &std::path::Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

/// A file written beside its name and renamed into place when complete, so a failed run
/// never leaves output that looks whole.
struct OutputFile {
    path: PathBuf,
    partial: PathBuf,
    writer: BufWriter<File>,
}

impl OutputFile {
    fn create(path: &std::path::Path) -> Result<OutputFile, Fatal> {
        let partial = partial_path(path);
        let file = File::create(&partial)
            .map_err(|e| Fatal(format!("cannot create `{}`: {e}", partial.display())))?;
        Ok(OutputFile {
            path: path.to_path_buf(),
            partial,
            writer: BufWriter::with_capacity(OUTPUT_BUFFER, file),
        })
    }

    /// Flushes the file and renames it into place.
    fn commit(mut self) -> Result<(), Fatal> {
        let flushed = self.writer.flush();
        drop(self.writer);
        flushed
            .and_then(|()| std::fs::rename(&self.partial, &self.path))
            .map_err(|e| Fatal(format!("cannot write `{}`: {e}", self.path.display())))
    }

    /// Removes the partial file of a failed run.
    fn abandon(self) {
        drop(self.writer);
        let _ = std::fs::remove_file(&self.partial);
    }
}

/// Puts the acknowledgement template in place when the run succeeded, or removes it.
fn finish_template(
    result: Result<Summary, BatchError>,
    template: Option<OutputFile>,
) -> Result<Result<Summary, BatchError>, Fatal> {
    match (template, &result) {
        (Some(t), Ok(_)) => t.commit()?,
        (Some(t), Err(_)) => t.abandon(),
        (None, _) => {}
    }
    Ok(result)
}

/// The exit code of a finished run, with its summary on stderr (unless `-q`) and in the
/// `--summary-json` file.
fn finish(
    args: &Args,
    result: Result<Summary, BatchError>,
    note: Option<String>,
) -> Result<i32, Fatal> {
    let summary = match result {
        Ok(summary) => summary,
        // The reader stopped reading (`| head`): the rows after the last record it read were
        // not all checked, so the exit code cannot speak for them.
        Err(BatchError::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
            return Err(Fatal(
                "the output was closed before the run ended (broken pipe): not every row was checked".into(),
            ));
        }
        Err(e) => return Err(Fatal(e.to_string())),
    };
    if let Some(path) = &args.summary_json {
        let mut file = OutputFile::create(path)?;
        let mut json = serde_json::to_string_pretty(&summary_json(args, &summary))?;
        json.push('\n');
        file.writer
            .write_all(json.as_bytes())
            .map_err(|e| Fatal(format!("cannot write `{}`: {e}", path.display())))?;
        file.commit()?;
    }
    if !args.quiet {
        eprint!("{}", render_summary(&summary));
        if let Some(note) = note {
            eprintln!("{note}");
        }
    }
    Ok(summary.worst().exit_code())
}

/// `batch --fhir`: one FHIR document per line (NDJSON), each order a record with its line, in
/// order; a line that cannot be read is an `invalid` record, never lost.
fn run_fhir(
    args: &Args,
    formulary: &rxcheck::Formulary,
    path: &std::path::Path,
    acknowledgements: Option<&Acknowledgements>,
) -> Result<i32, Fatal> {
    let dates = args.dates.dates();
    let excel = args.excel.then_some(args.delimiter.unwrap_or(b','));
    let printer = choose_printer(args, formulary, excel)?;
    let mut template = args
        .write_ack_template
        .as_deref()
        .map(OutputFile::create)
        .transpose()?;
    let mut input: Box<dyn io::BufRead> = if path.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        let file = File::open(path)
            .map_err(|e| Fatal(format!("cannot open `{}`: {e}", path.display())))?;
        Box::new(io::BufReader::new(file))
    };
    let run = |out: &mut dyn Write| {
        let mut summary = Summary::default();
        let mut bytes = Vec::new();
        printer.header(&mut bytes);
        let mut line = Vec::new();
        let mut number = 0u64;
        loop {
            line.clear();
            let read =
                io::BufRead::read_until(&mut input, b'\n', &mut line).map_err(BatchError::Read)?;
            if read == 0 {
                break;
            }
            number += 1;
            let checked = match std::str::from_utf8(&line) {
                Ok(text) if text.trim().is_empty() => continue,
                Ok(text) => fhir::check_document(formulary, text, &dates),
                Err(e) => {
                    let mut assessment = Assessment::default();
                    assessment.findings.push(fhir::finding(
                        Severity::Invalid,
                        format!(
                            "line {number} is not UTF-8 (byte {} is not): FHIR JSON is UTF-8",
                            e.valid_up_to() + 1
                        ),
                    ));
                    vec![fhir::Checked {
                        rx_id: String::new(),
                        drug: None,
                        unidentified: true,
                        assessment,
                        inputs: String::new(),
                    }]
                }
            };
            for mut c in checked {
                if let Some(acks) = acknowledgements {
                    acks.apply(&c.rx_id, || c.inputs.clone(), &mut c.assessment);
                }
                let record = Record {
                    line: Some(number),
                    rx_id: Some(c.rx_id.as_str()),
                    patient_id: None,
                    assessment: &c.assessment,
                    min_severity: min_severity(args),
                    inputs: Some(c.inputs.as_str()),
                };
                printer.record(&mut bytes, &record);
                if let Some(t) = &mut template {
                    let mut lines = Vec::new();
                    AckTemplatePrinter.record(&mut lines, &record);
                    t.writer.write_all(&lines).map_err(BatchError::Write)?;
                }
                summary.count(&c.assessment);
            }
            out.write_all(&bytes).map_err(BatchError::Write)?;
            bytes.clear();
        }
        out.write_all(&bytes).map_err(BatchError::Write)?;
        out.flush().map_err(BatchError::Write)?;
        Ok(summary)
    };
    let result = write_report(args, run)?;
    let result = finish_template(result, template)?;
    finish(args, result, None)
}

/// The printer the arguments ask for: `--format`, else the `-o` extension, else JSON Lines to
/// a file or pipe and text on a terminal (`--excel` makes it CSV with the input's delimiter).
fn choose_printer<'f>(
    args: &Args,
    formulary: &'f rxcheck::Formulary,
    header_delimiter: Option<u8>,
) -> Result<Box<dyn Printer + 'f>, Fatal> {
    let to_terminal = args.output.is_none() && io::stdout().is_terminal();
    let format = args
        .format
        .or_else(|| args.output.as_deref().and_then(format_of));
    let format = match (header_delimiter, format) {
        (None, format) => format,
        (Some(_), None | Some(Format::Csv)) => Some(Format::Csv),
        (Some(_), Some(_)) => {
            return Err(Fatal(
                "--excel writes the CSV report: drop --format, or give -o a .csv name".into(),
            ));
        }
    };
    let detail = match args.detail {
        DetailArg::Full => Detail::Full,
        DetailArg::Compact => Detail::Compact,
    };
    let json = || {
        let mut printer = JsonPrinter::for_formulary(formulary);
        printer.detail = detail;
        printer
    };
    Ok(match format {
        Some(Format::Jsonl) => Box::new(json()),
        Some(Format::Csv) => Box::new(CsvPrinter {
            delimiter: header_delimiter.unwrap_or(b','),
            byte_order_mark: header_delimiter.is_some(),
            detail,
        }),
        Some(Format::Text) => Box::new(TextPrinter {
            color: to_terminal && stdout_color(),
            detail,
        }),
        None if to_terminal => Box::new(TextPrinter {
            color: stdout_color(),
            detail,
        }),
        None => Box::new(json()),
    })
}

/// The least severe finding the records show (`--min-severity`).
fn min_severity(args: &Args) -> Severity {
    match args.min_severity {
        SeverityArg::Info => Severity::Info,
        SeverityArg::Warn => Severity::Warn,
        SeverityArg::Reject => Severity::Reject,
        SeverityArg::Invalid => Severity::Invalid,
    }
}

/// Runs `run` into the output the arguments name: standard output, a device, or a file written
/// beside its name and renamed when complete.
fn write_report(
    args: &Args,
    run: impl FnOnce(&mut dyn Write) -> Result<Summary, BatchError>,
) -> Result<Result<Summary, BatchError>, Fatal> {
    Ok(match &args.output {
        Some(path) if is_device(path) => {
            let file = File::create(path)
                .map_err(|e| Fatal(format!("cannot open `{}`: {e}", path.display())))?;
            run(&mut BufWriter::with_capacity(OUTPUT_BUFFER, file))
        }
        Some(path) => {
            let mut file = OutputFile::create(path)?;
            let result = run(&mut file.writer)
                .and_then(|s| file.writer.flush().map(|()| s).map_err(BatchError::Write));
            match result {
                Ok(summary) => {
                    file.commit()?;
                    Ok(summary)
                }
                Err(e) => {
                    file.abandon();
                    Err(e)
                }
            }
        }
        None => {
            let stdout = io::stdout();
            run(&mut BufWriter::with_capacity(OUTPUT_BUFFER, stdout.lock()))
        }
    })
}

/// A progress bar on stderr for a file of known size read from a terminal session.
fn progress_bar(size: Option<u64>, wanted: bool) -> Option<ProgressBar> {
    let size = size.filter(|&s| s > 8 << 20)?;
    if !wanted || !io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(size);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
    {
        bar.set_style(style);
    }
    Some(bar)
}

fn render_summary(summary: &Summary) -> String {
    let counts: Vec<String> = Verdict::ALL
        .iter()
        .map(|v| format!("{} {}", summary.count_of(*v), v))
        .collect();
    let mut text = format!("rxcheck: {} rows: {}\n", summary.rows, counts.join(", "));
    if !summary.ignored_columns.is_empty() {
        text.push_str(&format!(
            "columns not read (map one with --column FIELD=HEADER): {}\n",
            summary.ignored_columns.join(", ")
        ));
    }
    let rules = summary.rules_by_count();
    if !rules.is_empty() {
        text.push_str("rules that fired most (warn and above):\n");
        for (rule, n) in rules.into_iter().take(10) {
            let mut notes = Vec::new();
            if n.acknowledged > 0 {
                notes.push(format!("{} acknowledged", n.acknowledged));
            }
            if n.overlay_changed > 0 {
                notes.push(format!("{} changed by the site overlay", n.overlay_changed));
            }
            if n.hidden > 0 {
                notes.push(format!("{} hidden", n.hidden));
            }
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!("  ({})", notes.join(", "))
            };
            text.push_str(&format!("  {:>9}  {rule}{notes}\n", n.fired));
        }
    }
    text
}

/// The summary as `--summary-json` writes it.
fn summary_json(args: &Args, summary: &Summary) -> serde_json::Value {
    let verdicts: serde_json::Map<String, serde_json::Value> = Verdict::ALL
        .iter()
        .map(|v| (v.as_str().to_string(), summary.count_of(*v).into()))
        .collect();
    let rules: Vec<serde_json::Value> = summary
        .rules_by_count()
        .into_iter()
        .map(|(rule, n)| {
            serde_json::json!({
                "rule": rule,
                "fired": n.fired,
                "acknowledged": n.acknowledged,
                "overlay_changed": n.overlay_changed,
                "hidden": n.hidden,
            })
        })
        .collect();
    let path = |p: Option<&PathBuf>| p.map(|p| p.display().to_string());
    serde_json::json!({
        "rows": summary.rows,
        "verdicts": verdicts,
        "exit_code": summary.worst().exit_code(),
        "rules": rules,
        "ignored_columns": summary.ignored_columns,
        "site": path(args.formulary.site.as_ref()),
        "acknowledged": path(args.acknowledged.as_ref()),
    })
}

/// Appends the header line of `input` to `line`, with its line break, and the spreadsheet's
/// delimiter line before it (`sep=;`) if there is one.
fn read_header_line(input: &mut impl io::BufRead, line: &mut Vec<u8>) -> io::Result<()> {
    read_first_line(input, line)?;
    let first = line.trim_ascii_end();
    if first.len() == 5
        && first
            .get(..4)
            .is_some_and(|s| s.eq_ignore_ascii_case(b"sep="))
    {
        read_first_line(input, line)?;
    }
    Ok(())
}

/// Appends the first line of `input` to `line`, with its line break: a `\n`, a `\r\n`, or a
/// lone `\r` (as old Mac exports end lines).
fn read_first_line(input: &mut impl io::BufRead, line: &mut Vec<u8>) -> io::Result<()> {
    let mut after_return = false;
    loop {
        let available = input.fill_buf()?;
        if after_return {
            if available.first() == Some(&b'\n') {
                line.push(b'\n');
                input.consume(1);
            }
            return Ok(());
        }
        let Some(at) = available.iter().position(|&b| b == b'\n' || b == b'\r') else {
            if available.is_empty() {
                return Ok(());
            }
            let taken = available.len();
            line.extend_from_slice(available);
            input.consume(taken);
            continue;
        };
        let is_return = available.get(at) == Some(&b'\r');
        line.extend_from_slice(available.get(..=at).unwrap_or_default());
        input.consume(at + 1);
        if !is_return {
            return Ok(());
        }
        after_return = true;
    }
}
