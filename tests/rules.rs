//! Every rule of the shipped formulary, triggered and tested at its boundary, through the
//! library's validator.

use chrono::NaiveDate;
use rxcheck::{Formulary, Prescription, Verdict, validate};
use std::sync::OnceLock;

fn formulary() -> &'static Formulary {
    static F: OnceLock<Formulary> = OnceLock::new();
    F.get_or_init(|| Formulary::embedded().expect("the shipped formulary loads"))
}

const AS_OF: &str = "2026-11-24";

/// Checks a prescription given as `key=value` pairs on top of an adult (40 years, not
/// pregnant, not breastfeeding) and returns the verdict and `severity category:rule` of each
/// finding.
fn check(fields: &[(&str, &str)]) -> (Verdict, Vec<String>) {
    let mut rx = Prescription {
        age_years: "40",
        pregnant: "no",
        breastfeeding: "no",
        ..Prescription::default()
    };
    for &(key, value) in fields {
        match key {
            "drug" => rx.drug = value,
            "form" => rx.form = value,
            "strength" => rx.strength = value,
            "unit_volume" => rx.unit_volume = value,
            "dose" => rx.dose = value,
            "times" => rx.times_per_day = value,
            "days" => rx.duration_days = value,
            "age" => rx.age_years = value,
            "birth" => rx.birth_date = value,
            "date" => rx.date = value,
            "pregnant" => rx.pregnant = value,
            "week" => rx.gestational_week = value,
            "breastfeeding" => rx.breastfeeding = value,
            "conditions" => rx.conditions = value,
            "allergies" => rx.allergies = value,
            "co" => rx.co_medications = value,
            "sex" => rx.sex = value,
            other => panic!("unknown test field {other}"),
        }
    }
    let as_of = NaiveDate::parse_from_str(AS_OF, "%Y-%m-%d").unwrap();
    let a = validate(formulary(), &rx, as_of);
    let rules = a
        .findings
        .iter()
        .map(|f| format!("{} {}:{}", f.severity, f.category, f.rule))
        .collect();
    (a.verdict(), rules)
}

/// Asserts the verdict, and that each expected `severity category:rule` fragment is among the
/// findings.
#[track_caller]
fn expect(fields: &[(&str, &str)], verdict: Verdict, rules: &[&str]) {
    let (got, found) = check(fields);
    assert_eq!(got, verdict, "verdict for {fields:?}; findings {found:#?}");
    for rule in rules {
        assert!(
            found.iter().any(|f| f.contains(rule)),
            "expected a finding containing `{rule}` for {fields:?}; got {found:#?}"
        );
    }
}

use Verdict::{Invalid, Ok, Reject, Warn};

const NIM: [(&str, &str); 2] = [("drug", "nimesulide"), ("form", "tablet")];
const DIC_TAB: [(&str, &str); 2] = [("drug", "diclofenac"), ("form", "tablet")];
const DIC_SUP: [(&str, &str); 2] = [("drug", "diclofenac"), ("form", "suppository")];
const DIC_INJ: [(&str, &str); 2] = [("drug", "diclofenac"), ("form", "injection")];
const DIC_GEL: [(&str, &str); 2] = [("drug", "diclofenac"), ("form", "gel")];
const IND_TAB: [(&str, &str); 2] = [("drug", "indomethacin"), ("form", "tablet")];
const IND_SUP: [(&str, &str); 2] = [("drug", "indomethacin"), ("form", "suppository")];
const IND_GEL: [(&str, &str); 2] = [("drug", "indomethacin"), ("form", "ointment")];

fn with<'a>(base: &[(&'a str, &'a str)], extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    base.iter().chain(extra).copied().collect()
}

mod nimesulide {
    use super::*;

    fn tab(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        with(&with(&NIM, &[("dose", "100 mg"), ("times", "2")]), extra)
    }

    #[test]
    fn the_usual_regimen_is_ok() {
        expect(
            &tab(&[]),
            Ok,
            &["administration:nimesulide.tablet.administration.after_meals"],
        );
        expect(
            &with(&NIM, &[("dose", "1 tablet"), ("times", "2")]),
            Ok,
            &[],
        );
        expect(
            &with(&NIM, &[("dose", "1/2 tablet"), ("times", "2")]),
            Ok,
            &[],
        );
        expect(&with(&NIM, &[("dose", "0.1 g"), ("times", "2")]), Ok, &[]);
        expect(
            &with(&NIM, &[("dose", "100000 mcg"), ("times", "2")]),
            Ok,
            &[],
        );
        expect(
            &with(
                &[("drug", "Nimulide"), ("form", "tablets")],
                &[("dose", "100 mg"), ("times", "2")],
            ),
            Ok,
            &[],
        );
    }

    #[test]
    fn single_dose_boundaries() {
        expect(
            &with(&NIM, &[("dose", "101 mg"), ("times", "2")]),
            Reject,
            &["dose_single:nimesulide.tablet.dosage.dose_per_administration.max"],
        );
        expect(
            &with(&NIM, &[("dose", "100.001 mg"), ("times", "1")]),
            Reject,
            &["dose_per_administration.max"],
        );
        expect(&with(&NIM, &[("dose", "50 mg"), ("times", "2")]), Ok, &[]);
        // "Doctors recommend to do with minimal effective doses": below the minimum is info.
        expect(
            &with(&NIM, &[("dose", "49 mg"), ("times", "2")]),
            Ok,
            &[
                "info dose_single:nimesulide.tablet.dosage.dose_per_administration.min",
                "info dose_daily:nimesulide.tablet.dosage.dose_per_day.min",
            ],
        );
        expect(
            &with(&NIM, &[("dose", "50-100 mg"), ("times", "2")]),
            Ok,
            &[],
        );
        expect(
            &with(&NIM, &[("dose", "50-150 mg"), ("times", "2")]),
            Reject,
            &["dose_per_administration.max"],
        );
    }

    #[test]
    fn frequency_and_daily_boundaries() {
        expect(
            &with(&NIM, &[("dose", "100 mg"), ("times", "3")]),
            Reject,
            &[
                "frequency:nimesulide.tablet.dosage.times_per_day.max",
                "dose_daily:nimesulide.tablet.dosage.dose_per_day.max",
            ],
        );
        expect(
            &with(&NIM, &[("dose", "100 mg"), ("times", "1")]),
            Ok,
            &["info frequency:nimesulide.tablet.dosage.times_per_day.min"],
        );
    }

    #[test]
    fn from_twelve_years() {
        expect(&tab(&[("age", "12")]), Ok, &[]);
        expect(&tab(&[("age", "11")]), Reject, &["age:nimesulide.min_age"]);
        // Birthday on the prescription date counts; the day before does not.
        expect(&tab(&[("age", ""), ("birth", "2014-11-24")]), Ok, &[]);
        expect(
            &tab(&[("age", ""), ("birth", "2014-11-25")]),
            Reject,
            &["age:nimesulide.min_age"],
        );
        expect(
            &tab(&[("age", ""), ("birth", "2014-11-25"), ("date", "2026-11-25")]),
            Ok,
            &[],
        );
    }

    #[test]
    fn pregnancy_is_a_caution_in_every_week() {
        expect(
            &tab(&[("pregnant", "yes"), ("week", "0")]),
            Warn,
            &["pregnancy:nimesulide.pregnancy.weeks_0_45"],
        );
        expect(
            &tab(&[("pregnant", "yes"), ("week", "45")]),
            Warn,
            &["pregnancy:nimesulide.pregnancy.weeks_0_45"],
        );
        expect(&tab(&[("pregnant", "yes")]), Warn, &["pregnancy:"]);
    }

    #[test]
    fn contraindications() {
        for (condition, rule) in [
            ("gi_ulcer", "gi_ulcer"),
            ("K25.4", "gi_ulcer"),
            ("K254", "gi_bleeding"),
            ("gi_bleeding", "gi_bleeding"),
            ("bronchial_asthma", "bronchial_asthma"),
            ("J45.9", "bronchial_asthma"),
            ("aspirin_asthma", "bronchial_asthma"),
            ("ibd", "ibd"),
            ("ulcerative_colitis", "ibd"),
            ("crohns_disease", "crohns_disease"),
            ("K50.1", "crohns_disease"),
            ("hemophilia", "hemophilia"),
            ("D66", "bleeding_disorder"),
            ("bleeding_disorder", "bleeding_disorder"),
            ("nasal_polyposis", "nasal_polyposis"),
            ("active_bleeding", "active_bleeding"),
            ("rectal_bleeding", "active_bleeding"),
        ] {
            expect(
                &tab(&[("conditions", condition)]),
                Reject,
                &[&format!(
                    "condition:nsaid_contraindications.contraindication.{rule}"
                )],
            );
        }
    }

    #[test]
    fn cautions() {
        for (condition, rule) in [
            ("severe_hepatic_impairment", "severe_hepatic_impairment"),
            ("K72.1", "severe_hepatic_impairment"),
            ("severe_renal_impairment", "severe_renal_impairment"),
            ("N18.5", "severe_renal_impairment"),
            ("N18.6", "severe_renal_impairment"),
            ("decompensated_heart_failure", "decompensated_heart_failure"),
            ("hyperkalemia", "hyperkalemia"),
            ("E87.5", "hyperkalemia"),
            ("post_cabg", "post_cabg"),
        ] {
            expect(
                &tab(&[("conditions", condition)]),
                Warn,
                &[&format!("condition:nsaid_cautions.contraindication.{rule}")],
            );
        }
        expect(&tab(&[("conditions", "I10")]), Ok, &[]);
        expect(&tab(&[("conditions", "N18.3")]), Ok, &[]);
    }

