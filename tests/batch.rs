//! `rxcheck batch` through the real binary: input quirks, the row-count invariant, the
//! formula-injection rule, and agreement with `rxcheck check`.

use assert_cmd::Command;
use serde_json::Value;

const HEADER: &str = "rx_id,age_years,pregnant,breastfeeding,drug,form,dose,times_per_day";

fn batch(input: impl Into<Vec<u8>>, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("rxcheck")
        .unwrap()
        .env("NO_COLOR", "1")
        .env_remove("RXCHECK_FORMULARY")
        .args(["batch", "--as-of", "2026-11-24"])
        .args(args)
        .write_stdin(input.into())
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Runs a batch as JSON Lines and returns (line, rx_id, verdict) of each record.
fn records(input: impl Into<Vec<u8>>, args: &[&str]) -> Vec<(u64, String, String)> {
    let (code, stdout, stderr) = batch(input, args);
    assert!(code < 3, "fatal: {stderr}");
    stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["line"].as_u64().unwrap(),
                v["rx_id"].as_str().unwrap().to_string(),
                v["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn rec(line: u64, id: &str, verdict: &str) -> (u64, String, String) {
    (line, id.to_string(), verdict.to_string())
}

#[test]
fn plain_rows_in_order() {
    let input = format!(
        "{HEADER}\nA,40,no,no,diclofenac,tablet,50 mg,3\nB,40,no,no,diclofenac,tablet,75 mg,3\nC,40,no,no,diclofenac,tablet,two,3\n"
    );
    assert_eq!(
        records(input, &[]),
        vec![
            rec(2, "A", "ok"),
            rec(3, "B", "reject"),
            rec(4, "C", "invalid")
        ]
    );
}

#[test]
fn bom_crlf_and_quoted_newlines() {
    let input = format!(
        "\u{feff}{HEADER}\r\nA,40,no,no,diclofenac,tablet,50 mg,3\r\n\"B,1\",40,no,no,\"diclofenac\",\"tab\nlet\",50 mg,3\r\nC,40,no,no,diclofenac,tablet,\"50 mg\",3\r\n"
    );
    assert_eq!(
        records(input, &[]),
        vec![
            rec(2, "A", "ok"),
            rec(3, "B,1", "invalid"),
            rec(5, "C", "ok")
        ]
    );
}

#[test]
fn old_mac_files_end_lines_with_a_lone_cr() {
    let input = format!(
        "{HEADER}\rA,40,no,no,diclofenac,tablet,50 mg,3\rB,40,no,no,diclofenac,tablet,75 mg,3\r"
    );
    let expected = vec![rec(2, "A", "ok"), rec(3, "B", "reject")];
    // From standard input, by patient or not; the header is read up to its lone CR.
    assert_eq!(records(input.clone(), &["-"]), expected);
    let with_patient = input
        .replace("rx_id,", "rx_id,patient_id,")
        .replace("A,", "A,P1,")
        .replace("B,", "B,P2,");
    assert_eq!(records(with_patient, &["-"]), expected);
}

#[test]
fn semicolon_files_are_detected() {
    let input = "rx_id;age_years;pregnant;breastfeeding;drug;form;dose;times_per_day;conditions\nA;40;no;no;nimesulide;tablet;100 mg;2;I10\nB;40;no;no;nimesulide;tablet;100 mg;2;\"K25.4;I10\"\n";
    assert_eq!(
        records(input, &[]),
        vec![rec(2, "A", "ok"), rec(3, "B", "reject")]
    );
    assert_eq!(records(input, &["--delimiter", ";"]).len(), 2);
}

#[test]
fn ragged_rows_are_invalid_and_the_run_goes_on() {
    let input = format!(
        "{HEADER}\nA,40,no,no,diclofenac,tablet,50 mg,3,extra\nB,40,no,no,diclofenac\nD,40,no,no,diclofenac,tablet,50 mg,3\n"
    );
    assert_eq!(
        records(input.clone(), &[]),
        vec![
            rec(2, "A", "invalid"),
            rec(3, "B", "invalid"),
            rec(4, "D", "ok")
        ]
    );
    let (_, stdout, _) = batch(input, &[]);
    assert!(
        stdout.contains("row has 9 fields; the header has 8"),
        "{stdout}"
    );
}

#[test]
fn input_that_is_not_utf8_stops_at_the_line_of_its_first_bad_byte() {
    // The bad byte is inside a quoted field that runs over a line end: the line is its own.
    let mut input = format!("{HEADER}\nA,40,no,no,diclofenac,tablet,50 mg,3\n").into_bytes();
    input.extend_from_slice(b"C,40,no,no,diclofenac,\"tab\nlet\xff\",50 mg,3\n");
    let (code, stdout, stderr) = batch(input, &[]);
    assert_eq!(code, 3, "{stdout}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("line 4 is not UTF-8 (byte 0xFF)")
            && stderr.contains("--encoding windows-1252"),
        "{stderr}"
    );
}

#[test]
fn an_unbalanced_quote_does_not_swallow_the_file() {
    let input = format!(
        "{HEADER}\nA,40,no,no,diclofenac,tablet,\"50 mg,3\nB,40,no,no,diclofenac,tablet,50 mg,3\nC,40,no,no,diclofenac,tablet,50 mg,3\n"
    );
    let got = records(input, &["--max-field-bytes", "40"]);
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0].2, "invalid");
    assert_eq!(got[1], rec(3, "B", "ok"));
    assert_eq!(got[2], rec(4, "C", "ok"));
    // At the end of the input, too.
    let input = format!(
        "{HEADER}\nA,40,no,no,diclofenac,tablet,50 mg,3\nB,40,no,no,diclofenac,tablet,\"50 mg,3\n"
    );
    assert_eq!(
        records(input, &[]),
        vec![rec(2, "A", "ok"), rec(3, "B", "invalid")]
    );
}

