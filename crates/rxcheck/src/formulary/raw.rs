//! Stage one of loading: the formulary's TOML as written, with spans, and nothing checked
//! beyond its shape (unknown keys are errors).

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

pub type Text = Spanned<String>;

/// One formulary file. Every section is optional so a formulary may be split across files.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    pub formulary: Option<RawMeta>,
    #[serde(default)]
    pub conditions: BTreeMap<String, Spanned<RawCondition>>,
    #[serde(default)]
    pub classes: BTreeMap<String, Spanned<RawClass>>,
    #[serde(default)]
    pub allergens: BTreeMap<String, Spanned<RawAllergen>>,
    #[serde(default)]
    pub sources: BTreeMap<String, Spanned<RawSource>>,
    #[serde(default)]
    pub rule_sets: BTreeMap<String, Spanned<RawRuleSet>>,
    #[serde(default)]
    pub drugs: BTreeMap<String, Spanned<RawDrug>>,
    /// Codes that name a substance, drug or class for FHIR input, by terminology
    /// (`rxnorm`, `snomed`): each code and the name the vocabulary knows it by.
    #[serde(default)]
    pub codes: RawCodes,
}

/// `[codes]`: by terminology, each code and the name it means.
pub type RawCodes = BTreeMap<String, BTreeMap<String, Text>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMeta {
    pub name: String,
    pub version: String,
    pub reference: String,
    /// The ages, in completed years, at which pregnancy and breastfeeding are asked about.
    pub childbearing_years: Option<Spanned<RawRange>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCondition {
    pub label: String,
    #[serde(default)]
    pub icd10: Vec<Text>,
    #[serde(default)]
    pub icd10_cm: Vec<Text>,
    #[serde(default)]
    pub parents: Vec<Text>,
    /// Codes under `icd10` / `icd10_cm` that are not this condition (by prefix).
    #[serde(default)]
    pub icd10_exclude: Vec<Text>,
    #[serde(default)]
    pub icd10_cm_exclude: Vec<Text>,
    /// Other names a prescription may give the condition by (its label counts too).
    #[serde(default)]
    pub synonyms: Vec<Text>,
    /// Conditions whose codes this one's may share on purpose (a bleeding ulcer is both).
    #[serde(default)]
    pub overlaps: Vec<Text>,
    /// SNOMED CT concept ids of the condition, matched exactly (FHIR input).
    #[serde(default)]
    pub snomed: Vec<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClass {
    pub label: String,
    /// Where the class's membership comes from.
    pub source: Option<String>,
    /// Names of the class itself (`NSAIDs`, `non-steroidal anti-inflammatory drugs`).
    #[serde(default)]
    pub names: Vec<Text>,
    #[serde(default)]
    pub members: Vec<Text>,
    /// Members with their other names (salts, brands) and a note (such as the category of
    /// the source that puts them in the class).
    #[serde(default)]
    pub substances: Vec<Spanned<RawSubstance>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSubstance {
    pub name: Text,
    #[serde(default)]
    pub names: Vec<Text>,
    pub note: Option<String>,
}

/// Something patients are allergic to that no rule of the formulary is about (penicillins,
/// latex): an allergy to it is known, and needs no screening here.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAllergen {
    pub label: String,
    pub names: Vec<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    pub section: String,
    pub text: String,
}

/// The rules a drug, a form, a brand's form or a shared rule set may hold, gathered from the
/// owner's table (serde cannot flatten them there and still deny unknown keys).
#[derive(Debug, Default)]
pub struct RawRules {
    pub uses: Vec<Text>,
    pub min_age: Option<Spanned<RawMinAge>>,
    pub contraindications: Vec<Spanned<RawContraindication>>,
    pub pregnancy: Vec<Spanned<RawPregnancy>>,
    pub breastfeeding: Vec<Spanned<RawBreastfeeding>>,
    pub allergy: Vec<Spanned<RawAllergy>>,
    pub interactions: Vec<Spanned<RawClassRule>>,
    pub duplicate_therapy: Vec<Spanned<RawDuplicate>>,
    pub administration: Vec<Spanned<RawAdministration>>,
}

/// Declares a raw table that holds its own keys plus every key of [`RawRules`].
macro_rules! with_rules {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
            #[serde(default)]
            pub uses: Vec<Text>,
            pub min_age: Option<Spanned<RawMinAge>>,
            #[serde(default)]
            pub contraindications: Vec<Spanned<RawContraindication>>,
            #[serde(default)]
            pub pregnancy: Vec<Spanned<RawPregnancy>>,
            #[serde(default)]
            pub breastfeeding: Vec<Spanned<RawBreastfeeding>>,
            #[serde(default)]
            pub allergy: Vec<Spanned<RawAllergy>>,
            #[serde(default)]
            pub interactions: Vec<Spanned<RawClassRule>>,
            #[serde(default)]
            pub duplicate_therapy: Vec<Spanned<RawDuplicate>>,
            #[serde(default)]
            pub administration: Vec<Spanned<RawAdministration>>,
        }

        impl $name {
            /// Moves the rule keys out of the table.
            pub fn take_rules(&mut self) -> RawRules {
                RawRules {
                    uses: std::mem::take(&mut self.uses),
                    min_age: self.min_age.take(),
                    contraindications: std::mem::take(&mut self.contraindications),
                    pregnancy: std::mem::take(&mut self.pregnancy),
                    breastfeeding: std::mem::take(&mut self.breastfeeding),
                    allergy: std::mem::take(&mut self.allergy),
                    interactions: std::mem::take(&mut self.interactions),
                    duplicate_therapy: std::mem::take(&mut self.duplicate_therapy),
                    administration: std::mem::take(&mut self.administration),
                }
            }
        }
    };
}

