//! `rxcheck formulary lint | show | test`: tools for the pharmacists who edit the formulary.

use super::{EXIT_FATAL, Fatal, FormularyArgs, read_formulary_files, read_site};
use rxcheck::formulary::cases::{Case, parse_cases, run_cases};
use rxcheck::formulary::describe::{
    ConditionView, DrugView, FormView, LimitsView, RuleView, describe, describe_conditions,
    describe_rules,
};
use rxcheck::formulary::{
    Diagnostic, Formulary, Level, SourceFile, embedded_cases, embedded_sources,
};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Report every problem in a formulary, as file:line:column with the line and a hint
    #[command(
        after_help = "Exit codes: 0 no errors (warnings may be shown), 3 errors.\n\nExamples:\n  rxcheck formulary lint\n  rxcheck formulary lint formulary/\n  rxcheck formulary lint my-formulary.toml"
    )]
    Lint {
        /// Formulary file or folder [default: --formulary, RXCHECK_FORMULARY, or the shipped one]
        path: Option<PathBuf>,
        #[command(flatten)]
        formulary: FormularyArgs,
    },
    /// Show what the formulary says about a drug (or every drug), with the source of each rule;
    /// or, with `conditions`, every condition's names and ICD-10 codes; or, with `rules`, every
    /// rule id a finding can cite, once (to join with `batch --detail compact`)
    #[command(
        after_help = "Examples:\n  rxcheck formulary show\n  rxcheck formulary show diclofenac\n  rxcheck formulary show diclofenac gel --format json\n  rxcheck formulary show conditions\n  rxcheck formulary show rules --format json"
    )]
    Show {
        /// Drug: generic name, alias or brand; or `conditions` for the condition vocabulary
        drug: Option<String>,
        /// One form of the drug
        form: Option<String>,
        /// Output format
        #[arg(long, value_enum, default_value = "text")]
        format: ShowFormat,
        #[command(flatten)]
        formulary: FormularyArgs,
    },
    /// Run the worked examples kept with a formulary and report each that disagrees
    #[command(
        after_help = "Cases come from --cases, else the `cases/` folder beside the formulary (for the\nshipped formulary, its shipped cases).\n\nExit codes: 0 every case holds, 2 some case fails, 3 fatal.\n\nExamples:\n  rxcheck formulary test\n  rxcheck formulary test formulary/\n  rxcheck formulary test my-formulary/ --cases my-cases.toml"
    )]
    Test {
        /// Formulary file or folder [default: --formulary, RXCHECK_FORMULARY, or the shipped one]
        path: Option<PathBuf>,
        /// A file of cases (repeatable)
        #[arg(long = "cases", value_name = "FILE")]
        cases: Vec<PathBuf>,
        /// Also list the cases that pass
        #[arg(long, short)]
        verbose: bool,
        #[command(flatten)]
        formulary: FormularyArgs,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ShowFormat {
    Text,
    Json,
}

pub fn run(args: Args) -> Result<i32, Fatal> {
    match args.command {
        Command::Lint { path, formulary } => lint(path.or(formulary.formulary), formulary.site),
        Command::Show {
            drug,
            form,
            format,
            formulary,
        } => show(&formulary, drug.as_deref(), form.as_deref(), format),
        Command::Test {
            path,
            cases,
            verbose,
            formulary,
        } => test(path.or(formulary.formulary), &cases, verbose),
    }
}

fn files(path: Option<&Path>) -> Result<Vec<SourceFile>, Fatal> {
    match path {
        None => Ok(embedded_sources()),
        Some(path) => read_formulary_files(path),
    }
}

fn write_out(text: &str) -> Result<(), Fatal> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Fatal(format!("cannot write output: {e}")))
        }
        _ => Ok(()),
    }
}

