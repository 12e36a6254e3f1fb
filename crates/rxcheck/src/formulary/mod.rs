//! The formulary: drugs, forms, their dosage and rules, and the vocabulary of conditions and
//! classes, as the validator uses them. Built from TOML by [`Formulary::load`].

mod build;
pub mod cases;
pub mod describe;
mod diagnostic;
mod embedded;
mod raw;
pub mod site;

pub(crate) use build::toml_message;
pub(crate) use diagnostic::line_of;
pub use diagnostic::{Diagnostic, Level, LoadError, SourceFile};
pub use embedded::{embedded_cases, embedded_sources};

use crate::fasthash::FastMap;
use crate::finding::Severity;
use crate::units::{Dimension, Strength};
use rust_decimal::Decimal;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// A loaded, checked formulary.
#[derive(Debug)]
pub struct Formulary {
    pub name: String,
    pub version: String,
    pub reference: String,
    /// The youngest and oldest ages (completed years) at which a patient not known to be male
    /// is asked about pregnancy and breastfeeding.
    pub childbearing_years: (u32, u32),
    pub conditions: Vec<Condition>,
    pub classes: Vec<DrugClass>,
    pub allergens: Vec<Allergen>,
    pub drugs: Vec<Drug>,
    pub sources: Vec<Source>,
    /// Shared rule sets: id and label.
    pub rule_sets: Vec<(String, String)>,
    /// Problems that do not stop the formulary from loading (shown by lint).
    pub warnings: Vec<Diagnostic>,
    /// The site overlay applied on top (`--site`), if any.
    pub site: Option<site::Site>,
    condition_ids: FastMap<String, usize>,
    /// Every name a condition may be given by: its id, label and synonyms, normalised.
    condition_names: FastMap<String, usize>,
    /// Every name of a class itself (its id, plural, and its `names`), normalised.
    class_names: FastMap<String, usize>,
    /// Every allergen name, normalised.
    allergen_names: FastMap<String, usize>,
    /// ICD-10 prefixes without their dot (`K254`), each with the condition it means.
    /// Each ICD-10 code of the vocabulary (dotless), with the conditions it takes in, each with
    /// its place in the vocabulary's order.
    icd_prefixes: FastMap<String, Vec<(u32, usize)>>,
    /// Every name a prescription may give a drug by: generic, alias or brand.
    drug_names: FastMap<String, DrugRef>,
    /// Every known substance name (class members and formulary drugs), with its substance's
    /// place in `substances`.
    substance_names: FastMap<String, usize>,
    /// The known substances, each with its classes.
    substances: Vec<Substance>,
    /// Codes of other terminologies (SNOMED CT, RxNorm, ATC) and what each means.
    codes: CodeIndex,
    /// This formulary's own number among those loaded in the process: what remembered
    /// suggestions are tied to (an address can be reused by a later formulary).
    identity: u64,
}

/// What the codes of other terminologies that the formulary lists mean (FHIR input).
#[derive(Debug, Default)]
struct CodeIndex {
    /// SNOMED CT concept id: the conditions it is.
    snomed: FastMap<String, Vec<usize>>,
    /// RxNorm code: the drug and the index of the product in its `rxnorm`.
    rxnorm: FastMap<String, (usize, usize)>,
    /// ATC code: the drug, and the form when the code is one form's own.
    atc: FastMap<String, (usize, Option<usize>)>,
    /// An RxNorm ingredient or SNOMED CT substance code (`"rxnorm 5640"`): the name it means.
    names: FastMap<String, String>,
}

/// An RxNorm drug: a form of a formulary drug, with its brand and strength when it has them.
#[derive(Debug)]
pub struct RxNormProduct {
    pub code: String,
    pub form: FormRef,
    pub brand: Option<usize>,
    /// As written in the formulary (`50 mg`, `75 mg/3 ml`, `1%`).
    pub strength: Option<String>,
}

/// Gives every loaded formulary its own number.
fn next_identity() -> u64 {
    static LOADED: AtomicU64 = AtomicU64::new(0);
    LOADED.fetch_add(1, Ordering::Relaxed)
}

/// Which drug (and brand, if the name was a brand's) a prescribed name means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrugRef {
    pub drug: usize,
    pub brand: Option<usize>,
    /// The form a product name implies (`Voltaren gel`), if the name is one.
    pub product: Option<FormRef>,
}

/// A form of a drug as a prescription may name it: one of its forms, or a form checked by
/// that form's rules (capsules by the tablets').
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormRef {
    pub form: usize,
    pub equivalent: Option<usize>,
}

/// What a co-medication or allergy name is known as.
#[derive(Debug, Clone, Default)]
pub struct Substance {
    /// The formulary drug it names, if any.
    pub drug: Option<usize>,
    /// The classes it belongs to.
    pub classes: Vec<usize>,
    /// What a class says of it (such as the category of the source that puts it there).
    pub notes: Vec<(usize, String)>,
}

