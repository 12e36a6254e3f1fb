//! One MedicationRequest as prescription fields: the drug (from RxNorm or ATC codes, or its
//! name), form and strength, the dose (a doseQuantity, or a doseRange at its high), times a
//! day from the timing (worst case), the course length (the longest the order gives) and the
//! date.

use super::model::{
    CodeableConcept, Dosage, DoseAndRate, Medication, MedicationRequest, Quantity, Ratio,
    Reference, Repeat,
};
use super::text::{self, coded_name, find_words, is_system, quantity, strength_in, texts};
use super::{Located, Read, finding};
use crate::finding::{Finding, Severity};
use crate::formulary::{Drug, FormRef, Formulary};
use crate::request::{Field, MAX_TIMES_PER_DAY, parse_date, parse_frequency};
use rust_decimal::Decimal;
use serde_json::Value;

/// Reads one MedicationRequest; the Medication it references is looked up among its
/// contained resources and `resources`.
pub(super) fn read(formulary: &Formulary, at: &Located, resources: &[Located]) -> Read {
    let mut fields: [String; Field::COUNT] = Default::default();
    let mut findings = Vec::new();
    let mut set = |field: Field, value: String| {
        if let Some(slot) = fields.get_mut(field.index()) {
            *slot = value;
        }
    };
    let path = at.path.as_str();
    let mr: MedicationRequest = match at.read() {
        Ok(mr) => mr,
        Err(problem) => {
            set(
                Field::RxId,
                at.id().map_or_else(|| path.to_string(), str::to_string),
            );
            // What it prescribes may still be read: a formulary drug's order that cannot be
            // read is `invalid`, not an order outside the formulary.
            let product = what_it_prescribes(at).and_then(|mr| {
                let ignored = &mut Vec::new();
                let medication = medication(&mr, at, resources, ignored);
                product(formulary, &mr, medication.as_ref(), ignored)
            });
            let drug = product.as_ref().and_then(|p| p.drug_index);
            if let Some(p) = product {
                set(Field::Drug, p.drug);
                set(Field::Form, p.form);
                set(Field::Strength, p.strength);
            }
            return Read {
                fields,
                findings: vec![problem],
                drug,
            };
        }
    };
    let rx_id = mr
        .id
        .clone()
        .or_else(|| mr.identifier.iter().find_map(|i| i.value.clone()))
        .unwrap_or_else(|| path.to_string());
    set(Field::RxId, rx_id);

    let medication = medication(&mr, at, resources, &mut findings);
    let product = product(formulary, &mr, medication.as_ref(), &mut findings);
    let drug = product.as_ref().and_then(|p| p.drug_index);
    let misfit = product
        .as_ref()
        .and_then(|p| route_misfit(formulary, p, &mr, path));
    if let Some(p) = product {
        set(Field::Drug, p.drug);
        // A form its route contradicts is not known: its rules are not cited.
        if misfit.is_none() {
            set(Field::Form, p.form);
        }
        set(Field::Strength, p.strength);
    }
    findings.extend(misfit);

    let mut per_day = None;
    match mr.dosage_instruction.as_slice() {
        [] => findings.push(finding(
            Severity::Invalid,
            format!("`{path}.dosageInstruction` is missing: the dose and timing cannot be checked"),
        )),
        [dosage] => {
            let at = format!("{path}.dosageInstruction[0]");
            match dose(dosage, &at) {
                Ok(d) => set(Field::Dose, d),
                Err(e) => findings.push(e),
            }
            match times_per_day(dosage, &at) {
                Ok(t) => {
                    set(Field::TimesPerDay, t.to_string());
                    per_day = Some(t);
                }
                Err(e) => findings.push(e),
            }
        }
        more => findings.push(finding(
            Severity::Invalid,
            format!(
                "`{path}.dosageInstruction` holds {} dosages; rxcheck checks one regimen per order: give each as its own MedicationRequest",
                more.len()
            ),
        )),
    }
    let repeat = mr
        .dosage_instruction
        .first()
        .and_then(|d| d.timing.as_ref())
        .and_then(|t| t.repeat.as_ref());
    match course_days(repeat, &mr, per_day, path) {
        Ok(Some(days)) => set(Field::DurationDays, days.normalize().to_string()),
        Ok(None) => {}
        Err(e) => findings.push(e),
    }
    let date = mr
        .authored_on
        .clone()
        .or_else(|| {
            repeat
                .and_then(|r| r.bounds_period.as_ref())
                .and_then(|p| p.start.clone())
        })
        .or_else(|| {
            mr.dispense_request
                .as_ref()
                .and_then(|d| d.validity_period.as_ref())
                .and_then(|p| p.start.clone())
        });
    if let Some(date) = date {
        set(Field::Date, date_part(&date));
    }
    Read {
        fields,
        findings,
        drug,
    }
}

