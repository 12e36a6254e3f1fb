//! The acknowledgement template (`batch --write-ack-template`): one JSON line per warn or
//! reject finding not yet acknowledged, with the prescription's fingerprint and empty
//! `reason`, `comment`, `by` and `at` for a pharmacist to fill in. A filled-in file is read
//! back with `--acknowledged`.

use super::{Printer, Record};
use crate::finding::Severity;
use serde_json::json;

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
            let line = json!({
                "rx_id": record.rx_id,
                "line": record.line,
                "rule": f.shown_rule(),
                "severity": f.severity.as_str(),
                "message": f.message,
                "inputs": record.inputs,
                "reason": "",
                "comment": "",
                "by": "",
                "at": "",
            });
            out.extend_from_slice(line.to_string().as_bytes());
            out.push(b'\n');
        }
    }
}
