//! JSON output: one object per record, on one line (JSON Lines for batches).

use super::{Printer, Record};
use crate::finding::{Finding, Verdict};
use serde::Serialize;

/// Prints `{"line"?, "rx_id", "verdict", "findings": [...]}` and a newline per record.
#[derive(Debug, Default)]
pub struct JsonPrinter;

#[derive(Serialize)]
struct JsonRecord<'a, 'f> {
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    rx_id: Option<&'a str>,
    verdict: Verdict,
    findings: &'a [Finding<'f>],
}

impl Printer for JsonPrinter {
    fn record(&self, out: &mut Vec<u8>, record: &Record<'_, '_>) {
        let json = JsonRecord {
            line: record.line,
            rx_id: record.rx_id,
            verdict: record.assessment.verdict(),
            findings: &record.assessment.findings,
        };
        // Serialising plain strings and enums into a Vec cannot fail.
        if serde_json::to_writer(&mut *out, &json).is_ok() {
            out.push(b'\n');
        }
    }
}