/// The fields of a MedicationRequest that name what it prescribes, read on their own.
fn what_it_prescribes(at: &Located) -> Option<MedicationRequest> {
    let keys = [
        "medicationCodeableConcept",
        "medicationReference",
        "medication",
        "contained",
    ];
    let part: serde_json::Map<String, Value> = keys
        .iter()
        .filter_map(|&key| Some((key.to_string(), at.value.get(key)?.clone())))
        .collect();
    serde_json::from_value(Value::Object(part)).ok()
}

/// The date of a FHIR date or dateTime (`2020-02-05T10:00:00Z` is `2020-02-05`); anything
/// else as written, for the date parser to refuse.
pub(super) fn date_part(text: &str) -> String {
    let head = text.trim().get(..10).unwrap_or(text.trim());
    match parse_date(head) {
        Some(_) => head.to_string(),
        None => text.trim().to_string(),
    }
}

/// The order's reference to a Medication (R4's `medicationReference`, R5's
/// `medication.reference`), if it has one.
fn reference(mr: &MedicationRequest) -> Option<&Reference> {
    mr.medication_reference
        .as_ref()
        .or_else(|| mr.medication.as_ref().and_then(|m| m.reference.as_ref()))
}

/// The Medication resource the order references, if it references one.
fn medication(
    mr: &MedicationRequest,
    at: &Located,
    resources: &[Located],
    findings: &mut Vec<Finding<'static>>,
) -> Option<Medication> {
    let reference = reference(mr)?;
    let Some(target) = reference.reference.as_deref().map(str::trim) else {
        if reference.display.is_none() {
            findings.push(finding(
                Severity::Invalid,
                format!("`{}.medicationReference` has neither a `reference` nor a `display`: it names no medication", at.path),
            ));
        }
        return None;
    };
    let found = if let Some(local) = target.strip_prefix('#') {
        mr.contained
            .iter()
            .enumerate()
            .find(|(_, c)| c.get("id").and_then(Value::as_str) == Some(local))
            .map(|(i, c)| Located::new(format!("{}.contained[{i}]", at.path), c.clone()))
    } else {
        resources
            .iter()
            .find(|r| r.kind() == "Medication" && r.is_named_by(target))
            .cloned()
    };
    let Some(found) = found else {
        // Its display still names the drug; without it the order names none.
        if reference.display.is_none() {
            findings.push(finding(
                Severity::Invalid,
                format!("`{}.medicationReference` names `{target}`, which is neither contained nor in the Bundle", at.path),
            ));
        }
        return None;
    };
    match found.read::<Medication>() {
        Ok(m) => Some(m),
        Err(e) => {
            findings.push(e);
            None
        }
    }
}

/// What the order prescribes, as the prescription fields name it.
struct Product {
    drug: String,
    form: String,
    strength: String,
    drug_index: Option<usize>,
    /// The route the medication's name or form says (`oral solution`), if any.
    named_route: Option<&'static str>,
}