    #[test]
    fn allergies_interactions_and_duplicates() {
        for allergy in [
            "nimesulide",
            "nsaid",
            "NSAIDs",
            "ibuprofen",
            "Aspirin",
            "acetylsalicylic acid",
            "Voltaren",
        ] {
            expect(
                &tab(&[("allergies", allergy)]),
                Reject,
                &["allergy:nimesulide.allergy"],
            );
        }
        expect(&tab(&[("allergies", "penicillin")]), Ok, &[]);
        expect(
            &tab(&[("co", "methotrexate")]),
            Warn,
            &["interaction:nimesulide.interaction.hepatotoxic"],
        );
        expect(
            &tab(&[("co", "Valproic acid; amlodipine")]),
            Warn,
            &["interaction:nimesulide.interaction.hepatotoxic"],
        );
        expect(
            &tab(&[("co", "ibuprofen")]),
            Warn,
            &["duplicate_therapy:nsaid_class.duplicate_therapy.nsaid"],
        );
        expect(&tab(&[("co", "metformin")]), Ok, &[]);
        let (_, found) = check(&tab(&[("co", "nimesulide")]));
        assert!(
            !found.iter().any(|f| f.starts_with("interaction")),
            "{found:?}"
        );
    }

    #[test]
    fn ointment_dose_cannot_be_verified() {
        expect(
            &[
                ("drug", "Nise"),
                ("form", "ointment"),
                ("dose", "2 g"),
                ("times", "2"),
            ],
            Warn,
            &["dose_single:nimesulide.gel.dosage.unknown"],
        );
        expect(
            &[
                ("drug", "nimesulide"),
                ("form", "gel"),
                ("dose", "2 g"),
                ("times", "2"),
                ("age", "11"),
            ],
            Reject,
            &["age:nimesulide.min_age"],
        );
    }
}

mod diclofenac {
    use super::*;

    #[test]
    fn tablets_daily_dose_boundaries() {
        expect(
            &with(&DIC_TAB, &[("dose", "50 mg"), ("times", "3")]),
            Ok,
            &[],
        );
        expect(
            &with(&DIC_TAB, &[("dose", "75.5 mg"), ("times", "2")]),
            Reject,
            &["dose_daily:diclofenac.tablet.dosage.over_15.dose_per_day.max"],
        );
        expect(
            &with(&DIC_TAB, &[("dose", "37.5 mg"), ("times", "2")]),
            Ok,
            &[],
        );
        // "The maintenance dose is 50 mg": 50-74 mg a day is info, below 50 mg a warning.
        expect(
            &with(&DIC_TAB, &[("dose", "37 mg"), ("times", "2")]),
            Ok,
            &["info dose_daily:diclofenac.tablet.dosage.over_15.dose_per_day.min"],
        );
        expect(
            &with(&DIC_TAB, &[("dose", "25 mg"), ("times", "2")]),
            Ok,
            &["info dose_daily:diclofenac.tablet.dosage.over_15.dose_per_day.min"],
        );
        expect(
            &with(&DIC_TAB, &[("dose", "24.9 mg"), ("times", "2")]),
            Warn,
            &["warn dose_daily:diclofenac.tablet.dosage.over_15.dose_per_day.min"],
        );
        expect(
            &with(&DIC_TAB, &[("dose", "50 mg"), ("times", "4")]),
            Reject,
            &["frequency:diclofenac.tablet.dosage.over_15.times_per_day.max"],
        );
        // Once a day is endorsed with a low dose only, not more than the daily minimum at once.
        expect(
            &with(&DIC_TAB, &[("dose", "75 mg"), ("times", "1")]),
            Ok,
            &["info frequency:diclofenac.tablet.dosage.over_15.times_per_day.min"],
        );
        for dose in ["100 mg", "150 mg"] {
            expect(
                &with(&DIC_TAB, &[("dose", dose), ("times", "1")]),
                Warn,
                &["warn frequency:diclofenac.tablet.dosage.over_15.times_per_day.min"],
            );
        }
        expect(
            &with(&DIC_TAB, &[("dose", "25 mg"), ("times", "1")]),
            Warn,
            &[
                "warn frequency:diclofenac.tablet.dosage.over_15.times_per_day.min",
                "warn dose_daily:diclofenac.tablet.dosage.over_15.dose_per_day.min",
            ],
        );
        expect(
            &with(
                &DIC_TAB,
                &[("strength", "50 mg"), ("dose", "1 tablet"), ("times", "3")],
            ),
            Ok,
            &["dose_single:diclofenac.tablet.strength"],
        );
        expect(
            &with(&DIC_TAB, &[("dose", "1 tablet"), ("times", "3")]),
            Invalid,
            &["input:input.dose"],
        );
    }

    #[test]
    fn tablets_ages() {
        let base = with(&DIC_TAB, &[("dose", "25 mg"), ("times", "2")]);
        expect(
            &with(&base, &[("age", "6")]),
            Warn,
            &["dose_single:diclofenac.tablet.dosage.age_not_covered"],
        );
        expect(
            &with(&base, &[("age", "5")]),
            Reject,
            &["age:diclofenac.tablet.min_age"],
        );
        expect(
            &with(
                &DIC_TAB,
                &[("dose", "50 mg"), ("times", "3"), ("age", "15")],
            ),
            Warn,
            &["age_not_covered"],
        );
        expect(
            &with(
                &DIC_TAB,
                &[("dose", "50 mg"), ("times", "3"), ("age", "16")],
            ),
            Ok,
            &[],
        );
    }

    #[test]
    fn tablets_pregnancy_and_extra_contraindications() {
        let base = with(&DIC_TAB, &[("dose", "50 mg"), ("times", "3")]);
        expect(
            &with(&base, &[("pregnant", "yes"), ("week", "27")]),
            Warn,
            &["pregnancy:diclofenac_tablet_contraindications.pregnancy.weeks_0_27"],
        );
        expect(
            &with(&base, &[("pregnant", "yes"), ("week", "28")]),
            Reject,
            &["pregnancy:diclofenac_tablet_contraindications.pregnancy.weeks_28_45"],
        );
        expect(
            &with(&base, &[("pregnant", "yes")]),
            Reject,
            &["pregnancy:diclofenac_tablet_contraindications.pregnancy.weeks_28_45"],
        );
        expect(&with(&base, &[("pregnant", "")]), Warn, &["pregnancy:"]);
        expect(
            &with(&base, &[("conditions", "lactose_intolerance")]),
            Reject,
            &["condition:diclofenac_tablet_contraindications.contraindication.lactose_intolerance"],
        );
        expect(
            &with(&base, &[("conditions", "E87.5")]),
            Reject,
            &["condition:diclofenac_tablet_contraindications.contraindication.hyperkalemia"],
        );
        expect(
            &with(&base, &[("conditions", "gi_ulcer")]),
            Reject,
            &["condition:nsaid_contraindications.contraindication.gi_ulcer"],
        );
        expect(
            &with(&base, &[("conditions", "post_cabg")]),
            Warn,
            &["condition:nsaid_cautions.contraindication.post_cabg"],
        );
        expect(
            &with(&base, &[("allergies", "ketoprofen")]),
            Reject,
            &["allergy:diclofenac.allergy"],
        );
        expect(
            &with(&base, &[("co", "naproxen")]),
            Warn,
            &["duplicate_therapy:nsaid_class.duplicate_therapy.nsaid"],
        );
    }

    #[test]
    fn suppositories() {
        expect(
            &with(&DIC_SUP, &[("dose", "50 mg"), ("times", "3")]),
            Ok,
            &[],
        );
        expect(
            &with(
                &DIC_SUP,
                &[("dose", "50 mg"), ("times", "2"), ("age", "14")],
            ),
            Ok,
            &[],
        );
        expect(
            &with(
                &DIC_SUP,
                &[("dose", "51 mg"), ("times", "2"), ("age", "14")],
            ),
            Reject,
            &["dose_single:diclofenac.suppository.dosage.children.dose_per_administration.max"],
        );
        expect(
            &with(
                &DIC_SUP,
                &[("dose", "50 mg"), ("times", "2"), ("age", "13")],
            ),
            Reject,
            &["age:diclofenac.suppository.min_age"],
        );
        expect(
            &with(&DIC_SUP, &[("dose", "75 mg"), ("times", "2")]),
            Ok,
            &[],
        );
        expect(
            &with(&DIC_SUP, &[("dose", "76 mg"), ("times", "2")]),
            Reject,
            &["dose_daily:diclofenac.suppository.dosage.adults.dose_per_day.max"],
        );
        expect(
            &with(&DIC_SUP, &[("dose", "49 mg"), ("times", "2")]),
            Warn,
            &["dose_daily:diclofenac.suppository.dosage.adults.dose_per_day.min"],
        );
        expect(
            &with(
                &DIC_SUP,
                &[
                    ("strength", "50 mg"),
                    ("dose", "1 suppository"),
                    ("times", "3"),
                ],
            ),
            Ok,
            &[],
        );
        let base = with(&DIC_SUP, &[("dose", "50 mg"), ("times", "3")]);
        expect(
            &with(&base, &[("conditions", "proctitis")]),
            Reject,
            &["condition:diclofenac.suppository.contraindication.proctitis"],
        );
        expect(
            &with(&base, &[("conditions", "lactose_intolerance")]),
            Reject,
            &["lactose_intolerance"],
        );
        expect(
            &with(&base, &[("pregnant", "yes"), ("week", "28")]),
            Reject,
            &["weeks_28_45"],
        );
    }

