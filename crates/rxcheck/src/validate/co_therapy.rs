//! Which duplicate-therapy and interaction rules another drug of the patient falls under.
//! One copy, used both for a row's co-medications and for one patient's other rows.

use crate::finding::Severity;
use crate::formulary::{ClassRule, Drug, DuplicateRule, Profile};

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

/// An interaction's severity: its rule's, or only advice when the other drug is of no
/// systemic form (a gel: low systemic absorption), as for a duplicate.
pub fn interaction_severity(rule: &ClassRule, systemic: bool) -> Severity {
    match systemic {
        true => rule.rule.severity,
        false => Severity::Info,
    }
}

/// What an interaction's message adds when the other drug is topical.
pub fn topical_note(systemic: bool) -> &'static str {
    match systemic {
        true => "",
        false => " (a topical form: low systemic absorption)",
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

/// The interaction rules of `other`, another formulary drug, that a drug of `own_classes`
/// (with rule `profile`) triggers from the other side: nimesulide, whose rules name the
/// hepatotoxic drugs, taken with diclofenac, one of them. Each comes with the class that
/// matched; the other drug's rules of any form count; a rule the own profile has too (one
/// both drugs take from a shared rule set) is left to that profile.
pub fn interactions_from<'d>(
    profile: &Profile,
    own_classes: &[usize],
    other: &'d Drug,
) -> impl Iterator<Item = (&'d ClassRule, usize)> {
    other.any_form_interactions.iter().filter_map(move |rule| {
        let class = rule.classes.iter().find(|c| own_classes.contains(c))?;
        let own = profile
            .interactions
            .iter()
            .any(|r| r.rule.rule == rule.rule.rule);
        (!own).then_some((rule, *class))
    })
}
