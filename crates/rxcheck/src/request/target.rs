//! Which drug, form and brand of the formulary a prescription names, and the rules that
//! apply to them.

use super::{Input, Prescription};
use crate::finding::Assessment;
use crate::formulary::{Drug, DrugRef, EquivalentForm, Form, FormRef, Formulary, Profile};

/// The drug form a prescription is for, resolved in the formulary.
#[derive(Debug, Clone, Copy)]
pub struct Target<'f> {
    pub drug: &'f Drug,
    /// The drug's position in the formulary.
    pub drug_index: usize,
    pub form: &'f Form,
    /// The form's position in the drug.
    pub form_index: usize,
    /// The brand the drug was named by, if any.
    pub brand: Option<usize>,
    /// The form as the prescription names it (capsules, checked by the tablets' rules).
    pub written: FormRef,
    /// The equivalent form the prescription names, if it names one.
    pub equivalent: Option<&'f EquivalentForm>,
    /// The form the drug's product name implies (`Voltaren gel`), if it implies one.
    pub product: Option<FormRef>,
    /// Every rule for this form (and brand).
    pub profile: &'f Profile,
}

impl Target<'_> {
    /// `diclofenac tablet`, as messages name it.
    pub fn name(&self) -> String {
        format!("{} {}", self.drug.id, self.form.id)
    }
}

/// Finds the drug (by name, alias or brand) and the form the prescription names; records why
/// not when it cannot.
pub(super) fn find(
    f: &Formulary,
    rx: &Prescription<'_>,
    out: &mut Assessment<'_>,
) -> Option<(DrugRef, FormRef)> {
    if rx.drug.trim().is_empty() {
        Input::Drug.invalid(out, "drug is missing".into());
        return None;
    }
    let Some(found) = f.find_drug(rx.drug) else {
        let hint = match f.suggest_drug_remembered(rx.drug) {
            Some(s) => format!("; did you mean `{s}`?"),
            None => String::new(),
        };
        Input::Drug.invalid(
            out,
            format!("drug `{}` is not in the formulary{hint}", rx.drug.trim()),
        );
        return None;
    };
    let drug = f.drugs.get(found.drug)?;
    // A product name that implies its form (`Voltaren gel`) stands for a missing form.
    let written = match (rx.form.trim().is_empty(), found.product) {
        (true, Some(product)) => Some(product),
        (true, None) => {
            Input::Form.invalid(out, format!("form is missing for `{}`", drug.id));
            return None;
        }
        (false, _) => drug.find_form(rx.form),
    };
    let Some(written) = written else {
        let hint = match drug.suggest_form(rx.form) {
            Some(s) => format!("; did you mean `{s}`?"),
            None => format!(
                "; it has {}",
                drug.forms
                    .iter()
                    .map(|f| format!("`{}`", f.id))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        Input::Form.invalid(
            out,
            format!(
                "form `{}` is not in the formulary for `{}`{hint}",
                rx.form.trim(),
                drug.id
            ),
        );
        return None;
    };
    Some((found, written))
}

/// The target a drug and form found in the formulary make, with its rules.
pub(super) fn at<'f>(
    f: &'f Formulary,
    found: DrugRef,
    written: FormRef,
    out: &mut Assessment<'f>,
) -> Option<Target<'f>> {
    let drug = f.drugs.get(found.drug)?;
    let form_index = written.form;
    let (Some(form), Some(profile)) = (
        drug.forms.get(form_index),
        drug.profile(form_index, found.brand),
    ) else {
        // Cannot happen with a formulary that loaded; never an `ok` all the same.
        Input::Form.invalid(
            out,
            format!("form of `{}` is not in the formulary", drug.id),
        );
        return None;
    };
    Some(Target {
        drug,
        drug_index: found.drug,
        form,
        form_index,
        brand: found.brand,
        written,
        equivalent: written.equivalent.and_then(|e| form.equivalents.get(e)),
        product: found.product,
        profile,
    })
}
