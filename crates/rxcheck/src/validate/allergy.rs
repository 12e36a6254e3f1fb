//! Allergies: to the drug itself, to a class the rule names, or to a member of one.

use super::{cite, verb};
use crate::finding::{Assessment, Category};
use crate::request::{Named, Request, Target};

pub(super) fn check<'f>(req: &Request<'f, '_>, t: &Target<'f>, out: &mut Assessment<'f>) {
    for rule in &t.profile.allergy {
        let hit = req
            .allergies
            .iter()
            .find_map(|named| matches(req, t, &rule.classes, named).map(|why| (named, why)));
        if let Some((named, why)) = hit {
            let message = || {
                format!(
                    "allergy to `{}`{why}: {} is {}",
                    named.text,
                    t.name(),
                    verb(rule.rule.severity)
                )
            };
            cite(
                out,
                req.formulary,
                Category::Allergy,
                rule.rule.severity,
                &rule.rule,
                message,
            );
        }
    }
}

/// Whether an allergy to `named` rules the drug out: the drug itself, one of `classes`, or a
/// member of one of them. Returns how it matched.
fn matches(
    req: &Request<'_, '_>,
    t: &Target<'_>,
    classes: &[usize],
    named: &Named<'_, '_>,
) -> Option<String> {
    if named.known.drug.is_some_and(|d| d.drug == t.drug_index) {
        return Some(String::new());
    }
    for &class in classes {
        let Some(c) = req.formulary.classes.get(class) else {
            continue;
        };
        if named.known.class == Some(class) {
            return Some(String::new());
        }
        if named
            .known
            .substance
            .is_some_and(|s| s.classes.contains(&class))
        {
            return Some(format!(" (a member of class `{}`)", c.id));
        }
    }
    None
}