/// What an allergy or co-medication name is known as (see [`Formulary::lookup_name`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct KnownName<'f> {
    /// The formulary drug (and brand) the name means.
    pub drug: Option<DrugRef>,
    /// The substance the name means, with its classes.
    pub substance: Option<&'f Substance>,
    /// The class the name itself names (`nsaid`, `NSAIDs`).
    pub class: Option<usize>,
    /// The allergen (of a kind no rule is about) the name means.
    pub allergen: Option<usize>,
}

impl KnownName<'_> {
    /// Whether the name is in the vocabulary at all.
    pub fn is_known(&self) -> bool {
        self.drug.is_some()
            || self.substance.is_some()
            || self.class.is_some()
            || self.allergen.is_some()
    }
}

#[derive(Debug)]
pub struct Condition {
    pub id: String,
    pub label: String,
    /// ICD-10 codes shared by the WHO edition and ICD-10-CM, as written.
    pub icd10: Vec<String>,
    /// ICD-10-CM-only codes, as written.
    pub icd10_cm: Vec<String>,
    /// Codes under those that are not this condition: both editions, and CM only.
    pub icd10_exclude: Vec<String>,
    pub icd10_cm_exclude: Vec<String>,
    /// Every exclusion without its dot (`K6281`): what matching checks.
    excluded_prefixes: Vec<String>,
    /// Other names the condition may be given by, as written.
    pub synonyms: Vec<String>,
    /// SNOMED CT concept ids, matched exactly.
    pub snomed: Vec<String>,
    /// The condition itself and every condition it implies (its parents, transitively).
    pub implies: Vec<usize>,
}

impl Condition {
    /// Every code of the condition, both editions' then ICD-10-CM's.
    pub fn codes(&self) -> impl Iterator<Item = &String> {
        self.icd10.iter().chain(&self.icd10_cm)
    }
}

#[derive(Debug)]
pub struct DrugClass {
    pub id: String,
    pub label: String,
    /// Where the membership comes from, if the formulary says.
    pub source: Option<String>,
    /// Names of the class itself, normalised.
    pub names: Vec<String>,
    /// Every name of every member, normalised, each with the member's first name (a
    /// substance's other names are the same substance: `naproxen sodium` is naproxen).
    pub members: Vec<(String, String)>,
    /// A note on a member, by each of its names.
    pub notes: Vec<(String, String)>,
}

/// Something patients are allergic to that no rule is about.
#[derive(Debug)]
pub struct Allergen {
    pub id: String,
    pub label: String,
    /// Its names, normalised.
    pub names: Vec<String>,
}

/// A sentence of the reference that rules cite.
#[derive(Debug)]
pub struct Source {
    pub id: String,
    pub section: String,
    pub text: String,
    /// `Section: "sentence"`, as findings show it.
    pub citation: String,
}

#[derive(Debug)]
pub struct Drug {
    pub id: String,
    pub name: String,
    pub atc: Option<String>,
    pub classes: Vec<usize>,
    pub aliases: Vec<String>,
    pub brands: Vec<Brand>,
    pub forms: Vec<Form>,
    /// The daily maximum across all systemic forms together (for one patient's concurrent
    /// prescriptions).
    pub combined_daily_max: Option<CombinedMax>,
    /// RxNorm drugs that are forms of this drug.
    pub rxnorm: Vec<RxNormProduct>,
    /// The interaction rules of any of its forms and brands, each rule id once: what the drug
    /// interacts with as another drug of the patient's, whose form is not looked at.
    pub any_form_interactions: Vec<ClassRule>,
    form_names: FastMap<String, FormRef>,
}

/// The most mg a day of a drug from all its systemic forms together.
#[derive(Debug)]
pub struct CombinedMax {
    pub rule: String,
    pub max_mg: Decimal,
    pub source: usize,
}

#[derive(Debug)]
pub struct Brand {
    pub id: String,
    pub names: Vec<String>,
    /// Names of the brand's products, by the form each is.
    pub products: Vec<(FormRef, Vec<String>)>,
    /// The only forms the brand is made in (empty when the formulary does not say).
    pub sold_as: Vec<FormRef>,
    /// The rule id of a product or brand ordered in another form, and its source.
    pub form_rule: String,
    pub form_source: Option<usize>,
    /// Complete rule profiles for the forms this brand overrides, by form index.
    pub overrides: HashMap<usize, Profile>,
}

#[derive(Debug)]
pub struct Form {
    pub id: String,
    pub aliases: Vec<String>,
    pub route: String,
    pub systemic: bool,
    /// What a dose of this form measures; `None` when the dosage is unknown.
    pub dose_dimension: Option<Dimension>,
    /// Words that count units of this form (`tablet`, `suppository`).
    pub unit_names: Vec<String>,
    pub strengths: Vec<Strength>,
    pub default_strength: Option<Strength>,
    pub dosing: Dosing,
    pub profile: Profile,
    /// Ids of the form's own findings about its dose, made once at load time.
    pub dose_rule_ids: DoseRuleIds,
    /// Forms the reference does not name that this form's rules check.
    pub equivalents: Vec<EquivalentForm>,
    /// The form's own ATC code, where it has one (topical products).
    pub atc: Option<String>,
}