fn lint(path: Option<PathBuf>, site: Option<PathBuf>) -> Result<i32, Fatal> {
    let files = files(path.as_deref())?;
    let site = site.as_deref().map(read_site).transpose()?;
    let (diagnostics, summary) = match Formulary::load(&files) {
        Ok(mut f) => {
            let mut found = std::mem::take(&mut f.warnings);
            let site = match &site {
                None => String::new(),
                Some(file) => match f.apply_site(file) {
                    Ok(()) => {
                        let s = f.site.as_ref();
                        format!(
                            "; site overlay `{}`: {} entries, {} rules changed",
                            file.name,
                            s.map_or(0, |s| s.entries.len()),
                            s.map_or(0, |s| s.changed_rules())
                        )
                    }
                    Err(e) => {
                        found.extend(e.diagnostics);
                        format!("; site overlay `{}` does not load", file.name)
                    }
                },
            };
            let forms: usize = f.drugs.iter().map(|d| d.forms.len()).sum();
            let summary = format!(
                "`{}` {}: {} drugs, {forms} forms, {} rule sets, {} conditions, {} sources",
                f.name,
                f.version,
                f.drugs.len(),
                f.rule_sets.len(),
                f.conditions.len(),
                f.sources.len()
            ) + &site;
            (found, Some(summary))
        }
        Err(e) => (e.diagnostics, None),
    };
    let errors = diagnostics
        .iter()
        .filter(|d| d.level == Level::Error)
        .count();
    let warnings = diagnostics.len() - errors;
    let mut out = String::new();
    for d in &diagnostics {
        out.push_str(&d.render());
        out.push('\n');
    }
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    match summary {
        Some(s) => out.push_str(&format!(
            "{s}: {}, {}\n",
            plural(errors, "error"),
            plural(warnings, "warning")
        )),
        None => out.push_str(&format!(
            "formulary does not load: {}, {}\n",
            plural(errors, "error"),
            plural(warnings, "warning")
        )),
    }
    write_out(&out)?;
    Ok(if errors > 0 { EXIT_FATAL } else { 0 })
}

fn show(
    args: &FormularyArgs,
    drug: Option<&str>,
    form: Option<&str>,
    format: ShowFormat,
) -> Result<i32, Fatal> {
    let formulary = super::load_formulary(args)?;
    if drug.is_some_and(|d| d.trim().eq_ignore_ascii_case("conditions"))
        && form.is_none()
        && formulary.find_drug("conditions").is_none()
    {
        return show_conditions(&describe_conditions(&formulary), format);
    }
    if drug.is_some_and(|d| d.trim().eq_ignore_ascii_case("rules"))
        && form.is_none()
        && formulary.find_drug("rules").is_none()
    {
        return show_rules(&describe_rules(&formulary), format);
    }
    let views = describe(&formulary, drug, form)?;
    let text = match format {
        ShowFormat::Json => pretty_json(serde_json::to_string_pretty(&views))?,
        ShowFormat::Text => {
            let mut text = String::new();
            for view in &views {
                render_drug(&mut text, view);
            }
            text
        }
    };
    write_out(&text)?;
    Ok(0)
}

/// `show rules`: every rule a finding can cite, once.
fn show_rules(rules: &[RuleView], format: ShowFormat) -> Result<i32, Fatal> {
    let text = match format {
        ShowFormat::Json => pretty_json(serde_json::to_string_pretty(rules))?,
        ShowFormat::Text => {
            let mut text = String::new();
            for r in rules {
                let line = format!("{:<7} {:<17} {}", r.severity.as_str(), r.kind, r.detail);
                cited(&mut text, "", &line, &r.rule, &r.source, &site_of(r));
            }
            text
        }
    };
    write_out(&text)?;
    Ok(0)
}

/// Indented JSON (from `serde_json::to_string_pretty`), with a final newline.
fn pretty_json(json: serde_json::Result<String>) -> Result<String, Fatal> {
    Ok(json? + "\n")
}

fn show_conditions(views: &[ConditionView], format: ShowFormat) -> Result<i32, Fatal> {
    let text = match format {
        ShowFormat::Json => pretty_json(serde_json::to_string_pretty(views))?,
        ShowFormat::Text => {
            let mut text = String::new();
            for c in views {
                text.push_str(&format!("{}: {}\n", c.id, c.label));
                let lines = [
                    ("also named", c.synonyms.join(", ")),
                    ("implies", c.implies.join(", ")),
                    ("ICD-10", c.icd10.join(", ")),
                    ("ICD-10-CM only", c.icd10_cm.join(", ")),
                    ("except", c.icd10_exclude.join(", ")),
                    ("except in ICD-10-CM", c.icd10_cm_exclude.join(", ")),
                    ("SNOMED CT", c.snomed.join(", ")),
                ];
                for (name, value) in lines {
                    if !value.is_empty() {
                        text.push_str(&format!("  {name}: {value}\n"));
                    }
                }
            }
            text
        }
    };
    write_out(&text)?;
    Ok(0)
}

