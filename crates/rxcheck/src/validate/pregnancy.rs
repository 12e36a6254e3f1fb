//! Pregnancy rules by gestational week; an unknown status cannot pass them silently, unless
//! the patient cannot be pregnant (a man, a child, past the childbearing years).

use super::{cite, verb};
use crate::finding::{Assessment, Category, Severity};
use crate::formulary::PregnancyRule;
use crate::request::{Pregnancy, Request, Target};

pub(super) fn check<'f>(req: &Request<'f, '_>, t: &Target<'f>, out: &mut Assessment<'f>) {
    let rules = &t.profile.pregnancy;
    let strictest = rules
        .iter()
        .max_by_key(|r| (r.rule.severity, std::cmp::Reverse(r.weeks.0)));
    let weeks = |r: &PregnancyRule| {
        format!(
            "{} in weeks {}-{}",
            verb(r.rule.severity),
            r.weeks.0,
            r.weeks.1
        )
    };
    let mut report = |r: &'f PregnancyRule, severity: Severity, message: &dyn Fn() -> String| {
        cite(
            out,
            req.formulary,
            Category::Pregnancy,
            severity,
            &r.rule,
            message,
        );
    };
    match req.pregnancy {
        Pregnancy::No => {}
        Pregnancy::Yes(Some(week)) => {
            for r in rules
                .iter()
                .filter(|r| (r.weeks.0..=r.weeks.1).contains(&week))
            {
                let message = || format!("{} at gestational week {week}: {}", t.name(), weeks(r));
                report(r, r.rule.severity, &message);
            }
        }
        Pregnancy::Yes(None) => {
            if let Some(r) = strictest {
                let message = || {
                    format!(
                        "pregnant with no gestational week given: the strictest pregnancy rule of {} applies ({})",
                        t.name(),
                        weeks(r)
                    )
                };
                report(r, r.rule.severity, &message);
            }
        }
        Pregnancy::Unknown => {
            if let Some(r) = strictest.filter(|_| req.of_childbearing_potential()) {
                let message = || {
                    format!(
                        "pregnancy status is unknown, so the pregnancy rules of {} cannot be verified ({})",
                        t.name(),
                        weeks(r)
                    )
                };
                report(r, r.rule.severity.min(Severity::Warn), &message);
            }
        }
    }
}