/// A form checked by another form's rules, with an `info` saying so.
#[derive(Debug)]
pub struct EquivalentForm {
    pub id: String,
    pub names: Vec<String>,
    /// Words that count units of it (`capsule`).
    pub unit_names: Vec<String>,
    /// `indomethacin.tablet.equivalent.capsule`.
    pub rule: String,
    pub source: usize,
}

/// The rule ids of a form's findings about the dose itself (not a dosage limit).
#[derive(Debug)]
pub struct DoseRuleIds {
    /// A strength the formulary does not list (`diclofenac.tablet.strength`).
    pub strength: String,
    /// Strength-specific dosage with no strength given.
    pub strength_not_given: String,
    /// No dosage entry for the patient's age.
    pub age_not_covered: String,
}

impl DoseRuleIds {
    fn new(owner: &str) -> Self {
        DoseRuleIds {
            strength: format!("{owner}.strength"),
            strength_not_given: format!("{owner}.dosage.strength_not_given"),
            age_not_covered: format!("{owner}.dosage.age_not_covered"),
        }
    }
}

/// What the formulary knows of a form's dosage.
#[derive(Debug)]
pub enum Dosing {
    Known(Vec<DoseRule>),
    /// The reference is silent: the validator reports that the dose cannot be verified.
    Unknown {
        rule: String,
        reason: String,
        source: usize,
    },
}

/// A min / usual max / max triple in the base unit of the form's dimension.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    pub min: Option<Decimal>,
    /// Above it: warn (the text's usual maximum, below an absolute one).
    pub usual_max: Option<Decimal>,
    /// Above it: reject.
    pub max: Option<Decimal>,
}

/// The rule id of each limit of a dosage statement, made once at load time.
#[derive(Debug, Default)]
pub struct LimitIds {
    pub single_min: String,
    pub single_usual_max: String,
    pub single_max: String,
    pub daily_min: String,
    pub daily_usual_max: String,
    pub daily_max: String,
    pub times_min: String,
    pub times_max: String,
    pub duration: String,
}

impl LimitIds {
    /// The ids of the limits of the dosage rule `base`.
    pub fn new(base: &str) -> Self {
        LimitIds {
            single_min: format!("{base}.dose_per_administration.min"),
            single_usual_max: format!("{base}.dose_per_administration.usual_max"),
            single_max: format!("{base}.dose_per_administration.max"),
            daily_min: format!("{base}.dose_per_day.min"),
            daily_usual_max: format!("{base}.dose_per_day.usual_max"),
            daily_max: format!("{base}.dose_per_day.max"),
            times_min: format!("{base}.times_per_day.min"),
            times_max: format!("{base}.times_per_day.max"),
            duration: format!("{base}.max_duration_days"),
        }
    }

    /// Every id, for indexing.
    pub fn all(&self) -> [&str; 9] {
        [
            &self.single_min,
            &self.single_usual_max,
            &self.single_max,
            &self.daily_min,
            &self.daily_usual_max,
            &self.daily_max,
            &self.times_min,
            &self.times_max,
            &self.duration,
        ]
    }
}

/// One dosage statement, for an age band and/or a strength, or for everyone.
#[derive(Debug)]
pub struct DoseRule {
    /// The rule id the limits extend (`diclofenac.tablet.dosage.over_15`).
    pub rule: String,
    /// The rule id of each limit.
    pub limit_ids: LimitIds,
    pub ages: Option<(u32, u32)>,
    pub strength: Option<Strength>,
    pub per_administration: Limits,
    pub per_day: Limits,
    pub times_per_day: (Option<u32>, Option<u32>),
    pub max_duration_days: Option<u32>,
    pub source: usize,
    /// Set where the reference endorses doses below the entry's minimums.
    pub below_minimum: Option<BelowMinimum>,
}

/// The grading of a below-minimum dose that the reference itself endorses: an efficacy
/// matter, so usually `info`.
#[derive(Debug)]
pub struct BelowMinimum {
    pub severity: Severity,
    /// Below this daily dose the endorsement no longer holds and the finding is `warn`.
    pub daily_floor: Option<Decimal>,
    /// The dosage sentence and the endorsing sentence, as the finding cites them.
    pub citation: String,
}

impl DoseRule {
    /// Whether the rule covers a patient of this age (completed years).
    pub fn covers_age(&self, age: u32) -> bool {
        self.ages
            .is_none_or(|(min, max)| (min..=max).contains(&age))
    }
}

/// A rule with a severity and a source.
#[derive(Debug, Clone)]
pub struct Rule {
    pub rule: String,
    pub severity: Severity,
    pub source: usize,
}

