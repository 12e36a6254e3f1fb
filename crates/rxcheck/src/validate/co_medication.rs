//! Co-medications of the row: duplicate therapy with a drug of the same class, and
//! interactions with the classes the form's rules name.

use super::co_therapy::{OtherDrug, duplicate_rules, duplicate_severity, interaction_rules};
use super::{cite, verb};
use crate::finding::{Assessment, Category};
use crate::request::{Request, Target};

pub(super) fn check<'f>(req: &Request<'f, '_>, t: &Target<'f>, out: &mut Assessment<'f>) {
    let f = req.formulary;
    for named in &req.co_medications {
        let Some(substance) = named.known.substance else {
            continue;
        };
        let other = OtherDrug {
            drug: substance.drug,
            classes: &substance.classes,
            systemic: true,
        };
        let same_drug = other.drug == Some(t.drug_index);
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
            let message = || {
                format!(
                    "co-medication `{}` is one of the {class}{}: {} with it is {}",
                    named.text,
                    note(),
                    t.name(),
                    verb(rule.rule.severity)
                )
            };
            cite(
                out,
                f,
                Category::Interaction,
                rule.rule.severity,
                &rule.rule,
                message,
            );
        }
    }
}
