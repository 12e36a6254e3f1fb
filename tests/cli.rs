//! The real binary: verdicts, output formats and exit codes.

use assert_cmd::Command;
use serde_json::Value;

fn rxcheck() -> Command {
    let mut cmd = Command::cargo_bin("rxcheck").unwrap();
    cmd.env("NO_COLOR", "1").env_remove("RXCHECK_FORMULARY");
    cmd
}

fn check(args: &[&str]) -> Command {
    let mut cmd = rxcheck();
    cmd.arg("check").args(["--as-of", "2026-11-24"]).args(args);
    cmd
}

const ADULT: [&str; 6] = [
    "--age-years",
    "40",
    "--pregnant",
    "no",
    "--breastfeeding",
    "no",
];

fn json(args: &[&str]) -> (i32, Value) {
    let out = check(args).args(["--format", "json"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "one line of JSON: {text}");
    (
        out.status.code().unwrap(),
        serde_json::from_str(&text).unwrap(),
    )
}

#[test]
fn ok_exits_0_with_a_readable_report() {
    let out = check(&[
        "--drug",
        "diclofenac",
        "--form",
        "tablet",
        "--dose",
        "50 mg",
        "--times-per-day",
        "3",
        "--duration-days",
        "7",
    ])
    .args(ADULT)
    .assert()
    .code(0);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.starts_with("OK\n"), "{text}");
    assert!(text.contains("source: Diclofenac: \"Pills."), "{text}");
    assert!(!text.contains('\x1b'), "no colour with NO_COLOR: {text:?}");
}

#[test]
fn warn_exits_1() {
    let (code, v) = json(&[
        "--drug",
        "nimesulide",
        "--form",
        "tablet",
        "--dose",
        "100 mg",
        "--times-per-day",
        "2",
        "--age-years",
        "30",
    ]);
    assert_eq!(code, 1);
    assert_eq!(v["verdict"], "warn");
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["category"] == "pregnancy")
    );
}

#[test]
fn reject_exits_2_and_json_has_every_field() {
    let mut args = vec![
        "--rx-id",
        "RX-7",
        "--drug",
        "Voltaren",
        "--form",
        "gel",
        "--dose",
        "2 g",
        "--times-per-day",
        "3",
    ];
    args.extend(["--age-years", "11", "--pregnant", "no"]);
    let (code, v) = json(&args);
    assert_eq!(code, 2);
    assert_eq!(v["rx_id"], "RX-7");
    assert_eq!(v["verdict"], "reject");
    let finding = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["category"] == "age")
        .unwrap()
        .clone();
    assert_eq!(finding["severity"], "reject");
    assert_eq!(finding["rule"], "diclofenac.voltaren.gel.min_age");
    assert!(finding["message"].as_str().unwrap().contains("11 years"));
    assert!(finding["source"].as_str().unwrap().contains("Voltaren-gel"));
}

#[test]
fn invalid_exits_2() {
    let (code, v) = json(&[
        "--drug",
        "diclofenac",
        "--form",
        "tablet",
        "--dose",
        "two",
        "--times-per-day",
        "3",
    ]);
    assert_eq!(code, 2);
    assert_eq!(v["verdict"], "invalid");
    let messages: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["message"].as_str())
        .collect();
    assert!(
        messages.iter().any(|m| m.contains("dose `two`")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("no age")),
        "{messages:?}"
    );
}

#[test]
fn lists_repeat_or_split_on_semicolons() {
    let (code, v) = json(&[
        "--drug",
        "nimesulide",
        "--form",
        "tablet",
        "--dose",
        "100 mg",
        "--times-per-day",
        "2",
        "--age-years",
        "40",
        "--pregnant",
        "no",
        "--condition",
        "I10;K25.4",
        "--co-medication",
        "methotrexate",
        "--co-medication",
        "amlodipine",
    ]);
    assert_eq!(code, 2);
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert!(
        rules.contains(&"nsaid_contraindications.contraindication.gi_ulcer"),
        "{rules:?}"
    );
    assert!(
        rules.contains(&"nimesulide.interaction.hepatotoxic"),
        "{rules:?}"
    );
}

#[test]
fn missing_required_flag_is_fatal_on_one_line() {
    let out = check(&[
        "--drug",
        "diclofenac",
        "--form",
        "tablet",
        "--times-per-day",
        "3",
    ])
    .assert()
    .code(3);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--dose"), "{err}");
}

