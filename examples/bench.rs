//! Batch benchmark: generates synthetic prescription CSVs (a realistic export, ~90% clean
//! in-range orders and ~10% with one problem; a finding-heavy one; one where every row
//! shares the placeholder patient id `UNKNOWN`; and the realistic rows sorted by patient id)
//! and times, as whole processes, a bare
//! `csv`-crate parse of each file next to `rxcheck batch` runs over it. Runs alternate, round
//! after round; each figure is the median over the rounds, and each ratio is taken against the
//! bare parse of the same round. Peak memory is the largest resident size seen.
//!
//! Run: `cargo build --release && cargo run --release --example bench -- [ROWS] [ROUNDS]`
//! (default 1,000,000 rows, 3 rounds; files are kept under `bench-data/`).
//! `bench memory ROWS` times by-patient mode alone on a realistic file of ROWS rows.
//! `bench gen realistic|heavy|placeholder|sorted ROWS FILE` writes a file; `bench parse FILE` is the
//! bare parse.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: u64| {
        args.get(i).map_or(default, |r| {
            r.replace('_', "").parse().expect("a whole number")
        })
    };
    match args.first().map(String::as_str) {
        Some("-h" | "--help") => println!(
            "usage: bench [ROWS] [ROUNDS]\n       bench memory [ROWS]\n       bench gen realistic|heavy|placeholder|sorted ROWS FILE\n       bench parse FILE"
        ),
        Some("parse") => bare_parse(Path::new(&args[1])),
        Some("gen") => {
            let profile = Profile::from_name(&args[1]);
            generate(profile, number(2, 0), Path::new(&args[3])).expect("write the CSV");
        }
        Some("memory") => memory(number(1, 5_000_000)),
        _ => benchmark(number(0, 1_000_000), number(1, 3)),
    }
}

/// The kinds of file the benchmark generates.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Profile {
    /// ~90% clean in-range orders, ~10% with one problem, as a pharmacy export.
    Realistic,
    /// Every drug and form, many findings per row, ~4% malformed rows.
    Heavy,
    /// Realistic rows that all share the patient id `UNKNOWN`.
    Placeholder,
    /// The realistic rows sorted by patient id, as many exports are.
    Sorted,
}

