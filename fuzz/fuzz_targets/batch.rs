//! The batch reader over arbitrary bytes never panics, and writes exactly one record per row.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rxcheck::Formulary;
use rxcheck::batch::{Across, BatchOptions, run, scan_patients};
use rxcheck::report::JsonPrinter;
use std::sync::OnceLock;

fn formulary() -> &'static Formulary {
    static F: OnceLock<Formulary> = OnceLock::new();
    F.get_or_init(|| Formulary::embedded().expect("the shipped formulary loads"))
}

fuzz_target!(|data: &[u8]| {
    let mut options = BatchOptions::new(chrono::NaiveDate::from_ymd_opt(2026, 11, 24).expect("a real date"));
    options.max_field_bytes = 64;
    options.batch_rows = 3;
    let mut cross = scan_patients(formulary(), data, &options).ok().flatten();
    let printer = JsonPrinter::for_formulary(formulary());
    let mut out = Vec::new();
    let across = match cross.as_mut() {
        Some(cross) => Across::Scanned(cross),
        None => Across::Alone,
    };
    if let Ok(summary) = run(formulary(), data, &mut out, &printer, &options, across, None) {
        let records = out.iter().filter(|&&b| b == b'\n').count() as u64;
        assert_eq!(records, summary.rows, "one record per row");
    }
});
