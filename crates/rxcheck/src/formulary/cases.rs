//! Worked examples kept next to the formulary: prescriptions with the verdict (and rules and
//! categories) they must produce, like a policy engine's policy tests.

use super::diagnostic::{Diagnostic, Level, SourceFile};
use super::{Formulary, closest};
use crate::finding::Verdict;
use crate::request::{Field, Prescription, parse_date};
use crate::validate::validate;
use chrono::NaiveDate;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// The as-of date of a case that gives none.
pub const DEFAULT_AS_OF: &str = "2026-01-01";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCases {
    #[serde(default)]
    case: Vec<Spanned<RawCase>>,
}

/// A case as written: its keys, each with where it is. The keys are a case's own (`name`,
/// `expect`, `rules`, `categories`, `as_of`) and the prescription fields of [`Field`].
type RawCase = BTreeMap<Spanned<String>, Spanned<Value>>;

/// A case value: text, a whole number for convenience, or a list of text.
#[derive(Deserialize)]
#[serde(untagged)]
enum Value {
    Text(String),
    Number(i64),
    List(Vec<String>),
}

/// The keys of a case that are not prescription fields.
const CASE_KEYS: [&str; 5] = ["name", "expect", "rules", "categories", "as_of"];

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
    fields: [String; Field::COUNT],
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
        let mut case = CaseBuilder::default();
        for (key, value) in spanned.into_inner() {
            if let Err(problem) = case.set(key.get_ref(), value.into_inner()) {
                let (message, hint) = problem;
                errors.push(Diagnostic::at(
                    Level::Error,
                    file,
                    key.span(),
                    message,
                    hint,
                ));
            }
        }
        let Some(name) = case.name.take() else {
            errors.push(Diagnostic::at(
                Level::Error,
                file,
                span,
                "a case has no `name`",
                Some("give every case a `name`".into()),
            ));
            continue;
        };
        let expect = match &case.expect {
            None => {
                errors.push(Diagnostic::at(
                    Level::Error,
                    file,
                    span.clone(),
                    format!("case `{name}` has no `expect`"),
                    Some("add `expect = \"ok\"` (or `warn`, `reject`, `invalid`)".into()),
                ));
                None
            }
            Some(text) => {
                let verdict = parse_verdict(text);
                if verdict.is_none() {
                    errors.push(Diagnostic::at(
                        Level::Error,
                        file,
                        span.clone(),
                        format!("`{text}` is not a verdict"),
                        Some("use `ok`, `warn`, `reject` or `invalid`".into()),
                    ));
                }
                verdict
            }
        };
        let as_of = match &case.as_of {
            None => parse_date(DEFAULT_AS_OF),
            Some(text) => {
                let date = parse_date(text);
                if date.is_none() {
                    errors.push(Diagnostic::at(
                        Level::Error,
                        file,
                        span.clone(),
                        format!("`{text}` is not a date written YYYY-MM-DD"),
                        None,
                    ));
                }
                date
            }
        };
        if cases.iter().any(|other: &Case| other.name == name) {
            errors.push(Diagnostic::at(
                Level::Error,
                file,
                span,
                format!("case `{name}` is given twice"),
                Some("give every case its own name".into()),
            ));
        }
        if let (Some(expect), Some(as_of)) = (expect, as_of) {
            cases.push(Case {
                name,
                location,
                as_of,
                expect,
                rules: case.rules,
                categories: case.categories,
                fields: case.fields,
            });
        }
    }
    if errors.is_empty() {
        Ok(cases)
    } else {
        Err(errors)
    }
}

/// A case's keys as they are read.
#[derive(Default)]
struct CaseBuilder {
    name: Option<String>,
    expect: Option<String>,
    as_of: Option<String>,
    rules: Vec<String>,
    categories: Vec<String>,
    fields: [String; Field::COUNT],
}

/// A problem with one key: the message and a hint.
type KeyProblem = (String, Option<String>);

impl CaseBuilder {
    /// Takes one key of a case.
    fn set(&mut self, key: &str, value: Value) -> Result<(), KeyProblem> {
        let text = |value: Value| match value {
            Value::Text(text) => Ok(text),
            Value::Number(n) => Ok(n.to_string()),
            Value::List(_) => Err((format!("`{key}` is a list; give it as text"), None)),
        };
        let list = |value: Value| match value {
            Value::List(items) => Ok(items),
            _ => Err((
                format!("`{key}` must be a list of text, such as `[\"a\", \"b\"]`"),
                None,
            )),
        };
        match key {
            "name" => self.name = Some(text(value)?),
            "expect" => self.expect = Some(text(value)?),
            "as_of" => self.as_of = Some(text(value)?),
            "rules" => self.rules = list(value)?,
            "categories" => self.categories = list(value)?,
            _ => {
                let Some(field) = Field::from_name(key) else {
                    let known = CASE_KEYS.into_iter().chain(Field::ALL.map(Field::name));
                    let hint = closest(key, known).map(|k| format!("did you mean `{k}`?"));
                    return Err((format!("unknown field `{key}` in a case"), hint));
                };
                if let Some(slot) = self.fields.get_mut(field.index()) {
                    *slot = text(value)?;
                }
            }
        }
        Ok(())
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
