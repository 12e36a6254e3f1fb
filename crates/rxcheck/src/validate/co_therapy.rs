//! Which duplicate-therapy and interaction rules another drug of the patient falls under.
//! One copy, used both for a row's co-medications and for one patient's other rows.

use crate::finding::Severity;
use crate::formulary::{ClassRule, DuplicateRule, Profile};

/// Another drug the patient takes, as the co-therapy rules see it.
#[derive(Debug, Clone, Copy)]
pub struct OtherDrug<'a> {
    /// The formulary drug it is, if any.
    pub drug: Option<usize>,
    /// The classes it belongs to.
    pub classes: &'a [usize],
    /// Whether it acts on the whole body (a co-medication is taken to).
    pub systemic: bool,
}

/// The duplicate-therapy rules of `profile` whose class `other` belongs to.
pub fn duplicate_rules<'p>(
    profile: &'p Profile,
    other: &OtherDrug<'_>,
) -> impl Iterator<Item = &'p DuplicateRule> {
    let classes = other.classes;
    profile
        .duplicate_therapy
        .iter()
        .filter(move |r| classes.contains(&r.class))
}

/// The severity of a duplicate: the rule's own when both drugs are systemic, else its
/// topical one (low systemic absorption).
pub fn duplicate_severity(rule: &DuplicateRule, both_systemic: bool) -> Severity {
    if both_systemic {
        rule.rule.severity
    } else {
        rule.topical_severity
    }
}

/// The interaction rules of drug `own`'s `profile` that `other` triggers, each with the class
/// that matched; a drug does not interact with itself.
pub fn interaction_rules<'p>(
    profile: &'p Profile,
    own: usize,
    other: &OtherDrug<'_>,
) -> impl Iterator<Item = (&'p ClassRule, usize)> {
    let classes = other.classes;
    let same = other.drug == Some(own);
    profile
        .interactions
        .iter()
        .filter(move |_| !same)
        .filter_map(move |r| {
            r.classes
                .iter()
                .find(|c| classes.contains(c))
                .map(|c| (r, *c))
        })
}
