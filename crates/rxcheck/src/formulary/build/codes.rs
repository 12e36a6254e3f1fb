//! Codes of other terminologies that FHIR input names things by: SNOMED CT concept ids of
//! conditions, RxNorm drugs of a drug's forms, ATC codes of drugs and forms. Each is checked
//! for its shape (a SNOMED CT id by its Verhoeff check digit) and for being given once.

use super::*;
use crate::formulary::raw::{RawCodes, RawRxNorm};
use crate::formulary::{CodeIndex, RxNormProduct};

impl Builder<'_> {
    /// Claims `code` of `system` for `owner`; an error when something else has it already.
    fn claim_code(
        &mut self,
        file: usize,
        span: Range<usize>,
        system: &str,
        code: &str,
        owner: &str,
    ) {
        let key = format!("{system} {code}");
        match self.codes_seen.get(&key) {
            Some(other) => {
                let message = if other == owner {
                    format!("{system} code `{code}` is given twice for `{owner}`")
                } else {
                    format!("{system} code `{code}` is given for `{owner}` and for `{other}`")
                };
                self.error(
                    file,
                    span,
                    message,
                    Some("a code means one thing: keep it where it belongs".into()),
                );
            }
            None => {
                self.codes_seen.insert(key, owner.to_string());
            }
        }
    }

    /// The SNOMED CT concept ids of a condition that are well formed.
    pub(super) fn snomed_codes(&mut self, file: usize, codes: &[Text]) -> Vec<String> {
        let mut valid = Vec::new();
        for code in codes {
            if is_snomed_concept(code.get_ref()) {
                valid.push(code.get_ref().clone());
            } else {
                self.error(
                    file,
                    code.span(),
                    format!("`{}` is not a SNOMED CT concept id", code.get_ref()),
                    Some("a concept id is 6 to 18 digits whose last is a Verhoeff check digit, such as `12847006`; copy it from the terminology".into()),
                );
            }
        }
        valid
    }

    /// Errors for a SNOMED CT id given for two conditions when neither implies the other nor
    /// says it `overlaps` it (a bleeding ulcer is both an ulcer and a bleeding).
    pub(super) fn check_snomed_collisions(
        &mut self,
        items: &[Item<crate::formulary::raw::RawCondition>],
        built: &[Condition],
    ) {
        let mut by_code: FastMap<&str, usize> = FastMap::default();
        let declared = |a: usize, b: &str| {
            items
                .get(a)
                .is_some_and(|i| i.value.get_ref().overlaps.iter().any(|o| o.get_ref() == b))
        };
        let mut collisions = Vec::new();
        for (a, (item, condition)) in items.iter().zip(built).enumerate() {
            for code in &item.value.get_ref().snomed {
                let Some(&b) = by_code.get(code.get_ref().as_str()) else {
                    by_code.insert(code.get_ref(), a);
                    continue;
                };
                let Some(other) = built.get(b) else { continue };
                let related = condition.implies.contains(&b)
                    || other.implies.contains(&a)
                    || declared(a, &other.id)
                    || declared(b, &condition.id);
                if !related {
                    collisions.push((
                        item.file,
                        code.span(),
                        code.get_ref().clone(),
                        condition.id.clone(),
                        other.id.clone(),
                    ));
                }
            }
        }
        for (file, span, code, own, other) in collisions {
            self.error(
                file,
                span,
                format!("SNOMED CT `{code}` is given for conditions `{own}` and `{other}`"),
                Some(format!(
                    "if that is meant, say `overlaps = [\"{other}\"]`; else keep it on one"
                )),
            );
        }
    }

    /// A form's own ATC code, checked.
    pub(super) fn form_atc(
        &mut self,
        file: usize,
        atc: Option<&Text>,
        owner: &str,
    ) -> Option<String> {
        let atc = atc?;
        self.atc_code(file, atc, owner)
    }

    /// An ATC code, checked for its shape and for being given once.
    pub(super) fn atc_code(&mut self, file: usize, atc: &Text, owner: &str) -> Option<String> {
        let code = atc.get_ref().trim().to_ascii_uppercase();
        if !is_atc(&code) {
            self.error(
                file,
                atc.span(),
                format!("`{}` is not an ATC code", atc.get_ref()),
                Some("an ATC code of a substance is 7 characters, such as `M01AB05`".into()),
            );
            return None;
        }
        self.claim_code(file, atc.span(), "ATC", &code, owner);
        Some(code)
    }

    /// A drug's RxNorm products, each naming one of its forms (or equivalent forms), and
    /// optionally one of its brands and a strength.
    pub(super) fn rxnorm_products(
        &mut self,
        drug: &str,
        file: usize,
        raw: &[Spanned<RawRxNorm>],
        form_names: &FastMap<String, FormRef>,
        brands: &[Brand],
    ) -> Vec<RxNormProduct> {
        let mut products = Vec::new();
        for entry in raw {
            let entry = entry.get_ref();
            let code = entry.code.get_ref().trim();
            if code.is_empty() || code.len() > 10 || !code.bytes().all(|b| b.is_ascii_digit()) {
                self.error(
                    file,
                    entry.code.span(),
                    format!("`{code}` is not an RxNorm code"),
                    Some("an RxNorm code (RXCUI) is a number, such as `855942`".into()),
                );
                continue;
            }
            self.claim_code(file, entry.code.span(), "RxNorm", code, drug);
            let Some(form) = form_names
                .get(normalize_name(entry.form.get_ref()).as_ref())
                .copied()
            else {
                self.error(
                    file,
                    entry.form.span(),
                    format!(
                        "RxNorm `{code}` names form `{}`, which drug `{drug}` does not have",
                        entry.form.get_ref()
                    ),
                    None,
                );
                continue;
            };
            let brand = match &entry.brand {
                None => None,
                Some(name) => {
                    let found = brands.iter().position(|b| b.id == *name.get_ref());
                    if found.is_none() {
                        self.error(
                            file,
                            name.span(),
                            format!("RxNorm `{code}` names brand `{}`, which drug `{drug}` does not have", name.get_ref()),
                            Some("name a brand by its id under `[drugs.ID.brands]`".into()),
                        );
                        continue;
                    }
                    found
                }
            };
            let strength = match &entry.strength {
                None => None,
                Some(text) => match self.strength(file, text) {
                    Some(_) => Some(text.get_ref().clone()),
                    None => continue,
                },
            };
            products.push(RxNormProduct {
                code: code.to_string(),
                form,
                brand,
                strength,
            });
        }
        products
    }
}