#[derive(Debug, Clone)]
pub struct AgeRule {
    pub rule: String,
    pub years: u32,
    pub source: usize,
}

#[derive(Debug, Clone)]
pub struct ConditionRule {
    pub condition: usize,
    pub rule: Rule,
}

#[derive(Debug, Clone)]
pub struct PregnancyRule {
    pub weeks: (u32, u32),
    pub rule: Rule,
}

#[derive(Debug, Clone)]
pub struct ClassRule {
    pub classes: Vec<usize>,
    pub rule: Rule,
}

#[derive(Debug, Clone)]
pub struct DuplicateRule {
    pub class: usize,
    pub rule: Rule,
    pub topical_severity: Severity,
}

#[derive(Debug, Clone)]
pub struct AdministrationRule {
    pub note: String,
    pub rule: Rule,
}

/// Every rule that applies to one drug form (and brand), flattened from the drug, the form,
/// the rule sets they use and the brand's override.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub min_age: Option<AgeRule>,
    pub contraindications: Vec<ConditionRule>,
    pub pregnancy: Vec<PregnancyRule>,
    pub breastfeeding: Vec<Rule>,
    pub allergy: Vec<ClassRule>,
    pub interactions: Vec<ClassRule>,
    pub duplicate_therapy: Vec<DuplicateRule>,
    pub administration: Vec<AdministrationRule>,
}

impl Profile {
    /// Every rule of the profile but the minimum age, in the order the checks report them.
    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.contraindications
            .iter()
            .map(|r| &r.rule)
            .chain(self.pregnancy.iter().map(|r| &r.rule))
            .chain(&self.breastfeeding)
            .chain(self.allergy.iter().map(|r| &r.rule))
            .chain(self.interactions.iter().map(|r| &r.rule))
            .chain(self.duplicate_therapy.iter().map(|r| &r.rule))
            .chain(self.administration.iter().map(|r| &r.rule))
    }
}

/// Normalises a name for lookup: lower case without accents, `-` and `_` as spaces, runs of
/// spaces as one, a word of accents alone left out; a normal name normalises to itself.
/// Borrows when the name is already normal.
pub fn normalize_name(name: &str) -> Cow<'_, str> {
    let name = name.trim();
    if is_normal(name) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len());
    for word in name
        .split(|c: char| c.is_whitespace() || c == '-' || c == '_')
        .filter(|w| !w.is_empty())
    {
        let before = out.len();
        if !out.is_empty() {
            out.push(' ');
        }
        let start = out.len();
        out.extend(
            word.chars()
                .flat_map(char::to_lowercase)
                .filter(|c| !('\u{300}'..='\u{36f}').contains(c))
                .map(without_accent),
        );
        // A word of accents alone is no word: a normal name normalises to itself.
        if out.len() == start {
            out.truncate(before);
        }
    }
    Cow::Owned(out)
}

/// Whether a trimmed name is normal as it is, found in one pass over the characters most
/// names are written in: ASCII but upper-case letters, `-`, `_` and whitespace other than
/// single spaces; and lower-case Cyrillic but `ё`. Any other character takes the full path.
fn is_normal(name: &str) -> bool {
    let mut previous_space = false;
    name.chars().all(|c| {
        let fine = match c {
            ' ' => !previous_space,
            'A'..='Z' | '-' | '_' => false,
            c if c.is_ascii() => !c.is_whitespace(),
            'ё' => false,
            '\u{430}'..='\u{45f}' => true,
            _ => false,
        };
        previous_space = c == ' ';
        fine
    })
}

/// A lower-case Latin letter without its accent (`é` → `e`), and Cyrillic `ё` as `е`, as
/// names are often written either way; any other character as it is.
fn without_accent(c: char) -> char {
    match c {
        'à'..='å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'č' => 'c',
        'è'..='ë' | 'ē' | 'ė' | 'ę' | 'ě' => 'e',
        'ì'..='ï' | 'ī' | 'į' => 'i',
        'ñ' | 'ń' | 'ň' => 'n',
        'ò'..='ö' | 'ø' | 'ō' | 'ő' => 'o',
        'ù'..='ü' | 'ū' | 'ů' | 'ű' => 'u',
        'ý' | 'ÿ' => 'y',
        'š' | 'ś' => 's',
        'ž' | 'ź' | 'ż' => 'z',
        'ł' => 'l',
        'ё' => 'е',
        other => other,
    }
}

