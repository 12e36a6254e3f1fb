//! Batch benchmark: generates a realistic synthetic prescription CSV and times, as whole
//! processes, a bare `csv`-crate parse of it next to `rxcheck batch` (parallel and on one
//! thread), reporting rows/s, MB/s and peak memory.
//!
//! Run: `cargo build --release && cargo run --release --example bench -- [ROWS]`
//! (default 1,000,000 rows; the file is kept under `bench-data/`).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("parse") => bare_parse(Path::new(&args[1])),
        Some("gen") => {
            let rows = args[1].parse().expect("row count");
            generate(rows, Path::new(&args[2])).expect("write the CSV");
        }
        other => {
            let rows: u64 = other.map_or(1_000_000, |r| {
                r.replace('_', "").parse().expect("row count")
            });
            benchmark(rows);
        }
    }
}

/// Counts rows with the `csv` crate's StringRecord reader: the floor for any CSV tool.
fn bare_parse(path: &Path) {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .expect("open");
    let mut record = csv::StringRecord::new();
    let mut rows = 0u64;
    let mut bytes = 0usize;
    while reader.read_record(&mut record).unwrap_or(false) {
        rows += 1;
        bytes += record.as_slice().len();
    }
    println!("{rows} rows, {bytes} field bytes");
}

/// A small deterministic generator (xorshift), so every run benchmarks the same file.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// drug, form, strength, doses, frequencies, and a strength sometimes given.
type Regimen = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static str,
);

/// Writes `rows` prescriptions: every drug and form, varied patients, ~4% bad rows.
fn generate(rows: u64, path: &Path) -> std::io::Result<()> {
    let regimens: &[Regimen] = &[
        (
            "diclofenac",
            "tablet",
            "",
            &["25 mg", "50 mg", "75 mg", "1 tablet"],
            &["2", "3"],
            "50 mg",
        ),
        (
            "Voltaren",
            "tablets",
            "",
            &["50 mg", "75 mg"],
            &["2", "3"],
            "",
        ),
        (
            "diclofenac",
            "suppository",
            "",
            &["50 mg", "100 mg", "1 suppository"],
            &["1", "2", "3"],
            "50 mg",
        ),
        (
            "diclofenac",
            "injection",
            "75 mg/3 ml",
            &["75 mg", "3 ml", "1 ampoule"],
            &["1", "2"],
            "",
        ),
        (
            "diclofenac",
            "gel",
            "",
            &["2 g", "2-4 g", "4 g", "5 g"],
            &["3", "4", "5"],
            "",
        ),
        ("Voltaren gel", "gel", "", &["2 g", "3 g"], &["3", "4"], ""),
        (
            "nimesulide",
            "tablet",
            "100 mg",
            &["100 mg", "1 tablet", "1/2 tablet", "50-100 mg"],
            &["1", "2", "3"],
            "",
        ),
        ("Nise", "ointment", "", &["2 g"], &["2", "3"], ""),
        (
            "indomethacin",
            "tablet",
            "",
            &["25 mg", "50 mg", "75 mg"],
            &["2", "3"],
            "",
        ),
        (
            "indomethacin",
            "suppository",
            "",
            &["50 mg", "100 mg"],
            &["1", "2", "3"],
            "",
        ),
        (
            "indomethacin",
            "ointment",
            "",
            &["4 cm", "10 cm", "20 cm"],
            &["2", "3", "4"],
            "10%",
        ),
        ("ibuprofen", "tablet", "", &["400 mg"], &["3"], "400 mg"),
    ];
    let conditions = [
        "",
        "",
        "",
        "",
        "",
        "I10",
        "E11.9",
        "K25.4",
        "bronchial_asthma",
        "N18.5",
        "hyperkalemia",
        "K64.8",
        "lactose_intolerance",
        "I10;E78.0",
        "crohns_disease",
    ];
    let co_meds = [
        "",
        "",
        "",
        "",
        "amlodipine",
        "metformin",
        "methotrexate",
        "ibuprofen",
        "omeprazole;atorvastatin",
        "aspirin",
    ];
    let allergies = ["", "", "", "", "", "", "", "", "penicillin", "ibuprofen"];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(
        out,
        "rx_id,patient_id,date,birth_date,age_years,pregnant,gestational_week,breastfeeding,conditions,allergies,co_medications,drug,form,strength,dose,times_per_day,duration_days"
    )?;
    for i in 0..rows {
        let (drug, form, strength, doses, times, alt_strength) =
            regimens[(rng.next() % regimens.len() as u64) as usize];
        let strength = if strength.is_empty() && rng.chance(30) {
            alt_strength
        } else {
            strength
        };
        let patient = rng.next() % (rows / 3 + 1);
        let day = 1 + rng.next() % 28;
        let (birth, age) = if rng.chance(50) {
            (
                format!(
                    "{}-{:02}-{:02}",
                    1930 + rng.next() % 90,
                    1 + rng.next() % 12,
                    1 + rng.next() % 28
                ),
                String::new(),
            )
        } else {
            (String::new(), (3 + rng.next() % 85).to_string())
        };
        let pregnant = rng.pick(&["no", "no", "no", "no", "", "yes"]);
        let week = if pregnant == "yes" {
            (rng.next() % 41).to_string()
        } else {
            String::new()
        };
        let breastfeeding = rng.pick(&["no", "no", "no", "", "yes"]);
        let mut dose = rng.pick(doses).to_string();
        let mut times = rng.pick(times).to_string();
        let mut drug = drug.to_string();
        let duration = rng.pick(&["", "2", "3", "5", "7", "10", "14"]);
        if rng.chance(4) {
            match rng.next() % 4 {
                0 => dose = "two tablets".into(),
                1 => times = "0".into(),
                2 => drug = "diclofenak".into(),
                _ => dose = "\"50 mg, twice\"".into(),
            }
        }
        writeln!(
            out,
            "RX{i:08},P{patient:07},2026-10-{day:02},{birth},{age},{pregnant},{week},{breastfeeding},{},{},{},{drug},{form},{strength},{dose},{times},{duration}",
            rng.pick(&conditions),
            rng.pick(&allergies),
            rng.pick(&co_meds),
        )?;
    }
    out.flush()
}

