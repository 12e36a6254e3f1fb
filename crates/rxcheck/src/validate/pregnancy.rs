//! Pregnancy rules by gestational week; an unknown status cannot pass them silently.

use super::{cite, verb};
use crate::finding::{Assessment, Category, Severity};
use crate::request::{Pregnancy, Request, Target};

pub(super) fn check<'f>(req: &Request<'f, '_>, t: &Target<'f>, out: &mut Assessment<'f>) {
    let rules = &t.profile.pregnancy;
    let f = req.formulary;
    let strictest = rules
        .iter()
        .max_by_key(|r| (r.rule.severity, std::cmp::Reverse(r.weeks.0)));
    match req.pregnancy {
        Pregnancy::No => {}
        Pregnancy::Yes(Some(week)) => {
            for r in rules
                .iter()
                .filter(|r| (r.weeks.0..=r.weeks.1).contains(&week))
            {
                let message = format!(
                    "{} at gestational week {week}: {} in weeks {}-{}",
                    t.name(),
                    verb(r.rule.severity),
                    r.weeks.0,
                    r.weeks.1
                );
                cite(
                    out,
                    f,
                    Category::Pregnancy,
                    r.rule.severity,
                    &r.rule,
                    message,
                );
            }
        }
        Pregnancy::Yes(None) => {
            if let Some(r) = strictest {
                let message = format!(
                    "pregnant with no gestational week given: the strictest pregnancy rule of {} applies ({} in weeks {}-{})",
                    t.name(),
                    verb(r.rule.severity),
                    r.weeks.0,
                    r.weeks.1
                );
                cite(
                    out,
                    f,
                    Category::Pregnancy,
                    r.rule.severity,
                    &r.rule,
                    message,
                );
            }
        }
        Pregnancy::Unknown => {
            if let Some(r) = strictest {
                let message = format!(
                    "pregnancy status is unknown, so the pregnancy rules of {} cannot be verified ({} in weeks {}-{})",
                    t.name(),
                    verb(r.rule.severity),
                    r.weeks.0,
                    r.weeks.1
                );
                let severity = r.rule.severity.min(Severity::Warn);
                cite(out, f, Category::Pregnancy, severity, &r.rule, message);
            }
        }
    }
}
