//! Co-medications of the row: duplicate therapy with a drug of the same class, interactions
//! with the classes the form's rules name, and interactions that a co-medication of the
//! formulary's own rules name the ordered drug's class in.

use super::co_therapy::{
    OtherDrug, duplicate_rules, duplicate_severity, interaction_rules, interaction_severity,
    interactions_from, topical_note,
};
use super::{cite, verb};
use crate::finding::{Assessment, Category};
use crate::request::{Request, Target};

pub(super) fn check<'f>(req: &Request<'f, '_>, t: &Target<'f>, out: &mut Assessment<'f>) {
    let f = req.formulary;
    for named in &req.co_medications {
        let Some(substance) = named.known.substance else {
            continue;
        };
        // Taken to act on the whole body, unless named as a topical form (`Voltaren gel`,
        // `ketoprofen gel`).
        let form = named.known.drug.and_then(|d| {
            let at = d.product?;
            f.drugs.get(d.drug)?.forms.get(at.form)
        });
        let other = OtherDrug {
            drug: substance.drug,
            classes: &substance.classes,
            systemic: form.is_none_or(|form| form.systemic) && !named.topical,
        };
        let same_drug = other.drug == Some(t.drug_index);
        // An interaction of a topical form (either side) is only advice, as a duplicate is.
        let both_systemic = t.form.systemic && other.systemic;
        for rule in duplicate_rules(t.profile, &other) {
            let severity = duplicate_severity(rule, t.form.systemic && other.systemic);
            let what = if same_drug {
                "the same drug".to_string()
            } else {
                let class = f.classes.get(rule.class).map_or("", |c| c.id.as_str());
                format!("another `{class}`")
            };
            let note = if t.form.systemic {
                ""
            } else {
                " (topical form: low systemic absorption)"
            };
            let message = || {
                format!(
                    "co-medication `{}` is {what}: duplicate therapy with {}{note}",
                    named.text,
                    t.name()
                )
            };
            cite(
                out,
                f,
                Category::DuplicateTherapy,
                severity,
                &rule.rule,
                message,
            );
        }
        for (rule, class) in interaction_rules(t.profile, t.drug_index, &other) {
            let note = substance.notes.iter().find(|(c, _)| *c == class);
            let note = || note.map_or(String::new(), |(_, note)| format!(" ({note})"));
            let class = f.classes.get(class).map_or("", |c| c.label.as_str());
            let severity = interaction_severity(rule, both_systemic);
            let message = || {
                format!(
                    "co-medication `{}` is one of the {class}{}: {} with it: {}{}",
                    named.text,
                    note(),
                    t.name(),
                    verb(severity),
                    topical_note(both_systemic)
                )
            };
            cite(out, f, Category::Interaction, severity, &rule.rule, message);
        }
        let other_drug = other.drug.filter(|&d| d != t.drug_index);
        let Some(other_drug) = other_drug.and_then(|d| f.drugs.get(d)) else {
            continue;
        };
        for (rule, class) in interactions_from(t.profile, &t.drug.classes, other_drug) {
            let severity = interaction_severity(rule, both_systemic);
            let class = f.classes.get(class).map_or("", |c| c.label.as_str());
            let message = || {
                let text = named.text;
                let id = &other_drug.id;
                let which = match text.eq_ignore_ascii_case(id) {
                    true => format!("`{text}`"),
                    false => format!("`{text}` ({id})"),
                };
                format!(
                    "{} is one of the {class}, which the rules of co-medication {which} name: {}{}",
                    t.name(),
                    verb(severity),
                    topical_note(both_systemic)
                )
            };
            cite(out, f, Category::Interaction, severity, &rule.rule, message);
        }
    }
}
