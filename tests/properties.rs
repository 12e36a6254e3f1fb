//! Properties that must always hold, checked on generated prescriptions (proptest) against
//! the shipped formulary: no panics, monotonic safety, in-range regimens pass, unit
//! invariance, and batch keeping every row, in order, in agreement with `check`.

use chrono::NaiveDate;
use proptest::prelude::*;
use rxcheck::batch::{Across, BatchOptions, run};
use rxcheck::formulary::Dosing;
use rxcheck::report::JsonPrinter;
use rxcheck::{Formulary, Prescription, Verdict, validate};
use std::sync::OnceLock;

fn formulary() -> &'static Formulary {
    static F: OnceLock<Formulary> = OnceLock::new();
    F.get_or_init(|| Formulary::embedded().unwrap())
}

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
}

/// Verdicts ranked by how much they stop a dispensing.
fn rank(v: Verdict) -> u8 {
    match v {
        Verdict::Ok | Verdict::Skipped => 0,
        Verdict::Warn => 1,
        Verdict::Reject => 2,
        Verdict::Invalid => 3,
    }
}

const FORMS: [(&str, &str); 8] = [
    ("nimesulide", "tablet"),
    ("diclofenac", "tablet"),
    ("diclofenac", "suppository"),
    ("diclofenac", "injection"),
    ("diclofenac", "gel"),
    ("indomethacin", "tablet"),
    ("indomethacin", "suppository"),
    ("indomethacin", "ointment"),
];

