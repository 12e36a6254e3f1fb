//! Printers: one trait, three renderings of an assessment (human text, JSON, CSV). Printers
//! write into byte buffers; the caller decides where the bytes go.

mod csv;
mod json;
mod template;
mod text;

pub use self::csv::CsvPrinter;
pub use self::json::JsonPrinter;
pub use self::template::AckTemplatePrinter;
pub use self::text::TextPrinter;

use crate::finding::{Assessment, Finding, Severity};

/// Appends `n` in decimal, as `write!` would, without the formatting machinery (every batch
/// record has a line number).
fn push_number(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (n % 10) as u8;
        n /= 10;
        start -= 1;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(start..).unwrap_or_default());
}

/// How much of each finding a report shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Detail {
    /// Severity, category, rule, message and source.
    #[default]
    Full,
    /// Severity and rule id only, for a consumer to join with the formulary description.
    Compact,
}

/// One assessed prescription, as a printer sees it.
pub struct Record<'a, 'f> {
    /// The 1-based line at which the row starts (batch only).
    pub line: Option<u64>,
    /// The prescription's id, if it has one.
    pub rx_id: Option<&'a str>,
    /// The patient's id, where the input has one (batch only).
    pub patient_id: Option<&'a str>,
    pub assessment: &'a Assessment<'f>,
    /// Findings below this are left out of the report (the verdict still counts them).
    pub min_severity: Severity,
    /// The prescription's fingerprint, where an acknowledgement template needs it.
    pub inputs: Option<&'a str>,
}

impl<'f> Record<'_, 'f> {
    /// The findings the report shows, in order: at least `min_severity`, and not hidden by
    /// the site overlay.
    pub fn findings(&self) -> impl Iterator<Item = &Finding<'f>> {
        let min = self.min_severity;
        self.assessment
            .findings
            .iter()
            .filter(move |f| f.severity >= min && f.is_shown())
    }
}

/// Renders records into a buffer.
pub trait Printer: Send + Sync {
    /// Bytes that go once before the first record (a CSV header).
    fn header(&self, _out: &mut Vec<u8>) {}
    /// Appends one record.
    fn record(&self, out: &mut Vec<u8>, record: &Record<'_, '_>);
    /// Whether the records show findings' messages (else they need not be written).
    fn shows_messages(&self) -> bool {
        true
    }
}