    #[test]
    fn injection() {
        let ok = with(
            &DIC_INJ,
            &[("dose", "75 mg"), ("times", "2"), ("days", "2")],
        );
        expect(&ok, Ok, &[]);
        expect(
            &with(&DIC_INJ, &[("dose", "3 ml"), ("times", "2"), ("days", "2")]),
            Ok,
            &[],
        );
        expect(
            &with(
                &DIC_INJ,
                &[("dose", "1 ampoule"), ("times", "2"), ("days", "2")],
            ),
            Ok,
            &[],
        );
        expect(
            &with(
                &DIC_INJ,
                &[
                    ("strength", "75 mg/3 ml"),
                    ("dose", "3.04 ml"),
                    ("times", "2"),
                    ("days", "2"),
                ],
            ),
            Reject,
            &["dose_single:diclofenac.injection.dosage.dose_per_administration.max"],
        );
        expect(
            &with(
                &DIC_INJ,
                &[("dose", "76 mg"), ("times", "2"), ("days", "2")],
            ),
            Reject,
            &["dose_per_administration.max"],
        );
        expect(
            &with(
                &DIC_INJ,
                &[("dose", "74 mg"), ("times", "2"), ("days", "2")],
            ),
            Warn,
            &["dose_per_administration.min"],
        );
        expect(
            &with(
                &DIC_INJ,
                &[("dose", "75 mg"), ("times", "3"), ("days", "2")],
            ),
            Reject,
            &["frequency:diclofenac.injection.dosage.times_per_day.max"],
        );
        expect(
            &with(
                &DIC_INJ,
                &[("dose", "75 mg"), ("times", "2"), ("days", "3")],
            ),
            Reject,
            &["duration:diclofenac.injection.dosage.max_duration_days"],
        );
        expect(
            &with(&DIC_INJ, &[("dose", "75 mg"), ("times", "2")]),
            Warn,
            &["duration:diclofenac.injection.dosage.max_duration_days"],
        );
        expect(&with(&ok, &[("age", "15")]), Ok, &[]);
        expect(
            &with(&ok, &[("age", "14")]),
            Reject,
            &["age:diclofenac.injection.min_age"],
        );
        expect(
            &with(&ok, &[("pregnant", "yes"), ("week", "0")]),
            Reject,
            &["pregnancy:diclofenac.injection.pregnancy.weeks_0_45"],
        );
        expect(
            &with(&ok, &[("breastfeeding", "yes")]),
            Reject,
            &["breastfeeding:diclofenac.injection.breastfeeding"],
        );
        expect(
            &with(&ok, &[("breastfeeding", "unknown")]),
            Warn,
            &["breastfeeding:diclofenac.injection.breastfeeding"],
        );
        for c in ["gi_ulcer", "hematopoietic_disorder", "aspirin_asthma"] {
            expect(
                &with(&ok, &[("conditions", c)]),
                Reject,
                &[&format!(
                    "condition:diclofenac.injection.contraindication.{c}"
                )],
            );
        }
        expect(&with(&ok, &[("conditions", "bronchial_asthma")]), Ok, &[]);
        expect(
            &with(
                &DIC_INJ,
                &[
                    ("dose", "75 mg"),
                    ("times", "2"),
                    ("days", "2"),
                    ("strength", "25 mg/ml"),
                    ("dose", "3 ml"),
                ],
            ),
            Ok,
            &["dose_single:diclofenac.injection.strength"],
        );
    }

    #[test]
    fn gel_and_voltaren() {
        let ok = with(&DIC_GEL, &[("dose", "2-4 g"), ("times", "3")]);
        expect(
            &ok,
            Ok,
            &["administration:diclofenac.gel.administration.intact_skin"],
        );
        expect(
            &with(&DIC_GEL, &[("dose", "4.1 g"), ("times", "3")]),
            Reject,
            &["dose_single:diclofenac.gel.dosage.dose_per_administration.max"],
        );
        expect(
            &with(&DIC_GEL, &[("dose", "1.9 g"), ("times", "3")]),
            Warn,
            &["dose_per_administration.min"],
        );
        expect(&with(&DIC_GEL, &[("dose", "2 g"), ("times", "4")]), Ok, &[]);
        expect(
            &with(&DIC_GEL, &[("dose", "2 g"), ("times", "5")]),
            Reject,
            &["frequency:diclofenac.gel.dosage.times_per_day.max"],
        );
        expect(
            &with(&DIC_GEL, &[("dose", "2 g"), ("times", "2")]),
            Warn,
            &["times_per_day.min"],
        );
        expect(
            &with(&DIC_GEL, &[("dose", "10 cm"), ("times", "3")]),
            Invalid,
            &["input:input.dose"],
        );
        expect(&with(&ok, &[("age", "6")]), Ok, &[]);
        expect(
            &with(&ok, &[("age", "5")]),
            Reject,
            &["age:diclofenac.gel.min_age"],
        );
        let voltaren = [
            ("drug", "Voltaren"),
            ("form", "gel"),
            ("dose", "2 g"),
            ("times", "3"),
        ];
        expect(&with(&voltaren, &[("age", "12")]), Ok, &[]);
        expect(
            &with(&voltaren, &[("age", "11")]),
            Reject,
            &["age:diclofenac.voltaren.gel.min_age"],
        );
        expect(
            &with(
                &[
                    ("drug", "Voltaren"),
                    ("form", "tablet"),
                    ("dose", "50 mg"),
                    ("times", "2"),
                ],
                &[("age", "40")],
            ),
            Ok,
            &[],
        );
        // "The last 3 months": weeks 24-27 are the warn band between the readings.
        expect(&with(&ok, &[("pregnant", "yes"), ("week", "23")]), Ok, &[]);
        for week in ["24", "27"] {
            expect(
                &with(&ok, &[("pregnant", "yes"), ("week", week)]),
                Warn,
                &["pregnancy:diclofenac.gel.pregnancy.weeks_24_27"],
            );
        }
        expect(
            &with(&ok, &[("pregnant", "yes"), ("week", "28")]),
            Reject,
            &["pregnancy:diclofenac.gel.pregnancy.weeks_28_45"],
        );
        expect(
            &with(&ok, &[("conditions", "aspirin_asthma")]),
            Reject,
            &["condition:diclofenac.gel.contraindication.aspirin_asthma"],
        );
        expect(
            &with(&ok, &[("conditions", "damaged_skin")]),
            Reject,
            &["condition:diclofenac.gel.contraindication.damaged_skin"],
        );
        expect(&with(&ok, &[("conditions", "gi_ulcer")]), Ok, &[]);
        // Topical NSAIDs alongside another NSAID: an info only.
        expect(
            &with(&ok, &[("co", "ibuprofen")]),
            Ok,
            &["duplicate_therapy:nsaid_class.duplicate_therapy.nsaid"],
        );
    }
}

mod indomethacin {
    use super::*;

    #[test]
    fn tablets() {
        let ok = with(&IND_TAB, &[("dose", "25 mg"), ("times", "3")]);
        expect(
            &ok,
            Ok,
            &["administration:indomethacin.tablet.administration.with_meals"],
        );
        expect(
            &with(&IND_TAB, &[("dose", "100 mg"), ("times", "2")]),
            Ok,
            &[],
        );
        expect(
            &with(&IND_TAB, &[("dose", "67 mg"), ("times", "3")]),
            Reject,
            &["dose_daily:indomethacin.tablet.dosage.dose_per_day.max"],
        );
        expect(
            &with(&IND_TAB, &[("dose", "24 mg"), ("times", "2")]),
            Warn,
            &["dose_single:indomethacin.tablet.dosage.dose_per_administration.min"],
        );
        expect(
            &with(&IND_TAB, &[("dose", "25 mg"), ("times", "4")]),
            Reject,
            &["frequency:"],
        );
        expect(
            &with(&IND_TAB, &[("dose", "25 mg"), ("times", "1")]),
            Warn,
            &["frequency:"],
        );
        expect(&with(&ok, &[("age", "14")]), Ok, &[]);
        expect(
            &with(&ok, &[("age", "13")]),
            Reject,
            &["age:indomethacin_systemic_contraindications.min_age"],
        );
        expect(
            &with(&ok, &[("pregnant", "yes"), ("week", "1")]),
            Reject,
            &["pregnancy:indomethacin_systemic_contraindications.pregnancy.weeks_0_45"],
        );
        expect(
            &with(&ok, &[("breastfeeding", "yes")]),
            Reject,
            &["breastfeeding:indomethacin_systemic_contraindications.breastfeeding"],
        );
        expect(
            &with(&ok, &[("conditions", "Q21.0")]),
            Reject,
            &[
                "condition:indomethacin_systemic_contraindications.contraindication.congenital_heart_defect",
            ],
        );
        expect(
            &with(&ok, &[("conditions", "nasal_polyposis")]),
            Reject,
            &["nsaid_contraindications.contraindication.nasal_polyposis"],
        );
        expect(
            &with(&ok, &[("allergies", "celecoxib")]),
            Reject,
            &["allergy:indomethacin.allergy"],
        );
    }

    #[test]
    fn suppositories_two_tier_daily_maximum() {
        expect(
            &with(&IND_SUP, &[("dose", "50 mg"), ("times", "3")]),
            Ok,
            &["administration:indomethacin.suppository.administration.rectal"],
        );
        expect(
            &with(&IND_SUP, &[("dose", "100 mg"), ("times", "1")]),
            Ok,
            &[],
        );
        expect(
            &with(&IND_SUP, &[("dose", "100 mg"), ("times", "2")]),
            Warn,
            &["dose_daily:indomethacin.suppository.dosage.dose_per_day.usual_max"],
        );
        expect(
            &with(&IND_SUP, &[("dose", "75 mg"), ("times", "2")]),
            Ok,
            &[],
        );
        expect(
            &with(&IND_SUP, &[("dose", "100 mg"), ("times", "3")]),
            Reject,
            &["dose_daily:indomethacin.suppository.dosage.dose_per_day.max"],
        );
        expect(
            &with(&IND_SUP, &[("dose", "101 mg"), ("times", "1")]),
            Reject,
            &["dose_single:indomethacin.suppository.dosage.dose_per_administration.max"],
        );
        expect(
            &with(&IND_SUP, &[("dose", "50 mg"), ("times", "4")]),
            Reject,
            &["frequency:indomethacin.suppository.dosage.times_per_day.max"],
        );
        expect(
            &with(
                &IND_SUP,
                &[
                    ("strength", "100 mg"),
                    ("dose", "1 suppository"),
                    ("times", "1"),
                ],
            ),
            Ok,
            &[],
        );
        let ok = with(&IND_SUP, &[("dose", "50 mg"), ("times", "3")]);
        expect(
            &with(&ok, &[("conditions", "K64.9")]),
            Reject,
            &["condition:indomethacin.suppository.contraindication.hemorrhoids"],
        );
        expect(
            &with(&ok, &[("conditions", "I84.2")]),
            Reject,
            &["hemorrhoids"],
        );
        expect(
            &with(&ok, &[("conditions", "proctitis")]),
            Reject,
            &["condition:indomethacin.suppository.contraindication.proctitis"],
        );
        expect(
            &with(&ok, &[("conditions", "K62.5")]),
            Reject,
            &["condition:indomethacin.suppository.contraindication.rectal_bleeding"],
        );
        expect(&with(&ok, &[("age", "13")]), Reject, &["age:"]);
    }

