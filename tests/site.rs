//! Site tuning through the real binary: the overlay's operations and lint errors, the
//! acknowledgements (same inputs, changed inputs), the template and the summary counts.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn rxcheck() -> Command {
    let mut cmd = Command::cargo_bin("rxcheck").unwrap();
    cmd.env("NO_COLOR", "1")
        .env_remove("RXCHECK_FORMULARY")
        .env_remove("RXCHECK_SITE");
    cmd
}

/// A folder for one test's files, removed when dropped.
struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Dir {
        Dir(tempfile::tempdir().unwrap())
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}

const SIGNED: &str = "justification = \"committee minute 12\"\nauthor = \"M. Petrova\"\n";

/// An overlay made of `entries`, each a `[[rule]]` body (signed unless it says otherwise).
fn overlay(dir: &Dir, entries: &[&str]) -> PathBuf {
    let mut text = String::from("[site]\nname = \"Test ward\"\n");
    for entry in entries {
        text.push_str("\n[[rule]]\n");
        text.push_str(entry);
        if !entry.contains("justification") && !entry.contains("author") {
            text.push_str(SIGNED);
        }
    }
    dir.write("site.toml", &text)
}

const NIMESULIDE_WITH_PARACETAMOL: [&str; 14] = [
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
    "--sex",
    "m",
    "--co-medication",
    "paracetamol",
];

const DICLOFENAC_150: [&str; 12] = [
    "--drug",
    "diclofenac",
    "--form",
    "tablet",
    "--dose",
    "50 mg",
    "--times-per-day",
    "3",
    "--age-years",
    "40",
    "--sex",
    "m",
];

/// `rxcheck check ... --format json`: exit code and the record.
fn check(site: Option<&Path>, extra: &[&str], rx: &[&str]) -> (i32, Value) {
    let mut cmd = rxcheck();
    cmd.arg("check")
        .args(["--as-of", "2026-11-24", "--format", "json"]);
    if let Some(site) = site {
        cmd.arg("--site").arg(site);
    }
    let out = cmd.args(rx).args(extra).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let record = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{text}{stderr}"));
    (out.status.code().unwrap(), record)
}

fn findings(record: &Value) -> &Vec<Value> {
    record["findings"].as_array().unwrap()
}

fn finding<'a>(record: &'a Value, rule: &str) -> Option<&'a Value> {
    findings(record).iter().find(|f| f["rule"] == rule)
}

#[test]
fn a_rule_regraded_by_id_says_so_and_changes_the_verdict() {
    let dir = Dir::new();
    let site = overlay(
        &dir,
        &["match = \"nimesulide.interaction.hepatotoxic\"\nseverity = \"info\"\n"],
    );
    let (code, before) = check(None, &[], &NIMESULIDE_WITH_PARACETAMOL);
    assert_eq!((code, before["verdict"].as_str()), (1, Some("warn")));
    assert!(finding(&before, "nimesulide.interaction.hepatotoxic").unwrap()["overlay"].is_null());

    let (code, after) = check(Some(&site), &[], &NIMESULIDE_WITH_PARACETAMOL);
    assert_eq!((code, after["verdict"].as_str()), (0, Some("ok")));
    let f = finding(&after, "nimesulide.interaction.hepatotoxic").unwrap();
    assert_eq!(f["severity"], "info");
    assert_eq!(f["formulary_severity"], "warn");
    let at = f["overlay"].as_str().unwrap();
    assert!(at.ends_with("site.toml:5"), "{at}");
    // Findings the overlay leaves alone are not marked.
    let untouched = finding(&after, "nimesulide.tablet.administration.after_meals").unwrap();
    assert!(untouched["overlay"].is_null());
}

#[test]
fn a_pattern_hides_every_rule_it_matches_and_the_summary_counts_them() {
    let dir = Dir::new();
    let site = overlay(
        &dir,
        &["match = \"*.administration.*\"\nseverity = \"hidden\"\n"],
    );
    let (code, record) = check(Some(&site), &[], &DICLOFENAC_150);
    assert_eq!(code, 0);
    assert!(findings(&record).is_empty(), "{record}");

    let csv = "rx_id,drug,form,dose,times_per_day,age_years,sex\nRX-1,diclofenac,tablet,50 mg,3,40,m\nRX-2,nimesulide,tablet,100 mg,2,40,m\n";
    let input = dir.write("in.csv", csv);
    let summary = dir.path("summary.json");
    let out = rxcheck()
        .args(["batch", "--as-of", "2026-11-24", "-q"])
        .arg(&input)
        .arg("--site")
        .arg(&site)
        .arg("--summary-json")
        .arg(&summary)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report = String::from_utf8(out.stdout).unwrap();
    assert!(!report.contains("administration"), "{report}");
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let rules = summary["rules"].as_array().unwrap();
    let count = |rule: &str| rules.iter().find(|r| r["rule"] == rule).cloned();
    let before_meals = count("diclofenac.tablet.administration.before_meals").unwrap();
    assert_eq!(before_meals["fired"], 1);
    assert_eq!(before_meals["hidden"], 1);
    assert_eq!(before_meals["overlay_changed"], 1);
    assert_eq!(before_meals["acknowledged"], 0);
    assert!(count("nimesulide.tablet.administration.after_meals").is_some());
    assert_eq!(summary["rows"], 2);
    assert_eq!(summary["verdicts"]["ok"], 2);
}