/// The drug, form and strength of an order: from an RxNorm code the formulary lists, an ATC
/// code, or the names given (and those its ingredient codes mean), in that order; `None`
/// when nothing names a drug at all.
fn product(
    formulary: &Formulary,
    mr: &MedicationRequest,
    medication: Option<&Medication>,
    findings: &mut Vec<Finding<'static>>,
) -> Option<Product> {
    let concepts: Vec<&CodeableConcept> = mr
        .medication_codeable_concept
        .iter()
        .chain(mr.medication.as_ref().and_then(|m| m.concept.as_ref()))
        .chain(medication.and_then(|m| m.code.as_ref()))
        .collect();
    let reference_display = reference(mr).and_then(|r| r.display.clone());
    // What its ingredient's code means, after what it is called.
    let coded = concepts
        .iter()
        .flat_map(|c| &c.coding)
        .filter_map(|c| coded_name(formulary, c))
        .map(str::to_string);
    let names: Vec<String> = concepts
        .iter()
        .flat_map(|c| texts(c))
        .map(str::to_string)
        .chain(reference_display)
        .chain(coded)
        .collect();
    let codings = concepts.iter().flat_map(|c| &c.coding);
    let form_concept = medication.and_then(|m| m.form.as_ref().or(m.dose_form.as_ref()));
    let form_texts: Vec<String> = form_concept
        .map(|c| texts(c).map(str::to_string).collect())
        .unwrap_or_default();
    let strength = medication
        .and_then(|m| m.ingredient.first())
        .and_then(|i| i.strength.as_ref().or(i.strength_ratio.as_ref()))
        .and_then(ratio)
        .or_else(|| names.iter().find_map(|n| strength_in(n)));

    let mut by_atc = None;
    for coding in codings {
        let Some(code) = coding.code.as_deref() else {
            continue;
        };
        if is_system(coding.system.as_deref(), "rxnorm") {
            if let Some((d, p)) = formulary.rxnorm_product(code) {
                let drug = formulary.drugs.get(d)?;
                let name = p
                    .brand
                    .and_then(|b| drug.brands.get(b))
                    .and_then(|b| b.names.first())
                    .unwrap_or(&drug.id);
                return Some(Product {
                    drug: name.clone(),
                    form: drug.form_label(p.form).to_string(),
                    strength: p.strength.clone().or(strength).unwrap_or_default(),
                    drug_index: Some(d),
                    // The code names the form itself.
                    named_route: None,
                });
            }
        } else if is_system(coding.system.as_deref(), "atc") && by_atc.is_none() {
            by_atc = formulary.drug_for_atc(code);
        }
    }
    let by_name = names
        .iter()
        .find_map(|n| find_words(n, |w| formulary.find_drug(w)));
    let (drug_name, drug_index) = match (by_atc, &by_name) {
        (Some((d, _)), _) => (formulary.drugs.get(d)?.id.clone(), d),
        (None, Some((words, found))) => (words.clone(), found.drug),
        (None, None) => {
            // Not a formulary drug: its name still counts against the patient's others.
            let name = names.first().cloned();
            // A reference to a Medication that is not there has been reported as such.
            let unresolved = medication.is_none() && reference(mr).is_some();
            if name.is_none() && !unresolved {
                let codes: Vec<String> = concepts
                    .iter()
                    .flat_map(|c| &c.coding)
                    .filter_map(|c| c.code.as_deref())
                    .map(|code| format!("`{code}`"))
                    .collect();
                let message = match codes.is_empty() {
                    true => "the order names no medication: give medicationCodeableConcept, or a medicationReference to a Medication".to_string(),
                    false => format!(
                        "the order's medication is coded only as {}, which rxcheck does not know, and has no name: give the coding's display or the concept's text",
                        codes.join(", ")
                    ),
                };
                findings.push(finding(Severity::Invalid, message));
            }
            return name.map(|n| Product {
                drug: n.replace(';', ","),
                form: String::new(),
                strength: String::new(),
                drug_index: None,
                named_route: None,
            });
        }
    };
    let drug = formulary.drugs.get(drug_index)?;
    let form = by_atc
        .and_then(|(_, f)| f)
        .map(|f| {
            drug.form_label(FormRef {
                form: f,
                equivalent: None,
            })
            .to_string()
        })
        .or_else(|| {
            form_texts
                .iter()
                .chain(&names)
                .find_map(|t| find_words(t, |w| drug.find_form(w)).map(|f| f.0))
        })
        .or_else(|| dose_unit_form(drug, mr))
        .or_else(|| route_form(drug, mr))
        .unwrap_or_default();
    let named_route = form_texts
        .iter()
        .chain(&names)
        .find_map(|t| route_in_words(&t.to_lowercase()));
    Some(Product {
        drug: drug_name,
        form,
        strength: strength.unwrap_or_default(),
        drug_index: Some(drug_index),
        named_route,
    })
}

