//! CSV output, safe to open in a spreadsheet: `line,rx_id,verdict,findings` (the published
//! columns, findings as `category:rule`), then `patient_id`, a count of findings per severity
//! and `details`, each finding as `severity category rule: message`.

use super::{Detail, Printer, Record, push_number};
use crate::finding::Severity;
use std::io::Write;

/// The report's columns, in order.
const COLUMNS: [&str; 10] = [
    "line",
    "rx_id",
    "verdict",
    "findings",
    "patient_id",
    "invalid",
    "reject",
    "warn",
    "info",
    "details",
];

/// The compact report's columns: findings are `severity rule`.
const COMPACT_COLUMNS: [&str; 4] = ["line", "rx_id", "verdict", "findings"];

/// The severities counted, in the order of their columns.
const COUNTED: [Severity; 4] = [
    Severity::Invalid,
    Severity::Reject,
    Severity::Warn,
    Severity::Info,
];

/// Prints one CSV row per record; several findings in a cell are joined by ` | `.
#[derive(Debug, Clone, Copy)]
pub struct CsvPrinter {
    /// The field delimiter (`,` unless the report follows the input's, for a spreadsheet).
    pub delimiter: u8,
    /// Start with a UTF-8 byte order mark, so that Excel reads the file as UTF-8.
    pub byte_order_mark: bool,
    /// Compact: `line,rx_id,verdict,findings` with findings as `severity rule`.
    pub detail: Detail,
}

impl Default for CsvPrinter {
    fn default() -> Self {
        CsvPrinter {
            delimiter: b',',
            byte_order_mark: false,
            detail: Detail::Full,
        }
    }
}

impl CsvPrinter {
    fn cell(&self, out: &mut Vec<u8>, cell: &str) {
        write_cell(out, cell, self.delimiter);
    }
}

impl Printer for CsvPrinter {
    fn header(&self, out: &mut Vec<u8>) {
        if self.byte_order_mark {
            out.extend_from_slice("\u{feff}".as_bytes());
        }
        let columns: &[&str] = match self.detail {
            Detail::Full => &COLUMNS,
            Detail::Compact => &COMPACT_COLUMNS,
        };
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                out.push(self.delimiter);
            }
            out.extend_from_slice(column.as_bytes());
        }
        out.push(b'\n');
    }

    fn shows_messages(&self) -> bool {
        self.detail == Detail::Full
    }

    fn record(&self, out: &mut Vec<u8>, record: &Record<'_, '_>) {
        if let Some(line) = record.line {
            push_number(out, line);
        }
        out.push(self.delimiter);
        self.cell(out, record.rx_id.unwrap_or(""));
        out.push(self.delimiter);
        out.extend_from_slice(record.assessment.verdict().as_str().as_bytes());
        out.push(self.delimiter);
        let mut cell = String::new();
        for (i, f) in record.findings().enumerate() {
            if i > 0 {
                cell.push_str(" | ");
            }
            match self.detail {
                Detail::Full => {
                    cell.push_str(f.category.as_str());
                    cell.push(':');
                }
                Detail::Compact => {
                    cell.push_str(f.severity.as_str());
                    cell.push(' ');
                }
            }
            cell.push_str(&f.shown_rule());
        }
        self.cell(out, &cell);
        if self.detail == Detail::Compact {
            out.push(b'\n');
            return;
        }
        out.push(self.delimiter);
        self.cell(out, record.patient_id.unwrap_or(""));
        for severity in COUNTED {
            let count = record.findings().filter(|f| f.severity == severity).count();
            let _ = write!(out, "{}{count}", char::from(self.delimiter));
        }
        out.push(self.delimiter);
        cell.clear();
        for (i, f) in record.findings().enumerate() {
            if i > 0 {
                cell.push_str(" | ");
            }
            cell.push_str(f.severity.as_str());
            cell.push(' ');
            cell.push_str(f.category.as_str());
            cell.push(' ');
            cell.push_str(&f.shown_rule());
            cell.push_str(": ");
            cell.push_str(&f.message);
            for note in [f.overlay_note(), f.acknowledgement_note()]
                .into_iter()
                .flatten()
            {
                cell.push_str(" [");
                cell.push_str(&note);
                cell.push(']');
            }
        }
        self.cell(out, &cell);
        out.push(b'\n');
    }
}

/// Writes a cell, quoted where CSV needs it (a quote, a line break or the `delimiter`). A cell
/// a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab, CR or LF)
/// gets a leading `'`, inside quotes, as OWASP recommends against CSV injection.
pub fn write_cell(out: &mut Vec<u8>, cell: &str, delimiter: u8) {
    let formula = cell
        .bytes()
        .next()
        .is_some_and(|b| matches!(b, b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\n'));
    let needs_quotes = formula
        || cell
            .bytes()
            .any(|b| matches!(b, b'"' | b'\r' | b'\n') || b == delimiter);
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
        write_cell(&mut out, text, b',');
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

    #[test]
    fn the_delimiter_is_quoted() {
        let mut out = Vec::new();
        write_cell(&mut out, "a;b", b';');
        write_cell(&mut out, "a,b", b';');
        assert_eq!(String::from_utf8(out).unwrap(), "\"a;b\"a,b");
    }
}
