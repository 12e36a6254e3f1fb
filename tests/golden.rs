//! Golden outputs of the real binary, kept as snapshot files under `tests/snapshots/` and
//! compared byte for byte: the whole report of the example batch in every format, the worked
//! examples, the formulary description and a set of `check` invocations. A change of output
//! shows up here as a diff to accept on purpose (`cargo insta review`), never by accident.

use assert_cmd::Command;

/// Runs the binary and returns its exit code, stdout and stderr as one text.
fn run(args: &[&str]) -> String {
    let out = Command::cargo_bin("rxcheck")
        .unwrap()
        .env("NO_COLOR", "1")
        .env_remove("RXCHECK_FORMULARY")
        .args(args)
        .output()
        .unwrap();
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn snapshot(name: &str, args: &[&str]) {
    insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(name, run(args));
    });
}

const EXAMPLES: &str = "examples/prescriptions.csv";
const AS_OF: [&str; 2] = ["--as-of", "2026-11-24"];

#[test]
fn batch_examples_in_every_format() {
    for format in ["jsonl", "csv", "text"] {
        let args = [&["batch", EXAMPLES, "--format", format][..], &AS_OF].concat();
        snapshot(&format!("batch_{format}"), &args);
    }
    let row_by_row = [
        &["batch", EXAMPLES, "--format", "jsonl", "--no-by-patient"][..],
        &AS_OF,
    ]
    .concat();
    snapshot("batch_jsonl_row_by_row", &row_by_row);
}

/// The benchmark's samples: full output, row by row and by patient, pinned byte for byte.
#[test]
fn bench_samples_full_output() {
    let dir = "tests/fixtures/bench";
    for (name, row_by_row) in [
        ("realistic", true),
        ("heavy", true),
        ("realistic_sorted", false),
        ("placeholder", false),
    ] {
        let file = format!("{dir}/{name}.csv");
        let by_patient = [&["batch", &file, "--format", "jsonl"][..], &AS_OF].concat();
        snapshot(&format!("bench_{name}_by_patient"), &by_patient);
        if row_by_row {
            let args = [
                &["batch", &file, "--format", "jsonl", "--no-by-patient"][..],
                &AS_OF,
            ]
            .concat();
            snapshot(&format!("bench_{name}_row_by_row"), &args);
        }
    }
}

#[test]
fn formulary_worked_examples_and_description() {
    snapshot("formulary_test_verbose", &["formulary", "test", "-v"]);
    snapshot("formulary_show", &["formulary", "show"]);
    snapshot(
        "formulary_show_json",
        &["formulary", "show", "--format", "json"],
    );
}

/// Each `check` invocation: a name and its flags after `check --as-of`.
#[rustfmt::skip]
const CHECKS: &[(&str, &[&str])] = &[
    (
        "check_ok_diclofenac_tablet",
        &[
            "--drug", "diclofenac", "--form", "tablet", "--dose", "50 mg", "--times-per-day", "3",
            "--duration-days", "7", "--age-years", "40", "--pregnant", "no", "--breastfeeding",
            "no",
        ],
    ),
    (
        "check_reject_many_findings",
        &[
            "--rx-id", "RX-9", "--drug", "Voltaren", "--form", "tablet", "--strength", "50 mg",
            "--dose", "4 tablets", "--times-per-day", "4", "--birth-date", "2015-02-03",
            "--pregnant", "yes", "--gestational-week", "30", "--breastfeeding", "yes",
            "--condition", "K25.4;J45", "--allergy", "ibuprofen", "--co-medication",
            "methotrexate;naproxen;ibuprofn",
        ],
    ),
    (
        "check_unknown_statuses",
        &[
            "--drug", "indomethacin", "--form", "suppository", "--dose", "50-100 mg",
            "--times-per-day", "2", "--age-years", "30",
        ],
    ),
    (
        "check_invalid_fields",
        &[
            "--drug", "diclofenc", "--form", "tablet", "--dose", "lots", "--times-per-day", "0",
            "--age-years", "200", "--date", "2026-02-30", "--pregnant", "maybe",
        ],
    ),
    (
        "check_injection_ampoules",
        &[
            "--drug", "diclofenac", "--form", "injection", "--dose", "1 ampoule",
            "--times-per-day", "2", "--age-years", "16", "--pregnant", "no", "--breastfeeding",
            "no", "--condition", "hemophilia",
        ],
    ),
    (
        "check_gel_strip_and_strength",
        &[
            "--drug", "indomethacin", "--form", "ointment", "--dose", "25 cm", "--times-per-day",
            "5", "--age-years", "8", "--condition", "S81.0",
        ],
    ),
    (
        "check_nimesulide_ointment_json",
        &[
            "--drug", "Nise", "--form", "gel", "--dose", "2 g", "--times-per-day", "2",
            "--age-years", "13", "--pregnant", "unknown", "--co-medication", "paracetamol",
            "--format", "json",
        ],
    ),
    (
        "check_child_tablet_json",
        &[
            "--drug", "diclofenac", "--form", "tablets", "--dose", "25 mg", "--times-per-day", "2",
            "--age-years", "10", "--pregnant", "no", "--breastfeeding", "no", "--format", "json",
        ],
    ),
];

#[test]
fn check_invocations() {
    for (name, flags) in CHECKS {
        let args = [&["check"][..], &AS_OF, flags].concat();
        snapshot(name, &args);
    }
}