/// The form a dose unit names (`{tbl}` is a tablet), when the drug has it.
fn dose_unit_form(drug: &Drug, mr: &MedicationRequest) -> Option<String> {
    let dosage = mr.dosage_instruction.first()?;
    let q = dosage_quantity(dosage)?;
    let unit = text::unit(q)?;
    drug.find_form(&unit).map(|_| unit)
}

/// The route of an order's dosage, as the formulary names routes (oral, rectal,
/// intramuscular, cutaneous), or another it is not given by (intravenous, subcutaneous); by
/// its SNOMED CT code or its words. `None` when none is given or it is none of these.
fn route_of(mr: &MedicationRequest) -> Option<&'static str> {
    let route = mr.dosage_instruction.first()?.route.as_ref()?;
    let by_code = route.coding.iter().find_map(|c| match c.code.as_deref()? {
        "26643006" => Some("oral"),
        "37161004" => Some("rectal"),
        "78421000" => Some("intramuscular"),
        "6064005" | "45890007" => Some("cutaneous"),
        "47625008" => Some("intravenous"),
        "54485002" => Some("ophthalmic"),
        "46713006" => Some("nasal"),
        "34206005" => Some("subcutaneous"),
        _ => None,
    });
    let words: String = texts(route).collect::<Vec<_>>().join(" ").to_lowercase();
    by_code.or_else(|| route_in_words(&words))
}

/// The route lower-case words name: `oral`, `by mouth`, `rectal`, `intramuscular`, ...
fn route_in_words(words: &str) -> Option<&'static str> {
    if words.contains("oral") || words.contains("mouth") {
        Some("oral")
    } else if words.contains("rect") {
        Some("rectal")
    } else if words.contains("intramuscular") {
        Some("intramuscular")
    } else if words.contains("intravenous") {
        Some("intravenous")
    } else if words.contains("subcutaneous") {
        Some("subcutaneous")
    } else if words.contains("ophthalmic") || words.contains("eye") {
        Some("ophthalmic")
    } else if words.contains("nasal") {
        Some("nasal")
    } else if words.contains("topical") || words.contains("cutaneous") || words.contains("skin") {
        Some("cutaneous")
    } else {
        None
    }
}

/// Why the order's route, or the one its medication's name says (`oral solution`), does not
/// fit the form it orders (a tablet given intravenously, a gel by mouth, the injection into
/// a vein where the reference says into a muscle), if it does not: the order cannot be
/// checked as written.
fn route_misfit(
    formulary: &Formulary,
    product: &Product,
    mr: &MedicationRequest,
    path: &str,
) -> Option<Finding<'static>> {
    let drug = formulary.drugs.get(product.drug_index?)?;
    let form = drug.forms.get(drug.find_form(&product.form)?.form)?;
    let (route, said) = match (route_of(mr), product.named_route) {
        (Some(route), _) => (route, format!("`{path}.dosageInstruction[0].route` is")),
        (None, Some(route)) => (route, "the medication's name says".to_string()),
        (None, None) => return None,
    };
    (route != form.route).then(|| {
        finding(
            Severity::Invalid,
            format!(
                "{said} {route}, but {} {} is given {}: correct the route or the form",
                drug.id, form.id, form.route
            ),
        )
    })
}

/// The one form of the drug given by the route (oral, rectal, intramuscular, cutaneous).
fn route_form(drug: &Drug, mr: &MedicationRequest) -> Option<String> {
    let route = route_of(mr)?;
    let mut forms = drug.forms.iter().filter(|f| f.route == route);
    match (forms.next(), forms.next()) {
        (Some(one), None) => Some(one.id.clone()),
        _ => None,
    }
}

