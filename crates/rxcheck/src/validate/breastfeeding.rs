//! Breastfeeding rules; an unknown status cannot pass them silently, unless the patient
//! cannot be breastfeeding (a man, a child, past the childbearing years).

use super::{cite, verb};
use crate::finding::{Assessment, Category, Severity};
use crate::request::{Flag, Request, Target};

pub(super) fn check<'f>(req: &Request<'f, '_>, t: &Target<'f>, out: &mut Assessment<'f>) {
    for r in &t.profile.breastfeeding {
        match req.breastfeeding {
            Flag::Yes => {
                let message = || format!("{} while breastfeeding: {}", t.name(), verb(r.severity));
                cite(
                    out,
                    req.formulary,
                    Category::Breastfeeding,
                    r.severity,
                    r,
                    message,
                );
            }
            Flag::Unknown if req.of_childbearing_potential() => {
                let message = || {
                    format!(
                        "breastfeeding status is unknown, so the breastfeeding rule of {} cannot be verified ({} while breastfeeding)",
                        t.name(),
                        verb(r.severity)
                    )
                };
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
            Flag::No | Flag::Unknown => {}
        }
    }
}