#[test]
fn missing_column_is_fatal_and_writes_nothing() {
    let (code, stdout, stderr) = batch(
        "rx_id,age_years,drug,form,times_per_day\nA,40,diclofenac,tablet,3\n",
        &[],
    );
    assert_eq!(code, 3);
    assert!(stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no `dose` column"), "{stderr}");
    let (code, _, stderr) = batch("rx_id,drug,form,dose,times_per_day\n", &[]);
    assert_eq!(code, 3);
    assert!(stderr.contains("birth_date"), "{stderr}");
}

#[test]
fn header_only_is_a_success_and_empty_input_is_fatal() {
    let (code, stdout, _) = batch(format!("{HEADER}\n"), &[]);
    assert_eq!((code, stdout.as_str()), (0, ""));
    let (code, _, stderr) = batch("", &[]);
    assert_eq!(code, 3, "{stderr}");
}

#[test]
fn unreadable_file_is_fatal() {
    let (code, _, stderr) = batch("", &["no/such/file.csv"]);
    assert_eq!(code, 3);
    assert!(stderr.contains("cannot open"), "{stderr}");
}

#[test]
fn uncovered_drugs_are_invalid_or_skipped() {
    let input = format!(
        "{HEADER}\nA,40,no,no,paracetamol,tablet,500 mg,3\nB,40,no,no,diclofenac,tablet,50 mg,3\n"
    );
    assert_eq!(
        records(input.clone(), &[]),
        vec![rec(2, "A", "invalid"), rec(3, "B", "ok")]
    );
    assert_eq!(
        records(input.clone(), &["--skip-uncovered"]),
        vec![rec(2, "A", "skipped"), rec(3, "B", "ok")]
    );
    let (code, _, stderr) = batch(input, &["--skip-uncovered"]);
    assert_eq!(code, 0);
    assert!(stderr.contains("1 skipped"), "{stderr}");
    // A near miss of a formulary drug, or a name that starts with one, may be one: checked
    // (and invalid), never skipped.
    let input = format!(
        "{HEADER}\nC,40,no,no,diclofenak,tablet,150 mg,3\nD,40,no,no,Diclofenac Sodium 75 MG Oral Tablet,tablet,150 mg,3\nE,40,no,no,diclofenak 50 mg,tablet,150 mg,3\n"
    );
    assert_eq!(
        records(input, &["--skip-uncovered"]),
        vec![
            rec(2, "C", "invalid"),
            rec(3, "D", "invalid"),
            rec(4, "E", "invalid")
        ]
    );
    // Other drugs whose names are near a formulary brand's are other drugs: `Nix` is not
    // `Nise`, `Methadol` not `Metindol`.
    let input =
        format!("{HEADER}\nF,40,no,no,Nix,cream,1 g,1\nG,40,no,no,Methadol,tablet,10 mg,1\n");
    assert_eq!(
        records(input, &["--skip-uncovered"]),
        vec![rec(2, "F", "skipped"), rec(3, "G", "skipped")]
    );
    // A maker's name after the drug's, or a misspelling at one edit, is the drug's.
    let input = format!(
        "{HEADER}\nH,40,no,no,Diclofenac-Teva,tablet,50 mg,3\nI,40,no,no,DiclofenacTeva,tablet,50 mg,3\nJ,40,no,no,dicofenac,tablet,50 mg,3\nK,40,no,no,nimsulide,tablet,50 mg,3\n"
    );
    let records = records(input, &["--skip-uncovered"]);
    assert!(records.iter().all(|r| r.2 == "invalid"), "{records:?}");
}

#[test]
fn csv_output_neutralises_formulas() {
    let input = format!(
        "{HEADER}\n=HYPERLINK(\"x\"),40,no,no,diclofenac,tablet,50 mg,3\n-2,40,no,no,diclofenac,tablet,50 mg,3\n"
    );
    let (_, stdout, _) = batch(input, &["--format", "csv"]);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0],
        "line,rx_id,verdict,findings,patient_id,invalid,reject,warn,info,details"
    );
    assert!(
        lines[1].starts_with("2,\"'=HYPERLINK(\"\"x\"\")\",ok,"),
        "{}",
        lines[1]
    );
    assert!(lines[2].starts_with("3,\"'-2\",ok,"), "{}", lines[2]);
}

#[test]
fn the_example_file_keeps_every_row_in_order() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/prescriptions.csv");
    let text = std::fs::read_to_string(path).unwrap();
    let rows = text.lines().count() - 1;
    let got = records(text.clone(), &[]);
    assert_eq!(got.len(), rows);
    let ids: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(got.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(), ids);
    for verdict in ["ok", "warn", "reject", "invalid"] {
        assert!(
            got.iter().any(|r| r.2 == verdict),
            "the example has a {verdict} row"
        );
    }
    // Reading the file by name gives the same as standard input, single-threaded too.
    let (_, from_file, _) = batch("", &[path]);
    let (_, single, _) = batch("", &[path, "--threads", "1"]);
    let (_, from_stdin, _) = batch(text, &["-"]);
    assert_eq!(from_file, from_stdin);
    assert_eq!(from_file, single);
}

