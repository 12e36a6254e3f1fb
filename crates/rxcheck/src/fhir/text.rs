//! Names and units as FHIR senders write them: a formulary name found inside a longer
//! medication name ("Diclofenac Sodium 75 MG Delayed Release Oral Tablet"), a strength in
//! such a name, and a Quantity's unit as the dose parser reads units.

use super::model::{CodeableConcept, Coding, Quantity};
use crate::formulary::{Formulary, normalize_name};
use rust_decimal::Decimal;

/// The longest run of up to four words of `text` that `known` accepts, as the words.
pub fn find_words<T>(text: &str, mut known: impl FnMut(&str) -> Option<T>) -> Option<(String, T)> {
    let normal = normalize_name(text);
    let words: Vec<&str> = normal
        .split(|c: char| c.is_whitespace() || "[](),;:".contains(c))
        .filter(|w| !w.is_empty())
        .collect();
    for len in (1..=4.min(words.len())).rev() {
        for start in 0..=(words.len() - len) {
            let Some(run) = words.get(start..start + len) else {
                continue;
            };
            let run = run.join(" ");
            if let Some(found) = known(&run) {
                return Some((run, found));
            }
        }
    }
    None
}

/// Every text a concept gives: its `text`, then each coding's `display`.
pub fn texts(concept: &CodeableConcept) -> impl Iterator<Item = &str> {
    concept
        .text
        .iter()
        .chain(concept.coding.iter().filter_map(|c| c.display.as_ref()))
        .map(String::as_str)
        .filter(|t| !t.trim().is_empty())
}

/// A strength written in a medication name: `10 MG` as `10 mg`, `25 MG/ML` as `25 mg/ml`,
/// and with no space, `50mg` as `50 mg`, `5%` as `5 %`.
pub fn strength_in(text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let strength = |number: &str, unit: &str| {
        let value: Decimal = number.parse().ok()?;
        matches!(unit, "mg" | "g" | "mcg" | "mg/ml" | "%")
            .then(|| format!("{} {unit}", value.normalize()))
    };
    (0..words.len()).find_map(|i| {
        let word = words.get(i)?;
        let digits = word
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(word.len());
        match word.split_at(digits) {
            ("", _) => None,
            (number, "") => strength(number, words.get(i + 1)?),
            (number, unit) => strength(number, unit),
        }
    })
}

/// The name a coding's RxNorm ingredient or SNOMED CT substance code means in the
/// formulary's `[codes]`, when it lists it.
pub fn coded_name<'f>(formulary: &'f Formulary, coding: &Coding) -> Option<&'f str> {
    let code = coding.code.as_deref()?;
    ["rxnorm", "snomed"]
        .into_iter()
        .find(|&system| is_system(coding.system.as_deref(), system))
        .and_then(|system| formulary.name_for_code(system, code))
}

/// True when `system` is one of the terminologies named by `marker` (`rxnorm`, `snomed`,
/// `atc`, `icd-10`, `loinc`), by the usual system URIs.
pub fn is_system(system: Option<&str>, marker: &str) -> bool {
    let Some(system) = system else {
        return false;
    };
    let s = system.to_ascii_lowercase();
    match marker {
        "rxnorm" => s.contains("rxnorm"),
        "snomed" => s.contains("snomed.info/sct") || s.contains("snomed"),
        "atc" => s.contains("whocc.no/atc") || s.ends_with("/atc"),
        "icd-10" => s.contains("icd-10") || s.contains("icd10"),
        "loinc" => s.contains("loinc"),
        "gts" => s.contains("gtsabbreviation"),
        _ => false,
    }
}

/// A Quantity's unit as the dose parser reads units: a UCUM code (`mg`, `mL`, `ug`), an
/// annotation for a unit of a form (`{pill}`, `{tbl}`, `{capsule}`), or the unit's text.
pub fn unit(q: &Quantity) -> Option<String> {
    let annotation = |code: &str| {
        let inner = code
            .trim()
            .strip_prefix('{')?
            .strip_suffix('}')?
            .to_ascii_lowercase();
        Some(
            match inner.as_str() {
                "pill" | "pills" | "tbl" | "tab" | "tabs" | "tablet" | "tablets" => "tablet",
                "cap" | "caps" | "capsule" | "capsules" => "capsule",
                "supp" | "suppository" | "suppositories" => "suppository",
                "amp" | "ampule" | "ampoule" | "ampules" | "ampoules" => "ampoule",
                other => return Some(other.to_string()),
            }
            .to_string(),
        )
    };
    let ucum = |code: &str| match code.trim() {
        "mg" | "g" | "cm" => Some(code.trim().to_string()),
        "ug" | "mcg" => Some("mcg".to_string()),
        "mL" | "ml" => Some("ml".to_string()),
        _ => None,
    };
    let from_code = q
        .code
        .as_deref()
        .and_then(|c| annotation(c).or_else(|| ucum(c)));
    let from_unit = q.unit.as_deref().and_then(|u| {
        annotation(u).or_else(|| {
            let u = u.trim();
            (!u.is_empty()).then(|| u.to_string())
        })
    });
    from_code
        .or(from_unit)
        .or_else(|| q.code.clone().filter(|c| !c.trim().is_empty()))
}

/// A Quantity as the dose parser reads it (`50 mg`, `1 tablet`), when it has a value.
pub fn quantity(q: &Quantity) -> Option<String> {
    let value = q.value?.normalize();
    Some(match unit(q) {
        Some(unit) => format!("{value} {unit}"),
        None => value.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strengths_in_rxnorm_names() {
        assert_eq!(
            strength_in("Ketorolac Tromethamine 10 MG Oral Tablet").as_deref(),
            Some("10 mg")
        );
        assert_eq!(
            strength_in("Diclofenac Sodium 25 MG/ML Injectable Solution").as_deref(),
            Some("25 mg/ml")
        );
        assert_eq!(strength_in("Diclofenac gel"), None);
        assert_eq!(
            strength_in("Diclofenac 50mg tablet").as_deref(),
            Some("50 mg")
        );
        assert_eq!(
            strength_in("Indomethacin 5% ointment").as_deref(),
            Some("5 %")
        );
        assert_eq!(strength_in("Voltaren 1 % gel").as_deref(), Some("1 %"));
        assert_eq!(strength_in("Nimesulide 100 tabs"), None);
    }

    #[test]
    fn the_longest_known_run_of_words_wins() {
        let known = |w: &str| matches!(w, "voltaren" | "voltaren gel").then_some(());
        assert_eq!(
            find_words("Voltaren Gel 1% [OTC]", known)
                .map(|f| f.0)
                .as_deref(),
            Some("voltaren gel")
        );
    }
}
