//! The FHIR resources rxcheck reads, as hand-written serde structs holding only the elements
//! it needs (R4, with the shapes STU3 and R5 senders also use). Unknown elements are ignored;
//! an element of the wrong type fails its resource, and the caller names its JSON path.
//! Decimals are read from the JSON text itself, never through a float.

use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::{self, Deserializer};

/// A decimal read from the number as written (`0.1` stays exactly 0.1).
type Dec = Option<Decimal>;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MedicationRequest {
    pub id: Option<String>,
    #[serde(default)]
    pub identifier: Vec<Identifier>,
    pub medication_codeable_concept: Option<CodeableConcept>,
    pub medication_reference: Option<Reference>,
    /// R5: a CodeableReference.
    pub medication: Option<CodeableReference>,
    pub authored_on: Option<String>,
    #[serde(default)]
    pub dosage_instruction: Vec<Dosage>,
    pub dispense_request: Option<DispenseRequest>,
    /// Contained resources (a Medication), read when referenced.
    #[serde(default)]
    pub contained: Vec<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Identifier {
    pub value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CodeableReference {
    pub concept: Option<CodeableConcept>,
    pub reference: Option<Reference>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dosage {
    pub timing: Option<Timing>,
    pub route: Option<CodeableConcept>,
    /// R4: a list; some senders give one object.
    #[serde(default)]
    pub dose_and_rate: OneOrMany<DoseAndRate>,
    /// STU3: the dose directly under the dosage.
    pub dose_quantity: Option<Quantity>,
    pub dose_range: Option<Range>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DoseAndRate {
    #[serde(rename = "type")]
    pub kind: Option<CodeableConcept>,
    pub dose_quantity: Option<Quantity>,
    pub dose_range: Option<Range>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timing {
    pub repeat: Option<Repeat>,
    pub code: Option<CodeableConcept>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Repeat {
    pub bounds_duration: Option<Quantity>,
    pub bounds_period: Option<Period>,
    /// A course given as a range of durations: read at its high end.
    pub bounds_range: Option<Range>,
    pub frequency: Option<u32>,
    pub frequency_max: Option<u32>,
    /// How many administrations in all (`countMax`: at most).
    pub count: Option<u32>,
    pub count_max: Option<u32>,
    /// The shortest period: with `frequencyMax`, the worst case (`periodMax` is longer).
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub period: Dec,
    /// The longest period; read so that one given shorter than `period` is not missed.
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub period_max: Dec,
    pub period_unit: Option<String>,
    #[serde(default)]
    pub time_of_day: Vec<String>,
    /// Events of the day a dose is tied to (`MORN`, `NOON`, `EVE`): one dose each.
    #[serde(default)]
    pub when: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DispenseRequest {
    pub expected_supply_duration: Option<Quantity>,
    pub validity_period: Option<Period>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct Quantity {
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub value: Dec,
    pub unit: Option<String>,
    pub code: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Range {
    pub low: Option<Quantity>,
    pub high: Option<Quantity>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Ratio {
    pub numerator: Option<Quantity>,
    pub denominator: Option<Quantity>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Period {
    pub start: Option<String>,
    pub end: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct CodeableConcept {
    #[serde(default)]
    pub coding: Vec<Coding>,
    pub text: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct Coding {
    pub system: Option<String>,
    pub code: Option<String>,
    pub display: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Reference {
    pub reference: Option<String>,
    pub display: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Medication {
    pub code: Option<CodeableConcept>,
    pub form: Option<CodeableConcept>,
    /// R5: `doseForm`.
    pub dose_form: Option<CodeableConcept>,
    #[serde(default)]
    pub ingredient: Vec<Ingredient>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ingredient {
    pub strength: Option<Ratio>,
    /// R5: `strengthRatio`.
    pub strength_ratio: Option<Ratio>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Patient {
    pub gender: Option<String>,
    pub birth_date: Option<String>,
    #[serde(default)]
    pub extension: Vec<Extension>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Extension {
    pub url: Option<String>,
    pub value_boolean: Option<bool>,
    pub value_code: Option<String>,
    pub value_string: Option<String>,
    pub value_integer: Option<i64>,
    pub value_codeable_concept: Option<CodeableConcept>,
    pub value_quantity: Option<Quantity>,
}

/// A status given as a CodeableConcept (R4) or as a bare code (STU3).
#[derive(Debug, Default)]
pub struct Status(pub Option<String>);

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Code(String),
            Concept(CodeableConcept),
        }
        Ok(Status(match Either::deserialize(deserializer)? {
            Either::Code(code) => Some(code),
            Either::Concept(c) => c.coding.into_iter().find_map(|c| c.code).or(c.text),
        }))
    }
}

/// What rxcheck reads of a Condition or an AllergyIntolerance: the same three elements, when
/// a Condition began or was recorded, and whether it has abated.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recorded {
    #[serde(default)]
    pub clinical_status: Status,
    #[serde(default)]
    pub verification_status: Status,
    pub code: Option<CodeableConcept>,
    pub onset_date_time: Option<String>,
    pub recorded_date: Option<String>,
    pub abatement_date_time: Option<de::IgnoredAny>,
    pub abatement_age: Option<de::IgnoredAny>,
    pub abatement_period: Option<de::IgnoredAny>,
    pub abatement_range: Option<de::IgnoredAny>,
    pub abatement_string: Option<de::IgnoredAny>,
}

impl Recorded {
    /// Whether it is current: not refuted or entered in error, and not resolved. A condition
    /// in remission or inactive is still the patient's (the reference's contraindications,
    /// such as Crohn's disease or asthma, do not ask for it to be active): the safer reading.
    pub fn is_current(&self) -> bool {
        let refuted = matches!(
            self.verification_status.0.as_deref(),
            Some("refuted" | "entered-in-error")
        );
        let resolved = self.clinical_status.0.as_deref() == Some("resolved");
        !resolved && !refuted
    }

    /// Whether it is active now: current, and active (or of no stated clinical status), and
    /// not abated (FHIR's con-4: an abated condition is not active). A pregnancy must be, to
    /// make one: an inactive one is a past pregnancy; so must an allergy, to count (an
    /// inactive or resolved one is over).
    pub fn is_active(&self) -> bool {
        let active = self
            .clinical_status
            .0
            .as_deref()
            .is_none_or(|s| matches!(s, "active" | "recurrence" | "relapse"));
        let abated = [
            &self.abatement_date_time,
            &self.abatement_age,
            &self.abatement_period,
            &self.abatement_range,
            &self.abatement_string,
        ]
        .iter()
        .any(|a| a.is_some());
        active && !abated && self.is_current()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Observation {
    pub status: Option<String>,
    pub code: Option<CodeableConcept>,
    pub effective_date_time: Option<String>,
    pub effective_instant: Option<String>,
    pub effective_period: Option<Period>,
    pub issued: Option<String>,
    pub value_boolean: Option<bool>,
    pub value_string: Option<String>,
    pub value_integer: Option<i64>,
    pub value_codeable_concept: Option<CodeableConcept>,
    pub value_quantity: Option<Quantity>,
}

/// A `value[x]` as an Observation or an extension carries it, borrowed.
pub struct Value<'a> {
    pub boolean: Option<bool>,
    pub code: Option<&'a str>,
    pub string: Option<&'a str>,
    pub integer: Option<i64>,
    pub concept: Option<&'a CodeableConcept>,
    pub quantity: Option<&'a Quantity>,
}

impl Extension {
    pub fn value(&self) -> Value<'_> {
        Value {
            boolean: self.value_boolean,
            code: self.value_code.as_deref(),
            string: self.value_string.as_deref(),
            integer: self.value_integer,
            concept: self.value_codeable_concept.as_ref(),
            quantity: self.value_quantity.as_ref(),
        }
    }
}

impl Observation {
    pub fn value(&self) -> Value<'_> {
        Value {
            boolean: self.value_boolean,
            code: None,
            string: self.value_string.as_deref(),
            integer: self.value_integer,
            concept: self.value_codeable_concept.as_ref(),
            quantity: self.value_quantity.as_ref(),
        }
    }
}

/// A list that some senders give as a single object.
#[derive(Debug)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> de::Visitor<'de> for Visit<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object or a list of objects")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Vec::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(OneOrMany)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|one| OneOrMany(vec![one]))
            }
        }
        deserializer.deserialize_any(Visit(std::marker::PhantomData))
    }
}