/// A strength Ratio as the strength parser reads it: `50 mg` per unit, `75 mg/3 ml`.
fn ratio(r: &Ratio) -> Option<String> {
    let numerator = r.numerator.as_ref()?;
    let amount = quantity(numerator)?;
    let Some(denominator) = &r.denominator else {
        return Some(amount);
    };
    let per = denominator.value.unwrap_or(Decimal::ONE).normalize();
    match text::unit(denominator).as_deref() {
        Some("ml") => Some(format!("{amount}/{per} ml")),
        Some("mg" | "g") => None,
        _ if per == Decimal::ONE => Some(amount),
        _ => None,
    }
}

/// The dose quantity of a dosage, wherever the sender put it.
fn dosage_quantity(d: &Dosage) -> Option<&Quantity> {
    d.dose_and_rate
        .0
        .iter()
        .find_map(|r| {
            r.dose_quantity
                .as_ref()
                .or(r.dose_range.as_ref().and_then(|r| r.high.as_ref()))
        })
        .or(d.dose_quantity.as_ref())
        .or(d.dose_range.as_ref().and_then(|r| r.high.as_ref()))
}

/// The dose per administration: a doseQuantity, or a doseRange written `low-high unit` (it
/// is checked at its high); of several, the one typed `ordered`. Several that differ, none
/// of them typed so, cannot be told apart (one may be calculated, one what is given).
fn dose(d: &Dosage, path: &str) -> Result<String, Finding<'static>> {
    let is_ordered = |r: &&DoseAndRate| {
        r.kind.as_ref().is_some_and(|k| {
            k.coding
                .iter()
                .any(|c| c.code.as_deref() == Some("ordered"))
        })
    };
    let doses: Vec<(usize, &DoseAndRate)> = d
        .dose_and_rate
        .0
        .iter()
        .enumerate()
        .filter(|(_, r)| r.dose_quantity.is_some() || r.dose_range.is_some())
        .collect();
    let written = |r: &DoseAndRate| {
        let q = r
            .dose_quantity
            .as_ref()
            .or(r.dose_range.as_ref().and_then(|r| r.high.as_ref()));
        q.and_then(quantity)
    };
    if !doses.iter().any(|(_, r)| is_ordered(r)) {
        let given: Vec<String> = doses.iter().filter_map(|(_, r)| written(r)).collect();
        // The same amount in other units (`50 mg`, `0.05 g`) is one dose.
        let mut amounts: Vec<String> = given.iter().map(|g| amount(g)).collect();
        amounts.sort_unstable();
        amounts.dedup();
        if amounts.len() > 1 {
            return Err(finding(
                Severity::Invalid,
                format!(
                    "`{path}.doseAndRate` gives {} doses ({}) and types none `ordered`: type the one ordered",
                    given.len(),
                    given.join(", ")
                ),
            ));
        }
    }
    let ordered = doses.iter().min_by_key(|(_, r)| !is_ordered(r));
    let (at, quantity_given, range) = match ordered {
        Some((i, r)) => (
            format!("{path}.doseAndRate[{i}]"),
            r.dose_quantity.as_ref(),
            r.dose_range.as_ref(),
        ),
        None => (
            path.to_string(),
            d.dose_quantity.as_ref(),
            d.dose_range.as_ref(),
        ),
    };
    if let Some(q) = quantity_given {
        return quantity(q).ok_or_else(|| {
            finding(
                Severity::Invalid,
                format!("`{at}.doseQuantity.value` is missing"),
            )
        });
    }
    if let Some(range) = range {
        let Some(high) = range.high.as_ref() else {
            return Err(finding(
                Severity::Invalid,
                format!("`{at}.doseRange.high` is missing: a dose range is checked at its high"),
            ));
        };
        let top = quantity(high).ok_or_else(|| {
            finding(
                Severity::Invalid,
                format!("`{at}.doseRange.high.value` is missing"),
            )
        })?;
        let low = range
            .low
            .as_ref()
            .filter(|l| text::unit(l) == text::unit(high))
            .and_then(|l| l.value);
        return Ok(match (low, high.value) {
            (Some(low), Some(high_value)) => {
                let unit = text::unit(high)
                    .map(|u| format!(" {u}"))
                    .unwrap_or_default();
                format!("{}-{}{unit}", low.normalize(), high_value.normalize())
            }
            _ => top,
        });
    }
    Err(finding(
        Severity::Invalid,
        format!("`{path}` gives no dose: give doseAndRate.doseQuantity (or doseRange)"),
    ))
}

