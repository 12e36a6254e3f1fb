//! Breastfeeding rules; an unknown status cannot pass them silently.

use super::{cite, verb};
use crate::finding::{Assessment, Category, Severity};
use crate::request::{Flag, Request, Target};

pub(super) fn check<'f>(req: &Request<'f, '_>, t: &Target<'f>, out: &mut Assessment<'f>) {
    for r in &t.profile.breastfeeding {
        match req.breastfeeding {
            Flag::No => {}
            Flag::Yes => {
                let message = format!("{} while breastfeeding: {}", t.name(), verb(r.severity));
                cite(
                    out,
                    req.formulary,
                    Category::Breastfeeding,
                    r.severity,
                    r,
                    message,
                );
            }
            Flag::Unknown => {
                let message = format!(
                    "breastfeeding status is unknown, so the breastfeeding rule of {} cannot be verified ({} while breastfeeding)",
                    t.name(),
                    verb(r.severity)
                );
                let severity = r.severity.min(Severity::Warn);
                cite(
                    out,
                    req.formulary,
                    Category::Breastfeeding,
                    severity,
                    r,
                    message,
                );
            }
        }
    }
}
