//! `rxcheck check`: one prescription, field by field, for the pharmacist at the counter.

use super::{Fatal, FormularyArgs, load_formulary, parse_date_arg, stdout_color, today};
use rxcheck::report::{JsonPrinter, Printer, Record, TextPrinter};
use rxcheck::{Prescription, validate};
use std::io::Write;

#[derive(clap::Args)]
#[command(after_help = "Examples:
  rxcheck check --drug diclofenac --form tablet --dose \"50 mg\" --times-per-day 3 --duration-days 7 --age-years 40 --pregnant no --breastfeeding no
  rxcheck check --drug nimesulide --form tablet --dose \"1 tablet\" --times-per-day 2 --birth-date 2010-05-01 --condition K25.4
  rxcheck check --drug Voltaren --form gel --dose \"2-4 g\" --times-per-day 3 --age-years 10 --format json")]
pub struct Args {
    /// Prescription id, echoed in the output
    #[arg(long)]
    rx_id: Option<String>,
    /// Drug: generic name, alias or brand (diclofenac, Voltaren, ...)
    #[arg(long)]
    drug: String,
    /// Dosage form (tablet, suppository, injection, gel, ointment, ...)
    #[arg(long)]
    form: String,
    /// Strength of the product: `50 mg`, `75 mg/3 ml`, `5%`
    #[arg(long)]
    strength: Option<String>,
    /// Dose per administration: `50 mg`, `0.1 g`, `1 tablet`, `3 ml`, `10 cm`, `50-100 mg`
    #[arg(long, allow_hyphen_values = true)]
    dose: String,
    /// Administrations per day (a whole number)
    #[arg(long, allow_hyphen_values = true)]
    times_per_day: String,
    /// Course length in days
    #[arg(long, allow_hyphen_values = true)]
    duration_days: Option<String>,
    /// Age in completed years (birth date wins when both are given)
    #[arg(long, allow_hyphen_values = true)]
    age_years: Option<String>,
    /// Birth date, YYYY-MM-DD
    #[arg(long)]
    birth_date: Option<String>,
    /// Prescription date, YYYY-MM-DD [default: the as-of date]
    #[arg(long)]
    date: Option<String>,
    /// Is the patient pregnant: yes, no or unknown
    #[arg(long)]
    pregnant: Option<String>,
    /// Completed weeks of pregnancy, 0-45
    #[arg(long, allow_hyphen_values = true)]
    gestational_week: Option<String>,
    /// Is the patient breastfeeding: yes, no or unknown
    #[arg(long)]
    breastfeeding: Option<String>,
    /// Condition id or ICD-10 code (repeatable, or `;`-separated)
    #[arg(long = "condition", value_name = "CONDITION")]
    conditions: Vec<String>,
    /// Drug or class the patient is allergic to (repeatable, or `;`-separated)
    #[arg(long = "allergy", value_name = "NAME")]
    allergies: Vec<String>,
    /// Another drug the patient takes (repeatable, or `;`-separated)
    #[arg(long = "co-medication", value_name = "NAME")]
    co_medications: Vec<String>,
    /// Date to check as of, YYYY-MM-DD [default: today]
    #[arg(long, value_parser = parse_date_arg)]
    as_of: Option<chrono::NaiveDate>,
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

pub fn run(args: Args) -> Result<i32, Fatal> {
    let formulary = load_formulary(&args.formulary)?;
    let conditions = args.conditions.join(";");
    let allergies = args.allergies.join(";");
    let co_medications = args.co_medications.join(";");
    let opt = |o: &Option<String>| o.as_deref().unwrap_or("").to_string();
    let (strength, duration, age, birth, date, pregnant, week, breastfeeding) = (
        opt(&args.strength),
        opt(&args.duration_days),
        opt(&args.age_years),
        opt(&args.birth_date),
        opt(&args.date),
        opt(&args.pregnant),
        opt(&args.gestational_week),
        opt(&args.breastfeeding),
    );
    let rx = Prescription {
        rx_id: args.rx_id.as_deref().unwrap_or(""),
        drug: &args.drug,
        form: &args.form,
        strength: &strength,
        dose: &args.dose,
        times_per_day: &args.times_per_day,
        duration_days: &duration,
        age_years: &age,
        birth_date: &birth,
        date: &date,
        pregnant: &pregnant,
        gestational_week: &week,
        breastfeeding: &breastfeeding,
        conditions: &conditions,
        allergies: &allergies,
        co_medications: &co_medications,
    };
    let assessment = validate(&formulary, &rx, args.as_of.unwrap_or_else(today));
    let record = Record {
        line: None,
        rx_id: args.rx_id.as_deref(),
        assessment: &assessment,
    };
    let mut out = Vec::new();
    match args.format {
        Format::Text => TextPrinter {
            color: stdout_color(),
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