#[test]
fn hide_info_hides_every_info_finding_and_nothing_else() {
    let dir = Dir::new();
    let site = dir.write("site.toml", &format!("[hide_info]\n{SIGNED}"));
    let (_, record) = check(Some(&site), &[], &NIMESULIDE_WITH_PARACETAMOL);
    let shown: Vec<&str> = findings(&record)
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(shown, ["nimesulide.interaction.hepatotoxic"]);
    assert_eq!(record["verdict"], "warn");
}

#[test]
fn a_tightened_limit_rejects_what_the_formulary_allows() {
    let dir = Dir::new();
    let site = overlay(
        &dir,
        &["match = \"diclofenac.tablet.dosage.over_15.dose_per_day.max\"\nlimit = \"100 mg\"\n"],
    );
    let (code, before) = check(None, &[], &DICLOFENAC_150);
    assert_eq!((code, before["verdict"].as_str()), (0, Some("ok")));
    let (code, after) = check(Some(&site), &[], &DICLOFENAC_150);
    assert_eq!((code, after["verdict"].as_str()), (2, Some("reject")));
    let f = finding(&after, "diclofenac.tablet.dosage.over_15.dose_per_day.max").unwrap();
    assert!(
        f["message"].as_str().unwrap().contains("maximum of 100 mg"),
        "{f}"
    );
    assert!(f["overlay"].as_str().unwrap().ends_with("site.toml:5"));

    let show = rxcheck()
        .args(["formulary", "show", "diclofenac", "tablet", "--site"])
        .arg(&site)
        .output()
        .unwrap();
    let text = String::from_utf8(show.stdout).unwrap();
    assert!(text.contains("per day min 75 mg, max 100 mg"), "{text}");
    assert!(
        text.contains("limit 100 mg, formulary 150 mg (M. Petrova: committee minute 12)"),
        "{text}"
    );
    let show = rxcheck()
        .args([
            "formulary",
            "show",
            "diclofenac",
            "tablet",
            "--format",
            "json",
            "--site",
        ])
        .arg(&site)
        .output()
        .unwrap();
    let views: Value = serde_json::from_slice(&show.stdout).unwrap();
    let dosage = &views[0]["forms"][0]["dosage"][0];
    assert_eq!(dosage["dose_per_day"]["max"], "100 mg");
    assert!(
        dosage["site"][0]
            .as_str()
            .unwrap()
            .contains("limit 100 mg, formulary 150 mg")
    );
}

#[test]
fn a_warning_can_be_raised_to_reject_and_the_site_comes_from_the_environment() {
    let dir = Dir::new();
    let site = overlay(
        &dir,
        &["match = \"nimesulide.interaction.*\"\nseverity = \"reject\"\n"],
    );
    let out = rxcheck()
        .env("RXCHECK_SITE", &site)
        .args(["check", "--as-of", "2026-11-24", "--format", "json"])
        .args(NIMESULIDE_WITH_PARACETAMOL)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let record: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(record["findings"][0]["severity"], "reject");
    assert_eq!(record["findings"][0]["formulary_severity"], "warn");
}