fn render_limits(name: &str, l: &LimitsView) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(min) = &l.min {
        parts.push(format!("min {min}"));
    }
    if let Some(usual) = &l.usual_max {
        parts.push(format!("usual max {usual}"));
    }
    if let Some(max) = &l.max {
        parts.push(format!("max {max}"));
    }
    (!parts.is_empty()).then(|| format!("{name} {}", parts.join(", ")))
}

fn render_form(out: &mut String, drug: &str, form: &FormView) {
    let systemic = if form.systemic { "systemic" } else { "topical" };
    out.push_str(&format!(
        "\n  {drug} {} ({}, {systemic})",
        form.id, form.route
    ));
    if let Some(atc) = &form.atc {
        out.push_str(&format!(", ATC {atc}"));
    }
    if !form.aliases.is_empty() {
        out.push_str(&format!(", also written: {}", form.aliases.join(", ")));
    }
    out.push('\n');
    let strengths = if form.strengths.is_empty() {
        "none listed".to_string()
    } else {
        form.strengths.join(", ")
    };
    out.push_str(&format!("    strengths: {strengths}"));
    if let Some(d) = &form.default_strength {
        out.push_str(&format!(" (default {d})"));
    }
    out.push('\n');
    for d in &form.dosage {
        let mut parts: Vec<String> = Vec::new();
        if let Some((lo, hi)) = d.ages {
            parts.push(format!("ages {lo}-{hi}"));
        }
        if let Some(s) = &d.strength {
            parts.push(format!("strength {s}"));
        }
        parts.extend(render_limits(
            "per administration",
            &d.dose_per_administration,
        ));
        parts.extend(render_limits("per day", &d.dose_per_day));
        match d.times_per_day {
            (Some(lo), Some(hi)) => parts.push(format!("{lo}-{hi} times a day")),
            (Some(lo), None) => parts.push(format!("at least {lo} times a day")),
            (None, Some(hi)) => parts.push(format!("at most {hi} times a day")),
            (None, None) => {}
        }
        if let Some(days) = d.max_duration_days {
            parts.push(format!("at most {days} days"));
        }
        let line = format!("dosage: {}", parts.join("; "));
        let site: Vec<&str> = d.site.iter().map(String::as_str).collect();
        cited(out, "    ", &line, &d.rule, &d.source, &site);
        if let Some(b) = &d.below_minimum {
            let line = format!("  {} {}", b.severity.as_str(), b.detail);
            cited(out, "    ", &line, &b.rule, &b.source, &[]);
        }
    }
    if let Some(u) = &form.dosage_unknown {
        let line = format!(
            "dosage: unknown ({}); the dose is reported as unverifiable",
            u.detail
        );
        cited(out, "    ", &line, &u.rule, &u.source, &site_of(u));
    }
    for r in &form.rules {
        let line = format!("{:<17} {:<7} {}", r.kind, r.severity.as_str(), r.detail);
        cited(out, "    ", &line, &r.rule, &r.source, &site_of(r));
    }
}

/// One line of `show`, then the rule and source behind it, indented beneath, and what the
/// site overlay does to it.
fn cited(out: &mut String, indent: &str, line: &str, rule: &str, source: &str, site: &[&str]) {
    out.push_str(&format!(
        "{indent}{line}\n{indent}  rule:   {rule}\n{indent}  source: {source}\n"
    ));
    for note in site {
        out.push_str(&format!("{indent}  site:   {note}\n"));
    }
}

/// The site overlay's note on a rule, as `cited` takes it.
fn site_of(rule: &RuleView) -> Vec<&str> {
    rule.site.as_deref().into_iter().collect()
}

