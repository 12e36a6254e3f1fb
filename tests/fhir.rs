//! FHIR input through the real binary: `check --fhir` and `batch --fhir` give the verdicts and
//! rules the CSV route gives for the same prescriptions; the shapes real senders use (STU3
//! dose, R5 medication, doseAndRate as an object, a doseRange, a BOM) are read; anything
//! unreadable is an `invalid` finding naming its JSON path; orders are checked against the
//! patient's other active MedicationRequests.

use assert_cmd::Command;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const AS_OF: &str = "2026-03-01";

fn rxcheck() -> Command {
    let mut cmd = Command::cargo_bin("rxcheck").unwrap();
    cmd.env("NO_COLOR", "1").env_remove("RXCHECK_FORMULARY");
    cmd
}

/// Each JSON line of a run's stdout.
fn records(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn verdict_and_rules(record: &Value) -> (String, BTreeSet<String>) {
    let rules = record["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    (record["verdict"].as_str().unwrap().to_string(), rules)
}

/// One order of the comparison set: the FHIR bundle and the equivalent CSV row.
struct Order {
    id: &'static str,
    medication: Value,
    dose: Value,
    timing: Value,
    patient: Value,
    extra: Vec<Value>,
    csv: [&'static str; 12],
}

const HEADER: &str = "rx_id,drug,form,strength,dose,times_per_day,duration_days,birth_date,sex,date,conditions,pregnant,breastfeeding,gestational_week";

fn rxnorm(code: &str, display: &str) -> Value {
    json!({"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": code, "display": display}]})
}

fn orders() -> Vec<Order> {
    let man = json!({"resourceType": "Patient", "gender": "male", "birthDate": "1970-05-01"});
    let woman = json!({"resourceType": "Patient", "gender": "female", "birthDate": "1990-02-01"});
    let child = json!({"resourceType": "Patient", "gender": "male", "birthDate": "2016-06-01"});
    let daily = |n: u32, days: u32| json!({"repeat": {"frequency": n, "period": 1, "periodUnit": "d", "boundsDuration": {"value": days, "code": "d"}}});
    let ulcer = json!({"resourceType": "Condition", "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "12847006"}]}});
    let asthma_icd = json!({"resourceType": "Condition", "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "J45.9"}]}});
    let not_pregnant = json!({"resourceType": "Observation", "status": "final", "effectiveDateTime": "2026-03-01",
        "code": {"coding": [{"system": "http://loinc.org", "code": "82810-3"}]},
        "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "60001007"}]}});
    let pregnant_30 = json!({"resourceType": "Observation", "status": "final", "effectiveDateTime": "2026-03-01",
        "code": {"coding": [{"system": "http://loinc.org", "code": "49051-6"}]}, "valueQuantity": {"value": 30, "code": "wk"}});
    let not_breastfeeding = json!({"resourceType": "Observation", "status": "final", "effectiveDateTime": "2026-03-01",
        "code": {"coding": [{"system": "http://loinc.org", "code": "63895-7"}]}, "valueBoolean": false});
    vec![
        Order {
            id: "ok-tablets",
            medication: rxnorm(
                "855906",
                "Diclofenac Sodium 50 MG Delayed Release Oral Tablet",
            ),
            dose: json!({"value": 1, "code": "{tbl}"}),
            timing: daily(2, 7),
            patient: man.clone(),
            extra: vec![],
            csv: [
                "diclofenac",
                "tablet",
                "50 mg",
                "1 tablet",
                "2",
                "7",
                "1970-05-01",
                "male",
                "2026-03-01",
                "",
                "",
                "",
            ],
        },
        Order {
            id: "too-much",
            medication: rxnorm(
                "855926",
                "Diclofenac Sodium 75 MG Delayed Release Oral Tablet",
            ),
            dose: json!({"value": 1, "code": "{tbl}"}),
            timing: daily(3, 7),
            patient: man.clone(),
            extra: vec![],
            csv: [
                "diclofenac",
                "tablet",
                "75 mg",
                "1 tablet",
                "3",
                "7",
                "1970-05-01",
                "male",
                "2026-03-01",
                "",
                "",
                "",
            ],
        },
        Order {
            id: "ulcer",
            medication: rxnorm("197818", "Indomethacin 50 MG Oral Capsule"),
            dose: json!({"value": 50, "code": "mg"}),
            timing: daily(2, 5),
            patient: man.clone(),
            extra: vec![ulcer],
            csv: [
                "indomethacin",
                "capsule",
                "50 mg",
                "50 mg",
                "2",
                "5",
                "1970-05-01",
                "male",
                "2026-03-01",
                "gi_ulcer;gi_bleeding",
                "",
                "",
            ],
        },
        Order {
            id: "asthma",
            medication: json!({"text": "Nimesulide 100 mg tablets"}),
            dose: json!({"value": 100, "code": "mg"}),
            timing: daily(2, 10),
            patient: man.clone(),
            extra: vec![asthma_icd],
            csv: [
                "nimesulide",
                "tablet",
                "100 mg",
                "100 mg",
                "2",
                "10",
                "1970-05-01",
                "male",
                "2026-03-01",
                "J45.9",
                "",
                "",
            ],
        },
        Order {
            id: "woman-unknown",
            medication: rxnorm("857709", "Diclofenac Sodium 50 MG Rectal Suppository"),
            dose: json!({"value": 1, "unit": "suppository"}),
            timing: daily(2, 5),
            patient: woman.clone(),
            extra: vec![],
            csv: [
                "diclofenac",
                "suppository",
                "50 mg",
                "1 suppository",
                "2",
                "5",
                "1990-02-01",
                "female",
                "2026-03-01",
                "",
                "",
                "",
            ],
        },
        Order {
            id: "woman-not-pregnant",
            medication: rxnorm("857709", "Diclofenac Sodium 50 MG Rectal Suppository"),
            dose: json!({"value": 1, "unit": "suppository"}),
            timing: daily(2, 5),
            patient: woman.clone(),
            extra: vec![not_pregnant, not_breastfeeding.clone()],
            csv: [
                "diclofenac",
                "suppository",
                "50 mg",
                "1 suppository",
                "2",
                "5",
                "1990-02-01",
                "female",
                "2026-03-01",
                "",
                "no",
                "no",
            ],
        },
        Order {
            id: "week-30",
            medication: json!({"coding": [{"system": "http://www.whocc.no/atc", "code": "M02AA15"}], "text": "Diclofenac gel"}),
            dose: json!({"value": 3, "code": "g"}),
            timing: daily(3, 7),
            patient: woman,
            extra: vec![pregnant_30, not_breastfeeding],
            csv: [
                "diclofenac",
                "gel",
                "",
                "3 g",
                "3",
                "7",
                "1990-02-01",
                "female",
                "2026-03-01",
                "",
                "",
                "no",
            ],
        },
        Order {
            id: "child",
            medication: rxnorm("855942", "Diclofenac Potassium 50 MG Oral Tablet"),
            dose: json!({"value": 50, "code": "mg"}),
            timing: daily(2, 3),
            patient: child,
            extra: vec![],
            csv: [
                "diclofenac",
                "tablet",
                "50 mg",
                "50 mg",
                "2",
                "3",
                "2016-06-01",
                "male",
                "2026-03-01",
                "",
                "",
                "",
            ],
        },
        Order {
            id: "ibuprofen",
            medication: json!({"text": "Ibuprofen 400 MG Oral Tablet"}),
            dose: json!({"value": 400, "code": "mg"}),
            timing: daily(3, 5),
            patient: man,
            extra: vec![],
            csv: [
                "Ibuprofen 400 MG Oral Tablet",
                "",
                "400 mg",
                "400 mg",
                "3",
                "5",
                "1970-05-01",
                "male",
                "2026-03-01",
                "",
                "",
                "",
            ],
        },
    ]
}

fn bundle(o: &Order) -> Value {
    let request = json!({"resourceType": "MedicationRequest", "id": o.id, "status": "draft", "authoredOn": AS_OF,
        "medicationCodeableConcept": o.medication,
        "dosageInstruction": [{"timing": o.timing, "doseAndRate": [{"doseQuantity": o.dose}]}]});
    let mut entries = vec![json!({"resource": o.patient}), json!({"resource": request})];
    entries.extend(o.extra.iter().map(|r| json!({"resource": r})));
    json!({"resourceType": "Bundle", "type": "collection", "entry": entries})
}

#[test]
fn fhir_and_csv_give_the_same_verdicts_and_rules() {
    let orders = orders();
    let ndjson: String = orders.iter().map(|o| format!("{}\n", bundle(o))).collect();
    let mut csv = format!("{HEADER}\n");
    for o in &orders {
        let c = &o.csv;
        // The CSV's strength column sits after form; the rest in the header's order.
        csv.push_str(&format!(
            "{},\"{}\",{},{},{},{},{},{},{},{},{},{},{},{}\n",
            o.id,
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            c[5],
            c[6],
            c[7],
            c[8],
            c[9],
            c[10],
            c[11],
            if o.id == "week-30" { "30" } else { "" }
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let fhir_path = dir.path().join("orders.ndjson");
    let csv_path = dir.path().join("orders.csv");
    std::fs::write(&fhir_path, ndjson).unwrap();
    std::fs::write(&csv_path, csv).unwrap();
    let fhir = rxcheck()
        .args(["batch", "--fhir"])
        .arg(&fhir_path)
        .args(["--as-of", AS_OF, "--format", "jsonl", "-q"])
        .output()
        .unwrap();
    let csv = rxcheck()
        .arg("batch")
        .arg(&csv_path)
        .args(["--as-of", AS_OF, "--format", "jsonl", "-q"])
        .output()
        .unwrap();
    assert_eq!(fhir.status.code(), csv.status.code());
    let (fhir, csv) = (records(&fhir.stdout), records(&csv.stdout));
    assert_eq!(fhir.len(), orders.len());
    assert_eq!(csv.len(), orders.len());
    let mut verdicts = BTreeSet::new();
    for ((f, c), o) in fhir.iter().zip(&csv).zip(&orders) {
        assert_eq!(f["rx_id"], o.id);
        assert_eq!(f["line"], c["line"].as_u64().unwrap() - 1, "{}", o.id);
        assert_eq!(verdict_and_rules(f), verdict_and_rules(c), "{}", o.id);
        verdicts.insert(f["verdict"].as_str().unwrap().to_string());
    }
    // The set covers every verdict.
    assert_eq!(
        verdicts,
        ["invalid", "ok", "reject", "warn"].map(String::from).into()
    );
}

fn check_fhir(document: &str) -> (i32, Vec<Value>) {
    let out = rxcheck()
        .args(["check", "--fhir", "-", "--format", "json", "--as-of", AS_OF])
        .write_stdin(document)
        .output()
        .unwrap();
    (out.status.code().unwrap(), records(&out.stdout))
}

#[test]
fn the_shapes_senders_use_are_read() {
    let patient = json!({"resourceType": "Patient", "gender": "male", "birthDate": "1970-05-01"});
    let order = |dosage: Value, medication: (&str, Value)| {
        let mut request = json!({"resourceType": "MedicationRequest", "id": "x", "status": "draft", "dosageInstruction": [dosage]});
        request[medication.0] = medication.1;
        json!({"resourceType": "Bundle", "entry": [{"resource": patient}, {"resource": request}]})
            .to_string()
    };
    let tablet = (
        "medicationCodeableConcept",
        rxnorm(
            "855906",
            "Diclofenac Sodium 50 MG Delayed Release Oral Tablet",
        ),
    );
    let timing = json!({"repeat": {"frequency": 1, "period": 8, "periodUnit": "h"}});
    // STU3: doseQuantity under the dosage; q8h is 3 a day: 150 mg, within the maximum.
    let stu3 = order(
        json!({"timing": timing, "doseQuantity": {"value": 50, "unit": "mg"}}),
        tablet.clone(),
    );
    // R5: medication.concept; doseAndRate as one object; a UTF-8 byte order mark.
    let r5 = format!(
        "\u{feff}{}",
        order(
            json!({"timing": timing, "doseAndRate": {"doseQuantity": {"value": 1, "code": "{pill}"}}}),
            ("medication", json!({"concept": rxnorm("855906", "x")}))
        )
    );
    for doc in [stu3, r5] {
        let (_, records) = check_fhir(&doc);
        let rules: Vec<&str> = records[0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap())
            .collect();
        assert!(!rules.iter().any(|r| r.starts_with("input")), "{rules:?}");
        assert!(
            !rules.iter().any(|r| r.contains("dose_per_day.max")),
            "{rules:?}"
        );
    }
    // A dose range is checked at its high: 50-75 mg four times a day is 300 mg.
    let range = order(
        json!({"timing": {"repeat": {"frequency": 4, "period": 1, "periodUnit": "d"}},
        "doseAndRate": [{"doseRange": {"low": {"value": 50, "code": "mg"}, "high": {"value": 75, "code": "mg"}}}]}),
        tablet.clone(),
    );
    let (code, records) = check_fhir(&range);
    assert_eq!(code, 2);
    assert!(
        records[0]["findings"]
            .to_string()
            .contains("daily dose 300 mg"),
        "{}",
        records[0]
    );
    // frequencyMax is the worst case: 2-4 a day of 50 mg reaches 200 mg.
    let max = order(
        json!({"timing": {"repeat": {"frequency": 2, "frequencyMax": 4, "period": 1, "periodUnit": "d"}},
        "doseAndRate": [{"doseQuantity": {"value": 50, "code": "mg"}}]}),
        tablet,
    );
    assert!(
        check_fhir(&max).1[0]["findings"]
            .to_string()
            .contains("daily dose 200 mg")
    );
}

#[test]
fn unreadable_input_is_invalid_naming_its_path() {
    let doc = json!({"resourceType": "Bundle", "entry": [
        {"resource": {"resourceType": "Patient", "gender": "male", "birthDate": "1970-05-01"}},
        {"resource": {"resourceType": "MedicationRequest", "id": "x", "status": "draft",
            "medicationCodeableConcept": rxnorm("855906", "x"),
            "dosageInstruction": [{"timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [{"doseQuantity": {"value": "fifty", "code": "mg"}}]}]}}]}).to_string();
    let (code, records) = check_fhir(&doc);
    assert_eq!(code, 2);
    let findings = records[0]["findings"].as_array().unwrap();
    let finding = findings.iter().find(|f| f["rule"] == "input.fhir").unwrap();
    assert_eq!(finding["severity"], "invalid");
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.contains("entry[1].resource.dosageInstruction[0].doseAndRate"),
        "{message}"
    );
    assert!(message.contains("doseQuantity.value"), "{message}");
    // No timing at all names where it is missing.
    let mut untimed: Value = serde_json::from_str(&doc.replace(r#""fifty""#, "50")).unwrap();
    let dosage = untimed["entry"][1]["resource"]["dosageInstruction"][0]
        .as_object_mut()
        .unwrap();
    dosage.remove("timing");
    let (_, records) = check_fhir(&untimed.to_string());
    assert!(
        records[0]
            .to_string()
            .contains("entry[1].resource.dosageInstruction[0].timing` gives no frequency"),
        "{}",
        records[0]
    );
    // Not a resource at all, and not JSON.
    for (doc, says) in [
        (
            r#"{"resourceType":"Patient"}"#,
            "give a MedicationRequest or a Bundle",
        ),
        ("{", "not JSON"),
    ] {
        let (code, records) = check_fhir(doc);
        assert_eq!(code, 2);
        assert!(
            records[0]["findings"][0]["message"]
                .as_str()
                .unwrap()
                .contains(says),
            "{}",
            records[0]
        );
    }
}

#[test]
fn a_bad_line_of_a_batch_is_an_invalid_record_in_its_place() {
    let good = bundle(&orders()[0]).to_string();
    let input = format!("{good}\nnot json\n\n{good}\n");
    let out = rxcheck()
        .args([
            "batch", "--fhir", "-", "--as-of", AS_OF, "--format", "jsonl", "-q",
        ])
        .write_stdin(input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let lines: Vec<(u64, String)> = records(&out.stdout)
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![(1, "ok".into()), (2, "invalid".into()), (4, "ok".into())]
    );
}

#[test]
fn orders_are_checked_against_the_patients_active_requests() {
    let tablets = json!({"resourceType": "MedicationRequest", "id": "new", "status": "draft", "authoredOn": AS_OF,
        "medicationCodeableConcept": rxnorm("855906", "x"),
        "dosageInstruction": [{"timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}}, "doseAndRate": [{"doseQuantity": {"value": 50, "code": "mg"}}]}]});
    let suppositories = json!({"resourceType": "MedicationRequest", "id": "old", "status": "active", "authoredOn": "2026-02-25",
        "medicationCodeableConcept": rxnorm("857709", "x"),
        "dosageInstruction": [{"timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}}, "doseQuantity": {"value": 1, "unit": "suppository"}}]});
    let patient = json!({"resourceType": "Patient", "gender": "male", "birthDate": "1970-05-01"});
    let doc = json!({"resourceType": "Bundle", "entry": [{"resource": patient}, {"resource": tablets}, {"resource": suppositories}]}).to_string();
    let (code, records) = check_fhir(&doc);
    assert_eq!(code, 2);
    assert_eq!(records.len(), 1, "only the draft is checked");
    assert!(
        records[0]
            .to_string()
            .contains("diclofenac.combined_daily_max(new,old)"),
        "{}",
        records[0]
    );
}

#[test]
fn other_requests_named_as_products_are_recognised() {
    let order = json!({"resourceType": "MedicationRequest", "id": "new", "status": "draft", "authoredOn": AS_OF,
        "medicationCodeableConcept": {"text": "Nimesulide 100 mg oral tablet"},
        "dosageInstruction": [{"timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}}, "doseAndRate": [{"doseQuantity": {"value": 100, "code": "mg"}}]}]});
    let other = |id: &str, text: &str| {
        json!({"resourceType": "MedicationRequest", "id": id, "status": "active", "authoredOn": AS_OF,
        "medicationCodeableConcept": {"text": text, "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "197806", "display": text}]},
        "dosageInstruction": [{"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}, "doseAndRate": [{"doseQuantity": {"value": 1, "code": "{tbl}"}}]}]})
    };
    let patient = json!({"resourceType": "Patient", "gender": "male", "birthDate": "1970-05-01"});
    let doc =
        json!({"resourceType": "Bundle", "entry": [{"resource": patient}, {"resource": order},
        {"resource": other("ibu", "Ibuprofen 400 MG Oral Tablet")},
        {"resource": other("mtx", "Methotrexate Sodium 2.5 MG Oral Tablet")}]})
        .to_string();
    let (code, records) = check_fhir(&doc);
    assert_eq!(code, 1, "{records:?}");
    let (verdict, rules) = verdict_and_rules(&records[0]);
    assert_eq!(verdict, "warn");
    for rule in [
        "nsaid_class.duplicate_therapy.nsaid(new,ibu)",
        "nimesulide.interaction.hepatotoxic(new,ibu,mtx)",
    ] {
        assert!(
            rules.iter().any(|r| r.contains(rule)),
            "{rule} in {rules:?}"
        );
    }
}

/// A draft order `o` of `medication`, `per_day` times a day, `dose` (a Quantity) each time.
fn draft(medication: &str, per_day: u32, dose: Value) -> Value {
    json!({"resourceType": "MedicationRequest", "id": "o", "status": "draft", "authoredOn": AS_OF,
        "medicationCodeableConcept": {"text": medication},
        "dosageInstruction": [{"timing": {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [{"doseQuantity": dose}]}]})
}

/// The rules of a one-order document for a man of 40, with `medication` and `dosage`.
fn rules_of(medication: &str, dosage: Value, extra: Value) -> BTreeSet<String> {
    let mut order = json!({"resourceType": "MedicationRequest", "id": "o", "status": "draft", "authoredOn": AS_OF,
        "medicationCodeableConcept": {"text": medication}, "dosageInstruction": [dosage]});
    if let (Some(order), Some(extra)) = (order.as_object_mut(), extra.as_object()) {
        order.extend(extra.clone());
    }
    let patient = json!({"resourceType": "Patient", "gender": "male", "birthDate": "1986-05-01"});
    let doc =
        json!({"resourceType": "Bundle", "entry": [{"resource": patient}, {"resource": order}]});
    let (_, records) = check_fhir(&doc.to_string());
    verdict_and_rules(&records[0]).1
}

#[test]
fn hours_and_weeks_convert_to_days_exactly() {
    let injection = "Diclofenac 75 mg/3 ml injection";
    let twice_a_day = |bounds: Value| {
        let mut repeat = json!({"frequency": 2, "period": 1, "periodUnit": "d"});
        if let (Some(r), Some(b)) = (repeat.as_object_mut(), bounds.as_object()) {
            r.extend(b.clone());
        }
        json!({"timing": {"repeat": repeat}, "doseAndRate": [{"doseQuantity": {"value": 75, "code": "mg"}}]})
    };
    let too_long = "diclofenac.injection.dosage.max_duration_days";
    let hours = |h: u32| json!({"boundsDuration": {"value": h, "code": "h"}});
    assert!(!rules_of(injection, twice_a_day(hours(48)), json!({})).contains(too_long));
    assert!(rules_of(injection, twice_a_day(hours(49)), json!({})).contains(too_long));
    let period = |end: &str| json!({"boundsPeriod": {"start": "2026-11-24T08:00:00Z", "end": end}});
    let two_days = twice_a_day(period("2026-11-26T08:00:00Z"));
    assert!(!rules_of(injection, two_days, json!({})).contains(too_long));
    let longer = twice_a_day(period("2026-11-26T08:30:00Z"));
    assert!(rules_of(injection, longer, json!({})).contains(too_long));
    let supply = json!({"dispenseRequest": {"expectedSupplyDuration": {"value": 48, "code": "h"}}});
    assert!(!rules_of(injection, twice_a_day(json!({})), supply).contains(too_long));

    // Seven a week is once a day; a periodMax shorter than the period is the worst day.
    let tablet = "Diclofenac 50 mg oral tablet";
    let fifty = |repeat: Value| json!({"timing": {"repeat": repeat}, "doseAndRate": [{"doseQuantity": {"value": 50, "code": "mg"}}]});
    // 100 mg seven times a week is 100 mg a day, under the 150 mg maximum (read as twice a
    // day it would be over it).
    let hundred = json!({"timing": {"repeat": {"frequency": 7, "period": 1, "periodUnit": "wk"}},
        "doseAndRate": [{"doseQuantity": {"value": 100, "code": "mg"}}]});
    let weekly = rules_of(tablet, hundred, json!({}));
    assert!(
        !weekly.iter().any(|r| r.contains("dose_per_day.max")),
        "{weekly:?}"
    );
    let inverted = fifty(json!({"frequency": 1, "period": 8, "periodMax": 6, "periodUnit": "h"}));
    assert!(
        rules_of(tablet, inverted, json!({}))
            .contains("diclofenac.tablet.dosage.over_15.dose_per_day.max")
    );
}

#[test]
fn a_recorded_no_known_allergy_is_no_allergy() {
    let order = draft(
        "Diclofenac 50 mg oral tablet",
        2,
        json!({"value": 50, "code": "mg"}),
    );
    let patient = json!({"resourceType": "Patient", "gender": "male", "birthDate": "1986-05-01"});
    for code in ["716186003", "409137002"] {
        let none = json!({"resourceType": "AllergyIntolerance", "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": code}]}});
        let doc = json!({"resourceType": "Bundle", "entry": [{"resource": patient}, {"resource": order}, {"resource": none}]});
        let (code, records) = check_fhir(&doc.to_string());
        assert_eq!(code, 0, "{records:?}");
    }
}

#[test]
fn an_allergy_or_order_coded_only_by_its_ingredient_or_substance_is_read() {
    let order = draft(
        "Diclofenac 50 mg oral tablet",
        2,
        json!({"value": 50, "code": "mg"}),
    );
    let patient = json!({"resourceType": "Patient", "gender": "male", "birthDate": "1986-05-01"});
    let rxnorm = "http://www.nlm.nih.gov/research/umls/rxnorm";
    let snomed = "http://snomed.info/sct";
    // Ibuprofen and aspirin (RxNorm ingredients), the NSAID class and an NSAID allergy
    // (SNOMED CT), with no display.
    for (system, code) in [
        (rxnorm, "5640"),
        (rxnorm, "1191"),
        (snomed, "372665008"),
        (snomed, "293610009"),
    ] {
        let allergy = json!({"resourceType": "AllergyIntolerance", "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": {"coding": [{"system": system, "code": code}]}});
        let doc = json!({"resourceType": "Bundle", "entry": [{"resource": patient}, {"resource": order}, {"resource": allergy}]});
        let (exit, records) = check_fhir(&doc.to_string());
        let (verdict, rules) = verdict_and_rules(&records[0]);
        assert_eq!((exit, verdict.as_str()), (2, "reject"), "{code}: {rules:?}");
    }
    // An order coded only by its ingredient is that drug's (here without a form: invalid).
    let coded = json!({"resourceType": "MedicationRequest", "id": "o", "status": "draft", "authoredOn": AS_OF,
        "medicationCodeableConcept": {"coding": [{"system": rxnorm, "code": "3355"}]},
        "dosageInstruction": [{"timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [{"doseQuantity": {"value": 50, "code": "mg"}}]}]});
    let doc =
        json!({"resourceType": "Bundle", "entry": [{"resource": patient}, {"resource": coded}]});
    let (_, records) = check_fhir(&doc.to_string());
    let (verdict, rules) = verdict_and_rules(&records[0]);
    assert_eq!(verdict, "invalid", "{rules:?}");
    assert!(rules.iter().any(|r| r.contains("input.form")), "{rules:?}");
}

#[test]
fn conditions_coded_in_snomed_ct_with_their_names_are_read() {
    let patient = json!({"resourceType": "Patient", "gender": "male", "birthDate": "1986-05-01"});
    for (medication, code, display, verdict) in [
        (
            "Nimesulide 100 mg tablet",
            "28293008",
            "Hereditary factor VIII deficiency disease",
            "reject",
        ),
        (
            "Nimesulide 100 mg tablet",
            "433146000",
            "Chronic kidney disease stage 5",
            "warn",
        ),
        (
            "Indomethacin 25 mg tablet",
            "30288003",
            "Ventricular septal defect",
            "reject",
        ),
    ] {
        let order = draft(medication, 2, json!({"value": 25, "code": "mg"}));
        let condition = json!({"resourceType": "Condition", "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": code, "display": display}]}});
        let doc = json!({"resourceType": "Bundle", "entry": [{"resource": patient}, {"resource": order}, {"resource": condition}]});
        let (_, records) = check_fhir(&doc.to_string());
        let (got, rules) = verdict_and_rules(&records[0]);
        assert_eq!(got, verdict, "{display}: {rules:?}");
    }
}

#[test]
fn a_condition_in_remission_counts_and_a_coded_breastfeeding_answer_needs_no_display() {
    let order = draft(
        "Diclofenac 50 mg oral tablet",
        2,
        json!({"value": 50, "code": "mg"}),
    );
    let patient = json!({"resourceType": "Patient", "gender": "female", "birthDate": "1986-05-01"});
    let not_pregnant = json!({"resourceType": "Observation", "status": "final", "effectiveDateTime": "2026-03-01",
        "code": {"coding": [{"system": "http://loinc.org", "code": "82810-3"}]},
        "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "60001007"}]}});
    let not_breastfeeding = json!({"resourceType": "Observation", "status": "final", "effectiveDateTime": "2026-03-01",
        "code": {"coding": [{"system": "http://loinc.org", "code": "63895-7"}]},
        "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "169750002"}]}});
    let entries = |extra: Vec<Value>| {
        let mut all = vec![
            patient.clone(),
            order.clone(),
            not_pregnant.clone(),
            not_breastfeeding.clone(),
        ];
        all.extend(extra);
        let entry: Vec<Value> = all.into_iter().map(|r| json!({"resource": r})).collect();
        json!({"resourceType": "Bundle", "entry": entry}).to_string()
    };
    let (code, records) = check_fhir(&entries(vec![]));
    assert_eq!(code, 0, "{records:?}");
    for status in ["remission", "inactive"] {
        let crohn = json!({"resourceType": "Condition", "clinicalStatus": {"coding": [{"code": status}]},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "K50.9"}]}});
        let (code, records) = check_fhir(&entries(vec![crohn]));
        assert_eq!(code, 2, "{status}: {records:?}");
    }
    let resolved = json!({"resourceType": "Condition", "clinicalStatus": {"coding": [{"code": "resolved"}]},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "K50.9"}]}});
    assert_eq!(check_fhir(&entries(vec![resolved])).0, 0);
}

#[test]
fn a_partial_birth_date_is_read_as_its_last_possible_day() {
    let verdict = |birth: &str| {
        let order = draft(
            "Nimesulide 100 mg tablet",
            2,
            json!({"value": 100, "code": "mg"}),
        );
        let patient = json!({"resourceType": "Patient", "gender": "male", "birthDate": birth});
        let doc = json!({"resourceType": "Bundle", "entry": [{"resource": patient}, {"resource": order}]});
        let (_, records) = check_fhir(&doc.to_string());
        verdict_and_rules(&records[0])
    };
    // 1980 is an adult whichever day; born in 2013 or in 2013-12, the youngest is 12 on
    // 2026-03-01 (the minimum age), and in 2014, 11.
    for birth in ["1980", "1980-07", "2013", "2013-12"] {
        let (verdict, rules) = verdict(birth);
        assert!(
            !rules.iter().any(|r| r.starts_with("input.")),
            "{birth}: {rules:?}"
        );
        assert_ne!(verdict, "reject", "{birth}: {rules:?}");
    }
    assert_eq!(verdict("2014").0, "reject");
    assert_eq!(verdict("2014-13").0, "invalid");
}

#[test]
fn a_recorded_gestational_age_moves_on_to_the_day_of_the_check() {
    let rules = |recorded: &str| {
        let order = draft("Diclofenac 1% gel", 3, json!({"value": 2, "code": "g"}));
        let patient =
            json!({"resourceType": "Patient", "gender": "female", "birthDate": "1990-05-01"});
        let observation = |code: &str, value: Value| {
            let mut o = json!({"resourceType": "Observation", "status": "final", "effectiveDateTime": recorded,
                "code": {"coding": [{"system": "http://loinc.org", "code": code}]}});
            o.as_object_mut()
                .unwrap()
                .extend(value.as_object().unwrap().clone());
            o
        };
        let pregnant = observation(
            "82810-3",
            json!({"valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "77386006"}]}}),
        );
        let weeks = observation(
            "49051-6",
            json!({"valueQuantity": {"value": 20, "code": "wk"}}),
        );
        let not_breastfeeding = observation("63895-7", json!({"valueBoolean": false}));
        let entry: Vec<Value> = [patient, order, pregnant, weeks, not_breastfeeding]
            .into_iter()
            .map(|r| json!({"resource": r}))
            .collect();
        let (_, records) =
            check_fhir(&json!({"resourceType": "Bundle", "entry": entry}).to_string());
        verdict_and_rules(&records[0]).1
    };
    let third_trimester = "diclofenac.gel.pregnancy.weeks_28_45";
    assert!(!rules(AS_OF).contains(third_trimester));
    // 20 weeks on 2025-11-01 is 38 by 2026-03-01.
    assert!(rules("2025-11-01").contains(third_trimester));
    // A week that would have passed the end of any pregnancy is dropped, not made up.
    let stale = rules("2023-05-01");
    assert!(!stale.iter().any(|r| r.starts_with("input.")), "{stale:?}");
}

#[test]
fn an_undated_or_unconfirmed_status_says_nothing_of_today() {
    let order = draft("Diclofenac 1% gel", 3, json!({"value": 2, "code": "g"}));
    let patient = json!({"resourceType": "Patient", "gender": "female", "birthDate": "1990-05-01"});
    let rules = |observations: Vec<Value>| {
        let entry: Vec<Value> = [patient.clone(), order.clone()]
            .into_iter()
            .chain(observations)
            .map(|r| json!({"resource": r}))
            .collect();
        let (_, records) =
            check_fhir(&json!({"resourceType": "Bundle", "entry": entry}).to_string());
        verdict_and_rules(&records[0])
    };
    let observation = |code: &str, value: Value, date: Option<&str>| {
        let mut o = json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]}});
        let o_map = o.as_object_mut().unwrap();
        o_map.extend(value.as_object().unwrap().clone());
        if let Some(date) = date {
            o_map.insert("effectiveDateTime".into(), json!(date));
        }
        o
    };
    let snomed = |code: &str, display: &str| json!({"valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": code, "display": display}]}});
    let not_breastfeeding = observation("63895-7", json!({"valueBoolean": false}), Some(AS_OF));
    // Not pregnant, dated: no pregnancy rule applies.
    let dated = observation("82810-3", snomed("60001007", "Not pregnant"), Some(AS_OF));
    let (verdict, _) = rules(vec![dated, not_breastfeeding.clone()]);
    assert_eq!(verdict, "ok");
    // Not pregnant at no known time, or a pregnancy not yet confirmed: unknown, a warn.
    let undated = observation("82810-3", snomed("60001007", "Not pregnant"), None);
    let unconfirmed = observation(
        "82810-3",
        snomed("152231000119106", "Pregnancy not yet confirmed"),
        Some(AS_OF),
    );
    for status in [undated, unconfirmed] {
        let (verdict, rules) = rules(vec![status, not_breastfeeding.clone()]);
        assert_eq!(verdict, "warn", "{rules:?}");
    }
    // Words that say no, whatever else they name.
    for words in [
        "Pregnancy ruled out",
        "Pregnancy test negative",
        "Denies pregnancy",
        "Pregnancy: no",
    ] {
        let status = observation(
            "82810-3",
            json!({"valueCodeableConcept": {"text": words}}),
            Some(AS_OF),
        );
        let (verdict, found) = rules(vec![status, not_breastfeeding.clone()]);
        assert_eq!(verdict, "ok", "{words}: {found:?}");
    }
    // A gestational age of no known date: pregnant, of unknown week (the strictest rule).
    let weeks = observation(
        "49051-6",
        json!({"valueQuantity": {"value": 20, "code": "wk"}}),
        None,
    );
    let (verdict, rules) = rules(vec![weeks, not_breastfeeding]);
    assert_eq!(verdict, "reject", "{rules:?}");
    assert!(rules.contains("diclofenac.gel.pregnancy.weeks_28_45"));
}

#[test]
fn a_pregnancy_recorded_as_a_condition_is_a_pregnancy() {
    let order = draft(
        "Indomethacin 25 mg tablet",
        3,
        json!({"value": 25, "code": "mg"}),
    );
    let patient = json!({"resourceType": "Patient", "gender": "female", "birthDate": "1990-05-01"});
    for (system, code) in [
        ("http://hl7.org/fhir/sid/icd-10", "Z33.1"),
        ("http://snomed.info/sct", "77386006"),
    ] {
        let condition = json!({"resourceType": "Condition", "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": {"coding": [{"system": system, "code": code}]}});
        let doc = json!({"resourceType": "Bundle", "entry": [{"resource": patient}, {"resource": order}, {"resource": condition}]});
        let (_, records) = check_fhir(&doc.to_string());
        let (verdict, rules) = verdict_and_rules(&records[0]);
        assert_eq!(verdict, "reject", "{code}: {rules:?}");
        assert!(rules.iter().any(|r| r.contains("pregnancy")), "{rules:?}");
    }
    // A past pregnancy (inactive, abated) is none now: the status stays unknown, a warning.
    let past = json!({"resourceType": "Condition", "clinicalStatus": {"coding": [{"code": "inactive"}]},
        "abatementDateTime": "2019-06-01", "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "Z34.90"}]}});
    let doc = json!({"resourceType": "Bundle", "entry": [{"resource": patient}, {"resource": order}, {"resource": past}]});
    let (_, records) = check_fhir(&doc.to_string());
    assert_eq!(verdict_and_rules(&records[0]).0, "warn");
}

#[test]
fn pregnancy_observations_are_ordered_as_instants_and_a_tie_reports_the_pregnancy() {
    let verdict = |first: (&str, &str), second: (&str, &str)| {
        let order = draft(
            "Indomethacin 25 mg tablet",
            3,
            json!({"value": 25, "code": "mg"}),
        );
        let patient =
            json!({"resourceType": "Patient", "gender": "female", "birthDate": "1990-05-01"});
        let status = |(when, code): (&str, &str)| {
            json!({"resourceType": "Observation", "status": "final", "effectiveDateTime": when,
                "code": {"coding": [{"system": "http://loinc.org", "code": "82810-3"}]},
                "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": code}]}})
        };
        let not_breastfeeding = json!({"resourceType": "Observation", "status": "final", "effectiveDateTime": "2026-03-01",
            "code": {"coding": [{"system": "http://loinc.org", "code": "63895-7"}]}, "valueBoolean": false});
        let entry: Vec<Value> = [
            patient,
            order,
            status(first),
            status(second),
            not_breastfeeding,
        ]
        .into_iter()
        .map(|r| json!({"resource": r}))
        .collect();
        let (_, records) =
            check_fhir(&json!({"resourceType": "Bundle", "entry": entry}).to_string());
        verdict_and_rules(&records[0]).0
    };
    let (pregnant, not_pregnant) = ("77386006", "60001007");
    // 23:30 at -05:00 is 04:30 UTC on 2026-03-01, after 01:00 at +02:00 (23:00 UTC the day
    // before), whatever the text says.
    let (east, west) = ("2026-03-01T01:00:00+02:00", "2026-02-28T23:30:00-05:00");
    assert_eq!(verdict((west, pregnant), (east, not_pregnant)), "reject");
    assert_eq!(verdict((east, pregnant), (west, not_pregnant)), "ok");
    // A date and an instant of its day cannot be ordered: the pregnancy is reported.
    let (day, morning) = ("2026-02-28", "2026-02-28T08:00:00Z");
    assert_eq!(verdict((day, pregnant), (morning, not_pregnant)), "reject");
    assert_eq!(verdict((morning, pregnant), (day, not_pregnant)), "reject");
    // A day later is later.
    assert_eq!(
        verdict((morning, pregnant), ("2026-03-01", not_pregnant)),
        "ok"
    );
}

#[test]
fn resources_about_another_patient_are_not_the_patients() {
    let mut order = draft(
        "Diclofenac 50 mg oral tablet",
        2,
        json!({"value": 50, "code": "mg"}),
    );
    order["subject"] = json!({"reference": "Patient/p1"});
    let patient =
        json!({"resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "1986-05-01"});
    let ulcer = |subject: Value| {
        let mut c = json!({"resourceType": "Condition", "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "K25.9"}]}});
        if !subject.is_null() {
            c["subject"] = json!({ "reference": subject });
        }
        c
    };
    let ibuprofen = |subject: &str| {
        json!({"resourceType": "MedicationRequest", "id": "other", "status": "active", "subject": {"reference": subject},
            "medicationCodeableConcept": {"text": "Ibuprofen 400 mg tablet"},
            "dosageInstruction": [{"timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [{"doseQuantity": {"value": 400, "code": "mg"}}]}]})
    };
    let verdict = |extra: Value| {
        let doc = json!({"resourceType": "Bundle", "entry": [{"resource": patient}, {"resource": order}, {"resource": extra}]});
        let (_, records) = check_fhir(&doc.to_string());
        verdict_and_rules(&records[0])
    };
    // Another patient's ulcer and NSAID, named relatively, absolutely or by version: not hers.
    for other in [
        "Patient/p99",
        "https://ehr.example/fhir/Patient/p99",
        "Patient/p99/_history/2",
    ] {
        assert_eq!(verdict(ulcer(json!(other))).0, "ok", "{other}");
        let (verdict, rules) = verdict(ibuprofen(other));
        assert_eq!(verdict, "ok", "{other}: {rules:?}");
    }
    // The patient's own, or with no subject: hers.
    for own in [
        json!("Patient/p1"),
        json!("https://ehr.example/fhir/Patient/p1/_history/3"),
        Value::Null,
    ] {
        assert_eq!(verdict(ulcer(own.clone())).0, "reject", "{own}");
    }
    let (_, rules) = verdict(ibuprofen("Patient/p1"));
    assert!(
        rules.iter().any(|r| r.contains("duplicate_therapy")),
        "{rules:?}"
    );
}

#[test]
fn a_course_is_the_longest_the_order_gives_counting_its_administrations() {
    let injection = "Diclofenac 75 mg/3 ml injection";
    let too_long = "diclofenac.injection.dosage.max_duration_days";
    let dosage = |timing: Value| json!({"timing": timing, "doseAndRate": [{"doseQuantity": {"value": 75, "code": "mg"}}]});
    let twice_a_day = |count: u32| json!({"repeat": {"frequency": 2, "period": 1, "periodUnit": "d", "count": count}});
    let every_12_hours = |count: u32| json!({"repeat": {"frequency": 1, "period": 12, "periodUnit": "h", "count": count}});
    let bid =
        |count: u32| json!({"repeat": {"count": count}, "code": {"coding": [{"code": "BID"}]}});
    // 4 administrations at two a day take 2 days, the most allowed; 5 take 3.
    for timing in [twice_a_day, every_12_hours, bid] {
        let rules = rules_of(injection, dosage(timing(4)), json!({}));
        assert!(!rules.contains(too_long), "{rules:?}");
        assert!(rules_of(injection, dosage(timing(5)), json!({})).contains(too_long));
    }
    // Of a 2-day bound and a 10-day supply, the longer is the course.
    let bounded = json!({"repeat": {"frequency": 2, "period": 1, "periodUnit": "d",
        "boundsDuration": {"value": 2, "code": "d"}}});
    let supply = json!({"dispenseRequest": {"expectedSupplyDuration": {"value": 10, "code": "d"}}});
    assert!(!rules_of(injection, dosage(bounded.clone()), json!({})).contains(too_long));
    assert!(rules_of(injection, dosage(bounded), supply).contains(too_long));
}

#[test]
fn a_pregnancy_recorded_so_long_ago_that_it_is_over_is_no_pregnancy() {
    let verdict = |recorded: &str, weeks: Option<u32>| {
        let order = draft(
            "Indomethacin 25 mg tablet",
            3,
            json!({"value": 25, "code": "mg"}),
        );
        let patient =
            json!({"resourceType": "Patient", "gender": "female", "birthDate": "1990-05-01"});
        let pregnant = json!({"resourceType": "Observation", "status": "final", "effectiveDateTime": recorded,
            "code": {"coding": [{"system": "http://loinc.org", "code": "82810-3"}]},
            "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "77386006"}]}});
        let not_breastfeeding = json!({"resourceType": "Observation", "status": "final", "effectiveDateTime": "2026-03-01",
            "code": {"coding": [{"system": "http://loinc.org", "code": "63895-7"}]}, "valueBoolean": false});
        let mut resources = vec![patient, order, pregnant, not_breastfeeding];
        if let Some(weeks) = weeks {
            resources.push(json!({"resourceType": "Observation", "status": "final", "effectiveDateTime": recorded,
                "code": {"coding": [{"system": "http://loinc.org", "code": "49051-6"}]},
                "valueQuantity": {"value": weeks, "code": "wk"}}));
        }
        let entry: Vec<Value> = resources
            .into_iter()
            .map(|r| json!({"resource": r}))
            .collect();
        let (_, records) =
            check_fhir(&json!({"resourceType": "Bundle", "entry": entry}).to_string());
        verdict_and_rules(&records[0])
    };
    // Two years ago: over, so the status is unknown (a warning), not a pregnancy.
    let (stale, rules) = verdict("2024-01-01", None);
    assert_eq!(stale, "warn", "{rules:?}");
    // 39 weeks ago: she may still be pregnant.
    assert_eq!(verdict("2025-06-01", None).0, "reject");
    // ... unless she was then at week 10, and so would now be past week 45.
    assert_eq!(verdict("2025-06-01", Some(10)).0, "warn");
    assert_eq!(verdict("2025-06-01", Some(2)).0, "reject");
}

#[test]
fn an_allergy_that_is_over_or_refuted_does_not_count() {
    let order = draft(
        "Diclofenac 50 mg oral tablet",
        2,
        json!({"value": 50, "code": "mg"}),
    );
    let patient = json!({"resourceType": "Patient", "gender": "male", "birthDate": "1986-05-01"});
    let verdict = |clinical: Option<&str>, verification: Option<&str>| {
        let mut allergy =
            json!({"resourceType": "AllergyIntolerance", "code": {"text": "diclofenac"}});
        if let Some(code) = clinical {
            allergy["clinicalStatus"] = json!({"coding": [{"code": code}]});
        }
        if let Some(code) = verification {
            allergy["verificationStatus"] = json!({"coding": [{"code": code}]});
        }
        let doc = json!({"resourceType": "Bundle", "entry": [{"resource": patient}, {"resource": order}, {"resource": allergy}]});
        let (_, records) = check_fhir(&doc.to_string());
        verdict_and_rules(&records[0]).0
    };
    for (clinical, verification) in [
        (Some("active"), Some("confirmed")),
        (Some("active"), Some("unconfirmed")),
        (None, None),
    ] {
        assert_eq!(verdict(clinical, verification), "reject", "{clinical:?}");
    }
    for (clinical, verification) in [
        (Some("inactive"), None),
        (Some("resolved"), Some("confirmed")),
        (Some("active"), Some("refuted")),
        (None, Some("entered-in-error")),
    ] {
        assert_eq!(verdict(clinical, verification), "ok", "{clinical:?}");
    }
}

#[test]
fn an_allergy_whose_substance_cannot_be_read_is_a_warning_that_it_was_not_screened() {
    let order = draft(
        "Diclofenac 50 mg oral tablet",
        2,
        json!({"value": 50, "code": "mg"}),
    );
    let patient = json!({"resourceType": "Patient", "gender": "male", "birthDate": "1986-05-01"});
    for (code, named) in [
        (
            json!({"coding": [{"system": "http://snomed.info/sct", "code": "91936005"}]}),
            "SNOMED CT 91936005",
        ),
        (
            json!({"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "723"}]}),
            "RxNorm 723",
        ),
    ] {
        let allergy = json!({"resourceType": "AllergyIntolerance", "code": code,
            "clinicalStatus": {"coding": [{"code": "active"}]}});
        let doc = json!({"resourceType": "Bundle", "entry": [{"resource": patient}, {"resource": order}, {"resource": allergy}]});
        let (code, records) = check_fhir(&doc.to_string());
        assert_eq!(
            (code, records[0]["verdict"].as_str()),
            (1, Some("warn")),
            "{records:?}"
        );
        // Worded as the same allergy in a prescription's allergies field is.
        let expected = format!(
            "allergy `{named}` could not be screened: it is not a drug, class or allergen the formulary knows; check it against diclofenac tablet by hand"
        );
        assert!(
            records[0]["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["severity"] == "warn" && f["message"] == expected.as_str()),
            "{records:?}"
        );
    }
}

#[test]
fn a_condition_coded_in_an_unlisted_concept_is_read_by_its_name_or_flagged() {
    let order = draft(
        "Diclofenac 50 mg oral tablet",
        2,
        json!({"value": 50, "code": "mg"}),
    );
    let patient = json!({"resourceType": "Patient", "gender": "male", "birthDate": "1986-05-01"});
    let verdict = |code: Value| {
        let condition = json!({"resourceType": "Condition", "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": {"coding": [code]}});
        let doc = json!({"resourceType": "Bundle", "entry": [{"resource": patient}, {"resource": order}, {"resource": condition}]});
        let (_, records) = check_fhir(&doc.to_string());
        verdict_and_rules(&records[0])
    };
    let snomed = |code: &str, display: Option<&str>| {
        let mut coding = json!({"system": "http://snomed.info/sct", "code": code});
        if let Some(display) = display {
            coding["display"] = json!(display);
        }
        coding
    };
    // A concept the formulary does not list, whose name speaks of a condition the rules are
    // about: to be checked by hand (`Cardiac asthma` is no asthma).
    for display in ["Mild persistent asthma", "Cardiac asthma"] {
        let (v, rules) = verdict(snomed("426979002", Some(display)));
        assert_eq!(v, "warn", "{display}: {rules:?}");
    }
    // Named exactly as a condition of the formulary: that condition.
    let (v, rules) = verdict(snomed("195967001", Some("asthma")));
    assert_eq!(v, "reject", "{rules:?}");
    // Named as something else, or as a relative's: no rule is about it.
    assert_eq!(
        verdict(snomed("59621000", Some("Essential hypertension"))).0,
        "ok"
    );
    assert_eq!(
        verdict(snomed("160377001", Some("Family history of asthma"))).0,
        "ok"
    );
    // Unnamed, it may be anything: checked by hand.
    let (v, rules) = verdict(snomed("426979002", None));
    assert_eq!(v, "warn", "{rules:?}");
}

#[test]
fn another_request_whose_drug_cannot_be_read_leaves_its_interactions_unchecked() {
    let order = draft(
        "Nimesulide 100 mg tablet",
        2,
        json!({"value": 100, "code": "mg"}),
    );
    let patient = json!({"resourceType": "Patient", "gender": "male", "birthDate": "1986-05-01"});
    let other = |coding: Value| {
        json!({"resourceType": "MedicationRequest", "id": "other", "status": "active",
            "medicationCodeableConcept": {"coding": [coding]},
            "dosageInstruction": [{"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [{"doseQuantity": {"value": 400, "code": "mg"}}]}]})
    };
    let check = |other: Value| {
        let doc = json!({"resourceType": "Bundle", "entry": [{"resource": patient}, {"resource": order}, {"resource": other}]});
        let (_, records) = check_fhir(&doc.to_string());
        let record = records[0].clone();
        (verdict_and_rules(&record).0, record.to_string())
    };
    // An RxNorm code rxcheck does not know, with no name: it may be another NSAID.
    let (verdict, record) = check(other(
        json!({"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "197806"}),
    ));
    assert_eq!(verdict, "warn", "{record}");
    assert!(
        record.contains("other MedicationRequest `other` names no drug"),
        "{record}"
    );
    // Named, a drug no rule is about is quiet.
    let (verdict, record) = check(other(
        json!({"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "860975", "display": "metformin 500 MG Oral Tablet"}),
    ));
    assert_eq!(verdict, "ok", "{record}");
}

#[test]
fn an_active_pregnancy_or_lactation_condition_is_not_outweighed_by_an_older_observation() {
    let order = draft(
        "Indomethacin 25 mg tablet",
        3,
        json!({"value": 25, "code": "mg"}),
    );
    let patient = json!({"resourceType": "Patient", "gender": "female", "birthDate": "1990-05-01"});
    let observation = |loinc: &str, answer: &str| {
        json!({"resourceType": "Observation", "status": "final", "effectiveDateTime": "2025-06-01",
            "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
            "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": answer}]}})
    };
    let not_pregnant = observation("82810-3", "60001007");
    let not_breastfeeding = observation("63895-7", "169750002");
    for (code, rule) in [("O09.90", "pregnancy"), ("Z39.1", "breastfeeding")] {
        let condition = json!({"resourceType": "Condition", "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": code}]}});
        let doc = json!({"resourceType": "Bundle", "entry": [{"resource": patient}, {"resource": order},
            {"resource": not_pregnant}, {"resource": not_breastfeeding}, {"resource": condition}]});
        let (_, records) = check_fhir(&doc.to_string());
        let (verdict, rules) = verdict_and_rules(&records[0]);
        assert_eq!(verdict, "reject", "{code}: {rules:?}");
        assert!(rules.iter().any(|r| r.contains(rule)), "{code}: {rules:?}");
    }
}

#[test]
fn statuses_are_dated_by_any_effective_time_expire_and_end_with_their_condition() {
    let order = draft(
        "Indomethacin 25 mg tablet",
        3,
        json!({"value": 25, "code": "mg"}),
    );
    let patient = json!({"resourceType": "Patient", "gender": "female", "birthDate": "1990-05-01"});
    let verdict = |extra: Vec<Value>| {
        let mut entry = vec![json!({"resource": patient}), json!({"resource": order})];
        entry.extend(extra.into_iter().map(|r| json!({"resource": r})));
        let doc = json!({"resourceType": "Bundle", "entry": entry});
        let (_, records) = check_fhir(&doc.to_string());
        verdict_and_rules(&records[0])
    };
    let status = |loinc: &str, answer: &str, when: Value| {
        let mut o = json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
            "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": answer}]}});
        if let (Some(o), Some(when)) = (o.as_object_mut(), when.as_object()) {
            o.extend(when.clone());
        }
        o
    };
    let not_breastfeeding = status(
        "63895-7",
        "169750002",
        json!({"effectiveDateTime": "2026-02-01"}),
    );
    let not_pregnant_then = status(
        "82810-3",
        "60001007",
        json!({"effectiveDateTime": "2025-06-01"}),
    );
    // A later pregnancy dated by a period, an instant or when issued outweighs the older "no".
    for when in [
        json!({"effectivePeriod": {"start": "2026-02-01", "end": "2026-02-02"}}),
        json!({"effectiveInstant": "2026-02-01T10:00:00Z"}),
        json!({"issued": "2026-02-01T10:00:00Z"}),
    ] {
        let pregnant = status("82810-3", "77386006", when.clone());
        let (v, rules) = verdict(vec![
            not_breastfeeding.clone(),
            not_pregnant_then.clone(),
            pregnant,
        ]);
        assert_eq!(v, "reject", "{when}: {rules:?}");
    }
    // A "not pregnant" six years old says nothing of today: the status is unknown, a warning.
    let long_ago = status(
        "82810-3",
        "60001007",
        json!({"effectiveDateTime": "2020-01-01"}),
    );
    assert_eq!(verdict(vec![not_breastfeeding.clone(), long_ago]).0, "warn");
    // A pregnancy Condition that abated is over, whatever its status says; weeks of gestation
    // (ICD-10-CM Z3A) or SNOMED CT's normal pregnancy is one.
    let condition = |coding: Value, more: Value| {
        let mut c = json!({"resourceType": "Condition", "code": {"coding": [coding]}});
        if let (Some(c), Some(more)) = (c.as_object_mut(), more.as_object()) {
            c.extend(more.clone());
        }
        c
    };
    let not_pregnant_now = status(
        "82810-3",
        "60001007",
        json!({"effectiveDateTime": "2026-02-01"}),
    );
    let abated = condition(
        json!({"system": "http://hl7.org/fhir/sid/icd-10", "code": "Z34.90"}),
        json!({"abatementDateTime": "2026-01-15"}),
    );
    let (v, rules) = verdict(vec![
        not_breastfeeding.clone(),
        not_pregnant_now.clone(),
        abated,
    ]);
    assert_eq!(v, "ok", "{rules:?}");
    for coding in [
        json!({"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "Z3A.30"}),
        json!({"system": "http://snomed.info/sct", "code": "72892002"}),
    ] {
        let pregnancy = condition(coding.clone(), json!({}));
        let (v, rules) = verdict(vec![
            not_breastfeeding.clone(),
            not_pregnant_then.clone(),
            pregnancy,
        ]);
        assert_eq!(v, "reject", "{coding}: {rules:?}");
    }
}

#[test]
fn timing_read_at_its_worst_and_a_period_or_duration_without_a_unit_is_not_guessed() {
    let tablet = "Diclofenac 50 mg oral tablet";
    let fifty = |timing: Value| json!({"timing": timing, "doseAndRate": [{"doseQuantity": {"value": 50, "code": "mg"}}]});
    let over = "diclofenac.tablet.dosage.over_15.dose_per_day.max";
    // A code and a repeat that disagree, or times of day beyond the frequency: the most.
    let qid_once = json!({"code": {"coding": [{"code": "QID"}]},
        "repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}});
    let four_times = json!({"repeat": {"frequency": 1, "period": 1, "periodUnit": "d",
        "timeOfDay": ["08:00:00", "12:00:00", "16:00:00", "20:00:00"]}});
    let four_events = json!({"repeat": {"frequency": 1, "period": 1, "periodUnit": "d",
        "when": ["MORN", "NOON", "EVE", "NIGHT"]}});
    for timing in [qid_once, four_times, four_events] {
        let rules = rules_of(tablet, fifty(timing.clone()), json!({}));
        assert!(rules.contains(over), "{timing}: {rules:?}");
    }
    // A site's own timing code is no count of times a day (`5`, shown as `BID`).
    let local = json!({"code": {"coding": [{"system": "urn:oid:1.2.840.114350.1.13.0.1.7.10.798268.30", "code": "5", "display": "BID"}], "text": "BID"},
        "repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}});
    let rules = rules_of(tablet, fifty(local), json!({}));
    assert!(!rules.contains(over), "{rules:?}");
    // A period without its unit, a frequency without its period, a duration without a unit.
    let invalid = "input.fhir";
    for timing in [
        json!({"repeat": {"frequency": 1, "period": 4}}),
        json!({"repeat": {"frequency": 3}}),
    ] {
        let rules = rules_of(tablet, fifty(timing.clone()), json!({}));
        assert!(rules.contains(invalid), "{timing}: {rules:?}");
    }
    let injection = "Diclofenac 75 mg/3 ml injection";
    let twice = |bounds: Value| {
        let mut repeat = json!({"frequency": 2, "period": 1, "periodUnit": "d"});
        if let (Some(r), Some(b)) = (repeat.as_object_mut(), bounds.as_object()) {
            r.extend(b.clone());
        }
        json!({"timing": {"repeat": repeat}, "doseAndRate": [{"doseQuantity": {"value": 75, "code": "mg"}}]})
    };
    let rules = rules_of(
        injection,
        twice(json!({"boundsDuration": {"value": 2}})),
        json!({}),
    );
    assert!(rules.contains(invalid), "{rules:?}");
    // A course given as a range is read at its high end.
    let too_long = "diclofenac.injection.dosage.max_duration_days";
    let range = json!({"boundsRange": {"low": {"value": 1, "code": "d"}, "high": {"value": 5, "code": "d"}}});
    assert!(rules_of(injection, twice(range), json!({})).contains(too_long));
}

#[test]
fn several_doses_none_typed_ordered_cannot_be_told_apart() {
    let tablet = "Diclofenac 50 mg oral tablet";
    let typed = |code: &str, dose: Value| json!({"type": {"coding": [{"code": code}]}, "doseQuantity": dose});
    let dosage = |entries: Value| json!({"timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}}, "doseAndRate": entries});
    let mg = json!({"value": 50, "code": "mg"});
    let tablets = json!({"value": 2, "unit": "tablet", "code": "{tbl}"});
    let calculated_first = json!([
        typed("calculated", mg.clone()),
        typed("admin-amount", tablets.clone())
    ]);
    let rules = rules_of(tablet, dosage(calculated_first), json!({}));
    assert!(rules.contains("input.fhir"), "{rules:?}");
    // The one typed `ordered` is the dose, wherever it is; the same dose twice is one.
    let ordered_second = json!([typed("calculated", mg.clone()), typed("ordered", tablets)]);
    let rules = rules_of(tablet, dosage(ordered_second), json!({}));
    assert!(
        rules.contains("diclofenac.tablet.dosage.over_15.dose_per_day.max"),
        "{rules:?}"
    );
    let grams = json!({"value": 0.05, "code": "g"});
    let in_grams = json!([
        typed("calculated", mg.clone()),
        typed("admin-amount", grams)
    ]);
    let rules = rules_of(tablet, dosage(in_grams), json!({}));
    assert!(!rules.contains("input.fhir"), "{rules:?}");
    let twice = json!([typed("calculated", mg.clone()), typed("admin-amount", mg)]);
    let rules = rules_of(tablet, dosage(twice), json!({}));
    assert!(!rules.contains("input.fhir"), "{rules:?}");
}

#[test]
fn a_medication_the_patient_says_they_take_counts_as_another_drug() {
    let order = draft(
        "Nimesulide 100 mg tablet",
        2,
        json!({"value": 100, "code": "mg"}),
    );
    let patient = json!({"resourceType": "Patient", "gender": "male", "birthDate": "1986-05-01"});
    let rules = |status: &str| {
        let statement = json!({"resourceType": "MedicationStatement", "id": "ms1", "status": status,
            "medicationCodeableConcept": {"text": "Ibuprofen 400 mg tablet"}});
        let doc = json!({"resourceType": "Bundle", "entry": [{"resource": patient}, {"resource": order}, {"resource": statement}]});
        let (_, records) = check_fhir(&doc.to_string());
        verdict_and_rules(&records[0])
    };
    let (verdict, found) = rules("active");
    assert_eq!(verdict, "warn", "{found:?}");
    assert!(
        found.iter().any(|r| r.contains("duplicate_therapy")),
        "{found:?}"
    );
    let (verdict, found) = rules("completed");
    assert_eq!(verdict, "ok", "{found:?}");
}

#[test]
fn a_strength_written_without_a_space_in_the_name_is_read() {
    let times = |n: u32, dose: Value| {
        json!({"timing": {"repeat": {"frequency": n, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [{"doseQuantity": dose}]})
    };
    let cm = json!({"value": 10, "code": "cm"});
    // Four times a day is the 5 % ointment's use, three the 10 %'s most.
    let rules = rules_of("Indomethacin 5% ointment", times(4, cm.clone()), json!({}));
    assert!(
        !rules.iter().any(|r| r.contains("times_per_day")),
        "{rules:?}"
    );
    let rules = rules_of("Indomethacin 10% ointment", times(4, cm), json!({}));
    assert!(
        rules.contains("indomethacin.gel.dosage.10_percent.times_per_day.max"),
        "{rules:?}"
    );
    let tablet = json!({"value": 1, "code": "{tbl}"});
    let rules = rules_of("Diclofenac 50mg tablet", times(3, tablet), json!({}));
    assert!(!rules.iter().any(|r| r.starts_with("input.")), "{rules:?}");
}

#[test]
fn a_route_that_does_not_fit_the_form_is_invalid() {
    let route = |code: &str, display: &str| json!({"coding": [{"system": "http://snomed.info/sct", "code": code, "display": display}]});
    let dosage = |route: Value, dose: Value, per_day: u32| {
        json!({"route": route,
        "timing": {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d", "boundsDuration": {"value": 2, "code": "d"}}},
        "doseAndRate": [{"doseQuantity": dose}]})
    };
    let mg = |n: u32| json!({"value": n, "code": "mg"});
    let intravenous = route("47625008", "Intravenous route");
    for (medication, dose, per_day) in [
        ("Diclofenac 50 mg oral tablet", mg(50), 2),
        ("Diclofenac 75 mg/3 ml injection", mg(75), 2),
    ] {
        let rules = rules_of(
            medication,
            dosage(intravenous.clone(), dose, per_day),
            json!({}),
        );
        assert!(rules.contains("input.fhir"), "{medication}: {rules:?}");
    }
    let gel_by_mouth = dosage(
        route("26643006", "Oral route"),
        json!({"value": 4, "code": "g"}),
        3,
    );
    assert!(rules_of("Voltaren gel", gel_by_mouth, json!({})).contains("input.fhir"));
    // The route the form is given by is no finding.
    let intramuscular = dosage(route("78421000", "Intramuscular route"), mg(75), 2);
    let rules = rules_of("Diclofenac 75 mg/3 ml injection", intramuscular, json!({}));
    assert!(!rules.contains("input.fhir"), "{rules:?}");
    // A route in the medication's name counts too: an oral solution is no injection.
    let no_route = json!({"timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}},
        "doseAndRate": [{"doseQuantity": {"value": 1, "code": "mL"}}]});
    let oral_solution = "Diclofenac potassium 50 mg/mL oral solution";
    let rules = rules_of(oral_solution, no_route, json!({}));
    assert!(rules.contains("input.fhir"), "{rules:?}");
    assert!(
        !rules.iter().any(|r| r.starts_with("diclofenac.injection")),
        "{rules:?}"
    );
    let tablet = dosage(json!(null), mg(50), 2);
    let rules = rules_of("Diclofenac Sodium 50 MG Oral Tablet", tablet, json!({}));
    assert!(!rules.contains("input.fhir"), "{rules:?}");
}

#[test]
fn a_condition_named_after_one_no_rule_is_about_is_not_checked_by_hand() {
    let condition = |code: &str, display: &str| {
        json!({"resourceType": "Condition", "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": code, "display": display}]}})
    };
    let patient = json!({"resourceType": "Patient", "gender": "male", "birthDate": "1986-05-01"});
    let order = json!({"resourceType": "MedicationRequest", "id": "o", "status": "draft", "authoredOn": AS_OF,
        "medicationCodeableConcept": {"text": "Diclofenac 50 mg oral tablet"},
        "dosageInstruction": [{"timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [{"doseQuantity": {"value": 50, "code": "mg"}}]}]});
    let doc = json!({"resourceType": "Bundle", "entry": [{"resource": patient}, {"resource": order},
        {"resource": condition("59621000", "Essential hypertension (disorder)")},
        {"resource": condition("69896004", "Rheumatoid arthritis (disorder)")}]});
    let (_, records) = check_fhir(&doc.to_string());
    assert_eq!(records[0]["verdict"], "ok", "{}", records[0]);
}