/// A dose as written, as an amount to compare: in the base unit of its dimension when it is
/// a measure (`0.05 g` is `Mass 50`), else as written.
fn amount(dose: &str) -> String {
    let Ok(q) = crate::units::parse_quantity(dose) else {
        return dose.to_string();
    };
    match q.to_amount() {
        Some(Ok(base)) => format!("{:?} {}", base.dimension, base.value.normalize()),
        Some(Err(_)) => dose.to_string(),
        None => format!("{} {}", q.value.normalize(), q.unit.to_lowercase()),
    }
}

/// Times a day from the timing, as a whole number: the most a day can hold (`frequencyMax`
/// over `period` in `periodUnit`, rounded up, or as many as `timeOfDay` lists), and the
/// timing's code (BID, TID, Q8H); when both are given, the more (the code and the structured
/// data may each be what the prescriber meant).
fn times_per_day(d: &Dosage, path: &str) -> Result<u32, Finding<'static>> {
    let missing = || {
        finding(
            Severity::Invalid,
            format!(
                "`{path}.timing` gives no frequency: give timing.repeat.frequency and period, or a timing code such as BID"
            ),
        )
    };
    let timing = d.timing.as_ref().ok_or_else(missing)?;
    let repeated = timing.repeat.as_ref().filter(|r| has_schedule(r));
    let repeated = repeated
        .map(|r| repeat_per_day(r, &format!("{path}.timing.repeat")))
        .transpose()?;
    let Some(code) = timing.code.as_ref() else {
        return repeated.ok_or_else(missing);
    };
    // Codes of HL7's timing abbreviations (or of no system), and the words shown for any:
    // a site's own code (`5`, displayed `BID`) is no count of times a day.
    let named = code
        .coding
        .iter()
        .filter(|c| c.system.is_none() || is_system(c.system.as_deref(), "gts"))
        .filter_map(|c| c.code.as_deref())
        .chain(texts(code))
        .filter(|c| !c.trim().bytes().all(|b| b.is_ascii_digit()))
        .find_map(|c| match c.trim().to_ascii_uppercase().as_str() {
            "QOD" | "AM" | "PM" | "WK" | "MO" => Some(1),
            other => parse_frequency(other).ok(),
        });
    match (named, repeated) {
        (Some(named), Some(repeated)) => Ok(named.max(repeated)),
        (named, repeated) => named.or(repeated).ok_or_else(|| {
            finding(
                Severity::Invalid,
                format!("`{path}.timing.code` is not a frequency rxcheck reads (BID, TID, QID, QD, Q8H, ...)"),
            )
        }),
    }
}

/// The doses a day a repeat lists: its times of day, or the events of the day (`when`) it
/// ties doses to, whichever are more.
fn daily_listed(r: &Repeat) -> u32 {
    let most = r.time_of_day.len().max(r.when.len());
    u32::try_from(most).unwrap_or(u32::MAX)
}

/// Whether a repeat gives its own schedule (else the timing's code does).
fn has_schedule(r: &Repeat) -> bool {
    r.frequency.is_some() || r.period.is_some() || daily_listed(r) > 0
}

/// The administrations in each period, and the period: the most the repeat allows
/// (`frequencyMax` over the shortest period, even when `periodMax` is given as the shorter),
/// or the fewest (`frequency` over the longest).
fn schedule(r: &Repeat, most: bool) -> (u32, Decimal) {
    let (first, then) = match most {
        true => (r.frequency_max, r.frequency),
        false => (r.frequency, r.frequency_max),
    };
    let times = first
        .or(then)
        .or_else(|| Some(daily_listed(r)).filter(|n| *n > 0))
        .unwrap_or(1);
    let period = match (r.period, r.period_max) {
        (Some(p), Some(max)) if most => p.min(max),
        (Some(p), Some(max)) => p.max(max),
        (p, max) => p.or(max).unwrap_or(Decimal::ONE),
    };
    (times, period)
}