with_rules! {
    /// A brand's override for one form (only rules, such as a higher minimum age).
    pub struct RawBrandForm {}
}

with_rules! {
    /// A named set of rules that drugs, forms and other sets may `use`.
    pub struct RawRuleSet {
        pub label: String,
    }
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table such as `{ years = 12, source = \"...\" }`"
)]
pub struct RawMinAge {
    pub years: Spanned<i64>,
    pub source: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawContraindication {
    pub condition: Text,
    pub severity: Text,
    pub source: Text,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table such as `{ min = 2, max = 3 }`"
)]
pub struct RawRange {
    pub min: Option<Spanned<i64>>,
    pub max: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPregnancy {
    pub weeks: Spanned<RawRange>,
    pub severity: Text,
    pub source: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBreastfeeding {
    pub severity: Text,
    pub source: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAllergy {
    pub classes: Vec<Text>,
    pub severity: Text,
    pub source: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClassRule {
    pub class: Text,
    pub severity: Text,
    pub source: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDuplicate {
    pub class: Text,
    pub severity: Text,
    pub topical_severity: Option<Text>,
    pub source: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdministration {
    pub id: Text,
    pub note: String,
    pub severity: Option<Text>,
    pub source: Text,
}

with_rules! {
    /// A drug: its names, classes, brands, forms, and the rules of every form.
    pub struct RawDrug {
        pub name: String,
        pub atc: Option<Text>,
        #[serde(default)]
        pub classes: Vec<Text>,
        #[serde(default)]
        pub aliases: Vec<Text>,
        #[serde(default)]
        pub brands: BTreeMap<String, Spanned<RawBrand>>,
        #[serde(default)]
        pub forms: BTreeMap<String, Spanned<RawForm>>,
        pub combined_daily_max: Option<Spanned<RawCombinedMax>>,
        /// RxNorm clinical and branded drugs (RXCUI) that are forms of this drug (FHIR input).
        #[serde(default)]
        pub rxnorm: Vec<Spanned<RawRxNorm>>,
    }
}

/// One RxNorm drug: its code and the form (and brand, strength) it is.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table such as `{ code = \"855942\", form = \"tablet\", strength = \"50 mg\" }`"
)]
pub struct RawRxNorm {
    pub code: Text,
    pub form: Text,
    pub strength: Option<Text>,
    pub brand: Option<Text>,
}

/// The most of the drug a patient may get a day from all its systemic forms together.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table such as `{ max = \"150 mg\", source = \"...\" }`"
)]
pub struct RawCombinedMax {
    pub max: Text,
    pub source: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBrand {
    pub names: Vec<Text>,
    /// Names of the brand's product in one form (`gel = ["Voltaren gel"]`), by form name.
    #[serde(default)]
    pub products: BTreeMap<String, Vec<Text>>,
    /// The only forms the brand is made in, when the formulary knows them.
    #[serde(default)]
    pub sold_as: Vec<Text>,
    /// Where `products` and `sold_as` come from.
    pub source: Option<Text>,
    #[serde(default)]
    pub forms: BTreeMap<String, Spanned<RawBrandForm>>,
}

/// A form the reference does not name that the formulary checks by another form's rules
/// (oral capsules by the tablets').
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEquivalentForm {
    #[serde(default)]
    pub names: Vec<Text>,
    #[serde(default)]
    pub unit_names: Vec<Text>,
    pub source: Text,
}

with_rules! {
    /// A dosage form of a drug: how it is measured, its strengths, dosage and rules.
    pub struct RawForm {
        #[serde(default)]
        pub aliases: Vec<Text>,
        pub route: String,
        pub systemic: bool,
        pub dose_dimension: Option<Text>,
        #[serde(default)]
        pub unit_names: Vec<Text>,
        #[serde(default)]
        pub strengths: Vec<Text>,
        pub default_strength: Option<Text>,
        #[serde(default)]
        pub dosage: Vec<Spanned<RawDosage>>,
        pub dosage_unknown: Option<Spanned<RawDosageUnknown>>,
        #[serde(default)]
        pub equivalent: BTreeMap<String, Spanned<RawEquivalentForm>>,
        /// The ATC code of this form alone, where it has its own (topical products).
        pub atc: Option<Text>,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDosageUnknown {
    pub reason: String,
    pub source: Text,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table such as `{ min = \"50 mg\", max = \"100 mg\" }`"
)]
pub struct RawAmountRange {
    pub min: Option<Text>,
    pub max: Option<Text>,
    pub usual_max: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDosage {
    pub id: Option<Text>,
    pub ages: Option<Spanned<RawRange>>,
    pub strength: Option<Text>,
    pub dose_per_administration: Option<Spanned<RawAmountRange>>,
    pub dose_per_day: Option<Spanned<RawAmountRange>>,
    pub times_per_day: Option<Spanned<RawRange>>,
    pub max_duration_days: Option<Spanned<i64>>,
    pub below_minimum: Option<Spanned<RawBelowMinimum>>,
    pub source: Text,
}

/// How a dose below the entry's minimums is graded where the reference endorses lower doses.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBelowMinimum {
    pub severity: Text,
    /// The lowest daily dose the endorsement covers; below it the finding stays `warn`.
    pub daily_floor: Option<Text>,
    pub source: Text,
}
