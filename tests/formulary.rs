//! Formulary authoring: lint diagnostics on fixture formularies (message, line, column), a
//! clean lint of the shipped formulary, `show` for each drug, and `formulary test`.

use assert_cmd::Command;
use rxcheck::formulary::{Formulary, Level, SourceFile};

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/formularies/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Loads a fixture and returns each diagnostic as (level, line, column, message).
fn diagnostics(name: &str) -> Vec<(Level, usize, usize, String)> {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    let file = SourceFile {
        name: name.to_string(),
        text,
    };
    let diagnostics = match Formulary::load(&[file]) {
        Ok(f) => f.warnings,
        Err(e) => e.diagnostics,
    };
    let mut all: Vec<_> = diagnostics
        .into_iter()
        .map(|d| (d.level, d.line, d.column, d.message))
        .collect();
    all.sort_by_key(|d| (d.1, d.2));
    all
}

fn rxcheck() -> Command {
    let mut cmd = Command::cargo_bin("rxcheck").unwrap();
    cmd.env("NO_COLOR", "1").env_remove("RXCHECK_FORMULARY");
    cmd
}

/// What `formulary lint` prints of a formulary that does not load (it exits 3).
fn failing_lint(path: impl AsRef<std::ffi::OsStr>) -> String {
    let out = rxcheck()
        .args(["formulary", "lint"])
        .arg(path)
        .assert()
        .code(3);
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

use Level::{Error, Warning};

#[test]
fn schema_errors_are_all_reported() {
    assert_eq!(
        diagnostics("schema.toml"),
        vec![
            (
                Error,
                19,
                52,
                "severity `rejekt` is not one of `info`, `warn`, `reject`".to_string()
            ),
            (Error, 23, 1, "unknown key `max_dayly_dose`".to_string()),
            (
                Error,
                28,
                9,
                "invalid type: string \"K25\", expected a sequence".to_string()
            ),
        ]
    );
}

#[test]
fn range_errors() {
    assert_eq!(
        diagnostics("ranges.toml"),
        vec![
            (Error, 14, 21, "minimum age 131 is outside 0-130".to_string()),
            (Error, 16, 1, "pregnancy rules `x.tablet.pregnancy.weeks_0_30` (warn) and `x.tablet.pregnancy.weeks_28_45` (reject) of `x.tablet` overlap with different severities".to_string()),
            (Error, 22, 31, "gestational week 46 is outside 0-45".to_string()),
            (Error, 27, 27, "dose_per_administration: min 100 mg is above max 50 mg".to_string()),
            (Error, 28, 24, "dose `0 mg` must be greater than zero".to_string()),
            (Error, 29, 25, "times per day 0 is outside 1-1000".to_string()),
        ]
    );
}

#[test]
fn consistency_errors_and_warnings() {
    assert_eq!(
        diagnostics("consistency.toml"),
        vec![
            (Warning, 17, 12, "class member `ibuprofen` is the formulary drug `ibuprofen`".to_string()),
            (Error, 21, 12, "class `nsaids` is not defined".to_string()),
            (Error, 22, 9, "rule set `nsaid_rules` is not defined".to_string()),
            (Error, 23, 36, "condition `gi_ulcr` is not defined".to_string()),
            (Error, 31, 35, "`10 cm` is a length, but the form's doses are measured in mass".to_string()),
            (Error, 32, 10, "source `dosis` is not defined".to_string()),
            (Warning, 34, 1, "`x.tablet.dosage.never_reached`: the daily maximum 200 mg can never be reached (50 mg x 2 = 100 mg)".to_string()),
            (Warning, 41, 1, "`x.tablet.dosage.always_exceeded`: the daily maximum 150 mg is always exceeded (100 mg x 2 = 200 mg)".to_string()),
            (Error, 50, 12, "name `x` maps to two drugs, `x` and `y`".to_string()),
            (Error, 71, 18, "dose dimension `weight` is not one of `mass`, `volume`, `length`, `count`".to_string()),
            (Error, 74, 24, "`5 kg` has no known unit".to_string()),
        ]
    );
}

#[test]
fn a_missing_required_key_is_an_error() {
    assert_eq!(
        diagnostics("missing.toml"),
        vec![(Error, 9, 11, "missing field `source`".to_string())]
    );
}

#[test]
fn syntax_errors_are_located_and_do_not_hide_the_rest() {
    let found = diagnostics("syntax.toml");
    assert_eq!(
        found.first(),
        Some(&(Error, 4, 6, "key with no value, expected `=`".to_string())),
        "{found:?}"
    );
    assert_eq!(
        found.get(1),
        Some(&(Error, 7, 1, "duplicate key `version`".to_string())),
        "{found:?}"
    );
    assert!(
        !found.iter().any(|d| d.3.contains("no `[formulary]` table")),
        "{found:?}"
    );
}

#[test]
fn a_file_that_cannot_be_read_whole_is_the_only_thing_reported() {
    // The shipped formulary with one array left open: the parser finds out only on a later
    // line. That file's error (with a hint at the open array) is the one reported, not what
    // its loss would make look missing in the other files.
    let dir = tempfile::tempdir().unwrap();
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/formulary");
    for entry in std::fs::read_dir(shipped).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let mut text = std::fs::read_to_string(&path).unwrap();
            if path.ends_with("shared.toml") {
                let open = text.find("duplicate_therapy = [").unwrap();
                let close = open + text[open..].find("\n]\n").unwrap();
                text.replace_range(close..close + 2, "");
            }
            std::fs::write(dir.path().join(path.file_name().unwrap()), text).unwrap();
        }
    }
    let text = failing_lint(dir.path());
    assert!(text.contains("shared.toml:"), "{text}");
    assert!(text.contains("lacks its closing `]`"), "{text}");
    assert!(!text.contains("is not defined"), "{text}");
    assert!(
        text.ends_with("formulary does not load: 1 error, 0 warnings\n"),
        "{text}"
    );
}

