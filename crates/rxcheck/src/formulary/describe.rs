//! What the formulary says, per drug and form, as plain data: `rxcheck formulary show`
//! renders it as text or JSON, so a pharmacist can answer "why did it reject this?".

use super::{Dosing, Drug, Form, Formulary, Limits, Profile};
use crate::finding::Severity;
use crate::units::Dimension;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct DrugView {
    pub id: String,
    pub name: String,
    pub atc: Option<String>,
    pub classes: Vec<String>,
    pub aliases: Vec<String>,
    pub brands: Vec<BrandView>,
    /// The daily maximum from all systemic forms together (a patient's concurrent rows).
    pub combined_daily_max: Option<RuleView>,
    /// RxNorm drugs that are forms of this drug (FHIR input).
    pub rxnorm: Vec<RxNormView>,
    pub forms: Vec<FormView>,
}

/// An RxNorm code and the form, brand and strength it is.
#[derive(Debug, Serialize)]
pub struct RxNormView {
    pub code: String,
    pub form: String,
    pub brand: Option<String>,
    pub strength: Option<String>,
}

/// A condition of the vocabulary: every name and code it may be given by.
#[derive(Debug, Serialize)]
pub struct ConditionView {
    pub id: String,
    pub label: String,
    pub synonyms: Vec<String>,
    /// Conditions it implies (its parents, transitively).
    pub implies: Vec<String>,
    /// Codes of both editions, then those of ICD-10-CM only; matched by prefix.
    pub icd10: Vec<String>,
    pub icd10_cm: Vec<String>,
    /// Codes under those that are not this condition, in both editions and in CM only.
    pub icd10_exclude: Vec<String>,
    pub icd10_cm_exclude: Vec<String>,
    /// SNOMED CT concept ids, matched exactly.
    pub snomed: Vec<String>,
}