#[test]
fn batch_agrees_with_check() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/prescriptions.csv");
    let text = std::fs::read_to_string(path).unwrap();
    // Each row on its own: `check` sees one prescription, not the patient's others.
    let (_, stdout, _) = batch(text.clone(), &["--no-by-patient"]);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    for (record, line) in reader.records().zip(stdout.lines()) {
        let record = record.unwrap();
        let batch: Value = serde_json::from_str(line).unwrap();
        let mut cmd = Command::cargo_bin("rxcheck").unwrap();
        cmd.env_remove("RXCHECK_FORMULARY").args([
            "check",
            "--format",
            "json",
            "--as-of",
            "2026-11-24",
        ]);
        for (name, value) in headers.iter().zip(record.iter()) {
            let flag = match name {
                "patient_id" => continue,
                "conditions" => "condition".to_string(),
                "allergies" => "allergy".to_string(),
                "co_medications" => "co-medication".to_string(),
                other => other.replace('_', "-"),
            };
            if !value.is_empty() || ["drug", "form", "dose", "times_per_day"].contains(&name) {
                cmd.arg(format!("--{flag}={value}"));
            }
        }
        let out = cmd.output().unwrap();
        if out.status.code() == Some(3) {
            continue; // an empty required flag is a usage error for `check`
        }
        let check: Value = serde_json::from_slice(&out.stdout).unwrap();
        if batch["rx_id"] != "" {
            assert_eq!(
                check["findings"], batch["findings"],
                "row {}",
                batch["rx_id"]
            );
            assert_eq!(check["verdict"], batch["verdict"], "row {}", batch["rx_id"]);
        }
    }
}

#[test]
fn output_file_is_written_whole_and_devices_are_left_devices() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("verdicts.jsonl");
    let input = format!("{HEADER}\nA,40,no,no,diclofenac,tablet,50 mg,3\n");
    let path = out.to_str().unwrap();
    let (code, stdout, _) = batch(input.clone(), &["-o", path]);
    assert_eq!((code, stdout.as_str()), (0, ""));
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 1);
    assert!(!dir.path().join("verdicts.jsonl.partial").exists());
    // Regression: `-o /dev/null` once replaced the device with a regular file.
    let (code, _, _) = batch(input, &["-o", "/dev/null"]);
    assert_eq!(code, 0);
    let meta = std::fs::metadata("/dev/null").unwrap();
    assert!(!meta.is_file(), "/dev/null must stay a device");
}

#[test]
fn dash_output_is_standard_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = format!("{HEADER}\nA,40,no,no,diclofenac,tablet,50 mg,3\n");
    let out = Command::cargo_bin("rxcheck")
        .unwrap()
        .current_dir(dir.path())
        .env_remove("RXCHECK_FORMULARY")
        .args(["batch", "--as-of", "2026-11-24", "-o", "-"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 1);
    assert!(
        !dir.path().join("-").exists(),
        "`-o -` wrote a file named `-`"
    );
}

#[test]
fn pipe_delimited_files_are_detected() {
    let input = "rx_id|age_years|pregnant|breastfeeding|drug|form|dose|times_per_day\nA|40|no|no|diclofenac|tablet|50 mg|3\n";
    assert_eq!(records(input, &[]), vec![rec(2, "A", "ok")]);
}

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/exports/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn run_file(args: &[&str]) -> (i32, String, String) {
    batch(Vec::new(), args)
}