/// Text that looks like what real exports hold, and plenty that does not.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[0-9]{1,4}( mg| g| mcg| ml| cm| tablet)?",
        "[0-9]{1,3}-[0-9]{1,3} ?(mg|g)",
        "(yes|no|unknown|YES|maybe|f|M|ж|male)",
        "(19|20)[0-9]{2}-[01][0-9]-[0-3][0-9]",
        "[A-Z][0-9]{2}(\\.[0-9]{1,2})?(;[a-z_]{3,12})?",
        "(diclofenac|Voltaren|nimesulide|indomethacin|ibuprofen|tablet|gel|suppository)",
        any::<String>(),
        "\\PC{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn validation_never_panics_and_always_gives_a_verdict(fields in proptest::collection::vec(field(), 18)) {
        let f = |i: usize| fields.get(i).map_or("", String::as_str);
        let rx = Prescription {
            rx_id: f(0), drug: f(1), form: f(2), strength: f(3), dose: f(4), times_per_day: f(5),
            duration_days: f(6), age_years: f(7), birth_date: f(8), date: f(9), pregnant: f(10),
            gestational_week: f(11), breastfeeding: f(12), conditions: f(13), allergies: f(14),
            co_medications: f(15), sex: f(16), unit_volume: f(17),
        };
        let a = validate(formulary(), &rx, as_of());
        let _ = a.verdict();
        // A covered drug and form with a real dose is checked; anything else is at least flagged.
        if a.findings.is_empty() {
            prop_assert_eq!(a.verdict(), Verdict::Ok);
        }
    }

    #[test]
    fn raising_dose_frequency_or_duration_never_lowers_the_severity(
        form in 0..FORMS.len(),
        mg in 1u32..400, extra_mg in 0u32..400,
        times in 1u32..5, extra_times in 0u32..3,
        days in 1u32..10, extra_days in 0u32..10,
    ) {
        let (drug, form) = FORMS[form];
        let unit = if form == "ointment" { "cm" } else if form == "gel" { "g" } else { "mg" };
        let (low_dose, high_dose) = (format!("{mg} {unit}"), format!("{} {unit}", mg + extra_mg));
        let (low_times, high_times) = (times.to_string(), (times + extra_times).to_string());
        let (low_days, high_days) = (days.to_string(), (days + extra_days).to_string());
        let base = Prescription {
            drug, form, strength: if form == "ointment" { "5%" } else { "" },
            dose: &low_dose, times_per_day: &low_times, duration_days: &low_days,
            age_years: "40", pregnant: "no", breastfeeding: "no",
            ..Prescription::default()
        };
        let before = validate(formulary(), &base, as_of());
        let below_a_minimum = before.findings.iter().any(|f| f.rule.ends_with(".min"));
        prop_assume!(!below_a_minimum);
        let after = validate(formulary(), &Prescription {
            dose: &high_dose, times_per_day: &high_times, duration_days: &high_days, ..base
        }, as_of());
        prop_assert!(rank(after.verdict()) >= rank(before.verdict()),
            "{:?} -> {:?}", before.verdict(), after.verdict());
    }

    #[test]
    fn adding_a_condition_allergy_co_medication_or_pregnancy_never_lowers_the_severity(
        form in 0..FORMS.len(),
        condition in prop::sample::select(vec!["gi_ulcer", "K25.4", "hyperkalemia", "proctitis", "damaged_skin", "I10", "aspirin_asthma", "N18.5", "Q21.0"]),
        allergy in prop::sample::select(vec!["ibuprofen", "nsaid", "penicillin", "diclofenac"]),
        co_medication in prop::sample::select(vec!["methotrexate", "naproxen", "metformin", "aspirin"]),
        week in 0u32..46,
    ) {
        let (drug, form) = FORMS[form];
        let dose = if form == "ointment" { "10 cm" } else if form == "gel" { "2 g" } else { "50 mg" };
        let base = Prescription {
            drug, form, strength: if form == "ointment" { "5%" } else { "" }, dose,
            times_per_day: "2", duration_days: "2", age_years: "40", pregnant: "no", breastfeeding: "no",
            ..Prescription::default()
        };
        let before = rank(validate(formulary(), &base, as_of()).verdict());
        let week = week.to_string();
        for more in [
            Prescription { conditions: condition, ..base },
            Prescription { allergies: allergy, ..base },
            Prescription { co_medications: co_medication, ..base },
            Prescription { pregnant: "yes", gestational_week: &week, ..base },
            Prescription { breastfeeding: "yes", ..base },
        ] {
            let after = rank(validate(formulary(), &more, as_of()).verdict());
            prop_assert!(after >= before, "{:?}", more);
        }
    }

    #[test]
    fn a_regimen_inside_every_range_for_an_adult_with_no_exclusions_is_ok(
        pick in any::<prop::sample::Index>(),
        single_at in 0u32..=100, times_at in any::<prop::sample::Index>(),
    ) {
        // Every (drug, form, dosage rule) that applies to a 40-year-old.
        let f = formulary();
        let mut choices = Vec::new();
        for drug in &f.drugs {
            for form in &drug.forms {
                if let Dosing::Known(rules) = &form.dosing {
                    for rule in rules.iter().filter(|r| r.covers_age(40)) {
                        choices.push((drug, form, rule));
                    }
                }
            }
        }
        let (drug, form, rule) = choices[pick.index(choices.len())];
        let (tmin, tmax) = (rule.times_per_day.0.unwrap_or(1), rule.times_per_day.1.unwrap_or(4));
        let times = tmin + times_at.index((tmax - tmin + 1) as usize) as u32;
        let t = rust_decimal::Decimal::from(times);
        let mut lo = rule.per_administration.min.unwrap_or(rust_decimal::Decimal::ONE);
        let mut hi = rule.per_administration.usual_max.or(rule.per_administration.max).unwrap_or(rust_decimal::Decimal::from(1000));
        if let Some(d) = rule.per_day.min { lo = lo.max(d / t); }
        if let Some(d) = rule.per_day.usual_max.or(rule.per_day.max) { hi = hi.min(d / t); }
        prop_assume!(lo <= hi);
        let single = (lo + (hi - lo) * rust_decimal::Decimal::from(single_at) / rust_decimal::Decimal::from(100)).round_dp(3);
        prop_assume!(single >= lo && single <= hi);
        let unit = match form.dose_dimension { Some(rxcheck::units::Dimension::Length) => "cm", _ => "mg" };
        let dose = format!("{} {unit}", single.normalize());
        let strength = rule.strength.map(|s| s.to_string()).unwrap_or_default();
        let times = times.to_string();
        let rx = Prescription {
            drug: &drug.id, form: &form.id, strength: &strength, dose: &dose, times_per_day: &times,
            duration_days: "1", age_years: "40", pregnant: "no", breastfeeding: "no",
            ..Prescription::default()
        };
        let a = validate(f, &rx, as_of());
        let above_info: Vec<_> = a.findings.iter().filter(|f| f.severity > rxcheck::Severity::Info).collect();
        prop_assert_eq!(a.verdict(), Verdict::Ok, "{:?}: {:?}", rx, above_info);
    }

    #[test]
    fn the_same_amount_in_any_unit_gives_the_same_findings(mg in 1u32..400, times in 1u32..5, form in 0usize..3) {
        let (drug, form, strength) = [("nimesulide", "tablet", "100 mg"), ("diclofenac", "suppository", "50 mg"), ("indomethacin", "suppository", "50 mg")][form];
        let times = times.to_string();
        let grams = rust_decimal::Decimal::from(mg) / rust_decimal::Decimal::from(1000);
        let units = rust_decimal::Decimal::from(mg) / strength.trim_end_matches(" mg").parse::<rust_decimal::Decimal>().unwrap();
        let doses = [format!("{mg} mg"), format!("{grams} g"), format!("{} mcg", mg * 1000), format!("{units} {form}")];
        let mut seen = None;
        for dose in &doses {
            let rx = Prescription {
                drug, form, strength, dose, times_per_day: &times, duration_days: "3",
                age_years: "40", pregnant: "no", breastfeeding: "no", ..Prescription::default()
            };
            let a = validate(formulary(), &rx, as_of());
            let rules: Vec<String> = a.findings.iter().map(|f| f.rule.to_string()).collect();
            match &seen {
                None => seen = Some((a.verdict(), rules)),
                Some(first) => prop_assert_eq!(first, &(a.verdict(), rules), "{}", dose),
            }
        }
    }
}