    #[test]
    fn ointment_by_strength() {
        let ten = with(&IND_GEL, &[("strength", "10%"), ("dose", "10 cm")]);
        expect(&with(&ten, &[("times", "3")]), Ok, &[]);
        expect(
            &with(&ten, &[("times", "4")]),
            Reject,
            &["frequency:indomethacin.gel.dosage.10_percent.times_per_day.max"],
        );
        expect(
            &with(&ten, &[("times", "1")]),
            Warn,
            &["frequency:indomethacin.gel.dosage.10_percent.times_per_day.min"],
        );
        let five = with(&IND_GEL, &[("strength", "5%"), ("dose", "10 cm")]);
        expect(&with(&five, &[("times", "4")]), Ok, &[]);
        expect(
            &with(&five, &[("times", "5")]),
            Reject,
            &["frequency:indomethacin.gel.dosage.5_percent.times_per_day.max"],
        );
        expect(
            &with(&five, &[("times", "2")]),
            Warn,
            &["frequency:indomethacin.gel.dosage.5_percent.times_per_day.min"],
        );
        // Unknown strength: the strictest of both.
        expect(
            &with(&IND_GEL, &[("dose", "10 cm"), ("times", "4")]),
            Reject,
            &["10_percent.times_per_day.max"],
        );
        expect(
            &with(&IND_GEL, &[("dose", "10 cm"), ("times", "2")]),
            Warn,
            &["5_percent.times_per_day.min"],
        );
        expect(
            &with(&IND_GEL, &[("dose", "10 cm"), ("times", "3")]),
            Ok,
            &["dose_single:indomethacin.gel.dosage.strength_not_given"],
        );
        expect(
            &with(
                &IND_GEL,
                &[("strength", "5%"), ("dose", "20 cm"), ("times", "3")],
            ),
            Ok,
            &[],
        );
        expect(
            &with(
                &IND_GEL,
                &[("strength", "5%"), ("dose", "21 cm"), ("times", "3")],
            ),
            Reject,
            &["dose_per_administration.max"],
        );
        expect(
            &with(
                &IND_GEL,
                &[("strength", "5%"), ("dose", "40 mm"), ("times", "3")],
            ),
            Ok,
            &[],
        );
        expect(
            &with(
                &IND_GEL,
                &[("strength", "5%"), ("dose", "3 cm"), ("times", "3")],
            ),
            Warn,
            &["dose_per_administration.min"],
        );
        let ok = with(&five, &[("times", "3")]);
        expect(&with(&ok, &[("age", "1")]), Ok, &[]);
        expect(
            &with(&ok, &[("age", "0")]),
            Reject,
            &["age:indomethacin.gel.min_age"],
        );
        // "Since the 7th month": six months are 26 weeks; weeks 24-25 are a warn band.
        expect(&with(&ok, &[("pregnant", "yes"), ("week", "23")]), Ok, &[]);
        for week in ["24", "25"] {
            expect(
                &with(&ok, &[("pregnant", "yes"), ("week", week)]),
                Warn,
                &["pregnancy:indomethacin.gel.pregnancy.weeks_24_25"],
            );
        }
        for week in ["26", "27", "28"] {
            expect(
                &with(&ok, &[("pregnant", "yes"), ("week", week)]),
                Reject,
                &["pregnancy:indomethacin.pregnancy.weeks_26_45"],
            );
        }
        expect(
            &with(&ok, &[("conditions", "damaged_skin")]),
            Reject,
            &["condition:indomethacin.gel.contraindication.damaged_skin"],
        );
        expect(
            &with(&ok, &[("conditions", "S81.0")]),
            Reject,
            &["damaged_skin"],
        );
        expect(&with(&ok, &[("conditions", "bronchial_asthma")]), Ok, &[]);
    }
}

mod input {
    use super::*;

    const BASE: [(&str, &str); 4] = [
        ("drug", "diclofenac"),
        ("form", "tablet"),
        ("dose", "50 mg"),
        ("times", "3"),
    ];

    #[test]
    fn malformed_fields_are_invalid_and_named() {
        for (field, value, rule) in [
            ("dose", "-5 mg", "input.dose"),
            ("dose", "0 mg", "input.dose"),
            ("dose", "fifty mg", "input.dose"),
            ("dose", "50", "input.dose"),
            ("dose", "99999999999999999999999999999 mg", "input.dose"),
            ("dose", "50 ml", "input.dose"),
            ("dose", "2 suppositories", "input.dose"),
            ("times", "0", "input.times_per_day"),
            ("times", "two", "input.times_per_day"),
            ("times", "1e9", "input.times_per_day"),
            ("days", "0", "input.duration_days"),
            ("age", "131", "input.age"),
            ("age", "forty", "input.age"),
            ("age", "", "input.age"),
            ("birth", "2030-01-01", "input.age"),
            ("birth", "2023-02-30", "input.age"),
            ("date", "24/11/2026", "input.date"),
            ("pregnant", "maybe", "input.pregnant"),
            ("week", "46", "input.gestational_week"),
            ("breastfeeding", "sometimes", "input.breastfeeding"),
            ("conditions", "gi_ulcr", "input.conditions"),
            ("conditions", "stomach ache", "input.conditions"),
            ("drug", "diclofenak", "input.drug"),
            ("drug", "paracetamol", "input.drug"),
            ("form", "syrup", "input.form"),
            ("strength", "lots", "input.strength"),
        ] {
            expect(
                &with(&BASE, &[(field, value)]),
                Invalid,
                &[&format!("input:{rule}")],
            );
        }
    }

    #[test]
    fn a_range_is_checked_at_its_top_against_maximums_and_its_low_end_against_minimums() {
        let gel = [("drug", "diclofenac"), ("form", "gel"), ("times", "3")];
        expect(&with(&gel, &[("dose", "2-4 g")]), Ok, &[]);
        expect(
            &with(&gel, &[("dose", "0.5-4 g")]),
            Warn,
            &["dose_single:diclofenac.gel.dosage.dose_per_administration.min"],
        );
        expect(
            &with(&gel, &[("dose", "2-5 g")]),
            Reject,
            &["dose_single:diclofenac.gel.dosage.dose_per_administration.max"],
        );
    }

    #[test]
    fn a_condition_both_cautioned_and_contraindicated_is_reported_once() {
        let (verdict, found) = check(&with(&BASE, &[("conditions", "hyperkalemia")]));
        assert_eq!(verdict, Reject);
        let hits: Vec<&String> = found
            .iter()
            .filter(|f| f.contains("hyperkalemia"))
            .collect();
        assert_eq!(
            hits,
            ["reject condition:diclofenac_tablet_contraindications.contraindication.hyperkalemia"]
        );
    }

    #[test]
    fn birth_date_wins_over_an_age_within_a_year_of_it() {
        expect(
            &with(&BASE, &[("age", ""), ("birth", "2022-01-01")]),
            Reject,
            &["age:diclofenac.tablet.min_age"],
        );
        expect(
            &with(&BASE, &[("age", "4"), ("birth", "2022-01-01")]),
            Reject,
            &["age:diclofenac.tablet.min_age"],
        );
    }

    #[test]
    fn huge_counts_do_not_overflow() {
        expect(
            &with(&BASE, &[("dose", "999999 mg"), ("times", "1000")]),
            Reject,
            &["dose_daily"],
        );
    }
}

/// ICD-10 codes on the edges of a condition, and classes that are easy to get wrong.
mod vocabulary_edges {
    use super::*;

    #[test]
    fn condition_codes_mean_what_the_reference_means() {
        let nim = with(&NIM, &[("dose", "100 mg"), ("times", "2")]);
        // Thrombophilias clot rather than bleed.
        expect(&with(&nim, &[("conditions", "D68.5")]), Ok, &[]);
        expect(
            &with(&nim, &[("conditions", "D68.0")]),
            Reject,
            &["bleeding_disorder"],
        );
        // Erosive gastritis and oesophageal ulcers are erosions and ulcers of the GI tract.
        expect(
            &with(&nim, &[("conditions", "K29.0")]),
            Reject,
            &["gi_ulcer"],
        );
        expect(
            &with(&nim, &[("conditions", "K22.1")]),
            Reject,
            &["gi_ulcer"],
        );
        expect(
            &with(&nim, &[("conditions", "I85.0")]),
            Reject,
            &["active_bleeding"],
        );
        // Great-vein anomalies are not heart defects.
        let ind = with(&IND_TAB, &[("dose", "25 mg"), ("times", "3")]);
        expect(&with(&ind, &[("conditions", "Q26.5")]), Ok, &[]);
        expect(
            &with(&ind, &[("conditions", "Q25.0")]),
            Reject,
            &["congenital_heart_defect"],
        );
        // A bruise leaves the skin intact; an abrasion does not.
        let gel = with(
            &IND_GEL,
            &[("strength", "5%"), ("dose", "10 cm"), ("times", "3")],
        );
        expect(&with(&gel, &[("conditions", "S80.0")]), Ok, &[]);
        expect(
            &with(&gel, &[("conditions", "S80.8")]),
            Reject,
            &["damaged_skin"],
        );
    }

