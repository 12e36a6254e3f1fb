//! `rxcheck batch` across one patient's concurrent prescriptions.

use assert_cmd::Command;
use serde_json::Value;
use std::collections::HashMap;

const HEADER: &str = "rx_id,patient_id,date,age_years,pregnant,breastfeeding,drug,form,dose,times_per_day,duration_days";

/// (rx_id, verdict, rules) per output record, in output order.
fn run(input: &str, args: &[&str]) -> Vec<(String, String, Vec<String>)> {
    let out = Command::cargo_bin("rxcheck")
        .unwrap()
        .env_remove("RXCHECK_FORMULARY")
        .args(["batch", "-q", "--as-of", "2026-11-24"])
        .args(args)
        .write_stdin(input.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.code().unwrap() < 3,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let rules = v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["severity"] != "info" || f["category"] == "duplicate_therapy")
                .map(|f| {
                    format!(
                        "{}:{}",
                        f["category"].as_str().unwrap(),
                        f["rule"].as_str().unwrap()
                    )
                })
                .collect();
            (
                v["rx_id"].as_str().unwrap().to_string(),
                v["verdict"].as_str().unwrap().to_string(),
                rules,
            )
        })
        .collect()
}

fn csv(rows: &[&str]) -> String {
    let mut text = format!("{HEADER}\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text
}

const CUMULATIVE: [&str; 2] = [
    "A1,P1,2026-11-01,40,no,no,diclofenac,tablet,50 mg,2,10",
    "A2,P1,2026-11-05,40,no,no,diclofenac,suppository,50 mg,2,10",
];

#[test]
fn each_row_alone_is_ok_together_they_exceed_the_daily_maximum() {
    let input = csv(&CUMULATIVE);
    let alone = run(&input, &["--no-by-patient"]);
    assert!(alone.iter().all(|(_, v, _)| v == "ok"), "{alone:?}");
    let together = run(&input, &[]);
    for (id, verdict, rules) in &together {
        assert_eq!(verdict, "reject", "{id}: {rules:?}");
        assert!(
            rules.contains(&"dose_daily:diclofenac.combined_daily_max(A1,A2)".to_string()),
            "{rules:?}"
        );
    }
    let out = Command::cargo_bin("rxcheck")
        .unwrap()
        .args(["batch", "-q", "--as-of", "2026-11-24"])
        .write_stdin(input)
        .output()
        .unwrap();
    let first: Value = serde_json::from_str(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let finding = first["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["category"] == "dose_daily")
        .unwrap()
        .clone();
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.contains("`A2` (diclofenac suppository)") && message.contains("200 mg"),
        "{message}"
    );
}

#[test]
fn a_same_drug_course_whose_dose_cannot_be_read_leaves_the_daily_total_unverified() {
    // U2's dose cannot be read and U3 names diclofenac in no form it has: neither adds up,
    // so U1's total of diclofenac a day cannot be verified. U4 is another patient's.
    let rows = [
        "U1,P9,2026-11-01,40,no,no,diclofenac,tablet,50 mg,2,10",
        "U4,P8,2026-11-01,40,no,no,diclofenac,tablet,50 mg,2,10",
        "U2,P9,2026-11-05,40,no,no,diclofenac,suppository,fifty,2,10",
        "U3,P9,2026-11-08,40,no,no,diclofenac,patch,1,1,3",
    ];
    let unsorted = run(&csv(&rows), &[]);
    let sorted = run(&csv(&[rows[0], rows[2], rows[3], rows[1]]), &[]);
    for records in [&unsorted, &sorted] {
        let by_id: HashMap<&str, (&str, &Vec<String>)> = records
            .iter()
            .map(|(id, v, r)| (id.as_str(), (v.as_str(), r)))
            .collect();
        let (verdict, rules) = by_id["U1"];
        assert_eq!(verdict, "warn", "{rules:?}");
        assert_eq!(
            rules,
            &vec!["dose_daily:diclofenac.combined_daily_max(U1,U2,U3)".to_string()]
        );
        assert_eq!(by_id["U4"], ("ok", &vec![]));
        // The rows whose dose cannot be read say so themselves.
        for id in ["U2", "U3"] {
            assert_eq!(by_id[id].0, "invalid", "{:?}", by_id[id]);
        }
    }
    // Each row alone says nothing of the others.
    let alone = run(&csv(&rows[..2]), &["--no-by-patient"]);
    assert!(alone.iter().all(|(_, v, _)| v == "ok"), "{alone:?}");
}

#[test]
fn a_misspelt_formulary_drug_on_another_row_may_be_that_drug() {
    let got = run(
        &csv(&[
            "M1,P7,2026-11-10,40,no,no,diclofenac,tablet,50 mg,2,10",
            "M2,P7,2026-11-10,40,no,no,diclofenak,tablet,50 mg,2,10",
        ]),
        &[],
    );
    assert_eq!(got[0].1, "warn", "{got:?}");
    assert!(
        got[0]
            .2
            .contains(&"dose_daily:diclofenac.combined_daily_max(M1,M2)".to_string()),
        "{got:?}"
    );
    assert_eq!(got[1].1, "invalid", "{got:?}");
}

#[test]
fn two_nsaids_at_once_are_duplicate_therapy_and_interactions_cross_rows() {
    let input = csv(&[
        "C1,P3,2026-11-01,40,no,no,nimesulide,tablet,100 mg,2,10",
        "C2,P3,2026-11-03,40,no,no,methotrexate,tablet,10 mg,1,30",
        "C3,P3,2026-11-04,40,no,no,diclofenac,tablet,50 mg,2,",
    ]);
    let got = run(&input, &[]);
    assert_eq!(got[0].1, "warn");
    assert!(
        got[0]
            .2
            .contains(&"duplicate_therapy:nsaid_class.duplicate_therapy.nsaid(C1,C3)".to_string()),
        "{got:?}"
    );
    assert!(
        got[0]
            .2
            // Methotrexate, and diclofenac too: both are LiverTox category A.
            .contains(&"interaction:nimesulide.interaction.hepatotoxic(C1,C2,C3)".to_string()),
        "{got:?}"
    );
    assert_eq!(got[2].1, "warn");
    assert!(
        got[2]
            .2
            .contains(&"duplicate_therapy:nsaid_class.duplicate_therapy.nsaid(C1,C3)".to_string()),
        "{got:?}"
    );
    // The interaction goes on the diclofenac row too, from nimesulide's rule: diclofenac is
    // one of the hepatotoxic drugs it names.
    assert!(
        got[2]
            .2
            .contains(&"interaction:nimesulide.interaction.hepatotoxic(C1,C3)".to_string()),
        "{got:?}"
    );
    // Sorted by patient (one pass) and by rows read back (two passes) alike.
    let sorted = csv(&[
        "C3,P3,2026-11-04,40,no,no,diclofenac,tablet,50 mg,2,",
        "D1,P4,2026-11-04,40,no,no,diclofenac,tablet,50 mg,2,",
        "C1,P3,2026-11-01,40,no,no,nimesulide,tablet,100 mg,2,10",
    ]);
    let got = run(&sorted, &[]);
    assert_eq!(
        got[0]
            .2
            .iter()
            .filter(|r| r.starts_with("interaction"))
            .collect::<Vec<_>>(),
        ["interaction:nimesulide.interaction.hepatotoxic(C3,C1)"],
        "{got:?}"
    );
    assert_eq!(got[1].1, "ok", "{got:?}");
}

#[test]
fn a_topical_nsaid_is_at_most_an_info() {
    let input = csv(&[
        "D1,P4,2026-11-01,40,no,no,diclofenac,gel,2 g,3,10",
        "D2,P4,2026-11-01,40,no,no,indomethacin,tablet,25 mg,3,10",
    ]);
    let got = run(&input, &[]);
    assert_eq!(
        (got[0].1.as_str(), got[1].1.as_str()),
        ("ok", "ok"),
        "{got:?}"
    );
    assert!(
        got[1]
            .2
            .contains(&"duplicate_therapy:nsaid_class.duplicate_therapy.nsaid(D1,D2)".to_string())
    );
}

#[test]
fn other_patients_and_courses_that_do_not_overlap_are_not_flagged() {
    let input = csv(&[
        "A1,P1,2026-11-01,40,no,no,diclofenac,tablet,50 mg,2,10",
        "B1,P2,2026-11-05,40,no,no,diclofenac,suppository,50 mg,2,10",
        "A2,P1,2026-11-11,40,no,no,diclofenac,suppository,50 mg,2,10",
        "A3,,2026-11-05,40,no,no,diclofenac,suppository,50 mg,2,10",
    ]);
    let got = run(&input, &[]);
    assert!(got.iter().all(|(_, v, _)| v == "ok"), "{got:?}");
}

#[test]
fn an_open_ended_course_overlaps_later_ones() {
    let input = csv(&[
        "A1,P1,2026-11-01,40,no,no,diclofenac,tablet,50 mg,2,",
        "A2,P1,2026-11-20,40,no,no,diclofenac,suppository,50 mg,2,3",
    ]);
    let got = run(&input, &[]);
    assert!(got.iter().all(|(_, v, _)| v == "reject"), "{got:?}");
}

#[test]
fn a_course_whose_date_cannot_be_read_may_overlap_any_other() {
    let input = csv(&[
        "A1,P1,2026-11-01,40,no,no,diclofenac,tablet,50 mg,2,10",
        "A2,P1,2026-13-02,40,no,no,nimesulide,tablet,100 mg,2,5",
    ]);
    let got = run(&input, &[]);
    assert_eq!(got[0].1, "warn", "{got:?}");
    assert!(
        got[0]
            .2
            .iter()
            .any(|r| r.contains("duplicate_therapy.nsaid(A1,A2)")),
        "{got:?}"
    );
    assert_eq!(got[1].1, "invalid", "{got:?}");
}

#[test]
fn unsorted_input_gives_the_same_verdicts_in_its_own_order() {
    let rows = [
        "A1,P1,2026-11-01,40,no,no,diclofenac,tablet,50 mg,2,10",
        "B1,P2,2026-11-01,40,no,no,nimesulide,tablet,100 mg,2,10",
        "A2,P1,2026-11-05,40,no,no,diclofenac,suppository,50 mg,2,10",
        "B2,P2,2026-11-02,40,no,no,ibuprofen,tablet,400 mg,3,5",
        "C1,P3,2026-11-02,40,no,no,indomethacin,suppository,100 mg,1,5",
        "A3,P1,2026-12-01,40,no,no,indomethacin,tablet,25 mg,3,5",
    ];
    let mut sorted = rows.to_vec();
    sorted.sort_by_key(|r| r.split(',').nth(1).unwrap().to_string());
    let unsorted = run(&csv(&rows), &[]);
    let by_patient = run(&csv(&sorted), &[]);
    assert_eq!(unsorted.len(), rows.len());
    let ids: Vec<&str> = rows.iter().map(|r| r.split(',').next().unwrap()).collect();
    assert_eq!(
        unsorted.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ids,
        "output keeps input order"
    );
    let verdicts: HashMap<&String, (&String, &Vec<String>)> =
        by_patient.iter().map(|(id, v, r)| (id, (v, r))).collect();
    for (id, verdict, rules) in &unsorted {
        assert_eq!(verdicts[id], (verdict, rules), "{id}");
    }
}

#[test]
fn by_patient_needs_a_patient_column() {
    Command::cargo_bin("rxcheck")
        .unwrap()
        .args(["batch", "--by-patient", "-"])
        .write_stdin(
            "rx_id,age_years,drug,form,dose,times_per_day\nA,40,diclofenac,tablet,50 mg,3\n",
        )
        .assert()
        .code(3);
}

#[test]
fn one_patient_with_thousands_of_rows_is_checked_in_reasonable_output() {
    let mut text = format!("{HEADER}\n");
    for i in 0..3000 {
        text.push_str(&format!(
            "R{i},P0,2026-11-01,40,no,no,diclofenac,tablet,25 mg,2,\n"
        ));
    }
    let got = run(&text, &[]);
    assert_eq!(got.len(), 3000);
    let rule = &got[0]
        .2
        .iter()
        .find(|r| r.contains("combined_daily_max"))
        .unwrap()
        .clone();
    assert_eq!(
        rule,
        "dose_daily:diclofenac.combined_daily_max(R0,R1,R2,R3,R4,R5,+2994)"
    );
}

#[test]
fn ampoules_counted_through_their_volume_add_to_the_daily_total() {
    // One 3 ml ampoule of 25 mg/ml twice a day is 150 mg; with 50 mg tablets twice a day the
    // patient gets 250 mg of diclofenac a day.
    let input = "rx_id,patient_id,date,age_years,sex,drug,form,strength,unit_volume,dose,times_per_day,duration_days\n\
        I1,P1,2026-11-01,40,m,diclofenac,injection,25 mg/ml,3 ml,1 ampoule,2,2\n\
        T1,P1,2026-11-01,40,m,diclofenac,tablet,,,50 mg,2,7\n";
    for (id, verdict, rules) in run(input, &[]) {
        assert_eq!(verdict, "reject", "{id}: {rules:?}");
        assert!(
            rules.contains(&"dose_daily:diclofenac.combined_daily_max(I1,T1)".to_string()),
            "{id}: {rules:?}"
        );
    }
}

/// The findings of row `rx_id`: (rule, message) pairs.
fn findings_of(input: &str, rx_id: &str) -> Vec<(String, String)> {
    let out = Command::cargo_bin("rxcheck")
        .unwrap()
        .env_remove("RXCHECK_FORMULARY")
        .args(["batch", "-q", "--as-of", "2026-11-24"])
        .write_stdin(input.to_string())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let record: Value = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["rx_id"] == rx_id)
        .unwrap();
    record["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_placeholder_patient_id_on_thousands_of_rows_names_only_the_overlapping_ones() {
    // Every row has the patient id `UNKNOWN`. Thousands of January rows come first and after;
    // late in the year ten ibuprofen rows overlap two diclofenac rows.
    let row = |id: String, date: &str, drug: &str, form: &str, dose: &str, days: u32| {
        format!("{id},UNKNOWN,{date},40,no,no,{drug},{form},{dose},2,{days}")
    };
    let mut rows: Vec<String> = (0..3000)
        .map(|i| {
            row(
                format!("R{i}"),
                "2026-01-01",
                "diclofenac",
                "tablet",
                "25 mg",
                10,
            )
        })
        .collect();
    rows.extend((0..10).map(|i| {
        row(
            format!("I{i}"),
            "2026-11-01",
            "ibuprofen",
            "tablet",
            "400 mg",
            5,
        )
    }));
    rows.push(row(
        "L0".into(),
        "2026-11-03",
        "diclofenac",
        "tablet",
        "50 mg",
        10,
    ));
    rows.extend((3000..6000).map(|i| {
        row(
            format!("R{i}"),
            "2026-02-01",
            "diclofenac",
            "tablet",
            "25 mg",
            10,
        )
    }));
    rows.push(row(
        "L1".into(),
        "2026-11-05",
        "diclofenac",
        "suppository",
        "50 mg",
        10,
    ));
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let input = csv(&rows);

    let found = findings_of(&input, "L0");
    let rules: Vec<&str> = found.iter().map(|(rule, _)| rule.as_str()).collect();
    assert!(
        rules.contains(&"diclofenac.combined_daily_max(L0,L1)"),
        "{rules:?}"
    );
    let (_, duplicate) = found
        .iter()
        .find(|(rule, _)| rule == "nsaid_class.duplicate_therapy.nsaid(I0,I1,I2,I3,I4,I5,+5)")
        .unwrap_or_else(|| panic!("{rules:?}"));
    assert_eq!(
        duplicate,
        "prescribed at the same time as `I0` (ibuprofen) and `I1` (ibuprofen) and `I2` (ibuprofen) and `I3` (ibuprofen) and `I4` (ibuprofen) and 5 more rows: two `nsaid` drugs at once, duplicate therapy"
    );

    let found = findings_of(&input, "R3000");
    let (_, daily) = found
        .iter()
        .find(|(rule, _)| {
            rule == "diclofenac.combined_daily_max(R3000,R3001,R3002,R3003,R3004,R3005,+2994)"
        })
        .unwrap_or_else(|| panic!("{found:?}"));
    assert!(
        daily.starts_with("together with `R3001` (diclofenac tablet) and `R3002` (diclofenac tablet) and `R3003` (diclofenac tablet) and `R3004` (diclofenac tablet) and `R3005` (diclofenac tablet) and 2994 more rows the patient gets 150000 mg of diclofenac a day (from 2026-02-01)"),
        "{daily}"
    );
}

/// `rows` patients' prescriptions, three each (the second and third overlap, so most
/// patients get findings across rows), in patient order: more rows than one batch holds, so
/// some patient's rows meet a batch's end.
fn patients_in_order(patients: usize) -> Vec<String> {
    let drugs = [
        "diclofenac,tablet,50 mg,2,10",
        "diclofenac,suppository,50 mg,2,10",
        "nimesulide,tablet,100 mg,2,",
    ];
    (0..patients)
        .flat_map(|p| {
            drugs.iter().enumerate().map(move |(i, drug)| {
                format!("X{p}-{i},Q{p:05},2026-11-0{},40,no,no,{drug}", i + 1)
            })
        })
        .collect()
}

/// `rows` as a file with the header.
fn rows_csv(rows: &[String]) -> String {
    csv(&rows.iter().map(String::as_str).collect::<Vec<_>>())
}

/// The records of a run over `rows` written to a file, after checking that its summary says
/// `note` and that they are those of a run to standard output (two passes).
fn same_records_to_a_file(rows: &[String], note: &str) -> String {
    same_records_of(&rows_csv(rows), note, &[])
}

/// The records of a run over `input` written to a file, after checking that they are those
/// of a run from standard input and that its summary says `note`.
fn same_records_of(input: &str, note: &str, args: &[&str]) -> String {
    let (records, stderr) = run_to_file(input, args);
    assert!(stderr.contains(note), "{stderr}");
    assert_eq!(records, run_to_stdout(input, args));
    records
}

/// The records of a run over `input` written to a file (where a run may be made again), and
/// its summary on stderr.
fn run_to_file(input: &str, args: &[&str]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let (file, out) = (dir.path().join("in.csv"), dir.path().join("out.jsonl"));
    std::fs::write(&file, input).unwrap();
    let run = Command::cargo_bin("rxcheck")
        .unwrap()
        .env_remove("RXCHECK_FORMULARY")
        .args(["batch", "--as-of", "2026-11-24"])
        .arg(&file)
        .arg("-o")
        .arg(&out)
        .args(args)
        .output()
        .unwrap();
    assert!(run.status.code().unwrap() < 3);
    let stderr = String::from_utf8(run.stderr).unwrap();
    (std::fs::read_to_string(&out).unwrap(), stderr)
}

/// The records of a run over `input` from standard input (the findings across rows worked
/// out from the whole input first).
fn run_to_stdout(input: &str, args: &[&str]) -> String {
    let run = Command::cargo_bin("rxcheck")
        .unwrap()
        .env_remove("RXCHECK_FORMULARY")
        .args(["batch", "-q", "--as-of", "2026-11-24", "--format", "jsonl"])
        .args(args)
        .write_stdin(input.to_string())
        .output()
        .unwrap();
    String::from_utf8(run.stdout).unwrap()
}

#[test]
fn a_file_sorted_by_patient_is_checked_in_one_pass_with_the_same_records() {
    let rows = patients_in_order(2000);
    let note = "6000 rows of 2000 patients checked together (the file is sorted by patient)";
    let records = same_records_to_a_file(&rows, note);
    assert_eq!(records.lines().count(), 6000);
    assert!(records.contains("combined_daily_max(X1999-0,X1999-1)"));
    // Nimesulide's interaction rule on a diclofenac row (written out from what was kept).
    assert!(records.contains("nimesulide.interaction.hepatotoxic(X1999-0,X1999-2)"));
}

#[test]
fn an_rx_id_joined_from_two_columns_names_the_rows_in_one_pass_and_in_two() {
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("map.toml");
    std::fs::write(&map, "rx_id = [\"site\", \"number\"]\n").unwrap();
    let map = ["--columns", map.to_str().unwrap()];
    let input = "patient_id,site,number,date,age_years,pregnant,breastfeeding,drug,form,dose,times_per_day,duration_days\n\
                 P1,S,1,2026-11-01,40,no,no,diclofenac,tablet,50 mg,2,10\n\
                 P1,S,2,2026-11-02,40,no,no,indomethacin,tablet,25 mg,2,10\n\
                 P1,S,3,2026-11-03,40,no,no,diclofenac,tablet,50 mg,2\n\
                 P2,S,4,2026-11-01,40,no,no,diclofenac,tablet,50 mg,2,10\n";
    let records = same_records_of(input, "(the file is sorted by patient)", &map);
    assert!(records.contains("\"rx_id\":\"S 1\""), "{records}");
    assert!(
        records.contains("duplicate_therapy.nsaid(S 1,S 2)"),
        "{records}"
    );
    // A row of the wrong width is named by the first of the columns.
    assert!(records.contains("\"line\":4,\"rx_id\":\"S\""), "{records}");
}

#[test]
fn a_file_out_of_patient_order_is_checked_again_from_the_whole_file() {
    let mut rows = patients_in_order(2000);
    // The first patient's last row comes at the end: in a later batch than the patient's
    // others.
    let moved = rows.remove(2);
    rows.push(moved);
    let records = same_records_to_a_file(&rows, "6000 rows of 2000 patients checked together\n");
    let last = records.lines().last().unwrap();
    assert!(last.contains("\"rx_id\":\"X0-2\""), "{last}");
    assert!(records.contains("nsaid_class.duplicate_therapy.nsaid(X0-1,X0-2)"));
}

#[test]
fn a_batch_whose_patients_come_before_the_last_batch_s_is_out_of_order_too() {
    // Each part is in order, but the second starts over. The first part's 4,098 rows fill
    // one batch (4,096 rows and the rest of the last patient's), so the second part begins
    // the next batch.
    let mut rows = patients_in_order(2066);
    let later = rows.split_off(700 * 3);
    let rows: Vec<String> = later.into_iter().chain(rows).collect();
    same_records_to_a_file(&rows, "6198 rows of 2066 patients checked together\n");
}

#[test]
fn rows_of_no_patient_end_a_batch_and_one_patient_past_two_batches_takes_two_passes() {
    // Rows that name no patient do not hold a batch open: one pass, in batches of the usual
    // size.
    let mut rows = vec!["B0,P1,2026-11-01,40,no,no,diclofenac,tablet,50 mg,2,10".to_string()];
    rows.extend(
        (1..9000).map(|i| format!("B{i},,2026-11-01,40,no,no,diclofenac,tablet,50 mg,2,10")),
    );
    same_records_to_a_file(&rows, "(the file is sorted by patient)");
    // One patient with more rows than a batch may hold: two passes.
    let rows: Vec<String> = (0..9000)
        .map(|i| format!("B{i},P1,2026-11-01,40,no,no,diclofenac,tablet,25 mg,2,"))
        .collect();
    same_records_to_a_file(&rows, "9000 rows of 1 patients checked together\n");
}

#[test]
fn a_row_of_the_wrong_width_leaves_its_patient_s_other_rows_unverified_across_rows() {
    let rows = [
        "A1,P1,2026-11-01,40,no,no,diclofenac,tablet,50 mg,2,10",
        "B1,P2,2026-11-01,40,no,no,diclofenac,tablet,50 mg,2,10",
        // A delimiter too many: what, and when, it prescribes cannot be read.
        "A2,P1,2026-11-02,40,no,no,ibuprofen,tablet,400 mg,3,5,extra",
        "C1,P3,2026-11-01,40,no,no,diclofenac,tablet,50 mg,2,10",
    ];
    let unreadable = "input:input.row(A1,A2)".to_string();
    let got = run(&csv(&rows), &[]);
    assert_eq!(got[0].1, "warn", "{got:?}");
    assert!(got[0].2.contains(&unreadable), "{got:?}");
    assert_eq!(got[1].1, "ok", "another patient's: {got:?}");
    assert_eq!(got[2].1, "invalid", "{got:?}");
    assert_eq!(got[3].1, "ok", "{got:?}");
    // Row by row, the row is invalid and the others are not concerned.
    let alone = run(&csv(&rows), &["--no-by-patient"]);
    assert_eq!(alone[0].1, "ok", "{alone:?}");
    // Sorted by patient, in one pass, the same records as in two.
    let mut sorted: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
    sorted.sort_by_key(|r| r.split(',').nth(1).unwrap().to_string());
    let records = same_records_to_a_file(&sorted, "(the file is sorted by patient)");
    assert!(records.contains("a row that cannot be read"), "{records}");
}