/// Every condition of the vocabulary (`rxcheck formulary show conditions`).
pub fn describe_conditions(f: &Formulary) -> Vec<ConditionView> {
    f.conditions
        .iter()
        .map(|c| ConditionView {
            id: c.id.clone(),
            label: c.label.clone(),
            synonyms: c.synonyms.clone(),
            implies: c
                .implies
                .iter()
                .skip(1)
                .filter_map(|i| f.conditions.get(*i))
                .map(|p| p.id.clone())
                .collect(),
            icd10: c.icd10.clone(),
            icd10_cm: c.icd10_cm.clone(),
            icd10_exclude: c.icd10_exclude.clone(),
            icd10_cm_exclude: c.icd10_cm_exclude.clone(),
            snomed: c.snomed.clone(),
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub struct BrandView {
    pub id: String,
    pub names: Vec<String>,
    /// Names of the brand's product in one form, by form.
    pub products: Vec<(String, Vec<String>)>,
    /// The only forms the brand is made in (empty when the formulary does not say).
    pub sold_as: Vec<String>,
    /// The finding for a product or brand ordered in another form, when there can be one.
    pub form_rule: Option<RuleView>,
    /// Rules this brand adds, by form.
    pub overrides: Vec<(String, Vec<RuleView>)>,
}

#[derive(Debug, Serialize)]
pub struct FormView {
    pub id: String,
    pub aliases: Vec<String>,
    pub route: String,
    pub systemic: bool,
    /// The form's own ATC code, where it has one.
    pub atc: Option<String>,
    pub dose_dimension: Option<&'static str>,
    pub strengths: Vec<String>,
    pub default_strength: Option<String>,
    pub dosage: Vec<DoseView>,
    /// Why the dose cannot be verified, where the reference is silent.
    pub dosage_unknown: Option<RuleView>,
    /// Every other rule: age, pregnancy, breastfeeding, conditions, allergy, interactions,
    /// duplicate therapy, administration.
    pub rules: Vec<RuleView>,
}

#[derive(Debug, Serialize)]
pub struct DoseView {
    pub rule: String,
    pub ages: Option<(u32, u32)>,
    pub strength: Option<String>,
    pub dose_per_administration: LimitsView,
    pub dose_per_day: LimitsView,
    pub times_per_day: (Option<u32>, Option<u32>),
    pub max_duration_days: Option<u32>,
    pub source: String,
    /// How doses below the minimums are graded where the reference endorses them.
    pub below_minimum: Option<RuleView>,
    /// What the site overlay does to the statement's limits.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub site: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct LimitsView {
    pub min: Option<String>,
    pub usual_max: Option<String>,
    pub max: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RuleView {
    /// `age`, `pregnancy`, `breastfeeding`, `condition`, `allergy`, `interaction`,
    /// `duplicate_therapy`, `administration` or `dosage`.
    pub kind: &'static str,
    pub rule: String,
    pub severity: Severity,
    pub detail: String,
    pub source: String,
    /// What the site overlay does to the rule, when it changes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
}

fn amount(v: rust_decimal::Decimal, dimension: Dimension) -> String {
    format!("{} {}", v.normalize(), dimension.base_unit())
}

fn limits(l: &Limits, dimension: Dimension) -> LimitsView {
    let show = |v: Option<rust_decimal::Decimal>| v.map(|v| amount(v, dimension));
    LimitsView {
        min: show(l.min),
        usual_max: show(l.usual_max),
        max: show(l.max),
    }
}

/// What the site overlay does to rule `id`, if there is an overlay and it changes the rule.
fn site_note(f: &Formulary, id: &str) -> Option<String> {
    f.site.as_ref().and_then(|s| s.describe(id))
}

fn rules(f: &Formulary, p: &Profile) -> Vec<RuleView> {
    let mut out = Vec::new();
    let mut push = |kind, rule: &str, severity, detail: String, source: usize| {
        out.push(RuleView {
            kind,
            rule: rule.to_string(),
            severity,
            detail,
            source: f.citation(source).to_string(),
            site: site_note(f, rule),
        });
    };
    if let Some(age) = &p.min_age {
        push(
            "age",
            &age.rule,
            Severity::Reject,
            format!("from {} years", age.years),
            age.source,
        );
    }
    for r in &p.pregnancy {
        push(
            "pregnancy",
            &r.rule.rule,
            r.rule.severity,
            format!("gestational weeks {}-{}", r.weeks.0, r.weeks.1),
            r.rule.source,
        );
    }
    for r in &p.breastfeeding {
        push(
            "breastfeeding",
            &r.rule,
            r.severity,
            "while breastfeeding".into(),
            r.source,
        );
    }
    for r in &p.contraindications {
        let c = f.conditions.get(r.condition);
        let detail = c.map_or_else(String::new, |c| {
            let codes: Vec<&str> = c.codes().map(String::as_str).collect();
            let codes = if codes.is_empty() {
                String::new()
            } else {
                format!(" (ICD-10 {})", codes.join(", "))
            };
            format!("{}: {}{codes}", c.id, c.label)
        });
        push(
            "condition",
            &r.rule.rule,
            r.rule.severity,
            detail,
            r.rule.source,
        );
    }
    let class_names = |classes: &[usize]| {
        classes
            .iter()
            .filter_map(|c| f.classes.get(*c))
            .map(|c| c.id.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    for r in &p.allergy {
        push(
            "allergy",
            &r.rule.rule,
            r.rule.severity,
            format!(
                "allergy to the drug or to a member of: {}",
                class_names(&r.classes)
            ),
            r.rule.source,
        );
    }
    for r in &p.interactions {
        push(
            "interaction",
            &r.rule.rule,
            r.rule.severity,
            format!("co-medication of class: {}", class_names(&r.classes)),
            r.rule.source,
        );
    }
    for r in &p.duplicate_therapy {
        push(
            "duplicate_therapy",
            &r.rule.rule,
            r.rule.severity,
            format!(
                "another drug of class: {} ({} for topical forms)",
                class_names(&[r.class]),
                r.topical_severity
            ),
            r.rule.source,
        );
    }
    for r in &p.administration {
        push(
            "administration",
            &r.rule.rule,
            r.rule.severity,
            r.note.clone(),
            r.rule.source,
        );
    }
    out
}

fn form_view(f: &Formulary, form: &Form) -> FormView {
    let dimension = form.dose_dimension.unwrap_or(Dimension::Mass);
    let (dosage, dosage_unknown) = match &form.dosing {
        Dosing::Known(rules) => (
            rules
                .iter()
                .map(|r| DoseView {
                    rule: r.rule.clone(),
                    ages: r.ages,
                    strength: r.strength.map(|s| s.to_string()),
                    dose_per_administration: limits(&r.per_administration, dimension),
                    dose_per_day: limits(&r.per_day, dimension),
                    times_per_day: r.times_per_day,
                    max_duration_days: r.max_duration_days,
                    source: f.citation(r.source).to_string(),
                    site: r
                        .limit_ids
                        .all()
                        .into_iter()
                        .filter_map(|id| site_note(f, id))
                        .collect(),
                    below_minimum: r.below_minimum.as_ref().map(|b| RuleView {
                        kind: "dosage",
                        rule: format!("{}.*.min", r.rule),
                        severity: b.severity,
                        detail: match b.daily_floor {
                            Some(floor) => format!(
                                "below a minimum, endorsed by the reference down to {} a day",
                                amount(floor, dimension)
                            ),
                            None => "below a minimum, endorsed by the reference".to_string(),
                        },
                        source: b.citation.clone(),
                        site: None,
                    }),
                })
                .collect(),
            None,
        ),
        Dosing::Unknown {
            rule,
            reason,
            source,
        } => (
            Vec::new(),
            Some(RuleView {
                kind: "dosage",
                rule: rule.clone(),
                severity: Severity::Warn,
                detail: reason.clone(),
                source: f.citation(*source).to_string(),
                site: site_note(f, rule),
            }),
        ),
    };
    FormView {
        id: form.id.clone(),
        aliases: form.aliases.clone(),
        route: form.route.clone(),
        systemic: form.systemic,
        atc: form.atc.clone(),
        dose_dimension: form.dose_dimension.map(Dimension::as_str),
        strengths: form.strengths.iter().map(ToString::to_string).collect(),
        default_strength: form.default_strength.map(|s| s.to_string()),
        dosage,
        dosage_unknown,
        rules: rules(f, &form.profile)
            .into_iter()
            .chain(form.equivalents.iter().map(|e| RuleView {
                kind: "product",
                rule: e.rule.clone(),
                severity: Severity::Info,
                detail: format!(
                    "`{}` ({}) is checked by these rules",
                    e.id,
                    e.names.join(", ")
                ),
                source: f.citation(e.source).to_string(),
                site: site_note(f, &e.rule),
            }))
            .collect(),
    }
}

fn drug_view(f: &Formulary, drug: &Drug, form_filter: Option<usize>) -> DrugView {
    DrugView {
        id: drug.id.clone(),
        name: drug.name.clone(),
        atc: drug.atc.clone(),
        classes: drug
            .classes
            .iter()
            .filter_map(|c| f.classes.get(*c))
            .map(|c| c.id.clone())
            .collect(),
        aliases: drug.aliases.clone(),
        combined_daily_max: drug.combined_daily_max.as_ref().map(|c| RuleView {
            kind: "dose_daily",
            rule: c.rule.clone(),
            severity: Severity::Reject,
            detail: format!(
                "at most {} mg a day from all systemic forms together",
                c.max_mg.normalize()
            ),
            source: f.citation(c.source).to_string(),
            site: site_note(f, &c.rule),
        }),
        rxnorm: drug
            .rxnorm
            .iter()
            .map(|p| RxNormView {
                code: p.code.clone(),
                form: drug.form_label(p.form).to_string(),
                brand: p
                    .brand
                    .and_then(|b| drug.brands.get(b))
                    .map(|b| b.id.clone()),
                strength: p.strength.clone(),
            })
            .collect(),
        brands: drug
            .brands
            .iter()
            .map(|b| BrandView {
                id: b.id.clone(),
                names: b.names.clone(),
                products: b
                    .products
                    .iter()
                    .map(|(at, names)| (drug.form_label(*at).to_string(), names.clone()))
                    .collect(),
                sold_as: b
                    .sold_as
                    .iter()
                    .map(|at| drug.form_label(*at).to_string())
                    .collect(),
                form_rule: (!b.products.is_empty() || !b.sold_as.is_empty()).then(|| RuleView {
                    kind: "product",
                    rule: b.form_rule.clone(),
                    severity: Severity::Warn,
                    detail: "a product or brand ordered in a form it is not made in".to_string(),
                    source: b.form_source.map_or("", |s| f.citation(s)).to_string(),
                    site: site_note(f, &b.form_rule),
                }),
                overrides: b
                    .overrides
                    .iter()
                    .filter(|(form, _)| form_filter.is_none_or(|only| only == **form))
                    .filter_map(|(form, profile)| {
                        let form = drug.forms.get(*form)?;
                        let own: Vec<RuleView> = rules(f, profile)
                            .into_iter()
                            .filter(|r| r.rule.starts_with(&format!("{}.{}.", drug.id, b.id)))
                            .collect();
                        Some((form.id.clone(), own))
                    })
                    .collect(),
            })
            .collect(),
        forms: drug
            .forms
            .iter()
            .enumerate()
            .filter(|(i, _)| form_filter.is_none_or(|only| only == *i))
            .map(|(_, form)| form_view(f, form))
            .collect(),
    }
}

/// Why a `show` request could not be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DescribeError {
    #[error("drug `{0}` is not in the formulary{1}")]
    UnknownDrug(String, String),
    #[error("form `{0}` is not in the formulary for `{1}`{2}")]
    UnknownForm(String, String, String),
}

fn hint(suggestion: Option<&str>) -> String {
    suggestion.map_or_else(String::new, |s| format!("; did you mean `{s}`?"))
}

/// Every drug (or the one named, or one form of it), as data.
pub fn describe(
    f: &Formulary,
    drug: Option<&str>,
    form: Option<&str>,
) -> Result<Vec<DrugView>, DescribeError> {
    let Some(name) = drug else {
        return Ok(f.drugs.iter().map(|d| drug_view(f, d, None)).collect());
    };
    let found = f
        .find_drug(name)
        .and_then(|r| f.drugs.get(r.drug))
        .ok_or_else(|| DescribeError::UnknownDrug(name.to_string(), hint(f.suggest_drug(name))))?;
    let form_index = match form {
        None => None,
        Some(form) => Some(found.find_form(form).map(|at| at.form).ok_or_else(|| {
            DescribeError::UnknownForm(
                form.to_string(),
                found.id.clone(),
                hint(found.suggest_form(form)),
            )
        })?),
    };
    Ok(vec![drug_view(f, found, form_index)])
}

/// Every rule a finding can cite, once each and sorted by id, with its most serious grading,
/// what it checks and its source: what a consumer of `batch --detail compact` joins the rule
/// ids of the records with (`rxcheck formulary show rules`).
pub fn describe_rules(f: &Formulary) -> Vec<RuleView> {
    let mut all: Vec<RuleView> = Vec::new();
    let rule = |kind, rule: &str, severity, detail: String, source: &str| RuleView {
        kind,
        rule: rule.to_string(),
        severity,
        detail,
        source: source.to_string(),
        site: site_note(f, rule),
    };
    for drug in &f.drugs {
        let view = drug_view(f, drug, None);
        all.extend(view.combined_daily_max);
        for brand in view.brands {
            all.extend(brand.form_rule);
            all.extend(brand.overrides.into_iter().flat_map(|(_, rules)| rules));
        }
        for (form, form_view) in drug.forms.iter().zip(view.forms) {
            all.extend(form_view.rules);
            all.extend(form_view.dosage_unknown);
            let name = format!("{} {}", drug.id, form.id);
            let ids = &form.dose_rule_ids;
            let strengths = "rxcheck formulary: strengths the reference names";
            all.push(rule(
                "dosage",
                &ids.strength,
                Severity::Info,
                format!("a strength of {name} the formulary does not list"),
                strengths,
            ));
            let Dosing::Known(dose_rules) = &form.dosing else {
                continue;
            };
            let first = dose_rules.first().map_or("", |r| f.citation(r.source));
            all.push(rule(
                "dosage",
                &ids.strength_not_given,
                Severity::Info,
                format!("the dosage of {name} depends on a strength not given"),
                first,
            ));
            all.push(rule(
                "dosage",
                &ids.age_not_covered,
                Severity::Warn,
                format!("no dosage of {name} for the patient's age"),
                first,
            ));
            let dimension = form.dose_dimension.unwrap_or(Dimension::Mass);
            for dose_rule in dose_rules {
                let source = f.citation(dose_rule.source);
                for (id, limit, upper, severity) in super::site::limits(dose_rule, dimension) {
                    let bound = if upper { "at most" } else { "at least" };
                    let what = id.rsplit_once(".dosage.").map_or(id, |(_, what)| what);
                    let detail = format!("{name}, {what}: {bound} {}", limit.text());
                    all.push(rule("dosage", id, severity, detail, source));
                }
            }
        }
    }
    for input in crate::request::Input::ALL {
        let field = input.rule().strip_prefix("input.").unwrap_or(input.rule());
        let detail = format!("the `{field}` field cannot be read or checked");
        all.push(rule(
            "input",
            input.rule(),
            Severity::Invalid,
            detail,
            input.source(),
        ));
    }
    let fhir = "a FHIR resource that cannot be read".to_string();
    all.push(rule(
        "input",
        crate::fhir::RULE,
        Severity::Invalid,
        fhir,
        crate::fhir::SOURCE,
    ));
    all.sort_by(|a, b| a.rule.cmp(&b.rule).then(b.severity.cmp(&a.severity)));
    all.dedup_by(|later, first| later.rule == first.rule);
    all
}