/// An ICD-10 code without its dot, upper case, if `text` is a well-formed code
/// (`K25`, `K25.4`, `k254`, `N18.6`).
pub fn normalize_icd10(text: &str) -> Option<String> {
    let text = text.trim();
    let bytes = text.as_bytes();
    if bytes.len() < 3 || bytes.len() > 8 {
        return None;
    }
    let letter = bytes.first()?.is_ascii_alphabetic();
    let digit = bytes.get(1)?.is_ascii_digit();
    let third = bytes.get(2)?.is_ascii_alphanumeric();
    if !(letter && digit && third) {
        return None;
    }
    let (head, rest) = (text.get(..3)?, text.get(3..)?);
    let rest = rest.strip_prefix('.').unwrap_or(rest);
    if rest.len() > 4 || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    if text.len() > 3 && rest.is_empty() {
        return None;
    }
    let mut code = head.to_ascii_uppercase();
    code.push_str(&rest.to_ascii_uppercase());
    Some(code)
}

impl Formulary {
    /// Loads and checks a formulary from its files (each named, for diagnostics).
    pub fn load(files: &[SourceFile]) -> Result<Formulary, LoadError> {
        build::build(files)
    }

    /// The formulary shipped inside rxcheck.
    pub fn embedded() -> Result<Formulary, LoadError> {
        Formulary::load(&embedded_sources())
    }

    /// Finds a drug by generic name, alias or brand name (any case).
    pub fn find_drug(&self, name: &str) -> Option<DrugRef> {
        self.drug_names.get(normalize_name(name).as_ref()).copied()
    }

    /// The known drug names closest to `name`, for a "did you mean" hint.
    pub fn suggest_drug(&self, name: &str) -> Option<&str> {
        closest(
            &normalize_name(name),
            self.drug_names.keys().map(String::as_str),
        )
    }

    /// What an allergy or co-medication name is known as, normalised once: a formulary drug
    /// or brand, a class member, a class itself (plural allowed).
    pub fn lookup_name(&self, name: &str) -> KnownName<'_> {
        let normal = normalize_name(name);
        let singular = normal.strip_suffix('s').unwrap_or(&normal);
        KnownName {
            drug: self.drug_names.get(normal.as_ref()).copied(),
            substance: self
                .substance_names
                .get(normal.as_ref())
                .and_then(|&i| self.substance_at(i)),
            class: self
                .class_names
                .get(normal.as_ref())
                .or_else(|| self.class_names.get(singular))
                .copied(),
            allergen: self
                .allergen_names
                .get(normal.as_ref())
                .or_else(|| self.allergen_names.get(singular))
                .copied(),
        }
    }

    /// The known drug, brand, class member or class name closest to `name`, if it is near
    /// enough to be a typo of it.
    pub fn suggest_name(&self, name: &str) -> Option<&str> {
        let normal = normalize_name(name);
        // Runs on every unknown co-medication of every row: compare only names that start
        // alike (typos in the first two letters go unflagged).
        let head: String = normal.chars().take(2).collect();
        closest(
            &normal,
            self.drug_names
                .keys()
                .chain(self.substance_names.keys())
                .chain(self.class_names.keys())
                .chain(self.allergen_names.keys())
                .map(String::as_str)
                .filter(|candidate| candidate.starts_with(head.as_str())),
        )
    }

    /// Whether a rule of any drug, form or brand is about condition `id` or one it implies
    /// (the formulary also names conditions no rule is about, so that lists naming them read).
    pub fn has_rules_about(&self, id: usize) -> bool {
        let implied = self
            .conditions
            .get(id)
            .map_or(&[][..], |c| c.implies.as_slice());
        self.drugs.iter().any(|drug| {
            let brands = std::iter::once(None).chain((0..drug.brands.len()).map(Some));
            let profiles = brands.flat_map(|brand| {
                (0..drug.forms.len()).filter_map(move |form| drug.profile(form, brand))
            });
            profiles
                .flat_map(|p| &p.contraindications)
                .any(|rule| implied.contains(&rule.condition))
        })
    }

    /// Finds a condition by its id, label or a synonym (any case).
    pub fn find_condition(&self, name: &str) -> Option<usize> {
        self.condition_ids
            .get(name.trim())
            .or_else(|| self.condition_names.get(normalize_name(name).as_ref()))
            .copied()
    }

    /// The condition id, label or synonym closest to `name`, for a "did you mean" hint.
    pub fn suggest_condition(&self, name: &str) -> Option<&str> {
        closest(name.trim(), self.condition_ids.keys().map(String::as_str)).or_else(|| {
            closest(
                &normalize_name(name),
                self.condition_names.keys().map(String::as_str),
            )
        })
    }

    /// Calls `found` with every condition an ICD-10 code (dotless, upper case) means: its
    /// codes take it in by prefix, its exclusions leave it out.
    pub fn conditions_for_icd10(&self, code: &str, mut found: impl FnMut(usize)) {
        // The code's prefixes from three characters up, each looked up once; the conditions
        // come out in the vocabulary's order. A few hits stay on the stack.
        const ON_STACK: usize = 16;
        let mut stack = [(0u32, 0usize); ON_STACK];
        let mut count = 0;
        let mut heap: Vec<(u32, usize)> = Vec::new();
        for end in 3..=code.len() {
            let Some(taken) = code.get(..end).and_then(|p| self.icd_prefixes.get(p)) else {
                continue;
            };
            for &hit in taken {
                let excluded = self.conditions.get(hit.1).is_some_and(|c| {
                    c.excluded_prefixes
                        .iter()
                        .any(|x| code.starts_with(x.as_str()))
                });
                if excluded {
                    continue;
                }
                match stack.get_mut(count) {
                    Some(slot) => {
                        *slot = hit;
                        count += 1;
                    }
                    None => heap.push(hit),
                }
            }
        }
        let hits = match heap.is_empty() {
            true => stack.get_mut(..count).unwrap_or_default(),
            false => {
                heap.extend_from_slice(&stack);
                heap.as_mut_slice()
            }
        };
        hits.sort_unstable();
        for &(_, condition) in &*hits {
            found(condition);
        }
    }

    /// What a co-medication or allergy name is known as, if anything.
    pub fn substance(&self, name: &str) -> Option<&Substance> {
        self.substance_at(self.substance_index(name)?)
    }

    /// Where the substance a name is known as is among the formulary's substances (what a
    /// cache that outlives a borrow of the formulary keeps).
    pub(crate) fn substance_index(&self, name: &str) -> Option<usize> {
        self.substance_names
            .get(normalize_name(name).as_ref())
            .copied()
    }

    /// Where `substance`, one of the formulary's, is among its substances.
    pub(crate) fn place_of(&self, substance: &Substance) -> Option<usize> {
        let size = std::mem::size_of::<Substance>().max(1);
        let offset = (substance as *const Substance as usize)
            .checked_sub(self.substances.as_ptr() as usize)?;
        let place = offset / size;
        self.substances
            .get(place)
            .filter(|s| std::ptr::eq(*s, substance))
            .map(|_| place)
    }

    /// The substance at `index` ([`Formulary::substance_index`]).
    pub(crate) fn substance_at(&self, index: usize) -> Option<&Substance> {
        self.substances.get(index)
    }

    /// The conditions a SNOMED CT concept id means (none when the formulary does not list it).
    pub fn conditions_for_snomed(&self, code: &str) -> &[usize] {
        self.codes
            .snomed
            .get(code.trim())
            .map_or(&[], Vec::as_slice)
    }

    /// The formulary drug and product an RxNorm code means.
    pub fn rxnorm_product(&self, code: &str) -> Option<(usize, &RxNormProduct)> {
        let &(drug, index) = self.codes.rxnorm.get(code.trim())?;
        Some((drug, self.drugs.get(drug)?.rxnorm.get(index)?))
    }

    /// The name a code of `system` (`rxnorm` or `snomed`) means, as the vocabulary knows it:
    /// an ingredient, a substance, a class.
    pub fn name_for_code(&self, system: &str, code: &str) -> Option<&str> {
        let key = [system, " ", code.trim()].concat();
        self.codes.names.get(&key).map(String::as_str)
    }

    /// The formulary drug an ATC code means, with the form when the code is one form's own.
    pub fn drug_for_atc(&self, code: &str) -> Option<(usize, Option<usize>)> {
        let code = code.trim().to_ascii_uppercase();
        self.codes.atc.get(code.as_str()).copied()
    }

    /// This formulary's own number among those loaded in the process (what per-thread
    /// caches tie their entries to).
    pub(crate) fn identity(&self) -> u64 {
        self.identity
    }

    /// The citation of a source, as findings show it.
    pub fn citation(&self, source: usize) -> &str {
        self.sources.get(source).map_or("", |s| s.citation.as_str())
    }
}