    #[test]
    fn reviewed_code_lists_at_their_edges() {
        let nim = with(&NIM, &[("dose", "100 mg"), ("times", "2")]);
        // Mallory-Weiss laceration-haemorrhage and CM's "with bleeding" codes are GI bleeding.
        for code in ["K22.6", "K57.31", "K29.71", "K31.811"] {
            expect(
                &with(&nim, &[("conditions", code)]),
                Reject,
                &["reject condition:nsaid_contraindications.contraindication.gi_bleeding"],
            );
        }
        // Diverticulosis without bleeding is not.
        expect(&with(&nim, &[("conditions", "K57.30")]), Ok, &[]);
        // CM K29.00 (acute gastritis without bleeding): an erosion, not a bleed.
        let (_, found) = check(&with(&nim, &[("conditions", "K29.00")]));
        assert!(found.iter().any(|f| f.contains("gi_ulcer")), "{found:?}");
        assert!(
            !found.iter().any(|f| f.contains("gi_bleeding")),
            "{found:?}"
        );
        // Scimitar syndrome (Q26.8) is an anomalous pulmonary venous connection; a persistent
        // left superior vena cava (Q26.1) is not a heart defect.
        let ind = with(&IND_TAB, &[("dose", "25 mg"), ("times", "3")]);
        expect(
            &with(&ind, &[("conditions", "Q26.8")]),
            Reject,
            &["congenital_heart_defect"],
        );
        expect(&with(&ind, &[("conditions", "Q26.1")]), Ok, &[]);
        // CM's thigh and knee abrasions, venous leg ulcers and frostbite are damaged skin;
        // CM's head contusion (S00.83) is not.
        let gel = with(
            &IND_GEL,
            &[("strength", "5%"), ("dose", "10 cm"), ("times", "3")],
        );
        for code in ["S70.311A", "S80.211A", "I83.029", "T33.8"] {
            expect(
                &with(&gel, &[("conditions", code)]),
                Reject,
                &["damaged_skin"],
            );
        }
        expect(&with(&gel, &[("conditions", "S00.83XA")]), Ok, &[]);
    }

    #[test]
    fn paracetamol_is_hepatotoxic_and_emulgel_is_voltaren() {
        let nim = with(&NIM, &[("dose", "100 mg"), ("times", "2")]);
        expect(
            &with(&nim, &[("co", "paracetamol")]),
            Warn,
            &["interaction:nimesulide.interaction.hepatotoxic"],
        );
        let emulgel = [
            ("drug", "Voltaren Emulgel"),
            ("form", "gel"),
            ("dose", "2 g"),
            ("times", "3"),
            ("age", "10"),
        ];
        expect(&emulgel, Reject, &["age:diclofenac.voltaren.gel.min_age"]);
        expect(
            &[
                ("drug", "diclofenac"),
                ("form", "emulgel"),
                ("dose", "2 g"),
                ("times", "3"),
            ],
            Invalid,
            &["input:input.form"],
        );
    }
}

mod typos {
    use super::*;

    #[test]
    fn a_near_miss_allergy_or_co_medication_cannot_be_verified() {
        let base = with(&DIC_TAB, &[("dose", "50 mg"), ("times", "3")]);
        // A formulary drug misspelt at one edit is that drug; another near miss is a warning.
        expect(
            &with(&base, &[("allergies", "diclofenc")]),
            Reject,
            &["allergy:diclofenac.allergy"],
        );
        expect(
            &with(&base, &[("allergies", "ibuprofn")]),
            Warn,
            &["allergy:input.allergies"],
        );
        expect(
            &with(&base, &[("co", "ibuprofn")]),
            Warn,
            &["interaction:input.co_medications"],
        );
        // Names far from any known one are other drugs, not typos.
        expect(
            &with(
                &base,
                &[("allergies", "penicillin"), ("co", "amlodipine;metformin")],
            ),
            Ok,
            &[],
        );
    }
}

/// Forms the reference does not name, checked by an equivalent form's rules, and brands or
/// product names ordered in a form they are not made in.
mod product {
    use super::*;

    fn no_finding(fields: &[(&str, &str)], fragment: &str) {
        let (_, found) = check(fields);
        assert!(
            !found.iter().any(|f| f.contains(fragment)),
            "no `{fragment}` finding expected for {fields:?}; got {found:#?}"
        );
    }

    #[test]
    fn capsules_are_checked_by_the_tablet_rules_with_an_info() {
        let caps = [
            ("drug", "indomethacin"),
            ("form", "capsules"),
            ("strength", "25 mg"),
        ];
        expect(
            &with(&caps, &[("dose", "1 capsule"), ("times", "3")]),
            Ok,
            &["info product:indomethacin.tablet.equivalent.capsule"],
        );
        // The tablets' daily maximum of 200 mg holds for capsules.
        expect(
            &with(&caps, &[("dose", "3 capsules"), ("times", "3")]),
            Reject,
            &["reject dose_daily:indomethacin.tablet.dosage.dose_per_day.max"],
        );
        expect(
            &with(&caps, &[("dose", "2 capsules"), ("times", "4")]),
            Reject,
            &["reject frequency:indomethacin.tablet.dosage.times_per_day.max"],
        );
        expect(
            &with(
                &[("drug", "diclofenac"), ("form", "капсулы")],
                &[("dose", "75 mg"), ("times", "2")],
            ),
            Ok,
            &["info product:diclofenac.tablet.equivalent.capsule"],
        );
        no_finding(
            &with(&IND_TAB, &[("dose", "25 mg"), ("times", "3")]),
            " product:",
        );
    }

    #[test]
    fn granules_count_sachets_at_the_tablet_strength() {
        let granules = [("drug", "nimesulide"), ("form", "granules")];
        expect(
            &with(&granules, &[("dose", "1 sachet"), ("times", "2")]),
            Ok,
            &["info product:nimesulide.tablet.equivalent.granules"],
        );
        expect(
            &with(&granules, &[("dose", "2 sachets"), ("times", "2")]),
            Reject,
            &["reject dose_single:nimesulide.tablet.dosage.dose_per_administration.max"],
        );
    }

    #[test]
    fn a_product_name_in_another_form_is_a_warning() {
        expect(
            &with(
                &[("drug", "Voltaren gel"), ("form", "suppository")],
                &[("dose", "50 mg"), ("times", "2")],
            ),
            Warn,
            &["warn product:diclofenac.voltaren.form"],
        );
        expect(
            &with(
                &[("drug", "Диклак-гель"), ("form", "tablet")],
                &[("dose", "50 mg"), ("times", "2")],
            ),
            Warn,
            &["warn product:diclofenac.diklak.form"],
        );
        // The brand alone is made in every form; the product name in its own form is quiet.
        no_finding(
            &with(
                &[("drug", "Voltaren"), ("form", "suppository")],
                &[("dose", "50 mg"), ("times", "2")],
            ),
            " product:",
        );
        no_finding(
            &with(
                &[("drug", "Voltaren gel"), ("form", "gel")],
                &[("dose", "2 g"), ("times", "3")],
            ),
            " product:",
        );
    }

    #[test]
    fn a_product_name_stands_for_a_missing_form() {
        expect(
            &with(
                &[("drug", "Voltaren Emulgel")],
                &[("dose", "2 g"), ("times", "3")],
            ),
            Ok,
            &["info administration:diclofenac.gel.administration.intact_skin"],
        );
        expect(
            &with(&[("drug", "Voltaren")], &[("dose", "2 g"), ("times", "3")]),
            Invalid,
            &["input:input.form"],
        );
    }

    #[test]
    fn a_brand_made_in_one_form_only_is_a_warning_in_another() {
        expect(
            &with(
                &[("drug", "Nimesil"), ("form", "tablet")],
                &[("dose", "100 mg"), ("times", "2")],
            ),
            Warn,
            &["warn product:nimesulide.nimesil.form"],
        );
        no_finding(
            &with(
                &[("drug", "Nimesil"), ("form", "sachet")],
                &[("dose", "1 sachet"), ("times", "2")],
            ),
            "nimesil.form",
        );
        no_finding(
            &with(
                &[("drug", "Aulin"), ("form", "tablet")],
                &[("dose", "100 mg"), ("times", "2")],
            ),
            " product:",
        );
    }
}

/// Formulary round 2: each kind of disagreement an independent pharmacist found, at its edge.
mod round_two {
    use super::*;

    fn nim() -> Vec<(&'static str, &'static str)> {
        with(&NIM, &[("dose", "100 mg"), ("times", "2")])
    }

    fn dic() -> Vec<(&'static str, &'static str)> {
        with(&DIC_TAB, &[("dose", "50 mg"), ("times", "3")])
    }

    #[test]
    fn hepatotoxic_co_medications_by_generic_salt_and_brand() {
        for name in [
            "rifampicin",
            "pyrazinamide",
            "Augmentin",
            "azathioprine",
            "terbinafine",
            "carbamazepine",
            "nitrofurantoin",
            "allopurinol",
            "Tylenol",
            "Depakine",
            "Depakote",
            "valproate",
        ] {
            expect(
                &with(&nim(), &[("co", name)]),
                Warn,
                &["warn interaction:nimesulide.interaction.hepatotoxic"],
            );
        }
        // A drug outside the class is no interaction.
        let (_, found) = check(&with(&nim(), &[("co", "amlodipine")]));
        assert!(
            !found.iter().any(|f| f.contains("hepatotoxic")),
            "{found:?}"
        );
    }