#[test]
fn broken_formulary_is_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[formulary]\nname = \"x\"\nversion = \"1\"\nreference = \"r\"\n[drugs.x]\nname = \"X\"\nmax_dayly_dose = 3\n").unwrap();
    let out = check(&[
        "--drug",
        "x",
        "--form",
        "tablet",
        "--dose",
        "1 mg",
        "--times-per-day",
        "1",
    ])
    .arg("--formulary")
    .arg(&path)
    .assert()
    .code(3);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("bad.toml:5:1: error: drug `x` has no forms"),
        "{err}"
    );
    assert!(
        err.contains("(and 1 more error; run `rxcheck formulary lint` to see all)"),
        "{err}"
    );
}

#[test]
fn unreadable_formulary_is_fatal() {
    check(&[
        "--drug",
        "diclofenac",
        "--form",
        "tablet",
        "--dose",
        "50 mg",
        "--times-per-day",
        "3",
    ])
    .args(["--formulary", "no/such/formulary.toml"])
    .assert()
    .code(3)
    .stderr(predicates::str::contains("cannot read formulary"));
}

#[test]
fn formulary_folder_replaces_the_shipped_one() {
    let root = env!("CARGO_MANIFEST_DIR");
    check(&[
        "--drug",
        "diclofenac",
        "--form",
        "tablet",
        "--dose",
        "50 mg",
        "--times-per-day",
        "3",
    ])
    .args(ADULT)
    .env("RXCHECK_FORMULARY", format!("{root}/formulary"))
    .assert()
    .code(0);
}

#[test]
fn help_has_examples() {
    rxcheck()
        .args(["check", "--help"])
        .assert()
        .code(0)
        .stdout(predicates::str::contains("Examples:"));
}

/// The rule ids of a `check --format json` answer.
fn rules_of(answer: &Value) -> Vec<String> {
    answer["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn frequencies_in_the_usual_notations() {
    // 75 mg each time: twice a day is 150 mg (the maximum), three times 225 mg (above it).
    for (notation, verdict) in [
        ("bid", "ok"),
        ("BID", "ok"),
        ("q12h", "ok"),
        ("every 12 hours", "ok"),
        ("2x", "ok"),
        ("twice daily", "ok"),
        ("2 раза в день", "ok"),
        ("tid", "reject"),
        ("q8h", "reject"),
        ("3 times a day", "reject"),
    ] {
        let mut args = vec![
            "--drug",
            "diclofenac",
            "--form",
            "tablet",
            "--dose",
            "75 mg",
        ];
        args.extend(["--times-per-day", notation]);
        args.extend(ADULT);
        let (_, answer) = json(&args);
        assert_eq!(answer["verdict"], verdict, "{notation}: {answer}");
    }
    let mut args = vec![
        "--drug",
        "diclofenac",
        "--form",
        "tablet",
        "--dose",
        "75 mg",
    ];
    args.extend(["--times-per-day", "every 5 hours"]);
    args.extend(ADULT);
    let (code, answer) = json(&args);
    assert_eq!(code, 2);
    assert_eq!(answer["verdict"], "invalid");
    assert!(
        answer
            .to_string()
            .contains("every 5 hours is not a whole number of times a day")
    );
}

#[test]
fn ampoules_are_counted_only_through_a_strength_per_ampoule() {
    let inj = [
        "--drug",
        "diclofenac",
        "--form",
        "injection",
        "--times-per-day",
        "2",
        "--duration-days",
        "2",
    ];
    // `75 mg/3 ml` is what one ampoule holds: 2 ampoules are 150 mg, above the 75 mg maximum.
    let mut args = inj.to_vec();
    args.extend(["--strength", "75 mg/3 ml", "--dose", "2 ampoules"]);
    args.extend(ADULT);
    let (_, answer) = json(&args);
    assert_eq!(answer["verdict"], "reject", "{answer}");
    assert!(
        rules_of(&answer)
            .contains(&"diclofenac.injection.dosage.dose_per_administration.max".to_string())
    );
    // `25 mg/ml` does not say how much an ampoule holds: the count cannot be converted.
    let mut args = inj.to_vec();
    args.extend(["--strength", "25 mg/ml", "--dose", "2 ampoules"]);
    args.extend(ADULT);
    let (_, answer) = json(&args);
    assert_eq!(answer["verdict"], "invalid", "{answer}");
    assert!(rules_of(&answer).contains(&"input.dose".to_string()));
    // The same concentration with the dose in ml converts: 3 ml are 75 mg.
    let mut args = inj.to_vec();
    args.extend(["--strength", "25 mg/ml", "--dose", "3 ml"]);
    args.extend(ADULT);
    let (_, answer) = json(&args);
    assert_eq!(answer["verdict"], "ok", "{answer}");
}