impl Profile {
    fn from_name(name: &str) -> Profile {
        match name {
            "realistic" => Profile::Realistic,
            "heavy" => Profile::Heavy,
            "placeholder" => Profile::Placeholder,
            "sorted" => Profile::Sorted,
            other => panic!("`{other}` is not realistic, heavy, placeholder or sorted"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Profile::Realistic => "realistic",
            Profile::Heavy => "heavy",
            Profile::Placeholder => "placeholder",
            Profile::Sorted => "sorted",
        }
    }
}

fn generate(profile: Profile, rows: u64, path: &Path) -> std::io::Result<()> {
    match profile {
        Profile::Heavy => generate_heavy(rows, path),
        Profile::Realistic => generate_realistic(rows, path, false),
        Profile::Placeholder => generate_realistic(rows, path, true),
        Profile::Sorted => generate_sorted(rows, path),
    }
}

/// Writes the realistic file of `rows` rows sorted by patient id (a stable sort: each
/// patient's rows keep their order).
fn generate_sorted(rows: u64, path: &Path) -> std::io::Result<()> {
    let text = std::fs::read_to_string(bench_file(Profile::Realistic, rows))?;
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let mut rows: Vec<&str> = lines.collect();
    rows.sort_by_key(|row| row.split(',').nth(1));
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    for line in std::iter::once(header).chain(rows) {
        writeln!(out, "{line}")?;
    }
    out.flush()
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

/// Writes `rows` finding-heavy prescriptions: every drug and form, varied patients, ~4% bad
/// rows.
fn generate_heavy(rows: u64, path: &Path) -> std::io::Result<()> {
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

/// A clean order: drug, form, strength, dose, times a day, and course lengths that keep it
/// within the formulary.
type Order = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

/// Writes `rows` prescriptions as a pharmacy exports them: ~90% clean in-range orders for
/// adults, ~10% with one problem each (an overdose, a late pregnancy, a contraindicated
/// condition, an allergy, an interaction, a child too young, a misspelt drug, an unreadable
/// dose, a missing age). With `placeholder`, every row's patient id is `UNKNOWN`.
fn generate_realistic(rows: u64, path: &Path, placeholder: bool) -> std::io::Result<()> {
    let orders: &[Order] = &[
        (
            "diclofenac",
            "tablet",
            "",
            "50 mg",
            "3",
            &["5", "7", "10", "14"],
        ),
        (
            "diclofenac",
            "tablet",
            "50 mg",
            "1 tablet",
            "2",
            &["7", "14"],
        ),
        ("diclofenac", "tablet", "", "75 mg", "2", &["5", "7"]),
        ("Voltaren", "tablets", "", "25 mg", "3", &["7", "10"]),
        ("diclofenac", "suppository", "", "50 mg", "2", &["5", "7"]),
        (
            "diclofenac",
            "injection",
            "75 mg/3 ml",
            "1 ampoule",
            "2",
            &["1", "2"],
        ),
        ("diclofenac", "gel", "", "2-4 g", "3", &["7", "14"]),
        ("Voltaren gel", "gel", "", "2 g", "3", &["7", "10"]),
        (
            "nimesulide",
            "tablet",
            "100 mg",
            "1 tablet",
            "2",
            &["5", "7", "10"],
        ),
        ("nimesulide", "tablet", "", "100 mg", "2", &["5", "10"]),
        ("indomethacin", "tablet", "", "25 mg", "3", &["7", "14"]),
        ("indomethacin", "suppository", "", "50 mg", "2", &["5", "7"]),
        ("indomethacin", "ointment", "10%", "4 cm", "2", &["7", "10"]),
    ];
    let conditions = [
        "", "", "", "", "", "", "", "", "M54.5", "E11.9", "J06.9", "M17.1",
    ];
    let co_meds = [
        "",
        "",
        "",
        "",
        "",
        "",
        "amlodipine",
        "metformin",
        "omeprazole",
        "atorvastatin",
        "omeprazole;atorvastatin",
    ];
    let allergies = ["", "", "", "", "", "", "", "", "", "penicillin"];
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(
        out,
        "rx_id,patient_id,date,birth_date,age_years,sex,pregnant,gestational_week,breastfeeding,conditions,allergies,co_medications,drug,form,strength,dose,times_per_day,duration_days"
    )?;
    for i in 0..rows {
        let (drug, form, strength, dose, times, durations) =
            orders[(rng.next() % orders.len() as u64) as usize];
        let patient = if placeholder {
            "UNKNOWN".to_string()
        } else {
            format!("P{:07}", rng.next() % (rows / 3 + 1))
        };
        // Orders spread over ten months, so one patient's courses seldom overlap.
        let date = format!("2026-{:02}-{:02}", 1 + rng.next() % 10, 1 + rng.next() % 28);
        let female = rng.chance(55);
        let age = 18 + rng.next() % 62;
        let (birth, age) = if rng.chance(50) {
            let year = 2026 - age - 1;
            (
                format!(
                    "{year}-{:02}-{:02}",
                    1 + rng.next() % 12,
                    1 + rng.next() % 28
                ),
                String::new(),
            )
        } else {
            (String::new(), age.to_string())
        };
        // Women's pregnancy and breastfeeding are recorded; men's are left empty.
        let (mut pregnant, mut week, breastfeeding) = if female {
            ("no", String::new(), "no")
        } else {
            ("", String::new(), "")
        };
        let sex = if female { "f" } else { "m" };
        let mut drug = drug.to_string();
        let mut dose = dose.to_string();
        let mut age = age;
        let mut birth = birth;
        let mut condition = rng.pick(&conditions);
        let mut allergy = rng.pick(&allergies);
        let mut co_med = rng.pick(&co_meds);
        if rng.chance(10) {
            match rng.next() % 9 {
                0 => dose = "150 mg".into(),
                1 if female => {
                    pregnant = "yes";
                    week = "30".into();
                }
                2 => condition = "K25.4",
                3 => allergy = "ibuprofen",
                4 => co_med = "methotrexate",
                5 => {
                    age = "8".into();
                    birth = String::new();
                }
                6 => drug = "diclofenak".into(),
                7 => dose = "two tablets".into(),
                _ => {
                    age = String::new();
                    birth = String::new();
                }
            }
        }
        writeln!(
            out,
            "RX{i:08},{patient},{date},{birth},{age},{sex},{pregnant},{week},{breastfeeding},{condition},{allergy},{co_med},{drug},{form},{strength},{dose},{times},{}",
            rng.pick(durations),
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

/// The middle value (the mean of the two middle ones for an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// A generated file of `rows` rows under `bench-data/`, made when missing.
fn bench_file(profile: Profile, rows: u64) -> PathBuf {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench-data");
    std::fs::create_dir_all(&data).expect("create bench-data");
    let file = data.join(format!("{}-{rows}.csv", profile.name()));
    if !file.exists() {
        eprintln!("generating {} ...", file.display());
        // In a process of its own: the peak memory of a child counts its parent's at the fork.
        let status = Command::new(std::env::current_exe().expect("own path"))
            .args(["gen", profile.name(), &rows.to_string()])
            .arg(&file)
            .status()
            .expect("run the generator");
        assert!(status.success(), "generating {} failed", file.display());
    }
    file
}

fn rxcheck() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/rxcheck");
    assert!(path.exists(), "build it first: cargo build --release");
    path
}

/// `rxcheck batch FILE` with `args`, output to /dev/null.
fn batch(file: &Path, args: &[&str]) -> Command {
    batch_to(file, Path::new("/dev/null"), args)
}

/// `rxcheck batch FILE` with `args`, output to `output`.
fn batch_to(file: &Path, output: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(rxcheck());
    c.args(["batch", "-q", "--as-of", "2026-11-24", "-o"])
        .arg(output)
        .args(args)
        .arg(file)
        .stdout(std::process::Stdio::null());
    c
}

/// One timed run: its name, the file it reads (whose bare parse it is compared with), and
/// the run it is also compared with, if any.
struct Run {
    name: String,
    file: usize,
    versus: Option<usize>,
    command: Command,
    seconds: Vec<f64>,
    ratios: Vec<f64>,
    peak: f64,
}

fn benchmark(rows: u64, rounds: u64) {
    let files = [
        (Profile::Realistic, bench_file(Profile::Realistic, rows)),
        (Profile::Heavy, bench_file(Profile::Heavy, rows)),
        (
            Profile::Placeholder,
            bench_file(Profile::Placeholder, 80_000),
        ),
        (Profile::Sorted, bench_file(Profile::Sorted, rows)),
    ];
    let me = std::env::current_exe().expect("own path");
    // Where runs to a file write: in memory where there is a tmpfs, so that writing back half
    // a gigabyte to disk does not slow the runs that follow. It is removed after each run,
    // so that no run pays for truncating the one before.
    let shm = Path::new("/dev/shm");
    let folder = if shm.is_dir() {
        shm
    } else {
        files[0].1.parent().unwrap()
    };
    let output = folder.join("rxcheck-bench.out.jsonl");
    let mut runs: Vec<Run> = Vec::new();
    let mut add = |name: String, file: usize, versus: Option<usize>, command: Command| {
        runs.push(Run {
            name,
            file,
            versus,
            command,
            seconds: Vec::new(),
            ratios: Vec::new(),
            peak: 0.0,
        });
        runs.len() - 1
    };
    let mut bare = Vec::new();
    for (i, (profile, path)) in files.iter().enumerate() {
        let mut parse = Command::new(&me);
        parse
            .arg("parse")
            .arg(path)
            .stdout(std::process::Stdio::null());
        bare.push(add(
            format!("{}: bare csv parse", profile.name()),
            i,
            None,
            parse,
        ));
        if *profile == Profile::Placeholder {
            add(
                format!("{}: by patient, full", profile.name()),
                i,
                None,
                batch(path, &[]),
            );
            continue;
        }
        if *profile == Profile::Sorted {
            // Written to a file, where a one-pass run may be dropped and made again (so by
            // patient takes one pass over a sorted file); row by row the same, to compare.
            let row_by_row = add(
                format!("{}: row by row, full, to a file", profile.name()),
                i,
                None,
                batch_to(path, &output, &["--no-by-patient"]),
            );
            add(
                format!("{}: by patient, full, to a file", profile.name()),
                i,
                Some(row_by_row),
                batch_to(path, &output, &[]),
            );
            continue;
        }
        let row_by_row = add(
            format!("{}: row by row, full", profile.name()),
            i,
            None,
            batch(path, &["--no-by-patient"]),
        );
        if *profile == Profile::Realistic {
            add(
                format!("{}: row by row, compact", profile.name()),
                i,
                None,
                batch(path, &["--no-by-patient", "--detail", "compact"]),
            );
        }
        add(
            format!("{}: by patient, full", profile.name()),
            i,
            Some(row_by_row),
            batch(path, &[]),
        );
    }
    for round in 0..rounds {
        eprintln!("round {} of {rounds}", round + 1);
        for run in &mut runs {
            let (seconds, peak) = measure(&mut run.command);
            let _ = std::fs::remove_file(&output);
            run.seconds.push(seconds);
            run.peak = run.peak.max(peak);
        }
        let times: Vec<f64> = runs.iter().map(|r| r.seconds[round as usize]).collect();
        for run in &mut runs {
            let base = times[bare[run.file]];
            run.ratios.push(run.seconds[round as usize] / base);
        }
    }
    println!("{rows} rows a file (placeholder: 80,000); median of {rounds} alternating rounds");
    println!(
        "{:<40} {:>8} {:>11} {:>8} {:>9} {:>9}",
        "run", "seconds", "rows/s", "peak MB", "x bare", "x versus"
    );
    for run in &runs {
        let file_rows = if files[run.file].0 == Profile::Placeholder {
            80_000
        } else {
            rows
        };
        let seconds = median(run.seconds.clone());
        let versus = run.versus.map_or(String::from("-"), |v| {
            let ratios = run
                .seconds
                .iter()
                .zip(&runs[v].seconds)
                .map(|(a, b)| a / b)
                .collect();
            format!("{:.2}", median(ratios))
        });
        println!(
            "{:<40} {seconds:>8.3} {:>11.0} {:>8.1} {:>9.2} {versus:>9}",
            run.name,
            file_rows as f64 / seconds,
            run.peak,
            median(run.ratios.clone()),
        );
    }
    check_latency(rounds);
}

/// `rxcheck check` as a whole process: the median of many runs.
fn check_latency(rounds: u64) {
    let mut cmd = Command::new(rxcheck());
    cmd.args([
        "check",
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
        "--format",
        "json",
    ])
    .stdout(std::process::Stdio::null());
    let times: Vec<f64> = (0..rounds * 10).map(|_| measure(&mut cmd).0).collect();
    println!(
        "{:<40} {:>8.4}",
        "rxcheck check, whole process",
        median(times)
    );
}

/// By-patient mode alone on a realistic file of `rows` rows: time and peak memory.
fn memory(rows: u64) {
    let file = bench_file(Profile::Realistic, rows);
    let (seconds, peak) = measure(&mut batch(&file, &[]));
    println!("by patient, {rows} realistic rows: {seconds:.2} s, peak {peak:.1} MB");
}