/// A CSV of generated rows: plausible prescriptions, broken ones and quoting.
fn rows() -> impl Strategy<Value = Vec<[String; 6]>> {
    let row = (
        "RX[0-9]{1,4}",
        prop::sample::select(vec![
            "diclofenac",
            "nimesulide",
            "indomethacin",
            "Voltaren",
            "ibuprofen",
            "\"diclo,fenac\"",
        ]),
        prop::sample::select(vec![
            "tablet",
            "suppository",
            "gel",
            "injection",
            "ointment",
            "pill",
        ]),
        prop::sample::select(vec![
            "50 mg",
            "100 mg",
            "2 g",
            "10 cm",
            "two",
            "\"1,5 mg\"",
            "75 mg",
        ]),
        prop::sample::select(vec!["1", "2", "3", "0", "x"]),
        prop::sample::select(vec!["40", "10", "", "200"]),
    )
        .prop_map(|(a, b, c, d, e, g)| {
            [
                a,
                b.to_string(),
                c.to_string(),
                d.to_string(),
                e.to_string(),
                g.to_string(),
            ]
        });
    proptest::collection::vec(row, 0..60)
}

const NAMES: [&str; 6] = [
    "rx_id",
    "drug",
    "form",
    "dose",
    "times_per_day",
    "age_years",
];

fn to_csv(rows: &[[String; 6]], order: &[usize]) -> String {
    let mut text = order
        .iter()
        .map(|&i| NAMES[i])
        .collect::<Vec<_>>()
        .join(",");
    text.push_str(",pregnant,breastfeeding\n");
    for row in rows {
        text.push_str(
            &order
                .iter()
                .map(|&i| row[i].as_str())
                .collect::<Vec<_>>()
                .join(","),
        );
        text.push_str(",no,no\n");
    }
    text
}

fn batch(input: &str, sequential: bool) -> Vec<u8> {
    let mut options = BatchOptions::new(as_of());
    options.sequential = sequential;
    options.batch_rows = 7;
    let mut out = Vec::new();
    let printer = JsonPrinter::for_formulary(formulary());
    run(
        formulary(),
        input.as_bytes(),
        &mut out,
        &printer,
        &options,
        Across::Alone,
        None,
    )
    .unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn batch_keeps_every_row_in_order_agrees_with_check_and_runs_the_same_in_parallel(
        rows in rows(),
        order in Just((0..6).collect::<Vec<usize>>()).prop_shuffle(),
    ) {
        let input = to_csv(&rows, &[0, 1, 2, 3, 4, 5]);
        let parallel = batch(&input, false);
        prop_assert_eq!(&parallel, &batch(&input, true), "parallel and sequential runs differ");
        let records: Vec<serde_json::Value> = String::from_utf8(parallel).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        prop_assert_eq!(records.len(), rows.len());
        for (i, (record, row)) in records.iter().zip(&rows).enumerate() {
            prop_assert_eq!(record["line"].as_u64(), Some(i as u64 + 2));
            // Rows whose fields hold no comma or quote are the plain ones `check` can be given.
            if row.iter().all(|f| !f.contains(['"', ','])) {
                let rx = Prescription {
                    rx_id: &row[0], drug: &row[1], form: &row[2], dose: &row[3], times_per_day: &row[4],
                    age_years: &row[5], pregnant: "no", breastfeeding: "no", ..Prescription::default()
                };
                let expected = validate(formulary(), &rx, as_of()).verdict();
                prop_assert_eq!(record["verdict"].as_str(), Some(expected.as_str()), "row {}", i);
            }
        }
        // Column order in the header changes nothing.
        let shuffled = batch(&to_csv(&rows, &order), false);
        let verdicts = |out: &[u8]| -> Vec<String> {
            String::from_utf8_lossy(out).lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["verdict"].to_string()).collect()
        };
        prop_assert_eq!(verdicts(&shuffled), records.iter().map(|r| r["verdict"].to_string()).collect::<Vec<_>>());
    }
}

