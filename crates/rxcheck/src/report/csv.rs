//! CSV output: `line,rx_id,verdict,findings`, safe to open in a spreadsheet.

use super::{Printer, Record};
use std::io::Write;

/// Prints one CSV row per record; findings are `category:rule` joined by ` | `.
#[derive(Debug, Default)]
pub struct CsvPrinter;

impl Printer for CsvPrinter {
    fn header(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"line,rx_id,verdict,findings\n");
    }

    fn record(&self, out: &mut Vec<u8>, record: &Record<'_, '_>) {
        if let Some(line) = record.line {
            let _ = write!(out, "{line}");
        }
        out.push(b',');
        write_cell(out, record.rx_id.unwrap_or(""));
        out.push(b',');
        out.extend_from_slice(record.assessment.verdict().as_str().as_bytes());
        out.push(b',');
        let mut findings = String::new();
        for (i, f) in record.assessment.findings.iter().enumerate() {
            if i > 0 {
                findings.push_str(" | ");
            }
            findings.push_str(f.category.as_str());
            findings.push(':');
            findings.push_str(&f.shown_rule());
        }
        write_cell(out, &findings);
        out.push(b'\n');
    }
}

/// Writes a cell, quoted where CSV needs it. A cell a spreadsheet would run as a formula
/// (starting with `=`, `+`, `-`, `@`, tab, CR or LF) gets a leading `'`, inside quotes, as
/// OWASP recommends against CSV injection.
pub fn write_cell(out: &mut Vec<u8>, cell: &str) {
    let formula = cell
        .bytes()
        .next()
        .is_some_and(|b| matches!(b, b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\n'));
    let needs_quotes = formula
        || cell
            .bytes()
            .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'));
    if !needs_quotes {
        out.extend_from_slice(cell.as_bytes());
        return;
    }
    out.push(b'"');
    if formula {
        out.push(b'\'');
    }
    for b in cell.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::write_cell;

    fn cell(text: &str) -> String {
        let mut out = Vec::new();
        write_cell(&mut out, text);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("+1"), "\"'+1\"");
        assert_eq!(cell("-1"), "\"'-1\"");
        assert_eq!(cell("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(cell("\tx"), "\"'\tx\"");
        assert_eq!(cell("RX-1"), "RX-1");
        assert_eq!(cell("a,b"), "\"a,b\"");
    }
}