    #[test]
    fn a_formulary_drug_as_co_medication_brings_its_own_interaction_rules() {
        let hepatotoxic = "warn interaction:nimesulide.interaction.hepatotoxic";
        let diclofenac = with(&DIC_TAB, &[("dose", "50 mg"), ("times", "2")]);
        // Diclofenac is one of the hepatotoxic drugs that nimesulide's rule names, by any
        // of nimesulide's names or products.
        for name in ["nimesulide", "Nise", "nimesulide 100 mg"] {
            let (_, found) = check(&with(&diclofenac, &[("co", name)]));
            assert!(found.iter().any(|f| f == hepatotoxic), "{name}: {found:?}");
        }
        // When either drug is a topical form, the interaction is only advice (low systemic
        // absorption), as a duplicate is: a nimesulide gel beside diclofenac, a diclofenac gel
        // beside nimesulide, or nimesulide beside a diclofenac gel.
        let advice = "info interaction:nimesulide.interaction.hepatotoxic";
        let (_, found) = check(&with(&diclofenac, &[("co", "Nise gel")]));
        assert!(found.iter().any(|f| f == advice), "{found:?}");
        let gel = with(&DIC_GEL, &[("dose", "2 g"), ("times", "3")]);
        let (_, found) = check(&with(&gel, &[("co", "nimesulide")]));
        assert!(found.iter().any(|f| f == advice), "{found:?}");
        let (_, found) = check(&with(&nim(), &[("co", "Voltaren gel")]));
        assert!(found.iter().any(|f| f == advice), "{found:?}");
        // Indomethacin is not, so only the duplicate therapy is found.
        let indomethacin = with(&IND_TAB, &[("dose", "25 mg"), ("times", "2")]);
        let (_, found) = check(&with(&indomethacin, &[("co", "nimesulide")]));
        assert!(
            !found.iter().any(|f| f.contains("interaction")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|f| f.contains("duplicate_therapy")),
            "{found:?}"
        );
    }

    #[test]
    fn co_medications_written_with_strength_salt_form_or_other_separators() {
        let hepatotoxic = "warn interaction:nimesulide.interaction.hepatotoxic";
        let duplicate = "warn duplicate_therapy:nsaid_class.duplicate_therapy.nsaid";
        for list in [
            "methotrexate 15 mg weekly",
            "methotrexate sodium",
            "Methotrexate 2.5 MG Oral Tablet",
            "omeprazole, methotrexate",
            "omeprazole|methotrexate",
            "omeprazole\nmethotrexate",
            "methotrexate 2,5 mg",
        ] {
            expect(&with(&nim(), &[("co", list)]), Warn, &[hepatotoxic]);
        }
        for list in ["ibuprofen 400", "amlodipine, Ibuprofen 400 MG Oral Tablet"] {
            expect(
                &with(&nim(), &[("co", list)]),
                Warn,
                &[duplicate, hepatotoxic],
            );
        }
        // A drug outside every class stays quiet, whatever is written after it.
        expect(
            &with(&nim(), &[("co", "amlodipine 5 mg, omeprazole 20 mg")]),
            Ok,
            &[],
        );
    }

    #[test]
    fn an_allergy_list_that_says_none_is_empty_and_not_a_name() {
        let dic = with(&DIC_TAB, &[("dose", "50 mg"), ("times", "3")]);
        for none in ["NKDA", "nka", "None.", "no known drug allergies", "Нет"] {
            expect(&with(&dic, &[("allergies", none)]), Ok, &[]);
        }
        // `n/a` may mean "not recorded": it is screened as a name, and cannot be.
        expect(
            &with(&dic, &[("allergies", "n/a")]),
            Warn,
            &["warn allergy:input.allergies"],
        );
        expect(
            &with(&dic, &[("allergies", "NKDA; ibuprofen")]),
            Reject,
            &["reject allergy:diclofenac.allergy"],
        );
    }

    #[test]
    fn units_as_russian_prescriptions_write_them() {
        let nim = with(&NIM, &[("strength", "100 mg"), ("times", "2")]);
        for dose in ["100 мг", "1 таблетка", "1 табл", "0,1 г", "100000 мкг"] {
            expect(&with(&nim, &[("dose", dose)]), Ok, &[]);
        }
        expect(
            &with(&nim, &[("dose", "200 мг")]),
            Reject,
            &["reject dose_single:nimesulide.tablet.dosage.dose_per_administration.max"],
        );
        let sup = with(&DIC_SUP, &[("strength", "50 mg"), ("times", "2")]);
        expect(&with(&sup, &[("dose", "1 свеча")]), Ok, &[]);
    }

    #[test]
    fn nsaid_allergies_by_brand_and_class_name() {
        let dic = with(&DIC_TAB, &[("dose", "50 mg"), ("times", "3")]);
        for name in [
            "Diklak-gel",
            "Nurofen",
            "Advil",
            "ASA",
            "Aspirin Cardio",
            "salicylates",
            "metamizole",
            "Analgin",
            "non-steroidal anti-inflammatory drugs",
            "NSAIDs",
            "НПВС",
        ] {
            expect(
                &with(&dic, &[("allergies", name)]),
                Reject,
                &["reject allergy:"],
            );
        }
        // A known allergen of another kind stays quiet; a name no vocabulary knows is a warning.
        expect(&with(&dic, &[("allergies", "penicillin")]), Ok, &[]);
        expect(
            &with(&dic, &[("allergies", "zylotrexin")]),
            Warn,
            &["warn allergy:input.allergies"],
        );
    }

    #[test]
    fn icd10_edges_by_edition() {
        let sup = with(&IND_SUP, &[("dose", "50 mg"), ("times", "2")]);
        // WHO K62.8 holds proctitis; CM K62.81 and K62.82 are not proctitis, K62.89 is.
        for code in ["K62.8", "K62.89"] {
            expect(&with(&sup, &[("conditions", code)]), Reject, &["proctitis"]);
        }
        for code in ["K62.81", "K62.82"] {
            expect(&with(&sup, &[("conditions", code)]), Ok, &[]);
        }
        // Anomalous pulmonary venous connection is a congenital heart defect.
        let tab = with(&IND_TAB, &[("dose", "25 mg"), ("times", "3")]);
        for code in ["Q26.2", "Q26.4"] {
            expect(
                &with(&tab, &[("conditions", code)]),
                Reject,
                &["congenital_heart_defect"],
            );
        }
        expect(&with(&tab, &[("conditions", "Q26.5")]), Ok, &[]);
    }

    #[test]
    fn nsaid_intolerance_excludes_every_form() {
        let ointment = with(
            &IND_GEL,
            &[("strength", "5%"), ("dose", "10 cm"), ("times", "3")],
        );
        let gel = with(&DIC_GEL, &[("dose", "2 g"), ("times", "3")]);
        for order in [&ointment, &gel] {
            for condition in ["aspirin_asthma", "aspirin asthma", "NSAID intolerance"] {
                expect(
                    &with(order, &[("conditions", condition)]),
                    Reject,
                    &["nsaid_intolerance"],
                );
            }
        }
    }

    #[test]
    fn ambiguous_pregnancy_boundaries_have_a_warn_band() {
        let ointment = with(
            &IND_GEL,
            &[("strength", "5%"), ("dose", "10 cm"), ("times", "3")],
        );
        let gel = with(&DIC_GEL, &[("dose", "2 g"), ("times", "3")]);
        // "The last 3 months" from week 28; "since the 7th month" from week 26.
        for (order, first) in [(&gel, 28), (&ointment, 26)] {
            let at = |week: u32| {
                let week: &'static str = week.to_string().leak();
                with(order, &[("pregnant", "yes"), ("week", week)])
            };
            expect(&at(23), Ok, &[]);
            expect(&at(24), Warn, &["warn pregnancy:"]);
            expect(&at(first - 1), Warn, &["warn pregnancy:"]);
            expect(&at(first), Reject, &["reject pregnancy:"]);
        }
    }

    #[test]
    fn bleeding_disorders_are_hematopoietic_for_the_injection() {
        let inj = with(
            &DIC_INJ,
            &[("dose", "75 mg"), ("times", "2"), ("days", "2")],
        );
        for condition in ["D66", "haemophilia", "D68.0", "coagulopathy"] {
            expect(
                &with(&inj, &[("conditions", condition)]),
                Reject,
                &["reject condition:diclofenac.injection.contraindication.hematopoietic_disorder"],
            );
        }
    }

    #[test]
    fn inflammatory_bowel_disease_and_a_gi_bleed_exclude_the_injection() {
        let inj = with(
            &DIC_INJ,
            &[("dose", "75 mg"), ("times", "2"), ("days", "2")],
        );
        for condition in ["K51.9", "K50.0", "ulcerative colitis", "K52.3"] {
            expect(
                &with(&inj, &[("conditions", condition)]),
                Reject,
                &["reject condition:diclofenac.injection.contraindication.ibd"],
            );
        }
        expect(
            &with(&inj, &[("conditions", "K92.2")]),
            Reject,
            &["reject condition:diclofenac.injection.contraindication.gi_bleeding"],
        );
    }

    #[test]
    fn disease_of_unknown_severity_and_an_unnamed_analgesic_allergy_warn() {
        let nim = with(&NIM, &[("dose", "100 mg"), ("times", "2")]);
        for (condition, rule) in [
            ("N18.9", "renal_disease_unstaged"),
            ("CKD", "renal_disease_unstaged"),
            ("K76.9", "hepatic_disease_unstaged"),
            ("Z88.6", "analgesic_intolerance"),
            ("Y45.9", "analgesic_intolerance"),
        ] {
            expect(&with(&nim, &[("conditions", condition)]), Warn, &[rule]);
        }
        // A stage that is not severe stays quiet.
        expect(&with(&nim, &[("conditions", "N18.3")]), Ok, &[]);
        expect(&with(&nim, &[("conditions", "CKD stage 3")]), Ok, &[]);
        let gel = with(&DIC_GEL, &[("dose", "2 g"), ("times", "3")]);
        expect(
            &with(&gel, &[("conditions", "Z88.6")]),
            Warn,
            &["diclofenac.contraindication.analgesic_intolerance"],
        );
    }