/// Administrations a day, exactly, at `times` per `period` of a unit of time that makes
/// `in_a_day` per `days` days.
fn rate(times: u32, period: Decimal, (in_a_day, days): (Decimal, Decimal)) -> Option<Decimal> {
    Decimal::from(times)
        .checked_mul(in_a_day)?
        .checked_div(period.checked_mul(days)?)
}

fn repeat_per_day(r: &Repeat, path: &str) -> Result<u32, Finding<'static>> {
    let (times, period) = schedule(r, true);
    // A frequency needs its period and a period its unit (FHIR's tim-2): neither is
    // guessed. `timeOfDay` alone is a daily schedule.
    let frequency = r.frequency.is_some() || r.frequency_max.is_some();
    let period_given = r.period.is_some() || r.period_max.is_some();
    if (frequency && !period_given) || (period_given && r.period_unit.is_none()) {
        return Err(finding(
            Severity::Invalid,
            format!(
                "`{path}` gives a frequency without its period and periodUnit: give both (1 per 1 d)"
            ),
        ));
    }
    let unit = r.period_unit.as_deref().unwrap_or("d");
    let Some((in_a_day, days)) = day_fraction(unit) else {
        return Err(finding(
            Severity::Invalid,
            format!("`{path}.periodUnit` `{unit}` is not a unit of time (s, min, h, d, wk, mo, a)"),
        ));
    };

    if period <= Decimal::ZERO || times == 0 {
        return Err(finding(
            Severity::Invalid,
            format!("`{path}`: a frequency of {times} per {period} {unit} is not a schedule"),
        ));
    }
    // Periods in a day, times the administrations in each: the worst day, rounded up.
    let per_day = rate(times, period, (in_a_day, days))
        .map(|x| x.ceil())
        .and_then(|x| u32::try_from(x).ok())
        .filter(|x| *x <= MAX_TIMES_PER_DAY);
    // Times or events of the day listed are each a dose that day, whatever the frequency
    // says.
    let listed = daily_listed(r);
    let listed = (unit == "d" && period == Decimal::ONE).then_some(listed);
    per_day
        .map(|n| n.max(1).max(listed.unwrap_or(0)))
        .ok_or_else(|| {
            finding(
                Severity::Invalid,
                format!("`{path}`: {times} per {period} {unit} is too often to be a schedule"),
            )
        })
}

/// The course length in days: the longest of boundsDuration, boundsPeriod, the days the
/// repeat's `count` of administrations takes, and the dispense request's expected supply
/// duration (when they disagree, the longer is the safer reading); `None` when none is given.
/// `per_day` is the times a day read from the timing.
fn course_days(
    repeat: Option<&Repeat>,
    mr: &MedicationRequest,
    per_day: Option<u32>,
    path: &str,
) -> Result<Option<Decimal>, Finding<'static>> {
    let mut lengths = Vec::new();
    if let Some(q) = repeat.and_then(|r| r.bounds_duration.as_ref()) {
        lengths.push(duration_days(
            q,
            &format!("{path}.dosageInstruction[0].timing.repeat.boundsDuration"),
        )?);
    }
    if let Some(period) = repeat.and_then(|r| r.bounds_period.as_ref()) {
        if let (Some(start), Some(end)) = (&period.start, &period.end) {
            lengths.push(period_days(start, end).ok_or_else(|| {
                finding(
                    Severity::Invalid,
                    format!(
                        "`{path}.dosageInstruction[0].timing.repeat.boundsPeriod` is not a period of real dates, start before end"
                    ),
                )
            })?);
        }
    }
    if let Some(high) = repeat
        .and_then(|r| r.bounds_range.as_ref())
        .and_then(|range| range.high.as_ref())
    {
        lengths.push(duration_days(
            high,
            &format!("{path}.dosageInstruction[0].timing.repeat.boundsRange.high"),
        )?);
    }
    if let Some(days) = repeat.and_then(|r| count_days(r, per_day)) {
        lengths.push(days);
    }
    if let Some(q) = mr
        .dispense_request
        .as_ref()
        .and_then(|d| d.expected_supply_duration.as_ref())
    {
        lengths.push(duration_days(
            q,
            &format!("{path}.dispenseRequest.expectedSupplyDuration"),
        )?);
    }
    Ok(lengths.into_iter().max())
}

