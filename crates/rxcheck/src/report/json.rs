//! JSON output: one object per record, on one line (JSON Lines for batches). Strings that
//! come from the formulary (rule ids, sources, notes) are escaped once, when the printer is
//! made, and copied as bytes after that: the batch hot path writes about a kilobyte a row.

use super::{Detail, Printer, Record, push_number};
use crate::fasthash::FastMap;
use crate::finding::Finding;
use crate::formulary::{Dosing, Formulary, Profile};

/// Prints `{"line"?, "rx_id", "verdict", "findings": [...]}` and a newline per record.
#[derive(Debug, Default)]
pub struct JsonPrinter<'f> {
    escaped: FastMap<(usize, usize), Box<[u8]>>,
    _formulary: Option<&'f Formulary>,
    /// Compact findings are `["severity","rule"]` pairs.
    pub detail: Detail,
}

fn key(s: &str) -> (usize, usize) {
    (s.as_ptr() as usize, s.len())
}

impl<'f> JsonPrinter<'f> {
    /// A printer that knows the formulary's strings already escaped. The borrow keeps the
    /// formulary (and so the strings' addresses) alive as long as the printer.
    pub fn for_formulary(formulary: &'f Formulary) -> Self {
        let mut printer = JsonPrinter {
            escaped: FastMap::default(),
            _formulary: Some(formulary),
            detail: Detail::Full,
        };
        for source in &formulary.sources {
            printer.remember(&source.citation);
        }
        for drug in &formulary.drugs {
            for form in &drug.forms {
                printer.remember_profile(&form.profile);
                let ids = &form.dose_rule_ids;
                for id in [&ids.strength, &ids.strength_not_given, &ids.age_not_covered] {
                    printer.remember(id);
                }
                match &form.dosing {
                    Dosing::Known(rules) => {
                        for rule in rules {
                            for id in rule.limit_ids.all() {
                                printer.remember(id);
                            }
                        }
                    }
                    Dosing::Unknown { rule, .. } => printer.remember(rule),
                }
            }
            for brand in &drug.brands {
                for profile in brand.overrides.values() {
                    printer.remember_profile(profile);
                }
            }
        }
        printer
    }

    fn remember(&mut self, s: &'f str) {
        let mut out = Vec::with_capacity(s.len() + 2);
        escape_into(&mut out, s);
        self.escaped.insert(key(s), out.into_boxed_slice());
    }

    fn remember_profile(&mut self, p: &'f Profile) {
        if let Some(age) = &p.min_age {
            self.remember(&age.rule);
        }
        let ids: Vec<&'f str> = p.rules().map(|r| r.rule.as_str()).collect();
        for id in ids {
            self.remember(id);
        }
        for note in &p.administration {
            self.remember(&note.note);
        }
    }

    fn string(&self, out: &mut Vec<u8>, s: &str) {
        match self.escaped.get(&key(s)) {
            Some(done) => out.extend_from_slice(done),
            None => escape_into(out, s),
        }
    }

    fn rule(&self, out: &mut Vec<u8>, f: &Finding<'_>) {
        match &f.rows {
            None => self.string(out, &f.rule),
            Some(_) => escape_into(out, &f.shown_rule()),
        }
    }

    fn finding(&self, out: &mut Vec<u8>, f: &Finding<'_>) {
        if self.detail == Detail::Compact {
            out.extend_from_slice(b"[\"");
            out.extend_from_slice(f.severity.as_str().as_bytes());
            out.extend_from_slice(b"\",");
            self.rule(out, f);
            if f.overlay.is_some() || f.acknowledged.is_some() {
                out.extend_from_slice(b",{");
                let mut comma = "";
                if let Some(mark) = &f.overlay {
                    out.extend_from_slice(b"\"overlay\":");
                    escape_into(out, mark.at);
                    comma = ",";
                }
                if let Some(ack) = &f.acknowledged {
                    out.extend_from_slice(comma.as_bytes());
                    out.extend_from_slice(b"\"acknowledged\":");
                    escape_into(out, &ack.reason);
                }
                out.push(b'}');
            }
            out.push(b']');
            return;
        }
        out.extend_from_slice(b"{\"severity\":\"");
        out.extend_from_slice(f.severity.as_str().as_bytes());
        out.extend_from_slice(b"\",\"category\":\"");
        out.extend_from_slice(f.category.as_str().as_bytes());
        out.extend_from_slice(b"\",\"rule\":");
        self.rule(out, f);
        out.extend_from_slice(b",\"message\":");
        self.string(out, &f.message);
        out.extend_from_slice(b",\"source\":");
        self.string(out, &f.source);
        if let Some(mark) = &f.overlay {
            out.extend_from_slice(b",\"overlay\":");
            escape_into(out, mark.at);
            out.extend_from_slice(b",\"formulary_severity\":\"");
            out.extend_from_slice(mark.formulary_severity.as_str().as_bytes());
            out.push(b'"');
        }
        if let Some(ack) = &f.acknowledged {
            out.extend_from_slice(b",\"acknowledged\":{\"reason\":");
            escape_into(out, &ack.reason);
            out.extend_from_slice(b",\"comment\":");
            match &ack.comment {
                Some(comment) => escape_into(out, comment),
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"by\":");
            escape_into(out, &ack.by);
            out.extend_from_slice(b",\"at\":");
            escape_into(out, &ack.at);
            out.extend_from_slice(b",\"record\":");
            escape_into(out, &ack.record);
            out.push(b'}');
        }
        out.push(b'}');
    }
}

/// Writes `s` as a JSON string literal, quotes included.
pub fn escape_into(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    // Most strings need no escaping: one pass without branches (which vectorises) finds out.
    let plain = !bytes.iter().fold(false, |any, &b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    if plain {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => {
                out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
                out.extend_from_slice(b"\\u00");
                out.extend(HEX.get(usize::from(b >> 4)));
                out.extend(HEX.get(usize::from(b & 0xf)));
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        out.extend_from_slice(escape);
        start = i + 1;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
    out.push(b'"');
}

impl Printer for JsonPrinter<'_> {
    fn shows_messages(&self) -> bool {
        self.detail == Detail::Full
    }

    fn record(&self, out: &mut Vec<u8>, record: &Record<'_, '_>) {
        out.push(b'{');
        if let Some(line) = record.line {
            out.extend_from_slice(b"\"line\":");
            push_number(out, line);
            out.push(b',');
        }
        out.extend_from_slice(b"\"rx_id\":");
        match record.rx_id {
            Some(id) => escape_into(out, id),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"verdict\":\"");
        out.extend_from_slice(record.assessment.verdict().as_str().as_bytes());
        out.extend_from_slice(b"\",\"findings\":[");
        for (i, f) in record.findings().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            self.finding(out, f);
        }
        out.extend_from_slice(b"]}\n");
    }
}

#[cfg(test)]
mod tests {
    use super::escape_into;

    #[test]
    fn escapes_like_serde_json() {
        for s in [
            "plain",
            "quote \" and \\ backslash",
            "tab\tnew\nline\r",
            "\u{1}\u{1f}",
            "ünïcode ½",
        ] {
            let mut ours = Vec::new();
            escape_into(&mut ours, s);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(s).unwrap()
            );
        }
    }
}
