//! Findings and verdicts: what the validator says about a prescription, as plain values.

use serde::Serialize;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// How serious a finding is. Ordered from least to most serious.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Advice; never changes the verdict.
    Info,
    /// Use with caution, below a minimum, or cannot be verified.
    Warn,
    /// Contraindicated or above a maximum.
    Reject,
    /// The input itself cannot be checked.
    Invalid,
}

impl Severity {
    /// The lowercase name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::Reject => "reject",
            Severity::Invalid => "invalid",
        }
    }

    /// Parses a severity as written in the formulary (`info`, `warn`, `reject`).
    pub fn from_formulary(name: &str) -> Option<Severity> {
        match name {
            "info" => Some(Severity::Info),
            "warn" => Some(Severity::Warn),
            "reject" => Some(Severity::Reject),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What part of the prescription a finding is about. The names are a public contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Input,
    DoseSingle,
    DoseDaily,
    Frequency,
    Duration,
    Age,
    Pregnancy,
    Breastfeeding,
    Condition,
    Allergy,
    Interaction,
    DuplicateTherapy,
    Administration,
    /// The product as ordered: an equivalent form, a brand in a form it is not made in.
    Product,
}

impl Category {
    /// The snake_case name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Input => "input",
            Category::DoseSingle => "dose_single",
            Category::DoseDaily => "dose_daily",
            Category::Frequency => "frequency",
            Category::Duration => "duration",
            Category::Age => "age",
            Category::Pregnancy => "pregnancy",
            Category::Breastfeeding => "breastfeeding",
            Category::Condition => "condition",
            Category::Allergy => "allergy",
            Category::Interaction => "interaction",
            Category::DuplicateTherapy => "duplicate_therapy",
            Category::Administration => "administration",
            Category::Product => "product",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing the validator found, traced to the rule and the source sentence behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding<'f> {
    pub severity: Severity,
    pub category: Category,
    /// The formulary rule (or input rule) that produced the finding.
    pub rule: Cow<'f, str>,
    pub message: Cow<'f, str>,
    /// The section and sentence of the reference the rule encodes.
    pub source: Cow<'f, str>,
    /// For a finding across one patient's prescriptions: the rows involved (boxed: few
    /// findings have them, and every finding is moved about).
    pub rows: Option<Box<Rows>>,
    /// Set when the site overlay changed the finding.
    pub overlay: Option<SiteMark<'f>>,
    /// Set when a pharmacist's acknowledgement covers the finding.
    pub acknowledged: Option<Arc<Acknowledged>>,
}

/// What a site overlay (`--site`) did to a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SiteMark<'f> {
    /// The overlay entry that changed it, as `file:line`.
    pub at: &'f str,
    /// The severity the formulary gave it.
    pub formulary_severity: Severity,
    /// Hidden by the overlay: counted in the summary, shown in no report.
    pub hidden: bool,
}

/// A pharmacist's acknowledgement of a finding (`--acknowledged`): it is still reported, but
/// no longer raises the verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledged {
    /// The coded reason.
    pub reason: String,
    pub comment: Option<String>,
    pub by: String,
    /// When it was acknowledged, as recorded.
    pub at: String,
    /// Where the acknowledgement is, as `file:line`.
    pub record: String,
}

impl<'f> Finding<'f> {
    /// A finding about this prescription alone.
    pub fn new(
        severity: Severity,
        category: Category,
        rule: impl Into<Cow<'f, str>>,
        message: impl Into<Cow<'f, str>>,
        source: impl Into<Cow<'f, str>>,
    ) -> Self {
        Finding {
            severity,
            category,
            rule: rule.into(),
            message: message.into(),
            source: source.into(),
            rows: None,
            overlay: None,
            acknowledged: None,
        }
    }

    /// Whether reports show the finding (the site overlay has not hidden it).
    pub fn is_shown(&self) -> bool {
        self.overlay.is_none_or(|o| !o.hidden)
    }

    /// What the site overlay did, in words (`site overlay site.toml:12, formulary: warn`).
    pub fn overlay_note(&self) -> Option<String> {
        let mark = self.overlay?;
        Some(if mark.formulary_severity == self.severity {
            format!("site overlay {}", mark.at)
        } else {
            format!(
                "site overlay {}, formulary: {}",
                mark.at, mark.formulary_severity
            )
        })
    }

    /// The acknowledgement, in words (`acknowledged by J. Smith at 2026-11-20: will-monitor`).
    pub fn acknowledgement_note(&self) -> Option<String> {
        let ack = self.acknowledged.as_deref()?;
        let mut note = format!("acknowledged by {} at {}: {}", ack.by, ack.at, ack.reason);
        if let Some(comment) = &ack.comment {
            note.push_str(&format!(" ({comment})"));
        }
        Some(note)
    }