/// Runs a command, returning its wall time in seconds and peak resident memory in MB.
fn measure(cmd: &mut Command) -> (f64, f64) {
    let start = Instant::now();
    let child = cmd.spawn().expect("start the command");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child, with valid pointers to locals.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let seconds = start.elapsed().as_secs_f64();
    assert_eq!(waited, pid, "wait4 failed");
    std::mem::forget(child);
    (seconds, usage.ru_maxrss as f64 / 1024.0)
}

fn benchmark(rows: u64) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let data = root.join("bench-data");
    std::fs::create_dir_all(&data).expect("create bench-data");
    let file = data.join(format!("prescriptions-{rows}.csv"));
    if !file.exists() {
        eprintln!("generating {} ...", file.display());
        generate(rows, &file).expect("generate");
    }
    let mb = std::fs::metadata(&file).expect("stat").len() as f64 / 1e6;
    let me = std::env::current_exe().expect("own path");
    let rxcheck = root.join("target/release/rxcheck");
    assert!(rxcheck.exists(), "build it first: cargo build --release");
    let devnull = || std::process::Stdio::null();
    let runs: Vec<(&str, Command)> = vec![
        ("bare csv parse (StringRecord)", {
            let mut c = Command::new(&me);
            c.arg("parse").arg(&file).stdout(devnull());
            c
        }),
        ("rxcheck batch --no-by-patient", {
            let mut c = Command::new(&rxcheck);
            c.args([
                "batch",
                "-q",
                "--no-by-patient",
                "--as-of",
                "2026-11-24",
                "-o",
                "/dev/null",
            ])
            .arg(&file);
            c
        }),
        ("rxcheck batch (by patient)", {
            let mut c = Command::new(&rxcheck);
            c.args(["batch", "-q", "--as-of", "2026-11-24", "-o", "/dev/null"])
                .arg(&file);
            c
        }),
        ("... --no-by-patient --threads 1", {
            let mut c = Command::new(&rxcheck);
            c.args([
                "batch",
                "-q",
                "--no-by-patient",
                "--threads",
                "1",
                "--as-of",
                "2026-11-24",
                "-o",
                "/dev/null",
            ])
            .arg(&file);
            c
        }),
        ("... --no-by-patient --format csv", {
            let mut c = Command::new(&rxcheck);
            c.args([
                "batch",
                "-q",
                "--no-by-patient",
                "--format",
                "csv",
                "--as-of",
                "2026-11-24",
                "-o",
                "/dev/null",
            ])
            .arg(&file);
            c
        }),
    ];
    println!("{rows} rows, {mb:.1} MB: {}", file.display());
    println!(
        "{:<32} {:>8} {:>12} {:>8} {:>9} {:>9}",
        "run", "seconds", "rows/s", "MB/s", "peak MB", "x bare"
    );
    let mut bare = None;
    for (name, mut cmd) in runs {
        let (best, peak) = (0..3)
            .map(|_| measure(&mut cmd))
            .fold((f64::MAX, 0.0f64), |(t, m), (t2, m2)| {
                (t.min(t2), m.max(m2))
            });
        let base = *bare.get_or_insert(best);
        println!(
            "{name:<32} {best:>8.3} {:>12.0} {:>8.1} {peak:>9.1} {:>9.2}",
            rows as f64 / best,
            mb / best,
            best / base
        );
    }
}