mod extremes {
    use super::*;
    use rxcheck::formulary::SourceFile;

    fn load(text: String) -> Result<Formulary, rxcheck::formulary::LoadError> {
        Formulary::load(&[SourceFile {
            name: "x.toml".into(),
            text,
        }])
    }

    #[test]
    fn deeply_nested_toml_is_an_error_not_a_crash() {
        let depth = 100_000;
        let text = format!("a = {}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(load(text).is_err());
        let tables = format!("[{}]", vec!["t"; 5_000].join("."));
        assert!(load(tables).is_err());
    }

    #[test]
    fn a_huge_formulary_file_loads_or_fails_cleanly() {
        let mut text =
            String::from("[formulary]\nname = \"x\"\nversion = \"1\"\nreference = \"r\"\n");
        for i in 0..20_000 {
            text.push_str(&format!(
                "[conditions.c{i}]\nlabel = \"condition {i}\"\nicd10 = [\"K25.{}\"]\n",
                i % 10
            ));
        }
        match load(text) {
            Ok(_) => panic!("a formulary without drugs must not load"),
            Err(err) => assert!(
                err.to_string().contains("the formulary has no drugs"),
                "{err}"
            ),
        }
    }

    #[test]
    fn empty_files() {
        assert!(
            load(String::new())
                .unwrap_err()
                .to_string()
                .contains("no `[formulary]` table")
        );
        let mut out = Vec::new();
        let printer = JsonPrinter::default();
        let result = run(
            formulary(),
            &b""[..],
            &mut out,
            &printer,
            &BatchOptions::new(as_of()),
            Across::Alone,
            None,
        );
        assert!(result.is_err());
    }

    #[test]
    fn huge_numbers_are_invalid_not_a_crash() {
        for (dose, times) in [
            ("99999999999999999999999999999 mg", "4"),
            ("79228162514264337593543950335 mg", "1000"),
            ("999999 g", "1000"),
            ("1 mg", "99999999999999999999"),
        ] {
            let rx = Prescription {
                drug: "diclofenac",
                form: "tablet",
                dose,
                times_per_day: times,
                age_years: "40",
                pregnant: "no",
                breastfeeding: "no",
                ..Prescription::default()
            };
            let v = validate(formulary(), &rx, as_of()).verdict();
            assert!(
                matches!(v, Verdict::Invalid | Verdict::Reject),
                "{dose} x {times}: {v:?}"
            );
        }
    }

    #[test]
    fn a_one_megabyte_field_costs_only_its_row() {
        let big = "x".repeat(1 << 20);
        let input = format!(
            "rx_id,age_years,drug,form,dose,times_per_day\nA,40,diclofenac,tablet,{big},3\nB,40,diclofenac,tablet,\"{big}\",3\nC,40,diclofenac,tablet,50 mg,3\n"
        );
        let out = batch(&input, false);
        let verdicts: Vec<String> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["verdict"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(verdicts, ["invalid", "invalid", "warn"]);
    }
}

/// Inputs the fuzzers found interesting, kept as regression tests.
mod fuzz_regressions {
    use super::*;

    /// The batch fuzzer's report on this input was a leak in the sanitizer's own bookkeeping of
    /// thread exits, not in rxcheck; the input (a second header line, NUL bytes, a CR inside a
    /// row, an unbalanced quote) still has to give one record per row. Its bytes that are not
    /// UTF-8 would stop the run, so they are replaced first.
    #[test]
    fn batch_thread_exit_input_gives_one_record_per_row() {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/fuzz/batch-thread-exit.csv"
        ))
        .unwrap();
        let input = String::from_utf8_lossy(&bytes).into_owned().into_bytes();
        let mut options = BatchOptions::new(as_of());
        options.max_field_bytes = 64;
        options.batch_rows = 3;
        // Its header misspells `pregnant` and `gestational_week`: near misses, which now stop a
        // run unless ignored.
        options
            .columns
            .ignore
            .extend(["pregna".into(), "gtnestational_week".into()]);
        let mut cross = rxcheck::batch::scan_patients(formulary(), &input[..], &options).unwrap();
        let printer = JsonPrinter::for_formulary(formulary());
        let mut out = Vec::new();
        let summary = run(
            formulary(),
            &input[..],
            &mut out,
            &printer,
            &options,
            cross.as_mut().map_or(Across::Alone, Across::Scanned),
            None,
        )
        .unwrap();
        let records = out.iter().filter(|&&b| b == b'\n').count() as u64;
        assert_eq!(records, summary.rows);
        assert!(summary.rows > 30);
    }
}

