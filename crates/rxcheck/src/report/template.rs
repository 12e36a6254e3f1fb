//! The acknowledgement template (`batch --write-ack-template`): one JSON line per warn or
//! reject finding not yet acknowledged, with the prescription's fingerprint and empty
//! `reason`, `comment`, `by` and `at` for a pharmacist to fill in. A filled-in file is read
//! back with `--acknowledged`.

use super::json::escape_into;
use super::{Printer, Record};
use crate::finding::Severity;
use std::io::Write;

/// Prints the template lines of each record.
#[derive(Debug, Default)]
pub struct AckTemplatePrinter;

impl Printer for AckTemplatePrinter {
    fn record(&self, out: &mut Vec<u8>, record: &Record<'_, '_>) {
        let findings = record
            .assessment
            .findings
            .iter()
            .filter(|f| f.counts() && matches!(f.severity, Severity::Warn | Severity::Reject));
        for f in findings {
            out.extend_from_slice(b"{\"rx_id\":");
            escape_into(out, record.rx_id.unwrap_or(""));
            if let Some(line) = record.line {
                let _ = write!(out, ",\"line\":{line}");
            }
            out.extend_from_slice(b",\"rule\":");
            escape_into(out, &f.shown_rule());
            let _ = write!(out, ",\"severity\":\"{}\",\"message\":", f.severity);
            escape_into(out, &f.message);
            out.extend_from_slice(b",\"inputs\":");
            escape_into(out, record.inputs.unwrap_or(""));
            out.extend_from_slice(b",\"reason\":\"\",\"comment\":\"\",\"by\":\"\",\"at\":\"\"}\n");
        }
    }
}
