//! Allergy and co-medication names are open-ended (most drugs are outside the formulary), but
//! a near miss of a known name is likely a typo that would hide a rule: a warning. An allergy
//! the vocabulary does not know at all cannot be screened against the drug: a warning too
//! (allergens of kinds no rule is about, such as penicillins or latex, are known and quiet).

use crate::finding::{Assessment, Category, Severity};
use crate::request::{Input, Named, Request, Target, first_word};

pub(super) fn check<'f>(req: &Request<'f, '_>, t: &Target<'f>, out: &mut Assessment<'f>) {
    let lists: [(&[Named<'f, '_>], &str, Category, Input); 2] = [
        (
            &req.allergies,
            "allergy",
            Category::Allergy,
            Input::Allergies,
        ),
        (
            &req.co_medications,
            "co-medication",
            Category::Interaction,
            Input::CoMedications,
        ),
    ];
    for (names, what, category, input) in lists {
        for named in names.iter().filter(|n| !n.known.is_known()) {
            // A near miss written whole, or with words after it (`methotrexat 15 mg`), or a
            // form before it (`Tab. methotrexat`).
            let first = first_word(named.text);
            let suggestion = req
                .formulary
                .suggest_name_remembered(named.text)
                .or_else(|| req.formulary.suggest_name_remembered(first));
            let message = match suggestion {
                Some(suggestion) => format!(
                    "{what} `{}` is not a known drug or class; did you mean `{suggestion}`? the rules that depend on it cannot be verified",
                    named.text
                ),
                None if input == Input::Allergies => format!(
                    "allergy `{}` could not be screened: it is not a drug, class or allergen the formulary knows; check it against {} by hand",
                    named.text,
                    t.name()
                ),
                None => continue,
            };
            out.push(
                Severity::Warn,
                category,
                input.rule(),
                message,
                input.source(),
            );
        }
    }
}
