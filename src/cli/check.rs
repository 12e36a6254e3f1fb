//! `rxcheck check`: one prescription, field by field, for the pharmacist at the counter.

use super::{DateArgs, Fatal, FormularyArgs, load_formulary, stdout_color};
use rxcheck::report::{Detail, JsonPrinter, Printer, Record, TextPrinter};
use rxcheck::request::Field;
use rxcheck::{Assessment, Prescription, validate_into};
use std::io::Write;

#[derive(clap::Args)]
#[command(after_help = "Examples:
  rxcheck check --drug diclofenac --form tablet --dose \"50 mg\" --times-per-day 3 --duration-days 7 --age-years 40 --pregnant no --breastfeeding no
  rxcheck check --drug nimesulide --form tablet --dose \"1 tablet\" --times-per-day 2 --birth-date 2010-05-01 --condition K25.4
  rxcheck check --drug Voltaren --form gel --dose \"2-4 g\" --times-per-day 3 --age-years 10 --format json
  rxcheck check --drug diclofenac --form injection --strength \"25 mg/ml\" --unit-volume \"3 ml\" --dose \"1 ampoule\" --times-per-day 2 --duration-days 2 --birth-date 12.03.1980 --date-format %d.%m.%Y --sex m")]
pub struct Args {
    /// The prescription, one flag per field of the field table.
    #[command(flatten)]
    fields: FieldArgs,
    #[command(flatten)]
    dates: DateArgs,
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
                    .required(info.flag_required)
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
    let rx = Prescription::from_fields(args.fields.values.each_ref().map(String::as_str));
    let mut assessment = Assessment::default();
    validate_into(&formulary, &rx, &args.dates.dates(), &mut assessment);
    let rx_id = Some(rx.rx_id).filter(|id| !id.is_empty());
    let record = Record {
        line: None,
        rx_id,
        patient_id: None,
        assessment: &assessment,
        min_severity: rxcheck::Severity::Info,
    };
    let mut out = Vec::new();
    match args.format {
        Format::Text => TextPrinter {
            color: stdout_color(),
            detail: Detail::Full,
        }
        .record(&mut out, &record),
        Format::Json => JsonPrinter::default().record(&mut out, &record),
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(&out).and_then(|()| stdout.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(Fatal(format!("cannot write output: {e}")));
        }
    }
    Ok(assessment.verdict().exit_code())
}
