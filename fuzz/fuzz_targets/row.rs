//! Validating an arbitrary prescription (any text in any field) never panics and always
//! gives a verdict.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rxcheck::{Formulary, Prescription, validate};
use std::sync::OnceLock;

fn formulary() -> &'static Formulary {
    static F: OnceLock<Formulary> = OnceLock::new();
    F.get_or_init(|| Formulary::embedded().expect("the shipped formulary loads"))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut fields = text.split('\u{1f}');
    let rx = Prescription::from_fields(std::array::from_fn(|_| fields.next().unwrap_or("")));
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).expect("a real date");
    let assessment = validate(formulary(), &rx, as_of);
    let _ = assessment.verdict();
    let dates = rxcheck::request::Dates::from(as_of);
    let _ = rxcheck::request::parse(formulary(), &rx, &dates, &mut rxcheck::Assessment::default());
});