/// A line of a generated file: a well-formed row (its last field possibly quoted, with
/// doubled quotes and line ends inside), or a broken line with a stray quote.
#[derive(Debug, Clone)]
enum Line {
    Row(String),
    Stray(String),
}

fn lines() -> impl Strategy<Value = Vec<Line>> {
    let text = "[a-z0-9 ;,]{0,12}";
    let row = (text, prop::bool::ANY, "[a-z \n]{0,10}").prop_map(|(id, quoted, note)| {
        let note = if quoted {
            format!("\"{}\"\"{}\"", note, note.replace('\n', " "))
        } else {
            note.replace(['\n', ';'], " ")
        };
        Line::Row(format!(
            "R{};diclofenac;tablet;50 mg;3;40;{note}",
            id.replace([';', ','], "")
        ))
    });
    // A quote opened in the third field and never closed on its line: wherever a later quote
    // closes it, the record it would make has the wrong width.
    let stray = "[a-z ]{0,8}".prop_map(|a| Line::Stray(format!("S;diclofenac;\"{a}")));
    proptest::collection::vec(prop_oneof![3 => row, 1 => stray], 1..40)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Whatever quotes a file holds, every line that starts a row gets exactly one record,
    /// at that line.
    #[test]
    fn one_record_per_line_that_starts_a_row(lines in lines()) {
        let mut text = String::from("rx_id;drug;form;dose;times_per_day;age_years;note\n");
        let mut starts = Vec::new();
        let mut line = 2u64;
        for l in &lines {
            starts.push(line);
            let body = match l {
                Line::Row(body) | Line::Stray(body) => body,
            };
            line += 1 + body.matches('\n').count() as u64;
            text.push_str(body);
            text.push('\n');
        }
        let out = batch(&text, false);
        let seen: Vec<u64> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["line"].as_u64().unwrap())
            .collect();
        prop_assert_eq!(seen, starts);
    }
}

/// Checks across a patient's rows give the same report whether their working data stays in
/// memory or spills to files, however finely it is split.
mod by_patient_spill {
    use super::*;
    use rxcheck::batch::{SpillTo, scan_patients};
    use std::io::Cursor;

    /// Rows of a few patients (short ids, long ids, a placeholder) with courses that overlap.
    fn patient_rows() -> impl Strategy<Value = Vec<(usize, usize, u32, u32)>> {
        let row = (0usize..7, 0usize..6, 0u32..12, 1u32..8);
        proptest::collection::vec(row, 1..120)
    }

    const PATIENTS: [&str; 7] = [
        "P1",
        "P2",
        "UNKNOWN",
        "a-patient-id-longer-than-fifteen-bytes",
        "another-long-patient-id-0000000001",
        "P3",
        "fifteen-bytes15",
    ];

