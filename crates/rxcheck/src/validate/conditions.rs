//! Contraindicated conditions: one finding per condition the patient has, at the most severe
//! rule for it (a condition both cautioned and contraindicated is reported once, as
//! contraindicated).

use super::{cite, verb};
use crate::finding::{Assessment, Category};
use crate::request::{Request, Target};

pub(super) fn check<'f>(req: &Request<'f, '_>, t: &Target<'f>, out: &mut Assessment<'f>) {
    if req.conditions.is_empty() {
        return;
    }
    let rules = &t.profile.contraindications;
    for (index, rule) in rules.iter().enumerate() {
        // Whether the patient has the condition first: most rules are about others.
        let Some(given) = req
            .conditions
            .iter()
            .find(|c| c.condition == rule.condition)
        else {
            continue;
        };
        let outranked = rules.iter().enumerate().any(|(other, r)| {
            r.condition == rule.condition
                && (r.rule.severity > rule.rule.severity
                    || (r.rule.severity == rule.rule.severity && other < index))
        });
        if !outranked {
            let label = req
                .formulary
                .conditions
                .get(rule.condition)
                .map_or("", |c| c.label.as_str());
            let message = || {
                format!(
                    "{} with {label} (`{}`): {}",
                    t.name(),
                    given.given,
                    verb(rule.rule.severity)
                )
            };
            cite(
                out,
                req.formulary,
                Category::Condition,
                rule.rule.severity,
                &rule.rule,
                message,
            );
        }
    }
}