fn render_drug(out: &mut String, d: &DrugView) {
    out.push_str(&format!("{} ({})", d.id, d.name));
    if let Some(atc) = &d.atc {
        out.push_str(&format!(", ATC {atc}"));
    }
    out.push_str(&format!(", classes: {}\n", d.classes.join(", ")));
    if !d.aliases.is_empty() {
        out.push_str(&format!("  also written: {}\n", d.aliases.join(", ")));
    }
    if let Some(c) = &d.combined_daily_max {
        cited(
            out,
            "  ",
            &format!("all forms: {}", c.detail),
            &c.rule,
            &c.source,
            &site_of(c),
        );
    }
    for b in &d.brands {
        out.push_str(&format!("  brand {}: {}\n", b.id, b.names.join(", ")));
        for (form, names) in &b.products {
            out.push_str(&format!("    {form}: {}\n", names.join(", ")));
        }
        if !b.sold_as.is_empty() {
            out.push_str(&format!("    made only as: {}\n", b.sold_as.join(", ")));
        }
        if let Some(r) = &b.form_rule {
            let line = format!("{} {} {}", r.kind, r.severity.as_str(), r.detail);
            cited(out, "    ", &line, &r.rule, &r.source, &site_of(r));
        }
        for (form, rules) in &b.overrides {
            for r in rules {
                let line = format!("{form}: {} {} {}", r.kind, r.severity.as_str(), r.detail);
                cited(out, "    ", &line, &r.rule, &r.source, &site_of(r));
            }
        }
    }
    for p in &d.rxnorm {
        let brand = p
            .brand
            .as_ref()
            .map(|b| format!(" ({b})"))
            .unwrap_or_default();
        let strength = p
            .strength
            .as_ref()
            .map(|s| format!(" {s}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  RxNorm {}: {}{strength}{brand}\n",
            p.code, p.form
        ));
    }
    for form in &d.forms {
        render_form(out, &d.id, form);
    }
    out.push('\n');
}

/// The case files for a formulary: `--cases`, else its `cases/` folder, else the shipped ones.
fn case_files(path: Option<&Path>, explicit: &[PathBuf]) -> Result<Vec<SourceFile>, Fatal> {
    let read = |p: &Path| {
        std::fs::read_to_string(p)
            .map(|text| SourceFile {
                name: p.display().to_string(),
                text,
            })
            .map_err(|e| Fatal(format!("cannot read cases `{}`: {e}", p.display())))
    };
    if !explicit.is_empty() {
        return explicit.iter().map(|p| read(p)).collect();
    }
    let Some(path) = path else {
        return Ok(embedded_cases());
    };
    let folder = if path.is_dir() {
        path.join("cases")
    } else {
        path.parent().unwrap_or(Path::new(".")).join("cases")
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&folder)
        .map_err(|_| {
            Fatal(format!(
                "no cases found in `{}`; give a file with --cases",
                folder.display()
            ))
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(Fatal(format!(
            "no cases found in `{}`; give a file with --cases",
            folder.display()
        )));
    }
    paths.iter().map(|p| read(p)).collect()
}

fn test(path: Option<PathBuf>, explicit: &[PathBuf], verbose: bool) -> Result<i32, Fatal> {
    let formulary = Formulary::load(&files(path.as_deref())?)?;
    let mut cases: Vec<Case> = Vec::new();
    let mut problems: Vec<Diagnostic> = Vec::new();
    for file in case_files(path.as_deref(), explicit)? {
        match parse_cases(&file) {
            Ok(c) => cases.extend(c),
            Err(d) => problems.extend(d),
        }
    }
    if let Some(first) = problems.first() {
        let rendered: String = problems.iter().map(|d| d.render() + "\n").collect();
        write_out(&rendered)?;
        return Err(Fatal(format!("cases do not load: {first}")));
    }
    let outcomes = run_cases(&formulary, &cases);
    let mut out = String::new();
    let failed = outcomes.iter().filter(|o| !o.passed()).count();
    for o in &outcomes {
        if o.passed() {
            if verbose {
                out.push_str(&format!("ok    {}\n", o.case.name));
            }
            continue;
        }
        out.push_str(&format!("FAIL  {} ({})\n", o.case.name, o.case.location));
        for p in &o.problems {
            out.push_str(&format!("      {p}\n"));
        }
    }
    out.push_str(&format!(
        "{} cases: {} passed, {failed} failed\n",
        outcomes.len(),
        outcomes.len() - failed
    ));
    write_out(&out)?;
    Ok(if failed > 0 { 2 } else { 0 })
}