#[test]
fn an_excel_style_header_is_read_not_ignored() {
    // `Allergy`, `Co-medications`, `Conditions (ICD-10)`, `Duration`, `Frequency`, `Patient`:
    // every column is read, so an ibuprofen allergy and K25.4 reject the diclofenac row.
    let (code, stdout, stderr) = run_file(&[&fixture("excel_style.csv"), "--format", "jsonl"]);
    assert_eq!(code, 2, "{stderr}");
    let first: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    let rules: Vec<&str> = first["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"diclofenac.allergy"), "{rules:?}");
    assert!(
        rules.contains(&"nsaid_contraindications.contraindication.gi_ulcer"),
        "{rules:?}"
    );
    // The one column it does not read is named once.
    assert!(
        stderr.contains("columns not read (map one with --column FIELD=HEADER): Notes\n"),
        "{stderr}"
    );
}

#[test]
fn a_near_miss_column_is_fatal_unless_mapped_or_ignored() {
    let input = "rx_id,drug,form,dose,times_per_day,age_years,alergies\nX,diclofenac,tablet,50 mg,3,40,ibuprofen\n";
    let (code, stdout, stderr) = batch(input, &[]);
    assert_eq!(code, 3);
    assert!(stdout.is_empty());
    assert!(stderr.contains("did you mean `allergies`?"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let (code, stdout, _) = batch(input, &["--column", "allergies=alergies"]);
    assert_eq!(code, 2);
    assert!(stdout.contains("diclofenac.allergy"), "{stdout}");
    // Ignored on purpose, the column is neither read nor listed.
    let (code, stdout, stderr) = batch(input, &["--ignore-column", "alergies"]);
    assert!(code < 3, "{stderr}");
    assert!(!stdout.contains("diclofenac.allergy"), "{stdout}");
    assert!(!stderr.contains("columns not read"), "{stderr}");
}

#[test]
fn a_hospital_export_is_read_through_a_mapping_file() {
    // Columns of a MIMIC-style prescriptions export, with the dose split in value and unit.
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("hospital.toml");
    std::fs::write(
        &map,
        "rx_id = \"pharmacy_id\"\npatient_id = \"subject_id\"\ndrug = \"drug\"\nform = \"form_rx\"\ndose = [\"dose_val_rx\", \"dose_unit_rx\"]\ntimes_per_day = \"doses_per_24_hrs\"\nage_years = \"anchor_age\"\nignore = [\"hadm_id\", \"route\"]\n",
    )
    .unwrap();
    let input = "subject_id,hadm_id,pharmacy_id,drug,form_rx,dose_val_rx,dose_unit_rx,doses_per_24_hrs,route,anchor_age\n\
                 10001,2001,P1,Diclofenac,tablet,75,mg,3,PO,40\n";
    let (code, stdout, stderr) = batch(
        input,
        &["--columns", map.to_str().unwrap(), "--format", "jsonl"],
    );
    assert_eq!(code, 2, "{stderr}");
    // 75 mg three times a day is 225 mg a day: the split dose was read as `75 mg`.
    assert!(
        stdout.contains("diclofenac.tablet.dosage.over_15.dose_per_day.max"),
        "{stdout}"
    );
    assert!(stdout.contains("\"rx_id\":\"P1\""), "{stdout}");
    let (code, _, stderr) = batch(
        input,
        &["--columns", map.to_str().unwrap(), "--column", "frequncy=x"],
    );
    assert_eq!(code, 3);
    assert!(
        stderr.contains("did you mean `frequency`?")
            || stderr.contains("is not a column rxcheck reads"),
        "{stderr}"
    );
    // A mapping file that is not TOML: one line naming the line and what is wrong there.
    std::fs::write(&map, "drug = \"drug\"\ndrug = \"drug_name\"\n").unwrap();
    let (code, _, stderr) = batch(input, &["--columns", map.to_str().unwrap()]);
    assert_eq!(code, 3);
    assert!(
        stderr.contains("column mapping file: line 2: duplicate key `drug`\n"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn a_list_spread_over_several_columns_is_joined_item_by_item() {
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("map.toml");
    std::fs::write(&map, "allergies = [\"allergy_1\", \"allergy_2\"]\n").unwrap();
    let input = format!(
        "{HEADER},allergy_1,allergy_2\nA,40,no,no,diclofenac,tablet,50 mg,3,penicillin,aspirin\n"
    );
    let (code, stdout, stderr) = batch(input.clone(), &["--columns", map.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.contains("diclofenac.allergy"), "{stdout}");
    // Unmapped, such columns stop the run rather than pass as "no allergies".
    let (code, _, stderr) = batch(input, &[]);
    assert_eq!(code, 3);
    assert!(stderr.contains("looks like `allergies`"), "{stderr}");
}

#[test]
fn a_stray_quote_costs_only_its_own_line() {
    // Line 2 opens a quote that a quote on line 8 would close; the record that would make
    // has the wrong width, so line 2 alone is invalid and lines 3-8 are rows of their own.
    let (_, stdout, stderr) = run_file(&[&fixture("stray_quote.csv"), "--format", "jsonl"]);
    let lines: Vec<(u64, String, String)> = stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["line"].as_u64().unwrap(),
                v["rx_id"].as_str().unwrap().to_string(),
                v["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // Its rx id comes before the stray quote, and is read.
    let mut expected = vec![rec(2, "R1", "invalid")];
    for (line, id) in (3..=9).zip(["R2", "R3", "R4", "R5", "R6", "R7", "R8"]) {
        expected.push(rec(line, id, "ok"));
    }
    // Line 10's quoted field spans two lines legally: one row.
    expected.push(rec(10, "R9", "ok"));
    assert_eq!(lines, expected, "{stderr}");
}

#[test]
fn a_quote_closed_rows_later_does_not_swallow_the_rows_between() {
    // A note left open on R1, closed by an inch mark on R4: R2 and R3 are rows (each a
    // reject), not R1's note.
    let input = "rx_id,patient_id,age_years,sex,drug,form,dose,times_per_day,notes\n\
        R1,P1,40,male,diclofenac,tablet,50 mg,2,\"forte\n\
        R2,P2,40,male,diclofenac,tablet,100 mg,3,\n\
        R3,P3,40,male,nimesulide,tablet,100 mg,4,\n\
        R4,P4,40,male,diclofenac,tablet,50 mg,2,knee brace 12\"\n\
        R5,P5,40,male,diclofenac,tablet,50 mg,2,\n";
    let got = records(input, &[]);
    assert_eq!(
        got,
        vec![
            rec(2, "R1", "invalid"),
            rec(3, "R2", "reject"),
            rec(4, "R3", "reject"),
            rec(5, "R4", "ok"),
            rec(6, "R5", "ok"),
        ]
    );
}

#[test]
fn output_never_overwrites_the_input_and_follows_its_extension() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    let text = format!("{HEADER}\nA,40,no,no,diclofenac,tablet,50 mg,3\n");
    std::fs::write(&input, &text).unwrap();
    let path = input.to_str().unwrap();
    // The same path, and the same file through a symbolic link.
    let (code, _, stderr) = run_file(&[path, "-o", path]);
    assert_eq!(code, 3);
    assert!(stderr.contains("is the input file"), "{stderr}");
    #[cfg(unix)]
    {
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink(&input, &link).unwrap();
        let (code, _, _) = run_file(&[path, "-o", link.to_str().unwrap()]);
        assert_eq!(code, 3);
    }
    // Standard input or output redirected from or to the input file.
    #[cfg(unix)]
    {
        let redirected = |args: &[&str], stdout: std::fs::File| {
            std::process::Command::new(env!("CARGO_BIN_EXE_rxcheck"))
                .args(["batch", "--as-of", "2026-11-24"])
                .args(args)
                .stdin(std::fs::File::open(&input).unwrap())
                .stdout(stdout)
                .stderr(std::process::Stdio::piped())
                .output()
                .unwrap()
        };
        let elsewhere = || std::fs::File::create(dir.path().join("elsewhere")).unwrap();
        let out = redirected(&["-", "-o", path], elsewhere());
        assert_eq!(out.status.code(), Some(3));
        let appending = std::fs::OpenOptions::new()
            .append(true)
            .open(&input)
            .unwrap();
        let out = redirected(&[path], appending);
        assert_eq!(out.status.code(), Some(3));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("standard output"), "{stderr}");
        assert_eq!(redirected(&["-"], elsewhere()).status.code(), Some(0));
    }
    assert_eq!(std::fs::read_to_string(&input).unwrap(), text);
    // An output is first written beside its name, as `NAME.partial`: an input of that name
    // is refused too, for -o, the summary and the acknowledgement template.
    let partial = dir.path().join("report.csv.partial");
    std::fs::write(&partial, &text).unwrap();
    let partial = partial.to_str().unwrap();
    let report = dir.path().join("report.csv");
    let report = report.to_str().unwrap();
    for flag in ["-o", "--summary-json", "--write-ack-template"] {
        let (code, _, stderr) = run_file(&[partial, flag, report]);
        assert_eq!(code, 3, "{flag}: {stderr}");
        assert!(stderr.contains("which is the input file"), "{stderr}");
        assert_eq!(std::fs::read_to_string(partial).unwrap(), text);
    }
    // Nor is the column mapping, or the formulary: a file of it, or any file in its folder.
    let mapping = dir.path().join("map.toml");
    std::fs::write(&mapping, "[columns]\n").unwrap();
    let mapping = mapping.to_str().unwrap();
    let (code, _, stderr) = run_file(&[path, "--columns", mapping, "-o", mapping]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("is the column mapping"), "{stderr}");
    let formulary = dir.path().join("formulary");
    std::fs::create_dir(&formulary).unwrap();
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/formulary");
    for entry in std::fs::read_dir(shipped).unwrap() {
        let entry = entry.unwrap();
        if entry.path().extension().is_some_and(|e| e == "toml") {
            std::fs::copy(entry.path(), formulary.join(entry.file_name())).unwrap();
        }
    }
    let folder = formulary.to_str().unwrap();
    for target in ["nimesulide.toml", "report.jsonl"] {
        let out = formulary.join(target);
        let (code, _, stderr) =
            run_file(&[path, "--formulary", folder, "-o", out.to_str().unwrap()]);
        assert_eq!(code, 3, "{stderr}");
        assert!(stderr.contains("is in the formulary folder"), "{stderr}");
    }
    let one_file = formulary.join("nimesulide.toml");
    let before = std::fs::read_to_string(&one_file).unwrap();
    let one_file = one_file.to_str().unwrap();
    let (code, _, stderr) = run_file(&[path, "--formulary", one_file, "-o", one_file]);
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(std::fs::read_to_string(one_file).unwrap(), before);
    // The extension picks the format when --format is not given.
    for (name, starts) in [
        ("out.csv", "line,rx_id"),
        ("out.jsonl", "{\"line\""),
        ("out.txt", "OK  A  (line 2)"),
    ] {
        let out = dir.path().join(name);
        let (code, _, stderr) = run_file(&[path, "-o", out.to_str().unwrap()]);
        assert_eq!(code, 0, "{stderr}");
        let written = std::fs::read_to_string(&out).unwrap();
        assert!(written.starts_with(starts), "{name}: {written}");
    }
}

#[test]
fn encodings_are_given_or_read_from_a_byte_order_mark() {
    // Windows-1252 bytes are not UTF-8: the run stops, naming the line and the flag, and
    // writes nothing.
    let path = fixture("windows_1252.csv");
    let (code, stdout, stderr) = run_file(&[&path, "--format", "jsonl", "-q"]);
    assert_eq!((code, stdout.as_str()), (3, ""));
    assert!(
        stderr.contains("line 2 is not UTF-8 (byte 0xE9)")
            && stderr.contains("--encoding windows-1252"),
        "{stderr}"
    );
    // Given the encoding, the text is read: `métamizole` is metamizole, an NSAID.
    let (_, stdout, _) = run_file(&[
        &path,
        "--format",
        "jsonl",
        "-q",
        "--encoding",
        "windows-1252",
    ]);
    assert!(
        stdout.contains("allergy to `métamizole` (a member of class `nsaid`)"),
        "{stdout}"
    );
    // UTF-16 with its byte order mark needs no flag.
    let text = format!("\u{feff}{HEADER}\nU1,40,no,no,диклофенак,таблетки,50 mg,3\n");
    let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    assert_eq!(
        records(utf16.clone(), &["--format", "jsonl"]),
        vec![rec(2, "U1", "ok")]
    );
    // Nothing is replaced: bytes that are not of the encoding stop the run, whether the
    // encoding is given (UTF-8 here) or read from a byte order mark (an unpaired surrogate).
    let (code, stdout, stderr) = run_file(&[&path, "-q", "--encoding", "utf-8"]);
    assert_eq!((code, stdout.as_str()), (3, ""), "{stderr}");
    assert!(stderr.contains("line 2 is not UTF-8"), "{stderr}");
    let mut broken = utf16.clone();
    let end = broken.len() - 2;
    broken.splice(end..end, [0x00, 0xD8]);
    let (code, _, stderr) = batch(broken, &["-q"]);
    assert_eq!(code, 3);
    assert!(stderr.contains("line 2 is not UTF-16LE"), "{stderr}");
    // Without its mark, UTF-16 stops the run, naming the flag, rather than every row being
    // read as NUL-spaced text; with the flag it is read.
    let unmarked = utf16[2..].to_vec();
    let (code, _, stderr) = batch(unmarked.clone(), &["-q"]);
    assert_eq!(code, 3);
    assert!(stderr.contains("--encoding utf-16le"), "{stderr}");
    assert_eq!(
        records(unmarked, &["--format", "jsonl", "--encoding", "utf-16le"]),
        vec![rec(2, "U1", "ok")]
    );
    // A byte order mark says the encoding whatever --encoding says (an export saved as UTF-8
    // with its mark, in a run that gives the encoding of others).
    let marked = format!(
        "\u{feff}patient_id,{HEADER}\nP1,U1,40,no,no,diclofenac,tablet,75 mg,2\nP1,U2,40,no,no,diclofenac,tablet,75 mg,2\n"
    );
    let (code, stdout, stderr) = batch(marked, &["--encoding", "windows-1251"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(!stderr.contains("columns not read"), "{stderr}");
    assert_eq!(stdout.matches("combined_daily_max").count(), 2, "{stdout}");
    // An unknown encoding is a fatal error naming it.
    let (code, _, stderr) = run_file(&[&path, "--encoding", "klingon"]);
    assert_eq!(code, 3);
    assert!(stderr.contains("`klingon` is not an encoding"), "{stderr}");
}

#[test]
fn the_csv_report_reads_in_a_spreadsheet() {
    let input = "rx_id;patient_id;drug;form;dose;times_per_day;age_years;sex;date;birth_date\n\
        A1;P1;diclofenac;tablet;50 mg;3;;m;24.11.2026;01.02.1980\n\
        A2;P2;diclofenac;tablet;100 mg;3;;f;24.11.2026;01.02.1990\n\
        A3;P3;diclofenac;tablet;=1+1;3;;male;24.11.2026;1990-02-01\n";
    // The published columns come first, then the patient, the counts and the details.
    let (code, stdout, stderr) = batch(input, &["--format", "csv", "--date-format", "%d.%m.%Y"]);
    assert_eq!(code, 2, "{stderr}");
    let mut reader = csv::Reader::from_reader(stdout.as_bytes());
    assert_eq!(
        reader.headers().unwrap(),
        vec![
            "line",
            "rx_id",
            "verdict",
            "findings",
            "patient_id",
            "invalid",
            "reject",
            "warn",
            "info",
            "details"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    // A man of 46: no pregnancy question; two administration notes.
    assert_eq!(&rows[0][2], "ok");
    assert_eq!(&rows[0][4], "P1");
    assert_eq!(
        (&rows[0][5], &rows[0][6], &rows[0][7], &rows[0][8]),
        ("0", "0", "0", "2")
    );
    // A woman of 36 at 300 mg a day: one reject, one warn (pregnancy not given).
    assert_eq!(&rows[1][2], "reject");
    assert_eq!((&rows[1][6], &rows[1][7]), ("1", "1"));
    assert!(
        rows[1][9].starts_with(
            "reject dose_daily diclofenac.tablet.dosage.over_15.dose_per_day.max: daily dose 300 mg is above the maximum of 150 mg | warn pregnancy "
        ),
        "{}",
        &rows[1][9]
    );
    // An ISO birth date is not read under another --date-format; no cell starts a formula.
    assert_eq!(&rows[2][2], "invalid");
    assert!(rows[2][9].contains("birth_date `1990-02-01` is not a real date written `%d.%m.%Y`"));
    assert!(
        rows.iter()
            .flatten()
            .all(|cell| !cell.starts_with(['=', '+', '-', '@']))
    );

    // --excel: a byte order mark, and the input's delimiter.
    let (_, excel, _) = batch(input, &["--excel", "--date-format", "%d.%m.%Y"]);
    assert!(
        excel.starts_with("\u{feff}line;rx_id;verdict;findings;patient_id;"),
        "{excel}"
    );
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(excel.trim_start_matches('\u{feff}').as_bytes());
    let excel_rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(excel_rows, rows);
    // --excel with another format is refused.
    let (code, _, stderr) = batch(input, &["--excel", "--format", "jsonl"]);
    assert_eq!(code, 3);
    assert!(stderr.contains("--excel writes the CSV report"), "{stderr}");
}

#[test]
fn frequency_notations_are_read_from_a_file() {
    // 75 mg each time: twice a day is the 150 mg maximum, three times is above it.
    let input = format!(
        "{HEADER}\nA,40,no,no,diclofenac,tablet,75 mg,bid\nB,40,no,no,diclofenac,tablet,75 mg,q12h\nC,40,no,no,diclofenac,tablet,75 mg,2 раза в день\nD,40,no,no,diclofenac,tablet,75 mg,TID\nE,40,no,no,diclofenac,tablet,75 mg,every 5 hours\nF,40,no,no,diclofenac,tablet,75 mg,as needed\n"
    );
    assert_eq!(
        records(input, &[]),
        vec![
            rec(2, "A", "ok"),
            rec(3, "B", "ok"),
            rec(4, "C", "ok"),
            rec(5, "D", "reject"),
            rec(6, "E", "invalid"),
            rec(7, "F", "invalid")
        ]
    );
}

#[test]
fn compact_detail_and_min_severity_shrink_the_report_not_the_verdict() {
    let input = format!(
        "{HEADER}\nA,40,no,no,diclofenac,tablet,50 mg,3\nB,40,no,no,diclofenac,tablet,75 mg,3\n"
    );
    let (_, full, _) = batch(input.clone(), &["--format", "jsonl"]);
    let (_, compact, _) = batch(input.clone(), &["--format", "jsonl", "--detail", "compact"]);
    // Compact findings are [severity, rule] pairs, in the same order as the full ones.
    for (full, compact) in full.lines().zip(compact.lines()) {
        let full: Value = serde_json::from_str(full).unwrap();
        let compact: Value = serde_json::from_str(compact).unwrap();
        assert_eq!(full["verdict"], compact["verdict"]);
        let pairs: Vec<Value> = full["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| serde_json::json!([f["severity"], f["rule"]]))
            .collect();
        assert_eq!(compact["findings"], Value::Array(pairs));
    }
    // --min-severity warn drops the info findings; B stays a reject with its reject finding.
    let (code, stdout, _) = batch(
        input.clone(),
        &["--format", "jsonl", "--min-severity", "warn"],
    );
    assert_eq!(code, 2);
    let records: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records[0]["verdict"], "ok");
    assert_eq!(records[0]["findings"], serde_json::json!([]));
    assert_eq!(records[1]["verdict"], "reject");
    let severities: Vec<&str> = records[1]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["severity"].as_str().unwrap())
        .collect();
    assert_eq!(severities, ["reject"]);
    // The compact CSV report: findings as `severity rule`.
    let (_, csv, _) = batch(input, &["--format", "csv", "--detail", "compact"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "line,rx_id,verdict,findings");
    assert!(
        lines[2].starts_with(
            "3,B,reject,reject diclofenac.tablet.dosage.over_15.dose_per_day.max | info "
        ),
        "{}",
        lines[2]
    );
}

#[test]
fn a_reader_that_stops_reading_is_not_told_every_row_was_checked() {
    use std::io::{BufRead, BufReader, Write};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rxcheck"))
        .args(["batch", "--as-of", "2026-11-24", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let mut text = format!("{HEADER}\n");
        for i in 0..50_000 {
            text.push_str(&format!("R{i},40,no,no,diclofenac,tablet,75 mg,3\n"));
        }
        let _ = stdin.write_all(text.as_bytes());
    });
    // Every row is a reject; the reader takes one record and goes (as `| head -1`).
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("\"reject\""), "{first}");
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken pipe"), "{stderr}");
}

#[test]
fn a_column_in_another_unit_a_foreign_list_header_and_a_nameless_value_are_not_read_as_none() {
    let row = "R1,30,male,diclofenac,tablet,50 mg,3,5";
    // A note naming another unit than rxcheck reads the field in stops the run.
    for (header, unit) in [
        (
            "rx_id,age (months),sex,drug,form,dose,times_per_day,duration_days",
            "months",
        ),
        (
            "rx_id,Age (mo),sex,drug,form,dose,times_per_day,duration_days",
            "months",
        ),
        (
            "rx_id,age (mths),sex,drug,form,dose,times_per_day,duration_days",
            "months",
        ),
        (
            "rx_id,age,sex,drug,form,dose,times_per_day,duration (weeks)",
            "weeks",
        ),
        // The unit in the name's words, not a note.
        (
            "rx_id,age,sex,drug,form,dose,times_per_day,duration_weeks",
            "weeks",
        ),
        (
            "rx_id,age_in_months,sex,drug,form,dose,times_per_day,duration_days",
            "months",
        ),
        (
            "rx_id,age,sex,drug,form,dose,times_per_week,duration_days",
            "weeks",
        ),
        (
            "rx_id,age,sex,drug,form,dose,frequency (hours),duration_days",
            "hours",
        ),
        (
            "rx_id,age,sex,drug,form,dose (mg/kg),times_per_day,duration_days",
            "an amount per kg",
        ),
    ] {
        let (code, stdout, stderr) = batch(format!("{header}\n{row}\n"), &[]);
        assert_eq!(code, 3, "{header}: {stderr}");
        assert!(stdout.is_empty());
        assert!(stderr.contains(&format!("in {unit}")), "{stderr}");
    }
    // The unit rxcheck reads, written out, is fine.
    for header in [
        "rx_id,age (years),sex,drug,form,dose,times_per_day,duration (days)",
        "rx_id,age_in_years,sex,drug,form,dose,frequency (per 24 h),duration_in_days",
    ] {
        let (code, stdout, stderr) = batch(format!("{header}\n{row}\n"), &[]);
        assert!(code < 3, "{stderr}");
        assert!(!stderr.contains("columns not read"), "{header}: {stderr}");
        assert!(stdout.contains("\"verdict\":\"ok\""), "{header}: {stdout}");
    }
    // Lists and clinical columns in other languages and words stop the run.
    for column in [
        "Alergias",
        "Intolérances",
        "Renal impairment",
        "Contraindications",
        "History",
        "Vorerkrankungen",
        "Begleitmedikation",
        "hx",
        "diag",
        "Nebendiagnosen",
        "Противопоказания",
        "CAVE",
        "Arzneimittelallergie",
        "medications_other",
        "drug list",
        "otc",
        "Komedikation",
        "Препараты",
        // A person's identifier, in a file with no patient_id: the checks across rows.
        "nhs_number",
        "patient_hash",
        "ФИО пациента",
        "insurance_id",
        "has_allergies",
    ] {
        let input = format!("rx_id,age,sex,drug,form,dose,times_per_day,{column}\n{row},x\n");
        let (code, _, stderr) = batch(input, &[]);
        assert_eq!(code, 3, "{column}: {stderr}");
        assert!(stderr.contains("did you mean"), "{stderr}");
    }
    // Flags and code metadata about a list, and other histories, are not the list.
    for column in [
        "otc_status",
        "drug_otc",
        "refill_history",
        "claim_history",
        "dx_version",
        "diag_seq",
        "diagnosis_pointer",
        "med_rec_done",
    ] {
        let input = format!("rx_id,age,sex,drug,form,dose,times_per_day,{column}\n{row},x\n");
        let (code, _, stderr) = batch(input, &[]);
        assert!(code < 3, "{column}: {stderr}");
    }
    // German comorbidities are conditions; a list's id, flag or score, or another's history,
    // is not the list.
    let input =
        format!("rx_id,age,sex,drug,form,dose,times_per_day,Begleiterkrankungen\n{row},x\n");
    let (_, _, stderr) = batch(input, &[]);
    assert!(stderr.contains("looks like `conditions`"), "{stderr}");
    for column in [
        "history_id",
        "renal_dose_adjusted",
        "family_history",
        "bleeding_score",
    ] {
        let input = format!("rx_id,age,sex,drug,form,dose,times_per_day,{column}\n{row},x\n");
        let (code, _, stderr) = batch(input, &[]);
        assert!(code < 3, "{column}: {stderr}");
    }
    // A value under a column the header gives no name (a trailing delimiter) is invalid.
    let input = "rx_id,age,sex,drug,form,dose,times_per_day,allergies,\nR1,40,male,diclofenac,tablet,50 mg,2,,ibuprofen\nR2,40,male,diclofenac,tablet,50 mg,2,,\n";
    assert_eq!(
        records(input, &[]),
        [rec(2, "R1", "invalid"), rec(3, "R2", "ok")]
    );
    // A nameless first column is a data frame's row number.
    let input =
        ",rx_id,age,sex,drug,form,dose,times_per_day\n0,R1,40,male,diclofenac,tablet,50 mg,2\n";
    assert_eq!(records(input, &[]), [rec(2, "R1", "ok")]);
}

#[test]
fn a_column_mapped_to_two_fields_stops_the_run() {
    let input = "rx_id,age,sex,drug,form,dose,times_per_day,allergy_col\nR1,40,m,diclofenac,tablet,50 mg,2,NSAID\n";
    let args = [
        "--column",
        "allergies=allergy_col",
        "--column",
        "co_medications=allergy_col",
    ];
    let (code, stdout, stderr) = batch(input, &args);
    assert_eq!((code, stdout.as_str()), (3, ""), "{stderr}");
    assert!(
        stderr.contains("as both `allergies` and `co_medications`"),
        "{stderr}"
    );
    let (code, _, _) = batch(input, &args[..2]);
    assert_eq!(code, 2, "one mapping reads the allergy");
}

#[test]
fn a_value_under_a_name_a_tool_made_up_for_a_nameless_column_is_not_read_as_none() {
    // The eighth column, as tools name it (pandas and Spark from 0, others from 1).
    for column in ["Unnamed: 7", "V8", "Field8", "_c7", "Column8"] {
        let input = format!(
            "rx_id,age,sex,drug,form,dose,times_per_day,{column}\nR1,40,m,diclofenac,tablet,50 mg,2,K25.0\nR2,40,m,diclofenac,tablet,50 mg,2,\n"
        );
        let got = records(input, &[]);
        assert_eq!(
            got,
            vec![rec(2, "R1", "invalid"), rec(3, "R2", "ok")],
            "{column}"
        );
    }
    // A name of that shape for another place is a real column's, not read.
    let input =
        "rx_id,age,sex,drug,form,dose,times_per_day,V1\nR1,40,m,diclofenac,tablet,50 mg,2,7\n";
    assert_eq!(records(input, &[]), vec![rec(2, "R1", "ok")]);
}

#[test]
fn a_spreadsheet_delimiter_line_is_read_and_control_characters_are_not_replayed() {
    // Excel's `sep=;` line names the delimiter; the rows keep their line numbers.
    let input = "sep=;\r\nrx_id;age;sex;drug;form;dose;times_per_day\r\nA;40;m;diclofenac;tablet;50 mg;2\r\n";
    assert_eq!(records(input, &[]), [rec(3, "A", "ok")]);
    // An escape sequence in a field is shown, not sent to the terminal.
    let input = "rx_id,age,sex,drug,form,dose,times_per_day\n\"A\u{1b}[2J\",40,m,diclofenac\u{7},tablet,50 mg,2\n";
    let (code, stdout, _) = batch(input, &["--format", "text", "-q"]);
    assert_eq!(code, 2);
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\u{7}'),
        "{stdout:?}"
    );
    assert!(stdout.contains("A\\u{1b}[2J"), "{stdout}");
}

#[test]
fn an_output_may_not_be_where_another_is_first_written() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(
        &input,
        format!("{HEADER}\nA,40,no,no,diclofenac,tablet,50 mg,2\n"),
    )
    .unwrap();
    let out = dir.path().join("out.jsonl");
    let (code, _, stderr) = batch(
        "",
        &[
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--summary-json",
            &format!("{}.partial", out.display()),
        ],
    );
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("is where -o is first written"), "{stderr}");
}

#[test]
fn another_row_of_a_topical_nsaid_outside_the_formulary_is_a_topical_duplicate() {
    let input = "rx_id,patient_id,age,sex,drug,form,dose,times_per_day\nA,P,40,m,diclofenac,tablet,50 mg,2\nB,P,40,m,topical ibuprofen,gel,2 g,3\nC,Q,40,m,diclofenac,tablet,50 mg,2\nD,Q,40,m,ibuprofen,tablet,400 mg,3\n";
    let got = records(input, &[]);
    assert_eq!(got[0], rec(2, "A", "ok"));
    assert_eq!(got[2], rec(4, "C", "warn"));
}