impl Drug {
    /// The rule profile for one of this drug's forms, taking a brand's override into account.
    pub fn profile(&self, form: usize, brand: Option<usize>) -> Option<&Profile> {
        brand
            .and_then(|b| self.brands.get(b))
            .and_then(|b| b.overrides.get(&form))
            .or_else(|| self.forms.get(form).map(|f| &f.profile))
    }

    /// Finds a form of this drug by id or alias, or an equivalent form by its names (any case).
    pub fn find_form(&self, name: &str) -> Option<FormRef> {
        self.form_names.get(normalize_name(name).as_ref()).copied()
    }

    /// How a form reference is named: the equivalent form's id, else the form's.
    pub fn form_label(&self, at: FormRef) -> &str {
        let form = self.forms.get(at.form);
        match at.equivalent {
            Some(e) => form
                .and_then(|f| f.equivalents.get(e))
                .map_or("", |e| e.id.as_str()),
            None => form.map_or("", |f| f.id.as_str()),
        }
    }

    /// The form names closest to `name`, for a "did you mean" hint.
    pub fn suggest_form(&self, name: &str) -> Option<&str> {
        closest(
            &normalize_name(name),
            self.form_names.keys().map(String::as_str),
        )
    }
}

/// Which kind of name a remembered suggestion is for.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Suggestion {
    Drug,
    Name,
    Misspelt,
}

