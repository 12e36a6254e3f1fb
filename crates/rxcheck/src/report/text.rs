//! Human-readable output for the pharmacist: the verdict first, then each finding with its
//! severity, message, rule and source. Colour only when asked for.

use super::{Detail, Printer, Record};
use crate::finding::{Severity, Verdict};
use std::io::Write;

/// Prints a readable report; `color` adds ANSI colours (only on a terminal, never with NO_COLOR).
#[derive(Debug, Default)]
pub struct TextPrinter {
    pub color: bool,
    /// Compact findings are one line each: severity and rule.
    pub detail: Detail,
}

impl TextPrinter {
    fn paint(&self, out: &mut Vec<u8>, code: &str, text: &str) {
        if self.color {
            let _ = write!(out, "\x1b[{code}m{text}\x1b[0m");
        } else {
            out.extend_from_slice(text.as_bytes());
        }
    }
}

fn verdict_color(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Ok => "1;32",
        Verdict::Warn => "1;33",
        Verdict::Reject | Verdict::Invalid => "1;31",
        Verdict::Skipped => "1;36",
    }
}

fn severity_color(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "36",
        Severity::Warn => "33",
        Severity::Reject | Severity::Invalid => "31",
    }
}

impl Printer for TextPrinter {
    fn shows_messages(&self) -> bool {
        self.detail == Detail::Full
    }

    fn record(&self, out: &mut Vec<u8>, record: &Record<'_, '_>) {
        let verdict = record.assessment.verdict();
        self.paint(
            out,
            verdict_color(verdict),
            &verdict.as_str().to_uppercase(),
        );
        if let Some(id) = record.rx_id {
            let _ = write!(out, "  {}", visible(id));
        }
        if let Some(line) = record.line {
            let _ = write!(out, "  (line {line})");
        }
        out.push(b'\n');
        if record.findings().next().is_none() {
            out.extend_from_slice(b"  no findings\n");
        }
        for f in record.findings() {
            out.extend_from_slice(b"  ");
            self.paint(
                out,
                severity_color(f.severity),
                &format!("{:<7}", f.severity.as_str()),
            );
            if self.detail == Detail::Compact {
                let _ = writeln!(out, " {}", visible(&f.shown_rule()));
                continue;
            }
            let _ = writeln!(out, " {:<17} {}", f.category.as_str(), visible(&f.message));
            let _ = writeln!(out, "          rule:   {}", visible(&f.shown_rule()));
            let _ = writeln!(out, "          source: {}", visible(&f.source));
            for note in [f.overlay_note(), f.acknowledgement_note()]
                .into_iter()
                .flatten()
            {
                let _ = writeln!(out, "          note:   {}", visible(&note));
            }
        }
    }
}

/// Text with its control characters escaped (`\u{1b}`), and the marks that reorder or break
/// lines (right-to-left overrides, line separators), so that input quoted in a report cannot
/// move the cursor, clear the screen or hide or disguise lines of a terminal.
fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
    };
    if !text.chars().any(hidden) {
        return std::borrow::Cow::Borrowed(text);
    }
    let escaped = text.chars().map(|c| match hidden(c) {
        true => c.escape_unicode().to_string(),
        false => c.to_string(),
    });
    std::borrow::Cow::Owned(escaped.collect())
}