    fn to_csv(rows: &[(usize, usize, u32, u32)]) -> String {
        const REGIMENS: [&str; 6] = [
            "diclofenac,tablet,50 mg,3",
            "diclofenac,suppository,100 mg,1",
            "Voltaren,gel,4 g,3",
            "nimesulide,tablet,100 mg,2",
            "indomethacin,tablet,50 mg,3",
            "ibuprofen,tablet,400 mg,3",
        ];
        let mut text = String::from(
            "rx_id,patient_id,date,age_years,pregnant,breastfeeding,drug,form,dose,times_per_day,duration_days\n",
        );
        for (i, (patient, regimen, day, days)) in rows.iter().enumerate() {
            text.push_str(&format!(
                "RX{i},{},2026-11-{:02},40,no,no,{},{days}\n",
                PATIENTS[*patient],
                day + 1,
                REGIMENS[*regimen]
            ));
        }
        text
    }

    fn by_patient(input: &str, spill: Option<usize>) -> Vec<u8> {
        let mut options = BatchOptions::new(as_of());
        options.batch_rows = 5;
        if let Some(budget) = spill {
            options.spill = Some(SpillTo::new(|| Ok(Cursor::new(Vec::new()))));
            options.memory_budget = budget;
        }
        let mut cross = scan_patients(formulary(), input.as_bytes(), &options).unwrap();
        let printer = JsonPrinter::for_formulary(formulary());
        let mut out = Vec::new();
        run(
            formulary(),
            input.as_bytes(),
            &mut out,
            &printer,
            &options,
            cross.as_mut().map_or(Across::Alone, Across::Scanned),
            None,
        )
        .unwrap();
        out
    }

    /// The report of a file sorted by patient id, checked in one pass in batches of
    /// `batch_rows`; `None` when it must take two (a patient's rows do not fit in a batch).
    fn in_one_pass(input: &str, batch_rows: usize) -> Option<Vec<u8>> {
        let mut options = BatchOptions::new(as_of());
        options.batch_rows = batch_rows;
        let printer = JsonPrinter::for_formulary(formulary());
        let mut out = Vec::new();
        let across = Across::SortedByPatient;
        match run(
            formulary(),
            input.as_bytes(),
            &mut out,
            &printer,
            &options,
            across,
            None,
        ) {
            Ok(_) => Some(out),
            Err(rxcheck::batch::BatchError::NotSortedByPatient) => None,
            Err(e) => panic!("{e}"),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn a_sorted_file_gives_the_same_report_in_one_pass_as_in_two(
            rows in patient_rows(),
            batch_rows in 1usize..40,
        ) {
            let mut rows = rows;
            rows.sort_by_key(|row| PATIENTS[row.0]);
            let input = to_csv(&rows);
            if let Some(one) = in_one_pass(&input, batch_rows) {
                let two = by_patient(&input, None);
                prop_assert_eq!(String::from_utf8_lossy(&one), String::from_utf8_lossy(&two));
            }
        }

        #[test]
        fn spilled_and_split_work_gives_the_same_report_as_work_in_memory(rows in patient_rows()) {
            let input = to_csv(&rows);
            let in_memory = by_patient(&input, None);
            // A budget of 0 spills at once and splits every part down to single patients.
            for budget in [0, 600, 1 << 20] {
                let spilled = by_patient(&input, Some(budget));
                prop_assert_eq!(
                    String::from_utf8_lossy(&spilled),
                    String::from_utf8_lossy(&in_memory),
                    "budget {}", budget
                );
            }
        }
    }

    #[test]
    fn findings_worked_out_with_one_formulary_are_not_added_with_another() {
        let rows: Vec<_> = (0..10).map(|i| (0, i % 6, 1, 7)).collect();
        let input = to_csv(&rows);
        let options = BatchOptions::new(as_of());
        let mut cross = scan_patients(formulary(), input.as_bytes(), &options).unwrap();
        let other = Formulary::embedded().unwrap();
        let printer = JsonPrinter::for_formulary(&other);
        let mut out = Vec::new();
        let result = run(
            &other,
            input.as_bytes(),
            &mut out,
            &printer,
            &options,
            cross.as_mut().map_or(Across::Alone, Across::Scanned),
            None,
        );
        let message = result.unwrap_err().to_string();
        assert!(message.contains("another"), "{message}");
    }

    #[test]
    fn the_generated_rows_do_get_findings_across_rows() {
        let rows: Vec<_> = (0..40).map(|i| (i % 7, i % 6, (i % 5) as u32, 7)).collect();
        let out = String::from_utf8(by_patient(&to_csv(&rows), Some(0))).unwrap();
        for rule in ["combined_daily_max", "duplicate"] {
            assert!(out.contains(rule), "no `{rule}` finding in {out}");
        }
    }
}