/// Suggestions worked out for one formulary (by its identity), by kind, then by name.
#[derive(Default)]
struct SuggestionMemo {
    formulary: Option<u64>,
    names: FastMap<Suggestion, FastMap<String, Option<String>>>,
}

thread_local! {
    /// Suggestions already worked out on this thread: an export repeats the same unknown
    /// names row after row.
    static SUGGESTIONS: RefCell<SuggestionMemo> = RefCell::new(SuggestionMemo::default());
}

/// How many names a thread remembers per kind before it starts afresh.
const SUGGESTIONS_KEPT: usize = 4096;

impl Formulary {
    fn remembered(
        &self,
        kind: Suggestion,
        name: &str,
        work_out: impl FnOnce() -> Option<String>,
    ) -> Option<String> {
        let known = SUGGESTIONS.with(|memo| {
            let memo = memo.borrow();
            if memo.formulary != Some(self.identity) {
                return None;
            }
            memo.names
                .get(&kind)
                .and_then(|names| names.get(name).cloned())
        });
        if let Some(known) = known {
            return known;
        }
        let found = work_out();
        SUGGESTIONS.with(|memo| {
            let mut memo = memo.borrow_mut();
            // Another formulary's suggestions are not this one's.
            if memo.formulary != Some(self.identity) {
                memo.formulary = Some(self.identity);
                memo.names.clear();
            }
            let names = memo.names.entry(kind).or_default();
            if names.len() >= SUGGESTIONS_KEPT {
                names.clear();
            }
            names.insert(name.to_string(), found.clone());
        });
        found
    }

    /// [`Formulary::suggest_drug`], remembered per thread (the batch hot path).
    pub fn suggest_drug_remembered(&self, name: &str) -> Option<String> {
        self.remembered(Suggestion::Drug, name, || {
            self.suggest_drug(name).map(str::to_string)
        })
    }

    /// The formulary drug name `name` may well be written for, sure enough to take it for that
    /// drug's (not only to hint at it): one it starts with (`Diclofenac-Teva`,
    /// `DiclofenacTeva`), or one it misspells, six letters or more at one edit, nine or more
    /// at two (`diclofenak`, `dicolfenac`; not `Nix` for `Nise` nor `Methadol` for
    /// `Metindol`); a name with words after it (`diclofenak 50 mg`) by its first word too.
    pub fn misspelt_drug(&self, name: &str) -> Option<String> {
        let first = name.split_whitespace().next().unwrap_or(name);
        let remembered = |name: &str| {
            self.remembered(Suggestion::Misspelt, name, || self.work_out_misspelt(name))
        };
        remembered(name).or_else(|| (first != name.trim()).then(|| remembered(first)).flatten())
    }

    /// [`Formulary::misspelt_drug`], worked out.
    fn work_out_misspelt(&self, name: &str) -> Option<String> {
        let written = normalize_name(name);
        let length = written.chars().count();
        let prefix = self
            .drug_names
            .keys()
            .filter(|n| n.chars().count() >= 6 && written.starts_with(n.as_str()))
            .max_by_key(|n| n.len());
        if let Some(name) = prefix {
            return Some(name.clone());
        }
        let meant = self.suggest_drug_remembered(name)?;
        let edits = strsim::damerau_levenshtein(&written, &meant);
        let allowed = match length {
            0..6 => 0,
            6..9 => 1,
            _ => 2,
        };
        (edits <= allowed).then_some(meant)
    }

    /// [`Formulary::suggest_name`], remembered per thread (the batch hot path).
    pub fn suggest_name_remembered(&self, name: &str) -> Option<String> {
        self.remembered(Suggestion::Name, name, || {
            self.suggest_name(name).map(str::to_string)
        })
    }
}

