//! Printers: one trait, three renderings of an assessment (human text, JSON, CSV). Printers
//! write into byte buffers; the caller decides where the bytes go.

mod csv;
mod json;
mod text;

pub use self::csv::CsvPrinter;
pub use self::json::JsonPrinter;
pub use self::text::TextPrinter;

use crate::finding::Assessment;

/// One assessed prescription, as a printer sees it.
pub struct Record<'a, 'f> {
    /// The 1-based line at which the row starts (batch only).
    pub line: Option<u64>,
    /// The prescription's id, if it has one.
    pub rx_id: Option<&'a str>,
    /// The patient's id, where the input has one (batch only).
    pub patient_id: Option<&'a str>,
    pub assessment: &'a Assessment<'f>,
}

/// Renders records into a buffer.
pub trait Printer: Send + Sync {
    /// Bytes that go once before the first record (a CSV header).
    fn header(&self, _out: &mut Vec<u8>) {}
    /// Appends one record.
    fn record(&self, out: &mut Vec<u8>, record: &Record<'_, '_>);
}