/// The index of every code the loaded formulary lists (the first owner of a code wins; a
/// second one is an error already).
pub(super) fn code_index(conditions: &[Condition], drugs: &[Drug]) -> CodeIndex {
    let mut index = CodeIndex::default();
    for (c, condition) in conditions.iter().enumerate() {
        for code in &condition.snomed {
            index.snomed.entry(code.clone()).or_default().push(c);
        }
    }
    for (d, drug) in drugs.iter().enumerate() {
        for (p, product) in drug.rxnorm.iter().enumerate() {
            index.rxnorm.entry(product.code.clone()).or_insert((d, p));
        }
        if let Some(atc) = &drug.atc {
            index.atc.entry(atc.clone()).or_insert((d, None));
        }
        for (f, form) in drug.forms.iter().enumerate() {
            if let Some(atc) = &form.atc {
                index.atc.entry(atc.clone()).or_insert((d, Some(f)));
            }
        }
    }
    index
}

impl Builder<'_> {
    /// The names codes mean (`[codes.rxnorm]`, `[codes.snomed]`), by `"system code"`; each
    /// code is checked for its shape and for being given once.
    pub(super) fn code_names(&mut self, parts: Vec<(usize, RawCodes)>) -> FastMap<String, String> {
        let mut names = FastMap::default();
        for (file, systems) in parts {
            for (system, codes) in systems {
                type Shape = fn(&str) -> bool;
                let (label, what, well_formed): (&str, &str, Shape) = match system.as_str() {
                    "rxnorm" => ("RxNorm", "an RxNorm code", |c| {
                        !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit())
                    }),
                    "snomed" => ("SNOMED CT", "a SNOMED CT concept id", is_snomed_concept),
                    _ => {
                        let span = codes.values().next().map_or(0..0, |n| n.span());
                        self.error(
                            file,
                            span,
                            format!("`[codes.{system}]` names no terminology rxcheck reads"),
                            Some("use `[codes.rxnorm]` or `[codes.snomed]`".into()),
                        );
                        continue;
                    }
                };
                for (code, name) in codes {
                    if !well_formed(&code) {
                        self.error(
                            file,
                            name.span(),
                            format!("`{code}` is not {what}"),
                            Some("copy the code from the terminology: an RxNorm RXCUI is digits; a SNOMED CT id ends in its Verhoeff check digit".into()),
                        );
                        continue;
                    }
                    self.claim_code(file, name.span(), label, &code, name.get_ref());
                    self.code_spans
                        .push((file, name.span(), name.get_ref().clone()));
                    names.insert(format!("{system} {code}"), name.into_inner());
                }
            }
        }
        names
    }

    /// Errors for a code whose name the vocabulary does not know.
    pub(super) fn check_code_names(&mut self, formulary: &Formulary) {
        for (file, span, name) in std::mem::take(&mut self.code_spans) {
            if !formulary.lookup_name(&name).is_known() {
                self.error(
                    file,
                    span,
                    format!(
                        "`{name}` is not a drug, substance, class or allergen of the formulary"
                    ),
                    Some("give a code the name the vocabulary lists it by".into()),
                );
            }
        }
    }
}