/// The candidate nearest to `name` by edit distance, when it is near enough to be a typo: one
/// edit from a name of up to eight letters, two from one of up to twelve, a fifth of the
/// letters beyond (so that `Flomax` is not taken for `Flanax`, nor `кетотифен` for
/// `кетопрофен`). A name of one or two letters is no one's typo (`iv` is not `im`). Lengths
/// are in letters, not bytes (a Cyrillic letter takes two).
pub fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let letters = name.chars().count();
    if letters < 3 {
        return None;
    }
    let edits = |length: usize| match length {
        0..=8 => 1,
        9..=12 => 2,
        _ => length / 5,
    };
    let first = name.chars().next();
    candidates
        .map(|c| (c, c.chars().count()))
        .filter(|&(_, length)| length.abs_diff(letters) <= edits(length))
        .filter(|(c, _)| c.chars().next() == first || c.chars().last() == name.chars().last())
        .map(|(c, length)| (strsim::damerau_levenshtein(name, c), c, length))
        .filter(|&(d, _, length)| d > 0 && d <= edits(length))
        .min()
        .map(|(_, c, _)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_normal_name_normalises_to_itself() {
        for (name, normal) in [
            ("Ketonal", "ketonal"),
            ("Voltaren_Emulgel", "voltaren emulgel"),
            ("  Найз  ", "найз"),
            ("Diclofénac", "diclofenac"),
            ("ketonal \u{301}", "ketonal"),
            ("a \u{301} b", "a b"),
            ("\u{301}\u{302}", ""),
            ("\u{130}buprofen", "ibuprofen"),
        ] {
            assert_eq!(normalize_name(name), normal, "{name:?}");
            assert_eq!(normalize_name(normal), normal, "{name:?}");
        }
    }

    #[test]
    fn a_name_found_normal_at_a_glance_is_normal() {
        // Every character up to U+0500 alone, between letters, doubled and next to a space:
        // a (trimmed) name the quick test passes is what the full path makes of it, which an
        // upper-case letter at its end makes it take.
        for c in ('\0'..='\u{500}').filter(|c| !c.is_whitespace() || *c == ' ') {
            for name in [
                format!("{c}"),
                format!("a{c}b"),
                format!("{c}{c} я"),
                format!("я {c}"),
            ] {
                if name.trim() == name && is_normal(&name) {
                    let mut full = name.clone();
                    full.push('A');
                    let full = normalize_name(&full);
                    assert_eq!(full.strip_suffix('a'), Some(name.as_str()), "{name:?}");
                }
            }
        }
    }

    #[test]
    fn icd10_codes_are_normalised() {
        assert_eq!(normalize_icd10("K25.4").as_deref(), Some("K254"));
        assert_eq!(normalize_icd10("k254").as_deref(), Some("K254"));
        assert_eq!(normalize_icd10("I10").as_deref(), Some("I10"));
        assert_eq!(normalize_icd10("N18.6").as_deref(), Some("N186"));
        for bad in ["K2", "25.4", "K25.", "K25.45678", "gi_ulcer", "K 25"] {
            assert_eq!(normalize_icd10(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_icd10_code_finds_every_condition_it_falls_under_in_order() {
        // Twenty conditions (more than fit on the stack) under K25, with exclusions.
        let mut text = String::from(
            "[formulary]\nname = \"t\"\nversion = \"1\"\nreference = \"t\"\n\
             [sources.s]\nsection = \"S\"\ntext = \"t\"\n\
             [drugs.x.forms.tablet]\nroute = \"oral\"\nsystemic = true\ndose_dimension = \"mass\"\n\
             [[drugs.x.forms.tablet.dosage]]\ndose_per_day = { max = \"1 mg\" }\nsource = \"s\"\n\
             [drugs.x]\nname = \"X\"\n",
        );
        for i in 0..20 {
            let (code, exclude) = if i % 2 == 0 {
                ("K25", "K25.9")
            } else {
                ("K25.4", "K25.49")
            };
            text.push_str(&format!(
                "[conditions.c{i:02}]\nlabel = \"c{i}\"\nicd10 = [\"{code}\"]\nicd10_exclude = [\"{exclude}\"]\n"
            ));
        }
        let files = [SourceFile {
            name: "t.toml".into(),
            text,
        }];
        let formulary = Formulary::load(&files).unwrap();
        let found = |code: &str| {
            let mut ids = Vec::new();
            formulary.conditions_for_icd10(code, |c| ids.push(formulary.conditions[c].id.clone()));
            ids
        };
        let all: Vec<String> = (0..20).map(|i| format!("c{i:02}")).collect();
        let even: Vec<String> = (0..20).step_by(2).map(|i| format!("c{i:02}")).collect();
        assert_eq!(found("K254"), all);
        assert_eq!(found("K2541"), all);
        assert_eq!(found("K250"), even);
        assert_eq!(found("K2549"), even);
        assert!(found("K259").is_empty());
        assert!(found("K26").is_empty());
    }

    #[test]
    fn a_second_formulary_does_not_inherit_suggestions() {
        // Loaded in turn into the same place, as a long-lived process may reload them.
        let renamed: Vec<SourceFile> = embedded_sources()
            .into_iter()
            .map(|f| SourceFile {
                name: f.name,
                text: f
                    .text
                    .replace("diclofenac", "zzclofenac")
                    .replace("Diclofenac", "Zzclofenac"),
            })
            .collect();
        let mut suggestions = Vec::new();
        for files in [embedded_sources(), renamed] {
            let formulary = Formulary::load(&files).unwrap();
            suggestions.push(formulary.suggest_drug_remembered("diclofenc"));
        }
        assert_eq!(suggestions[0].as_deref(), Some("diclofenac"));
        assert_ne!(suggestions[1].as_deref(), Some("diclofenac"));
    }

    #[test]
    fn names_are_normalised() {
        assert_eq!(normalize_name(" Voltaren-Gel "), "voltaren gel");
        assert_eq!(
            normalize_name("acetylsalicylic  acid"),
            "acetylsalicylic acid"
        );
        assert!(matches!(normalize_name("ibuprofen"), Cow::Borrowed(_)));
    }
}
