//! Acknowledgements (`--acknowledged FILE`): a pharmacist's record that a finding on one
//! prescription was seen and overridden, with a coded reason. An acknowledged finding is still
//! reported, marked, but no longer raises the verdict; it covers the finding only while the
//! prescription says what it said when acknowledged (its inputs' fingerprint).
//!
//! The file is JSON Lines, one record per line, the format `rxcheck serve` writes for CDS Hooks
//! feedback and `rxcheck batch --write-ack-template` writes for a pharmacist to fill in:
//! `{"rx_id", "rule" (or "rules": [...]), "inputs", "reason", "comment", "by", "at"}`;
//! a record with an `outcome` other than `overridden` (an accepted card) acknowledges nothing.

use crate::fasthash::FastMap;
use crate::finding::{Acknowledged, Assessment, Severity};
use serde_json::Value;
use std::sync::Arc;

/// The coding system of the reasons.
pub const REASON_SYSTEM: &str = "urn:rxcheck:override-reason";

/// The coded reasons an acknowledgement (or a CDS card's override) may give.
pub const REASONS: [(&str, &str); 4] = [
    (
        "benefit-outweighs-risk",
        "Benefit outweighs the risk for this patient",
    ),
    (
        "tolerated-before",
        "Patient has taken this regimen before without harm",
    ),
    (
        "data-incorrect",
        "The patient data the card is based on are wrong or out of date",
    ),
    ("will-monitor", "Will monitor the patient closely"),
];

/// One usable acknowledgement: the rules it covers on its prescription, and the inputs it
/// was made for.
#[derive(Debug)]
struct Entry {
    rules: Vec<String>,
    inputs: String,
    acknowledged: Arc<Acknowledged>,
}

/// The acknowledgements of a file, by prescription id.
#[derive(Debug, Default)]
pub struct Acknowledgements {
    by_rx: FastMap<String, Vec<Entry>>,
    /// Records that can acknowledge findings.
    pub usable: usize,
    /// Records that acknowledge nothing on purpose: template lines not filled in yet (no
    /// reason and no `by`), and CDS card outcomes other than `overridden`.
    pub skipped: usize,
    /// Records that are neither, each as `file:line: why`.
    pub problems: Vec<String>,
}

impl Acknowledgements {
    /// Reads a file of records; `name` is how messages name it. A line that is not a JSON
    /// object stops the reading (`Err` says where); a record that cannot acknowledge anything
    /// (no reason, an unknown reason code, no fingerprint, ...) is listed in `problems` and
    /// covers nothing.
    pub fn parse(name: &str, text: &str) -> Result<Acknowledgements, String> {
        let mut acks = Acknowledgements::default();
        for (index, line) in text.lines().enumerate() {
            let at = format!("{name}:{}", index + 1);
            if line.trim().is_empty() {
                continue;
            }
            let record: Value =
                serde_json::from_str(line).map_err(|e| format!("{at}: not a JSON object: {e}"))?;
            if !record.is_object() {
                return Err(format!("{at}: not a JSON object"));
            }
            match read_record(&record, &at) {
                Ok(Some((rx_id, entry))) => {
                    acks.usable += 1;
                    acks.by_rx.entry(rx_id).or_default().push(entry);
                }
                Ok(None) => acks.skipped += 1,
                Err(why) => acks.problems.push(format!("{at}: {why}")),
            }
        }
        Ok(acks)
    }

    /// Marks the findings of prescription `rx_id` that an acknowledgement covers. `inputs`
    /// gives the prescription's fingerprint; it is worked out only for a prescription that has
    /// acknowledgements. `invalid` findings are never acknowledged.
    pub fn apply(
        &self,
        rx_id: &str,
        inputs: impl FnOnce() -> String,
        assessment: &mut Assessment<'_>,
    ) {
        let Some(entries) = self.by_rx.get(rx_id.trim()) else {
            return;
        };
        let inputs = inputs();
        for finding in &mut assessment.findings {
            if !matches!(finding.severity, Severity::Warn | Severity::Reject) {
                continue;
            }
            let rule = finding.shown_rule();
            let covering = entries
                .iter()
                .find(|e| e.inputs == inputs && e.rules.iter().any(|r| *r == rule));
            if let Some(entry) = covering {
                finding.acknowledged = Some(Arc::clone(&entry.acknowledged));
            }
        }
    }
}

/// A record read: `Ok(None)` for one that acknowledges nothing on purpose; `Err` says why it
/// cannot acknowledge anything.
fn read_record(record: &Value, at: &str) -> Result<Option<(String, Entry)>, String> {
    let text = |key: &str| {
        record
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
    };
    if record
        .get("outcome")
        .and_then(Value::as_str)
        .is_some_and(|o| o != "overridden")
    {
        return Ok(None);
    }
    let (reason, by) = (text("reason"), text("by"));
    if reason.is_none() && by.is_none() {
        return Ok(None);
    }
    let rx_id = text("rx_id").ok_or("`rx_id` is missing")?;
    let mut rules: Vec<String> = text("rule").map(str::to_string).into_iter().collect();
    if let Some(list) = record.get("rules").and_then(Value::as_array) {
        rules.extend(list.iter().filter_map(Value::as_str).map(str::to_string));
    }
    if rules.is_empty() {
        return Err("`rule` is missing".into());
    }
    let reason = reason.ok_or("`reason` is missing: every acknowledgement gives a coded reason")?;
    if !REASONS.iter().any(|(code, _)| *code == reason) {
        let codes: Vec<&str> = REASONS.iter().map(|(code, _)| *code).collect();
        return Err(format!(
            "reason `{reason}` is not one of {}",
            codes.join(", ")
        ));
    }
    let by = by.ok_or("`by` is missing: say who acknowledged it")?;
    let when = text("at").ok_or("`at` is missing: say when it was acknowledged")?;
    let readable = chrono::DateTime::parse_from_rfc3339(when).is_ok()
        || chrono::NaiveDate::parse_from_str(when, "%Y-%m-%d").is_ok();
    if !readable {
        return Err(format!(
            "`at` is `{when}`: write a date (2026-11-25) or a date and time (2026-11-25T10:30:00Z)"
        ));
    }
    let inputs = text("inputs").ok_or(
        "`inputs` is missing: without the prescription's fingerprint the acknowledgement cannot tell whether the prescription changed (take records from --write-ack-template or the serve audit file)",
    )?;
    let acknowledged = Acknowledged {
        reason: reason.to_string(),
        comment: text("comment").map(str::to_string),
        by: by.to_string(),
        at: when.to_string(),
        record: at.to_string(),
    };
    Ok(Some((
        rx_id.to_string(),
        Entry {
            rules,
            inputs: inputs.to_string(),
            acknowledged: Arc::new(acknowledged),
        },
    )))
}
