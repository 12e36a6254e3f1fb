//! `rxcheck check`: one prescription, field by field, for the pharmacist at the counter.

use super::{DateArgs, Fatal, FormularyArgs, load_acknowledgements, load_formulary, stdout_color};
use rxcheck::report::{Detail, JsonPrinter, Printer, Record, TextPrinter};
use rxcheck::request::Field;
use rxcheck::{Assessment, Prescription, fhir, validate_into};
use std::io::Write;

#[derive(clap::Args)]
#[command(after_help = "Examples:
  rxcheck check --drug diclofenac --form tablet --dose \"50 mg\" --times-per-day 3 --duration-days 7 --age-years 40 --pregnant no --breastfeeding no
  rxcheck check --drug nimesulide --form tablet --dose \"1 tablet\" --times-per-day 2 --birth-date 2010-05-01 --condition K25.4
  rxcheck check --drug Voltaren --form gel --dose \"2-4 g\" --times-per-day 3 --age-years 10 --format json
  rxcheck check --drug diclofenac --form injection --strength \"25 mg/ml\" --unit-volume \"3 ml\" --dose \"1 ampoule\" --times-per-day 2 --duration-days 2 --birth-date 12.03.1980 --date-format %d.%m.%Y --sex m
  rxcheck check --fhir order.json
  rxcheck check --drug diclofenac --form tablet --dose \"50 mg\" --times-per-day 3 --age-years 40 --sex m --site site.toml
  rxcheck check --fhir order.json --acknowledged cds-feedback.jsonl
  cat bundle.json | rxcheck check --fhir -")]
pub struct Args {
    /// The prescription, one flag per field of the field table.
    #[command(flatten)]
    fields: FieldArgs,
    /// Read the prescription from FHIR R4 JSON instead of flags: a MedicationRequest, or a
    /// Bundle with it and the patient's resources (`-` reads standard input). Each order in
    /// it gets a record
    #[arg(long, value_name = "FILE")]
    fhir: Option<std::path::PathBuf>,
    #[command(flatten)]
    dates: DateArgs,
    /// Acknowledgements (JSON Lines) of findings already overridden: a covered finding is
    /// reported, marked, and no longer raises the verdict (see "Tuning for your site")
    #[arg(long, value_name = "FILE.jsonl")]
    acknowledged: Option<std::path::PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[command(flatten)]
    formulary: FormularyArgs,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

/// The prescription's flags, made from the library's one table of fields: a flag per field,
/// list fields repeatable (their values joined with `;`).
struct FieldArgs {
    values: [String; Field::COUNT],
}

impl clap::FromArgMatches for FieldArgs {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut values: [String; Field::COUNT] = Default::default();
        for (field, value) in Field::ALL.into_iter().zip(&mut values) {
            if let Some(given) = matches.get_many::<String>(field.name()) {
                *value = given.map(String::as_str).collect::<Vec<_>>().join(";");
            }
        }
        Ok(FieldArgs { values })
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl clap::Args for FieldArgs {
    fn augment_args(command: clap::Command) -> clap::Command {
        Field::ALL.into_iter().fold(command, |command, field| {
            let info = field.info();
            let value_name = info.flag.replace('-', "_").to_ascii_uppercase();
            command.arg(
                clap::Arg::new(info.name)
                    .long(info.flag)
                    .help(info.help)
                    .value_name(value_name)
                    .required(false)
                    .required_unless_present_any(if info.flag_required {
                        vec!["fhir"]
                    } else {
                        vec![]
                    })
                    .conflicts_with("fhir")
                    .allow_hyphen_values(info.numeric)
                    .action(if info.list {
                        clap::ArgAction::Append
                    } else {
                        clap::ArgAction::Set
                    }),
            )
        })
    }

    fn augment_args_for_update(command: clap::Command) -> clap::Command {
        Self::augment_args(command)
    }
}

pub fn run(args: Args) -> Result<i32, Fatal> {
    let formulary = load_formulary(&args.formulary)?;
    let acks = args
        .acknowledged
        .as_deref()
        .map(load_acknowledgements)
        .transpose()?;
    let mut checked: Vec<(String, String, Assessment<'_>)> = match &args.fhir {
        Some(path) => {
            let text = read_input(path)?;
            fhir::check_document(&formulary, &text, &args.dates.dates())
                .into_iter()
                .map(|c| (c.rx_id, c.inputs, c.assessment))
                .collect()
        }
        None => {
            let rx = Prescription::from_fields(args.fields.values.each_ref().map(String::as_str));
            let mut assessment = Assessment::default();
            validate_into(&formulary, &rx, &args.dates.dates(), &mut assessment);
            formulary.regrade(&mut assessment);
            vec![(rx.rx_id.to_string(), rx.fingerprint(), assessment)]
        }
    };
    if let Some(acks) = &acks {
        for (rx_id, inputs, assessment) in &mut checked {
            acks.apply(rx_id, || inputs.clone(), assessment);
        }
    }
    let mut out = Vec::new();
    for (rx_id, _, assessment) in &checked {
        let record = Record {
            line: None,
            rx_id: Some(rx_id.as_str()).filter(|id| !id.is_empty()),
            patient_id: None,
            assessment,
            min_severity: rxcheck::Severity::Info,
            inputs: None,
        };
        match args.format {
            Format::Text => TextPrinter {
                color: stdout_color(),
                detail: Detail::Full,
            }
            .record(&mut out, &record),
            Format::Json => JsonPrinter::default().record(&mut out, &record),
        }
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(&out).and_then(|()| stdout.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(Fatal(format!("cannot write output: {e}")));
        }
    }
    let worst = checked.iter().map(|(_, _, a)| a.verdict()).max();
    drop(checked);
    // The process ends next, and the system takes its memory back at once: freeing the
    // formulary piece by piece would cost a check about a tenth of its time.
    std::mem::forget(formulary);
    Ok(worst.map_or(0, |v| v.exit_code()))
}

/// The text of a file, or of standard input for `-`.
pub fn read_input(path: &std::path::Path) -> Result<String, Fatal> {
    let mut bytes = Vec::new();
    let read = if path.as_os_str() == "-" {
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
    } else {
        std::fs::File::open(path).and_then(|mut f| std::io::Read::read_to_end(&mut f, &mut bytes))
    };
    read.map_err(|e| Fatal(format!("cannot read `{}`: {e}", path.display())))?;
    String::from_utf8(bytes).map_err(|e| {
        Fatal(format!(
            "`{}` is not UTF-8 (byte {} is not): FHIR JSON is UTF-8",
            path.display(),
            e.utf8_error().valid_up_to() + 1
        ))
    })
}