#[test]
fn lint_renders_location_snippet_caret_and_hint() {
    let text = failing_lint(fixture("consistency.toml"));
    assert!(
        text.contains("error: condition `gi_ulcr` is not defined\n  --> "),
        "{text}"
    );
    assert!(text.contains("consistency.toml:23:36\n"), "{text}");
    assert!(
        text.contains("23 | contraindications = [{ condition = \"gi_ulcr\", severity = \"reject\", source = \"dose\" }]\n   |                                    ^^^^^^^^^\n   = help: did you mean `gi_ulcer`?"),
        "{text}"
    );
    assert!(
        text.ends_with("formulary does not load: 8 errors, 3 warnings\n"),
        "{text}"
    );
}

#[test]
fn the_shipped_formulary_lints_clean() {
    let out = rxcheck().args(["formulary", "lint"]).assert().code(0);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.ends_with(": 0 errors, 0 warnings\n"), "{text}");
    rxcheck()
        .args([
            "formulary",
            "lint",
            concat!(env!("CARGO_MANIFEST_DIR"), "/formulary"),
        ])
        .assert()
        .code(0);
}

#[test]
fn a_broken_formulary_stops_check_and_batch_with_the_same_diagnostic() {
    for command in [
        vec![
            "check",
            "--drug",
            "x",
            "--form",
            "tablet",
            "--dose",
            "1 mg",
            "--times-per-day",
            "1",
        ],
        vec!["batch", "-"],
    ] {
        let out = rxcheck()
            .args(&command)
            .arg("--formulary")
            .arg(fixture("consistency.toml"))
            .write_stdin("rx_id,age_years,drug,form,dose,times_per_day\n")
            .assert()
            .code(3);
        let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
        assert!(
            err.contains("consistency.toml:21:12: error: class `nsaids` is not defined"),
            "{err}"
        );
    }
}