#[test]
fn a_reject_goes_below_warn_only_where_the_entry_allows_it() {
    let dir = Dir::new();
    let asthma = ["--condition", "asthma"];
    let entry = "match = \"nsaid_contraindications.contraindication.bronchial_asthma\"\nseverity = \"info\"\n";
    let refused = overlay(&dir, &[entry]);
    let lint = rxcheck()
        .args(["formulary", "lint", "--site"])
        .arg(&refused)
        .output()
        .unwrap();
    assert_eq!(lint.status.code(), Some(3));
    let text = String::from_utf8(lint.stdout).unwrap();
    assert!(text.contains("loosens a reject below warn"), "{text}");
    assert!(text.contains("site.toml:6:12"), "{text}");
    // check refuses to run with it, in one line.
    let out = rxcheck()
        .args(["check", "--site"])
        .arg(&refused)
        .args(DICLOFENAC_150)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("rxcheck: error: site overlay does not load:"),
        "{stderr}"
    );

    let allowed = overlay(&dir, &[&format!("{entry}allow_loosen = true\n")]);
    let (code, record) = check(Some(&allowed), &asthma, &DICLOFENAC_150);
    assert_eq!(code, 0);
    let f = finding(
        &record,
        "nsaid_contraindications.contraindication.bronchial_asthma",
    )
    .unwrap();
    assert_eq!(
        (f["severity"].as_str(), f["formulary_severity"].as_str()),
        (Some("info"), Some("reject"))
    );
}

/// `formulary lint --site` on an overlay: exit code and output.
fn lint(dir: &Dir, text: &str) -> (i32, String) {
    let site = dir.write("site.toml", text);
    let out = rxcheck()
        .args(["formulary", "lint", "--site"])
        .arg(&site)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[test]
fn each_lint_error_is_located_and_says_what_to_do() {
    let dir = Dir::new();
    let cases: [(&str, &str, &str); 11] = [
        (
            "[[rule]]\nmatch = \"*.no_such_rule.*\"\nseverity = \"info\"\n",
            "site.toml:2:9",
            "`*.no_such_rule.*` matches no rule of the formulary",
        ),
        (
            "[[rule]]\nmatch = \"nimesulide.interaction.hepatotoxc\"\nseverity = \"info\"\n",
            "site.toml:2:9",
            "did you mean `nimesulide.interaction.hepatotoxic`?",
        ),
        (
            "[[rule]]\nmatch = \"nimesulide.interaction.hepatotoxic\"\nseverity = \"critical\"\n",
            "site.toml:3:12",
            "`critical` is not a severity an overlay can give",
        ),
        (
            "[[rule]]\nmatch = \"nimesulide.interaction.hepatotoxic\"\nseverity = \"invalid\"\n",
            "site.toml:3:12",
            "`invalid` is not a severity an overlay can give",
        ),
        (
            "[[rule]]\nmatch = \"nimesulide.interaction.hepatotoxic\"\n",
            "site.toml:",
            "the entry changes nothing",
        ),
        (
            "[[rule]]\nmatch = \"nimesulide.interaction.hepatotoxic\"\nlimit = \"10 mg\"\n",
            "site.toml:3:9",
            "`nimesulide.interaction.hepatotoxic` is not a limit",
        ),
        (
            "[[rule]]\nmatch = \"diclofenac.tablet.dosage.over_15.dose_per_day.max\"\nlimit = \"200 mg\"\n",
            "site.toml:3:9",
            "200 mg loosens `diclofenac.tablet.dosage.over_15.dose_per_day.max` (the formulary's limit is 150 mg)",
        ),
        (
            "[[rule]]\nmatch = \"diclofenac.tablet.dosage.over_15.dose_per_day.max\"\nlimit = \"100 ml\"\n",
            "site.toml:3:9",
            "`100 ml` is not a mass (in mg)",
        ),
        (
            "[[rule]]\nmatch = \"*.min_age\"\nlimit = 4\n",
            "site.toml:3:9",
            "4 years loosens",
        ),
        (
            "[[rule]]\nseverity = \"info\"\n",
            "site.toml:1",
            "`match` is missing",
        ),
        (
            "[[rule]]\nmatch = \"*.administration.*\"\nseverity = \"hidden\"\ncolour = \"red\"\n",
            "site.toml:4:1",
            "unknown key `colour`",
        ),
    ];
    for (body, at, message) in cases {
        let signed = if body.contains("colour") {
            body.to_string()
        } else {
            format!("{body}{SIGNED}")
        };
        let (code, text) = lint(&dir, &signed);
        assert_eq!(code, 3, "{body}\n{text}");
        assert!(
            text.contains(message),
            "{body}\nwanted `{message}` in:\n{text}"
        );
        assert!(text.contains(at), "{body}\nwanted `{at}` in:\n{text}");
    }
}

#[test]
fn every_entry_must_be_signed() {
    let dir = Dir::new();
    let (code, text) = lint(
        &dir,
        "[[rule]]\nmatch = \"*.administration.*\"\nseverity = \"hidden\"\nauthor = \"  \"\n\n[hide_info]\nauthor = \"M. Petrova\"\n",
    );
    assert_eq!(code, 3);
    assert!(text.contains("`justification` is missing"), "{text}");
    assert!(text.contains("`author` is blank"), "{text}");
    assert!(text.contains("site.toml:4:10"), "{text}");
    assert!(text.contains("3 errors"), "{text}");
    let (code, text) = lint(
        &dir,
        &format!("[[rule]]\nmatch = \"*.administration.*\"\nseverity = \"hidden\"\n{SIGNED}"),
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("site overlay `"), "{text}");
    assert!(
        text.contains("1 entries, 9 rules changed: 0 errors"),
        "{text}"
    );
}

#[test]
fn the_shipped_example_overlay_lints_clean() {
    let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/site/site.toml");
    let out = rxcheck()
        .args(["formulary", "lint", "--site"])
        .arg(&site)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("0 errors, 0 warnings"), "{text}");
}