/// Whether `code` is an ATC code of a substance: a letter, two digits, two letters, two
/// digits (`M01AB05`).
fn is_atc(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 7
        && b.iter().enumerate().all(|(i, c)| match i {
            0 | 3 | 4 => c.is_ascii_uppercase(),
            _ => c.is_ascii_digit(),
        })
}

/// Whether `code` is a SNOMED CT concept id: 6 to 18 digits, no leading zero, a concept's
/// partition (`00` or `10` before the check digit) and a valid Verhoeff check digit.
pub fn is_snomed_concept(code: &str) -> bool {
    let b = code.as_bytes();
    let partition = b.len().checked_sub(3).and_then(|i| b.get(i..i + 2));
    (6..=18).contains(&b.len())
        && b.iter().all(u8::is_ascii_digit)
        && b.first() != Some(&b'0')
        && matches!(partition, Some(b"00") | Some(b"10"))
        && verhoeff_valid(b)
}

/// The Verhoeff check: the digits, check digit last, multiply out to zero.
fn verhoeff_valid(digits: &[u8]) -> bool {
    const D: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const P: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    let mut check = 0u8;
    for (i, digit) in digits.iter().rev().enumerate() {
        let digit = usize::from(digit.wrapping_sub(b'0'));
        let permuted = P
            .get(i % 8)
            .and_then(|row| row.get(digit))
            .copied()
            .unwrap_or(10);
        check = match D
            .get(usize::from(check))
            .and_then(|row| row.get(usize::from(permuted)))
        {
            Some(&next) => next,
            None => return false,
        };
    }
    check == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snomed_ids_are_checked_by_their_verhoeff_digit() {
        for good in [
            "12847006",
            "195967001",
            "34000006",
            "64766004",
            "90935002",
            "74474003",
        ] {
            assert!(is_snomed_concept(good), "{good}");
        }
        // One digit changed, two swapped, a description's partition, too short.
        for bad in [
            "12847007",
            "21847006",
            "12847016",
            "1284",
            "012847006",
            "K25.4",
        ] {
            assert!(!is_snomed_concept(bad), "{bad}");
        }
    }

    #[test]
    fn atc_codes_have_their_shape() {
        assert!(is_atc("M01AB05"));
        assert!(!is_atc("M01AB5"));
        assert!(!is_atc("m01ab05"));
    }
}