#[test]
fn show_each_drug() {
    for (drug, expected) in [
        ("nimesulide", "dosage: unknown"),
        ("diclofenac", "brand voltaren: Voltaren"),
        ("indomethacin", "strength 10%"),
    ] {
        let out = rxcheck().args(["formulary", "show", drug]).assert().code(0);
        let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        assert!(text.starts_with(drug), "{text}");
        assert!(text.contains(expected), "{drug}: {text}");
        assert!(text.contains("source: "), "{text}");
    }
    let out = rxcheck()
        .args(["formulary", "show", "Voltaren", "gel", "--format", "json"])
        .assert()
        .code(0);
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let form = &json[0]["forms"][0];
    assert_eq!(form["id"], "gel");
    assert_eq!(
        form["dosage"][0]["dose_per_administration"]["max"],
        "4000 mg"
    );
    assert!(
        form["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["rule"] == "diclofenac.gel.min_age")
    );
    let voltaren = json[0]["brands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == "voltaren")
        .unwrap();
    assert_eq!(
        voltaren["overrides"][0][1][0]["rule"],
        "diclofenac.voltaren.gel.min_age"
    );
    rxcheck()
        .args(["formulary", "show", "diclofenak"])
        .assert()
        .code(3)
        .stderr(predicates::str::contains("did you mean `diclofenac`?"));
}

#[test]
fn formulary_test_passes_on_the_shipped_cases() {
    let out = rxcheck().args(["formulary", "test"]).assert().code(0);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.contains(" passed, 0 failed"), "{text}");
    rxcheck()
        .args([
            "formulary",
            "test",
            concat!(env!("CARGO_MANIFEST_DIR"), "/formulary"),
        ])
        .assert()
        .code(0);
}

#[test]
fn formulary_test_fails_naming_the_case() {
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases.toml");
    std::fs::write(
        &cases,
        "[[case]]\nname = \"diclofenac 225 mg a day is fine (wrong)\"\ndrug = \"diclofenac\"\nform = \"tablet\"\ndose = \"75 mg\"\ntimes_per_day = 3\nage_years = 40\npregnant = \"no\"\nbreastfeeding = \"no\"\nexpect = \"ok\"\n",
    )
    .unwrap();
    let out = rxcheck()
        .args(["formulary", "test", "--cases"])
        .arg(&cases)
        .assert()
        .code(2);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("FAIL  diclofenac 225 mg a day is fine (wrong) ("),
        "{text}"
    );
    assert!(text.contains("cases.toml:1)"), "{text}");
    assert!(text.contains("expected `ok`, got `reject`"), "{text}");
    assert!(text.ends_with("1 cases: 0 passed, 1 failed\n"), "{text}");
}

#[test]
fn a_misspelled_case_key_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases.toml");
    std::fs::write(
        &cases,
        "[[case]]\nname = \"x\"\ndrug = \"diclofenac\"\nexpcet = \"ok\"\n",
    )
    .unwrap();
    rxcheck()
        .args(["formulary", "test", "--cases"])
        .arg(&cases)
        .assert()
        .code(3)
        .stderr(predicates::str::contains("unknown field `expcet`"));
}

#[test]
fn vocabulary_lint() {
    assert_eq!(
        diagnostics("vocabulary.toml"),
        vec![
            (Warning, 17, 1, "conditions `bleeding_ulcer` and `ulcer` both take in ICD-10 `K25.0`".to_string()),
            (Error, 19, 13, "condition name `ulcer` is also a name of `ulcer`".to_string()),
            (Error, 21, 18, "exclusion `K26.1` excludes nothing: it is not under any code of `bleeding_ulcer`".to_string()),
            (Error, 25, 37, "`ibuprofen` is listed twice in class `pain`".to_string()),
            (Error, 29, 10, "allergen name `naproxen` is also a member of a drug class".to_string()),
            (Error, 42, 30, "below_minimum severity `reject` would grade an endorsed dose above an unendorsed one".to_string()),
            (Error, 48, 52, "daily_floor `100 mg` must be below the entry's `dose_per_day.min`".to_string()),
            (Error, 51, 1, "brand `xbrand` has products of form `spray`, which drug `x` does not have".to_string()),
            (Error, 51, 1, "brand `xbrand` gives `products` or `sold_as` without a `source`".to_string()),
            (Error, 56, 1, "form name `tablet` is used twice in drug `x`".to_string()),
        ]
    );
}

