//! The checks: each a function over a parsed [`Request`], in its own file, listed in order in
//! [`CHECKS`]. Validation is a pure function of (formulary, prescription, as-of date) that
//! returns every finding; it fails closed: what it cannot verify becomes a finding.

mod administration;
mod age;
mod allergy;
mod breastfeeding;
mod co_medication;
pub mod co_therapy;
mod conditions;
pub mod courses;
mod dosage;
mod pregnancy;
mod product;
mod unknown_names;

use crate::finding::{Assessment, Category, Message, Severity};
use crate::formulary::{Formulary, Rule};
use crate::request::{Dates, ParseCache, Prescription, Request, Target, parse_cached};
use chrono::NaiveDate;

/// A check: reads the request and the drug form it is for, and records findings.
type Check = for<'f, 'r> fn(&Request<'f, 'r>, &Target<'f>, &mut Assessment<'f>);

/// Every check, in the order their findings are reported.
const CHECKS: [Check; 10] = [
    product::check,
    age::check,
    dosage::check,
    pregnancy::check,
    breastfeeding::check,
    conditions::check,
    allergy::check,
    co_medication::check,
    unknown_names::check,
    administration::check,
];

/// Validates one prescription with ISO dates, as of `as_of` (the prescription date when it
/// gives none).
pub fn validate<'f>(
    formulary: &'f Formulary,
    rx: &Prescription<'_>,
    as_of: NaiveDate,
) -> Assessment<'f> {
    let mut out = Assessment::default();
    validate_into(formulary, rx, &Dates::iso(as_of), &mut out);
    out
}

/// Like [`validate`], with dates read as `dates` says, reusing `out`'s allocation.
pub fn validate_into<'f>(
    formulary: &'f Formulary,
    rx: &Prescription<'_>,
    dates: &Dates,
    out: &mut Assessment<'f>,
) {
    validate_cached(formulary, rx, dates, out, &mut ParseCache::default());
}

/// Like [`validate_into`], with what rows repeat remembered in `cache` (the batch hot path).
pub fn validate_cached<'f>(
    formulary: &'f Formulary,
    rx: &Prescription<'_>,
    dates: &Dates,
    out: &mut Assessment<'f>,
    cache: &mut ParseCache,
) {
    validate_then(formulary, rx, dates, (out, cache), |_| ());
}

/// Like [`validate_cached`], handing the parsed request to `then` once the checks are done
/// (for what else a caller reads of it, such as the row as a course of its patient's).
pub fn validate_then<'f, T>(
    formulary: &'f Formulary,
    rx: &Prescription<'_>,
    dates: &Dates,
    (out, cache): (&mut Assessment<'f>, &mut ParseCache),
    then: impl FnOnce(&Request<'f, '_>) -> T,
) -> T {
    out.clear();
    let request = parse_cached(formulary, rx, dates, out, cache);
    check_all(&request, out);
    then(&request)
}

/// Runs every check on a parsed request.
fn check_all<'f>(request: &Request<'f, '_>, out: &mut Assessment<'f>) {
    // Nothing to check when the drug form is unknown: parsing has recorded why.
    let Some(target) = &request.target else {
        return;
    };
    for check in CHECKS {
        check(request, target, out);
    }
}

/// Records a finding of a formulary rule, at `severity` (which may differ from the rule's
/// own, as for a status that cannot be verified).
fn cite<'f>(
    out: &mut Assessment<'f>,
    formulary: &'f Formulary,
    category: Category,
    severity: Severity,
    rule: &'f Rule,
    message: impl Message<'f>,
) {
    let source = formulary.citation(rule.source);
    out.push(severity, category, rule.rule.as_str(), message, source);
}

/// What a rule of this severity says of the drug, in a message.
fn verb(severity: Severity) -> &'static str {
    match severity {
        Severity::Reject | Severity::Invalid => "contraindicated",
        Severity::Warn => "use with caution",
        Severity::Info => "note",
    }
}
