//! How the form is taken: advice the formulary attaches to it, reported as notes.

use crate::finding::{Assessment, Category};
use crate::request::{Request, Target};

pub(super) fn check<'f>(req: &Request<'f, '_>, t: &Target<'f>, out: &mut Assessment<'f>) {
    for note in &t.profile.administration {
        out.push(
            note.rule.severity,
            Category::Administration,
            note.rule.rule.as_str(),
            note.note.as_str(),
            req.formulary.citation(note.rule.source),
        );
    }
}