#[test]
fn show_conditions_lists_names_and_codes_by_edition() {
    let out = rxcheck()
        .args(["formulary", "show", "conditions"])
        .assert()
        .code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    for expected in [
        "proctitis: proctitis\n",
        "  ICD-10: K51.2, K62.7, K62.8, A54.6, A56.3\n  except in ICD-10-CM: K62.81, K62.82\n",
        "aspirin_asthma: aspirin-induced (NSAID-exacerbated) asthma\n  also named: aspirin asthma,",
        "  implies: nsaid_intolerance, bronchial_asthma\n",
    ] {
        assert!(text.contains(expected), "`{expected}` not in:\n{text}");
    }
    let out = rxcheck()
        .args(["formulary", "show", "conditions", "--format", "json"])
        .assert()
        .code(0);
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let proctitis = json
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "proctitis")
        .unwrap();
    assert_eq!(
        proctitis["icd10_cm_exclude"],
        serde_json::json!(["K62.81", "K62.82"])
    );
    assert_eq!(proctitis["synonyms"], serde_json::json!(["проктит"]));
}

#[test]
fn codes_lint() {
    assert_eq!(
        diagnostics("codes.toml"),
        vec![
            (
                Error,
                15,
                11,
                "SNOMED CT `13200003` is given for conditions `ulcer` and `asthma`".to_string()
            ),
            (
                Error,
                15,
                23,
                "`12847007` is not a SNOMED CT concept id".to_string()
            ),
            (Error, 23, 7, "`M01AB5` is not an ATC code".to_string()),
            (
                Error,
                26,
                29,
                "RxNorm `855943` names form `spray`, which drug `x` does not have".to_string()
            ),
            (
                Error,
                27,
                47,
                "RxNorm `855944` names brand `nobrand`, which drug `x` does not have".to_string()
            ),
            (Error, 28, 12, "`85594X` is not an RxNorm code".to_string()),
            (
                Error,
                29,
                12,
                "RxNorm code `855942` is given twice for `x`".to_string()
            ),
            (
                Error,
                44,
                7,
                "ATC code `M02AA15` is given for `y` and for `x.tablet`".to_string()
            ),
            (
                Error,
                53,
                10,
                "`nothing known` is not a drug, substance, class or allergen of the formulary"
                    .to_string()
            ),
            (Error, 54, 9, "`12a` is not an RxNorm code".to_string()),
            (
                Error,
                60,
                13,
                "`[codes.atc]` names no terminology rxcheck reads".to_string()
            ),
        ]
    );
}

/// `formulary show rules` lists every rule a finding can cite, once: every rule id of the
/// compact records of the bench samples (both modes) is in it.
#[test]
fn show_rules_lists_every_rule_a_record_can_cite_once() {
    let bin = env!("CARGO_BIN_EXE_rxcheck");
    let out = std::process::Command::new(bin)
        .args(["formulary", "show", "rules", "--format", "json"])
        .env_remove("RXCHECK_FORMULARY")
        .env_remove("RXCHECK_SITE")
        .output()
        .unwrap();
    let rules: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["rule"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.dedup();
    assert_eq!(ids, sorted, "sorted, each once");
    for r in &rules {
        assert!(!r["source"].as_str().unwrap().is_empty(), "{r}");
    }
    let mut seen = std::collections::BTreeSet::new();
    for file in ["heavy", "realistic", "placeholder"] {
        for mode in ["--by-patient", "--no-by-patient"] {
            let path = format!(
                "{}/tests/fixtures/bench/{file}.csv",
                env!("CARGO_MANIFEST_DIR")
            );
            let out = std::process::Command::new(bin)
                .args(["batch", "--detail", "compact", "--format", "jsonl", "-q"])
                .args(["--as-of", "2026-11-25", mode, &path])
                .env_remove("RXCHECK_FORMULARY")
                .env_remove("RXCHECK_SITE")
                .output()
                .unwrap();
            for line in String::from_utf8(out.stdout).unwrap().lines() {
                let record: serde_json::Value = serde_json::from_str(line).unwrap();
                for f in record["findings"].as_array().unwrap() {
                    let shown = f[1].as_str().unwrap();
                    seen.insert(shown.split('(').next().unwrap().to_string());
                }
            }
        }
    }
    assert!(seen.len() > 50, "{seen:?}");
    let missing: Vec<&String> = seen.iter().filter(|r| !ids.contains(&r.as_str())).collect();
    assert!(missing.is_empty(), "not listed: {missing:?}");
}