    #[test]
    fn conditions_by_their_common_names_and_coding_only_ten_codes() {
        let nim = with(&NIM, &[("dose", "100 mg"), ("times", "2")]);
        for name in [
            "von Willebrand disease",
            "thrombocytopenia",
            "factor VIII deficiency",
        ] {
            expect(
                &with(&nim, &[("conditions", name)]),
                Reject,
                &["reject condition:"],
            );
        }
        expect(
            &with(&nim, &[("conditions", "CKD stage 5")]),
            Warn,
            &["severe_renal_impairment"],
        );
        let ind = with(&IND_TAB, &[("dose", "25 mg"), ("times", "3")]);
        expect(
            &with(&ind, &[("conditions", "ventricular septal defect")]),
            Reject,
            &["congenital_heart_defect"],
        );
        let gel = with(&DIC_GEL, &[("dose", "2 g"), ("times", "3")]);
        for wound in ["open wound", "abrasion", "T14.8XXA"] {
            expect(
                &with(&gel, &[("conditions", wound)]),
                Reject,
                &["diclofenac.gel.contraindication.damaged_skin"],
            );
        }
    }

    #[test]
    fn a_birth_date_and_an_age_more_than_a_year_apart_are_invalid() {
        let nim = with(
            &NIM,
            &[("dose", "100 mg"), ("times", "2"), ("date", "2026-11-02")],
        );
        expect(
            &with(&nim, &[("birth", "1900-01-01"), ("age", "8")]),
            Invalid,
            &["invalid input:input.age"],
        );
        // A year apart: the age may have been taken on another day; the birth date is used.
        expect(
            &with(&nim, &[("birth", "1986-01-01"), ("age", "41")]),
            Ok,
            &[],
        );
        expect(
            &with(&nim, &[("birth", "1986-01-01"), ("age", "40")]),
            Ok,
            &[],
        );
        // An age of the day of the check (an export's) beside an older prescription's date.
        let older = with(
            &NIM,
            &[("dose", "100 mg"), ("times", "2"), ("date", "2024-01-15")],
        );
        expect(
            &with(&older, &[("birth", "1986-06-01"), ("age", "40")]),
            Ok,
            &[],
        );
    }

    #[test]
    fn regional_brands_of_nsaids_and_paracetamol_are_known() {
        let dic = with(&DIC_TAB, &[("dose", "50 mg"), ("times", "3")]);
        for brand in [
            "Dicloran",
            "Rapten",
            "Дикловит",
            "Клодифен",
            "Нимика",
            "Ecosprin",
            "Цитрамон",
            "Кетанов",
            "Ponstan",
            "Alka-Seltzer",
        ] {
            expect(&with(&dic, &[("co", brand)]), Warn, &["duplicate_therapy"]);
        }
        let nim = with(&NIM, &[("dose", "100 mg"), ("times", "2")]);
        for brand in ["Pacimol", "Tachipirina", "Acamol"] {
            let (verdict, found) = check(&with(&nim, &[("co", brand)]));
            assert_eq!(verdict, Warn, "{brand}: {found:?}");
            assert!(
                found.iter().any(|f| f.contains("interaction.hepatotoxic")),
                "{found:?}"
            );
            // Paracetamol is no NSAID.
            assert!(
                !found.iter().any(|f| f.contains("duplicate_therapy")),
                "{found:?}"
            );
        }
    }

    #[test]
    fn weeks_of_gestation_coded_z3a_are_the_week_and_an_earlier_week_given_disagrees() {
        let gel = with(
            &DIC_GEL,
            &[("dose", "2 g"), ("times", "3"), ("pregnant", "")],
        );
        let third = "diclofenac.gel.pregnancy.weeks_28_45";
        expect(&with(&gel, &[("conditions", "Z3A.30")]), Reject, &[third]);
        expect(&with(&gel, &[("conditions", "Z3A.10")]), Ok, &[]);
        expect(&with(&gel, &[("conditions", "Z34.0; Z3A.10")]), Ok, &[]);
        expect(
            &with(&gel, &[("conditions", "Z3A.30"), ("week", "10")]),
            Invalid,
            &["invalid input:input.gestational_week"],
        );
        // A later week than the code's: the code is older.
        expect(
            &with(&gel, &[("conditions", "Z3A.30"), ("week", "32")]),
            Reject,
            &[third],
        );
    }

    #[test]
    fn an_ampoule_s_strength_and_a_unit_volume_that_disagree_are_invalid() {
        let inj = |strength: &'static str, volume: &'static str| {
            let base = with(
                &DIC_INJ,
                &[("dose", "1 ampoule"), ("times", "2"), ("days", "2")],
            );
            let mut rx = with(&base, &[("strength", strength)]);
            rx.push(("unit_volume", volume));
            rx
        };
        expect(
            &inj("75 mg/3 ml", "5 ml"),
            Invalid,
            &["invalid input:input.unit_volume"],
        );
        expect(&inj("75 mg/3 ml", "3 ml"), Ok, &[]);
        // A bare number is in ml, as a `unit_volume_ml` column holds it.
        expect(&inj("75 mg/3 ml", "3"), Ok, &[]);
        // A concentration per ml says nothing of the ampoule's volume.
        expect(&inj("25 mg/ml", "3 ml"), Ok, &[]);
    }

    #[test]
    fn a_gel_dose_under_a_gram_in_mg_may_be_of_the_substance_and_is_invalid() {
        let gel = with(&DIC_GEL, &[("strength", "1%"), ("times", "3")]);
        expect(
            &with(&gel, &[("dose", "80 mg")]),
            Invalid,
            &["invalid input:input.dose"],
        );
        expect(&with(&gel, &[("dose", "2000 mg")]), Ok, &[]);
        expect(&with(&gel, &[("dose", "2 g")]), Ok, &[]);
    }

    #[test]
    fn russian_and_ukrainian_names_with_case_folding() {
        expect(
            &[
                ("drug", "Найз"),
                ("form", "таблетки"),
                ("dose", "100 mg"),
                ("times", "2"),
            ],
            Ok,
            &["nimesulide.tablet"],
        );
        expect(
            &[
                ("drug", "МЕТИНДОЛ"),
                ("form", "Свечи"),
                ("dose", "50 mg"),
                ("times", "2"),
            ],
            Ok,
            &["indomethacin.suppository"],
        );
        expect(
            &[
                ("drug", "ДИКЛОФЕНАК"),
                ("form", "ампулы"),
                ("dose", "75 mg"),
                ("times", "2"),
                ("days", "2"),
            ],
            Ok,
            &["diclofenac.injection"],
        );
        expect(
            &[
                ("drug", "індометацин"),
                ("form", "мазь"),
                ("strength", "10%"),
                ("dose", "10 cm"),
                ("times", "2"),
            ],
            Ok,
            &[],
        );
    }

    #[test]
    fn conditions_by_label_and_synonym_with_suggestions() {
        let nim = nim();
        for name in [
            "asthma",
            "peptic ulcer",
            "Crohn's disease",
            "bronchial asthma",
            "гемофилия",
        ] {
            expect(
                &with(&nim, &[("conditions", name)]),
                Reject,
                &["reject condition:"],
            );
        }
        expect(
            &with(&nim, &[("conditions", "ulcerative colitus")]),
            Invalid,
            &["invalid input:input.conditions"],
        );
    }

    #[test]
    fn pregnancy_and_lactation_codes_among_the_conditions_count() {
        let indomethacin = with(&IND_TAB, &[("dose", "25 mg"), ("times", "3")]);
        let pregnancy = "reject pregnancy:indomethacin_systemic_contraindications.pregnancy";
        for code in ["Z34.0", "z33.1", "O09.9", "Z34", "O36.5", "O21.0", "O48"] {
            let unknown = with(&indomethacin, &[("pregnant", ""), ("conditions", code)]);
            expect(&unknown, Reject, &[pregnancy]);
            // Said not to be pregnant, with a pregnancy code: the fields disagree.
            let no = with(&indomethacin, &[("conditions", code)]);
            expect(&no, Invalid, &["invalid input:input.pregnant"]);
        }
        // Codes of conditions that may follow a delivery say nothing of a pregnancy now.
        for code in ["O24.4", "O85", "O15.2", "O99.0"] {
            let unknown = with(&indomethacin, &[("pregnant", ""), ("conditions", code)]);
            let (verdict, found) = check(&unknown);
            assert_eq!(verdict, Warn, "{code}: {found:#?}");
        }
        let lactating = with(
            &indomethacin,
            &[("breastfeeding", ""), ("conditions", "I10; Z39.1")],
        );
        expect(&lactating, Reject, &["reject breastfeeding:"]);
        expect(
            &with(&indomethacin, &[("conditions", "Z39.1")]),
            Invalid,
            &["invalid input:input.breastfeeding"],
        );
        // Russian yes and no.
        expect(
            &with(&indomethacin, &[("pregnant", "да")]),
            Reject,
            &[pregnancy],
        );
        expect(&with(&indomethacin, &[("pregnant", "Нет")]), Ok, &[]);
        // A man is not breastfeeding.
        expect(
            &with(&indomethacin, &[("sex", "male"), ("breastfeeding", "yes")]),
            Invalid,
            &["invalid input:input.sex"],
        );
    }