    /// Whether the finding counts toward the verdict: shown, and not acknowledged.
    pub fn counts(&self) -> bool {
        self.is_shown() && self.acknowledged.is_none()
    }

    /// The rule as every output shows it: with the rows involved in brackets, if any
    /// (`diclofenac.combined_daily_max(RX-1,RX-2)`).
    pub fn shown_rule(&self) -> Cow<'_, str> {
        match &self.rows {
            None => Cow::Borrowed(&self.rule),
            Some(rows) => Cow::Owned(format!("{}({rows})", self.rule)),
        }
    }
}

/// The rows of one patient's file that a cross-prescription finding involves, in input
/// order: the first few ids, and how many more there are.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rows {
    pub ids: Vec<Box<str>>,
    /// Rows involved beyond those named.
    pub more: usize,
}

impl fmt::Display for Rows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, id) in self.ids.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(id)?;
        }
        if self.more > 0 {
            write!(f, ",+{}", self.more)?;
        }
        Ok(())
    }
}

/// The overall answer for one prescription: the worst severity among its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Nothing above info.
    Ok,
    /// Not checked on purpose (batch `--skip-uncovered`): the drug is outside the formulary.
    Skipped,
    Warn,
    Reject,
    Invalid,
}

impl Verdict {
    /// The lowercase name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Skipped => "skipped",
            Verdict::Warn => "warn",
            Verdict::Reject => "reject",
            Verdict::Invalid => "invalid",
        }
    }

    /// The verdict that a set of findings with this worst severity deserves.
    pub fn from_worst(worst: Option<Severity>) -> Verdict {
        match worst {
            None | Some(Severity::Info) => Verdict::Ok,
            Some(Severity::Warn) => Verdict::Warn,
            Some(Severity::Reject) => Verdict::Reject,
            Some(Severity::Invalid) => Verdict::Invalid,
        }
    }

    /// The process exit code for a run whose worst verdict is this one:
    /// 0 ok (or skipped), 1 warn, 2 reject or invalid.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Ok | Verdict::Skipped => 0,
            Verdict::Warn => 1,
            Verdict::Reject | Verdict::Invalid => 2,
        }
    }

    /// Every verdict, in the order summaries list them.
    pub const ALL: [Verdict; 5] = [
        Verdict::Ok,
        Verdict::Warn,
        Verdict::Reject,
        Verdict::Invalid,
        Verdict::Skipped,
    ];
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything the validator says about one prescription.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Assessment<'f> {
    pub findings: Vec<Finding<'f>>,
    /// Set when the row was deliberately not checked (see [`Verdict::Skipped`]).
    pub skipped: bool,
    /// Set when no report will show the findings' messages (they show severities and rule ids
    /// only): the checks then leave messages empty instead of writing them.
    pub terse: bool,
}

/// A finding's message: text, or a closure that writes it (called only when the message is
/// wanted, see [`Assessment::terse`]).
pub trait Message<'f> {
    fn text(self) -> Cow<'f, str>;
}

impl<'f> Message<'f> for String {
    fn text(self) -> Cow<'f, str> {
        Cow::Owned(self)
    }
}

impl<'f> Message<'f> for &'f str {
    fn text(self) -> Cow<'f, str> {
        Cow::Borrowed(self)
    }
}

impl<'f> Message<'f> for Cow<'f, str> {
    fn text(self) -> Cow<'f, str> {
        self
    }
}

impl<'f, F: FnOnce() -> String> Message<'f> for F {
    fn text(self) -> Cow<'f, str> {
        Cow::Owned(self())
    }
}

impl<'f> Assessment<'f> {
    /// The verdict: the worst severity among the findings.
    pub fn verdict(&self) -> Verdict {
        if self.skipped {
            return Verdict::Skipped;
        }
        Verdict::from_worst(
            self.findings
                .iter()
                .filter(|f| f.counts())
                .map(|f| f.severity)
                .max(),
        )
    }

    /// Records one finding about this prescription.
    pub fn push(
        &mut self,
        severity: Severity,
        category: Category,
        rule: impl Into<Cow<'f, str>>,
        message: impl Message<'f>,
        source: impl Into<Cow<'f, str>>,
    ) {
        let message = if self.terse {
            Cow::Borrowed("")
        } else {
            message.text()
        };
        self.findings
            .push(Finding::new(severity, category, rule, message, source));
    }

    /// Empties the assessment for reuse, keeping its allocation (and whether it is terse).
    pub fn clear(&mut self) {
        self.findings.clear();
        self.skipped = false;
    }
}
