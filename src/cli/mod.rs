//! Argument parsing, formulary loading and exit codes shared by every subcommand.

mod batch;
mod check;
mod decode;
mod formulary;
mod serve;

use clap::{Parser, Subcommand};
use rxcheck::formulary::{Formulary, SourceFile};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Exit code for a fatal error: bad arguments, an unreadable input or a broken formulary.
pub const EXIT_FATAL: i32 = 3;

#[derive(Parser)]
#[command(
    name = "rxcheck",
    version,
    about = "Checks proposed NSAID regimens against an editable TOML formulary, with reasons and sources",
    after_help = "Exit codes: 0 ok, 1 worst finding is a warning, 2 reject or invalid, 3 fatal error.\n\nExamples:\n  rxcheck check --drug diclofenac --form tablet --dose \"50 mg\" --times-per-day 3 --age-years 40 --pregnant no --breastfeeding no\n  rxcheck batch prescriptions.csv -o verdicts.jsonl\n  rxcheck formulary show diclofenac\n  rxcheck formulary lint my-formulary/"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check one prescription, given field by field (the pharmacist's command)
    Check(Box<check::Args>),
    /// Check every row of a prescription CSV file (one verdict per row, in order)
    Batch(Box<batch::Args>),
    /// Lint, show and test a formulary
    Formulary(formulary::Args),
    /// Run the CDS Hooks service (order-select, order-sign) an EHR calls with FHIR orders
    Serve(Box<serve::Args>),
}

/// Where the formulary comes from: `--formulary PATH` or `RXCHECK_FORMULARY`, else the
/// formulary shipped inside the binary.
#[derive(clap::Args, Clone, Debug)]
pub struct FormularyArgs {
    /// Formulary file or folder of .toml files [default: the shipped formulary]
    #[arg(long, value_name = "PATH", env = "RXCHECK_FORMULARY", global = true)]
    pub formulary: Option<PathBuf>,
    /// A site overlay applied on top of the formulary: rules re-graded or hidden, limits
    /// tightened (see "Tuning for your site" in the README)
    #[arg(long, value_name = "FILE.toml", env = "RXCHECK_SITE", global = true)]
    pub site: Option<PathBuf>,
}

/// How the prescriptions' dates are read: `--as-of` and `--date-format`.
#[derive(clap::Args, Clone, Debug)]
pub struct DateArgs {
    /// Date to check as of (and the date of prescriptions that give none), YYYY-MM-DD
    /// [default: today]
    #[arg(long, value_parser = parse_date_arg)]
    as_of: Option<chrono::NaiveDate>,
    /// The one format the prescriptions' dates are written in, instead of YYYY-MM-DD, as
    /// strftime specifiers: `%d.%m.%Y`, `%m/%d/%Y`. It must give a four-digit year
    #[arg(long, value_name = "FORMAT", value_parser = rxcheck::request::DateFormat::new)]
    date_format: Option<rxcheck::request::DateFormat>,
}

impl DateArgs {
    pub fn dates(&self) -> rxcheck::request::Dates {
        rxcheck::request::Dates {
            as_of: self.as_of.unwrap_or_else(today),
            format: self.date_format.clone(),
        }
    }
}

/// A fatal error: one line on stderr, exit 3.
pub struct Fatal(pub String);

impl<E: std::fmt::Display> From<E> for Fatal {
    fn from(error: E) -> Self {
        Fatal(error.to_string())
    }
}

/// Parses arguments, runs the subcommand, and returns the process exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    let result = match cli.command {
        Command::Check(args) => check::run(*args),
        Command::Batch(args) => batch::run(*args),
        Command::Formulary(args) => formulary::run(args),
        Command::Serve(args) => serve::run(*args),
    };
    match result {
        Ok(code) => code,
        Err(Fatal(message)) => {
            eprintln!("rxcheck: error: {message}");
            EXIT_FATAL
        }
    }
}