    #[test]
    fn names_joined_in_one_item_and_a_substance_s_other_names_are_each_read() {
        let nsaid_allergy = "reject allergy:nimesulide.allergy";
        for allergy in [
            "penicillin + ibuprofen",
            "ibuprofen+paracetamol",
            "Paracetamol/Ibuprofen",
            "paracetamol and ibuprofen",
            "latex / aspirin",
            "Penicillin (rash) / Aspirin (asthma)",
            // Another name of a class member is that member: naproxen is an NSAID.
            "naproxen sodium",
            "Naproxen Sodium 550 MG Oral Tablet",
            "Напроксен",
        ] {
            expect(
                &with(&nim(), &[("allergies", allergy)]),
                Reject,
                &[nsaid_allergy],
            );
        }
        let hepatotoxic = "warn interaction:nimesulide.interaction.hepatotoxic";
        let duplicate = "warn duplicate_therapy:nsaid_class.duplicate_therapy.nsaid";
        expect(
            &with(&nim(), &[("co", "amlodipine/methotrexate")]),
            Warn,
            &[hepatotoxic],
        );
        expect(
            &with(&nim(), &[("co", "naproxen sodium")]),
            Warn,
            &[duplicate, hepatotoxic],
        );
        // A name that holds a joint is read whole; a unit's slash joins nothing.
        expect(
            &with(&nim(), &[("co", "amoxicillin/clavulanic acid")]),
            Warn,
            &[hepatotoxic],
        );
        expect(&with(&nim(), &[("co", "metformin 500 mg/5 ml")]), Ok, &[]);
        // A reaction written after an allergen joins no second name.
        for allergy in [
            "penicillin rash/hives",
            "penicillin with rash",
            "penicillin and rash",
        ] {
            expect(&with(&nim(), &[("allergies", allergy)]), Ok, &[]);
        }
    }

    #[test]
    fn a_topical_co_medication_is_a_topical_duplicate() {
        // As for two rows, one a gel: duplicate therapy is only advice.
        for co in [
            "Voltaren gel",
            "diclofenac gel 1%",
            "Nise gel",
            "diclofenac diethylamine gel",
            "diclofenac 50 mg gel",
            "diclofenac patch",
        ] {
            let (_, found) = check(&with(&nim(), &[("co", co)]));
            assert!(
                !found
                    .iter()
                    .any(|f| f.starts_with("warn duplicate_therapy")),
                "{co}: {found:?}"
            );
        }
        // Named with a systemic form as well, it acts on the whole body.
        for co in [
            "diclofenac 50 mg tablet",
            "diclofenac gel and tablets",
            "Voltaren gel/tablets",
            "diclofenac gel 1% then tablets",
            "diclofenac gel + oral",
            "diclofenac gel, tablets",
            "omeprazole + diclofenac gel and tablets",
            "Diclofenac-Teva",
            "diclofenak tablets",
            "Arthrotec 50",
        ] {
            expect(
                &with(&nim(), &[("co", co)]),
                Warn,
                &["warn duplicate_therapy:nsaid_class.duplicate_therapy.nsaid"],
            );
        }
    }

    #[test]
    fn a_dose_for_an_age_without_dosage_is_still_held_to_the_most_at_any_age() {
        let child = |dose: &'static str, times: &'static str| {
            with(&DIC_TAB, &[("dose", dose), ("times", times), ("age", "10")])
        };
        expect(
            &child("100 mg", "6"),
            Reject,
            &["reject dose_daily:diclofenac.combined_daily_max"],
        );
        // Within it, the dose still cannot be verified for the age.
        expect(
            &child("25 mg", "2"),
            Warn,
            &["warn dose_single:diclofenac.tablet.dosage.age_not_covered"],
        );
    }

    #[test]
    fn a_form_or_route_before_the_name_and_names_after_a_name_are_read() {
        let duplicate = "warn duplicate_therapy:nsaid_class.duplicate_therapy.nsaid";
        let hepatotoxic = "warn interaction:nimesulide.interaction.hepatotoxic";
        // As Indian and Russian prescriptions write them: the form first.
        for co in [
            "Tab. Diclofenac",
            "Inj. Diclofenac 75 mg",
            "oral ibuprofen",
            "табл. ибупрофен",
        ] {
            expect(
                &with(&nim(), &[("co", co)]),
                Warn,
                &[duplicate, hepatotoxic],
            );
        }
        // A topical word before the name, or any topical product of an NSAID outside the
        // formulary, is only advice.
        for co in [
            "topical diclofenac",
            "gel diclofenac",
            "ketoprofen gel 2.5%",
            "Fastum gel",
            "topical ibuprofen",
        ] {
            let (verdict, found) = check(&with(&dic(), &[("co", co)]));
            assert_eq!(verdict, Ok, "{co}: {found:?}");
            assert!(
                found
                    .iter()
                    .any(|f| f.starts_with("info duplicate_therapy")),
                "{co}: {found:?}"
            );
        }
        // Drops may be taken by mouth; a systemic word beside a topical one wins.
        for co in ["ibuprofen drops", "ibuprofen gel and tablets"] {
            expect(&with(&dic(), &[("co", co)]), Warn, &[duplicate]);
        }
        // Every name is read, not only the first.
        for allergy in [
            "penicillin (rash) ibuprofen (asthma)",
            "codeine aspirin",
            "Amoxicillin rash ibuprofen",
            "Tab. aspirin",
        ] {
            expect(
                &with(&nim(), &[("allergies", allergy)]),
                Reject,
                &["reject allergy:nimesulide.allergy"],
            );
        }
        expect(
            &with(&dic(), &[("co", "omeprazole ibuprofen")]),
            Warn,
            &[duplicate],
        );
        expect(
            &with(&nim(), &[("co", "heparin methotrexate")]),
            Warn,
            &[hepatotoxic],
        );
        expect(
            &with(&nim(), &[("co", "omeprazole 20 mg once daily")]),
            Ok,
            &[],
        );
        // A form word before a drug outside the vocabulary is no near miss of anything.
        expect(&with(&dic(), &[("co", "Cap. Omeprazole")]), Ok, &[]);
        // A spray may be nasal (systemic); a systemic form as the next item makes a topical
        // product systemic; an inhaler's `inh` is no isoniazid.
        for co in [
            "ketorolac nasal spray",
            "ketoprofen gel, tablets",
            "мелоксикам",
        ] {
            expect(&with(&dic(), &[("co", co)]), Warn, &[duplicate]);
        }
        expect(
            &with(&nim(), &[("co", "salbutamol inh 2 puffs prn")]),
            Ok,
            &[],
        );
        // Drugs outside the vocabulary with names near a new one's are no near misses of it
        // (lengths count letters: a Cyrillic name is not twice as long).
        for co in ["Flomax", "дексаметазон", "кетотифен", "табл. метформин"]
        {
            expect(&with(&dic(), &[("co", co)]), Ok, &[]);
        }
        // A reaction after a colon, or listed in brackets, is no item of its own.
        for allergy in [
            "penicillin: anaphylaxis",
            "penicillin (skin rash, swelling)",
        ] {
            expect(&with(&dic(), &[("allergies", allergy)]), Ok, &[]);
        }
        expect(
            &with(
                &dic(),
                &[("allergies", "penicillin (rash, hives), ibuprofen")],
            ),
            Reject,
            &["reject allergy:diclofenac.allergy"],
        );
    }

    #[test]
    fn more_nsaids_hepatotoxic_names_and_bleeding_codes() {
        let duplicate = "warn duplicate_therapy:nsaid_class.duplicate_therapy.nsaid";
        for co in [
            "sulindac",
            "Clinoril",
            "Voveran",
            "Flanax",
            "Feldene",
            "Zerodol",
            "Combiflam",
            "Citramon",
            "Pentalgin",
            "Neurodiclovit",
            "diflunisal",
            "acemetacin",
            "Indocap",
        ] {
            expect(&with(&dic(), &[("co", co)]), Warn, &[duplicate]);
        }
        expect(
            &with(
                &IND_TAB,
                &[("dose", "25 mg"), ("times", "3"), ("allergies", "sulindac")],
            ),
            Reject,
            &["reject allergy:indomethacin.allergy"],
        );
        for co in ["MTX", "Crocin", "Dolo 650", "Teraflu", "Rinza"] {
            expect(
                &with(&nim(), &[("co", co)]),
                Warn,
                &["warn interaction:nimesulide.interaction.hepatotoxic"],
            );
        }
        // "Any bleeding", indeterminate colitis, NSAID adverse effects: contraindications.
        for code in [
            "S06.5", "H35.6", "O72.1", "K52.3", "T39.395A", "Y45.3", "bleeding", "PUD",
        ] {
            expect(&with(&nim(), &[("conditions", code)]), Reject, &[]);
        }
        // ICD-10-CM's raised white cell count and kidney disease of stages 1-4 are neither.
        expect(&with(&nim(), &[("conditions", "I13.10")]), Ok, &[]);
        // What NSAIDs are prescribed for, and common conditions no rule is about, are read.
        for named in [
            "osteoarthritis",
            "rheumatoid arthritis",
            "gout",
            "back pain",
            "hypertension",
            "type 2 diabetes",
            "COPD",
            "остеохондроз",
        ] {
            expect(&with(&nim(), &[("conditions", named)]), Ok, &[]);
        }
        // Dialysis, hypertensive renal or heart failure: use with caution.
        for code in [
            "Z99.2",
            "I12.0",
            "I11.0",
            "I13.2",
            "heart failure",
            "cirrhosis",
        ] {
            expect(&with(&nim(), &[("conditions", code)]), Warn, &[]);
        }
        // The injection's disorders of blood formation; haemorrhoids coded in pregnancy.
        let injection = with(
            &DIC_INJ,
            &[("dose", "75 mg"), ("times", "2"), ("days", "2")],
        );
        for code in ["D51.0", "C92.0", "D47.1", "D72.8"] {
            let mut fields = injection.clone();
            fields.push(("conditions", code));
            expect(&fields, Reject, &[]);
        }
        let mut raised_white_count = injection.clone();
        raised_white_count.push(("conditions", "D72.829"));
        expect(&raised_white_count, Ok, &[]);
        expect(
            &with(
                &IND_SUP,
                &[("dose", "50 mg"), ("times", "3"), ("conditions", "O87.2")],
            ),
            Reject,
            &["reject condition:indomethacin.suppository"],
        );
    }
}
