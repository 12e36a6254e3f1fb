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
    // With the volume of one ampoule, the count converts: 2 x 3 ml x 25 mg/ml = 150 mg.
    for (volume, verdict) in [("3 ml", "reject"), ("1.5 ml", "ok")] {
        let mut args = inj.to_vec();
        args.extend(["--strength", "25 mg/ml", "--dose", "2 ampoules"]);
        args.extend(["--unit-volume", volume]);
        args.extend(ADULT);
        let (_, answer) = json(&args);
        assert_eq!(answer["verdict"], verdict, "{volume}: {answer}");
    }
    // A unit volume that is not a volume is invalid, naming the field.
    let mut args = inj.to_vec();
    args.extend(["--strength", "25 mg/ml", "--dose", "2 ampoules"]);
    args.extend(["--unit-volume", "3 mg"]);
    args.extend(ADULT);
    let (_, answer) = json(&args);
    assert_eq!(answer["verdict"], "invalid", "{answer}");
    assert!(rules_of(&answer).contains(&"input.unit_volume".to_string()));
}

#[test]
fn pregnancy_and_breastfeeding_are_asked_only_of_who_could_be() {
    let tablet = [
        "--drug",
        "diclofenac",
        "--form",
        "tablet",
        "--dose",
        "50 mg",
        "--times-per-day",
        "3",
    ];
    let pregnancy = "diclofenac_tablet_contraindications.pregnancy.weeks_28_45".to_string();
    // Pregnancy status left out: asked of women and of patients whose sex is not given, within
    // 10-55 years; not of men, nor of children or older patients.
    // (A child of 9 gets a warning of its own: the reference gives no tablet dose under 16.)
    for (sex, age, asked, verdict) in [
        ("female", "30", true, "warn"),
        ("F", "30", true, "warn"),
        ("ж", "30", true, "warn"),
        ("w", "55", true, "warn"),
        ("unknown", "30", true, "warn"),
        ("", "30", true, "warn"),
        ("male", "30", false, "ok"),
        ("M", "30", false, "ok"),
        ("м", "30", false, "ok"),
        ("female", "56", false, "ok"),
        ("", "9", false, "warn"),
    ] {
        let mut args = tablet.to_vec();
        args.extend(["--age-years", age]);
        if !sex.is_empty() {
            args.extend(["--sex", sex]);
        }
        let (_, answer) = json(&args);
        assert_eq!(
            rules_of(&answer).contains(&pregnancy),
            asked,
            "sex {sex:?}, {age}: {answer}"
        );
        assert_eq!(answer["verdict"], verdict, "sex {sex:?}, {age}: {answer}");
    }
    // Indomethacin has a breastfeeding rule: not asked of a man either.
    let indomethacin = [
        "--drug",
        "indomethacin",
        "--form",
        "tablet",
        "--dose",
        "25 mg",
        "--times-per-day",
        "3",
        "--age-years",
        "40",
        "--pregnant",
        "no",
    ];
    let asked = |sex: &str| {
        let mut args = indomethacin.to_vec();
        args.extend(["--sex", sex]);
        let (_, answer) = json(&args);
        answer["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["category"] == "breastfeeding")
    };
    assert!(asked("female"));
    assert!(!asked("male"));
    // A man recorded as pregnant is invalid input; an unreadable sex too.
    for (sex, pregnant) in [("male", "yes"), ("maybe", "no")] {
        let mut args = tablet.to_vec();
        args.extend(["--age-years", "30", "--sex", sex, "--pregnant", pregnant]);
        let (code, answer) = json(&args);
        assert_eq!((code, answer["verdict"].as_str().unwrap()), (2, "invalid"));
        assert!(
            rules_of(&answer).contains(&"input.sex".to_string()),
            "{answer}"
        );
    }
}

#[test]
fn dates_in_another_format_are_read_only_when_it_is_given() {
    let tablet = [
        "--drug",
        "nimesulide",
        "--form",
        "tablet",
        "--dose",
        "100 mg",
        "--times-per-day",
        "2",
        "--sex",
        "m",
    ];
    // 11.05.2015 is 11 May 2015: 11 years old on 2026-11-24, under nimesulide's 12.
    let mut args = tablet.to_vec();
    args.extend(["--birth-date", "11.05.2015", "--date-format", "%d.%m.%Y"]);
    let (_, answer) = json(&args);
    assert!(
        rules_of(&answer).contains(&"nimesulide.min_age".to_string()),
        "{answer}"
    );
    // Read as month first, 05/11/2014 is 11 May 2014: 12 years old, no age finding.
    let mut args = tablet.to_vec();
    args.extend(["--birth-date", "05/11/2014", "--date-format", "%m/%d/%Y"]);
    let (_, answer) = json(&args);
    assert_eq!(answer["verdict"], "ok", "{answer}");
    // Without the format, such a date is never guessed.
    let mut args = tablet.to_vec();
    args.extend(["--birth-date", "11.05.2015"]);
    let (_, answer) = json(&args);
    assert_eq!(answer["verdict"], "invalid", "{answer}");
    assert!(
        answer
            .to_string()
            .contains("is not a real date written YYYY-MM-DD")
    );
    // A format with a two-digit year, or that misses a part of the date, is refused.
    for format in ["%d.%m.%y", "%m.%Y"] {
        let out = check(&tablet)
            .args(["--age-years", "40", "--date-format", format])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains("four-digit year"), "{stderr}");
    }
}