/// Prints clap's help or version as usual; a usage error becomes one line and exit 3.
fn usage_error(error: &clap::Error) -> i32 {
    use clap::error::ErrorKind;
    match error.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                EXIT_FATAL
            } else {
                0
            }
        }
        _ => {
            let rendered = error.render().to_string();
            let message: Vec<&str> = rendered
                .lines()
                .map(str::trim)
                .take_while(|l| !l.starts_with("Usage:"))
                .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
                .collect();
            let message = message.join(" ");
            let message = message.strip_prefix("error: ").unwrap_or(&message);
            eprintln!("rxcheck: error: {message} (see `rxcheck --help`)");
            EXIT_FATAL
        }
    }
}

/// Loads the formulary the arguments name, or the shipped one, with the site overlay on top.
pub fn load_formulary(args: &FormularyArgs) -> Result<Formulary, Fatal> {
    let files = match &args.formulary {
        None => rxcheck::formulary::embedded_sources(),
        Some(path) => read_formulary_files(path)?,
    };
    let mut formulary = Formulary::load(&files)?;
    if let Some(path) = &args.site {
        let site = read_site(path)?;
        formulary.apply_site(&site).map_err(|e| {
            let more = e.errors().count().saturating_sub(1);
            let first = e
                .errors()
                .next()
                .map_or_else(String::new, ToString::to_string);
            let rest = if more > 0 {
                format!(
                    " (and {more} more; run `rxcheck formulary lint --site {}` to see all)",
                    path.display()
                )
            } else {
                String::new()
            };
            Fatal(format!("site overlay does not load: {first}{rest}"))
        })?;
    }
    Ok(formulary)
}

/// Reads an acknowledgements file (`--acknowledged`), telling on stderr of the records that
/// acknowledge nothing because they are incomplete (they are never guessed at).
pub fn load_acknowledgements(path: &Path) -> Result<rxcheck::ack::Acknowledgements, Fatal> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Fatal(format!(
            "cannot read acknowledgements `{}`: {e}",
            path.display()
        ))
    })?;
    let acks = rxcheck::ack::Acknowledgements::parse(&path.display().to_string(), &text)
        .map_err(|e| Fatal(format!("acknowledgements: {e}")))?;
    const SHOWN: usize = 5;
    for problem in acks.problems.iter().take(SHOWN) {
        eprintln!("rxcheck: warning: {problem}; the record acknowledges nothing");
    }
    if acks.problems.len() > SHOWN {
        eprintln!(
            "rxcheck: warning: {} more records of `{}` acknowledge nothing",
            acks.problems.len() - SHOWN,
            path.display()
        );
    }
    Ok(acks)
}

/// Reads a site overlay file.
pub fn read_site(path: &Path) -> Result<SourceFile, Fatal> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Fatal(format!(
            "cannot read site overlay `{}`: {e}",
            path.display()
        ))
    })?;
    Ok(SourceFile {
        name: path.display().to_string(),
        text,
    })
}

/// Reads a formulary file, or every `.toml` file of a folder (in name order).
pub fn read_formulary_files(path: &Path) -> Result<Vec<SourceFile>, Fatal> {
    let unreadable =
        |e: std::io::Error| Fatal(format!("cannot read formulary `{}`: {e}", path.display()));
    let mut paths = Vec::new();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).map_err(unreadable)? {
            let entry = entry.map_err(unreadable)?.path();
            if entry.extension().is_some_and(|e| e == "toml") {
                paths.push(entry);
            }
        }
        paths.sort();
        if paths.is_empty() {
            return Err(Fatal(format!(
                "formulary folder `{}` holds no .toml files",
                path.display()
            )));
        }
    } else {
        paths.push(path.to_path_buf());
    }
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p)
                .map_err(|e| Fatal(format!("cannot read formulary `{}`: {e}", p.display())))?;
            Ok(SourceFile {
                name: p.display().to_string(),
                text,
            })
        })
        .collect()
}

/// Today's date, the default `--as-of`.
pub fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

/// Parses a `--as-of` / `--date` style date argument.
pub fn parse_date_arg(text: &str) -> Result<chrono::NaiveDate, String> {
    rxcheck::request::parse_date(text)
        .ok_or_else(|| format!("`{text}` is not a real date written YYYY-MM-DD"))
}

/// Whether to colour output going to stdout: a terminal, and NO_COLOR unset or empty.
pub fn stdout_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
