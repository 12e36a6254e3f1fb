//! Worked examples kept next to the formulary: prescriptions with the verdict (and rules and
//! categories) they must produce, like a policy engine's policy tests.

use super::Formulary;
use super::diagnostic::{Diagnostic, Level, SourceFile};
use crate::finding::Verdict;
use crate::request::{Prescription, parse_date};
use crate::validate::validate;
use chrono::NaiveDate;
use serde::Deserialize;
use toml::Spanned;

/// The as-of date of a case that gives none.
pub const DEFAULT_AS_OF: &str = "2026-01-01";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCases {
    #[serde(default)]
    case: Vec<Spanned<RawCase>>,
}

/// A prescription field: written as a string, or as a whole number for convenience.
#[derive(Deserialize)]
#[serde(untagged)]
enum Field {
    Text(String),
    Number(i64),
}

impl Field {
    fn into_text(self) -> String {
        match self {
            Field::Text(t) => t,
            Field::Number(n) => n.to_string(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    name: String,
    expect: Spanned<String>,
    #[serde(default)]
    rules: Vec<String>,
    #[serde(default)]
    categories: Vec<String>,
    as_of: Option<Spanned<String>>,
    rx_id: Option<Field>,
    drug: Option<Field>,
    form: Option<Field>,
    strength: Option<Field>,
    dose: Option<Field>,
    times_per_day: Option<Field>,
    duration_days: Option<Field>,
    age_years: Option<Field>,
    birth_date: Option<Field>,
    date: Option<Field>,
    pregnant: Option<Field>,
    gestational_week: Option<Field>,
    breastfeeding: Option<Field>,
    conditions: Option<Field>,
    allergies: Option<Field>,
    co_medications: Option<Field>,
}

/// One worked example.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    /// `file:line` where the case starts.
    pub location: String,
    pub as_of: NaiveDate,
    pub expect: Verdict,
    pub rules: Vec<String>,
    pub categories: Vec<String>,
    /// The prescription fields, in the order of [`Prescription::from_fields`].
    fields: [String; 16],
}

impl Case {
    /// The case's prescription, borrowing its fields.
    pub fn prescription(&self) -> Prescription<'_> {
        Prescription::from_fields(self.fields.each_ref().map(String::as_str))
    }
}

fn parse_verdict(text: &str) -> Option<Verdict> {
    Verdict::ALL.into_iter().find(|v| v.as_str() == text)
}

/// Reads the cases of one file, reporting every malformed case.
pub fn parse_cases(file: &SourceFile) -> Result<Vec<Case>, Vec<Diagnostic>> {
    let raw: RawCases = toml::from_str(&file.text).map_err(|e| {
        let message = e.message().lines().next().unwrap_or("").to_string();
        vec![Diagnostic::at(
            Level::Error,
            file,
            e.span().unwrap_or(0..0),
            message,
            None,
        )]
    })?;
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for spanned in raw.case {
        let span = spanned.span();
        let location = Diagnostic::at(Level::Error, file, span.clone(), "", None);
        let location = format!("{}:{}", location.file, location.line);
        let c = spanned.into_inner();
        let expect = parse_verdict(c.expect.get_ref());
        if expect.is_none() {
            errors.push(Diagnostic::at(
                Level::Error,
                file,
                c.expect.span(),
                format!("`{}` is not a verdict", c.expect.get_ref()),
                Some("use `ok`, `warn`, `reject` or `invalid`".into()),
            ));
        }
        let as_of = match &c.as_of {
            None => parse_date(DEFAULT_AS_OF),
            Some(text) => {
                let date = parse_date(text.get_ref());
                if date.is_none() {
                    errors.push(Diagnostic::at(
                        Level::Error,
                        file,
                        text.span(),
                        format!("`{}` is not a date written YYYY-MM-DD", text.get_ref()),
                        None,
                    ));
                }
                date
            }
        };
        if cases.iter().any(|other: &Case| other.name == c.name) {
            errors.push(Diagnostic::at(
                Level::Error,
                file,
                span,
                format!("case `{}` is given twice", c.name),
                Some("give every case its own name".into()),
            ));
        }
        let text = |f: Option<Field>| f.map(Field::into_text).unwrap_or_default();
        let fields = [
            text(c.rx_id),
            text(c.drug),
            text(c.form),
            text(c.strength),
            text(c.dose),
            text(c.times_per_day),
            text(c.duration_days),
            text(c.age_years),
            text(c.birth_date),
            text(c.date),
            text(c.pregnant),
            text(c.gestational_week),
            text(c.breastfeeding),
            text(c.conditions),
            text(c.allergies),
            text(c.co_medications),
        ];
        if let (Some(expect), Some(as_of)) = (expect, as_of) {
            cases.push(Case {
                name: c.name,
                location,
                as_of,
                expect,
                rules: c.rules,
                categories: c.categories,
                fields,
            });
        }
    }
    if errors.is_empty() {
        Ok(cases)
    } else {
        Err(errors)
    }
}

/// What running one case found: nothing when it holds.
#[derive(Debug, Clone)]
pub struct Outcome<'c> {
    pub case: &'c Case,
    pub verdict: Verdict,
    /// Each way the result differs from the expectation.
    pub problems: Vec<String>,
}

impl Outcome<'_> {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Runs every case against the formulary.
pub fn run_cases<'c>(formulary: &Formulary, cases: &'c [Case]) -> Vec<Outcome<'c>> {
    cases
        .iter()
        .map(|case| {
            let assessment = validate(formulary, &case.prescription(), case.as_of);
            let verdict = assessment.verdict();
            let mut problems = Vec::new();
            if verdict != case.expect {
                problems.push(format!("expected `{}`, got `{verdict}`", case.expect));
            }
            for rule in &case.rules {
                if !assessment.findings.iter().any(|f| f.rule == rule.as_str()) {
                    problems.push(format!("rule `{rule}` did not fire"));
                }
            }
            for category in &case.categories {
                if !assessment
                    .findings
                    .iter()
                    .any(|f| f.category.as_str() == category)
                {
                    problems.push(format!("no finding of category `{category}`"));
                }
            }
            if !problems.is_empty() {
                let fired: Vec<String> = assessment
                    .findings
                    .iter()
                    .map(|f| format!("{}:{}", f.category, f.rule))
                    .collect();
                problems.push(format!("findings were: {}", fired.join(", ")));
            }
            Outcome {
                case,
                verdict,
                problems,
            }
        })
        .collect()
}
