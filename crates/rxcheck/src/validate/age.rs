//! The minimum age of the drug form.

use crate::finding::{Assessment, Category, Severity};
use crate::request::{Request, Target};

pub(super) fn check<'f>(req: &Request<'f, '_>, t: &Target<'f>, out: &mut Assessment<'f>) {
    let (Some(age), Some(rule)) = (req.age, &t.profile.min_age) else {
        return;
    };
    if age < rule.years {
        out.push(
            Severity::Reject,
            Category::Age,
            rule.rule.as_str(),
            || {
                format!(
                    "patient is {age} years old; {} is for patients from {} years",
                    t.name(),
                    rule.years
                )
            },
            req.formulary.citation(rule.source),
        );
    }
}
