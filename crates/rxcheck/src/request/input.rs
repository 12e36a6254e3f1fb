//! The input rules: what each field must look like, as the rule id and source of the
//! finding that says it does not.

use crate::finding::{Assessment, Category, Finding, Severity};

/// The input rule a finding about the prescription's own fields is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Dose,
    Strength,
    UnitVolume,
    TimesPerDay,
    DurationDays,
    Age,
    Sex,
    Date,
    Pregnant,
    Breastfeeding,
    GestationalWeek,
    Conditions,
    Allergies,
    CoMedications,
    Drug,
    Form,
    RxId,
    /// The CSV row itself: its shape, quotes, length.
    Row,
}

const ROW_SOURCE: &str =
    "rxcheck input rules: every CSV row has the header's fields, as UTF-8, with balanced quotes";
const NAMES_SOURCE: &str = "rxcheck input rules: allergies and co-medications are drug, brand or class names; names close to a known one are checked as likely typos";

impl Input {
    /// Every input rule.
    pub const ALL: [Input; 18] = [
        Input::Dose,
        Input::Strength,
        Input::UnitVolume,
        Input::TimesPerDay,
        Input::DurationDays,
        Input::Age,
        Input::Sex,
        Input::Date,
        Input::Pregnant,
        Input::Breastfeeding,
        Input::GestationalWeek,
        Input::Conditions,
        Input::Allergies,
        Input::CoMedications,
        Input::Drug,
        Input::Form,
        Input::RxId,
        Input::Row,
    ];

    /// The rule id of findings about this input.
    pub fn rule(self) -> &'static str {
        match self {
            Input::Dose => "input.dose",
            Input::Strength => "input.strength",
            Input::UnitVolume => "input.unit_volume",
            Input::TimesPerDay => "input.times_per_day",
            Input::DurationDays => "input.duration_days",
            Input::Age => "input.age",
            Input::Sex => "input.sex",
            Input::Date => "input.date",
            Input::Pregnant => "input.pregnant",
            Input::Breastfeeding => "input.breastfeeding",
            Input::GestationalWeek => "input.gestational_week",
            Input::Conditions => "input.conditions",
            Input::Allergies => "input.allergies",
            Input::CoMedications => "input.co_medications",
            Input::Drug => "input.drug",
            Input::Form => "input.form",
            Input::RxId => "input.rx_id",
            Input::Row => "input.row",
        }
    }

    /// What the input must look like, as the finding's source.
    pub fn source(self) -> &'static str {
        match self {
            Input::Dose => {
                "rxcheck input rules: a dose is a positive number and a unit, such as `50 mg`, `0.1 g`, `3 ml`, `1 tablet`, `10 cm`, or a range `50-100 mg`"
            }
            Input::Strength => {
                "rxcheck input rules: a strength is written `100 mg`, `75 mg/3 ml` or `5%`"
            }
            Input::UnitVolume => {
                "rxcheck input rules: a unit volume is the volume of one ampoule or container, such as `3 ml` (a bare number is in ml)"
            }
            Input::TimesPerDay => {
                "rxcheck input rules: times_per_day is a whole number of at least 1, or a frequency notation (bid, q8h, 3x, ...)"
            }
            Input::DurationDays => {
                "rxcheck input rules: duration_days is a whole number of days, at least 1"
            }
            Input::Age => {
                "rxcheck input rules: an age comes from birth_date or age_years (0-130), in completed years at the prescription date"
            }
            Input::Sex => {
                "rxcheck input rules: sex is `female`, `male` or `unknown` (also `f`, `m`, `w`, `ж`, `м`); a man is not pregnant"
            }
            Input::Date => {
                "rxcheck input rules: dates are written YYYY-MM-DD, or in the one format given with --date-format; a date is never guessed"
            }
            Input::Pregnant | Input::Breastfeeding => {
                "rxcheck input rules: yes/no flags are `yes`, `no` or `unknown`"
            }
            Input::GestationalWeek => {
                "rxcheck input rules: gestational_week is completed weeks, 0-45"
            }
            Input::Conditions => {
                "rxcheck input rules: a condition is a formulary condition id or an ICD-10 code"
            }
            Input::Allergies | Input::CoMedications => NAMES_SOURCE,
            Input::Drug | Input::Form => {
                "rxcheck input rules: the drug and form must be in the formulary"
            }
            Input::RxId | Input::Row => ROW_SOURCE,
        }
    }

    /// Records that this input is invalid, saying why.
    pub fn invalid(self, out: &mut Assessment<'_>, message: String) {
        // Kept even when the assessment is terse: the parse cache records it for later rows.
        out.findings.push(Finding::new(
            Severity::Invalid,
            Category::Input,
            self.rule(),
            message,
            self.source(),
        ));
    }
}