/// The days a boundsPeriod spans: two instants, rounded up (08:00 to 08:00 two days on is 2);
/// dates, both days counted.
fn period_days(start: &str, end: &str) -> Option<Decimal> {
    let instant = |t: &str| chrono::DateTime::parse_from_rfc3339(t.trim()).ok();
    if let (Some(s), Some(e)) = (instant(start), instant(end)) {
        if e >= s {
            let minutes = (e - s).num_minutes();
            let days = (minutes + MINUTES_A_DAY - 1) / MINUTES_A_DAY;
            return Some(Decimal::from(days.max(1)));
        }
    }
    match (parse_date(&date_part(start)), parse_date(&date_part(end))) {
        (Some(s), Some(e)) if e >= s => Some(Decimal::from((e - s).num_days() + 1)),
        _ => None,
    }
}

/// The days `count` administrations (`countMax`, when given) take at the fewest a day the
/// repeat allows, or at `per_day` when the timing's code gives the schedule; rounded up
/// (10 at twice a day is 5 days).
fn count_days(r: &Repeat, per_day: Option<u32>) -> Option<Decimal> {
    let count = r.count_max.or(r.count)?;
    let a_day = if has_schedule(r) {
        let (times, period) = schedule(r, false);
        rate(
            times,
            period,
            day_fraction(r.period_unit.as_deref().unwrap_or("d"))?,
        )?
    } else {
        Decimal::from(per_day?)
    };
    Decimal::from(count)
        .checked_div(a_day)
        .map(|d| d.ceil())
        .filter(|d| *d > Decimal::ZERO)
}

const MINUTES_A_DAY: i64 = 24 * 60;

/// A UCUM unit of time as how many of it make how many days (`h`: 24 in 1, `wk`: 1 in 7), so
/// that conversions divide exactly (48 h is 2 days; 7 a week is 1 a day).
fn day_fraction(unit: &str) -> Option<(Decimal, Decimal)> {
    let (in_a_day, days): (u32, u32) = match unit {
        "s" => (86_400, 1),
        "min" => (1_440, 1),
        "h" => (24, 1),
        "d" => (1, 1),
        "wk" => (1, 7),
        "mo" => (1, 30),
        "a" => (1, 365),
        _ => return None,
    };
    Some((Decimal::from(in_a_day), Decimal::from(days)))
}

/// A Duration in whole days, rounded up.
fn duration_days(q: &Quantity, path: &str) -> Result<Decimal, Finding<'static>> {
    // A duration needs its unit (FHIR's drt-1): a bare number is not taken for days.
    let unit = q
        .code
        .as_deref()
        .or(q.unit.as_deref())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let unit = match unit.as_str() {
        "day" | "days" => "d",
        "week" | "weeks" => "wk",
        "month" | "months" => "mo",
        "year" | "years" => "a",
        "hour" | "hours" => "h",
        other => other,
    };
    // A value in units that make `in_a_day` per `days` days: in days, value × days / in_a_day.
    let days = day_fraction(unit)
        .zip(q.value)
        .and_then(|((in_a_day, days), value)| value.checked_mul(days)?.checked_div(in_a_day))
        .filter(|d| *d > Decimal::ZERO)
        .map(|d| d.ceil());
    days.ok_or_else(|| {
        finding(
            Severity::Invalid,
            format!(
                "`{path}` is not a duration rxcheck reads: a positive value in d, wk, mo, a or h"
            ),
        )
    })
}