const EXPORT: &str = "rx_id,drug,form,dose,times_per_day,age_years,sex\n\
RX-1,diclofenac,tablet,75 mg,3,40,m\n\
RX-2,nimesulide,tablet,100 mg,3,40,m\n\
RX-3,diclofenac,tablet,50 mg,2,40,m\n";

/// `rxcheck batch` over `csv` with `args`: exit code, records by rx_id, stderr.
fn batch(dir: &Dir, csv: &str, args: &[&std::ffi::OsStr]) -> (i32, Vec<Value>, String) {
    let input = dir.write("export.csv", csv);
    let out = rxcheck()
        .args(["batch", "--as-of", "2026-11-24", "--format", "jsonl"])
        .arg(&input)
        .args(args)
        .output()
        .unwrap();
    let records = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        out.status.code().unwrap(),
        records,
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The template of `EXPORT`, filled in for every line.
fn filled_template(dir: &Dir) -> PathBuf {
    let template = dir.path("todo.jsonl");
    let (code, _, stderr) = batch(
        dir,
        EXPORT,
        &["--write-ack-template".as_ref(), template.as_os_str()],
    );
    assert_eq!(code, 2, "{stderr}");
    let text = std::fs::read_to_string(&template).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let rules: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| (l["rx_id"].as_str().unwrap(), l["rule"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rules,
        [
            ("RX-1", "diclofenac.tablet.dosage.over_15.dose_per_day.max"),
            ("RX-2", "nimesulide.tablet.dosage.dose_per_day.max"),
            ("RX-2", "nimesulide.tablet.dosage.times_per_day.max"),
        ],
        "{text}"
    );
    for l in &lines {
        assert_eq!(l["reason"], "");
        assert_eq!(l["inputs"].as_str().unwrap().len(), 16);
    }
    let filled: String = lines
        .into_iter()
        .map(|mut l| {
            l["reason"] = "tolerated-before".into();
            l["by"] = "A. Ivanova".into();
            l["at"] = "2026-11-24T10:00:00Z".into();
            l["comment"] = "on this dose for a year".into();
            format!("{l}\n")
        })
        .collect();
    dir.write("acks.jsonl", &filled)
}

#[test]
fn an_acknowledgement_covers_the_same_inputs_and_not_changed_ones() {
    let dir = Dir::new();
    let acks = filled_template(&dir);
    let ack_args = ["--acknowledged".as_ref(), acks.as_os_str()];
    let (code, records, _) = batch(&dir, EXPORT, &ack_args);
    assert_eq!(code, 0);
    let verdicts: Vec<&str> = records
        .iter()
        .map(|r| r["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["ok", "ok", "ok"]);
    let f = finding(
        &records[0],
        "diclofenac.tablet.dosage.over_15.dose_per_day.max",
    )
    .unwrap();
    assert_eq!(f["severity"], "reject");
    assert_eq!(f["acknowledged"]["reason"], "tolerated-before");
    assert_eq!(f["acknowledged"]["by"], "A. Ivanova");
    assert!(
        f["acknowledged"]["record"]
            .as_str()
            .unwrap()
            .ends_with("acks.jsonl:1")
    );

    // Written differently but saying the same: still covered. A different dose: not.
    let changed = EXPORT
        .replace(
            "RX-1,diclofenac,tablet,75 mg,3,40,m",
            "RX-1, Diclofenac ,TABLET,75 mg,3,40,M",
        )
        .replace(
            "RX-2,nimesulide,tablet,100 mg,3",
            "RX-2,nimesulide,tablet,100 mg,4",
        );
    let (code, records, _) = batch(&dir, &changed, &ack_args);
    assert_eq!(code, 2);
    assert_eq!(records[0]["verdict"], "ok");
    assert_eq!(records[1]["verdict"], "reject");
    let f = finding(&records[1], "nimesulide.tablet.dosage.dose_per_day.max").unwrap();
    assert!(f["acknowledged"].is_null());

    // The same acknowledgement on another prescription id covers nothing.
    let other_id = EXPORT.replace("RX-1,", "RX-9,");
    let (_, records, _) = batch(&dir, &other_id, &ack_args);
    assert_eq!(records[0]["verdict"], "reject");

    // The summary counts what was acknowledged.
    let summary = dir.path("summary.json");
    let args = [
        ack_args[0],
        ack_args[1],
        "--summary-json".as_ref(),
        summary.as_os_str(),
    ];
    let (_, _, stderr) = batch(&dir, EXPORT, &args);
    assert!(
        stderr.contains("1  diclofenac.tablet.dosage.over_15.dose_per_day.max  (1 acknowledged)"),
        "{stderr}"
    );
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(summary["exit_code"], 0);
    let rule = summary["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "nimesulide.tablet.dosage.dose_per_day.max")
        .unwrap();
    assert_eq!(
        (rule["fired"].as_u64(), rule["acknowledged"].as_u64()),
        (Some(1), Some(1))
    );
}

#[test]
fn check_reads_the_same_acknowledgements() {
    let dir = Dir::new();
    let acks = filled_template(&dir);
    let rx = [
        "--rx-id",
        "RX-1",
        "--drug",
        "diclofenac",
        "--form",
        "tablet",
        "--dose",
        "75 mg",
        "--times-per-day",
        "3",
        "--age-years",
        "40",
        "--sex",
        "m",
    ];
    let with_acks = ["--acknowledged", acks.to_str().unwrap()];
    let (code, record) = check(None, &with_acks, &rx);
    assert_eq!((code, record["verdict"].as_str()), (0, Some("ok")));
    let mut changed = rx;
    changed[7] = "70 mg";
    let (code, record) = check(None, &with_acks, &changed);
    assert_eq!((code, record["verdict"].as_str()), (2, Some("reject")));
}

#[test]
fn incomplete_acknowledgements_cover_nothing_and_say_why() {
    let dir = Dir::new();
    let acks = filled_template(&dir);
    let text = std::fs::read_to_string(&acks).unwrap();
    let broken: String = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            match i {
                0 => v["reason"] = "because".into(),
                _ => v
                    .as_object_mut()
                    .unwrap()
                    .remove("inputs")
                    .map(drop)
                    .unwrap_or(()),
            }
            format!("{v}\n")
        })
        .collect();
    let acks = dir.write("broken.jsonl", &broken);
    let (code, records, stderr) =
        batch(&dir, EXPORT, &["--acknowledged".as_ref(), acks.as_os_str()]);
    assert_eq!(code, 2);
    assert_eq!(records[0]["verdict"], "reject");
    assert_eq!(records[1]["verdict"], "reject");
    assert!(
        stderr.contains("broken.jsonl:1: reason `because` is not one of"),
        "{stderr}"
    );
    assert!(
        stderr.contains("broken.jsonl:2: `inputs` is missing"),
        "{stderr}"
    );

    let garbage = dir.write("garbage.jsonl", "{\"rx_id\": \"RX-1\"}\nnot json\n");
    let (code, records, stderr) = batch(
        &dir,
        EXPORT,
        &["--acknowledged".as_ref(), garbage.as_os_str()],
    );
    assert_eq!((code, records.len()), (3, 0));
    assert!(
        stderr.contains("garbage.jsonl:2: not a JSON object"),
        "{stderr}"
    );
}

#[test]
fn outputs_never_overwrite_the_acknowledgements_or_the_overlay() {
    let dir = Dir::new();
    let acks = dir.write("acks.jsonl", "");
    let (code, _, stderr) = batch(
        &dir,
        EXPORT,
        &[
            "--acknowledged".as_ref(),
            acks.as_os_str(),
            "--write-ack-template".as_ref(),
            acks.as_os_str(),
        ],
    );
    assert_eq!(code, 3);
    assert!(stderr.contains("is the acknowledgements file"), "{stderr}");
}

#[test]
fn the_shipped_example_acknowledgement_covers_its_example_row() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = rxcheck()
        .args(["batch", "--as-of", "2026-11-25", "--format", "jsonl", "-q"])
        .arg(root.join("examples/prescriptions.csv"))
        .arg("--acknowledged")
        .arg(root.join("examples/site/acknowledged.jsonl"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let record: Value = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["rx_id"] == "RX-0002")
        .unwrap();
    assert_eq!(record["verdict"], "ok", "{record}");
    assert_eq!(
        record["findings"][0]["acknowledged"]["reason"],
        "tolerated-before"
    );
}
